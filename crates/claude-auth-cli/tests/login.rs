//! `claude-auth login --with-token`: where each kind of credential goes, in
//! which exact shape and mode, when `active_config` is written, and what is
//! refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{masked, mode, require_secret_service, run_python, test_python, Run, Sandbox};
use serde_json::{json, Value};

const OAUTH: &str = "sk-ant-oat01-LoginOauthAAAAAAAAAAAAAAAAAAAA1111";
const API_KEY: &str = "sk-ant-api03-LoginApiKeyBBBBBBBBBBBBBBBBBBB2222";
const REFRESH: &str = "sk-ant-ort01-LoginRefreshCCCCCCCCCCCCCCCCCC3333";
/// base64 of the bytes 0..32.
const ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

const ARGV_REFUSAL: [&str; 2] = [
    "error: secrets are never accepted as command-line arguments (they end up in shell history and `ps`)",
    "hint: pipe it on stdin instead: `claude-auth login --with-token < token.txt`",
];

/// Every file under `dir`, relative, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn oauth_token_login_writes_the_spec_files_in_their_exact_shape() {
    let sb = Sandbox::new();
    let run = sb.login(Some("work"), OAUTH);
    assert_eq!(run.stdout, "");
    let creds_path = sb.credentials_path("work");
    assert_eq!(
        run.stderr_lines(),
        [format!(
            "✓ Stored the OAuth token {} for profile work in {}",
            masked(OAUTH),
            creds_path.display()
        )]
    );
    assert_eq!(
        std::fs::read_to_string(&creds_path).unwrap(),
        format!(
            "{{\n  \"version\": \"1.0\",\n  \"type\": \"oauth_token\",\n  \"access_token\": \"{OAUTH}\"\n}}"
        )
    );
    assert_eq!(
        std::fs::read_to_string(sb.config_path("work")).unwrap(),
        "{\n  \"version\": \"1.0\",\n  \"authentication\": {\n    \"type\": \"user_oauth\"\n  }\n}"
    );
    assert_eq!(mode(&creds_path), 0o600);
    assert_eq!(mode(creds_path.parent().unwrap()), 0o700);
    assert_eq!(mode(&sb.config_path("work")), 0o644);
    assert_eq!(mode(sb.config_path("work").parent().unwrap()), 0o755);
    assert_eq!(
        tree(&sb.anthropic_dir()),
        [
            "active_config",
            "configs",
            "configs/work.json",
            "credentials",
            "credentials/work.json"
        ]
    );
}

#[test]
fn login_writes_active_config_when_none_exists() {
    let sb = Sandbox::new();
    sb.login(None, OAUTH);
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "default"
    );
    assert!(sb.credentials_path("default").is_file());
}

#[test]
fn login_with_a_named_profile_replaces_active_config() {
    let sb = Sandbox::new();
    sb.login(
        Some("a"),
        "sk-ant-oat01-LoginProfileAaaaaaaaaaaaaaaaaaaAAAA",
    );
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "a"
    );
    sb.login(
        Some("b"),
        "sk-ant-oat01-LoginProfileBbbbbbbbbbbbbbbbbbbBBBB",
    );
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "b"
    );
}

#[test]
fn login_to_an_unnamed_profile_keeps_an_existing_active_config() {
    let mut sb = Sandbox::new();
    sb.login(
        Some("a"),
        "sk-ant-oat01-LoginProfileAaaaaaaaaaaaaaaaaaaAAAA",
    );
    // ANTHROPIC_PROFILE selects the target; it is not "named" on the command line.
    sb.set("ANTHROPIC_PROFILE", "b");
    sb.login(None, "sk-ant-oat01-LoginProfileBbbbbbbbbbbbbbbbbbbBBBB");
    assert!(sb.credentials_path("b").is_file());
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "a"
    );
}

#[test]
fn relogin_keeps_unknown_keys_in_the_credentials_file() {
    let sb = Sandbox::new();
    sb.login(Some("work"), OAUTH);
    let path = sb.credentials_path("work");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["x_vendor"] = json!({"kept": true});
    common::write_file(&path, &serde_json::to_string_pretty(&doc).unwrap(), 0o600);
    let second = "sk-ant-oat01-LoginSecondDDDDDDDDDDDDDDDDDDDDD4444";
    sb.login(Some("work"), second);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["access_token"], second);
    assert_eq!(doc["x_vendor"], json!({"kept": true}));
}

