//! The OS keyring store: Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows (through the `keyring` crate).
//!
//! Desktop users expect secrets in their keyring rather than in a file. Each
//! profile is one generic-password entry: service = the configured service
//! (default `claude-auth`), account = the profile name, password = the
//! credential's portable JSON (compact). That is the same layout Python's
//! `keyring` package uses, so `keyring.get_password("claude-auth", "work")`
//! reads what this store wrote, and the other way round.
//!
//! Keyrings can be missing (headless servers, containers) or locked; callers
//! use [`KeyringStore::probe`] to find out and fall back *visibly*, and every
//! error names the entry and says what to do. Entry contents are never echoed.
//!
//! The keyring itself sits behind [`KeyringBackend`] (get, set and delete of
//! one service/account entry): [`OsKeyring`] is the real one, [`MemoryKeyring`]
//! an in-memory one, so entry naming, the JSON shape, error mapping and the
//! Claude Code store's Keychain logic are unit-tested anywhere
//! (`keyring_tests.rs`), while `tests/keyring_store.rs` runs against a real
//! Secret Service.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use zeroize::Zeroizing;

use crate::config::locations::validate_profile_name;
use crate::credential::{from_portable_json, to_portable_json, Credential};
use crate::error::{Error, Result};
use crate::store::key_file::ClassifyJsonError;
use crate::store::CredentialStore;

/// The account [`KeyringStore::probe`] looks up. It is not a valid profile
/// name (it starts with a dot), so it can never collide with a real entry.
const PROBE_ACCOUNT: &str = ".claude-auth-probe";

/// Get, set and delete one generic-password entry, named by service and
/// account. Errors are the `keyring` crate's, so the mapping to our errors
/// (and its hints) is the same whatever the backend.
pub trait KeyringBackend: Send + Sync + fmt::Debug {
    /// The entry's text; `Err(keyring::Error::NoEntry)` when there is none.
    fn get(&self, service: &str, account: &str) -> keyring::Result<Zeroizing<String>>;
    /// Create or replace the entry's text.
    fn set(&self, service: &str, account: &str, text: &str) -> keyring::Result<()>;
    /// Delete the entry; `Err(keyring::Error::NoEntry)` when there is none.
    fn delete(&self, service: &str, account: &str) -> keyring::Result<()>;
}

/// The OS keyring through the `keyring` crate: Secret Service on Linux,
/// Keychain on macOS, Credential Manager on Windows.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsKeyring;

impl KeyringBackend for OsKeyring {
    fn get(&self, service: &str, account: &str) -> keyring::Result<Zeroizing<String>> {
        keyring::Entry::new(service, account)?
            .get_password()
            .map(Zeroizing::new)
    }
    fn set(&self, service: &str, account: &str, text: &str) -> keyring::Result<()> {
        keyring::Entry::new(service, account)?.set_password(text)
    }
    fn delete(&self, service: &str, account: &str) -> keyring::Result<()> {
        keyring::Entry::new(service, account)?.delete_credential()
    }
}

/// An in-memory keyring, for tests: entries in a map, and an error to
/// answer the next call with ([`MemoryKeyring::fail_next`]). `Debug` shows
/// the entries' names, never their text.
#[derive(Default)]
pub struct MemoryKeyring {
    entries: Mutex<HashMap<(String, String), Zeroizing<String>>>,
    fail_next: Mutex<Option<keyring::Error>>,
}

impl fmt::Debug for MemoryKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<&(String, String)> = entries.keys().collect();
        names.sort();
        f.debug_struct("MemoryKeyring")
            .field("entries", &names)
            .finish_non_exhaustive()
    }
}

impl MemoryKeyring {
    /// An empty keyring.
    pub fn new() -> Self {
        MemoryKeyring::default()
    }

    /// The entry's text as stored, if any.
    pub fn text(&self, service: &str, account: &str) -> Option<String> {
        self.lock()
            .get(&(service.to_owned(), account.to_owned()))
            .map(|t| t.to_string())
    }

