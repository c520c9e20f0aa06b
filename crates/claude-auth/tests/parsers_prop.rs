#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Property tests for every parser of outside input: no input makes one
//! panic, round trips are exact, profile names agree with the spec's regex,
//! and error messages never quote a secret-looking value.
//!
//! Case counts are modest (256) so the file runs in a few seconds.

use std::fs;
use std::path::{Path, PathBuf};

use claude_auth::credential::{
    from_portable_json, to_portable_json, Credential, Identity, Provider, TokenSet,
};
use claude_auth::locations::validate_profile_name;
use claude_auth::settings::Settings;
use claude_auth::source::{external, read_seed_file};
use claude_auth::store::claude_code::{token_set_from_claude_code, ClaudeCodeStore};
use claude_auth::store::profile_files::ProfileFiles;
use claude_auth::store::CredentialStore;
use claude_auth::Secret;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn config() -> ProptestConfig {
    cases(256)
}

/// Fewer cases where each one writes files (and, for saves, fsyncs them).
fn config_disk() -> ProptestConfig {
    cases(128)
}

fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures are reported, not persisted next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Field names the parsers look at, so generated objects reach past the
/// "missing field" checks.
const KNOWN_KEYS: &[&str] = &[
    "version",
    "type",
    "provider",
    "api_key",
    "access_token",
    "refresh_token",
    "expires_at",
    "expires_in",
    "token",
    "token_expiry",
    "scope",
    "client_id",
    "account_email",
    "account_uuid",
    "organization_uuid",
    "organization_name",
    "organization_id",
    "workspace_id",
    "workspace_name",
    "subscription_type",
    "authentication",
    "credentials_path",
    "federation_rule_id",
    "service_account_id",
    "identity_token",
    "path",
    "base_url",
    "claudeAiOauth",
    "accessToken",
    "refreshToken",
    "expiresAt",
    "scopes",
    "subscriptionType",
    "rateLimitTier",
    "clientId",
    "mcpOAuth",
];

/// String values the parsers branch on.
const KNOWN_VALUES: &[&str] = &[
    "",
    "1.0",
    "oauth_token",
    "api_key",
    "bearer_token",
    "user_oauth",
    "oidc_federation",
    "anthropic",
    "openai",
    "sk-ant-api03-aaaaaaaaaaaa",
    "sk-ant-oat01-aaaaaaaaaaaa",
    "sk-ant-ort01-aaaaaaaaaaaa",
    "user:inference user:profile",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KNOWN_KEYS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(KNOWN_VALUES).prop_map(str::to_owned),
        2 => ".{0,24}",
        1 => "\\PC{0,8}",
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Millisecond and second timestamps, and the edges around them.
        prop_oneof![
            Just(0u64),
            Just(u64::MAX),
            1_700_000_000u64..1_800_000_000_000
        ]
        .prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON numbers are finite", |f| {
            Number::from_f64(f).map(Value::Number)
        }),
        json_string().prop_map(Value::String),
    ]
}

/// Any JSON value, nested up to a few levels.
fn arb_json() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A JSON object (what every parser expects at the top), keys mostly known.
fn arb_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((key(), arb_json()), 0..10).prop_map(|kv| kv.into_iter().collect())
}

/// Bytes a file might hold: random, random UTF-8, or (mostly) JSON, sometimes cut short.
fn file_bytes(object: BoxedStrategy<Value>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => ".{0,64}".prop_map(String::into_bytes),
        1 => arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        4 => object.clone().prop_map(|v| serde_json::to_vec_pretty(&v).unwrap()),
        1 => (object, any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let bytes = serde_json::to_vec(&v).unwrap();
            let at = cut.index(bytes.len() + 1);
            bytes[..at].to_vec()
        }),
    ]
}

fn object_value() -> BoxedStrategy<Value> {
    arb_object().prop_map(Value::Object).boxed()
}

/// A config file's object: usually with an `authentication` object.
fn config_value() -> BoxedStrategy<Value> {
    (
        arb_object(),
        prop::option::weighted(0.9, arb_object()),
        prop::option::of(prop::sample::select(
            &["user_oauth", "oidc_federation", "x"][..],
        )),
    )
        .prop_map(|(mut top, auth, kind)| {
            if let Some(mut auth) = auth {
                if let Some(kind) = kind {
                    auth.insert("type".into(), kind.into());
                }
                // Never point credentials_path outside the temp dir.
                auth.remove("credentials_path");
                top.insert("authentication".into(), Value::Object(auth));
            }
            Value::Object(top)
        })
        .boxed()
}

