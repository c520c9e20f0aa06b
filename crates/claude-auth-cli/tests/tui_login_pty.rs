//! A login through `claude-auth tui`'s picker, end to end in a real
//! pseudo-terminal (tests/pty) against the OAuth rig (oidc-provider, and
//! headless Chromium as `$BROWSER`): `l` → Claude → the browser login, the
//! success screen, the new login on the dashboard and in the files; then a
//! switch of the active provider to OpenAI (a Codex ChatGPT login was
//! already there) and `q`, with the terminal restored and the switch
//! recorded where `claude-auth status` reads it. Run through `scripts/test`
//! (it installs the rig); without the rig: a failure under `CI`, a "skipped"
//! note otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod pty;
mod rig;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{closed_local_url, mode, now, write_file, Sandbox};
use pty::{Key, Pty, Screen};
use serde_json::{json, Value};

/// Quick steps.
const LIMIT: Duration = Duration::from_secs(20);
/// A browser login (~4 s on 2 cores, more under load).
const BROWSER_LIMIT: Duration = Duration::from_secs(90);
/// The account the rig's browser driver signs in as.
const EMAIL: &str = "user@example.com";

fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode("not-a-real-signature")
    )
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// No Anthropic login; Codex's ChatGPT login (plus, me@example.com); the
/// `claude` preset pointed at the rig; `$BROWSER` the rig's driver.
fn sandbox(rig: &rig::Rig) -> Sandbox {
    let mut sb = Sandbox::new();
    let settings = sb.root().join("config.toml");
    std::fs::write(&settings, rig.provider_toml("claude", "json", "form")).unwrap();
    sb.set("CLAUDE_AUTH_SETTINGS", settings.display().to_string());
    sb.set("BROWSER", rig::browser().display().to_string());
    if let Ok(node) = std::env::var("CLAUDE_AUTH_TEST_NODE") {
        sb.set("CLAUDE_AUTH_TEST_NODE", node);
    }
    let closed = closed_local_url();
    sb.set("ANTHROPIC_BASE_URL", &closed);
    sb.set(
        "CLAUDE_AUTH_CHATGPT_BASE_URL",
        format!("{closed}/backend-api/codex"),
    );
    sb.set("CLAUDE_AUTH_OPENAI_ISSUER", &closed);
    let codex_home = sb.root().join("codex");
    sb.set("CODEX_HOME", codex_home.display().to_string());
    let id_token = jwt(&json!({
        "email": "me@example.com",
        "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_account_id": "acct-1"},
    }));
    let access = jwt(&json!({"exp": now() + 4 * 3600, "sub": "user-1"}));
    write_file(
        &codex_home.join("auth.json"),
        &serde_json::to_string_pretty(&json!({
            "auth_mode": "chatgpt",
            "OPENAI_API_KEY": null,
            "tokens": {"id_token": id_token, "access_token": access,
                       "refresh_token": "rt-TuiLoginPtyRefreshEEEEEEEE5555", "account_id": "acct-1"},
            "last_refresh": "2026-01-01T00:00:00Z",
        }))
        .unwrap(),
        0o600,
    );
    sb
}

fn footer(s: &Screen) -> bool {
    s.rows
        .last()
        .is_some_and(|r| r.starts_with(" q quit  ? help"))
}

