use super::*;
use crate::credential::{Provider, TokenSet};

fn oauth(token: &str) -> Credential {
    Credential::OAuth(TokenSet::access_only(token.into(), Provider::Anthropic))
}

#[test]
fn variables_per_kind() {
    let key = Credential::anthropic_api_key("sk-ant-api03-k");
    assert_eq!(
        variables_for(&key, None),
        [("ANTHROPIC_API_KEY", "sk-ant-api03-k".to_owned())]
    );
    let vars = variables_for(&oauth("sk-ant-oat01-t"), Some("http://127.0.0.1:9"));
    assert_eq!(
        vars.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [
            "ANTHROPIC_AUTH_TOKEN",
            "CLAUDE_CODE_OAUTH_TOKEN",
            "ANTHROPIC_BASE_URL"
        ]
    );
}

#[test]
fn doors_per_credential_and_choice() {
    let profile = SpecProfile {
        name: "work".into(),
        config_dir: "/cfg".into(),
    };
    let key = Credential::anthropic_api_key("sk-ant-api03-k");
    let token = oauth("sk-ant-oat01-t");
    let auto = DoorChoice::Auto;
    assert_eq!(choose_door(&key, Some(&profile), auto), Door::Variables);
    assert_eq!(
        choose_door(&token, Some(&profile), auto),
        Door::Profile(profile.clone())
    );
    assert_eq!(choose_door(&token, None, auto), Door::Proxy);
    assert_eq!(
        choose_door(&token, Some(&profile), DoorChoice::RawToken),
        Door::Variables
    );
    assert_eq!(choose_door(&key, None, DoorChoice::Proxy), Door::Proxy);
    let chatgpt = Credential::OAuth(TokenSet::access_only("t".into(), Provider::Openai));
    assert_eq!(choose_door(&chatgpt, None, auto), Door::Proxy);
    assert_eq!(
        choose_door(&chatgpt, None, DoorChoice::RawToken),
        Door::Variables
    );
    let openai_key = Credential::ApiKey {
        key: "sk-proj-k".into(),
        provider: Provider::Openai,
    };
    assert_eq!(choose_door(&openai_key, None, auto), Door::Variables);
    assert_eq!(
        profile_variables(&profile, &token, Some("http://127.0.0.1:9")),
        [
            ("ANTHROPIC_PROFILE", "work".to_owned()),
            ("ANTHROPIC_CONFIG_DIR", "/cfg".to_owned()),
            ("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-t".to_owned()),
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9".to_owned()),
        ]
    );
}

#[test]
fn quoting_survives_hostile_values() {
    let vars = [("K", "a'b $c \"d\"\n".to_owned())];
    assert_eq!(
        render(&vars, EnvFormat::Env).unwrap(),
        "K='a'\\''b $c \"d\"\n'\n"
    );
    assert_eq!(
        render(&vars, EnvFormat::Export).unwrap(),
        "export K='a'\\''b $c \"d\"\n'\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&render(&vars, EnvFormat::Json).unwrap()).unwrap();
    assert_eq!(json["K"], "a'b $c \"d\"\n");
}

#[test]
fn dotenv_single_quotes_and_refuses_what_it_cannot_hold() {
    let ok = "sk-`touch /tmp/x` $(id) \"q\" \\d $HOME # end";
    assert_eq!(
        render(&[("K", ok.to_owned())], EnvFormat::Dotenv).unwrap(),
        format!("K='{ok}'\n")
    );
    for (bad, why) in [
        ("a'b", "a single quote"),
        ("a\nb", "a line break"),
        ("a\rb", "a line break"),
        ("a\tb", "control character"),
        ("a\u{2028}b", "a line break"),
        ("a\\\\b", "double or trailing backslash"),
        ("ab\\", "double or trailing backslash"),
        ("a${HOME}b", "`${`"),
    ] {
        let err = render(&[("SECRET_VAR", bad.to_owned())], EnvFormat::Dotenv)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("the value of SECRET_VAR contains "),
            "{err}"
        );
        assert!(err.contains(why), "{bad:?}: {err}");
        assert!(!err.contains(bad), "the value leaked: {err}");
        // The shell formats hold every one of them.
        render(&[("K", bad.to_owned())], EnvFormat::Export).unwrap();
    }
}

#[test]
fn shell_quoting_round_trips_through_sh() {
    let value = "it's $HOME `x` \"q\" \\ end";
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("printf %s {}", shell_quote(value)))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
}

#[test]
fn openai_variables_per_kind() {
    let key = Credential::ApiKey {
        key: "sk-proj-k".into(),
        provider: Provider::Openai,
    };
    assert_eq!(
        variables_for(&key, None),
        [("OPENAI_API_KEY", "sk-proj-k".to_owned())]
    );
    assert_eq!(
        variables_for(&key, Some("http://127.0.0.1:9/v1")),
        [
            ("OPENAI_API_KEY", "sk-proj-k".to_owned()),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1".to_owned()),
        ]
    );
    // A raw ChatGPT token is of use only on the Codex backend.
    let chatgpt = Credential::OAuth(TokenSet::access_only("eyJ.t".into(), Provider::Openai));
    assert_eq!(
        variables_for(&chatgpt, None),
        [
            ("OPENAI_API_KEY", "eyJ.t".to_owned()),
            ("OPENAI_BASE_URL", CODEX_BASE_URL.to_owned()),
        ]
    );
}

#[test]
fn proxy_variables_and_both_providers() {
    let key = Secret::new("ca-local-k");
    let anthropic = proxy_variables(&Provider::Anthropic, "http://a".into(), Some(&key));
    assert_eq!(
        anthropic,
        [
            ("ANTHROPIC_BASE_URL", "http://a".to_owned()),
            ("ANTHROPIC_API_KEY", "ca-local-k".to_owned()),
        ]
    );
    let openai = proxy_variables(&Provider::Openai, "http://o".into(), None);
    assert_eq!(openai, [("OPENAI_BASE_URL", "http://o".to_owned())]);
    assert_eq!(
        with_active_provider(vec![anthropic.clone()], &Provider::Anthropic),
        anthropic
    );
    let both = with_active_provider(vec![openai, anthropic], &Provider::Openai);
    assert_eq!(
        both.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [
            "OPENAI_BASE_URL",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_API_KEY",
            "ACTIVE_AUTH_PROVIDER"
        ]
    );
    assert_eq!(both[3].1, "openai");
}
