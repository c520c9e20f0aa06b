#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::json;

use super::*;
use crate::credential::{Identity, TokenSet};
use crate::engine::active_provider::{Origin, ACTIVE_PROVIDER_FILE};
use crate::secret::Secret;
use crate::store::StorageKind;

const ANT_KEY: &str = "sk-ant-api03-ProvidersAnthropicKeyAAAA1111";
const OPENAI_KEY: &str = "sk-proj-ProvidersOpenaiKeyBBBBBBBB2222";

fn env(dir: &Path) -> Env {
    Env::empty()
        .with("HOME", dir.to_string_lossy())
        .with("CLAUDE_AUTH_CONFIG_DIR", dir.join("own").to_string_lossy())
        .with("CODEX_HOME", dir.join("codex").to_string_lossy())
}

fn providers(env: Env) -> Providers {
    Providers::with_settings(env, Settings::default())
}

fn record_file(dir: &Path) -> PathBuf {
    dir.join("own").join(ACTIVE_PROVIDER_FILE)
}

fn chatgpt() -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new("eyJ.access.sig"),
        refresh_token: Some(Secret::new("rt-0123456789")),
        expires_at: Some(4_000_000_000),
        scopes: Vec::new(),
        identity: Identity {
            account_uuid: Some("acct-1".into()),
            subscription_type: Some("plus".into()),
            email: Some("me@example.com".into()),
            ..Identity::default()
        },
        provider: Provider::Openai,
        client_id: Some(crate::openai::chatgpt::CLIENT_ID.into()),
        id_token: None,
    })
}

/// An Anthropic spec profile with a static OAuth token, as `ant` writes it.
fn write_anthropic_profile(home: &Path, name: &str) {
    let dir = home.join(".config").join("anthropic");
    let config = json!({"version": "1.0", "authentication": {"type": "user_oauth"}});
    let creds = json!({"version": "1.0", "type": "oauth_token",
                       "access_token": "sk-ant-oat01-ProvidersProfileCCCC3333"});
    crate::secure_file::write_atomic(
        &dir.join("configs").join(format!("{name}.json")),
        config.to_string().as_bytes(),
        0o600,
    )
    .unwrap();
    crate::secure_file::write_atomic(
        &dir.join("credentials").join(format!("{name}.json")),
        creds.to_string().as_bytes(),
        0o600,
    )
    .unwrap();
}

#[tokio::test]
async fn a_provider_s_credential_never_resolves_the_other() {
    let tmp = tempfile::tempdir().unwrap();
    let p = providers(env(tmp.path()).with("ANTHROPIC_API_KEY", ANT_KEY));
    let (provider, obtained) = p.obtain(Some(Provider::Anthropic)).await.unwrap();
    assert_eq!(provider, Provider::Anthropic);
    assert_eq!(obtained.credential.secret().expose(), ANT_KEY);
    assert!(p.resolvers[slot(&Provider::Openai)].get().is_none());
    assert!(p.managers[slot(&Provider::Openai)].get().is_none());
    // The same manager every time.
    let a = p.manager(&Provider::Anthropic).unwrap() as *const AuthManager;
    let b = p.manager(&Provider::Anthropic).unwrap() as *const AuthManager;
    assert_eq!(a, b);
}

#[tokio::test]
async fn obtain_without_a_provider_uses_the_only_one_with_a_login() {
    let tmp = tempfile::tempdir().unwrap();
    let p = providers(env(tmp.path()).with("OPENAI_API_KEY", OPENAI_KEY));
    let active = p.active().unwrap();
    assert_eq!(
        (&active.provider, active.origin, active.reason.as_str()),
        (
            &Provider::Openai,
            Origin::OnlyLogin,
            "the only provider with a usable login"
        )
    );
    let (provider, obtained) = p.obtain(None).await.unwrap();
    assert_eq!(provider, Provider::Openai);
    assert_eq!(obtained.credential.secret().expose(), OPENAI_KEY);
    assert_eq!(obtained.credential.provider(), &Provider::Openai);
    assert_eq!(obtained.provenance.source, Some(SourceId::OpenaiApiKey));
}

#[test]
fn both_logins_and_no_choice_mean_anthropic_and_the_environment_overrides() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path())
        .with("ANTHROPIC_API_KEY", ANT_KEY)
        .with("OPENAI_API_KEY", OPENAI_KEY);
    let a = providers(e.clone()).active().unwrap();
    assert_eq!(
        (a.provider, a.origin),
        (Provider::Anthropic, Origin::Default)
    );
    let a = providers(e.clone().with("CLAUDE_AUTH_PROVIDER", "openai"))
        .active()
        .unwrap();
    assert_eq!((a.provider, a.origin), (Provider::Openai, Origin::Env));
    let a = providers(e.with("CLAUDE_AUTH_PROVIDER", "openai"))
        .with_provider(Some(Provider::Anthropic))
        .active()
        .unwrap();
    assert_eq!((a.provider, a.origin), (Provider::Anthropic, Origin::Flag));
}