#[test]
fn picker_login_to_claude_through_the_browser_then_switch_to_openai_and_quit() {
    let Some(rig) = rig::Rig::start(&[]) else {
        rig::skip(&rig::current_test());
        return;
    };
    let sb = sandbox(&rig);
    let pty = Pty::spawn(&sb.command(&["tui"]), 24, 80);
    pty.wait_for("the dashboard with the Codex login", LIMIT, |s| {
        s.contains("Codex login") && footer(s)
    });

    // l: the picker.
    pty.key(Key::Char('l'));
    let (picker, _) = pty.wait_text("Where do you want to log in?", LIMIT);
    for choice in ["1  OpenAI", "2  Claude", "3  Smart selection"] {
        assert!(picker.contains(choice), "{choice}\n{picker}");
    }
    assert!(
        picker.contains("Recommended: 2  Claude")
            || picker.contains("you have no usable Claude login"),
        "{picker}"
    );

    // 2: Claude's ways; 1: the Pro/Max login in the browser.
    pty.key(Key::Char('2'));
    let (ways, _) = pty.wait_text("How do you want to log in to Claude?", LIMIT);
    assert!(
        ways.contains("1  Claude Pro/Max subscription in the browser"),
        "{ways}"
    );
    pty.key(Key::Char('1'));
    let (done, _) = pty.wait_for("the login's outcome", BROWSER_LIMIT, |s| {
        s.contains(" ✓ Logged in as ") || s.contains(" ✗ ")
    });
    let line = done
        .row_with(" ✓ Logged in as ")
        .unwrap_or_else(|| panic!("the login failed:\n{done}\n{}", pty.output()));
    assert!(
        line.contains(&format!("✓ Logged in as {EMAIL}, profile default")),
        "{done}"
    );
    // At 80×24 the wrapped "stored in <path>" leaves the hint in view.
    assert!(done.contains(" Enter returns to the dashboard"), "{done}");

    // The files: the official profile, with the rig's client and tokens.
    let config = read_json(&sb.config_path("default"));
    assert_eq!(config["authentication"]["type"], "user_oauth", "{config}");
    assert_eq!(config["authentication"]["client_id"], rig::CLIENT_ID);
    let creds_path = sb.credentials_path("default");
    let creds = read_json(&creds_path);
    assert_eq!(creds["type"], "oauth_token", "{creds}");
    assert_eq!(creds["account_email"], EMAIL, "{creds}");
    let access = creds["access_token"].as_str().unwrap().to_owned();
    let refresh = creds["refresh_token"].as_str().unwrap().to_owned();
    assert!(!access.is_empty() && !refresh.is_empty());
    assert_eq!(mode(&creds_path), 0o600);
    assert_eq!(rig.stat("codeGrants"), 1);

    // Enter: the dashboard, with the new login winning for Anthropic.
    pty.key(Key::Enter);
    // (Waits for the dashboard's row itself: the success panel also says
    // "profile default" and the email, and may still be on screen.)
    let (dash, _) = pty.wait_for("the dashboard with the new login", LIMIT, |s| {
        footer(s)
            && s.row_with("Anthropic profile default")
                .is_some_and(|r| r.contains(EMAIL))
    });
    let anthropic = dash.row_with("Anthropic profile default").unwrap();
    assert!(
        anthropic.contains("✓") && anthropic.contains(EMAIL),
        "{dash}"
    );

    // Select the OpenAI row and switch to it.
    let openai_row = dash
        .rows
        .iter()
        .position(|r| r.contains("OpenAI    Codex login"))
        .unwrap_or_else(|| panic!("no OpenAI row:\n{dash}"));
    let selected = dash.rows.iter().position(|r| r.starts_with("> ")).unwrap();
    for _ in selected..openai_row {
        pty.key(Key::Down);
    }
    pty.wait_for("the OpenAI row selected", LIMIT, |s| {
        s.row_with("OpenAI    Codex login")
            .is_some_and(|r| r.starts_with("> "))
    });
    pty.key(Key::Char('s'));
    let (switched, _) = pty.wait_for("OpenAI active", LIMIT, |s| {
        s.rows[0].contains("Active provider: OpenAI") && footer(s)
    });
    assert!(switched.contains("Switched to OpenAI"), "{switched}");

    pty.key(Key::Char('q'));
    let status = pty.wait_exit(LIMIT);
    assert!(status.success(), "{status:?}\n{}", pty.screen());
    pty.assert_restored();
    let output = pty.output();
    for secret in [&access, &refresh] {
        assert!(!output.contains(secret.as_str()), "a token was drawn");
    }

    // The switch is recorded where the CLI reads it.
    let record = read_json(&sb.own_dir().join("active_provider.json"));
    assert_eq!(record["provider"], "openai", "{record}");
    let run = sb.run(&["status"]);
    run.assert_code(0);
    assert!(
        run.stdout_lines()[0].starts_with("Active provider: openai"),
        "{run}"
    );
    let run = sb.run(&["token", "--provider", "anthropic"]);
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{access}\n"), "{run}");
}