#[test]
fn api_key_login_goes_to_claude_auths_own_file_not_the_spec_files() {
    let mut sb = Sandbox::new();
    let own = sb.root().join("own");
    sb.set("CLAUDE_AUTH_CONFIG_DIR", own.display().to_string());
    let run = sb.login(Some("work"), API_KEY);
    let key_path = own.join("credentials/work.json");
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: profile \"work\" holds a credential the official SDKs cannot read from profile files, so it was not made active; select it with `claude-auth profile use work` or `--profile work`".to_owned(),
            format!(
                "✓ Stored the API key {} for profile work in {}",
                masked(API_KEY),
                key_path.display()
            ),
            "  The official SDKs read API keys only from ANTHROPIC_API_KEY: export ANTHROPIC_API_KEY=\"$(claude-auth token)\"".to_owned(),
        ]
    );
    let text = std::fs::read_to_string(&key_path).unwrap();
    assert!(!text.ends_with('\n'));
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc,
        json!({"version": "1.0", "type": "api_key", "provider": "anthropic", "api_key": API_KEY})
    );
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(key_path.parent().unwrap()), 0o700);
    assert!(!sb.config_path("work").exists());
    assert!(!sb.credentials_path("work").exists());
    assert!(!sb.active_config_path().exists());
}

#[test]
fn type_flag_overrides_the_prefix() {
    let sb = Sandbox::new();
    let key = "custom-gateway-key-EEEEEEEEEEEEEEEEEEEE5555";
    let run = sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--profile",
            "gw",
            "--type",
            "api-key",
        ],
        &format!("{key}\n"),
    );
    run.assert_code(0);
    assert!(sb.key_file_path("gw").is_file());
    assert!(!sb.credentials_path("gw").exists());
    let token = sb.run(&["token", "--profile", "gw"]);
    assert_eq!(token.stdout, format!("{key}\n"));
}

fn assert_refused_without_echo(sb: &Sandbox, args: &[&str], secret: &str) {
    let run = sb.run_stdin(args, &format!("{OAUTH}\n"));
    run.assert_code(2);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr_lines(), ARGV_REFUSAL, "{args:?}");
    assert!(!run.stderr.contains(secret));
    assert_eq!(
        tree(sb.home()),
        Vec::<String>::new(),
        "{args:?} wrote something"
    );
}

#[test]
fn secret_as_positional_argument_is_refused_and_not_echoed() {
    let sb = Sandbox::new();
    assert_refused_without_echo(&sb, &["login", "--with-token", API_KEY], API_KEY);
}

#[test]
fn secret_as_token_flag_is_refused_and_not_echoed() {
    let sb = Sandbox::new();
    assert_refused_without_echo(&sb, &["login", "--with-token", "--token", OAUTH], OAUTH);
    let eq = format!("--token={OAUTH}");
    assert_refused_without_echo(&sb, &["login", "--with-token", &eq], OAUTH);
}

#[test]
fn secret_as_api_key_flag_is_refused_and_not_echoed() {
    let sb = Sandbox::new();
    assert_refused_without_echo(
        &sb,
        &["login", "--with-token", "--api-key", API_KEY],
        API_KEY,
    );
    assert_refused_without_echo(&sb, &["login", "--api-key", API_KEY], API_KEY);
}

#[test]
fn unusable_tokens_on_stdin_are_refused_and_nothing_is_stored() {
    let sb = Sandbox::new();
    let huge = format!("sk-ant-oat01-{}\n", "A".repeat(10 * 1024 * 1024));
    for (input, why) in [
        (format!("{OAUTH}\0\n"), "control character"),
        (format!("{OAUTH}\r\r\n"), "control character"),
        (format!("sk-ant-\u{1b}[31m{OAUTH}\n"), "control character"),
        (format!("{OAUTH} \n"), "whitespace"),
        (format!(" {OAUTH}\n"), "whitespace"),
        ("x\n".to_owned(), "too short"),
        (huge, "over 16 KiB"),
    ] {
        let run = sb.run_stdin(&["login", "--with-token", "--profile", "p"], &input);
        run.assert_code(2);
        let err = run.stderr_lines();
        assert_eq!(err.len(), 2, "{run}");
        assert!(
            err[0].starts_with("error: the token on stdin is not a usable token: ")
                && err[0].contains(why),
            "{run}"
        );
        assert_eq!(
            err[1],
            "hint: pipe the token alone, on one line: `claude-auth login --with-token < token.txt`"
        );
        assert!(!run.stderr.contains("LoginOauth"), "{run}");
        assert_eq!(tree(sb.home()), Vec::<String>::new(), "{input:?}");
    }
    // One line ending (LF or CRLF) is not part of the token.
    sb.run_stdin(
        &["login", "--with-token", "--profile", "p"],
        &format!("{OAUTH}\r\n"),
    )
    .assert_code(0);
    assert_eq!(
        sb.run(&["token", "--profile", "p"]).stdout,
        format!("{OAUTH}\n")
    );
}