#[test]
fn available_providers_lists_each_login_with_what_is_known() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path()).with("OPENAI_API_KEY", OPENAI_KEY);
    let p = providers(e);
    let stored = p.resolver(&Provider::Openai).openai_profiles();
    stored
        .save("personal", &chatgpt(), StorageKind::File)
        .unwrap();
    stored.set_active("personal").unwrap();
    let list = p.available_providers();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].provider, Provider::Anthropic);
    assert!(!list[0].usable && list[0].logins.is_empty());
    assert!(list[0]
        .error
        .as_deref()
        .unwrap()
        .starts_with("no credential found"));
    let openai = &list[1];
    assert!(openai.usable && openai.error.is_none());
    let logins: Vec<(SourceId, bool, &str)> = openai
        .logins
        .iter()
        .map(|l| (l.source, l.winner, l.kind.as_str()))
        .collect();
    assert_eq!(
        logins,
        [
            (SourceId::OpenaiApiKey, true, "apiKey"),
            (SourceId::OpenaiProfile, false, "oauthToken"),
        ]
    );
    let chatgpt = &openai.logins[1];
    assert_eq!(
        (
            chatgpt.profile.as_deref(),
            chatgpt.plan.as_deref(),
            chatgpt.account.as_deref(),
            chatgpt.email.as_deref(),
            chatgpt.expired
        ),
        (
            Some("personal"),
            Some("plus"),
            Some("acct-1"),
            Some("me@example.com"),
            false
        )
    );
    assert_eq!(
        p.active().unwrap().profile.as_deref(),
        Some("personal"),
        "the OpenAI profile pointer names the active profile"
    );
}

#[test]
fn switch_records_the_choice_which_beats_the_logins_but_not_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path()).with("ANTHROPIC_API_KEY", ANT_KEY);
    let p = providers(e.clone());
    let s = p.switch(Provider::Openai, None).unwrap();
    assert_eq!(s.path, record_file(tmp.path()));
    assert_eq!(s.replaced_unreadable, None);
    assert_eq!(s.profile_activation, None);
    assert!(!s.usable, "OpenAI has no login here");
    assert_eq!(
        (&s.active.provider, s.active.origin),
        (&Provider::Openai, Origin::Switch)
    );
    assert_eq!(
        s.active.reason,
        format!(
            "chosen with `claude-auth switch openai` at {}",
            s.record.time
        )
    );
    #[cfg(unix)]
    assert_eq!(crate::secure_file::mode_of(&s.path), Some(0o600));
    // A fresh Providers reads the record.
    let a = providers(e.clone()).active().unwrap();
    assert_eq!((a.provider, a.origin), (Provider::Openai, Origin::Switch));
    // The environment still wins, and switch says so.
    let p = providers(e.with("CLAUDE_AUTH_PROVIDER", "anthropic"));
    let s = p.switch(Provider::Openai, None).unwrap();
    assert_eq!(
        (&s.active.provider, s.active.origin),
        (&Provider::Anthropic, Origin::Env)
    );
}

#[test]
fn an_unparsable_record_is_an_error_for_readers_and_replaced_by_switch() {
    let tmp = tempfile::tempdir().unwrap();
    let path = record_file(tmp.path());
    crate::secure_file::write_atomic(&path, b"{\"provider\": \"gemini\"}", 0o600).unwrap();
    let p = providers(env(tmp.path()));
    let err = p.active().unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{} is not valid: \"provider\" must be",
            path.display()
        )),
        "{err}"
    );
    // Readers never touch it.
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"provider\": \"gemini\"}");
    let s = p.switch(Provider::Anthropic, None).unwrap();
    assert_eq!(s.replaced_unreadable.as_deref(), Some(err.as_str()));
    assert_eq!(
        SwitchRecord::load(&path).unwrap().unwrap().provider,
        Provider::Anthropic
    );
}

#[test]
fn a_record_that_cannot_be_read_at_all_is_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let path = record_file(tmp.path());
    std::fs::create_dir_all(&path).unwrap(); // a directory where the file goes
    let p = providers(env(tmp.path()));
    let err = p.switch(Provider::Openai, None).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    assert!(path.is_dir());
}

