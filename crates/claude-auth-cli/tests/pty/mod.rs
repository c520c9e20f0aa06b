//! The real binary in a real pseudo-terminal, for end-to-end tests of what a
//! person at a terminal sees: the interactive prompts and `claude-auth tui`.
//!
//! [`Pty::spawn`] starts a command (a [`std::process::Command`] built by a
//! test's sandbox: its program, arguments, environment and directory) as the
//! session leader of a fresh pty whose slave is its controlling terminal
//! (portable-pty: `setsid` + `TIOCSCTTY`, so `/dev/tty` opens, Ctrl-C raises
//! SIGINT and a resize raises SIGWINCH). A reader thread feeds everything the
//! program writes into a VT100 parser (the `vt100` crate) and answers the
//! two queries a terminal answers (cursor position, device attributes).
//! Tests send keys, wait for screen text with a deadline (each new output
//! wakes the waiter; nothing sleeps for luck), read the screen as text, and
//! after the exit check that the terminal was left as it was found:
//! [`Pty::restored`] compares the pty's termios (read on the master after
//! the exit) with the one before the spawn, and asks the parser whether the
//! alternate screen was left, the cursor shown again, mouse reporting and
//! bracketed paste turned off.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, ChildKiller, CommandBuilder, MasterPty, PtySize};

pub use portable_pty::ExitStatus;

/// A key (or a few bytes) as a terminal in its default modes sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    /// Ctrl and a letter (`Ctrl('c')` is 0x03).
    Ctrl(char),
    /// One character, as typed.
    Char(char),
}

impl Key {
    /// The bytes the terminal sends for this key.
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Key::Enter => b"\r".to_vec(),
            Key::Esc => b"\x1b".to_vec(),
            Key::Tab => b"\t".to_vec(),
            Key::BackTab => b"\x1b[Z".to_vec(),
            Key::Backspace => b"\x7f".to_vec(),
            Key::Up => b"\x1b[A".to_vec(),
            Key::Down => b"\x1b[B".to_vec(),
            Key::Right => b"\x1b[C".to_vec(),
            Key::Left => b"\x1b[D".to_vec(),
            Key::Home => b"\x1b[H".to_vec(),
            Key::End => b"\x1b[F".to_vec(),
            Key::PageUp => b"\x1b[5~".to_vec(),
            Key::PageDown => b"\x1b[6~".to_vec(),
            Key::Ctrl(c) => {
                let c = c.to_ascii_lowercase();
                assert!(c.is_ascii_lowercase(), "Ctrl({c:?})");
                vec![c as u8 - b'a' + 1]
            }
            Key::Char(c) => c.to_string().into_bytes(),
        }
    }
}

/// The terminal's answers to the queries a program may send: the cursor
/// position (`CSI 6 n`) and the primary device attributes (`CSI c`, `CSI 0
/// c`). Without them a program that asks waits for its own timeout. The
/// parser does not report queries, so the output is scanned for them; `tail`
/// keeps the end of the last chunk so one split across two reads is seen.
#[derive(Default)]
struct Answers {
    tail: Vec<u8>,
}

impl Answers {
    /// The answers to the queries in `chunk`, with the cursor where the
    /// parser has it after the chunk (row, col, 0-based).
    fn to(&mut self, chunk: &[u8], cursor: (u16, u16)) -> Vec<u8> {
        let mut seen = std::mem::take(&mut self.tail);
        let old = seen.len();
        seen.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(at) = seen[i..].windows(2).position(|w| w == b"\x1b[") {
            let start = i + at;
            let rest = &seen[start + 2..];
            let query = if rest.starts_with(b"6n") {
                Some((4, format!("\x1b[{};{}R", cursor.0 + 1, cursor.1 + 1)))
            } else if rest.starts_with(b"c") {
                Some((3, "\x1b[?62c".to_owned()))
            } else if rest.starts_with(b"0c") {
                Some((4, "\x1b[?62c".to_owned()))
            } else {
                None
            };
            match query {
                // Only queries that end in this chunk (the rest were answered).
                Some((len, answer)) if start + len > old => {
                    out.extend(answer.into_bytes());
                    i = start + len;
                }
                Some((len, _)) => i = start + len,
                None => i = start + 2,
            }
        }
        let keep = seen.len().saturating_sub(3);
        self.tail = seen[keep..].to_vec();
        out
    }
}

