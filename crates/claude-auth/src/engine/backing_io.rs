//! How each [`Backing`] is locked, re-read and written back: the engine's
//! side of "the backing knows how to keep its credential".
//!
//! - Plain files (spec profile files, our key files, the seed's `auth.json`)
//!   are locked with an OS file lock beside them (`<file>.lock`).
//! - Keyring entries and encrypted files are locked in claude-auth's own
//!   `locks/<profile>.lock`.
//! - Claude Code's login (file or Keychain item) is locked with Claude Code's
//!   own lock directories, and written back where it was read.
//! - A credential given in code is held by the manager; it needs no lock
//!   beyond the manager's single flight.
//! - Codex's login (`auth.json` or its keyring entry) is locked the way
//!   Codex 0.171.0 locks it (`docs/codex-locks.md`, measured with
//!   strace): our own lock (`locks/codex-<home hash>.lock`), then Codex's
//!   `$CODEX_HOME/auth.lock` (flock, exclusive) held across re-read →
//!   refresh → write, and Codex's `auth.json.lock` (flock, tried every
//!   10 ms for at most 5 s, as Codex does) only around the atomic write
//!   ([`crate::openai::codex_lock`], shared with `login --codex`). Codex
//!   never holds a lock across its own refresh POST, so this cannot
//!   deadlock with it; a Codex process that committed meanwhile is seen by
//!   the re-read and adopted.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::env::Env;
use crate::config::locations::own_config_dir;
use crate::credential::{Credential, TokenSet};
use crate::engine::lock::{ClaudeCodeLock, ClaudeCodeLockTimings, FileLock};
use crate::engine::refresh_state;
use crate::error::Error;
use crate::openai::auth_file::{CodexAuth, CodexAuthFile};
use crate::openai::chatgpt::RefreshedTokens;
use crate::openai::{codex_lock, home};
use crate::source::backing::lock_path_beside;
use crate::source::codex as codex_source;
use crate::source::{read_seed_file, write_seed_file, Backing, Found, Resolver};
use crate::store::claude_code::ClaudeCodeLogin;
use crate::store::StorageKind;

/// A held cross-process lock (released on drop).
pub(crate) enum Guard {
    File(#[allow(dead_code)] FileLock),
    ClaudeCode(#[allow(dead_code)] ClaudeCodeLock),
    /// Ours, then Codex's `auth.lock` (dropped in reverse order: fields
    /// drop first to last, so Codex's lock is listed first).
    Codex {
        #[allow(dead_code)]
        auth_lock: FileLock,
        #[allow(dead_code)]
        ours: FileLock,
    },
    /// Nothing to lock across processes (a credential held in memory).
    None,
}

/// What a backing holds now, re-read under its lock.
pub(crate) struct Reloaded {
    /// The credential as a source would report it.
    pub found: Found,
    /// Its token set.
    pub set: TokenSet,
    /// Claude Code's login as read, which a refresh is written back into.
    pub claude_code: Option<ClaudeCodeLogin>,
    /// Codex's document as read, which a refresh is written back into
    /// (keeping every key it does not own).
    pub codex: Option<CodexAuth>,
}

/// Codex's home for a Codex backing.
fn codex_home_of(backing: &Backing) -> Option<PathBuf> {
    match backing {
        Backing::CodexFile { path } => Some(
            path.parent()
                .map_or_else(|| PathBuf::from("."), ToOwned::to_owned),
        ),
        Backing::CodexKeyring { codex_home } => Some(codex_home.clone()),
        _ => None,
    }
}

/// A short stable name for a Codex home (the hash in its keyring account).
fn codex_key(codex_home: &std::path::Path) -> String {
    home::keyring_account(codex_home)
        .trim_start_matches("cli|")
        .to_owned()
}

/// `doc` with `set`'s tokens in it and `last_refresh` now; every other key
/// as read.
fn codex_doc_with(doc: &CodexAuth, set: &TokenSet) -> Result<CodexAuth, Error> {
    let mut doc = doc.clone();
    doc.apply_refresh(
        RefreshedTokens {
            id_token: set.id_token.clone(),
            access_token: Some(set.access_token.clone()),
            refresh_token: set.refresh_token.clone(),
        },
        crate::credential::now_unix(),
    )?;
    Ok(doc)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Unsupported(format!("lock task failed: {e}")))?
}

impl Backing {
    /// Take the lock that guards re-read → refresh → persist across
    /// processes.
    pub(crate) async fn lock(
        &self,
        env: &Env,
        resolver: &Resolver,
        timeout: Duration,
        claude_code: ClaudeCodeLockTimings,
    ) -> Result<Guard, Error> {
        if let Some(codex_home) = codex_home_of(self) {
            let ours = own_config_dir(env)
                .path
                .join("locks")
                .join(format!("codex-{}.lock", codex_key(&codex_home)));
            let (ours, auth_lock) = blocking(move || {
                let ours = FileLock::acquire(&ours, timeout)?;
                let auth_lock = codex_lock::auth_lock(&codex_home, timeout)?;
                Ok((ours, auth_lock))
            })
            .await?;
            return Ok(Guard::Codex { auth_lock, ours });
        }
        if self.is_claude_code() {
            let dir = resolver.claude_code().config_dir().to_owned();
            let lock = blocking(move || ClaudeCodeLock::acquire(&dir, claude_code)).await?;
            return Ok(Guard::ClaudeCode(lock));
        }
        let path: PathBuf = match (self, self.file()) {
            (Backing::Memory, _) => return Ok(Guard::None),
            (Backing::OpenaiProfile { profile, .. }, _) => own_config_dir(env)
                .path
                .join("openai")
                .join("locks")
                .join(format!("{profile}.lock")),
            (_, Some(file)) => lock_path_beside(file),
            (_, None) => match self.profile() {
                Some(name) => own_config_dir(env)
                    .path
                    .join("locks")
                    .join(format!("{name}.lock")),
                None => {
                    return Err(Error::Unsupported(
                        "this credential is not stored, so it cannot be refreshed".into(),
                    ))
                }
            },
        };
        let lock = blocking(move || FileLock::acquire(&path, timeout)).await?;
        Ok(Guard::File(lock))
    }

