//! `claude-auth tui`: a full-screen dashboard of every login (which one
//! wins, expiry, refresh health, usage, agents, warnings) with the actions
//! to fix things in place. ratatui on crossterm; the screens call the
//! library, never the CLI.
//!
//! - [`app`]: the state and what each key does (unit-tested, no terminal).
//! - [`model`]: the dashboard's data, read from the library.
//! - [`worker`] and [`actions`]: everything slow, off the UI thread.
//! - [`screens`]: one module per screen; [`widgets`]: shared drawing.
//! - [`terminal`]: entering and always restoring the terminal.

pub mod actions;
pub mod app;
pub mod login_flow;
pub mod model;
pub mod screens;
pub mod terminal;
pub mod widgets;
pub mod worker;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyEventKind};

use crate::output::{CommandResult, Failure};
use crate::GlobalArgs;
use app::{App, Request};

/// Whether colour is allowed (`NO_COLOR` unset or empty, `TERM` not `dumb`).
pub fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// When a test build panics on purpose (`CLAUDE_AUTH_TUI_TEST_PANIC`):
/// `start` (terminal entered, before the first frame), `frame` (after the
/// first frame), `key` (at the first key). Release builds ignore it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TestPanic {
    Start,
    Frame,
    Key,
}

fn test_panic() -> Option<TestPanic> {
    if !cfg!(debug_assertions) {
        return None;
    }
    match std::env::var("CLAUDE_AUTH_TUI_TEST_PANIC").ok()?.as_str() {
        "start" => Some(TestPanic::Start),
        "frame" => Some(TestPanic::Frame),
        "key" => Some(TestPanic::Key),
        _ => None,
    }
}

fn maybe_panic(when: Option<TestPanic>, now: TestPanic) {
    if when == Some(now) {
        panic!("CLAUDE_AUTH_TUI_TEST_PANIC={now:?}: a panic injected by a test");
    }
}

/// Refuse when stdout or stdin is not a terminal.
pub fn require_terminal() -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "claude-auth tui needs a terminal: stdin and stdout must both be one",
        )
        .with_hint("for scripts use `claude-auth status`, `claude-auth usage` or `--json`"));
    }
    Ok(())
}

/// Run `claude-auth tui`.
pub fn run(global: &GlobalArgs) -> CommandResult {
    require_terminal()?;
    let worker = worker::start(global, true);
    let signals = terminal::Signals::install();
    let app = App::new(claude_auth::credential::now_unix(), color_allowed());
    event_loop(app, &worker, &signals)?;
    Ok(0)
}

/// `claude-auth login` with no arguments on a terminal: the picker alone,
/// leaving when it is closed or the login is done, with the outcome
/// printed as the other logins print theirs.
pub fn run_login_picker(global: &GlobalArgs) -> CommandResult {
    require_terminal()?;
    let worker = worker::start(global, false);
    let signals = terminal::Signals::install();
    let mut app = App::new(claude_auth::credential::now_unix(), color_allowed());
    app.picker_only = true;
    app.screen = app::Screen::Picker(screens::picker::Picker::new(None));
    let app = event_loop(app, &worker, &signals)?;
    match app.notice {
        Some(n) if !n.error => {
            crate::output::success(&n.text);
            Ok(0)
        }
        Some(n) => Err(Failure::error(n.text)),
        None => Err(Failure::error("login cancelled").with_code(130)),
    }
}

fn event_loop(
    mut app: App,
    worker: &worker::Worker,
    signals: &terminal::Signals,
) -> Result<App, Failure> {
    let panic_at = test_panic();
    let mut guard = terminal::enter()
        .map_err(|e| Failure::error(format!("could not set up the terminal: {e}")))?;
    maybe_panic(panic_at, TestPanic::Start);
    let io = |e: std::io::Error| Failure::error(format!("terminal error: {e}"));
    let mut dirty = true;
    let mut first = true;
    let mut last_tick = Instant::now();
    while !app.quit {
        if signals.received() {
            let _ = worker.requests.send(Request::Cancel);
            break;
        }
        if dirty {
            guard
                .terminal
                .draw(|f| screens::draw(f, &app))
                .map_err(io)?;
            if let Some(run) = app.url_run.take() {
                terminal::rewrite_url(&mut guard.terminal, &run).map_err(io)?;
            }
            dirty = false;
            if first {
                first = false;
                maybe_panic(panic_at, TestPanic::Frame);
            }
        }
        // The worker's answers arrive on a channel crossterm cannot wait on:
        // while one is due (the first dashboard, a running action) look at
        // it every 2 ms, so the frame it brings is not held back by the
        // poll; otherwise 100 ms, which the countdown's 1 s tick needs.
        let wait = if app.data.is_none() || app.busy.is_some() {
            Duration::from_millis(2)
        } else {
            Duration::from_millis(100)
        };
        if event::poll(wait).map_err(io)? {
            let requests = match event::read().map_err(io)? {
                Event::Key(key) if key.kind != KeyEventKind::Release => {
                    maybe_panic(panic_at, TestPanic::Key);
                    app.on_key(key)
                }
                Event::Mouse(m) => {
                    app.on_mouse(m);
                    Vec::new()
                }
                Event::Paste(text) => {
                    app.on_paste(&text);
                    Vec::new()
                }
                _ => Vec::new(),
            };
            for r in requests {
                let _ = worker.requests.send(r);
            }
            dirty = true;
        }
        while let Ok(update) = worker.updates.try_recv() {
            app.on_update(update);
            dirty = true;
        }
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            app.now = claude_auth::credential::now_unix();
            dirty = true;
        }
    }
    drop(guard);
    Ok(app)
}

#[cfg(test)]
mod snapshot_tests;
