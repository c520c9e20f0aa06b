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

use zeroize::Zeroizing;

use crate::config::locations::validate_profile_name;
use crate::credential::{from_portable_json, to_portable_json, Credential};
use crate::error::{Error, Result};
use crate::store::key_file::ClassifyJsonError;
use crate::store::CredentialStore;

/// The account [`KeyringStore::probe`] looks up. It is not a valid profile
/// name (it starts with a dot), so it can never collide with a real entry.
const PROBE_ACCOUNT: &str = ".claude-auth-probe";

/// One JSON entry per profile in the OS keyring.
///
/// Windows' Credential Manager limits a password to 2560 bytes (1280 UTF-16
/// characters); an OAuth token set's portable JSON is well below that.
#[derive(Clone, Debug)]
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Entries under `service` (the `[keyring] service` setting, default
    /// `claude-auth`); the account is the profile name.
    pub fn new(service: &str) -> Self {
        KeyringStore {
            service: service.to_owned(),
        }
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
        let entry = keyring::Entry::new(&self.service, PROBE_ACCOUNT)
            .map_err(|e| self.map_error(PROBE_ACCOUNT, e))?;
        match entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            // Something answered about the entry: the keyring works.
            Err(keyring::Error::Ambiguous(_) | keyring::Error::BadEncoding(_)) => Ok(()),
            Err(e) => Err(self.map_error(PROBE_ACCOUNT, e)),
        }
    }

    fn entry(&self, profile: &str) -> Result<keyring::Entry> {
        validate_profile_name(profile, "profile")?;
        keyring::Entry::new(&self.service, profile).map_err(|e| self.map_error(profile, e))
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
        format!("keyring service {:?}, account {profile:?}", self.service)
    }

    fn load(&self, profile: &str) -> Result<Option<Credential>> {
        let entry = self.entry(profile)?;
        let text = match entry.get_password() {
            Ok(text) => Zeroizing::new(text),
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
        let entry = self.entry(profile)?;
        // Compact JSON (Value's Display); it holds secrets, so zeroize it.
        let text = Zeroizing::new(to_portable_json(credential).to_string());
        entry
            .set_password(&text)
            .map_err(|e| self.map_error(profile, e))
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        let entry = self.entry(profile)?;
        match entry.delete_credential() {
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
    fn entry(&self) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, &self.account).map_err(|e| self.map_error(e))
    }

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

    /// The item's text, `Ok(None)` when there is no such item.
    pub fn read(&self) -> Result<Option<Zeroizing<String>>> {
        match self.entry()?.get_password() {
            Ok(text) => Ok(Some(Zeroizing::new(text))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.map_error(e)),
        }
    }

    /// Create or replace the item's text.
    pub fn write(&self, text: &str) -> Result<()> {
        self.entry()?
            .set_password(text)
            .map_err(|e| self.map_error(e))
    }

    /// Delete the item; `Ok(false)` when there was none.
    pub fn delete(&self) -> Result<bool> {
        match self.entry()?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(self.map_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_print_entry_bytes_and_name_the_fix() {
        let store = KeyringStore::new("svc");
        let err = store.map_error("work", keyring::Error::BadEncoding(b"SECRET\xff".to_vec()));
        let text = err.to_string();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("keyring (svc, work)"), "{text}");
        assert!(text.contains("claude-auth logout --profile work"), "{text}");
    }

    #[test]
    fn invalid_profile_names_are_refused_before_touching_the_keyring() {
        let store = KeyringStore::new("svc");
        assert!(matches!(
            store.load("../x"),
            Err(Error::InvalidProfileName { .. })
        ));
        assert!(matches!(
            store.delete(""),
            Err(Error::InvalidProfileName { .. })
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn unreachable_secret_service_gets_the_daemon_hint() {
        let msg = platform_failure_message(
            "DBus error: org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable",
        );
        assert!(
            msg.starts_with("no Secret Service on this session's D-Bus"),
            "{msg}"
        );
        assert!(msg.contains("gnome-keyring or KeePassXC"), "{msg}");
    }
}
