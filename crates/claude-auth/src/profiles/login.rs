//! Storing a login: where it goes, what it replaces, whether it becomes
//! the active profile.
//!
//! An OAuth token goes into the official profile files as every SDK reads
//! them; an API key, which those files cannot hold, goes to claude-auth's own
//! 0600 key file, the keyring or the encrypted file. An unavailable keyring
//! falls back to the files *visibly*: the result carries the notice.

use std::fmt;
use std::path::PathBuf;

use tokio::io::AsyncBufRead;

use crate::config::settings::record_storage;
use crate::credential::{Credential, CredentialKind, Identity, TokenSet};
use crate::engine::refresh_state::{self, RefreshState};
use crate::oauth::login::{login, LoginEvents, LoginRequest};
use crate::oauth::token_client::TokenClient;
use crate::secure_file;
use crate::store::{CredentialStore, StorageKind};

use super::{ProfileError, Profiles};

/// Where and how a new login is to be kept. Make one with
/// [`Profiles::new_login`], then adjust the fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLogin {
    /// The profile (validated).
    pub profile: String,
    /// The user named the profile (`--profile`): like `ant auth login`, it
    /// then becomes the active profile where the official SDKs can read it.
    pub named: bool,
    /// Where to store it; `None`: the profile's setting, else where its last
    /// login went, else the default storage.
    pub storage: Option<StorageKind>,
    /// Fall back to a file (visibly) when the keyring is unavailable.
    pub fallback: bool,
}

/// Something a front end should tell the user about a stored login.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginNotice {
    /// The keyring was asked for but is unavailable; the login went to a
    /// file readable only by the user.
    KeyringFallback {
        /// The keyring's error (names the entry; never a secret).
        reason: String,
    },
    /// An API key replaced the profile's OAuth login in the official files,
    /// which cannot hold a key: both files were removed.
    ReplacedSpecLogin {
        /// The profile.
        profile: String,
        /// Its removed `configs/<profile>.json`.
        config: PathBuf,
        /// Its removed credentials file.
        credentials: PathBuf,
    },
    /// The profile was named but not made active: the official SDKs cannot
    /// read it, and another profile is active.
    NotActivated {
        /// The profile.
        profile: String,
    },
    /// Codex's login went to its keyring entry and its `auth.json` was
    /// removed, as Codex itself does when it writes the keyring.
    RemovedCodexFile {
        /// The removed file.
        path: PathBuf,
    },
}

impl fmt::Display for LoginNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginNotice::KeyringFallback { reason } => write!(
                f,
                "the keyring is unavailable ({reason}); falling back to a file readable only by you"
            ),
            LoginNotice::ReplacedSpecLogin {
                profile,
                config,
                credentials,
            } => write!(
                f,
                "replaced the OAuth login of profile {profile:?}: removed {} and {}; the official SDKs no longer see this profile",
                config.display(),
                credentials.display()
            ),
            LoginNotice::RemovedCodexFile { path } => write!(
                f,
                "removed {}: Codex now reads its login from the keyring (Codex removes this file too when it writes the keyring)",
                path.display()
            ),
            LoginNotice::NotActivated { profile } => write!(
                f,
                "profile {profile:?} holds a credential the official SDKs cannot read from profile files, so it was not made active; select it with `claude-auth profile use {profile}` or `--profile {profile}`"
            ),
        }
    }
}

/// What [`Profiles::store`] did.
#[derive(Clone, Debug)]
pub struct StoredLogin {
    /// The profile.
    pub profile: String,
    /// Where the credential went, for humans (a path or a keyring entry).
    pub location: String,
    /// The storage it went to (`File` after a keyring fallback).
    pub storage: StorageKind,
    /// What was stored.
    pub kind: CredentialKind,
    /// Its masked value (`sk-ant-oat01-…abcd`).
    pub masked: String,
    /// Who logged in, for an OAuth token set (empty otherwise).
    pub identity: Identity,
    /// Whether the official SDKs can read it from the profile files.
    pub sdk_readable: bool,
    /// What to tell the user, in the order it happened.
    pub notices: Vec<LoginNotice>,
}

impl Profiles {
    /// A login for `explicit` (a `--profile` flag), else the active profile,
    /// with the profile's storage and the keyring fallback on. Validates the
    /// name, so call it before reading a secret.
    pub fn new_login(&self, explicit: Option<&str>) -> Result<NewLogin, ProfileError> {
        Ok(NewLogin {
            profile: self.target(explicit)?,
            named: explicit.is_some(),
            storage: None,
            fallback: true,
        })
    }

    /// Store `credential` as `login` says, record where it went, and make
    /// the profile active when it was named or none is (only where the
    /// official SDKs can read it).
    pub fn store(
        &mut self,
        login: &NewLogin,
        credential: &Credential,
    ) -> Result<StoredLogin, ProfileError> {
        self.store_with_base_url(login, credential, None)
    }

