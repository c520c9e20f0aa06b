//! Claude Code's login: its credential file,
//! `$CLAUDE_CONFIG_DIR/.credentials.json` (default
//! `~/.claude/.credentials.json`), and on macOS its Keychain item (generic
//! password, service `Claude Code-credentials`, account `$USER`), which holds
//! the same JSON.
//!
//! ```json
//! { "claudeAiOauth": { "accessToken": "...", "refreshToken": "...", "expiresAt": 1767225600000,
//!     "scopes": ["user:inference"], "subscriptionType": "max", "rateLimitTier": "..." },
//!   "mcpOAuth": { ... } }
//! ```
//!
//! `expiresAt` is in **milliseconds**. A rewrite changes only the token
//! fields and keeps everything else (`mcpOAuth`, `scopes`, unknown keys), and
//! writes through a symlink to its target. Claude Code holds one login, so the
//! profile argument of the store methods is ignored.
//!
//! With a Keychain item configured ([`ClaudeCodeStore::with_keychain`], the
//! default on macOS), the item is read first and the file only when the item
//! holds no login or the Keychain cannot be read (as over SSH with a locked
//! keychain), which is where Claude Code falls back to. A rewrite goes back
//! to where the login was found; a new login goes to the item.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::provider::CLAUDE_CODE_CLIENT_ID;
use crate::credential::{Credential, Identity, Provider, TokenSet};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secure_file::{
    read_optional, read_optional_limited, remove_if_exists, to_json_bytes, write_atomic,
    ReadPolicy, MAX_ACCOUNT_FILE_BYTES,
};
use crate::store::key_file::ClassifyJsonError;
#[cfg(feature = "keyring")]
use crate::store::keyring::{ForeignItem, KeyringBackend, OsKeyring};
use crate::store::CredentialStore;

/// The top-level key Claude Code keeps its subscription login under.
pub const OAUTH_KEY: &str = "claudeAiOauth";

/// The service of Claude Code's Keychain item on macOS (the account is `$USER`).
pub const KEYCHAIN_SERVICE: &str = "Claude Code-credentials";

/// Claude Code's login: its credential file, and on macOS its Keychain item.
#[derive(Clone, Debug)]
pub struct ClaudeCodeStore {
    config_dir: PathBuf,
    account_file: PathBuf,
    #[cfg(feature = "keyring")]
    keychain: Option<ForeignItem>,
    /// Where the Keychain item lives: the OS keyring, or an in-memory one
    /// in tests ([`ClaudeCodeStore::with_keyring_backend`]).
    #[cfg(feature = "keyring")]
    keyring: std::sync::Arc<dyn KeyringBackend>,
}

/// A parsed credential document (the file's, or the Keychain item's).
type Document = Map<String, Value>;

fn has_login(doc: &Document) -> bool {
    doc.contains_key(OAUTH_KEY)
}

/// Where Claude Code's login is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaudeCodePlace {
    /// The Keychain item ([`ClaudeCodeStore::with_keychain`]).
    Keychain,
    /// `.credentials.json`.
    File,
}

use ClaudeCodePlace as Place;

/// A login read from Claude Code's store, with where it was found.
#[derive(Debug)]
pub struct ClaudeCodeLogin {
    /// The credential.
    pub credential: Credential,
    /// Where it was found: the file's path, or the Keychain item.
    pub location: String,
    /// Where it was found, for writing it back there ([`ClaudeCodeStore::save_login`]).
    pub place: ClaudeCodePlace,
    /// Why the Keychain item was passed over for the file, when it was.
    pub note: Option<String>,
    /// The whole document it was read from (tokens included: never printed).
    document: LoginDocument,
}

/// A credential document as read; its `Debug` shows no contents.
#[derive(Clone)]
struct LoginDocument(Document);

impl std::fmt::Debug for LoginDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginDocument(..)")
    }
}

impl ClaudeCodeStore {
    /// The store for Claude Code's config dir (see
    /// [`crate::config::locations::claude_code_dir`]); `account_file` is where Claude
    /// Code keeps `oauthAccount` (`~/.claude.json`, or `.claude.json` inside
    /// `CLAUDE_CONFIG_DIR` when that is set).
    pub fn new(config_dir: impl Into<PathBuf>, account_file: impl Into<PathBuf>) -> Self {
        ClaudeCodeStore {
            config_dir: config_dir.into(),
            account_file: account_file.into(),
            #[cfg(feature = "keyring")]
            keychain: None,
            #[cfg(feature = "keyring")]
            keyring: std::sync::Arc::new(OsKeyring),
        }
    }

    /// Keep the Keychain item in `keyring` instead of the OS keyring (an
    /// in-memory one in tests).
    #[cfg(feature = "keyring")]
    pub fn with_keyring_backend(mut self, keyring: std::sync::Arc<dyn KeyringBackend>) -> Self {
        self.keyring = keyring;
        self
    }

