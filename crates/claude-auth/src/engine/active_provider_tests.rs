#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;

use super::*;

fn record(provider: Provider) -> SwitchRecord {
    SwitchRecord {
        provider,
        profile: Some("work".into()),
        reason: "chosen with `claude-auth switch openai --profile work`".into(),
        time: "2026-05-01T10:00:00Z".into(),
    }
}

/// `decide` with a record and a usable set, noting which steps it consulted.
fn run(
    flag: Option<Provider>,
    env: &Env,
    rec: Result<Option<SwitchRecord>>,
    usable: &[Provider],
) -> (Result<ActiveProvider>, bool, Vec<Provider>) {
    let read = RefCell::new(false);
    let asked = RefCell::new(Vec::new());
    let result = decide(
        flag.as_ref(),
        env,
        || {
            *read.borrow_mut() = true;
            rec
        },
        |p| {
            asked.borrow_mut().push(p.clone());
            usable.contains(p)
        },
    );
    (result, read.into_inner(), asked.into_inner())
}

#[test]
fn the_flag_beats_the_environment_and_reads_nothing_else() {
    let env = Env::empty().with(PROVIDER_VAR, "anthropic");
    let (a, read, asked) = run(
        Some(Provider::Openai),
        &env,
        Ok(Some(record(Provider::Anthropic))),
        &[Provider::Anthropic],
    );
    let a = a.unwrap();
    assert_eq!(
        (a.provider, a.origin, a.reason.as_str()),
        (
            Provider::Openai,
            Origin::Flag,
            "chosen with --provider openai"
        )
    );
    assert!(!read && asked.is_empty());
}

#[test]
fn the_environment_beats_the_record_even_a_broken_one() {
    let env = Env::empty().with(PROVIDER_VAR, "openai");
    let broken = Err(Error::parse("/x/active_provider.json", "bad"));
    let (a, read, asked) = run(None, &env, broken, &[]);
    let a = a.unwrap();
    assert_eq!(
        (a.provider, a.origin, a.reason.as_str()),
        (Provider::Openai, Origin::Env, "CLAUDE_AUTH_PROVIDER=openai")
    );
    assert!(!read && asked.is_empty());
}

#[test]
fn a_bad_environment_value_is_an_error_naming_the_variable_without_echoing_it() {
    let env = Env::empty().with(PROVIDER_VAR, "sk-oops");
    let err = run(None, &env, Ok(None), &[]).0.unwrap_err().to_string();
    assert_eq!(
        err,
        "CLAUDE_AUTH_PROVIDER: must be \"anthropic\" or \"openai\"; fix it or unset it"
    );
}

#[test]
fn an_empty_environment_value_counts_as_unset() {
    let env = Env::empty().with(PROVIDER_VAR, "");
    let a = run(None, &env, Ok(None), &[Provider::Openai]).0.unwrap();
    assert_eq!(
        (a.provider, a.origin),
        (Provider::Openai, Origin::OnlyLogin)
    );
}

#[test]
fn the_record_beats_the_logins_and_says_when_it_was_made() {
    let (a, read, asked) = run(
        None,
        &Env::empty(),
        Ok(Some(record(Provider::Openai))),
        &[Provider::Anthropic],
    );
    let a = a.unwrap();
    assert_eq!(
        (a.provider, a.origin, a.reason.as_str()),
        (
            Provider::Openai,
            Origin::Switch,
            "chosen with `claude-auth switch openai --profile work` at 2026-05-01T10:00:00Z"
        )
    );
    assert!(read && asked.is_empty());
}

#[test]
fn a_broken_record_is_an_error_when_the_rule_reaches_it() {
    let broken = Err(Error::parse("/x/active_provider.json", "bad"));
    let err = run(None, &Env::empty(), broken, &[Provider::Anthropic])
        .0
        .unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
}

