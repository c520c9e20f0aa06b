//! Where an OpenAI login goes, and logging out of one: our own OpenAI
//! profiles ([`crate::store::openai_profiles`]: a file, the keyring or the
//! encrypted file, with the same visible keyring-to-file fallback as the
//! Claude side), or Codex's own login (`$CODEX_HOME/auth.json`, or Codex's
//! keyring entry when its `config.toml` says `keyring`/`auto`) so Codex
//! uses it too. Codex's document is merged, not replaced: keys this crate
//! does not own are kept, and a file that cannot be read or parsed is left
//! untouched (its error is returned).
//!
//! Logout of a ChatGPT login first revokes its refresh token at the
//! issuer's `/oauth/revoke`, as Codex 0.171.0 does on `codex logout` (an
//! endpoint observed in Codex's traffic, not documented by the issuer:
//! [`crate::openai::chatgpt::REVOKE_PATH`]), then removes the stored login.
//! Revocation is best effort, as on the Claude side: when it fails the
//! login is removed anyway and the failure is reported
//! ([`OpenaiLogoutNote::RevocationFailed`]).

use std::fmt;
use std::path::PathBuf;

use crate::config::env::Env;
use crate::credential::{Credential, CredentialKind, Identity, Provider};
use crate::error::Error;
use crate::openai::chatgpt::ChatGptOAuth;
use crate::openai::home;
use crate::openai::login::ChatGptLogin;
use crate::secret::Secret;
use crate::store::openai_profiles::OpenaiProfiles;
use crate::store::StorageKind;

use super::{LoginNotice, ProfileError, Profiles};

mod codex;

/// The profile name of an OpenAI login when none is named or active.
pub const DEFAULT_OPENAI_PROFILE: &str = "default";

/// Where an OpenAI login goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenaiDestination {
    /// One of our OpenAI profiles.
    Profile {
        /// The profile (validated by [`Profiles::openai_destination`]).
        name: String,
        /// The storage; `None`: the default storage of the settings.
        storage: Option<StorageKind>,
        /// Fall back to a file (visibly) when the keyring is unavailable.
        fallback: bool,
    },
    /// Codex's login (`$CODEX_HOME`).
    Codex,
}

/// What an OpenAI login is: a ChatGPT login or an API key.
#[derive(Clone, Debug)]
pub enum OpenaiLogin {
    /// A completed ChatGPT login.
    ChatGpt(Box<ChatGptLogin>),
    /// An OpenAI API key.
    ApiKey(Secret),
}

impl OpenaiLogin {
    /// The login as a credential of provider `openai`.
    pub fn credential(&self) -> Credential {
        match self {
            OpenaiLogin::ChatGpt(login) => login.credential(),
            OpenaiLogin::ApiKey(key) => Credential::ApiKey {
                key: key.clone(),
                provider: Provider::Openai,
            },
        }
    }
}

/// Check an OpenAI API key read from the user: OpenAI's keys start with
/// `sk-` (`sk-proj-…`, `sk-svcacct-…`); an Anthropic key is a mistake.
pub fn check_openai_api_key(key: &Secret) -> Result<(), String> {
    let value = key.expose();
    if value.starts_with("sk-ant-") {
        return Err("that is an Anthropic key (sk-ant-…), not an OpenAI API key; store it with `claude-auth login --with-token` (no --provider)".into());
    }
    if !value.starts_with("sk-") {
        return Err("that is not an OpenAI API key: OpenAI's keys start with sk- (sk-proj-…, sk-svcacct-…); create one at https://platform.openai.com/api-keys".into());
    }
    Ok(())
}

/// What storing an OpenAI login did.
#[derive(Clone, Debug)]
pub struct StoredOpenaiLogin {
    /// The OpenAI profile, or `None` for Codex's login.
    pub profile: Option<String>,
    /// Where it went, for humans (a path or a keyring entry).
    pub location: String,
    /// The storage (`None` for Codex's login).
    pub storage: Option<StorageKind>,
    /// What was stored.
    pub kind: CredentialKind,
    /// Its masked value.
    pub masked: String,
    /// Who logged in (a ChatGPT login; empty for an API key).
    pub identity: Identity,
    /// What to tell the user, in order.
    pub notices: Vec<LoginNotice>,
}

/// Something that happened while logging out of OpenAI.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenaiLogoutNote {
    /// The ChatGPT login's refresh token was revoked at the issuer.
    Revoked {
        /// The revocation endpoint.
        url: String,
    },
    /// Revocation failed; the login was removed locally anyway.
    RevocationFailed {
        /// What went wrong (never a secret).
        reason: String,
    },
}

impl OpenaiLogoutNote {
    /// Whether this is a warning (something did not go as asked) rather
    /// than progress.
    pub fn is_warning(&self) -> bool {
        matches!(self, OpenaiLogoutNote::RevocationFailed { .. })
    }
}

impl fmt::Display for OpenaiLogoutNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenaiLogoutNote::Revoked { url } => {
                write!(f, "revoked the ChatGPT login at {url}")
            }
            OpenaiLogoutNote::RevocationFailed { reason } => write!(
                f,
                "could not revoke the ChatGPT login ({reason}); removing it locally anyway"
            ),
        }
    }
}

/// What an OpenAI logout did.
#[derive(Clone, Debug, Default)]
pub struct OpenaiLoggedOut {
    /// The OpenAI profile logged out of (`None`: Codex's login).
    pub profile: Option<String>,
    /// What was removed (paths, keyring entries), in order.
    pub removed: Vec<String>,
    /// Notes for the user.
    pub notes: Vec<OpenaiLogoutNote>,
}

