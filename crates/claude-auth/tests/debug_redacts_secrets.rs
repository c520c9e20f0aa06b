//! No secret is reachable through `Debug`: an embedder's `debug!(?resolver)`
//! (or `{:#?}` of anything the library hands out) must never print a key, a
//! token, a passphrase or a client secret.
//!
//! Every public type that holds a secret is filled with known values (from
//! the environment, a settings file, profile files, Claude Code's file and in
//! code) and formatted with `{:?}` and `{:#?}`; neither the value nor any
//! 10-character piece of its hidden part may appear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Debug;
use std::path::Path;

use claude_auth::credential::{Credential, Identity, Provider, TokenSet};
use claude_auth::oauth::login::parse_pasted;
use claude_auth::oauth::pkce::PkcePair;
use claude_auth::provider::PresetOverride;
use claude_auth::proxy::ProxyConfig;
use claude_auth::store::claude_code::ClaudeCodeStore;
use claude_auth::store::memory::MemoryStore;
use claude_auth::store::profile_files::ProfileFiles;
use claude_auth::store::CredentialStore;
use claude_auth::{
    AuthManager, Env, ManagerOptions, ResolveOptions, Resolver, Secret, Settings, StatusReport,
};

const API_KEY: &str = "sk-ant-api03-DNxril3RavGD5MfvJ7NScUykT8C8UBkkpdhi";
const AUTH_TOKEN: &str = "sk-ant-oat01-G37LeXSyYV4g6snRoUYA4fXr6nzrvZcmT4a4";
const CC_ENV_TOKEN: &str = "sk-ant-oat01-Ad5y2FibpBV62h9MahWLm52mva5fiI6bGfKF";
const SEED_ACCESS: &str = "sk-ant-oat01-I6mAezmOWfSLjl8MU9cdrJRM2jVrVKch3Tz8";
const SEED_REFRESH: &str = "sk-ant-ort01-5pkNGcVx2RHLKXSf3wh34LxCnzm8KVbyZMva";
const PASSPHRASE: &str = "BhnoCru0ftOsgHYdbyXJZBFwTXpKVeBPog9W";
/// 32 bytes, base64.
const ENCRYPTION_KEY: &str = "q0Wm3Ry8Tu1Io6Pa4Sd9Fg2Hj7Kl5Zx0Cv3Bn8Mq1We6=";
const IDENTITY_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzGx93JxiQskS14qbd8Zlq8kh.MjaddCnYysNa9ZwsjEJr";
const CLIENT_SECRET: &str = "i9fVJsSheACjTJWYyL4ZkQTrXM4MFwg7drHi";
const PROFILE_ACCESS: &str = "sk-ant-oat01-lZO0fkXYo2amlEDLJIyflJEL8qIe8PbLL4BI";
const PROFILE_REFRESH: &str = "sk-ant-ort01-tHHIP6Ye4PKI9teUoUiggSFDdF4OUdRMbxp4";
const CC_ACCESS: &str = "sk-ant-oat01-Dox09UKNF4pcNMfNdRAALefmcMWlfebwNEJI";
const CC_REFRESH: &str = "sk-ant-ort01-EbTXevfYuaD9CLjyE1ig5wQoCXim9oghdhe8";
const CODE_ACCESS: &str = "sk-ant-oat01-PfxgVbDOHmx3OfpaqWHRmaCq8Nb9gHZAd5qE";
const CODE_REFRESH: &str = "sk-ant-ort01-2uM3oOdRritcZlwY5z7a46t92gbuCpAMuFKw";
const CODE_API_KEY: &str = "sk-ant-api03-415zBnfrtDDN7KDCylvzdufkuIbmnTxQ5i8O";
const LOCAL_KEY: &str = "fvC9MMW84QUynSIXvebQJAEo3UuW1ZGGgDTa";
const PASTED_CODE: &str = "s6Ineoa6ucfjvkSgG0YzP1zy4LG3iGSww8rm";