    /// Also read (first) and write Claude Code's Keychain item, as Claude
    /// Code does on macOS: service [`KEYCHAIN_SERVICE`], account `$USER`.
    /// The resolver sets this on macOS; elsewhere it uses the platform's
    /// keyring, which Claude Code itself never does there.
    #[cfg(feature = "keyring")]
    pub fn with_keychain(mut self, service: impl Into<String>, account: impl Into<String>) -> Self {
        self.keychain = Some(ForeignItem {
            service: service.into(),
            account: account.into(),
        });
        self
    }

    #[cfg(feature = "keyring")]
    fn keychain_location(item: &ForeignItem) -> String {
        format!(
            "Keychain item {:?} (account {:?})",
            item.service, item.account
        )
    }

    fn has_keychain(&self) -> bool {
        #[cfg(feature = "keyring")]
        return self.keychain.is_some();
        #[cfg(not(feature = "keyring"))]
        false
    }

    /// Where the login is looked for, for messages: the Keychain item and
    /// the file, or the file alone.
    pub fn locations(&self) -> String {
        #[cfg(feature = "keyring")]
        if let Some(item) = &self.keychain {
            return format!(
                "{}, then {}",
                Self::keychain_location(item),
                self.path().display()
            );
        }
        self.path().display().to_string()
    }