/// A Claude Code document: usually with a `claudeAiOauth` object.
fn claude_code_value() -> BoxedStrategy<Value> {
    (arb_object(), prop::option::weighted(0.8, arb_object()))
        .prop_map(|(mut top, oauth)| {
            if let Some(oauth) = oauth {
                top.insert("claudeAiOauth".into(), Value::Object(oauth));
            }
            Value::Object(top)
        })
        .boxed()
}

/// A non-empty string (empty values count as missing in every parser).
fn non_empty() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{1,24}",
        "\\PC{1,12}",
        "sk-ant-(api03|oat01|ort01)-[A-Za-z0-9_-]{8,40}"
    ]
}

/// A token every reader accepts: 8 to 16 KiB of visible ASCII.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]{8,64}",
        "sk-ant-(api03|oat01|ort01)-[A-Za-z0-9_-]{8,40}"
    ]
}

/// A token no reader accepts: too short, or with a control character,
/// whitespace or a non-ASCII character somewhere inside.
fn bad_token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]{1,7}",
        (
            "[!-~]{0,20}",
            "[\\x00-\\x1f\\x7f \\t\\u{a0}\\u{2028}é]",
            "[!-~]{0,20}"
        )
            .prop_map(|(a, b, c)| format!("{a}{b}{c}")),
    ]
}

fn scope() -> impl Strategy<Value = String> {
    "[a-z][a-z:._-]{0,15}"
}

fn arb_provider() -> impl Strategy<Value = Provider> {
    prop_oneof![Just(Provider::Anthropic), Just(Provider::Openai)]
}

fn arb_identity() -> impl Strategy<Value = Identity> {
    (
        prop::option::of(non_empty()),
        prop::option::of(non_empty()),
        prop::option::of(non_empty()),
        prop::option::of(non_empty()),
        prop::option::of(non_empty()),
        prop::option::of(non_empty()),
        prop::option::of(non_empty()),
    )
        .prop_map(
            |(email, account, org, org_name, ws, ws_name, sub)| Identity {
                email,
                account_uuid: account,
                organization_uuid: org,
                organization_name: org_name,
                workspace_id: ws,
                workspace_name: ws_name,
                subscription_type: sub,
                // Claude Code's field: not part of the portable or spec form.
                rate_limit_tier: None,
            },
        )
}

fn arb_token_set(provider: BoxedStrategy<Provider>) -> impl Strategy<Value = TokenSet> {
    (
        token(),
        prop::option::of(token()),
        prop::option::of(any::<u64>()),
        prop::collection::vec(scope(), 0..4),
        arb_identity(),
        provider,
        prop::option::of(non_empty()),
    )
        .prop_map(
            |(access, refresh, expires_at, scopes, identity, provider, client_id)| TokenSet {
                access_token: Secret::new(access),
                refresh_token: refresh.map(Secret::new),
                expires_at,
                scopes,
                identity,
                provider,
                client_id,
                id_token: None,
            },
        )
}

fn arb_credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        (token(), arb_provider()).prop_map(|(key, provider)| Credential::ApiKey {
            key: Secret::new(key),
            provider,
        }),
        (token(), arb_provider(), prop::option::of(any::<u64>())).prop_map(
            |(token, provider, expires_at)| Credential::Bearer {
                token: Secret::new(token),
                provider,
                expires_at,
            }
        ),
        arb_token_set(arb_provider().boxed()).prop_map(Credential::OAuth),
    ]
}

