//! Where an OpenAI login goes, and logging out of one: our own OpenAI
//! profiles ([`crate::store::openai_profiles`]: a file, the keyring or the
//! encrypted file, with the same visible keyring-to-file fallback as the
//! Claude side), or Codex's own login (`$CODEX_HOME/auth.json`, or Codex's
//! keyring entry when its `config.toml` says `keyring`/`auto`) so Codex
//! uses it too. Codex's document is merged, not replaced: keys this crate
//! does not own are kept, and a file that cannot be read or parsed is left
//! untouched (its error is returned).
//!
//! Logout removes the stored login. Nothing is revoked: no revocation
//! endpoint is documented for OpenAI's issuer ([`OpenaiLogoutNote::NotRevoked`]).

use std::fmt;
use std::path::PathBuf;

use crate::config::env::Env;
use crate::credential::{now_unix, Credential, CredentialKind, Identity, Provider};
use crate::error::Error;
use crate::openai::auth_file::{AuthMode, CodexAuth, CodexAuthFile};
use crate::openai::home::{self, CredentialsStore};
use crate::openai::login::ChatGptLogin;
use crate::secret::Secret;
use crate::store::openai_profiles::OpenaiProfiles;
use crate::store::StorageKind;

use super::{LoginNotice, ProfileError, Profiles};

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
    /// A ChatGPT login was removed without revoking it.
    NotRevoked,
}

impl fmt::Display for OpenaiLogoutNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenaiLogoutNote::NotRevoked => f.write_str(
                "not revoked: OpenAI's issuer documents no revocation endpoint, so the removed ChatGPT tokens stay valid until they expire",
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
                stored.location = write_codex(self.resolver.env(), login, &mut stored.notices)?;
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

    /// Remove the OpenAI login of `explicit` (else the active OpenAI
    /// profile), or with `codex` Codex's login. Idempotent.
    pub fn logout_openai(
        &self,
        explicit: Option<&str>,
        codex: bool,
    ) -> Result<OpenaiLoggedOut, ProfileError> {
        let mut out = OpenaiLoggedOut::default();
        if codex {
            remove_codex(self.resolver.env(), &mut out)?;
            return Ok(out);
        }
        let name = self.openai_target(explicit)?;
        let profiles = self.openai_profiles();
        let storage = profiles.storage_of(&name)?;
        let was_chatgpt = matches!(profiles.load(&name), Ok(Some(Credential::OAuth(_))));
        if profiles.delete(&name)? {
            out.removed.push(profiles.store(storage)?.location(&name));
            if was_chatgpt {
                out.notes.push(OpenaiLogoutNote::NotRevoked);
            }
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
}

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

fn write_codex(
    env: &Env,
    login: &OpenaiLogin,
    notices: &mut Vec<LoginNotice>,
) -> Result<String, ProfileError> {
    match codex_store(env)? {
        CodexStore::File(file) => write_codex_file(&file, login),
        CodexStore::Keyring {
            service,
            account,
            auto,
            file,
        } => match keyring::write(service, &account, login) {
            Ok(location) => Ok(location),
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

fn remove_codex(env: &Env, out: &mut OpenaiLoggedOut) -> Result<(), ProfileError> {
    let store = codex_store(env)?;
    let file = match &store {
        CodexStore::File(file) | CodexStore::Keyring { file, .. } => file.clone(),
    };
    if let CodexStore::Keyring {
        service, account, ..
    } = &store
    {
        if let Some((location, chatgpt)) = keyring::delete(service, account)? {
            out.removed.push(location);
            if chatgpt {
                out.notes.push(OpenaiLogoutNote::NotRevoked);
            }
        }
    }
    // Only a file we can read is removed: one that does not parse may not
    // be a login at all.
    if let Some(doc) = file.load()? {
        crate::secure_file::remove_if_exists(file.path())?;
        out.removed.push(file.path().display().to_string());
        if doc.tokens().is_some() && !out.notes.contains(&OpenaiLogoutNote::NotRevoked) {
            out.notes.push(OpenaiLogoutNote::NotRevoked);
        }
    }
    Ok(())
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

    #[cfg(feature = "keyring")]
    pub(super) fn write(service: &str, account: &str, login: &OpenaiLogin) -> Result<String> {
        use crate::store::keyring::{KeyringBackend, OsKeyring};
        let existing = match OsKeyring.get(service, account) {
            Ok(text) => Some(CodexAuth::parse(
                text.as_bytes(),
                std::path::Path::new(&location(service, account)),
            )?),
            Err(::keyring::Error::NoEntry) => None,
            Err(e) => return Err(keyring_error(service, account, e)),
        };
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
        let doc = match OsKeyring.get(service, account) {
            Ok(text) => CodexAuth::parse(
                text.as_bytes(),
                std::path::Path::new(&location(service, account)),
            )?,
            Err(::keyring::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(keyring_error(service, account, e)),
        };
        OsKeyring
            .delete(service, account)
            .map_err(|e| keyring_error(service, account, e))?;
        Ok(Some((location(service, account), doc.tokens().is_some())))
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

/// The path of Codex's `auth.json` for `env` (for messages).
pub fn codex_auth_json(env: &Env) -> PathBuf {
    home::auth_json_path(&home::codex_home(env))
}