const ALL: [&str; 19] = [
    API_KEY,
    AUTH_TOKEN,
    CC_ENV_TOKEN,
    SEED_ACCESS,
    SEED_REFRESH,
    PASSPHRASE,
    ENCRYPTION_KEY,
    IDENTITY_JWT,
    CLIENT_SECRET,
    PROFILE_ACCESS,
    PROFILE_REFRESH,
    CC_ACCESS,
    CC_REFRESH,
    CODE_ACCESS,
    CODE_REFRESH,
    CODE_API_KEY,
    LOCAL_KEY,
    PASTED_CODE,
    // The base64 key's raw bytes are not text; its encoding is what could leak.
    "q0Wm3Ry8Tu1Io6Pa4Sd9Fg2Hj7Kl5Zx0",
];

/// The value, and every 10-character piece of the part a mask hides (all but
/// a known prefix and the last four characters).
fn fragments(secret: &str) -> Vec<String> {
    let body = ["sk-ant-api03-", "sk-ant-oat01-", "sk-ant-ort01-"]
        .iter()
        .find_map(|p| secret.strip_prefix(p))
        .unwrap_or(secret);
    let hidden: Vec<char> = body.chars().take(body.chars().count() - 4).collect();
    let mut out = vec![secret.to_owned()];
    out.extend(hidden.windows(10).map(|w| w.iter().collect::<String>()));
    out
}

/// Format `value` both ways and fail naming the type and the fragment found.
fn assert_no_secret<T: Debug + ?Sized>(what: &str, value: &T) {
    for text in [format!("{value:?}"), format!("{value:#?}")] {
        for secret in ALL {
            if let Some(f) = fragments(secret).into_iter().find(|f| text.contains(f)) {
                panic!("{what}'s Debug shows a secret ({f:?} of {secret:?}):\n{text}");
            }
        }
    }
}