/// The spec's profile-name regex, `^[A-Za-z0-9_-][A-Za-z0-9_.-]*$`, as a regex.
fn spec_name_regex() -> regex::Regex {
    regex::Regex::new(r"\A[A-Za-z0-9_-][A-Za-z0-9_.-]*\z").unwrap()
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

#[cfg(unix)]
fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn write_with_mode(path: &Path, bytes: &[u8], _mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

thread_local! {
    /// One scratch dir per test thread, reused by every case (creating and
    /// removing a temp dir per case would dominate the run time). Each case
    /// overwrites or removes the files it uses.
    static SCRATCH: tempfile::TempDir = tempfile::tempdir().unwrap();
}

fn scratch() -> PathBuf {
    SCRATCH.with(|d| d.path().to_owned())
}

fn file_mode() -> impl Strategy<Value = u32> {
    prop::sample::select(&[0o600u32, 0o644][..])
}

/// A secret-looking value, as a helper or a file would hold one.
fn secret_like() -> impl Strategy<Value = String> {
    "sk-ant-(oat01|ort01|api03)-[A-Za-z0-9_-]{16,48}"
}

/// Ways to put a string where something else is expected.
fn wrong_typed(secret: &str, shape: u8) -> Value {
    match shape % 4 {
        0 => Value::Array(vec![Value::String(secret.to_owned())]),
        1 => {
            let mut m = Map::new();
            m.insert("value".into(), Value::String(secret.to_owned()));
            Value::Object(m)
        }
        2 => Value::Array(vec![Value::Null, Value::from(1), secret.into()]),
        _ => {
            let mut m = Map::new();
            m.insert(secret.to_owned(), Value::Bool(true));
            Value::Object(m)
        }
    }
}

fn assert_no_leak(message: &str, secret: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !message.contains(secret),
        "error message quotes the secret: {message}"
    );
    // Not even a recognisable part of it.
    let tail = &secret[secret.len() - 12..];
    prop_assert!(
        !message.contains(tail),
        "error message quotes part of the secret: {message}"
    );
    Ok(())
}

fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

// ---------------------------------------------------------------------------
// No panics
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn portable_json_never_panics(value in arb_json(), obj in arb_object()) {
        let _ = from_portable_json(&value);
        let _ = from_portable_json(&Value::Object(obj));
    }

    #[test]
    fn portable_json_from_bytes_never_panics(bytes in file_bytes(object_value())) {
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let _ = from_portable_json(&value);
        }
    }

    #[test]
    fn claude_code_token_set_never_panics(obj in arb_object()) {
        if let Ok(set) = token_set_from_claude_code(&obj) {
            prop_assert!(!set.access_token.is_empty());
        }
    }

    #[test]
    fn external_output_never_panics(
        text in prop_oneof![
            ".{0,64}",
            "\\PC{0,32}",
            "[ -~\n]{0,64}",
            arb_json().prop_map(|v| v.to_string()),
            object_value().prop_map(|v| v.to_string()),
        ],
    ) {
        let _ = external::parse_output(&text);
        let _ = external::parse_output(text.trim());
    }

    #[test]
    fn profile_names_match_the_spec_regex(
        name in prop_oneof![
            ".{0,12}",
            "[A-Za-z0-9_.\\-/\\\\ \n\t\u{e9}\u{0}]{0,10}",
            "[A-Za-z0-9_.-]{0,10}",
        ],
    ) {
        let re = spec_name_regex();
        prop_assert_eq!(
            validate_profile_name(&name, "test").is_ok(),
            re.is_match(&name),
            "name {:?}", name
        );
    }
}

proptest! {
    #![proptest_config(config_disk())]

    #[test]
    fn profile_files_never_panic(
        config_bytes in file_bytes(config_value()),
        creds_bytes in file_bytes(object_value()),
        config_mode in file_mode(),
        creds_mode in file_mode(),
        with_creds in prop::bool::weighted(0.9),
    ) {
        let tmp = scratch();
        let files = ProfileFiles::new(&tmp);
        write_with_mode(&tmp.join("configs/p.json"), &config_bytes, config_mode);
        let creds_path = tmp.join("credentials/p.json");
        if with_creds {
            write_with_mode(&creds_path, &creds_bytes, creds_mode);
        } else {
            let _ = fs::remove_file(&creds_path);
        }
        let _ = files.read_config("p");
        let loaded = files.load_profile("p");
        let _ = files.load("p");
        // A group/other-readable credentials file is never used.
        if creds_mode & 0o077 != 0 && with_creds {
            if let Ok(Some((_, claude_auth::store::profile_files::ProfileCredential::OAuth(_)))) = loaded {
                prop_assert!(false, "a 0{creds_mode:o} credentials file was read");
            }
        }
    }

    #[test]
    fn claude_code_store_never_panics(
        bytes in file_bytes(claude_code_value()),
        mode in file_mode(),
    ) {
        let tmp = scratch();
        write_with_mode(&tmp.join(".credentials.json"), &bytes, mode);
        write_with_mode(&tmp.join(".claude.json"), &bytes, mode);
        let store = ClaudeCodeStore::new(&tmp, tmp.join(".claude.json"));
        let _ = store.load("");
        let _ = store.account();
    }

    #[test]
    fn seed_file_never_panics(bytes in file_bytes(object_value()), mode in file_mode()) {
        let tmp = scratch();
        let path = tmp.join("auth.json");
        write_with_mode(&path, &bytes, mode);
        let _ = read_seed_file(&path);
    }

    #[test]
    fn settings_never_panic(
        text in prop_oneof![
            ".{0,64}",
            "[ -~\n]{0,128}",
            prop::collection::vec(toml_line(), 0..8).prop_map(|l| l.join("\n")),
        ],
    ) {
        let tmp = scratch();
        let path = tmp.join("config.toml");
        fs::write(&path, &text).unwrap();
        let _ = Settings::from_file(&path);
    }
}

