//! `claude-auth status` on a machine with both vendors' logins: an
//! Anthropic profile, Codex's ChatGPT login in `$CODEX_HOME/auth.json`, and
//! `OPENAI_API_KEY` shadowing it; the active provider first, each OpenAI
//! credential's plan, account, email, expiry and storage, `--provider`, and
//! the `providers` array of `--json`; a ChatGPT login whose refresh token
//! the (loopback) issuer rejected is shown as "log in again".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod openai_issuer;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{masked, now, write_file, Sandbox};
use serde_json::{json, Value};

const PROFILE_TOKEN: &str = "sk-ant-oat01-BothVendorsWorkCCCCCCCCCCCC3333";
const OPENAI_KEY: &str = "sk-proj-BothVendorsOpenaiKeyBBBBBBBBBB2222";
const REFRESH: &str = "rt-BothVendorsRefreshDDDDDDDDDDDD4444";

fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode("not-a-real-signature")
    )
}

/// A sandbox with Anthropic profile `work` active and Codex's ChatGPT
/// login (plus, me@example.com, account acct-1) expiring at the returned
/// time; its `auth.json` path too.
fn both_vendors() -> (Sandbox, u64, std::path::PathBuf) {
    let mut sb = Sandbox::new();
    sb.write_static_profile("work", PROFILE_TOKEN, None);
    sb.write_active_config("work");
    let codex_home = sb.root().join("codex");
    sb.set("CODEX_HOME", codex_home.display().to_string());
    let exp = now() + 3 * 3600 - 90;
    let id_token = jwt(&json!({
        "email": "me@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_account_id": "acct-1"},
    }));
    let access = jwt(&json!({"exp": exp, "sub": "user-1"}));
    let auth = codex_home.join("auth.json");
    write_file(
        &auth,
        &serde_json::to_string_pretty(&json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {"id_token": id_token, "access_token": access,
                       "refresh_token": REFRESH, "account_id": "acct-1"},
            "last_refresh": "2026-01-01T00:00:00Z",
        }))
        .unwrap(),
        0o600,
    );
    (sb, exp, auth)
}

/// The lines of one provider's section (after its heading, up to the next
/// heading).
fn section<'a>(stdout: &'a str, heading: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.starts_with("── "))
        .collect()
}

#[test]
fn both_vendors_logins_explained_active_first_with_the_shadowing_warned() {
    let (mut sb, _, auth) = both_vendors();
    sb.set("OPENAI_API_KEY", OPENAI_KEY);
    let run = sb.run(&["status"]);
    run.assert_code(0);
    let lines = run.stdout_lines();
    assert_eq!(
        lines[..3],
        [
            "Active provider: anthropic (the default: both providers have a usable login; choose one with `claude-auth switch`)",
            "",
            "── Anthropic (active) ──",
        ]
    );
    let anthropic = section(&run.stdout, "── Anthropic (active) ──");
    assert!(
        anthropic.contains(&"✓ Using the OAuth token from active profile"),
        "{run}"
    );
    let openai = section(&run.stdout, "── OpenAI ──");
    assert!(
        openai.contains(&"✓ Using the API key from OPENAI_API_KEY"),
        "{run}"
    );
    let shadowed = openai
        .iter()
        .find(|l| l.contains("Codex login"))
        .expect("a Codex login line");
    assert!(
        shadowed.starts_with("  ~ Codex login") && shadowed.contains("shadowed: OAuth token"),
        "{shadowed}"
    );
    let warning = format!(
        "  ! OPENAI_API_KEY shadows your ChatGPT login ({}): requests are billed to that key's API account, not your ChatGPT plan. Unset OPENAI_API_KEY to use the ChatGPT login",
        auth.display()
    );
    assert!(openai.contains(&warning.as_str()), "{run}");
    for secret in [PROFILE_TOKEN, OPENAI_KEY, REFRESH] {
        assert!(!run.stdout.contains(secret));
    }

    // `switch openai` puts OpenAI first.
    sb.run(&["switch", "openai"]).assert_code(0);
    let run = sb.run(&["status"]);
    run.assert_code(0);
    let headings: Vec<&str> = run
        .stdout_lines()
        .into_iter()
        .filter(|l| l.starts_with("── "))
        .collect();
    assert_eq!(headings, ["── OpenAI (active) ──", "── Anthropic ──"]);
}

