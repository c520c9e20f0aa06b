//! `claude-auth tui` end to end in a real pseudo-terminal (tests/pty): the
//! real binary, an 80×24 pty, the screen read through a VT100 parser. The
//! dashboard of a sandbox with both vendors' logins; every way out (`q`,
//! Ctrl-C, SIGTERM, a panic injected through `CLAUDE_AUTH_TUI_TEST_PANIC` in
//! this debug build) gives the terminal back as it was (termios, main
//! screen, cursor, mouse); a resize redraws at the new size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod pty;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{closed_local_url, now, write_file, Sandbox};
use pty::{Key, Pty};
use serde_json::{json, Value};

const LIMIT: Duration = Duration::from_secs(20);
const PROFILE_TOKEN: &str = "sk-ant-oat01-TuiPtyWorkProfileCCCCCCCCCC3333";
/// Expiries drawn as "in 5h 30m" / "in 3h 30m" for the test's first 30 s.
const EXPIRES_ANTHROPIC: u64 = 5 * 3600 + 30 * 60 + 30;
const EXPIRES_OPENAI: u64 = 3 * 3600 + 30 * 60 + 30;
const REFRESH: &str = "rt-TuiPtyChatgptRefreshDDDDDDDDDD4444";

fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode("not-a-real-signature")
    )
}

/// Anthropic profile `work` (active) and Codex's ChatGPT login (plus,
/// me@example.com) in `$CODEX_HOME/auth.json`.
fn both_vendors() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.write_static_profile("work", PROFILE_TOKEN, Some(now() + EXPIRES_ANTHROPIC));
    sb.write_active_config("work");
    // Usage is asked in the background: every endpoint is a closed local
    // port, so nothing leaves the machine and each answer is "could not
    // connect".
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
    let access = jwt(&json!({"exp": now() + EXPIRES_OPENAI, "sub": "user-1"}));
    write_file(
        &codex_home.join("auth.json"),
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
    sb
}

/// Whether the dashboard's frame is complete on `s`: both logins listed
/// and the footer (drawn last) on the bottom row.
fn dashboard_drawn(s: &pty::Screen) -> bool {
    s.contains("Codex login")
        && s.contains("profile work")
        && s.rows
            .last()
            .is_some_and(|r| r.starts_with(" q quit  ? help"))
}

/// `claude-auth tui` in an 80×24 pty, its dashboard drawn.
fn dashboard(sb: &Sandbox) -> Pty {
    let pty = Pty::spawn(&sb.command(&["tui"]), 24, 80);
    pty.wait_for("the dashboard with both logins", LIMIT, dashboard_drawn);
    pty
}

/// The program ended with 0 and gave the terminal back.
#[track_caller]
fn assert_clean_exit(pty: &Pty) {
    let status = pty.wait_exit(LIMIT);
    let screen = pty.screen();
    assert!(status.success(), "{status:?}\n{screen}");
    pty.assert_restored();
    // Back on the main screen, which the TUI never drew on.
    assert_eq!(screen.text.trim(), "", "{screen}");
}

