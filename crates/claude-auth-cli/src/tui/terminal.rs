//! Entering and leaving the full-screen terminal, so it is always given back
//! as it was: raw mode off, the main screen back, the cursor shown, mouse
//! reporting off, on a normal exit, an error (the guard's `Drop`), a panic
//! (a panic hook that restores before the message is printed) and a signal
//! (the event loop polls [`Signals`] and leaves through the guard).

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossterm::cursor::Show;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::ExecutableCommand;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// The terminal the TUI draws on.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Whether the terminal is in the TUI's mode (so the panic hook and the
/// guard restore it once, whoever comes first).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Give the terminal back; safe to call more than once.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = out.execute(DisableBracketedPaste);
        let _ = out.execute(DisableMouseCapture);
        let _ = out.execute(LeaveAlternateScreen);
        let _ = out.execute(Show);
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// Restores the terminal when dropped (normal exit and every error path).
pub struct Guard {
    /// The terminal to draw on.
    pub terminal: Term,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Put the terminal in the TUI's mode, with a panic hook that restores it
/// before the panic's message is printed (so the message is readable).
pub fn enter() -> io::Result<Guard> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    let entered = out
        .execute(EnterAlternateScreen)
        .and_then(|o| o.execute(EnableMouseCapture))
        .and_then(|o| o.execute(EnableBracketedPaste).map(|_| ()));
    if let Err(e) = entered {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(io::stdout())) {
        Ok(terminal) => Ok(Guard { terminal }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// SIGINT, SIGTERM and SIGHUP sent to the process (a Ctrl-C typed at the
/// keyboard arrives as a key in raw mode): the event loop sees the flag
/// and leaves through the guard, so the terminal is restored.
#[derive(Clone, Default)]
pub struct Signals {
    flag: Arc<AtomicBool>,
}

impl Signals {
    /// Watch the signals (on Unix; elsewhere nothing is watched).
    pub fn install() -> Signals {
        let signals = Signals::default();
        #[cfg(unix)]
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            let _ = signal_hook::flag::register(sig, Arc::clone(&signals.flag));
        }
        #[cfg(unix)]
        watchdog();
        signals
    }

    /// Whether one arrived.
    pub fn received(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// The event loop leaves within one poll of a signal and restores the
/// terminal on its way out. When it cannot — a terminal that hung up under
/// it, where crossterm's reads of the closed tty return at once and its
/// poll never comes back (seen: an orphaned `tui` at 88 % CPU after its pty
/// closed) — this thread ends the process 2 s after the signal, restoring
/// what it can first.
#[cfg(unix)]
fn watchdog() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("tui-signal-watchdog".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                std::thread::sleep(std::time::Duration::from_secs(2));
                restore();
                std::process::exit(128 + sig);
            }
        });
}

/// Write a URL the frame just drew on rows of its own (`run`) again, as one
/// run of text from its first row's column 0 with the terminal's own line
/// wrapping: the cells are the same, but the terminal now knows the rows
/// are one wrapped line, and a mouse selection copies the URL without line
/// breaks (xterm, VTE, kitty, iTerm2, WezTerm, Alacritty and tmux do).
/// No OSC 8 hyperlink around it: no terminal capability says whether one is
/// understood, and a terminal that does not (the Linux console) prints the
/// sequence's text.
pub fn rewrite_url(
    terminal: &mut Term,
    run: &crate::tui::screens::login::UrlRun,
) -> io::Result<()> {
    use crossterm::cursor::MoveTo;
    use crossterm::style::{Attribute, Print, SetAttribute};
    let out = terminal.backend_mut();
    crossterm::queue!(
        out,
        MoveTo(0, run.row),
        SetAttribute(Attribute::Bold),
        Print(&run.url),
        SetAttribute(Attribute::Reset)
    )?;
    out.flush()
}