#[test]
fn the_only_provider_with_a_login_wins_else_anthropic() {
    let env = Env::empty();
    let a = run(None, &env, Ok(None), &[Provider::Openai]).0.unwrap();
    assert_eq!(
        (a.provider, a.origin, a.reason.as_str()),
        (
            Provider::Openai,
            Origin::OnlyLogin,
            "the only provider with a usable login"
        )
    );
    let (a, _, asked) = run(None, &env, Ok(None), &[]);
    let a = a.unwrap();
    assert_eq!(
        (a.provider, a.origin, a.reason.as_str()),
        (
            Provider::Anthropic,
            Origin::Default,
            "the default: no provider has a usable login"
        )
    );
    assert_eq!(asked, [Provider::Anthropic, Provider::Openai]);
    let a = run(None, &env, Ok(None), &Provider::ALL).0.unwrap();
    assert_eq!(
        (a.provider, a.origin),
        (Provider::Anthropic, Origin::Default)
    );
    assert!(
        a.reason.contains("both providers have a usable login"),
        "{}",
        a.reason
    );
}

#[test]
fn a_record_round_trips_0600_and_is_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("own").join(ACTIVE_PROVIDER_FILE);
    assert_eq!(SwitchRecord::load(&path).unwrap(), None);
    let r = record(Provider::Openai);
    r.save(&path).unwrap();
    assert_eq!(SwitchRecord::load(&path).unwrap(), Some(r));
    #[cfg(unix)]
    {
        assert_eq!(secure_file::mode_of(&path), Some(0o600));
        assert_eq!(secure_file::mode_of(path.parent().unwrap()), Some(0o700));
    }
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        doc,
        json!({"provider": "openai", "profile": "work",
               "reason": "chosen with `claude-auth switch openai --profile work`",
               "time": "2026-05-01T10:00:00Z"})
    );
    let mut other = record(Provider::Anthropic);
    other.profile = None;
    other.save(&path).unwrap();
    assert_eq!(SwitchRecord::load(&path).unwrap(), Some(other));
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [ACTIVE_PROVIDER_FILE]);
}

#[test]
fn unusable_records_are_errors_naming_the_file_and_the_fix_never_the_contents() {
    let path = Path::new("/cfg/active_provider.json");
    let cases: [(&[u8], &str); 6] = [
        (b"{not json", "not JSON (line 1, column 2)"),
        (b"[]", "not a JSON object"),
        (
            br#"{"provider": "sk-secret-ish"}"#,
            "\"provider\" must be \"anthropic\" or \"openai\"",
        ),
        (
            br#"{"profile": "work"}"#,
            "\"provider\" must be \"anthropic\" or \"openai\"",
        ),
        (
            br#"{"provider": "openai", "profile": "../x"}"#,
            "\"profile\" must be null or a profile name (^[A-Za-z0-9_-][A-Za-z0-9_.-]*$)",
        ),
        (
            br#"{"provider": "openai", "reason": 7}"#,
            "\"reason\" must be a short line of text",
        ),
    ];
    for (bytes, what) in cases {
        let err = SwitchRecord::parse(bytes, path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "/cfg/active_provider.json is not valid: {what}; choose again with `claude-auth switch anthropic` or `claude-auth switch openai`. Nothing was changed; fix or remove the file"
            )
        );
        assert!(!err.contains("sk-secret"), "{err}");
    }
    // Unknown keys (a later version's) are kept out of the way, not errors.
    let r = SwitchRecord::parse(br#"{"provider": "anthropic", "since": 1}"#, path).unwrap();
    assert_eq!(
        (r.provider.clone(), r.profile.clone(), r.explain()),
        (
            Provider::Anthropic,
            None,
            "chosen with `claude-auth switch`".to_owned()
        )
    );
}

#[test]
fn provider_names_parse_exactly() {
    assert_eq!("openai".parse::<Provider>(), Ok(Provider::Openai));
    assert_eq!("anthropic".parse::<Provider>(), Ok(Provider::Anthropic));
    assert_eq!(
        "OpenAI".parse::<Provider>(),
        Err("unknown provider \"OpenAI\"; use anthropic or openai".to_owned())
    );
    assert_eq!(Provider::Openai.to_string(), "openai");
}