#[test]
fn dashboard_of_both_providers_in_80x24_then_q_restores_the_terminal() {
    let sb = both_vendors();
    let pty = dashboard(&sb);
    let screen = pty.screen();
    assert!(screen.alternate, "drawn on the alternate screen");
    assert!(
        pty.modes().raw(),
        "raw mode while running: {:?}",
        pty.modes()
    );
    let rows = &screen.rows;
    assert!(
        rows[0].starts_with(" claude-auth  Active provider: Anthropic (the default"),
        "{screen}"
    );
    assert!(rows[1].starts_with(" Logins "), "{screen}");
    let header = rows[2].split_whitespace().collect::<Vec<_>>();
    assert_eq!(
        header,
        ["Provider", "Source", "Kind", "Account", "Plan", "Expires"],
        "{screen}"
    );
    let words = |row: &str| {
        row.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // The winner of each provider, the first row selected.
    assert_eq!(
        words(&rows[3]),
        [
            ">",
            "✓",
            "Anthropic",
            "profile",
            "work",
            "OAuth",
            "in",
            "5h",
            "30m"
        ],
        "{screen}"
    );
    assert_eq!(
        words(&rows[4]),
        [
            "✓",
            "OpenAI",
            "Codex",
            "login",
            "OAuth",
            "me@example.com",
            "plus",
            "in",
            "3h",
            "30m"
        ],
        "{screen}"
    );
    assert!(
        screen.contains("Anthropic profile work · wins · sk-ant-oat01-…3333 · not refreshable"),
        "{screen}"
    );
    for heading in [" Usage ", " Agents "] {
        assert!(
            screen.rows.iter().any(|r| r.starts_with(heading)),
            "{heading}\n{screen}"
        );
    }
    assert!(
        rows[23].starts_with(" q quit  ? help  s switch  r refresh"),
        "{screen}"
    );
    // No secret is ever drawn.
    let output = pty.output();
    for secret in [PROFILE_TOKEN, REFRESH] {
        assert!(!output.contains(secret), "{secret} drawn:\n{screen}");
    }

    pty.key(Key::Char('q'));
    assert_clean_exit(&pty);
}

#[test]
fn keys_move_the_selection_and_open_and_close_the_help() {
    let sb = both_vendors();
    let pty = dashboard(&sb);
    pty.key(Key::Down);
    let (screen, _) = pty.wait_for("the OpenAI row selected", LIMIT, |s| {
        s.row_with("OpenAI    Codex login")
            .is_some_and(|r| r.starts_with("> "))
    });
    assert!(
        screen.contains("OpenAI Codex login · wins · (set, "),
        "the selected login's details follow the selection:\n{screen}"
    );
    pty.key(Key::Char('k'));
    pty.wait_for("the Anthropic row selected again", LIMIT, |s| {
        s.row_with("Anthropic profile work")
            .is_some_and(|r| r.starts_with("> "))
    });
    pty.key(Key::Char('?'));
    pty.wait_text(" Help ", LIMIT);
    pty.wait_text("Esc, q or ? closes this help", LIMIT);
    pty.key(Key::Esc);
    pty.wait_for("the help closed", LIMIT, |s| {
        !s.contains(" Help ") && s.contains("Agents")
    });
    pty.key(Key::Char('q'));
    assert_clean_exit(&pty);
}

#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    let sb = both_vendors();
    let pty = dashboard(&sb);
    pty.key(Key::Ctrl('c'));
    assert_clean_exit(&pty);
}