#[test]
fn a_chatgpt_login_shows_plan_account_email_expiry_and_storage() {
    let (sb, exp, auth) = both_vendors();
    let run = sb.run(&["status", "--provider", "openai"]);
    run.assert_code(0);
    let lines = run.stdout_lines();
    assert!(
        !run.stdout.contains("──"),
        "one provider, no headings: {run}"
    );
    assert!(!run.stdout.contains("ANTHROPIC"), "{run}");
    assert_eq!(lines[0], "OpenAI profile: default (default)");
    assert_eq!(
        lines[1],
        format!(
            "Codex home:     {} (from CODEX_HOME)",
            auth.parent().unwrap().display()
        )
    );
    let using = lines
        .iter()
        .position(|l| *l == "✓ Using the OAuth token from Codex login")
        .expect("the winner line");
    let iso = claude_auth::status::rfc3339(exp);
    let block: Vec<&str> = lines[using + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    assert!(block[0].starts_with("  Type:        OAuth token "), "{run}");
    assert!(
        block[1].starts_with(&format!("  Expires:     {iso} (in 2h 5")),
        "{run}"
    );
    assert!(block[1].ends_with(", refreshable"), "{run}");
    assert_eq!(
        block[2..5],
        [
            "  Plan:        plus",
            "  Account:     acct-1",
            "  Email:       me@example.com",
        ]
    );
    assert!(
        block[5].starts_with(&format!("  Stored in:   {}", auth.display())),
        "{run}"
    );

    let json = sb.run(&["status", "--json", "--provider", "openai"]).json();
    assert_eq!(json["provider"], "openai");
    assert_eq!(json["winner"], "codex");
    let c = &json["credential"];
    assert_eq!(
        (
            &c["provider"],
            &c["type"],
            &c["subscription"],
            &c["accountId"],
            &c["account"],
            &c["expiresAt"]
        ),
        (
            &json!("openai"),
            &json!("oauthToken"),
            &json!("plus"),
            &json!("acct-1"),
            &json!("me@example.com"),
            &json!(exp)
        )
    );
    assert_eq!(json["providers"].as_array().unwrap().len(), 1);
    assert_eq!(json["activeProvider"]["origin"], "flag");
}

#[test]
fn status_json_keeps_its_fields_and_adds_the_providers_active_first() {
    let (mut sb, _, _) = both_vendors();
    sb.set("OPENAI_API_KEY", OPENAI_KEY);
    sb.run(&["switch", "openai"]).assert_code(0);
    let (run, status) = sb.status_json();
    run.assert_code(0);
    // Today's top-level fields: Anthropic's chain, as before.
    assert_eq!(status["ok"], true);
    assert_eq!(status["provider"], "anthropic");
    assert_eq!(status["winner"], "active-profile");
    assert_eq!(status["credential"]["masked"], masked(PROFILE_TOKEN));
    assert_eq!(status["activeProfile"]["name"], "work");
    assert!(status["sources"].as_array().unwrap().len() == 11);
    assert_eq!(status["activeProvider"]["provider"], "openai");
    assert_eq!(status["activeProvider"]["origin"], "switch");

    let providers = status["providers"].as_array().unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let openai = &providers[0];
    assert_eq!(
        keys(openai),
        [
            "active",
            "credential",
            "ok",
            "provider",
            "reason",
            "sources",
            "warnings",
            "winner"
        ]
    );
    assert_eq!(openai["provider"], "openai");
    assert_eq!(openai["active"], true);
    assert_eq!(openai["reason"], status["activeProvider"]["reason"]);
    assert_eq!(openai["winner"], "openai-api-key");
    let ids: Vec<&str> = openai["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "explicit",
            "openai-api-key",
            "codex-api-key",
            "openai-profile",
            "codex",
            "openai-external-command"
        ]
    );
    let codes: Vec<&str> = openai["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["openai-api-key-shadows-chatgpt"]);
    let anthropic = &providers[1];
    assert_eq!(
        keys(anthropic),
        [
            "active",
            "credential",
            "ok",
            "provider",
            "sources",
            "warnings",
            "winner"
        ]
    );
    assert_eq!(anthropic["active"], false);
    assert_eq!(anthropic["winner"], "active-profile");
    assert_eq!(anthropic["sources"], status["sources"]);
}

#[test]
fn a_chatgpt_login_the_issuer_rejected_shows_log_in_again_with_the_last_error() {
    use openai_issuer::{Config, OpenaiIssuer};
    let issuer = OpenaiIssuer::start_with(Config {
        access_ttl: -60,
        ..Config::default()
    });
    let minted = issuer.mint_default();
    issuer.invalidate_all();
    let mut sb = Sandbox::new();
    let codex_home = sb.root().join("codex");
    sb.set("CODEX_HOME", codex_home.display().to_string())
        .set("CLAUDE_AUTH_OPENAI_ISSUER", &issuer.url);
    let auth = codex_home.join("auth.json");
    write_file(
        &auth,
        &serde_json::to_string_pretty(&json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {"id_token": minted.id_token, "access_token": minted.access_token,
                       "refresh_token": minted.refresh_token,
                       "account_id": openai_issuer::Account::default().account_id},
            "last_refresh": "2026-01-01T00:00:00Z",
        }))
        .unwrap(),
        0o600,
    );
    // Before any refresh: expired but refreshable, so usable.
    sb.run(&["status", "--provider", "openai"]).assert_code(0);

    sb.run(&["token", "--provider", "openai"]).assert_code(4);
    let before = std::fs::read(&auth).unwrap();

    let run = sb.run(&["status", "--provider", "openai"]);
    run.assert_code(1);
    let hint = "  → the server rejected this login's refresh token; log in again: codex login (Codex), or claude-auth login --provider chatgpt --codex";
    assert!(run.stdout_lines().contains(&hint), "{run}");
    assert!(
        run.stdout_lines()
            .iter()
            .any(|l| l.starts_with("  Refresh:     last error ")),
        "{run}"
    );
    let json = sb.run(&["status", "--json", "--provider", "openai"]).json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["refresh"]["loginRequired"], true);
    assert_eq!(json["providers"][0]["ok"], false);
    // Without --provider, OpenAI is still the only provider with a login
    // (a dead refresh token is only known to status), and status says it
    // cannot be used.
    let all = sb.run(&["status"]);
    all.assert_code(1);
    assert!(all.stdout_lines().contains(&hint), "{all}");
    assert_eq!(std::fs::read(&auth).unwrap(), before, "status never writes");
    assert_eq!(issuer.stats().refreshes, 0);
}