/// What the reader and the waiter threads share with the test.
struct State {
    parser: vt100::Parser,
    answers: Answers,
    /// Every byte the program wrote, in order.
    raw: Vec<u8>,
    /// Bumped on every chunk of output.
    generation: u64,
    /// When the last chunk was read (just after `read` returned).
    last_output: Option<Instant>,
    /// The master read EOF/EIO: every slave fd is closed, all output read.
    eof: bool,
    /// The child's exit.
    exit: Option<ExitStatus>,
    /// When the waiter thread saw it.
    exit_at: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The terminal modes a program may change and must put back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modes {
    pub iflag: nix::libc::tcflag_t,
    pub oflag: nix::libc::tcflag_t,
    pub cflag: nix::libc::tcflag_t,
    pub lflag: nix::libc::tcflag_t,
    pub vmin: u8,
    pub vtime: u8,
}

impl Modes {
    /// Echo on (typed text is shown).
    pub fn echo(&self) -> bool {
        self.lflag & nix::libc::ECHO != 0
    }
    /// Canonical (line) mode on.
    pub fn canonical(&self) -> bool {
        self.lflag & nix::libc::ICANON != 0
    }
    /// Ctrl-C raises SIGINT.
    pub fn signals(&self) -> bool {
        self.lflag & nix::libc::ISIG != 0
    }
    /// Output post-processing on (`\n` becomes `\r\n`).
    pub fn opost(&self) -> bool {
        self.oflag & nix::libc::OPOST != 0
    }
    /// Raw mode as `cfmakeraw` (and crossterm) sets it: no echo, no line
    /// editing, no signals, no output processing.
    pub fn raw(&self) -> bool {
        !self.echo() && !self.canonical() && !self.signals() && !self.opost()
    }
}

fn modes_of(master: &dyn MasterPty) -> Modes {
    let t = master.get_termios().expect("tcgetattr on the pty's master");
    Modes {
        iflag: t.input_flags.bits(),
        oflag: t.output_flags.bits(),
        cflag: t.control_flags.bits(),
        lflag: t.local_flags.bits(),
        vmin: t.control_chars[nix::libc::VMIN],
        vtime: t.control_chars[nix::libc::VTIME],
    }
}

/// The screen at one moment.
#[derive(Clone, Debug)]
pub struct Screen {
    /// Every row, trailing blanks trimmed, joined by `\n`.
    pub text: String,
    /// The rows (trailing blanks may be trimmed).
    pub rows: Vec<String>,
    pub alternate: bool,
    pub cursor_hidden: bool,
    pub mouse_reporting: bool,
    pub bracketed_paste: bool,
    /// Output chunks so far (changes whenever the program writes).
    pub generation: u64,
    /// The terminal's width.
    pub cols: u16,
}

impl Screen {
    fn of(state: &State) -> Screen {
        let screen = state.parser.screen();
        let (_, cols) = screen.size();
        Screen {
            text: screen.contents(),
            rows: screen.rows(0, cols).collect(),
            alternate: screen.alternate_screen(),
            cursor_hidden: screen.hide_cursor(),
            mouse_reporting: screen.mouse_protocol_mode() != vt100::MouseProtocolMode::None,
            bracketed_paste: screen.bracketed_paste(),
            generation: state.generation,
            cols,
        }
    }

    /// Whether `needle` is on the screen (rows are searched one by one, so a
    /// match never spans a line break).
    pub fn contains(&self, needle: &str) -> bool {
        self.rows.iter().any(|r| r.contains(needle))
    }

    /// The first row holding `needle`.
    pub fn row_with(&self, needle: &str) -> Option<&str> {
        self.rows
            .iter()
            .find(|r| r.contains(needle))
            .map(String::as_str)
    }
}

impl std::fmt::Display for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = usize::from(self.cols);
        writeln!(f, "┌{}┐", "─".repeat(width))?;
        for row in &self.rows {
            let pad = width.saturating_sub(row.chars().count());
            writeln!(f, "│{row}{}│", " ".repeat(pad))?;
        }
        write!(f, "└{}┘", "─".repeat(width))
    }
}

/// A program running in a pseudo-terminal. Killed on drop if still running.
pub struct Pty {
    master: Box<dyn MasterPty + Send>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    killer: Box<dyn ChildKiller + Send + Sync>,
    pid: Option<u32>,
    shared: Arc<Shared>,
    before: Modes,
    /// Just before the spawn.
    pub started: Instant,
    pub what: String,
}

fn size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

