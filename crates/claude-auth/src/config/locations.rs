//! Where every file lives, and why.
//!
//! Each function returns the path together with the rule that chose it, so
//! `status` can say "config dir /x (from ANTHROPIC_CONFIG_DIR)".

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::env::Env;
use crate::error::{Error, Result};

/// A path and the rule that chose it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Located {
    /// The path.
    pub path: PathBuf,
    /// Which rule chose it, e.g. `ANTHROPIC_CONFIG_DIR` or `default`.
    pub origin: String,
}

impl Located {
    fn new(path: PathBuf, origin: &str) -> Self {
        Located {
            path,
            origin: origin.to_owned(),
        }
    }
}

fn home_or_dot(env: &Env) -> PathBuf {
    env.home().unwrap_or_else(|| PathBuf::from("."))
}

/// The official SDKs' config dir: `ANTHROPIC_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/anthropic` (TypeScript, Go, `ant`), else
/// `~/.config/anthropic`; on Windows `%APPDATA%\Anthropic`.
pub fn anthropic_config_dir(env: &Env) -> Located {
    if let Some(dir) = env.path("ANTHROPIC_CONFIG_DIR") {
        return Located::new(dir, "ANTHROPIC_CONFIG_DIR");
    }
    if cfg!(windows) {
        if let Some(appdata) = env.path("APPDATA") {
            return Located::new(appdata.join("Anthropic"), "APPDATA");
        }
    }
    if let Some(xdg) = env.path("XDG_CONFIG_HOME") {
        return Located::new(xdg.join("anthropic"), "XDG_CONFIG_HOME");
    }
    Located::new(
        home_or_dot(env).join(".config").join("anthropic"),
        "default",
    )
}

/// Where the official Python SDK looks (it ignores `XDG_CONFIG_HOME`): when
/// this differs from [`anthropic_config_dir`], `status` warns.
pub fn python_sdk_config_dir(env: &Env) -> PathBuf {
    if let Some(dir) = env.path("ANTHROPIC_CONFIG_DIR") {
        return dir;
    }
    if cfg!(windows) {
        if let Some(appdata) = env.path("APPDATA") {
            return appdata.join("Anthropic");
        }
    }
    home_or_dot(env).join(".config").join("anthropic")
}

/// claude-auth's own config dir (settings, API-key files, encrypted store):
/// `CLAUDE_AUTH_CONFIG_DIR`, else `$XDG_CONFIG_HOME/claude-auth`, else
/// `~/.config/claude-auth`; on Windows `%APPDATA%\claude-auth`.
pub fn own_config_dir(env: &Env) -> Located {
    if let Some(dir) = env.path("CLAUDE_AUTH_CONFIG_DIR") {
        return Located::new(dir, "CLAUDE_AUTH_CONFIG_DIR");
    }
    if cfg!(windows) {
        if let Some(appdata) = env.path("APPDATA") {
            return Located::new(appdata.join("claude-auth"), "APPDATA");
        }
    }
    if let Some(xdg) = env.path("XDG_CONFIG_HOME") {
        return Located::new(xdg.join("claude-auth"), "XDG_CONFIG_HOME");
    }
    Located::new(
        home_or_dot(env).join(".config").join("claude-auth"),
        "default",
    )
}

/// Claude Code's config home: `CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn claude_code_dir(env: &Env) -> Located {
    if let Some(dir) = env.path("CLAUDE_CONFIG_DIR") {
        return Located::new(dir, "CLAUDE_CONFIG_DIR");
    }
    Located::new(home_or_dot(env).join(".claude"), "default")
}

/// The seed library's credential file: `CLAUDE_AUTH_FILE`, else
/// `~/.config/claude/auth.json` (Windows `%APPDATA%/claude/auth.json`).
pub fn seed_auth_file(env: &Env) -> Located {
    if let Some(file) = env.path("CLAUDE_AUTH_FILE") {
        return Located::new(file, "CLAUDE_AUTH_FILE");
    }
    if cfg!(windows) {
        if let Some(appdata) = env.path("APPDATA") {
            return Located::new(appdata.join("claude").join("auth.json"), "APPDATA");
        }
    }
    Located::new(
        home_or_dot(env)
            .join(".config")
            .join("claude")
            .join("auth.json"),
        "default",
    )
}

/// Check a profile name against the spec: `^[A-Za-z0-9_-][A-Za-z0-9_.-]*$`.
///
/// ```
/// use claude_auth::locations::validate_profile_name;
/// assert!(validate_profile_name("work.eu", "--profile").is_ok());
/// assert!(validate_profile_name("../etc", "--profile").is_err());
/// assert!(validate_profile_name(".hidden", "--profile").is_err());
/// ```
pub fn validate_profile_name(name: &str, origin: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = match chars.next() {
        Some(first) => {
            (first.is_ascii_alphanumeric() || first == '_' || first == '-')
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidProfileName {
            name: name.to_owned(),
            origin: origin.to_owned(),
        })
    }
}

/// `~`-relative display of a path, for humans.
pub fn display_path(path: &Path, env: &Env) -> String {
    if let Some(home) = env.home() {
        if let Ok(rest) = path.strip_prefix(&home) {
            return format!("~/{}", rest.display());
        }
    }
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_dir_precedence() {
        let env = Env::empty().with("HOME", "/h");
        assert_eq!(
            anthropic_config_dir(&env).path,
            PathBuf::from("/h/.config/anthropic")
        );
        let env = env.with("XDG_CONFIG_HOME", "/x");
        assert_eq!(
            anthropic_config_dir(&env).path,
            PathBuf::from("/x/anthropic")
        );
        assert_eq!(
            python_sdk_config_dir(&env),
            PathBuf::from("/h/.config/anthropic")
        );
        let env = env.with("ANTHROPIC_CONFIG_DIR", "/a");
        let dir = anthropic_config_dir(&env);
        assert_eq!(dir.path, PathBuf::from("/a"));
        assert_eq!(dir.origin, "ANTHROPIC_CONFIG_DIR");
    }

    #[test]
    fn empty_config_dir_env_counts_as_unset() {
        let env = Env::empty()
            .with("HOME", "/h")
            .with("ANTHROPIC_CONFIG_DIR", "");
        assert_eq!(
            anthropic_config_dir(&env).path,
            PathBuf::from("/h/.config/anthropic")
        );
    }

    #[test]
    fn profile_names() {
        for good in ["default", "a", "_x", "-x", "work.eu-1", "A_b"] {
            assert!(validate_profile_name(good, "t").is_ok(), "{good}");
        }
        for bad in ["", ".", ".x", "a/b", "a\\b", "a b", "é", "x\0"] {
            assert!(validate_profile_name(bad, "t").is_err(), "{bad:?}");
        }
    }
}