    /// Run the browser (or paste) OAuth login of `request` and store the
    /// token set as [`Profiles::store`] does, with the preset's base URL in a
    /// new profile config and the preset remembered for refreshes.
    pub async fn log_in_oauth<R: AsyncBufRead + Unpin>(
        &mut self,
        login_to: &NewLogin,
        request: &LoginRequest,
        client: &TokenClient,
        events: &dyn LoginEvents,
        paste: Option<R>,
    ) -> Result<StoredLogin, ProfileError> {
        let set = login(request, client, events, paste).await?;
        let preset = &request.preset;
        let stored = self.store_with_base_url(
            login_to,
            &Credential::OAuth(set),
            preset.base_url.as_deref(),
        )?;
        if let Some(path) =
            refresh_state::state_path(self.resolver.env(), false, Some(&login_to.profile))
        {
            // Bookkeeping only: a refresh finds the preset by client id too.
            let _ = RefreshState::update(&path, |s| {
                *s = RefreshState {
                    provider: Some(preset.id.clone()),
                    ..RefreshState::default()
                };
            });
        }
        Ok(stored)
    }

    fn store_with_base_url(
        &mut self,
        login: &NewLogin,
        credential: &Credential,
        base_url: Option<&str>,
    ) -> Result<StoredLogin, ProfileError> {
        let profile = login.profile.as_str();
        let storage = login
            .storage
            .unwrap_or_else(|| self.resolver.settings().storage_for_new_login(profile));
        let mut notices = Vec::new();
        let (location, stored_in) = match storage {
            StorageKind::File => (
                self.store_in_file(profile, credential, base_url, &mut notices)?,
                StorageKind::File,
            ),
            StorageKind::Keyring => {
                let store = self.resolver.store_for(StorageKind::Keyring)?;
                match store.save(profile, credential) {
                    Ok(()) => (store.location(profile), StorageKind::Keyring),
                    Err(e) if !login.fallback => return Err(ProfileError::KeyringUnavailable(e)),
                    Err(e) => {
                        notices.push(LoginNotice::KeyringFallback {
                            reason: e.to_string(),
                        });
                        (
                            self.store_in_file(profile, credential, base_url, &mut notices)?,
                            StorageKind::File,
                        )
                    }
                }
            }
            StorageKind::EncryptedFile => {
                let store = self.resolver.store_for(StorageKind::EncryptedFile)?;
                store.save(profile, credential)?;
                (store.location(profile), StorageKind::EncryptedFile)
            }
        };
        record_storage(self.resolver.env(), profile, Some(stored_in))?;
        self.resolver.note_storage(profile, Some(stored_in));
        let sdk_readable = self.activate_new(profile, stored_in, login.named)?;
        if !sdk_readable && login.named && self.resolver.active_profile(None)?.name != profile {
            notices.push(LoginNotice::NotActivated {
                profile: profile.to_owned(),
            });
        }
        Ok(StoredLogin {
            profile: profile.to_owned(),
            location,
            storage: stored_in,
            kind: credential.kind(),
            masked: credential.secret().masked(),
            identity: credential
                .token_set()
                .map(|s| s.identity.clone())
                .unwrap_or_default(),
            sdk_readable,
            notices,
        })
    }

    /// Like `ant auth login`: make the profile active when none is, or when
    /// it was named, but only where the official SDKs can read it. Returns
    /// whether they can.
    fn activate_new(
        &self,
        profile: &str,
        stored_in: StorageKind,
        named: bool,
    ) -> Result<bool, ProfileError> {
        let files = self.resolver.profile_files();
        let sdk_readable = stored_in == StorageKind::File && files.config_exists(profile);
        if sdk_readable && (named || files.active_profile().ok().flatten().is_none()) {
            files.set_active_profile(profile)?;
        }
        Ok(sdk_readable)
    }

    fn store_in_file(
        &self,
        profile: &str,
        credential: &Credential,
        base_url: Option<&str>,
        notices: &mut Vec<LoginNotice>,
    ) -> Result<String, ProfileError> {
        let set = match credential {
            Credential::ApiKey { .. } => {
                if let Some(replaced) = self.replace_spec_login(profile)? {
                    notices.push(replaced);
                }
                let keys = self.resolver.own_keys();
                keys.save(profile, credential)?;
                return Ok(keys.path(profile).display().to_string());
            }
            Credential::OAuth(set) => set.clone(),
            Credential::Bearer {
                token,
                provider,
                expires_at,
            } => {
                let mut set = TokenSet::access_only(token.clone(), provider.clone());
                set.expires_at = *expires_at;
                set
            }
        };
        // A key file left from an earlier API-key login would otherwise linger.
        self.resolver.own_keys().delete(profile)?;
        let files = self.resolver.profile_files();
        files.write_config_if_missing(profile, &set, base_url)?;
        Ok(files
            .write_credentials(profile, &set)?
            .display()
            .to_string())
    }

    /// An API key replaces a profile's OAuth login in the official files:
    /// the spec files cannot hold a key, and leaving them would keep the old
    /// login winning. An active profile stays active through claude-auth's
    /// own pointer.
    fn replace_spec_login(&self, profile: &str) -> Result<Option<LoginNotice>, ProfileError> {
        let files = self.resolver.profile_files();
        if !files.config_exists(profile) {
            return Ok(None);
        }
        let config = files.read_config(profile).ok().flatten();
        let credentials = files.credentials_path(profile, config.as_ref());
        files.delete_credentials(profile)?;
        secure_file::remove_if_exists(&files.config_path(profile))?;
        if files.active_profile().ok().flatten().as_deref() == Some(profile) {
            secure_file::remove_if_exists(&files.active_config_path())?;
            secure_file::write_atomic(&self.resolver.own_active_path(), profile.as_bytes(), 0o600)?;
        }
        Ok(Some(LoginNotice::ReplacedSpecLogin {
            profile: profile.to_owned(),
            config: files.config_path(profile),
            credentials,
        }))
    }
}