#[test]
fn unusable_tokens_in_files_are_refused_naming_the_file_and_field() {
    let sb = Sandbox::new();
    sb.write_static_profile("nl", &format!("{OAUTH}\nsecond line"), None);
    let run = sb.run(&["token", "--profile", "nl"]);
    assert_ne!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "");
    let path = sb.credentials_path("nl").display().to_string();
    assert!(run.stderr.contains(&path), "{run}");
    assert!(
        run.stderr
            .contains("field 'access_token' is not a usable token: it holds a control character"),
        "{run}"
    );
    assert!(!run.stderr.contains("LoginOauth"), "{run}");
    sb.write_claude_code("tiny", u64::MAX, 0o600);
    let run = sb.run(&["token"]);
    assert_ne!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "");
}

#[test]
fn empty_stdin_exits_2() {
    let sb = Sandbox::new();
    for input in ["", "\n", "   \n"] {
        let run = sb.run_stdin(&["login", "--with-token"], input);
        run.assert_code(2);
        assert_eq!(
            run.stderr_lines(),
            ["error: stdin was empty; pipe the token in: `claude-auth login --with-token < token.txt`"],
            "{input:?}"
        );
    }
    let closed = sb.run(&["login", "--with-token"]);
    closed.assert_code(2);
    assert_eq!(tree(sb.home()), Vec::<String>::new());
}

#[test]
fn a_refresh_token_is_refused() {
    let sb = Sandbox::new();
    let run = sb.run_stdin(
        &["login", "--with-token", "--profile", "work"],
        &format!("{REFRESH}\n"),
    );
    run.assert_code(2);
    assert_eq!(
        run.stderr_lines(),
        ["error: this is a refresh token (sk-ant-ort01-…); give the access token, or log in with `claude-auth login`"]
    );
    assert!(!run.stderr.contains(REFRESH));
    assert_eq!(tree(sb.home()), Vec::<String>::new());
}

#[test]
fn an_invalid_profile_name_is_refused_before_reading_stdin() {
    let sb = Sandbox::new();
    let run = sb.run_stdin(
        &["login", "--with-token", "--profile", "../escape"],
        &format!("{OAUTH}\n"),
    );
    run.assert_code(1);
    assert_eq!(
        run.stderr_lines()[0],
        "error: invalid profile name \"../escape\" (from --profile): names match ^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
    );
    assert_eq!(tree(sb.home()), Vec::<String>::new());
    assert!(!sb.root().join("escape.json").exists());
}

// ---------------------------------------------------------------------------
// Keyring (real Secret Service from scripts/test) and encrypted file
// ---------------------------------------------------------------------------

/// Point the sandbox at the private Secret Service of `scripts/test`, under a
/// keyring service name no other test uses; `None` when absent (a failure
/// under `CI`, a "skipped" note otherwise).
fn use_secret_service(sb: &mut Sandbox, test: &str) -> Option<String> {
    if !require_secret_service() {
        return None;
    }
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .expect("scripts/test exports DBUS_SESSION_BUS_ADDRESS");
    let service = format!("claude-auth-cli-test-{}-{test}", std::process::id());
    sb.set("DBUS_SESSION_BUS_ADDRESS", bus)
        .set("CLAUDE_AUTH_KEYRING_SERVICE", &service);
    Some(service)
}

