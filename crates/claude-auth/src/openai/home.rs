//! Where Codex keeps its login: `$CODEX_HOME` (default `~/.codex`), its
//! `auth.json`, `config.toml` and lock files, and the account name of its
//! keyring entry (PROTOCOL.md, "OpenAI").

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::env::Env;
use crate::config::locations::Located;
use crate::error::{Error, Result};
use crate::secure_file::{read_optional, ReadPolicy};

/// The variable that moves Codex's home.
pub const CODEX_HOME_VAR: &str = "CODEX_HOME";
/// Codex's credentials file in its home.
pub const AUTH_JSON: &str = "auth.json";
/// Codex's config file in its home (`cli_auth_credentials_store` says
/// whether the login is in the keyring).
pub const CONFIG_TOML: &str = "config.toml";
/// Codex's outer lock file in its home: Codex 0.171.0 takes it with
/// `flock(LOCK_EX)`, blocking, around every commit to `auth.json`.
pub const AUTH_LOCK: &str = "auth.lock";
/// Codex's inner lock file in its home: taken after [`AUTH_LOCK`] with
/// `flock(LOCK_EX|LOCK_NB)` every 10 ms for at most 5 s, around the write.
pub const AUTH_JSON_LOCK: &str = "auth.json.lock";
/// The keyring service of Codex's keyring mode.
pub const KEYRING_SERVICE: &str = "Codex Auth";

/// Codex's home: `CODEX_HOME` (an empty value counts as unset), else
/// `~/.codex` (`./.codex` when there is no home directory).
pub fn codex_home(env: &Env) -> PathBuf {
    codex_home_located(env).path
}

/// [`codex_home`] with the rule that chose it (`CODEX_HOME` or `default`),
/// for `status`.
pub fn codex_home_located(env: &Env) -> Located {
    if let Some(dir) = env.path(CODEX_HOME_VAR) {
        return Located {
            path: dir,
            origin: CODEX_HOME_VAR.to_owned(),
        };
    }
    let home = env.home().unwrap_or_else(|| PathBuf::from("."));
    Located {
        path: home.join(".codex"),
        origin: "default".to_owned(),
    }
}

/// `$CODEX_HOME/auth.json`.
pub fn auth_json_path(codex_home: &Path) -> PathBuf {
    codex_home.join(AUTH_JSON)
}

/// `$CODEX_HOME/config.toml`.
pub fn config_toml_path(codex_home: &Path) -> PathBuf {
    codex_home.join(CONFIG_TOML)
}

/// `$CODEX_HOME/auth.lock`.
pub fn auth_lock_path(codex_home: &Path) -> PathBuf {
    codex_home.join(AUTH_LOCK)
}

/// `$CODEX_HOME/auth.json.lock`.
pub fn auth_json_lock_path(codex_home: &Path) -> PathBuf {
    codex_home.join(AUTH_JSON_LOCK)
}

/// The account of Codex's keyring entry (service [`KEYRING_SERVICE`]) for
/// this home: `cli|` and the first 16 hex digits of the SHA-256 of the
/// canonical home path. As Codex does, a path that cannot be canonicalised
/// (it does not exist yet) is hashed as given.
pub fn keyring_account(codex_home: &Path) -> String {
    let canonical = codex_home
        .canonicalize()
        .unwrap_or_else(|_| codex_home.to_path_buf());
    keyring_account_for_canonical(&canonical.to_string_lossy())
}

/// [`keyring_account`] of an already canonical path, as a string.
pub fn keyring_account_for_canonical(canonical: &str) -> String {
    let digest = Sha256::digest(canonical.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("cli|{hex}")
}

/// The `config.toml` key that moves Codex's login into the keyring.
pub const CREDENTIALS_STORE_KEY: &str = "cli_auth_credentials_store";

/// Where Codex keeps its login, from `cli_auth_credentials_store` in
/// `$CODEX_HOME/config.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialsStore {
    /// No such key (or `"file"`): `$CODEX_HOME/auth.json`.
    File,
    /// `"keyring"`: the whole `auth.json` document as one keyring secret
    /// (service [`KEYRING_SERVICE`], account [`keyring_account`]).
    Keyring,
    /// `"auto"`: the keyring when it is usable, else `auth.json`. What
    /// Codex 0.171.0 does, observed with the real binary against a real
    /// Secret Service (tests/codex_auto_mode.rs): it reads the keyring entry
    /// first (an entry and a file: the entry wins), and the file when there
    /// is no entry, the entry does not parse, or the keyring is unreachable;
    /// its login writes the keyring entry and deletes `auth.json` (the file
    /// only when the keyring is unreachable); its logout deletes both, and
    /// fails, leaving the file, when the keyring is unreachable. (In
    /// `"keyring"` mode it never reads the file, and its login deletes it
    /// too.) claude-auth does the same.
    Auto,
    /// A value this crate does not know (a newer Codex), as written.
    Other(String),
}

/// Read [`CredentialsStore`] from Codex's `config.toml` in `codex_home`
/// (a config file: symlinks followed, others must not be able to write it).
/// A missing file means [`CredentialsStore::File`]; a file that is not
/// TOML, or a key that is not a string, is an error naming the file and the
/// key.
pub fn credentials_store(codex_home: &Path) -> Result<CredentialsStore> {
    let path = config_toml_path(codex_home);
    let Some(bytes) = read_optional(&path, ReadPolicy::Config)? else {
        return Ok(CredentialsStore::File);
    };
    let setting = |message: String| Error::Setting {
        setting: format!("{} ({CREDENTIALS_STORE_KEY})", path.display()),
        message,
    };
    let text = String::from_utf8(bytes).map_err(|_| Error::parse(&path, "is not UTF-8 text"))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| Error::parse(&path, format!("not TOML: {}", e.message())))?;
    Ok(match table.get(CREDENTIALS_STORE_KEY) {
        None => CredentialsStore::File,
        Some(toml::Value::String(mode)) => match mode.as_str() {
            "file" => CredentialsStore::File,
            "keyring" => CredentialsStore::Keyring,
            "auto" => CredentialsStore::Auto,
            other => CredentialsStore::Other(other.to_owned()),
        },
        Some(_) => {
            return Err(setting(
                "must be a string (\"file\", \"keyring\" or \"auto\")".into(),
            ))
        }
    })
}

#[cfg(test)]
#[path = "home_tests.rs"]
mod tests;
