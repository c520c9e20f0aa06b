//! Logout, as `ant auth logout` does it: credentials only, from every
//! storage; with `all`, every profile's files and `active_config` too (and
//! claude-auth's own pointer); never the directory. Idempotent. Before a
//! login is deleted its token is revoked where the provider has a
//! revocation endpoint (best effort: the local delete happens regardless).

use std::fmt;

use crate::config::settings::record_storage;
use crate::credential::Credential;
use crate::engine::refresh_state::{state_path, RefreshState};
use crate::oauth::token_client::TokenClient;
use crate::secure_file;
use crate::source::{ResolveOptions, SourceId};
use crate::store::{CredentialStore, StorageKind};

use super::{ProfileError, Profiles};

/// Something that happened while logging out, for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutNote {
    /// The login was revoked at its provider.
    Revoked {
        /// The profile.
        profile: String,
        /// The provider's name (from its preset).
        provider: String,
    },
    /// Revocation failed; the login was deleted locally anyway.
    RevocationFailed {
        /// The profile.
        profile: String,
        /// What went wrong (never a secret).
        reason: String,
    },
    /// The storage this profile is meant to live in could not be asked to
    /// delete it (an unavailable keyring, say).
    StoreFailed {
        /// The profile.
        profile: String,
        /// The store's error.
        message: String,
    },
}

impl LogoutNote {
    /// Whether this is a warning (something did not go as asked) rather
    /// than progress.
    pub fn is_warning(&self) -> bool {
        !matches!(self, LogoutNote::Revoked { .. })
    }
}

impl fmt::Display for LogoutNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogoutNote::Revoked { provider, .. } => write!(f, "revoked the login at {provider}"),
            LogoutNote::RevocationFailed { reason, .. } => write!(
                f,
                "could not revoke the login at the provider ({reason}); deleting it locally anyway"
            ),
            LogoutNote::StoreFailed { message, .. } => f.write_str(message),
        }
    }
}

/// What [`Profiles::logout`] did.
#[derive(Clone, Debug)]
pub struct LoggedOut {
    /// The profile logged out of; `None` for `all`.
    pub profile: Option<String>,
    /// What was removed (paths, keyring entries), in order.
    pub removed: Vec<String>,
    /// Revocations and warnings, in order.
    pub notes: Vec<LogoutNote>,
    /// A source that still yields a credential afterwards (one `logout`
    /// does not manage, such as Claude Code's login or the environment).
    pub still_available: Option<SourceId>,
}

impl Profiles {
    /// Log out of `explicit` (a `--profile` flag), else the active profile;
    /// with `all`, out of every profile, removing the profile files,
    /// `active_config` and claude-auth's own pointer as well.
    pub async fn logout(
        &mut self,
        explicit: Option<&str>,
        all: bool,
    ) -> Result<LoggedOut, ProfileError> {
        let mut out = LoggedOut {
            profile: None,
            removed: Vec::new(),
            notes: Vec::new(),
            still_available: None,
        };
        if all {
            for profile in self.resolver.list_profiles()? {
                self.remove_everywhere(&profile, &mut out).await?;
            }
            for path in self.resolver.profile_files().delete_all()? {
                let text = path.display().to_string();
                if !out.removed.contains(&text) {
                    out.removed.push(text);
                }
            }
            let own_pointer = self.resolver.own_active_path();
            if secure_file::remove_if_exists(&own_pointer)? {
                out.removed.push(own_pointer.display().to_string());
            }
        } else {
            let profile = self.target(explicit)?;
            self.remove_everywhere(&profile, &mut out).await?;
            out.profile = Some(profile);
        }
        let after = self.resolver.resolve(&ResolveOptions {
            explicit_profile: explicit.map(str::to_owned),
            ..ResolveOptions::default()
        });
        out.still_available = after.winner().map(|w| w.id);
        Ok(out)
    }

    async fn remove_everywhere(
        &mut self,
        profile: &str,
        out: &mut LoggedOut,
    ) -> Result<(), ProfileError> {
        if let Some(note) = self.revoke(profile).await {
            out.notes.push(note);
        }
        record_storage(self.resolver.env(), profile, None)?;
        let files = self.resolver.profile_files();
        let creds =
            files.credentials_path(profile, files.read_config(profile).ok().flatten().as_ref());
        if files.delete_credentials(profile)? {
            out.removed.push(creds.display().to_string());
        }
        let keys = self.resolver.own_keys();
        if keys.delete(profile)? {
            out.removed.push(keys.path(profile).display().to_string());
        }
        for kind in [StorageKind::Keyring, StorageKind::EncryptedFile] {
            let Ok(store) = self.resolver.store_for(kind) else {
                continue;
            };
            match store.delete(profile) {
                Ok(true) => out.removed.push(store.location(profile)),
                Ok(false) => {}
                // An unavailable keyring holds nothing we could remove; say
                // so only when this profile is meant to live there.
                Err(e) if self.resolver.settings().storage_for(profile) == kind => {
                    out.notes.push(LogoutNote::StoreFailed {
                        profile: profile.to_owned(),
                        message: e.to_string(),
                    });
                }
                Err(_) => {}
            }
        }
        self.resolver.note_storage(profile, None);
        Ok(())
    }

    /// Revoke the profile's refresh token (else its access token) at its
    /// provider when the provider has a revocation endpoint; `None` when
    /// there is nothing to revoke or nowhere to revoke it.
    async fn revoke(&self, profile: &str) -> Option<LogoutNote> {
        let found = self.resolver.load_profile(profile).ok().flatten()?;
        let set = found.credential.as_ref().and_then(Credential::token_set)?;
        let presets = self.resolver.settings().presets().ok()?;
        let state = state_path(self.resolver.env(), false, Some(profile))
            .map(|p| RefreshState::load(&p))
            .unwrap_or_default();
        let preset = state.preset(&presets, false, set.client_id.as_deref())?;
        let url = preset.revocation_url.as_deref()?;
        let (token, hint) = match &set.refresh_token {
            Some(r) => (r, "refresh_token"),
            None => (&set.access_token, "access_token"),
        };
        let client_id = set.client_id.as_deref().unwrap_or(&preset.client_id);
        let result = match TokenClient::new() {
            Ok(client) => {
                client
                    .revoke(url, token, hint, client_id, preset.client_secret.as_ref())
                    .await
            }
            Err(e) => Err(e),
        };
        Some(match result {
            Ok(()) => LogoutNote::Revoked {
                profile: profile.to_owned(),
                provider: preset.name.clone(),
            },
            Err(e) => LogoutNote::RevocationFailed {
                profile: profile.to_owned(),
                reason: e.to_string(),
            },
        })
    }
}