#[test]
fn keyring_login_round_trips_through_the_secret_service() {
    let mut sb = Sandbox::new();
    let Some(service) = use_secret_service(&mut sb, "roundtrip") else {
        return;
    };
    let run = sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--storage",
            "keyring",
            "--no-fallback",
            "--profile",
            "kr",
        ],
        &format!("{OAUTH}\n"),
    );
    run.assert_code(0);
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: profile \"kr\" holds a credential the official SDKs cannot read from profile files, so it was not made active; select it with `claude-auth profile use kr` or `--profile kr`".to_owned(),
            format!(
                "✓ Stored the OAuth token {} for profile kr in keyring service \"{service}\", account \"kr\"",
                masked(OAUTH)
            ),
        ]
    );
    assert!(!sb.credentials_path("kr").exists());
    assert!(!sb.key_file_path("kr").exists());
    assert!(!sb.active_config_path().exists());

    sb.set("CLAUDE_AUTH_STORAGE", "keyring");
    let token = sb.run(&["token", "--profile", "kr"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{OAUTH}\n"));

    sb.run(&["logout", "--profile", "kr"]).assert_code(0);
    let after = sb.run(&["token", "--profile", "kr"]);
    after.assert_code(1);
    assert_eq!(after.stdout, "");
}

#[test]
fn keyring_login_is_found_later_without_extra_settings() {
    let mut sb = Sandbox::new();
    if use_secret_service(&mut sb, "found-later").is_none() {
        return;
    }
    let run = sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--storage",
            "keyring",
            "--no-fallback",
            "--profile",
            "kr",
        ],
        &format!("{OAUTH}\n"),
    );
    run.assert_code(0);
    let token = sb.run(&["token", "--profile", "kr"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{OAUTH}\n"));
}

#[test]
fn keyring_entry_is_readable_by_python_keyring() {
    let mut sb = Sandbox::new();
    let Some(service) = use_secret_service(&mut sb, "python") else {
        return;
    };
    let Some(python) = test_python("keyring_entry_is_readable_by_python_keyring") else {
        return;
    };
    sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--storage",
            "keyring",
            "--no-fallback",
            "--profile",
            "kr",
        ],
        &format!("{OAUTH}\n"),
    )
    .assert_code(0);
    let bus = sb.var("DBUS_SESSION_BUS_ADDRESS").unwrap().to_owned();
    let script = format!(
        "import json, keyring\n\
         from keyring.backends.SecretService import Keyring\n\
         keyring.set_keyring(Keyring())\n\
         print(json.loads(keyring.get_password({service:?}, 'kr'))['access_token'])\n"
    );
    let py = run_python(&python, &sb, &[("DBUS_SESSION_BUS_ADDRESS", &bus)], &script);
    py.assert_code(0);
    assert_eq!(py.stdout, format!("{OAUTH}\n"));
    sb.run(&["logout", "--profile", "kr"]).assert_code(0);
}

#[test]
fn encrypted_file_login_round_trips_with_the_encryption_key() {
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_AUTH_ENCRYPTION_KEY", ENCRYPTION_KEY);
    let run = sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--storage",
            "encrypted-file",
            "--profile",
            "enc",
        ],
        &format!("{OAUTH}\n"),
    );
    run.assert_code(0);
    let file = sb.own_dir().join("encrypted/enc.json.enc");
    assert_eq!(
        run.stderr_lines(),
        [
            "warning: profile \"enc\" holds a credential the official SDKs cannot read from profile files, so it was not made active; select it with `claude-auth profile use enc` or `--profile enc`".to_owned(),
            format!(
                "✓ Stored the OAuth token {} for profile enc in {}",
                masked(OAUTH),
                file.display()
            )
        ]
    );
    assert_eq!(mode(&file), 0o600);
    let bytes = std::fs::read(&file).unwrap();
    let body = &OAUTH["sk-ant-oat01-".len()..];
    assert!(
        !bytes.windows(body.len()).any(|w| w == body.as_bytes()),
        "the token is readable in {}",
        file.display()
    );
    assert!(!sb.credentials_path("enc").exists());

    sb.set("CLAUDE_AUTH_STORAGE", "encrypted-file");
    let token = sb.run(&["token", "--profile", "enc"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{OAUTH}\n"));
}

#[test]
fn encrypted_file_with_the_wrong_key_is_an_error() {
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_AUTH_ENCRYPTION_KEY", ENCRYPTION_KEY);
    sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--storage",
            "encrypted-file",
            "--profile",
            "enc",
        ],
        &format!("{OAUTH}\n"),
    )
    .assert_code(0);
    sb.set(
        "CLAUDE_AUTH_ENCRYPTION_KEY",
        "Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=",
    )
    .set("CLAUDE_AUTH_STORAGE", "encrypted-file");
    let token = sb.run(&["token", "--profile", "enc"]);
    token.assert_code(1);
    assert_eq!(token.stdout, "");
    assert!(
        token.stderr_lines()[0].starts_with("error: explicit: encrypted credentials "),
        "{token}"
    );
}

