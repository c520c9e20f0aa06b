//! The pty harness (tests/pty) proved on its own and on the interactive
//! prompt that exists without the TUI: `claude-auth login --with-token` on a
//! terminal asks for the token with the input hidden (rpassword on
//! `/dev/tty`), and must put echo back however it ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod pty;

use std::process::Command;
use std::time::Duration;

use common::{Sandbox, PATH};
use pty::{Key, Pty};

const LIMIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "sk-ant-oat01-PtyPromptTypedTokenAAAAAAAA1111";
const PROMPT: &str = "Paste the token or API key (input hidden): ";

fn sh(script: &str) -> Command {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", script]).env_clear().env("PATH", PATH);
    cmd
}

#[test]
fn harness_reads_the_screen_and_sees_a_clean_exit() {
    let pty = Pty::spawn(&sh("printf 'hello\\r\\nworld'; stty size"), 24, 80);
    let status = pty.wait_exit(LIMIT);
    assert!(status.success(), "{status:?}");
    let screen = pty.screen();
    assert_eq!(screen.rows[0].trim_end(), "hello", "{screen}");
    assert_eq!(screen.rows[1].trim_end(), "world24 80", "{screen}");
    assert_eq!(pty.restored(), Ok(()));
}

#[test]
fn harness_sees_every_way_a_program_can_leave_the_terminal_broken() {
    let pty = Pty::spawn(
        &sh("stty raw -echo; printf '\\033[?1049h\\033[?25l\\033[?1000h\\033[?2004h'"),
        24,
        80,
    );
    pty.wait_exit(LIMIT);
    let wrong = pty.restored().expect_err("a broken terminal");
    assert_eq!(wrong.len(), 5, "{wrong:#?}");
    assert!(
        wrong[0].starts_with(
            "termios not restored (echo off, canonical mode off, signals (ISIG) off, output processing (OPOST) off)"
        ),
        "{wrong:#?}"
    );
    assert_eq!(
        wrong[1..],
        [
            "still on the alternate screen",
            "cursor still hidden",
            "mouse reporting still on",
            "bracketed paste still on",
        ]
    );
    assert!(pty.modes_before().echo() && pty.modes_before().canonical());
    assert!(pty.modes().raw());
}

#[test]
fn harness_answers_a_cursor_position_query_and_follows_a_resize() {
    // The shell asks where the cursor is (as crossterm's cursor::position
    // does) and prints the answer; then it waits for a SIGWINCH and prints
    // the new size.
    let pty = Pty::spawn(
        &sh(
            "printf 'abc'; stty -echo -icanon min 0 time 20; printf '\\033[6n'; \
             r=$(dd bs=1 count=6 2>/dev/null | od -An -c | tr -d ' \\n'); \
             stty sane; printf '\\r\\nanswer %s\\r\\n' \"$r\"; \
             trap 'stty size; exit 0' WINCH; printf 'ready\\r\\n'; \
             while :; do sleep 0.05; done",
        ),
        24,
        80,
    );
    pty.wait_text("ready", LIMIT);
    assert!(pty.screen().contains("answer 033[1;4R"), "{}", pty.screen());
    pty.resize(30, 100);
    pty.wait_text("30 100", LIMIT);
    assert!(pty.wait_exit(LIMIT).success());
}

/// The sandbox's `login --with-token --profile work` in a pty, with the
/// hidden prompt on screen and echo off.
fn prompt() -> (Sandbox, Pty) {
    let sb = Sandbox::new();
    let pty = Pty::spawn(
        &sb.command(&["login", "--with-token", "--profile", "work"]),
        24,
        80,
    );
    pty.wait_text(PROMPT, LIMIT);
    // rpassword prints the prompt, then turns echo off: wait for the
    // terminal's own state, not for luck.
    pty.wait_modes("echo off", LIMIT, |m| !m.echo());
    (sb, pty)
}

#[test]
fn login_prompt_hides_the_typed_token_and_restores_echo() {
    let (sb, pty) = prompt();
    pty.type_text(TOKEN);
    pty.key(Key::Enter);
    let status = pty.wait_exit(LIMIT);
    let screen = pty.screen();
    assert!(status.success(), "{status:?}\n{screen}");
    assert!(
        !pty.output().contains(TOKEN),
        "the token was drawn:\n{screen}"
    );
    assert!(
        screen.contains("Stored the OAuth token") && screen.contains("for profile work"),
        "{screen}"
    );
    pty.assert_restored();
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sb.credentials_path("work")).unwrap())
            .unwrap();
    assert_eq!(creds["access_token"], TOKEN);
}

#[test]
fn login_prompt_interrupted_by_ctrl_c_restores_echo() {
    let (sb, pty) = prompt();
    pty.type_text("sk-ant-oat01-half");
    pty.key(Key::Ctrl('c'));
    let status = pty.wait_exit(LIMIT);
    // Ended by SIGINT, as the default action would (a shell sees the same).
    assert_eq!(status.signal(), Some("Interrupt"), "{status:?}");
    pty.assert_restored();
    assert!(!sb.credentials_path("work").exists());
    assert!(!pty.output().contains("sk-ant-oat01-half"));
}
