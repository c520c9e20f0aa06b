#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::*;
use crate::config::env::Env;
use crate::config::settings::{ExternalCommandSettings, Settings};
use crate::credential::CredentialKind;
use crate::source::{NoCredential, Outcome, SourceId};

fn jwt(payload: &str) -> String {
    format!(
        "eyJhbGciOiJub25lIn0.{}.c2ln",
        URL_SAFE_NO_PAD.encode(payload)
    )
}

#[test]
fn api_keys_and_chatgpt_tokens_by_openai_rules() {
    let c = parse_output("sk-proj-fromhelper0123").unwrap();
    assert_eq!(c.kind(), CredentialKind::ApiKey);
    assert_eq!(c.provider(), &Provider::Openai);
    let c = parse_output(r#"{"api_key":"sk-proj-json0123456"}"#).unwrap();
    assert_eq!(
        (c.kind(), c.provider()),
        (CredentialKind::ApiKey, &Provider::Openai)
    );

    let token = jwt(
        r#"{"exp":4000000000,"email":"a@b.c","https://api.openai.com/auth":{"chatgpt_account_id":"acct-7","chatgpt_plan_type":"pro"}}"#,
    );
    let c = parse_output(&token).unwrap();
    assert_eq!(c.kind(), CredentialKind::OauthToken);
    assert_eq!(c.provider(), &Provider::Openai);
    assert_eq!(c.expires_at(), Some(4_000_000_000));
    assert_eq!(c.openai_account_id(), Some("acct-7"));
    assert!(!c.can_refresh());
    let set = c.token_set().unwrap();
    assert_eq!(set.identity.email.as_deref(), Some("a@b.c"));
    assert_eq!(set.identity.subscription_type.as_deref(), Some("pro"));

    // JSON: the given expiry and account win over the claims.
    let c = parse_output(&format!(
        r#"{{"access_token":"{token}","expires_at":42,"account_id":"acct-given"}}"#
    ))
    .unwrap();
    assert_eq!(c.expires_at(), Some(42));
    assert_eq!(c.openai_account_id(), Some("acct-given"));
}

#[test]
fn bad_outputs_are_refused_with_the_reason() {
    let err = |t: &str| parse_output(t).unwrap_err();
    assert!(err("").contains("printed nothing"));
    assert!(err("a\nb").contains("more than one line"));
    assert!(err("plain-opaque-token-0123").contains("neither an OpenAI API key"));
    assert!(err(r#"{"nothing":1}"#).contains("without 'api_key'"));
    assert!(err(r#"{"api_key":5}"#).contains("'api_key' must be a string"));
    assert!(err(r#"{"access_token":"abcdefghijkl","expires_in":-1}"#).contains("expires_in"));
    assert!(err("{nope").contains("invalid JSON"));
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    path
}

fn resolver(dir: &Path, command: &Path, extra: &[(&str, &str)]) -> Resolver {
    let mut env = Env::empty()
        .with("HOME", dir.to_string_lossy())
        .with("CLAUDE_AUTH_CONFIG_DIR", dir.join("own").to_string_lossy())
        .with("CODEX_HOME", dir.join("codex").to_string_lossy());
    for (k, v) in extra {
        env = env.with(k, *v);
    }
    let settings = Settings {
        openai_external_command: Some(ExternalCommandSettings {
            command: command.display().to_string(),
            timeout_secs: 1,
            cache_secs: 300,
        }),
        ..Settings::default()
    };
    Resolver::for_provider(env, settings, Provider::Openai)
}

fn runs(counter: &Path) -> usize {
    std::fs::read_to_string(counter)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_real_script_is_last_in_the_openai_chain_and_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let counter = tmp.path().join("runs");
    let cmd = script(
        tmp.path(),
        "helper",
        &format!(
            "echo x >> {}; echo sk-proj-fromscript0123",
            counter.display()
        ),
    );
    let r = resolver(
        tmp.path(),
        &cmd,
        &[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")],
    );
    let res = r.resolve(&ResolveOptions {
        examine_all: true,
        ..ResolveOptions::default()
    });
    assert_eq!(
        res.reports.last().unwrap().id,
        SourceId::OpenaiExternalCommand
    );
    let won = res.winner().unwrap();
    assert_eq!(won.id, SourceId::OpenaiExternalCommand);
    let found = won.found().unwrap();
    assert_eq!(
        found.credential.as_ref().unwrap().secret().expose(),
        "sk-proj-fromscript0123"
    );
    assert_eq!(
        found.credential.as_ref().unwrap().provider(),
        &Provider::Openai
    );
    assert_eq!(found.backing, Backing::ExternalCommand);
    assert!(!found.backing.refreshable());
    assert_eq!(found.location, format!("command `{}`", cmd.display()));
    assert_eq!(found.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
    assert_eq!(runs(&counter), 1);
    // Cached per provider and command: a second resolution does not run it.
    r.resolve(&ResolveOptions::default());
    assert_eq!(runs(&counter), 1);
}

#[test]
fn the_script_is_never_run_once_a_source_above_has_won() {
    let tmp = tempfile::tempdir().unwrap();
    let counter = tmp.path().join("runs");
    let cmd = script(
        tmp.path(),
        "helper",
        &format!(
            "echo x >> {}; echo sk-proj-neverused0123",
            counter.display()
        ),
    );
    let r = resolver(
        tmp.path(),
        &cmd,
        &[("OPENAI_API_KEY", "sk-proj-fromenv01234")],
    );
    for examine_all in [false, true] {
        let res = r.resolve(&ResolveOptions {
            examine_all,
            ..ResolveOptions::default()
        });
        assert_eq!(res.winner().unwrap().id, SourceId::OpenaiApiKey);
        let last = res.reports.last().unwrap();
        assert_eq!(last.id, SourceId::OpenaiExternalCommand);
        assert!(
            matches!(&last.outcome, Outcome::NotChecked(_)),
            "{:?}",
            last.outcome
        );
    }
    assert_eq!(runs(&counter), 0);
}

#[test]
fn a_failing_or_slow_script_stops_the_chain_with_its_setting_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cmd = script(tmp.path(), "failing", "echo sk-proj-LEAKED0123 >&2; exit 4");
    let res = resolver(tmp.path(), &cmd, &[]).resolve(&ResolveOptions::default());
    match res.credential() {
        Err(NoCredential::Failed { origin, message }) => {
            assert_eq!(origin, SourceId::OpenaiExternalCommand);
            assert!(message.contains("exit status: 4"), "{message}");
            assert!(!message.contains("LEAKED"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let cmd = script(tmp.path(), "slow", "sleep 30");
    let res = resolver(tmp.path(), &cmd, &[]).resolve(&ResolveOptions::default());
    let (id, err) = res.error.as_ref().unwrap();
    assert_eq!(*id, SourceId::OpenaiExternalCommand);
    assert!(
        err.to_string()
            .contains("timed out after 1 s (setting openai.external_command.timeout_secs)"),
        "{err}"
    );
}

#[test]
fn one_helper_for_both_providers_is_parsed_and_cached_per_provider() {
    let tmp = tempfile::tempdir().unwrap();
    let cmd = script(
        tmp.path(),
        "both",
        r#"echo '{"api_key":"sk-ant-api03-sharedhelper"}'"#,
    );
    let s = ExternalCommandSettings {
        command: cmd.display().to_string(),
        timeout_secs: 2,
        cache_secs: 300,
    };
    let anthropic = external::run(&s).unwrap();
    let openai = external::run_for(&Provider::Openai, &s).unwrap();
    assert_eq!(anthropic.provider(), &Provider::Anthropic);
    assert_eq!(openai.provider(), &Provider::Openai);
}

#[test]
fn an_expired_chatgpt_token_from_the_script_names_the_openai_login() {
    let tmp = tempfile::tempdir().unwrap();
    let token = jwt(r#"{"exp":1000,"https://api.openai.com/auth":{"chatgpt_account_id":"a"}}"#);
    let cmd = script(tmp.path(), "expired", &format!("echo {token}"));
    let res = resolver(tmp.path(), &cmd, &[]).resolve(&ResolveOptions::default());
    assert_eq!(res.winner().unwrap().id, SourceId::OpenaiExternalCommand);
    let warning = res
        .warnings
        .iter()
        .find(|w| w.code == "expired-no-refresh")
        .expect("an expired-no-refresh warning");
    assert!(
        warning
            .message
            .ends_with("log in again: claude-auth login --provider chatgpt"),
        "{}",
        warning.message
    );
}