    /// The Keychain item's document: `Ok(None)` with no item configured, no
    /// item, or an item without a login.
    fn read_keychain(&self) -> Result<Option<Document>> {
        #[cfg(feature = "keyring")]
        if let Some(item) = &self.keychain {
            let Some(text) = item.read_in(&*self.keyring)? else {
                return Ok(None);
            };
            let bad = |message: &str| self.error_at(Place::Keychain, message.to_owned());
            return match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                Ok(_) => Err(bad(
                    "Claude Code's login item must contain a JSON object; log in again with `claude /login`",
                )),
                Err(e) => Err(bad(&format!(
                    "Claude Code's login item is not JSON ({}); log in again with `claude /login`",
                    e.classify_str()
                ))),
            };
        }
        Ok(None)
    }

    fn write_place(&self, place: Place, doc: Document) -> Result<()> {
        match place {
            Place::File => write_atomic(&self.path(), &to_json_bytes(&Value::Object(doc)), 0o600),
            #[cfg(feature = "keyring")]
            Place::Keychain => match &self.keychain {
                // Compact, as Claude Code writes it; it holds secrets.
                Some(item) => item.write_in(
                    &*self.keyring,
                    &zeroize::Zeroizing::new(Value::Object(doc).to_string()),
                ),
                None => Err(Error::Unsupported("no Keychain item is configured".into())),
            },
            #[cfg(not(feature = "keyring"))]
            Place::Keychain => Err(Error::Unsupported("built without keyring support".into())),
        }
    }

    /// The document holding the login and where it is. The Keychain item
    /// comes first; when it cannot be read, the file is used if it holds a
    /// login (with the reason in the note), else the error is returned.
    fn find_login(&self) -> Result<Option<(Place, Document, Option<String>)>> {
        let mut note = None;
        match self.read_keychain() {
            Ok(Some(doc)) if has_login(&doc) => return Ok(Some((Place::Keychain, doc, None))),
            Ok(_) => {}
            Err(e) => match self.read_document() {
                Ok(Some(doc)) if has_login(&doc) => {
                    note = Some(format!(
                        "the Keychain could not be read, so the file was used: {e}"
                    ));
                }
                _ => return Err(e),
            },
        }
        Ok(self
            .read_document()?
            .filter(has_login)
            .map(|doc| (Place::File, doc, note)))
    }

    /// The document at `place`, as it is now; `Ok(None)` when there is none.
    fn read_place(&self, place: Place) -> Result<Option<Document>> {
        match place {
            Place::Keychain => self.read_keychain(),
            Place::File => self.read_document(),
        }
    }

    /// Delete the document at `place` (the file, or the Keychain item).
    fn remove_place(&self, place: Place) -> Result<()> {
        match place {
            Place::File => remove_if_exists(&self.path()).map(|_| ()),
            #[cfg(feature = "keyring")]
            Place::Keychain => match &self.keychain {
                Some(item) => item.delete_in(&*self.keyring).map(|_| ()),
                None => Ok(()),
            },
            #[cfg(not(feature = "keyring"))]
            Place::Keychain => Ok(()),
        }
    }

    /// Take the login out of the document at `place` (the document goes
    /// when nothing else is left in it); `Ok(false)` when it held none.
    fn delete_at(&self, place: Place) -> Result<bool> {
        let Some(mut doc) = self.read_place(place)? else {
            return Ok(false);
        };
        if doc.remove(OAUTH_KEY).is_none() {
            return Ok(false);
        }
        if doc.is_empty() {
            self.remove_place(place)?;
        } else {
            self.write_place(place, doc)?;
        }
        Ok(true)
    }

    /// An error about the login at `place`, naming the file or the item.
    fn error_at(&self, place: Place, message: String) -> Error {
        match place {
            #[cfg(feature = "keyring")]
            Place::Keychain => match &self.keychain {
                Some(item) => Error::Keyring {
                    service: item.service.clone(),
                    account: item.account.clone(),
                    message,
                },
                None => Error::Unsupported(message),
            },
            #[cfg(not(feature = "keyring"))]
            Place::Keychain => Error::Unsupported(message),
            Place::File => Error::parse(self.path(), message),
        }
    }

    fn place_location(&self, place: Place) -> String {
        match place {
            #[cfg(feature = "keyring")]
            Place::Keychain => self
                .keychain
                .as_ref()
                .map_or_else(String::new, Self::keychain_location),
            #[cfg(not(feature = "keyring"))]
            Place::Keychain => String::new(),
            Place::File => self.path().display().to_string(),
        }
    }

    /// Write `credential`'s tokens back where `login` was read (under the
    /// refresh lock), keeping every field they do not replace. The file is
    /// read again first, so a change Claude Code made to it since is kept
    /// (it is cheap and asks nobody). The Keychain item is not read again:
    /// on macOS each read may ask the user, and a read that fails now must
    /// not lose a refresh token the server has already rotated, so the
    /// document read under the lock is updated instead.
    pub fn save_login(&self, login: &ClaudeCodeLogin, credential: &Credential) -> Result<()> {
        match login.place {
            Place::Keychain => {
                self.merge_and_write(Place::Keychain, login.document.0.clone(), credential)
            }
            Place::File => self.save_to(Place::File, credential),
        }
    }

    /// Where [`CredentialStore::save`] writes: where the login is, a new one
    /// to the Keychain item when there is one. Unlike reading, this never
    /// falls back to the file when the Keychain cannot be read: the login
    /// may be there, and writing the file would leave it stale.
    fn place_to_save(&self) -> Result<ClaudeCodePlace> {
        if !self.has_keychain() {
            return Ok(Place::File);
        }
        if self.read_keychain()?.is_some_and(|d| has_login(&d)) {
            return Ok(Place::Keychain);
        }
        let file_has_login = self
            .read_document()
            .ok()
            .flatten()
            .is_some_and(|d| has_login(&d));
        Ok(if file_has_login {
            Place::File
        } else {
            Place::Keychain
        })
    }

    /// Write `credential`'s tokens into the login at `place` (read again
    /// first), keeping every field they do not replace. Never over a
    /// document that cannot be parsed.
    fn save_to(&self, place: ClaudeCodePlace, credential: &Credential) -> Result<()> {
        if !matches!(credential, Credential::OAuth(_)) {
            return Err(Error::Unsupported(
                "Claude Code's login holds subscription OAuth tokens only".into(),
            ));
        }
        if place == Place::Keychain && !self.has_keychain() {
            return Err(Error::Unsupported("no Keychain item is configured".into()));
        }
        let doc = self.read_place(place).map_err(|e| match place {
            Place::File => Error::parse(
                self.path(),
                "cannot be parsed, so it was not overwritten; fix or move it aside",
            ),
            Place::Keychain => e,
        })?;
        self.merge_and_write(place, doc.unwrap_or_default(), credential)
    }

    /// `credential`'s tokens into `doc` (the login at `place`), then `doc` to `place`.
    fn merge_and_write(
        &self,
        place: ClaudeCodePlace,
        mut doc: Document,
        credential: &Credential,
    ) -> Result<()> {
        let Credential::OAuth(set) = credential else {
            return Err(Error::Unsupported(
                "Claude Code's login holds subscription OAuth tokens only".into(),
            ));
        };
        let oauth = doc
            .entry(OAUTH_KEY)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(oauth) = oauth else {
            return Err(self.error_at(
                place,
                "claudeAiOauth is not an object, so it was not overwritten".into(),
            ));
        };
        oauth.insert("accessToken".into(), set.access_token.expose().into());
        if let Some(refresh) = &set.refresh_token {
            oauth.insert("refreshToken".into(), refresh.expose().into());
        }
        if let Some(exp) = set.expires_at {
            oauth.insert("expiresAt".into(), Value::from(exp.saturating_mul(1000)));
        }
        // Claude Code refuses a login whose scopes lack user:inference: never
        // drop scopes, only replace them with a non-empty list.
        if !set.scopes.is_empty() {
            oauth.insert(
                "scopes".into(),
                set.scopes.iter().cloned().map(Value::String).collect(),
            );
        }
        if let Some(sub) = &set.identity.subscription_type {
            oauth.insert("subscriptionType".into(), sub.clone().into());
        }
        self.write_place(place, doc)
    }

    /// Claude Code's login, where it was found, and why the Keychain item was
    /// passed over, if it was. `Ok(None)` when there is no login.
    pub fn load_login(&self) -> Result<Option<ClaudeCodeLogin>> {
        let Some((place, doc, note)) = self.find_login()? else {
            return Ok(None);
        };
        let location = self.place_location(place);
        let bad = |message: String| self.error_at(place, message);
        let oauth = doc
            .get(OAUTH_KEY)
            .and_then(Value::as_object)
            .ok_or_else(|| bad("claudeAiOauth must be a JSON object".into()))?;
        let set = token_set_from_claude_code(oauth).map_err(bad)?;
        Ok(Some(ClaudeCodeLogin {
            credential: Credential::OAuth(set),
            location,
            place,
            note,
            document: LoginDocument(doc),
        }))
    }

    /// `.credentials.json`.
    pub fn path(&self) -> PathBuf {
        self.config_dir.join(".credentials.json")
    }

    /// Claude Code's config dir.
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    fn read_document(&self) -> Result<Option<Map<String, Value>>> {
        let path = self.path();
        let Some(bytes) = read_optional(&path, ReadPolicy::Lenient)? else {
            return Ok(None);
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(Some(map)),
            Ok(_) => Err(Error::parse(&path, "must contain a JSON object")),
            Err(e) => Err(Error::parse(
                &path,
                format!("not JSON ({})", e.classify_str()),
            )),
        }
    }

    /// The account Claude Code recorded (`oauthAccount` in `.claude.json`),
    /// best effort: `None` when missing or unreadable.
    pub fn account(&self) -> Option<Identity> {
        let bytes = read_optional_limited(
            &self.account_file,
            ReadPolicy::Lenient,
            MAX_ACCOUNT_FILE_BYTES,
        )
        .ok()??;
        let doc: Value = serde_json::from_slice(&bytes).ok()?;
        let acct = doc.get("oauthAccount")?.as_object()?;
        let s = |k: &str| acct.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Identity {
            email: s("emailAddress"),
            account_uuid: s("accountUuid"),
            organization_uuid: s("organizationUuid"),
            organization_name: s("organizationName"),
            ..Identity::default()
        })
    }
}

