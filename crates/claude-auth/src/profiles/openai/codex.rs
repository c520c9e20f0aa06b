//! Codex's own login as the destination of `login --codex` and the target of
//! `logout --codex`: `$CODEX_HOME/auth.json`, or Codex's keyring entry when
//! its `config.toml` says `keyring`/`auto`. Every write or delete holds
//! Codex's two locks ([`crate::openai::codex_lock`]: `auth.lock`, then
//! `auth.json.lock`), as Codex 0.171.0 does around its own writes. The
//! document is merged, not replaced (keys we do not own are kept), and a
//! document that cannot be read or parsed is left untouched.

use crate::config::env::Env;
use crate::credential::now_unix;
use crate::error::Error;
use crate::openai::auth_file::{AuthMode, CodexAuth, CodexAuthFile};
use crate::openai::codex_lock::{CodexLocks, AUTH_LOCK_TIMEOUT};
use crate::openai::home::{self, CredentialsStore};
use crate::secret::Secret;

use super::{OpenaiLoggedOut, OpenaiLogin};
use crate::profiles::{LoginNotice, ProfileError};

/// Where Codex keeps its login, as its `config.toml` says.
enum CodexStore {
    File(CodexAuthFile),
    Keyring {
        service: &'static str,
        account: String,
        auto: bool,
        file: CodexAuthFile,
    },
}

impl CodexStore {
    fn file(&self) -> &CodexAuthFile {
        match self {
            CodexStore::File(file) | CodexStore::Keyring { file, .. } => file,
        }
    }
}

fn codex_store(env: &Env) -> Result<CodexStore, ProfileError> {
    let codex_home = home::codex_home(env);
    let file = CodexAuthFile::new(home::auth_json_path(&codex_home));
    let keyring = |auto| CodexStore::Keyring {
        service: home::KEYRING_SERVICE,
        account: home::keyring_account(&codex_home),
        auto,
        file: file.clone(),
    };
    Ok(match home::credentials_store(&codex_home)? {
        CredentialsStore::File => CodexStore::File(file),
        CredentialsStore::Keyring => keyring(false),
        CredentialsStore::Auto => keyring(true),
        CredentialsStore::Other(mode) => {
            return Err(Error::Setting {
                setting: format!(
                    "{} ({})",
                    home::config_toml_path(&codex_home).display(),
                    home::CREDENTIALS_STORE_KEY
                ),
                message: format!("{mode:?} is a mode this version does not know; use \"file\", \"keyring\" or \"auto\", or store the login in an OpenAI profile (without --codex)"),
            }
            .into())
        }
    })
}

/// Codex's two locks for this environment's `$CODEX_HOME`.
fn locks(env: &Env) -> Result<CodexLocks, ProfileError> {
    Ok(CodexLocks::acquire(
        &home::codex_home(env),
        AUTH_LOCK_TIMEOUT,
    )?)
}

/// `login` merged into `existing` (keys we do not own kept) or new.
fn codex_document(existing: Option<CodexAuth>, login: &OpenaiLogin) -> CodexAuth {
    let now = now_unix();
    let fresh = match login {
        OpenaiLogin::ChatGpt(login) => login.codex_auth(now),
        OpenaiLogin::ApiKey(key) => CodexAuth::with_api_key(key.clone()),
    };
    let Some(mut doc) = existing else {
        return fresh;
    };
    doc.auth_mode = Some(match login {
        OpenaiLogin::ChatGpt(_) => AuthMode::ChatGpt,
        OpenaiLogin::ApiKey(_) => AuthMode::ApiKey,
    });
    doc.api_key = fresh.api_key;
    doc.tokens = fresh.tokens;
    doc.last_refresh = fresh.last_refresh;
    doc
}

/// Write `login` as Codex's login, under Codex's locks; where it went.
pub(super) fn write_codex(
    env: &Env,
    login: &OpenaiLogin,
    notices: &mut Vec<LoginNotice>,
) -> Result<String, ProfileError> {
    let store = codex_store(env)?;
    let _locks = locks(env)?;
    match store {
        CodexStore::File(file) => write_codex_file(&file, login),
        CodexStore::Keyring {
            service,
            account,
            auto,
            file,
        } => match keyring::write(service, &account, login) {
            Ok(location) => {
                // Codex 0.171.0, in "keyring" and "auto" mode alike, deletes
                // auth.json after writing its keyring entry (observed with the
                // real binary against the Secret Service; tests/codex_auto_mode.rs).
                // A stale file would be read again in "auto" mode whenever
                // the keyring is unavailable. One we cannot parse is left.
                if matches!(file.load(), Ok(Some(_)))
                    && crate::secure_file::remove_if_exists(file.path())?
                {
                    notices.push(LoginNotice::RemovedCodexFile {
                        path: file.path().to_owned(),
                    });
                }
                Ok(location)
            }
            Err(e) if auto => {
                notices.push(LoginNotice::KeyringFallback {
                    reason: e.to_string(),
                });
                write_codex_file(&file, login)
            }
            Err(e) => Err(ProfileError::KeyringUnavailable(e)),
        },
    }
}