#[test]
fn encrypted_file_login_without_a_key_fails_and_writes_nothing() {
    let sb = Sandbox::new();
    let run = sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--storage",
            "encrypted-file",
            "--profile",
            "enc",
        ],
        &format!("{OAUTH}\n"),
    );
    run.assert_code(1);
    assert!(
        run.stderr_lines()[0].starts_with(&format!(
            "error: encrypted credentials {}: no encryption key: set CLAUDE_AUTH_ENCRYPTION_KEY",
            sb.own_dir().join("encrypted/enc.json.enc").display()
        )),
        "{run}"
    );
    assert_eq!(tree(sb.home()), Vec::<String>::new());
}

#[test]
fn keyring_login_with_no_fallback_fails_when_there_is_no_keyring() {
    // The sandbox's D-Bus address leads nowhere.
    let sb = Sandbox::new();
    let run = sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--storage",
            "keyring",
            "--no-fallback",
            "--profile",
            "kr",
        ],
        &format!("{OAUTH}\n"),
    );
    run.assert_code(1);
    assert!(
        run.stderr_lines()[0].starts_with("error: keyring (claude-auth, kr): no Secret Service"),
        "{run}"
    );
    assert_eq!(
        run.stderr_lines().last().copied(),
        Some("hint: start or unlock your keyring, or choose --storage file / encrypted-file")
    );
    assert_eq!(tree(sb.home()), Vec::<String>::new());
}

/// `login --with-token --storage keyring --profile kr` in a sandbox whose
/// session bus leads nowhere (no Secret Service).
fn keyring_login_without_a_keyring(sb: &Sandbox) -> Run {
    sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--storage",
            "keyring",
            "--profile",
            "kr",
        ],
        &format!("{OAUTH}\n"),
    )
}

#[test]
fn keyring_login_falls_back_to_the_profile_files_visibly_when_there_is_no_keyring() {
    let sb = Sandbox::new();
    let run = keyring_login_without_a_keyring(&sb);
    run.assert_code(0);
    assert!(
        run.stderr_lines()[0].starts_with(
            "warning: the keyring is unavailable (keyring (claude-auth, kr): no Secret Service"
        ),
        "{run}"
    );
    assert!(run.stderr_lines()[0].ends_with("; falling back to a file readable only by you"));
    assert_eq!(mode(&sb.credentials_path("kr")), 0o600);
    let token = sb.run(&["token", "--profile", "kr"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{OAUTH}\n"));
}

#[test]
fn keyring_fallback_login_is_treated_like_a_file_login() {
    let sb = Sandbox::new();
    let run = keyring_login_without_a_keyring(&sb);
    run.assert_code(0);
    assert!(
        !run.stderr.contains("cannot read from profile files"),
        "the credential is in the profile files, which the SDKs read:\n{run}"
    );
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path()).unwrap(),
        "kr"
    );
}

#[test]
fn api_key_login_over_an_oauth_profile_replaces_what_token_prints() {
    let sb = Sandbox::new();
    sb.login(Some("work"), OAUTH);
    sb.login(Some("work"), API_KEY);
    let token = sb.run(&["token", "--profile", "work"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{API_KEY}\n"));
}

#[test]
fn oauth_login_over_an_api_key_profile_replaces_what_token_prints() {
    let sb = Sandbox::new();
    sb.login(Some("work"), API_KEY);
    sb.login(Some("work"), OAUTH);
    let token = sb.run(&["token", "--profile", "work"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{OAUTH}\n"));
}

#[test]
fn keyring_fallback_under_a_keyring_setting_is_a_status_warning() {
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_AUTH_STORAGE", "keyring");
    let run = sb.run_stdin(
        &["login", "--with-token", "--profile", "kr"],
        &format!("{OAUTH}\n"),
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("warning: the keyring is unavailable"),
        "{run}"
    );
    let status = sb.run(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let codes: Vec<&str> = json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["keyring-fallback"], "{json}");
    assert_eq!(json["credential"]["storage"], "file");
}