/// Parse Claude Code's `claudeAiOauth` object.
pub fn token_set_from_claude_code(oauth: &Map<String, Value>) -> Result<TokenSet, String> {
    let s = |k: &str| {
        oauth
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let access = s("accessToken").ok_or("claudeAiOauth.accessToken is missing or empty")?;
    let expires_at = match oauth.get("expiresAt") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            let ms = n
                .as_u64()
                .ok_or("claudeAiOauth.expiresAt must be a non-negative integer (milliseconds)")?;
            Some(ms / 1000)
        }
        Some(_) => {
            return Err("claudeAiOauth.expiresAt must be an integer number of milliseconds".into())
        }
    };
    let scopes = match oauth.get("scopes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err("claudeAiOauth.scopes must be a JSON array of strings".into()),
    };
    Ok(TokenSet {
        access_token: Secret::token(access, "claudeAiOauth.accessToken")?,
        refresh_token: s("refreshToken")
            .map(|r| Secret::token(r, "claudeAiOauth.refreshToken"))
            .transpose()?,
        expires_at,
        scopes,
        identity: Identity {
            subscription_type: s("subscriptionType"),
            rate_limit_tier: s("rateLimitTier"),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some(s("clientId").unwrap_or_else(|| CLAUDE_CODE_CLIENT_ID.to_owned())),
        id_token: None,
    })
}

impl CredentialStore for ClaudeCodeStore {
    fn location(&self, _profile: &str) -> String {
        self.locations()
    }

    fn load(&self, _profile: &str) -> Result<Option<Credential>> {
        Ok(self.load_login()?.map(|login| login.credential))
    }

    fn save(&self, _profile: &str, credential: &Credential) -> Result<()> {
        self.save_to(self.place_to_save()?, credential)
    }

    fn delete(&self, _profile: &str) -> Result<bool> {
        // Only the subscription login goes; other keys (mcpOAuth) stay. Both
        // places are tried even when one fails; the first error is returned.
        let from_keychain = self.delete_at(Place::Keychain);
        let from_file = self.delete_at(Place::File);
        let removed = from_keychain? | from_file?;
        Ok(removed)
    }
}

#[cfg(all(test, unix))]
#[path = "claude_code_tests.rs"]
mod tests;
