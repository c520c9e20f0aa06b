//! A snapshot of the process environment.
//!
//! Resolution reads many variables; reading them through one value (instead of
//! `std::env::var` scattered around) lets tests and embedders resolve against
//! any environment without mutating the process's, and applies the spec's rule
//! that an empty value counts as unset in exactly one place. Its `Debug`
//! lists variable names only: values include `ANTHROPIC_API_KEY`,
//! `CLAUDE_AUTH_PASSPHRASE` and tokens, and an embedder's `debug!(?resolver)`
//! must not print them.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

/// Environment variables, as resolution sees them. `Debug` shows the names
/// of the variables, never a value.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env")
            .field("names", &names)
            .finish_non_exhaustive()
    }
}

impl Env {
    /// The current process's environment (variables that are not valid
    /// Unicode are skipped).
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Env { vars }
    }

    /// An empty environment, to build on with [`Env::with`].
    pub fn empty() -> Self {
        Env::default()
    }

    /// Builder: set a variable.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.vars.insert(key.to_owned(), value.into());
        self
    }

    /// Set a variable.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.vars.insert(key.to_owned(), value.into());
    }

    /// Remove a variable.
    pub fn remove(&mut self, key: &str) {
        self.vars.remove(key);
    }

    /// A variable's value; empty values count as unset (the spec's rule).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether a variable is set to something non-empty.
    pub fn is_set(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Whether a variable is present but empty (reported, since users are
    /// surprised when `FOO=` counts as unset).
    pub fn is_empty_value(&self, key: &str) -> bool {
        self.vars.get(key).is_some_and(|v| v.is_empty())
    }

    /// A variable as a path.
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        self.get(key).map(PathBuf::from)
    }

    /// The user's home directory: `HOME` (Unix) or `USERPROFILE` (Windows).
    pub fn home(&self) -> Option<PathBuf> {
        if cfg!(windows) {
            self.path("USERPROFILE").or_else(|| self.path("HOME"))
        } else {
            self.path("HOME")
        }
    }
}