#[test]
fn no_secret_of_either_vendor_in_status_or_switch_output_even_with_trace_logging() {
    let (mut sb, _, auth) = both_vendors();
    sb.set("OPENAI_API_KEY", OPENAI_KEY)
        .set("RUST_LOG", "trace");
    let doc: Value = serde_json::from_slice(&std::fs::read(&auth).unwrap()).unwrap();
    let mut secrets = vec![
        PROFILE_TOKEN.to_owned(),
        OPENAI_KEY.to_owned(),
        REFRESH.to_owned(),
    ];
    for field in ["id_token", "access_token"] {
        let jwt = doc["tokens"][field].as_str().unwrap();
        secrets.push(jwt.to_owned());
        secrets.push(jwt.split('.').nth(1).unwrap().to_owned()); // the claims part
    }
    let runs = [
        sb.run(&["status"]),
        sb.run(&["status", "--json"]),
        sb.run(&["status", "--provider", "openai", "--json"]),
        sb.run(&["switch"]),
        sb.run(&["switch", "--json"]),
        sb.run(&["switch", "openai"]),
        sb.run(&["switch", "openai", "--json"]),
    ];
    for run in &runs {
        run.assert_code(0);
        for secret in &secrets {
            assert!(
                !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
                "a secret in the output of {:?}",
                run.args
            );
        }
    }
}

/// `[openai.external_command]` is a real script: last in the OpenAI chain,
/// it wins when nothing above holds a login, and `status` shows it with its
/// command; once `OPENAI_API_KEY` wins, it is not run.
#[test]
fn status_shows_the_openai_external_command() {
    use std::os::unix::fs::PermissionsExt;
    let mut sb = Sandbox::new();
    sb.set("CODEX_HOME", sb.root().join("codex").display().to_string());
    let runs = sb.root().join("runs");
    let script = sb.root().join("openai-helper");
    write_file(
        &script,
        &format!(
            "#!/bin/sh\necho x >> {}\necho '{{\"api_key\": \"{OPENAI_KEY}\"}}'\n",
            runs.display()
        ),
        0o700,
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    write_file(
        &sb.own_dir().join("config.toml"),
        &format!(
            "[openai.external_command]\ncommand = \"{}\"\n",
            script.display()
        ),
        0o600,
    );
    let run = sb.run(&["status", "--provider", "openai", "--json"]);
    run.assert_code(0);
    let status = run.json();
    assert_eq!(status["winner"], "openai-external-command");
    let last = status["sources"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["id"], "openai-external-command");
    assert_eq!(last["winner"], true);
    let text = sb.run(&["status", "--provider", "openai"]);
    let line = text
        .stdout_lines()
        .into_iter()
        .find(|l| l.starts_with("  ✓ OpenAI external command"))
        .expect("the OpenAI external command line, winning")
        .to_owned();
    assert!(text
        .stdout_lines()
        .contains(&"✓ Using the API key from OpenAI external command"));
    assert!(
        line.contains(&format!("command `{}`", script.display())),
        "{line}"
    );
    assert!(!text.stdout.contains(OPENAI_KEY));
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 2);

    sb.set("OPENAI_API_KEY", "sk-proj-FromTheEnvironmentEEEEEEEE5555");
    let run = sb.run(&["status", "--provider", "openai", "--json"]);
    let status = run.json();
    assert_eq!(status["winner"], "openai-api-key");
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 2);
}
