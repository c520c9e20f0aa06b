//! Profiles: the one place that decides how logins are kept.
//!
//! [`store`](crate::store) knows how bytes go into a file or a keyring entry,
//! [`source`](crate::source) how a credential is found again; this module is
//! the policy between a front end and those: where a new login goes (with
//! the *visible* keyring-to-file fallback), when it becomes the active
//! profile (`active_config`, or claude-auth's own pointer for profiles the
//! official SDKs cannot read), what an API key replaces, which profiles
//! exist, and what logout removes and revokes. The CLI's `login`, `logout`
//! and `profile` commands, and any other front end, call [`Profiles`] and
//! only print what it returns.
//!
//! ```no_run
//! use claude_auth::profiles::Profiles;
//! use claude_auth::{Credential, Env, Resolver};
//!
//! # async fn demo() -> Result<(), claude_auth::profiles::ProfileError> {
//! let mut profiles = Profiles::new(Resolver::new(Env::from_process())?);
//! // Log in: store an API key for profile "ci" where its settings say.
//! let login = profiles.new_login(Some("ci"))?;
//! let stored = profiles.store(&login, &Credential::anthropic_api_key("sk-ant-api03-…"))?;
//! for notice in &stored.notices {
//!     eprintln!("warning: {notice}"); // e.g. the keyring fell back to a file, and why
//! }
//! println!("stored in {}", stored.location);
//! // Log out: revoke where the provider allows it, then delete everywhere.
//! let out = profiles.logout(Some("ci"), false).await?;
//! println!("removed {:?}", out.removed);
//! # Ok(()) }
//! ```

pub mod import;
mod listing;
mod login;
mod logout;
pub mod openai;

pub use import::{ImportAction, ImportItem, ImportOptions, ImportReport, ImportRule, ImportSource};
pub use listing::{Activated, ProfileEntry};
pub use login::{LoginNotice, NewLogin, StoredLogin};
pub use logout::{LoggedOut, LogoutNote};

use std::path::PathBuf;

use crate::config::locations::validate_profile_name;
use crate::error::Error;
use crate::oauth::login::LoginError;
use crate::source::Resolver;

/// Why a profile operation failed. Every message names what it concerns;
/// [`ProfileError::hint`] says what to do where there is more to say.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A store, a file or a setting failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// The keyring was asked for without a fallback and is unavailable.
    #[error(transparent)]
    KeyringUnavailable(Error),
    /// `use` of a profile that exists nowhere.
    #[error("no profile {0:?}")]
    NoSuchProfile(String),
    /// `use` of a profile the SDKs cannot read while `active_config`
    /// selects a profile for all of them.
    #[error("profile {profile:?} cannot be read by the official SDKs, and {} selects a profile for all of them", active_config.display())]
    ActiveConfigInTheWay {
        /// The profile asked for.
        profile: String,
        /// The spec's `active_config`.
        active_config: PathBuf,
    },
    /// The OAuth login flow did not complete.
    #[error(transparent)]
    Login(#[from] LoginError),
}

impl ProfileError {
    /// What to do about it, when the message alone does not say.
    pub fn hint(&self) -> Option<String> {
        match self {
            ProfileError::KeyringUnavailable(_) => Some(
                "start or unlock your keyring, or choose --storage file / encrypted-file".into(),
            ),
            ProfileError::NoSuchProfile(name) => Some(format!(
                "create it: claude-auth login --with-token --profile {name}; or see `claude-auth profile list`"
            )),
            ProfileError::ActiveConfigInTheWay { profile, .. } => Some(format!(
                "use `--profile {profile}` for this profile, or remove active_config first"
            )),
            _ => None,
        }
    }
}

/// The profile service: store, activate, list, show and log out, over one
/// [`Resolver`] (its environment, settings and stores).
///
/// Operations that record where a login went (`store`, `logout`) keep the
/// resolver's view of that record current, so a long-lived front end can
/// list or load a profile right after logging in to it.
#[derive(Clone, Debug)]
pub struct Profiles {
    resolver: Resolver,
}

impl Profiles {
    /// The service over `resolver`.
    pub fn new(resolver: Resolver) -> Self {
        Profiles { resolver }
    }

    /// The resolver (to resolve credentials after a change, for example).
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// The profile an operation acts on: `explicit` (a `--profile` flag),
    /// else the active one; its name validated.
    pub fn target(&self, explicit: Option<&str>) -> Result<String, ProfileError> {
        let name = match explicit {
            Some(p) => p.to_owned(),
            None => self.resolver.active_profile(None)?.name,
        };
        validate_profile_name(&name, "--profile")?;
        Ok(name)
    }
}