fn write_codex_file(file: &CodexAuthFile, login: &OpenaiLogin) -> Result<String, ProfileError> {
    // A file that cannot be read or parsed is an error here, before any write.
    let existing = file.load()?;
    file.save(&codex_document(existing, login))?;
    Ok(file.path().display().to_string())
}

/// The refresh tokens of Codex's ChatGPT login as stored now (its keyring
/// entry, then its file; no duplicates), read without a lock as Codex reads
/// them before revoking. A document that cannot be read is skipped here;
/// [`remove_codex`] reports it.
pub(super) fn codex_refresh_tokens(env: &Env) -> Vec<Secret> {
    let Ok(store) = codex_store(env) else {
        return Vec::new();
    };
    let mut docs = Vec::new();
    if let CodexStore::Keyring {
        service, account, ..
    } = &store
    {
        if let Ok(Some(doc)) = keyring::read(service, account) {
            docs.push(doc);
        }
    }
    if let Ok(Some(doc)) = store.file().load() {
        docs.push(doc);
    }
    let mut tokens: Vec<Secret> = Vec::new();
    for doc in docs {
        if let Some(t) = doc.tokens() {
            if !tokens.contains(&t.refresh_token) {
                tokens.push(t.refresh_token.clone());
            }
        }
    }
    tokens
}

/// Delete Codex's login (keyring entry and file), under Codex's locks.
/// Returns whether a ChatGPT login was among what was removed.
pub(super) fn remove_codex(env: &Env, out: &mut OpenaiLoggedOut) -> Result<bool, ProfileError> {
    let store = codex_store(env)?;
    let _locks = locks(env)?;
    let mut chatgpt = false;
    if let CodexStore::Keyring {
        service, account, ..
    } = &store
    {
        if let Some((location, had_tokens)) = keyring::delete(service, account)? {
            out.removed.push(location);
            chatgpt |= had_tokens;
        }
    }
    // Only a file we can read is removed: one that does not parse may not
    // be a login at all.
    let file = store.file();
    if let Some(doc) = file.load()? {
        crate::secure_file::remove_if_exists(file.path())?;
        out.removed.push(file.path().display().to_string());
        chatgpt |= doc.tokens().is_some();
    }
    Ok(chatgpt)
}

/// Codex's keyring entry: the whole `auth.json` document as one secret.
mod keyring {
    use super::{codex_document, OpenaiLogin};
    use crate::error::{Error, Result};
    use crate::openai::auth_file::CodexAuth;

    fn location(service: &str, account: &str) -> String {
        format!("keyring entry {service:?} / {account:?}")
    }

    fn keyring_error(service: &str, account: &str, e: impl std::fmt::Display) -> Error {
        Error::Keyring {
            service: service.to_owned(),
            account: account.to_owned(),
            message: e.to_string(),
        }
    }

    /// The entry's document; `None` when there is none.
    #[cfg(feature = "keyring")]
    pub(super) fn read(service: &str, account: &str) -> Result<Option<CodexAuth>> {
        use crate::store::keyring::{KeyringBackend, OsKeyring};
        match OsKeyring.get(service, account) {
            Ok(text) => Ok(Some(CodexAuth::parse(
                text.as_bytes(),
                std::path::Path::new(&location(service, account)),
            )?)),
            Err(::keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(service, account, e)),
        }
    }

    #[cfg(feature = "keyring")]
    pub(super) fn write(service: &str, account: &str, login: &OpenaiLogin) -> Result<String> {
        use crate::store::keyring::{KeyringBackend, OsKeyring};
        let existing = read(service, account)?;
        let doc = codex_document(existing, login);
        let bytes = doc.to_bytes();
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| keyring_error(service, account, "the document is not UTF-8"))?;
        OsKeyring
            .set(service, account, text)
            .map_err(|e| keyring_error(service, account, e))?;
        Ok(location(service, account))
    }

    /// Delete the entry: `(where, whether it held ChatGPT tokens)`, `None`
    /// when there was none. An entry that does not parse is left alone.
    #[cfg(feature = "keyring")]
    pub(super) fn delete(service: &str, account: &str) -> Result<Option<(String, bool)>> {
        use crate::store::keyring::{KeyringBackend, OsKeyring};
        let Some(doc) = read(service, account)? else {
            return Ok(None);
        };
        OsKeyring
            .delete(service, account)
            .map_err(|e| keyring_error(service, account, e))?;
        Ok(Some((location(service, account), doc.tokens().is_some())))
    }

    #[cfg(not(feature = "keyring"))]
    pub(super) fn read(service: &str, account: &str) -> Result<Option<CodexAuth>> {
        Err(keyring_error(
            service,
            account,
            "this build has no keyring support",
        ))
    }

    #[cfg(not(feature = "keyring"))]
    pub(super) fn write(service: &str, account: &str, _: &OpenaiLogin) -> Result<String> {
        Err(keyring_error(
            service,
            account,
            "this build has no keyring support",
        ))
    }

    #[cfg(not(feature = "keyring"))]
    pub(super) fn delete(service: &str, account: &str) -> Result<Option<(String, bool)>> {
        Err(keyring_error(
            service,
            account,
            "this build has no keyring support",
        ))
    }
}