    /// Every (service, account) stored, sorted.
    pub fn names(&self) -> Vec<(String, String)> {
        let mut names: Vec<_> = self.lock().keys().cloned().collect();
        names.sort();
        names
    }

    /// Answer the next get, set or delete with `error` (a locked keyring, an
    /// unreachable Secret Service, …).
    pub fn fail_next(&self, error: keyring::Error) {
        *self
            .fail_next
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(error);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Zeroizing<String>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn injected(&self) -> keyring::Result<()> {
        match self
            .fail_next
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl KeyringBackend for MemoryKeyring {
    fn get(&self, service: &str, account: &str) -> keyring::Result<Zeroizing<String>> {
        self.injected()?;
        self.lock()
            .get(&(service.to_owned(), account.to_owned()))
            .cloned()
            .ok_or(keyring::Error::NoEntry)
    }
    fn set(&self, service: &str, account: &str, text: &str) -> keyring::Result<()> {
        self.injected()?;
        self.lock().insert(
            (service.to_owned(), account.to_owned()),
            Zeroizing::new(text.to_owned()),
        );
        Ok(())
    }
    fn delete(&self, service: &str, account: &str) -> keyring::Result<()> {
        self.injected()?;
        self.lock()
            .remove(&(service.to_owned(), account.to_owned()))
            .map(|_| ())
            .ok_or(keyring::Error::NoEntry)
    }
}

/// One JSON entry per profile in the OS keyring.
///
/// Windows' Credential Manager limits a password to 2560 bytes (1280 UTF-16
/// characters); an OAuth token set's portable JSON is well below that.
#[derive(Clone, Debug)]
pub struct KeyringStore {
    service: String,
    backend: Arc<dyn KeyringBackend>,
    /// Put before the profile name in the account (`openai/` for the OpenAI
    /// profiles, so they never meet Anthropic's).
    account_prefix: &'static str,
}

impl KeyringStore {
    /// Entries under `service` (the `[keyring] service` setting, default
    /// `claude-auth`); the account is the profile name.
    pub fn new(service: &str) -> Self {
        KeyringStore::with_backend(service, Arc::new(OsKeyring))
    }

    /// The same store over another keyring (an in-memory one in tests).
    pub fn with_backend(service: &str, backend: Arc<dyn KeyringBackend>) -> Self {
        KeyringStore {
            service: service.to_owned(),
            backend,
            account_prefix: "",
        }
    }

    /// The same store with every account named `<prefix><profile>` (the
    /// OpenAI profiles use `openai/`).
    pub fn with_account_prefix(mut self, prefix: &'static str) -> Self {
        self.account_prefix = prefix;
        self
    }

    /// The keyring service name entries are stored under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Check cheaply that the keyring can be used: looks up an entry that
    /// does not exist. A "no such entry" answer means the keyring is there;
    /// an unreachable service (no Secret Service on D-Bus, no default
    /// collection) or refused access is an error saying what to fix.
    ///
    /// A locked collection is not detected here: the first read or write
    /// asks the keyring to unlock it (which may show a prompt) and fails
    /// with a clear error if that is refused.
    pub fn probe(&self) -> Result<()> {
        match self.backend.get(&self.service, PROBE_ACCOUNT) {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            // Something answered about the entry: the keyring works.
            Err(keyring::Error::Ambiguous(_) | keyring::Error::BadEncoding(_)) => Ok(()),
            Err(e) => Err(self.map_error(PROBE_ACCOUNT, e)),
        }
    }

    /// The account of `profile`'s entry: the profile name (after the
    /// prefix, if any), once valid.
    fn account(&self, profile: &str) -> Result<String> {
        validate_profile_name(profile, "profile")?;
        Ok(format!("{}{profile}", self.account_prefix))
    }

    fn error(&self, account: &str, message: impl Into<String>) -> Error {
        Error::Keyring {
            service: self.service.clone(),
            account: account.to_owned(),
            message: message.into(),
        }
    }

    /// Turn a `keyring` crate error into ours. Never formats a password:
    /// `BadEncoding` carries the entry's bytes and `Ambiguous` its items,
    /// so neither is printed.
    fn map_error(&self, account: &str, err: keyring::Error) -> Error {
        let message = match err {
            keyring::Error::NoEntry => "no such entry".to_owned(),
            keyring::Error::PlatformFailure(detail) => {
                platform_failure_message(&detail.to_string())
            }
            keyring::Error::NoStorageAccess(detail) => {
                format!("the keyring refused access ({detail}). {}", NO_ACCESS_HINT)
            }
            keyring::Error::BadEncoding(_) => format!(
                "the stored entry is not UTF-8 text, so it was not written by claude-auth; \
                 delete it with `claude-auth logout --profile {account}`"
            ),
            keyring::Error::TooLong(attribute, limit) => format!(
                "the {attribute} is longer than this keyring allows ({limit}); \
                 use a shorter name or `storage = \"encrypted-file\"`"
            ),
            keyring::Error::Invalid(attribute, reason) => {
                format!("the {attribute} is not accepted by the keyring: {reason}")
            }
            keyring::Error::Ambiguous(items) => format!(
                "{} keyring items match this service and account; remove the duplicates \
                 (on Linux: `secret-tool clear service {} username {account}`) \
                 and store the credential again",
                items.len(),
                self.service
            ),
            other => format!("the keyring failed: {other}"),
        };
        self.error(account, message)
    }
}

#[cfg(target_os = "linux")]
const NO_ACCESS_HINT: &str = "Is the keyring unlocked, and does it have a default collection? \
     Unlock it (for example by logging in to the desktop session), or use \
     `storage = \"encrypted-file\"` on machines without a keyring";
#[cfg(target_os = "macos")]
const NO_ACCESS_HINT: &str = "Unlock the login keychain (or allow access when macOS asks), \
     or use `storage = \"encrypted-file\"`";
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
const NO_ACCESS_HINT: &str = "Check that the credential store is available to this user, \
     or use `storage = \"encrypted-file\"`";

/// The message for a platform failure. On Linux, failing to reach the
/// session bus or the Secret Service on it gets a hint about what is missing.
#[cfg(target_os = "linux")]
fn platform_failure_message(detail: &str) -> String {
    const NO_BUS: [&str; 4] = [
        "autolaunch",
        "DBUS_SESSION_BUS_ADDRESS",
        "Failed to connect to socket",
        "NoServer",
    ];
    const NO_SERVICE: [&str; 4] = [
        "org.freedesktop.secrets",
        "ServiceUnknown",
        "NameHasNoOwner",
        "No DBus session or Secret Service provider",
    ];
    const NO_KEYRING_HINT: &str =
        "On a machine without a keyring use `storage = \"encrypted-file\"`";
    if NO_BUS.iter().any(|needle| detail.contains(needle)) {
        format!(
            "no Secret Service: this session has no reachable D-Bus session bus \
             (DBUS_SESSION_BUS_ADDRESS is unset or stale, as is usual over SSH and in \
             containers); details: {detail}. {NO_KEYRING_HINT}"
        )
    } else if NO_SERVICE.iter().any(|needle| detail.contains(needle)) {
        format!(
            "no Secret Service on this session's D-Bus (is gnome-keyring or KeePassXC \
             running and unlocked?); details: {detail}. {NO_KEYRING_HINT}"
        )
    } else {
        format!(
            "the Secret Service failed: {detail}. Is gnome-keyring or KeePassXC running and \
             unlocked?"
        )
    }
}

/// The message for a platform failure (Keychain, Credential Manager).
#[cfg(not(target_os = "linux"))]
fn platform_failure_message(detail: &str) -> String {
    format!("the OS keyring failed: {detail}. {NO_ACCESS_HINT}")
}

/// `message` unless it quotes (`{:?}`) one of the entry's string values (the
/// portable-JSON parser names an unknown `type` or `provider` that way, and
/// an entry written by another tool may hold anything there).
fn without_entry_values(message: String, value: &serde_json::Value) -> String {
    let quotes_a_value = value
        .as_object()
        .into_iter()
        .flat_map(|map| map.values())
        .filter_map(serde_json::Value::as_str)
        .any(|s| message.contains(&format!("{s:?}")));
    if quotes_a_value {
        "a field has a value claude-auth does not understand (not shown)".to_owned()
    } else {
        message
    }
}

impl CredentialStore for KeyringStore {
    fn location(&self, profile: &str) -> String {
        format!(
            "keyring service {:?}, account {:?}",
            self.service,
            format!("{}{profile}", self.account_prefix)
        )
    }

    fn load(&self, profile: &str) -> Result<Option<Credential>> {
        let account = self.account(profile)?;
        let text = match self.backend.get(&self.service, &account) {
            Ok(text) => text,
            Err(keyring::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(self.map_error(profile, e)),
        };
        let corrupt = |what: String| {
            self.error(
                profile,
                format!(
                    "the stored entry is not a valid claude-auth credential ({what}); \
                     delete it with `claude-auth logout --profile {profile}` and log in again"
                ),
            )
        };
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| corrupt(format!("not JSON: {}", e.classify_str())))?;
        from_portable_json(&value)
            .map(Some)
            .map_err(|m| corrupt(without_entry_values(m, &value)))
    }

    fn save(&self, profile: &str, credential: &Credential) -> Result<()> {
        let account = self.account(profile)?;
        // Compact JSON (Value's Display); it holds secrets, so zeroize it.
        let text = Zeroizing::new(to_portable_json(credential).to_string());
        self.backend
            .set(&self.service, &account, &text)
            .map_err(|e| self.map_error(profile, e))
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        let account = self.account(profile)?;
        match self.backend.delete(&self.service, &account) {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.map_error(profile, e)),
        }
    }
}

/// A keyring item that another program owns, read and written as text: Claude
/// Code's login on macOS, a generic password with service
/// `Claude Code-credentials` and account `$USER` holding the same JSON as its
/// credential file on Linux (see [`crate::store::claude_code`]).
///
/// On macOS this is the login keychain (the `keyring` crate's `apple-native`
/// store); macOS may ask the user to allow claude-auth to read an item that
/// Claude Code created. Elsewhere it is the platform's keyring, which is how
/// the tests exercise this code against a real Secret Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignItem {
    /// The item's service.
    pub service: String,
    /// The item's account.
    pub account: String,
}

impl ForeignItem {
    fn map_error(&self, err: keyring::Error) -> Error {
        match err {
            keyring::Error::BadEncoding(_) => Error::Keyring {
                service: self.service.clone(),
                account: self.account.clone(),
                message: "the item is not UTF-8 text".into(),
            },
            other => KeyringStore::new(&self.service).map_error(&self.account, other),
        }
    }

