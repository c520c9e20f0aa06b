//! How fast `claude-auth tui` draws, measured in a real pseudo-terminal
//! (tests/pty), beside `claude-auth status` (what a user runs instead to see
//! the same facts) in the same run. Ignored by `cargo test`; run by
//! `scripts/bench-tui`, which builds the release binary and points
//! `CLAUDE_AUTH_BENCH_BIN` at it (without it, the debug binary of this test
//! build is measured, which says little).
//!
//! Targets (issue 13.6): the first frame ≤ 50 ms after the start with 10
//! profiles; a keypress redraws in ≤ 16 ms.
//!
//! - first paint: from just before the spawn to the read of the output that
//!   put the first frame on screen (the TUI's placeholder while it reads);
//! - first complete frame: to the read that completed the dashboard with
//!   the data (every profile row it has room for, and the footer, drawn last);
//! - keypress: from just before a key is written to the read that completed
//!   the redraw it causes (Down / Up move the `>` marker one row);
//! - anchor: `claude-auth status` in the same pty size, from the spawn to
//!   its exit with all its output read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod pty;

use std::process::Command;
use std::time::Duration;

use common::{closed_local_url, now, Sandbox};
use pty::{Key, Pty, Screen};

const LIMIT: Duration = Duration::from_secs(20);
const PROFILES: usize = 10;

fn runs(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The binary measured.
fn bin() -> String {
    std::env::var("CLAUDE_AUTH_BENCH_BIN").unwrap_or_else(|_| common::BIN.to_owned())
}

/// `sb.command(args)` with the measured binary as its program.
fn command(sb: &Sandbox, args: &[&str]) -> Command {
    let template = sb.command(args);
    let mut cmd = Command::new(bin());
    cmd.args(template.get_args()).env_clear();
    for (k, v) in template.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    if let Some(dir) = template.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd
}

/// Ten Anthropic profiles (`p01` active), each an OAuth token with an
/// expiry; usage endpoints on a closed local port.
fn ten_profiles() -> Sandbox {
    let mut sb = Sandbox::new();
    for i in 1..=PROFILES {
        sb.write_static_profile(
            &format!("p{i:02}"),
            &format!("sk-ant-oat01-BenchTuiProfile{i:02}AAAAAAAAAAAAAAAA"),
            Some(now() + 3600 * i as u64),
        );
    }
    sb.write_active_config("p01");
    let closed = closed_local_url();
    sb.set("ANTHROPIC_BASE_URL", &closed);
    sb.set(
        "CLAUDE_AUTH_CHATGPT_BASE_URL",
        format!("{closed}/backend-api/codex"),
    );
    sb.set("CLAUDE_AUTH_OPENAI_ISSUER", &closed);
    sb.set("CODEX_HOME", sb.root().join("codex").display().to_string());
    sb
}

fn complete(s: &Screen) -> bool {
    s.contains("profile p01")
        && s.rows
            .last()
            .is_some_and(|r| r.starts_with(" q quit  ? help"))
}

fn selected(s: &Screen, profile: &str) -> bool {
    s.row_with(&format!("profile {profile} "))
        .is_some_and(|r| r.starts_with("> "))
        && s.rows
            .last()
            .is_some_and(|r| r.starts_with(" q quit  ? help"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (median, p95, min, max) in ms, nearest rank.
fn stats(mut xs: Vec<f64>) -> (f64, f64, f64, f64) {
    xs.sort_by(|a, b| a.total_cmp(b));
    let rank = |p: f64| xs[((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1];
    (rank(0.5), rank(0.95), xs[0], xs[xs.len() - 1])
}

fn row(what: &str, xs: Vec<f64>, target: Option<f64>, note: &str) {
    let n = xs.len();
    let (median, p95, min, max) = stats(xs);
    let verdict = match target {
        Some(t) if median <= t && p95 <= t => format!("≤ {t} ms: met (median and p95)"),
        Some(t) if median <= t => format!("≤ {t} ms: median met, p95 not"),
        Some(t) => format!("≤ {t} ms: NOT met"),
        None => note.to_owned(),
    };
    println!("| {what} | {n} | {median:.2} | {p95:.2} | {min:.2} | {max:.2} | {verdict} |");
}

#[test]
#[ignore = "a benchmark: scripts/bench-tui"]
fn bench_tui() {
    let sb = ten_profiles();
    let (rows, cols) = (
        runs("BENCH_TUI_ROWS", 24) as u16,
        runs("BENCH_TUI_COLS", 80) as u16,
    );
    let starts = runs("BENCH_TUI_STARTS", 50);
    let keys = runs("BENCH_TUI_KEYS", 200);

    // Warm the page cache and the sandbox's files once.
    for args in [&["tui"][..], &["status"][..]] {
        let pty = Pty::spawn(&command(&sb, args), rows, cols);
        if args == ["tui"] {
            pty.wait_for("the dashboard", LIMIT, complete);
            pty.key(Key::Char('q'));
        }
        assert!(pty.wait_exit(LIMIT).success());
    }

    let mut paint = Vec::new();
    let mut frame = Vec::new();
    let mut status = Vec::new();
    for _ in 0..starts {
        // The anchor and the TUI alternate, so both see the same machine.
        let pty = Pty::spawn(&command(&sb, &["status"]), rows, cols);
        let exit = pty.wait_exit(LIMIT);
        assert!(exit.success(), "{exit:?}\n{}", pty.screen());
        assert!(pty.screen().contains("profile p01") || pty.output().contains("p01"));
        status.push(ms(pty.exit_seen().unwrap() - pty.started));

        let pty = Pty::spawn(&command(&sb, &["tui"]), rows, cols);
        let (_, first) = pty.wait_for("any frame", LIMIT, |s| {
            s.alternate && !s.text.trim().is_empty()
        });
        let (_, done) = pty.wait_for("the dashboard", LIMIT, complete);
        paint.push(ms(first - pty.started));
        frame.push(ms(done - pty.started));
        pty.key(Key::Char('q'));
        assert!(pty.wait_exit(LIMIT).success());
    }

    let mut press = Vec::new();
    let pty = Pty::spawn(&command(&sb, &["tui"]), rows, cols);
    pty.wait_for("the dashboard", LIMIT, complete);
    pty.wait_for("p01 selected", LIMIT, |s| selected(s, "p01"));
    let mut at = 1;
    for i in 0..keys {
        // Down to the last profile row that fits, then back up.
        let down = (i / 4) % 2 == 0;
        let (key, to) = if down {
            (Key::Down, at + 1)
        } else {
            (Key::Up, at - 1)
        };
        let target = format!("p{to:02}");
        let sent = pty.key(key);
        let (_, drawn) = pty.wait_for(&format!("{target} selected"), LIMIT, |s| {
            selected(s, &target)
        });
        press.push(ms(drawn - sent));
        at = to;
    }
    pty.key(Key::Char('q'));
    assert!(pty.wait_exit(LIMIT).success());

    println!();
    println!(
        "claude-auth tui in a {cols}×{rows} pty, {PROFILES} profiles; binary {}",
        bin()
    );
    println!();
    println!("| what | runs | median ms | p95 ms | min ms | max ms | target |");
    println!("|---|---|---|---|---|---|---|");
    row("tui: first paint (placeholder)", paint, None, "—");
    row(
        "tui: first complete frame (the dashboard)",
        frame,
        Some(50.0),
        "",
    );
    row("tui: keypress → redraw (Down/Up)", press, Some(16.0), "");
    row("`claude-auth status`, spawn → exit", status, None, "anchor");
}