#[test]
fn switch_with_a_profile_activates_it_for_that_provider_only() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path());
    let p = providers(e.clone());
    write_anthropic_profile(tmp.path(), "work");
    let s = p.switch(Provider::Anthropic, Some("work")).unwrap();
    let active_config = tmp.path().join(".config/anthropic/active_config");
    assert_eq!(
        s.profile_activation,
        Some(ProfileActivation::Anthropic(Activated::ActiveConfig(
            active_config.clone()
        )))
    );
    assert_eq!(
        std::fs::read_to_string(&active_config).unwrap().trim(),
        "work"
    );
    assert_eq!(s.active.profile.as_deref(), Some("work"));
    assert_eq!(s.record.profile.as_deref(), Some("work"));

    // An OpenAI profile that does not exist: an error, nothing recorded.
    let before = std::fs::read(&s.path).unwrap();
    let err = p.switch(Provider::Openai, Some("personal")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--profile: no OpenAI profile \"personal\"; log in to it with `claude-auth login --provider openai --profile personal`, or leave out --profile"
    );
    assert_eq!(std::fs::read(&s.path).unwrap(), before);

    let stored = p.resolver(&Provider::Openai).openai_profiles();
    stored
        .save("personal", &chatgpt(), StorageKind::File)
        .unwrap();
    let s = p.switch(Provider::Openai, Some("personal")).unwrap();
    assert_eq!(
        s.profile_activation,
        Some(ProfileActivation::Openai(stored.active_path()))
    );
    assert_eq!(stored.active().unwrap().as_deref(), Some("personal"));
    assert!(s.usable);
    assert_eq!(
        (&s.active.provider, s.active.profile.as_deref()),
        (&Provider::Openai, Some("personal"))
    );
    // Anthropic's active profile is untouched.
    assert_eq!(
        std::fs::read_to_string(&active_config).unwrap().trim(),
        "work"
    );
}

#[test]
fn providers_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Providers>();
}

#[tokio::test]
async fn choose_walks_each_chain_at_most_once_and_openai_s_only_when_anthropic_has_no_login() {
    use crate::config::settings::ExternalCommandSettings;
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    // Uncached (cache_secs 0): every walk of Anthropic's chain runs it.
    let settings = Settings {
        external_command: Some(ExternalCommandSettings {
            command: format!("echo run >> '{}'; echo {ANT_KEY}", runs.display()),
            timeout_secs: 10,
            cache_secs: 0,
        }),
        ..Settings::default()
    };
    let e = env(tmp.path()).with("OPENAI_API_KEY", OPENAI_KEY);
    let p = Providers::with_settings(e, settings);
    let chosen = p.choose(None).await.unwrap();
    assert_eq!(chosen.provider, Provider::Anthropic);
    assert_eq!(
        chosen.obtained.unwrap().credential.secret().expose(),
        ANT_KEY
    );
    assert!(!chosen.other_unusable);
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\n");
    assert!(p.resolvers[slot(&Provider::Openai)].get().is_none());
    // obtain(None) is the same choice (the manager already holds the key).
    let (provider, _) = p.obtain(None).await.unwrap();
    assert_eq!(provider, Provider::Anthropic);
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "run\n");

    // No Anthropic login: OpenAI's, and the caller learns Anthropic has none.
    let tmp = tempfile::tempdir().unwrap();
    let p = providers(env(tmp.path()).with("OPENAI_API_KEY", OPENAI_KEY));
    let chosen = p.choose(None).await.unwrap();
    assert_eq!(
        (&chosen.provider, chosen.other_unusable),
        (&Provider::Openai, true)
    );
    assert_eq!(
        chosen.obtained.unwrap().credential.secret().expose(),
        OPENAI_KEY
    );

    // Neither: the default, Anthropic, with its error.
    let p = providers(env(tmp.path()));
    let chosen = p.choose(None).await.unwrap();
    assert_eq!(
        (&chosen.provider, chosen.other_unusable),
        (&Provider::Anthropic, true)
    );
    assert!(
        matches!(
            chosen.obtained,
            Err(AuthError::NoCredential(NoCredential::None))
        ),
        "{:?}",
        chosen.obtained
    );

    // A flag decides without walking the other chain.
    let p = providers(env(tmp.path()).with("OPENAI_API_KEY", OPENAI_KEY))
        .with_provider(Some(Provider::Openai));
    let chosen = p.choose(None).await.unwrap();
    assert_eq!(
        (&chosen.provider, chosen.other_unusable),
        (&Provider::Openai, false)
    );
    assert!(p.resolvers[slot(&Provider::Anthropic)].get().is_none());
}
