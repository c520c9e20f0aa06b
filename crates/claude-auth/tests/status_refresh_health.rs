//! `status` reports the refresh health of the login that won, whatever
//! backs it: the state the engine wrote for the seed library's `auth.json`
//! (a refresh token the server rejected) is the state `status` reads.

use claude_auth::credential::{Credential, Identity, Provider, TokenSet};
use claude_auth::doors::status::StatusReport;
use claude_auth::engine::refresh_state::{fingerprint, seed_file_state_path, RefreshState};
use claude_auth::source::{write_seed_file, ResolveOptions, Resolver, SourceId};
use claude_auth::{Env, Secret};

const ACCESS: &str = "sk-ant-oat01-SeedHealthAccessAAAAAAAAAAAAAAAA0001";
const REFRESH: &str = "sk-ant-ort01-SeedHealthRefreshRRRRRRRRRRRRRRR0001";

#[test]
fn a_rejected_refresh_token_of_the_seed_file_says_log_in_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let seed = root.join("seed/auth.json");
    std::fs::create_dir_all(seed.parent().unwrap()).unwrap();
    let set = TokenSet {
        access_token: Secret::new(ACCESS),
        refresh_token: Some(Secret::new(REFRESH)),
        expires_at: Some(claude_auth::credential::now_unix() + 3600),
        scopes: Vec::new(),
        identity: Identity::default(),
        provider: Provider::Anthropic,
        client_id: None,
        id_token: None,
    };
    write_seed_file(&seed, &set).unwrap();
    let env = Env::empty()
        .with("HOME", root.display().to_string())
        .with("XDG_CONFIG_HOME", root.join("config").display().to_string())
        .with(
            "ANTHROPIC_CONFIG_DIR",
            root.join("anthropic").display().to_string(),
        )
        .with(
            "CLAUDE_CONFIG_DIR",
            root.join("claude").display().to_string(),
        )
        .with("CLAUDE_AUTH_FILE", seed.display().to_string());
    let resolver = Resolver::new(env.clone()).unwrap();
    let resolution = resolver.resolve(&ResolveOptions::default());
    let winner = resolution.winner().expect("the seed file wins");
    assert_eq!(winner.id, SourceId::SeedFile);
    assert!(matches!(
        winner.found().and_then(|f| f.credential.as_ref()),
        Some(Credential::OAuth(_))
    ));

    // Nothing recorded yet: healthy.
    let mut report = StatusReport::from_resolution(&resolution);
    report.add_refresh_health(&resolution, &env);
    assert!(report.refresh.is_none(), "{:?}", report.refresh);

    // The engine recorded that the server rejected this refresh token.
    let state = seed_file_state_path(&env).unwrap();
    RefreshState::update(&state, |s| {
        s.dead_refresh_token = Some(fingerprint(&Secret::new(REFRESH)));
        s.last_error = Some("the server rejected the refresh token (invalid_grant)".into());
        s.last_error_at = Some(claude_auth::credential::now_unix());
    })
    .unwrap();
    let mut report = StatusReport::from_resolution(&resolution);
    report.add_refresh_health(&resolution, &env);
    let health = report
        .refresh
        .as_ref()
        .expect("the seed file's refresh health");
    assert!(health.login_required, "{health:?}");
    assert_eq!(
        health.last_error.as_deref(),
        Some("the server rejected the refresh token (invalid_grant)")
    );
    assert!(!report.ok);
    let hint = report.hint.as_deref().unwrap_or_default();
    assert!(hint.contains("log in again"), "{hint}");
}