fn oauth(access: &str, refresh: &str) -> Credential {
    Credential::OAuth(TokenSet {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        expires_at: Some(4_000_000_000),
        scopes: vec!["user:inference".into()],
        identity: Identity {
            email: Some("dev@example.com".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some("client-id".into()),
        id_token: None,
    })
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A home with a settings file (a provider with a client secret), a spec
/// profile, Claude Code's file and an environment holding every secret
/// variable the library reads.
fn setup(root: &Path) -> (Env, Settings) {
    let settings_path = root.join("claude-auth/config.toml");
    write(
        &settings_path,
        &format!(
            "[providers.acme]\n\
             client_id = \"acme-client\"\n\
             client_secret = \"{CLIENT_SECRET}\"\n\
             authorize_url = \"https://auth.example/authorize\"\n\
             token_url = \"https://auth.example/token\"\n"
        ),
    );
    let jwt_file = root.join("jwt");
    write(&jwt_file, IDENTITY_JWT);
    ProfileFiles::new(root.join("anthropic"))
        .save("work", &oauth(PROFILE_ACCESS, PROFILE_REFRESH))
        .unwrap();
    ClaudeCodeStore::new(root.join("claude"), root.join("claude.json"))
        .save("default", &oauth(CC_ACCESS, CC_REFRESH))
        .unwrap();
    let env = Env::empty()
        .with("HOME", root.display().to_string())
        .with(
            "ANTHROPIC_CONFIG_DIR",
            root.join("anthropic").display().to_string(),
        )
        .with(
            "CLAUDE_CONFIG_DIR",
            root.join("claude").display().to_string(),
        )
        .with(
            "CLAUDE_AUTH_CONFIG_DIR",
            root.join("claude-auth").display().to_string(),
        )
        .with("CLAUDE_AUTH_SETTINGS", settings_path.display().to_string())
        .with("ANTHROPIC_PROFILE", "work")
        .with("ANTHROPIC_API_KEY", API_KEY)
        .with("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN)
        .with("CLAUDE_CODE_OAUTH_TOKEN", CC_ENV_TOKEN)
        .with("CLAUDE_ACCESS_TOKEN", SEED_ACCESS)
        .with("CLAUDE_REFRESH_TOKEN", SEED_REFRESH)
        .with("CLAUDE_AUTH_PASSPHRASE", PASSPHRASE)
        .with("CLAUDE_AUTH_ENCRYPTION_KEY", ENCRYPTION_KEY)
        .with("ANTHROPIC_IDENTITY_TOKEN", IDENTITY_JWT)
        .with("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_1")
        .with("ANTHROPIC_ORGANIZATION_ID", "org-1");
    let settings = Settings::load(&env).unwrap();
    (env, settings)
}

#[test]
fn env_debug_lists_names_never_values() {
    let env = Env::empty()
        .with("ANTHROPIC_API_KEY", API_KEY)
        .with("CLAUDE_AUTH_PASSPHRASE", PASSPHRASE);
    assert_no_secret("Env", &env);
    let text = format!("{env:?}");
    assert!(text.contains("ANTHROPIC_API_KEY"), "{text}");
    assert!(text.contains("CLAUDE_AUTH_PASSPHRASE"), "{text}");
}

#[test]
fn settings_and_presets_hold_the_client_secret_as_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let (_env, settings) = setup(tmp.path());
    assert_no_secret("Settings", &settings);
    let presets = settings.presets().unwrap();
    let acme = presets.get("acme").unwrap();
    // It is really there (so the check above means something).
    assert_eq!(
        acme.client_secret.as_ref().map(Secret::expose),
        Some(CLIENT_SECRET)
    );
    assert_no_secret("Presets", &presets);
    assert_no_secret("ProviderPreset", acme);
    let over: PresetOverride =
        toml::from_str(&format!("client_secret = \"{CLIENT_SECRET}\"")).unwrap();
    assert_no_secret("PresetOverride", &over);
}

#[tokio::test]
async fn every_public_type_holding_a_secret_formats_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (env, settings) = setup(tmp.path());
    assert_no_secret("Env", &env);

    let resolver = Resolver::with_settings(env.clone(), settings);
    assert_no_secret("Resolver", &resolver);

    let resolution = resolver.resolve(&ResolveOptions::default());
    // Resolution really found the environment's key (a secret to hide).
    assert_eq!(
        resolution.credential().unwrap().secret().expose(),
        API_KEY,
        "{:?}",
        resolution.winner()
    );
    assert_no_secret("Resolution", &resolution);
    for report in &resolution.reports {
        assert_no_secret("SourceReport", report);
    }
    let mut status = StatusReport::from_resolution(&resolution);
    status.add_refresh_health(&resolution, &env);
    assert_no_secret("StatusReport", &status);

    let profile = resolver.load_profile("work").unwrap().unwrap();
    assert_eq!(
        profile.credential.as_ref().unwrap().secret().expose(),
        PROFILE_ACCESS,
        "the profile was read"
    );
    assert_no_secret("Found", &profile);

    let manager = AuthManager::new(resolver.clone(), ManagerOptions::default()).unwrap();
    let credential = manager.credential().await.unwrap();
    assert_eq!(credential.secret().expose(), API_KEY);
    assert_no_secret("AuthManager", &manager);
    assert_no_secret("Arc<Credential>", &credential);

    let client = claude_auth::client::Client::builder(manager.clone())
        .build()
        .unwrap();
    assert_no_secret("Client", &client);

    let proxy = ProxyConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        "https://api.example",
        Some(Secret::new(LOCAL_KEY)),
    );
    assert_no_secret("ProxyConfig", &proxy);

    let in_code = oauth(CODE_ACCESS, CODE_REFRESH);
    assert_no_secret("Credential::OAuth", &in_code);
    if let Credential::OAuth(set) = &in_code {
        assert_no_secret("TokenSet", set);
    }
    assert_no_secret(
        "Credential::ApiKey",
        &Credential::anthropic_api_key(CODE_API_KEY),
    );

    let memory = MemoryStore::new();
    memory.save("p", &in_code).unwrap();
    assert_no_secret("MemoryStore", &memory);

    #[cfg(feature = "encrypted-file")]
    {
        use claude_auth::store::encrypted::EncryptedFileStore;
        let store = EncryptedFileStore::from_env(tmp.path().join("enc"), &env);
        assert_no_secret("EncryptedFileStore", &store);
    }

    let pasted = parse_pasted(&format!("{PASTED_CODE}#state")).unwrap();
    assert_no_secret("Pasted", &pasted);

    let pkce = PkcePair::generate().unwrap();
    let shown = format!("{pkce:?}");
    assert!(!shown.contains(pkce.verifier.expose()), "{shown}");
    assert!(!shown.contains(pkce.state.expose()), "{shown}");
}