#[test]
fn sigterm_quits_and_restores_the_terminal() {
    let sb = both_vendors();
    let pty = dashboard(&sb);
    let pid = nix::unistd::Pid::from_raw(pty.pid().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_clean_exit(&pty);
}

#[test]
fn a_panic_restores_the_terminal_and_its_message_is_printed_after() {
    for (when, name) in [("start", "Start"), ("frame", "Frame"), ("key", "Key")] {
        let mut sb = both_vendors();
        sb.set("CLAUDE_AUTH_TUI_TEST_PANIC", when);
        let pty = Pty::spawn(&sb.command(&["tui"]), 24, 80);
        if when == "key" {
            pty.wait_text("Codex login", LIMIT);
            pty.key(Key::Char('j'));
        }
        let status = pty.wait_exit(LIMIT);
        let screen = pty.screen();
        assert_eq!(status.exit_code(), 101, "{when}: {status:?}\n{screen}");
        pty.assert_restored();
        // The message is on the main screen, readable, after the restore.
        let message = format!("CLAUDE_AUTH_TUI_TEST_PANIC={name}: a panic injected by a test");
        let panicked = screen
            .rows
            .iter()
            .position(|r| r.starts_with("thread 'main'") && r.contains("panicked at"))
            .unwrap_or_else(|| panic!("{when}: no panic line:\n{screen}"));
        assert_eq!(
            screen.rows[panicked + 1].trim_end(),
            message,
            "{when}:\n{screen}"
        );
        // Printed after the terminal was given back: the output leaves the
        // alternate screen before the first byte of the message.
        let output = pty.output();
        let left = output
            .rfind("\x1b[?1049l")
            .expect("left the alternate screen");
        let printed = output.find("panicked at").unwrap();
        assert!(left < printed, "{when}: message printed before the restore");
    }
}

#[test]
fn a_resize_redraws_at_the_new_size() {
    let sb = both_vendors();
    let pty = dashboard(&sb);
    let before = pty.screen();
    // 80 columns cut the title's reason short.
    assert!(!before.contains("have a usable login"), "{before}");
    pty.resize(30, 120);
    let (screen, _) = pty.wait_for("the dashboard redrawn at 120×30", LIMIT, |s| {
        s.rows.len() == 30 && s.rows[29].starts_with(" q quit  ? help")
    });
    assert!(screen.rows[0].contains("have a usable login"), "{screen}");
    assert!(
        screen.rows[1].starts_with(" Logins ") && screen.rows[1].trim_end().chars().count() == 120,
        "{screen}"
    );
    pty.resize(24, 80);
    pty.wait_for("the dashboard redrawn at 80×24", LIMIT, |s| {
        s.rows.len() == 24 && s.rows[23].starts_with(" q quit  ? help")
    });
    pty.key(Key::Char('q'));
    assert_clean_exit(&pty);
}

#[test]
fn a_mouse_click_on_a_row_selects_it() {
    let sb = both_vendors();
    let pty = dashboard(&sb);
    let screen = pty.screen();
    let row = screen
        .rows
        .iter()
        .position(|r| r.contains("OpenAI    Codex login"))
        .unwrap();
    // A left press and release on that row, in the SGR encoding the TUI
    // turned on (1-based column;row).
    pty.send(format!("\x1b[<0;20;{}M\x1b[<0;20;{}m", row + 1, row + 1));
    pty.wait_for("the OpenAI row selected by the click", LIMIT, |s| {
        s.row_with("OpenAI    Codex login")
            .is_some_and(|r| r.starts_with("> "))
    });
    pty.key(Key::Char('q'));
    assert_clean_exit(&pty);
}

#[test]
fn no_color_draws_no_colour_and_the_marks_stay() {
    // Colour on: some foreground colour is set.
    let sb = both_vendors();
    let pty = dashboard(&sb);
    pty.key(Key::Char('q'));
    assert_clean_exit(&pty);
    assert!(
        pty.output().contains("\x1b[38;"),
        "no colour at all without NO_COLOR"
    );

    let mut sb = both_vendors();
    sb.set("NO_COLOR", "1");
    let pty = dashboard(&sb);
    let screen = pty.screen();
    assert!(screen.contains("> ✓ Anthropic profile work"), "{screen}");
    pty.key(Key::Char('q'));
    assert_clean_exit(&pty);
    let output = pty.output();
    assert!(
        !output.contains("\x1b[38;"),
        "a colour was drawn under NO_COLOR"
    );
    for code in 30..=37 {
        assert!(
            !output.contains(&format!("\x1b[{code}m")),
            "colour {code} under NO_COLOR"
        );
    }
}

#[test]
fn login_alone_on_a_terminal_opens_the_picker_and_esc_leaves_it() {
    let sb = both_vendors();
    let pty = Pty::spawn(&sb.command(&["login"]), 24, 80);
    let (picker, _) = pty.wait_text("Where do you want to log in?", LIMIT);
    assert!(picker.alternate, "{picker}");
    for choice in ["1  OpenAI", "2  Claude", "3  Smart selection"] {
        assert!(picker.contains(choice), "{choice}\n{picker}");
    }
    pty.key(Key::Esc);
    let status = pty.wait_exit(LIMIT);
    pty.assert_restored();
    // Cancelled: 130, and the reason on the main screen after the restore.
    assert_eq!(status.exit_code(), 130, "{status:?}\n{}", pty.screen());
    assert_eq!(pty.screen().text.trim(), "error: login cancelled");
    // Nothing was logged in.
    assert!(!sb.credentials_path("default").exists());
}
