//! `claude-auth tui` without a terminal: refused with a clear error and
//! exit 2, before anything is drawn (so a script or a pipe never gets
//! escape sequences). The full-screen behaviour is tested in a real pty
//! (tests/tui_pty.rs) and with ratatui's test backend (the unit tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Sandbox;

#[test]
fn tui_refuses_when_stdout_is_not_a_terminal() {
    let sb = Sandbox::new();
    let run = sb.run(&["tui"]);
    run.assert_code(2);
    assert_eq!(run.stdout, "", "nothing drawn on a pipe");
    assert!(
        run.stderr
            .contains("claude-auth tui needs a terminal: stdin and stdout must both be one"),
        "{run}"
    );
    assert!(!run.stderr.contains('\x1b'), "no escape sequences: {run}");
}