    /// The credential as stored now (another process may have refreshed it).
    /// `Ok(None)` when it is gone or is not a token set.
    pub(crate) fn reload(&self, resolver: &Resolver) -> Result<Option<Reloaded>, Error> {
        let mut claude_code = None;
        let mut codex = None;
        let found = match self {
            Backing::CodexFile { path } => match CodexAuthFile::new(path).load()? {
                Some(auth) => {
                    let found =
                        codex_source::found(&auth, self.clone(), path.display().to_string())?;
                    codex = Some(auth);
                    Some(found)
                }
                None => None,
            },
            Backing::CodexKeyring { codex_home } => {
                match codex_source::load_keyring(resolver, codex_home)? {
                    Some((auth, _, location)) => {
                        let found = codex_source::found(&auth, self.clone(), location)?;
                        codex = Some(auth);
                        Some(found)
                    }
                    None => None,
                }
            }
            Backing::ProfileFile { profile, .. } | Backing::KeyFile { profile, .. } => {
                resolver.load_profile_from(profile, StorageKind::File)?
            }
            Backing::Keyring { profile } | Backing::EncryptedFile { profile } => {
                resolver.load_profile(profile)?
            }
            Backing::ClaudeCodeFile { .. } | Backing::ClaudeCodeKeychain => {
                claude_code = resolver.claude_code().load_login()?;
                claude_code
                    .as_ref()
                    .map(|l| Found::new(l.credential.clone(), l.location.clone(), self.clone()))
            }
            Backing::SeedFile { path } => read_seed_file(path)?
                .map(|c| Found::new(c, path.display().to_string(), self.clone())),
            Backing::OpenaiProfile { profile, storage } => resolver
                .openai_profiles()
                .load_from(profile, *storage)?
                .map(|stored| {
                    let mut found = Found::new(stored.credential, stored.location, self.clone());
                    found.profile = Some(profile.clone());
                    found.storage = Some(*storage);
                    found
                }),
            _ => None,
        };
        Ok(found.and_then(|found| {
            let set = found
                .credential
                .as_ref()
                .and_then(Credential::token_set)
                .cloned()?;
            Some(Reloaded {
                found,
                set,
                claude_code,
                codex,
            })
        }))
    }

