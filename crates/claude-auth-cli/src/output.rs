//! Terminal output: colour only on a terminal and never with `NO_COLOR`,
//! messages on stderr, data on stdout.

use std::io::IsTerminal;

/// A command failure: message, optional hint, exit code.
#[derive(Debug)]
pub struct Failure {
    /// One clear sentence (never a secret).
    pub message: String,
    /// What to do.
    pub hint: Option<String>,
    /// Exit code.
    pub code: u8,
}

impl Failure {
    /// Exit 1.
    pub fn error(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            code: 1,
        }
    }

    /// Exit 2 (usage).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            code: 2,
        }
    }

    /// Add a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Set the exit code.
    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }
}

impl From<claude_auth::Error> for Failure {
    fn from(e: claude_auth::Error) -> Self {
        Failure::error(e.to_string())
    }
}

impl From<claude_auth::profiles::ProfileError> for Failure {
    fn from(e: claude_auth::profiles::ProfileError) -> Self {
        use claude_auth::oauth::login::LoginError;
        use claude_auth::profiles::ProfileError;
        let code = match &e {
            ProfileError::Login(LoginError::Cancelled) => 130,
            _ => 1,
        };
        let failure = Failure::error(e.to_string()).with_code(code);
        match e.hint() {
            Some(hint) => failure.with_hint(hint),
            None => failure,
        }
    }
}

/// What a command returns: an exit code, or a failure.
pub type CommandResult = Result<u8, Failure>;

fn color_allowed(stream_is_tty: bool) -> bool {
    stream_is_tty
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Styles for one stream.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    on: bool,
}

impl Style {
    /// No styling at all.
    #[cfg(test)]
    pub fn plain() -> Self {
        Style { on: false }
    }

    /// Styles for stdout.
    pub fn stdout() -> Self {
        Style {
            on: color_allowed(std::io::stdout().is_terminal()),
        }
    }

    /// Styles for stderr.
    pub fn stderr() -> Self {
        Style {
            on: color_allowed(std::io::stderr().is_terminal()),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Bold.
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    /// Green.
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    /// Yellow.
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    /// Red.
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    /// Dim.
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
}

/// An error line on stderr.
pub fn error(message: &str) {
    let s = Style::stderr();
    eprintln!("{} {message}", s.red("error:"));
}

/// A hint line on stderr.
pub fn hint(message: &str) {
    let s = Style::stderr();
    eprintln!("{} {message}", s.dim("hint:"));
}

/// A warning line on stderr.
pub fn warn(message: &str) {
    let s = Style::stderr();
    eprintln!("{} {message}", s.yellow("warning:"));
}

/// A success line on stderr.
pub fn success(message: &str) {
    let s = Style::stderr();
    eprintln!("{} {message}", s.green("✓"));
}

/// Print JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::error(format!("could not encode JSON: {e}")))?;
    outln!("{text}");
    Ok(())
}