/// Lines of a settings file, mostly with keys and values it knows.
fn toml_line() -> impl Strategy<Value = String> {
    let source_id = prop::sample::select(
        &[
            "\"claude-code\"",
            "\"seed-file\"",
            "\"seed-env\"",
            "\"external-command\"",
            "\"claude-code-oauth-token\"",
            "\"active-profile\"",
            "\"nope\"",
            "1",
        ][..],
    );
    prop_oneof![
        prop::collection::vec(source_id.clone(), 0..4)
            .prop_map(|ids| format!("sources = [{}]", ids.join(", "))),
        prop::collection::vec(source_id, 0..3)
            .prop_map(|ids| format!("disabled_sources = [{}]", ids.join(", "))),
        prop::sample::select(&["file", "keyring", "encrypted-file", "x"][..])
            .prop_map(|s| format!("storage = \"{s}\"")),
        Just("[external_command]".to_owned()),
        ".{0,16}".prop_map(|c| format!("command = {c:?}")),
        any::<i64>().prop_map(|n| format!("timeout_secs = {n}")),
        Just("[refresh]".to_owned()),
        any::<i64>().prop_map(|n| format!("threshold_secs = {n}")),
        Just("[keyring]".to_owned()),
        ".{0,8}".prop_map(|s| format!("service = {s:?}")),
        ".{0,8}".prop_map(|p| format!("[profiles.{p:?}]")),
        "[a-z_.]{0,10} = [\"a-z0-9\\[\\]]{0,10}",
    ]
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn portable_json_round_trips(cred in arb_credential()) {
        let json = to_portable_json(&cred);
        prop_assert_eq!(&from_portable_json(&json).unwrap(), &cred);
        // Through bytes too, as the stores write it.
        let bytes = serde_json::to_vec_pretty(&json).unwrap();
        let back: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(from_portable_json(&back).unwrap(), cred);
    }
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn profile_files_save_then_load_is_identity(
        set in arb_token_set(Just(Provider::Anthropic).boxed()),
    ) {
        // The spec's files keep a client_id only for a refreshable login.
        let mut set = set;
        if set.refresh_token.is_none() {
            set.client_id = None;
        }
        let tmp = scratch().join("round-trip");
        // Start from nothing: save writes the config only when it is missing.
        let _ = fs::remove_dir_all(&tmp);
        let files = ProfileFiles::new(&tmp);
        let cred = Credential::OAuth(set);
        files.save("p", &cred).unwrap();
        prop_assert_eq!(files.load("p").unwrap(), Some(cred.clone()));
        // A second save over existing files changes nothing either.
        files.save("p", &cred).unwrap();
        prop_assert_eq!(files.load("p").unwrap(), Some(cred));
    }
}