    /// The item's text in the OS keyring, `Ok(None)` when there is no such item.
    pub fn read(&self) -> Result<Option<Zeroizing<String>>> {
        self.read_in(&OsKeyring)
    }

    /// Create or replace the item's text in the OS keyring.
    pub fn write(&self, text: &str) -> Result<()> {
        self.write_in(&OsKeyring, text)
    }

    /// Delete the item from the OS keyring; `Ok(false)` when there was none.
    pub fn delete(&self) -> Result<bool> {
        self.delete_in(&OsKeyring)
    }

    /// [`ForeignItem::read`] in `keyring`.
    pub fn read_in(&self, keyring: &dyn KeyringBackend) -> Result<Option<Zeroizing<String>>> {
        match keyring.get(&self.service, &self.account) {
            Ok(text) => Ok(Some(text)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.map_error(e)),
        }
    }

    /// [`ForeignItem::write`] in `keyring`.
    pub fn write_in(&self, keyring: &dyn KeyringBackend, text: &str) -> Result<()> {
        keyring
            .set(&self.service, &self.account, text)
            .map_err(|e| self.map_error(e))
    }

    /// [`ForeignItem::delete`] in `keyring`.
    pub fn delete_in(&self, keyring: &dyn KeyringBackend) -> Result<bool> {
        match keyring.delete(&self.service, &self.account) {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.map_error(e)),
        }
    }
}

#[cfg(test)]
#[path = "keyring_tests.rs"]
mod tests;