impl Profiles {
    /// Our OpenAI profiles, over this service's environment and settings.
    pub fn openai_profiles(&self) -> OpenaiProfiles {
        OpenaiProfiles::new(self.resolver.env(), self.resolver.settings())
    }

    /// The OpenAI profile an operation acts on: `explicit` (a `--profile`
    /// flag), else the active OpenAI profile, else
    /// [`DEFAULT_OPENAI_PROFILE`]; validated.
    pub fn openai_target(&self, explicit: Option<&str>) -> Result<String, ProfileError> {
        let name = match explicit {
            Some(name) => name.to_owned(),
            None => self
                .openai_profiles()
                .active()?
                .unwrap_or_else(|| DEFAULT_OPENAI_PROFILE.to_owned()),
        };
        crate::config::locations::validate_profile_name(&name, "--profile")?;
        Ok(name)
    }

    /// Store `login` at `destination`. A profile login becomes the active
    /// OpenAI profile when it was named or none is active.
    pub fn store_openai(
        &self,
        destination: &OpenaiDestination,
        named: bool,
        login: &OpenaiLogin,
    ) -> Result<StoredOpenaiLogin, ProfileError> {
        let credential = login.credential();
        let mut stored = StoredOpenaiLogin {
            profile: None,
            location: String::new(),
            storage: None,
            kind: credential.kind(),
            masked: credential.secret().masked(),
            identity: credential
                .token_set()
                .map(|s| s.identity.clone())
                .unwrap_or_default(),
            notices: Vec::new(),
        };
        match destination {
            OpenaiDestination::Codex => {
                stored.location =
                    codex::write_codex(self.resolver.env(), login, &mut stored.notices)?;
            }
            OpenaiDestination::Profile {
                name,
                storage,
                fallback,
            } => {
                let profiles = self.openai_profiles();
                let wanted = storage.unwrap_or(self.resolver.settings().storage);
                let kind = match profiles.save(name, &credential, wanted) {
                    Ok(()) => wanted,
                    Err(e) if wanted == StorageKind::Keyring && *fallback => {
                        stored.notices.push(LoginNotice::KeyringFallback {
                            reason: e.to_string(),
                        });
                        profiles.save(name, &credential, StorageKind::File)?;
                        StorageKind::File
                    }
                    Err(e) if wanted == StorageKind::Keyring => {
                        return Err(ProfileError::KeyringUnavailable(e))
                    }
                    Err(e) => return Err(e.into()),
                };
                if named || profiles.active()?.is_none() {
                    profiles.set_active(name)?;
                }
                stored.location = profiles.store(kind)?.location(name);
                stored.storage = Some(kind);
                stored.profile = Some(name.clone());
            }
        }
        Ok(stored)
    }

    /// The ChatGPT client at the issuer of the settings (`[openai] issuer`,
    /// `CLAUDE_AUTH_OPENAI_ISSUER`), else the real one.
    pub fn chatgpt_oauth(&self) -> ChatGptOAuth {
        match &self.resolver.settings().openai_issuer {
            Some(issuer) => ChatGptOAuth::with_issuer(issuer),
            None => ChatGptOAuth::default(),
        }
    }

    /// Remove the OpenAI login of `explicit` (else the active OpenAI
    /// profile), or with `codex` Codex's login. A ChatGPT login's refresh
    /// token is revoked first (best effort). Idempotent.
    pub async fn logout_openai(
        &self,
        explicit: Option<&str>,
        codex: bool,
    ) -> Result<OpenaiLoggedOut, ProfileError> {
        let mut out = OpenaiLoggedOut::default();
        if codex {
            let env = self.resolver.env().clone();
            // As Codex: revoke before taking any lock.
            for token in codex::codex_refresh_tokens(&env) {
                out.notes.push(self.revoke_chatgpt(None, &token).await);
            }
            let (result, removed) = tokio::task::spawn_blocking(move || {
                let mut removed = OpenaiLoggedOut::default();
                (codex::remove_codex(&env, &mut removed), removed)
            })
            .await
            .map_err(|e| Error::Unsupported(format!("the logout task failed: {e}")))?;
            result?;
            out.removed = removed.removed;
            return Ok(out);
        }
        let name = self.openai_target(explicit)?;
        let profiles = self.openai_profiles();
        let storage = profiles.storage_of(&name)?;
        if let Ok(Some(Credential::OAuth(set))) = profiles.load(&name) {
            if let Some(token) = &set.refresh_token {
                out.notes
                    .push(self.revoke_chatgpt(set.client_id.as_deref(), token).await);
            }
        }
        if profiles.delete(&name)? {
            out.removed.push(profiles.store(storage)?.location(&name));
        }
        if profiles.active()?.as_deref() == Some(name.as_str()) {
            let pointer = profiles.active_path();
            if crate::secure_file::remove_if_exists(&pointer)? {
                out.removed.push(pointer.display().to_string());
            }
        }
        out.profile = Some(name);
        Ok(out)
    }

    /// Revoke `refresh_token` (issued to `client_id`, else Codex's client).
    async fn revoke_chatgpt(
        &self,
        client_id: Option<&str>,
        refresh_token: &Secret,
    ) -> OpenaiLogoutNote {
        let mut oauth = self.chatgpt_oauth();
        if let Some(id) = client_id {
            oauth.client_id = id.to_owned();
        }
        match crate::openai::login::revoke(&oauth, refresh_token).await {
            Ok(()) => OpenaiLogoutNote::Revoked {
                url: oauth.revoke_url(),
            },
            Err(e) => OpenaiLogoutNote::RevocationFailed {
                reason: e.to_string(),
            },
        }
    }
}

/// The path of Codex's `auth.json` for `env` (for messages).
pub fn codex_auth_json(env: &Env) -> PathBuf {
    home::auth_json_path(&home::codex_home(env))
}