// ---------------------------------------------------------------------------
// Error messages never quote a secret
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn portable_json_errors_never_quote_wrong_typed_secrets(
        secret in secret_like(),
        shape in any::<u8>(),
        field in prop::sample::select(&["access_token", "api_key", "expires_at", "type", "provider"][..]),
        kind in prop::sample::select(&["oauth_token", "api_key", "bearer_token"][..]),
    ) {
        let mut map = Map::new();
        map.insert("type".into(), kind.into());
        map.insert("access_token".into(), "sk-ant-oat01-visible".into());
        map.insert("api_key".into(), "sk-ant-api03-visible".into());
        // expires_at is a number: a string there is wrong-typed too.
        let bad = if field == "expires_at" && shape % 2 == 0 {
            Value::String(secret.clone())
        } else {
            wrong_typed(&secret, shape)
        };
        map.insert(field.into(), bad);
        if let Err(message) = from_portable_json(&Value::Object(map)) {
            assert_no_leak(&message, &secret)?;
        }
    }

    #[test]
    fn unusable_tokens_are_refused_naming_the_field(
        bad in bad_token(),
        field in prop::sample::select(&["access_token", "refresh_token", "api_key"][..]),
    ) {
        let mut map = Map::new();
        map.insert("type".into(), if field == "api_key" { "api_key" } else { "oauth_token" }.into());
        map.insert("access_token".into(), "sk-ant-oat01-valid-token".into());
        map.insert(field.into(), bad.clone().into());
        let message = from_portable_json(&Value::Object(map)).unwrap_err();
        prop_assert!(message.starts_with(&format!("field '{field}' is not a usable token")), "{message}");
        prop_assert!(!message.contains(&format!("{bad:?}")), "{message}");
        let cc = serde_json::json!({"accessToken": bad});
        let message = token_set_from_claude_code(cc.as_object().unwrap()).unwrap_err();
        prop_assert!(message.starts_with("claudeAiOauth.accessToken is not a usable token"), "{message}");
    }

    #[test]
    fn external_output_errors_never_quote_wrong_typed_secrets(
        secret in secret_like(),
        shape in any::<u8>(),
        field in prop::sample::select(&["access_token", "token", "api_key", "expires_at", "expires_in"][..]),
    ) {
        let mut map = Map::new();
        if !matches!(field, "access_token" | "token" | "api_key") {
            map.insert("access_token".into(), "sk-ant-oat01-visible".into());
        }
        let bad = if field.starts_with("expires") && shape % 2 == 0 {
            Value::String(secret.clone())
        } else {
            wrong_typed(&secret, shape)
        };
        map.insert(field.into(), bad);
        let json = Value::Object(map).to_string();
        let cut = json[..json.find(&secret).unwrap() + secret.len()].to_owned();
        for text in [json, cut, format!("{secret}\n{secret}")] {
            if let Err(message) = external::parse_output(&text) {
                assert_no_leak(&message, &secret)?;
            }
        }
    }
}