impl Pty {
    /// Start `cmd` (program, arguments, the variables it sets, its
    /// directory; its environment is cleared first, as the sandboxes do)
    /// in a new `rows`×`cols` pty. `TERM` is `xterm-256color` unless `cmd`
    /// sets it.
    pub fn spawn(cmd: &Command, rows: u16, cols: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(size(rows, cols))
            .expect("open a pty");
        let mut builder = CommandBuilder::new(cmd.get_program());
        builder.args(cmd.get_args());
        builder.env_clear();
        builder.env("TERM", "xterm-256color");
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => builder.env(key, value),
                None => builder.env_remove(key),
            }
        }
        if let Some(dir) = cmd.get_current_dir() {
            builder.cwd(dir);
        }
        let what = format!(
            "{} {}",
            cmd.get_program().to_string_lossy(),
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let before = modes_of(pair.master.as_ref());
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer: Arc<Mutex<Box<dyn Write + Send>>> =
            Arc::new(Mutex::new(pair.master.take_writer().expect("pty writer")));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                parser: vt100::Parser::new(rows, cols, 0),
                answers: Answers::default(),
                raw: Vec::new(),
                generation: 0,
                last_output: None,
                eof: false,
                exit: None,
                exit_at: None,
            }),
            changed: Condvar::new(),
        });

        let started = Instant::now();
        let mut child = pair
            .slave
            .spawn_command(builder)
            .unwrap_or_else(|e| panic!("spawn {what} in a pty: {e}"));
        // Only the child holds the slave now: its exit ends the reader.
        drop(pair.slave);
        let killer = child.clone_killer();
        let pid = child.process_id();

        {
            let shared = Arc::clone(&shared);
            let writer = Arc::clone(&writer);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = reader.read(&mut buf).unwrap_or(0);
                    let at = Instant::now();
                    let mut state = shared.lock();
                    if n == 0 {
                        // EOF, or EIO once the last slave fd is closed.
                        state.eof = true;
                        drop(state);
                        shared.changed.notify_all();
                        return;
                    }
                    state.parser.process(&buf[..n]);
                    state.raw.extend_from_slice(&buf[..n]);
                    state.generation += 1;
                    state.last_output = Some(at);
                    let cursor = state.parser.screen().cursor_position();
                    let answers = state.answers.to(&buf[..n], cursor);
                    drop(state);
                    shared.changed.notify_all();
                    if !answers.is_empty() {
                        let mut w = writer.lock().unwrap_or_else(PoisonError::into_inner);
                        let _ = w.write_all(&answers);
                        let _ = w.flush();
                    }
                }
            });
        }
        {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let status = child
                    .wait()
                    .unwrap_or_else(|_| ExitStatus::with_exit_code(255));
                let at = Instant::now();
                let mut state = shared.lock();
                state.exit = Some(status);
                state.exit_at = Some(at);
                drop(state);
                shared.changed.notify_all();
            });
        }

        Pty {
            master: pair.master,
            writer,
            killer,
            pid,
            shared,
            before,
            started,
            what,
        }
    }

    /// The child's pid.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Write bytes as if typed (or pasted) at the terminal.
    pub fn send(&self, bytes: impl AsRef<[u8]>) {
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        w.write_all(bytes.as_ref()).expect("write to the pty");
        w.flush().expect("flush the pty");
    }

    /// Type `text`, one write.
    pub fn type_text(&self, text: &str) {
        self.send(text.as_bytes());
    }

    /// Press `key`; the instant just before the write is returned.
    pub fn key(&self, key: Key) -> Instant {
        let bytes = key.bytes();
        let at = Instant::now();
        self.send(bytes);
        at
    }

    /// Resize the terminal (the kernel raises SIGWINCH in the program).
    pub fn resize(&self, rows: u16, cols: u16) {
        // The parser first: whatever the program draws for the new size is
        // read at the new size.
        self.shared.lock().parser.set_size(rows, cols);
        self.master
            .resize(size(rows, cols))
            .expect("resize the pty");
    }

    /// The screen now.
    pub fn screen(&self) -> Screen {
        Screen::of(&self.shared.lock())
    }

    /// Everything the program wrote so far, lossily as text (escape
    /// sequences included).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().raw).into_owned()
    }

    /// When the exit was seen (`wait` returned in the waiter thread).
    pub fn exit_seen(&self) -> Option<Instant> {
        self.shared.lock().exit_at
    }

    /// The terminal modes now.
    pub fn modes(&self) -> Modes {
        modes_of(self.master.as_ref())
    }

    /// Wait until the terminal's modes satisfy `pred` (a program changes
    /// them without writing anything, so this polls `tcgetattr` every
    /// millisecond up to the deadline).
    #[track_caller]
    pub fn wait_modes(&self, what: &str, within: Duration, pred: impl Fn(&Modes) -> bool) -> Modes {
        let deadline = Instant::now() + within;
        loop {
            let modes = self.modes();
            if pred(&modes) {
                return modes;
            }
            if Instant::now() >= deadline {
                panic!(
                    "`{}`: waited {within:?} for the terminal's modes: {what}; they are {modes:?}; the screen:\n{}",
                    self.what,
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The terminal modes before the program started.
    pub fn modes_before(&self) -> Modes {
        self.before
    }

    /// Wait until `pred` holds for the screen, at most `within`. Returns the
    /// screen and when the output that made it true was read. Panics with
    /// the screen (and the exit, if the program ended) on the deadline.
    #[track_caller]
    pub fn wait_for(
        &self,
        what: &str,
        within: Duration,
        pred: impl Fn(&Screen) -> bool,
    ) -> (Screen, Instant) {
        match self.try_wait_for(within, pred) {
            Ok(found) => found,
            Err(screen) => {
                let exit = self.shared.lock().exit.clone();
                panic!(
                    "`{}`: waited {within:?} for {what}; exit: {exit:?}; the screen:\n{screen}",
                    self.what
                )
            }
        }
    }

    /// [`Pty::wait_for`], returning the last screen on the deadline instead
    /// of panicking.
    pub fn try_wait_for(
        &self,
        within: Duration,
        pred: impl Fn(&Screen) -> bool,
    ) -> Result<(Screen, Instant), Screen> {
        let deadline = Instant::now() + within;
        let mut state = self.shared.lock();
        let mut seen = u64::MAX;
        loop {
            if state.generation != seen {
                seen = state.generation;
                let screen = Screen::of(&state);
                if pred(&screen) {
                    let at = state.last_output.unwrap_or(self.started);
                    return Ok((screen, at));
                }
            }
            let now = Instant::now();
            if now >= deadline || state.eof {
                return Err(Screen::of(&state));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Wait until `text` is on the screen.
    #[track_caller]
    pub fn wait_text(&self, text: &str, within: Duration) -> (Screen, Instant) {
        self.wait_for(&format!("{text:?} on the screen"), within, |s| {
            s.contains(text)
        })
    }

    /// Wait for the program to exit and for all its output to be read
    /// (the pty's slave closed). Panics with the screen on the deadline.
    #[track_caller]
    pub fn wait_exit(&self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        let mut state = self.shared.lock();
        loop {
            if let (Some(exit), true) = (&state.exit, state.eof) {
                return exit.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                let screen = Screen::of(&state);
                panic!(
                    "`{}` did not exit within {within:?} (exit: {:?}, output ended: {}); the screen:\n{screen}",
                    self.what, state.exit, state.eof
                );
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Whether the program left the terminal as it found it; else each
    /// difference, in words. Call after [`Pty::wait_exit`].
    pub fn restored(&self) -> Result<(), Vec<String>> {
        let mut wrong = Vec::new();
        let now = self.modes();
        if now != self.before {
            let mut words = Vec::new();
            for (name, was, is) in [
                ("echo", self.before.echo(), now.echo()),
                ("canonical mode", self.before.canonical(), now.canonical()),
                ("signals (ISIG)", self.before.signals(), now.signals()),
                (
                    "output processing (OPOST)",
                    self.before.opost(),
                    now.opost(),
                ),
            ] {
                if was != is {
                    words.push(format!("{name} {}", if is { "on" } else { "off" }));
                }
            }
            wrong.push(format!(
                "termios not restored ({}): before {:?}, after {:?}",
                if words.is_empty() {
                    "other flags".to_owned()
                } else {
                    words.join(", ")
                },
                self.before,
                now
            ));
        }
        let screen = self.screen();
        if screen.alternate {
            wrong.push("still on the alternate screen".to_owned());
        }
        if screen.cursor_hidden {
            wrong.push("cursor still hidden".to_owned());
        }
        if screen.mouse_reporting {
            wrong.push("mouse reporting still on".to_owned());
        }
        if screen.bracketed_paste {
            wrong.push("bracketed paste still on".to_owned());
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong)
        }
    }

    /// Assert [`Pty::restored`], showing the screen when it fails.
    #[track_caller]
    pub fn assert_restored(&self) {
        if let Err(wrong) = self.restored() {
            panic!(
                "`{}` left the terminal broken:\n  {}\nthe screen:\n{}",
                self.what,
                wrong.join("\n  "),
                self.screen()
            );
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.shared.lock().exit.is_none() {
            let _ = self.killer.kill();
        }
    }
}