    /// Write a refreshed token set back, in the backing's own format. Claude
    /// Code's login goes exactly where `read.claude_code` was found: the
    /// Keychain item or the file, never the other.
    pub(crate) fn persist(
        &self,
        resolver: &Resolver,
        read: &Reloaded,
        set: &TokenSet,
    ) -> Result<(), Error> {
        let credential = || Credential::OAuth(set.clone());
        let codex_doc = || {
            read.codex.as_ref().ok_or_else(|| {
                Error::Unsupported("Codex's login was not read under the lock".into())
            })
        };
        match self {
            Backing::CodexFile { path } => {
                let doc = codex_doc_with(codex_doc()?, set)?;
                let home = codex_home_of(self).unwrap_or_default();
                let _commit = codex_lock::commit_lock(&home)?;
                // `save` re-reads first: a file that no longer parses is
                // left as it is.
                CodexAuthFile::new(path).save(&doc)
            }
            Backing::CodexKeyring { codex_home } => {
                let doc = codex_doc_with(codex_doc()?, set)?;
                let _commit = codex_lock::commit_lock(codex_home)?;
                save_codex_keyring(resolver, codex_home, &doc)
            }
            Backing::ClaudeCodeFile { .. } | Backing::ClaudeCodeKeychain => {
                let login = read.claude_code.as_ref().ok_or_else(|| {
                    Error::Unsupported("Claude Code's login was not read under the lock".into())
                })?;
                resolver.claude_code().save_login(login, &credential())
            }
            Backing::ProfileFile { profile, .. } => resolver
                .profile_files()
                .write_credentials(profile, set)
                .map(|_| ()),
            Backing::KeyFile { profile, .. } => {
                use crate::store::CredentialStore;
                resolver.own_keys().save(profile, &credential())
            }
            Backing::Keyring { profile } | Backing::EncryptedFile { profile } => {
                let kind = self.storage().unwrap_or_default();
                resolver.store_for(kind)?.save(profile, &credential())
            }
            Backing::SeedFile { path } => write_seed_file(path, set),
            Backing::OpenaiProfile { profile, storage } => {
                resolver
                    .openai_profiles()
                    .save(profile, &credential(), *storage)
            }
            _ => Err(Error::Unsupported("not a stored credential".into())),
        }
    }

    /// claude-auth's bookkeeping file for this login's refreshes.
    pub(crate) fn state_path(&self, env: &Env) -> Option<PathBuf> {
        match self {
            Backing::ClaudeCodeFile { .. } | Backing::ClaudeCodeKeychain => {
                refresh_state::state_path(env, true, None)
            }
            Backing::SeedFile { .. } => refresh_state::seed_file_state_path(env),
            Backing::OpenaiProfile { profile, .. } => Some(
                own_config_dir(env)
                    .path
                    .join("state")
                    .join(format!("openai-profile-{profile}.json")),
            ),
            b if b.is_codex() => codex_home_of(b).map(|h| {
                own_config_dir(env)
                    .path
                    .join("state")
                    .join(format!("codex-{}.json", codex_key(&h)))
            }),
            b => refresh_state::state_path(env, false, b.profile()),
        }
    }
}

/// Write Codex's keyring entry: the whole document, as Codex keeps it.
#[cfg(feature = "keyring")]
fn save_codex_keyring(
    resolver: &Resolver,
    codex_home: &std::path::Path,
    doc: &CodexAuth,
) -> Result<(), Error> {
    let account = home::keyring_account(codex_home);
    let bytes = doc.to_bytes();
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::Unsupported("Codex's document is not UTF-8".into()))?;
    resolver
        .keyring_backend()
        .set(home::KEYRING_SERVICE, &account, text)
        .map_err(|e| Error::Keyring {
            service: home::KEYRING_SERVICE.into(),
            account,
            message: codex_source::keyring_message(&e),
        })
}

#[cfg(not(feature = "keyring"))]
fn save_codex_keyring(_: &Resolver, _: &std::path::Path, _: &CodexAuth) -> Result<(), Error> {
    Err(Error::Unsupported(
        "Codex keeps its login in the keyring, which this build of claude-auth cannot write".into(),
    ))
}
