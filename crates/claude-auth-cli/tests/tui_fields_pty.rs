//! The TUI's login fields in a real pseudo-terminal (tests/pty) at 80×24:
//! the API-key field (the pasted key masked, never on screen nor in
//! anything the program wrote; stored 0600; `status` shows it), the
//! ChatGPT device code against the loopback issuer (tests/openai_issuer:
//! the code shown, approved there, the login stored), and the browser URL
//! written so that the terminal holds it as one wrapped line (a mouse
//! selection copies it whole). Each success panel keeps its "Enter
//! returns" hint in view at 80×24.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod openai_issuer;
mod pty;

use std::time::Duration;

use common::{masked, mode, Sandbox};
use openai_issuer::OpenaiIssuer;
use pty::{Key, Pty, Screen};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(20);
const API_KEY: &str = "sk-ant-api03-TuiFieldsPtyKeyQQQQQQQQQQQQQQQQQQ7777";

fn footer(s: &Screen) -> bool {
    s.rows
        .last()
        .is_some_and(|r| r.starts_with(" q quit  ? help"))
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `l`, the provider's number, the method's number: the login screen.
fn open_login(pty: &Pty, provider: char, question: &str, method: char) {
    pty.wait_for("the dashboard", LIMIT, footer);
    pty.key(Key::Char('l'));
    pty.wait_text("Where do you want to log in?", LIMIT);
    pty.key(Key::Char(provider));
    pty.wait_text(question, LIMIT);
    pty.key(Key::Char(method));
}

/// Enter on the success panel, then `q`: the terminal given back.
fn back_and_quit(pty: &Pty, row: &str) {
    pty.key(Key::Enter);
    pty.wait_for("the dashboard with the new login", LIMIT, |s| {
        s.contains(row) && footer(s)
    });
    pty.key(Key::Char('q'));
    assert!(pty.wait_exit(LIMIT).success());
    pty.assert_restored();
}

#[test]
fn the_api_key_field_masks_the_key_stores_it_0600_and_status_shows_it() {
    let sb = Sandbox::new();
    let pty = Pty::spawn(&sb.command(&["tui"]), 24, 80);
    open_login(&pty, '2', "How do you want to log in to Claude?", '3');
    pty.wait_text("Paste the API key (it is masked, never shown)", LIMIT);
    // Pasted (bracketed paste), as the screen asks.
    pty.send(format!("\x1b[200~{API_KEY}\x1b[201~"));
    let n = API_KEY.chars().count();
    let field = format!(" > {}  ({n} characters)█", "•".repeat(32));
    pty.wait_for("the masked field", LIMIT, |s| s.contains(&field));
    pty.key(Key::Enter);
    // (A frame reaches the terminal in pieces: wait for its last row.)
    let (done, _) = pty.wait_for("the key stored, and the hint", LIMIT, |s| {
        s.contains(" Enter returns to the dashboard") || s.contains(" ✗ ")
    });
    assert!(
        done.text.contains(&format!(
            " ✓ Stored the API key {} for profile default",
            masked(API_KEY)
        )),
        "{done}"
    );
    assert!(
        done.contains(" Enter returns to the dashboard"),
        "the hint in view at 80×24:\n{done}"
    );
    back_and_quit(&pty, "API key");
    // Never drawn, never written to the terminal in any form.
    let secret_part = &API_KEY["sk-ant-api03-".len()..];
    assert!(
        !pty.output().contains(secret_part),
        "the key reached the terminal"
    );

    let path = sb.key_file_path("default");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(
        read_json(&path),
        json!({"version": "1.0", "type": "api_key", "provider": "anthropic", "api_key": API_KEY})
    );
    let status = sb.run(&["status"]);
    status.assert_code(0);
    assert!(status.stdout.contains(&masked(API_KEY)), "{status}");
    assert!(!status.stdout.contains(secret_part), "{status}");
}

#[test]
fn the_device_code_is_shown_and_the_login_stored_once_approved() {
    let issuer = OpenaiIssuer::start();
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_AUTH_OPENAI_ISSUER", &issuer.url);
    let codex_home = sb.root().join("codex");
    sb.set("CODEX_HOME", codex_home.display().to_string());
    let pty = Pty::spawn(&sb.command(&["tui"]), 24, 80);
    open_login(&pty, '1', "How do you want to log in to OpenAI?", '2');
    let (shown, _) = pty.wait_text(" … waiting for the approval", LIMIT);
    let code = issuer.user_codes().pop().expect("a device code handed out");
    assert!(
        shown.contains(&format!("   {}/codex/device", issuer.url)),
        "{shown}"
    );
    assert!(shown.contains(&format!("   {code}")), "{shown}");
    assert!(issuer.approve_device(&code));
    let (done, _) = pty.wait_for("the login's outcome, and the hint", LIMIT, |s| {
        s.contains(" Enter returns to the dashboard") || s.contains(" ✗ ")
    });
    assert!(
        done.text
            .contains(" ✓ Logged in to ChatGPT as user@example.com (ChatGPT plus), OpenAI profile"),
        "{done}"
    );
    assert!(
        done.contains(" Enter returns to the dashboard"),
        "the hint in view at 80×24:\n{done}"
    );
    back_and_quit(&pty, "user@example.com");
    let stats = issuer.stats();
    assert_eq!(stats.device_codes, 1);
    // Stored in claude-auth's own OpenAI profile, 0600; Codex's file
    // untouched.
    let dir = sb.own_dir().join("openai").join("credentials");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(mode(&files[0]), 0o600);
    assert!(!codex_home.join("auth.json").exists());
    let status = sb.run(&["status", "--provider", "openai"]);
    status.assert_code(0);
    assert!(status.stdout.contains("user@example.com"), "{status}");
}

#[test]
fn the_browser_url_is_one_wrapped_line_a_selection_copies_whole() {
    let mut sb = Sandbox::new();
    // No browser to open: the URL is the way.
    sb.set(
        "BROWSER",
        sb.root().join("no-such-browser").display().to_string(),
    );
    let pty = Pty::spawn(&sb.command(&["tui"]), 24, 80);
    open_login(&pty, '2', "How do you want to log in to Claude?", '1');
    // Whole: from its start to its last parameter with no line break in
    // it (the rows are one wrapped line, as a terminal's selection copies
    // them), and its first row starts with it. (A frame reaches the
    // terminal in pieces: wait for all of it.)
    let whole = |s: &Screen| {
        s.text
            .split_whitespace()
            .find(|w| w.starts_with("https://"))
            .filter(|url| {
                ["/oauth/authorize?", "code_challenge=", "state="]
                    .iter()
                    .all(|part| url.contains(part))
            })
            .map(str::to_owned)
    };
    let (screen, _) = pty.wait_for("the whole URL as one line", LIMIT, |s| {
        whole(s).is_some() && s.contains(" Enter sends · Ctrl-U clears · Esc cancels")
    });
    let url = whole(&screen).unwrap();
    assert!(url.len() > 80, "a URL longer than a row: {url}");
    assert!(
        screen
            .rows
            .iter()
            .any(|r| url.starts_with(r.as_str()) && r.len() == 80),
        "the URL's first row holds nothing else:\n{screen}"
    );
    pty.key(Key::Esc);
    pty.wait_text("How do you want to log in to Claude?", LIMIT);
    pty.key(Key::Char('q'));
    pty.key(Key::Esc);
    pty.key(Key::Esc);
    pty.wait_for("the dashboard", LIMIT, footer);
    pty.key(Key::Char('q'));
    assert!(pty.wait_exit(LIMIT).success());
    pty.assert_restored();
}