proptest! {
    #![proptest_config(config_disk())]

    #[test]
    fn claude_code_errors_never_quote_wrong_typed_secrets(
        secret in secret_like(),
        shape in any::<u8>(),
        field in prop::sample::select(&["accessToken", "expiresAt", "scopes"][..]),
    ) {
        let mut oauth = Map::new();
        oauth.insert("accessToken".into(), "sk-ant-oat01-visible".into());
        let bad = if field != "accessToken" && shape % 2 == 0 {
            Value::String(secret.clone())
        } else {
            wrong_typed(&secret, shape)
        };
        oauth.insert(field.into(), bad);
        if let Err(message) = token_set_from_claude_code(&oauth) {
            assert_no_leak(&message, &secret)?;
        }
        // Through the store, and with claudeAiOauth itself wrong-typed.
        let tmp = scratch();
        let store = ClaudeCodeStore::new(&tmp, tmp.join(".claude.json"));
        for doc in [
            object(vec![("claudeAiOauth", Value::Object(oauth.clone()))]),
            object(vec![("claudeAiOauth", Value::String(secret.clone()))]),
            Value::String(secret.clone()),
        ] {
            write_with_mode(&store.path(), &serde_json::to_vec(&doc).unwrap(), 0o600);
            if let Err(e) = store.load("") {
                assert_no_leak(&e.to_string(), &secret)?;
            }
        }
    }

    #[test]
    fn profile_file_errors_never_quote_wrong_typed_secrets(
        secret in secret_like(),
        shape in any::<u8>(),
        field in prop::sample::select(&["access_token", "refresh_token", "expires_at", "scope", "type", "provider"][..]),
        client_id in any::<bool>(),
    ) {
        let tmp = scratch();
        let files = ProfileFiles::new(&tmp);
        let mut auth = Map::new();
        auth.insert("type".into(), "user_oauth".into());
        if client_id {
            auth.insert("client_id".into(), "client".into());
        }
        let config = object(vec![("authentication", Value::Object(auth))]);
        write_with_mode(&files.config_path("p"), &serde_json::to_vec(&config).unwrap(), 0o644);
        let mut creds = Map::new();
        creds.insert("access_token".into(), "sk-ant-oat01-visible".into());
        let bad = if field == "expires_at" && shape % 2 == 0 {
            Value::String(secret.clone())
        } else {
            wrong_typed(&secret, shape)
        };
        creds.insert(field.into(), bad);
        let creds_path = files.default_credentials_path("p");
        write_with_mode(&creds_path, &serde_json::to_vec(&Value::Object(creds)).unwrap(), 0o600);
        if let Err(e) = files.load_profile("p") {
            assert_no_leak(&e.to_string(), &secret)?;
        }
        // The whole file a bare string, or JSON cut short after the secret.
        let truncated = format!("{{\"access_token\": \"{secret}");
        for bytes in [serde_json::to_vec(&secret).unwrap(), truncated.into_bytes()] {
            write_with_mode(&creds_path, &bytes, 0o600);
            let err = files.load_profile("p").unwrap_err();
            assert_no_leak(&err.to_string(), &secret)?;
        }
        // And in the config file.
        for config in [
            object(vec![("authentication", Value::String(secret.clone()))]),
            object(vec![("authentication", object(vec![("type", wrong_typed(&secret, shape))]))]),
        ] {
            write_with_mode(&files.config_path("p"), &serde_json::to_vec(&config).unwrap(), 0o644);
            let err = files.read_config("p").unwrap_err();
            assert_no_leak(&err.to_string(), &secret)?;
        }
    }

    #[test]
    fn seed_file_errors_never_quote_wrong_typed_secrets(
        secret in secret_like(),
        shape in any::<u8>(),
        field in prop::sample::select(&["access_token", "refresh_token", "token_expiry"][..]),
    ) {
        let tmp = scratch();
        let path = tmp.join("auth.json");
        let mut map = Map::new();
        map.insert("access_token".into(), "sk-ant-oat01-visible".into());
        let bad = if field == "token_expiry" && shape % 2 == 0 {
            Value::String(secret.clone())
        } else {
            wrong_typed(&secret, shape)
        };
        map.insert(field.into(), bad);
        let truncated = format!("{{\"access_token\": \"{secret}");
        for bytes in [
            serde_json::to_vec(&Value::Object(map)).unwrap(),
            serde_json::to_vec(&secret).unwrap(),
            truncated.into_bytes(),
        ] {
            write_with_mode(&path, &bytes, 0o600);
            if let Err(e) = read_seed_file(&path) {
                assert_no_leak(&e.to_string(), &secret)?;
            }
        }
    }
}

proptest! {
    #![proptest_config(config_disk())]

    /// String fields holding the *wrong value* (not the wrong type), where a
    /// pasted token could land: the error names the field, never the value.
    /// (The non-secret config's unknown `authentication.type` is still quoted
    /// back; it is not checked here.)
    #[test]
    fn wrong_valued_string_fields_never_quote_secrets(secret in secret_like()) {
        for field in ["type", "provider"] {
            let v = object(vec![
                ("access_token", "sk-ant-oat01-visible".into()),
                (field, secret.clone().into()),
            ]);
            let message = from_portable_json(&v).unwrap_err();
            assert_no_leak(&message, &secret)?;
        }
        let tmp = scratch();
        let files = ProfileFiles::new(&tmp);
        let user_oauth = object(vec![(
            "authentication",
            object(vec![("type", "user_oauth".into())]),
        )]);
        let creds = object(vec![
            ("access_token", "sk-ant-oat01-visible".into()),
            ("type", secret.clone().into()),
        ]);
        write_with_mode(&files.config_path("p"), &serde_json::to_vec(&user_oauth).unwrap(), 0o644);
        write_with_mode(&files.default_credentials_path("p"), &serde_json::to_vec(&creds).unwrap(), 0o600);
        let message = files.load_profile("p").unwrap_err().to_string();
        assert_no_leak(&message, &secret)?;
    }
}
