//! Which profiles exist, what each holds, and which one is active.
//!
//! Activation writes the spec's `active_config` only for profiles the
//! official SDKs can read (a spec profile in the files); an API-key or
//! keyring profile is activated through claude-auth's own pointer, so the
//! SDKs are never pointed at a profile they cannot load.

use std::path::PathBuf;

use serde::Serialize;

use crate::config::locations::validate_profile_name;
use crate::credential::now_unix;
use crate::doors::status::{summarize, CredentialSummary};
use crate::secure_file;
use crate::store::StorageKind;

use super::{ProfileError, Profiles};

/// One profile, as `profile list` and `profile show` print it (the JSON
/// shape is the CLI's `--json` output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileEntry {
    /// The profile.
    pub name: String,
    /// Whether it is the active one.
    pub active: bool,
    /// The storage it is read from (`file`, `keyring`, `encrypted-file`).
    pub storage: String,
    /// Whether the official SDKs and `ant` can use it.
    pub sdk_readable: bool,
    /// What it holds (masked), when it holds something readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialSummary>,
    /// Why it holds nothing usable (`no credential stored`, or the store's error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where [`Profiles::use_profile`] recorded the choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activated {
    /// The spec's `active_config`: every SDK and `ant` use the profile.
    ActiveConfig(PathBuf),
    /// claude-auth's own pointer: the official SDKs cannot read this
    /// profile (an API key or a keyring entry) and are unaffected.
    OwnPointer(PathBuf),
}

impl Profiles {
    fn entry(&self, name: &str, active: &str) -> ProfileEntry {
        let (credential, error) = match self.resolver.load_profile(name) {
            Ok(Some(found)) => (Some(summarize(&found, now_unix())), None),
            Ok(None) => (None, Some("no credential stored".to_owned())),
            Err(e) => (None, Some(e.to_string())),
        };
        ProfileEntry {
            name: name.to_owned(),
            active: name == active,
            storage: self
                .resolver
                .settings()
                .storage_for(name)
                .as_str()
                .to_owned(),
            sdk_readable: self.resolver.profile_files().config_exists(name),
            credential,
            error,
        }
    }

    /// Every known profile, sorted, the active one marked (`explicit` is a
    /// `--profile` flag, which makes that profile the active one).
    pub fn list(&self, explicit: Option<&str>) -> Result<Vec<ProfileEntry>, ProfileError> {
        let active = self.resolver.active_profile(explicit)?.name;
        Ok(self
            .resolver
            .list_profiles()?
            .iter()
            .map(|n| self.entry(n, &active))
            .collect())
    }

    /// One profile (`name` validated), marked active per `explicit` as in
    /// [`Profiles::list`]. A profile that holds nothing is an entry with an
    /// error, not a failure.
    pub fn show(&self, name: &str, explicit: Option<&str>) -> Result<ProfileEntry, ProfileError> {
        validate_profile_name(name, "profile show")?;
        let active = self.resolver.active_profile(explicit)?.name;
        Ok(self.entry(name, &active))
    }

    /// Make `name` the active profile: `active_config` when the official
    /// SDKs can read it (removing claude-auth's own pointer), else
    /// claude-auth's own pointer, refused while `active_config` selects a
    /// profile for every SDK.
    pub fn use_profile(&self, name: &str) -> Result<Activated, ProfileError> {
        validate_profile_name(name, "profile use")?;
        if !self.resolver.profile_exists(name) {
            return Err(ProfileError::NoSuchProfile(name.to_owned()));
        }
        let files = self.resolver.profile_files();
        let own_pointer = self.resolver.own_active_path();
        if files.config_exists(name)
            && self.resolver.settings().storage_for(name) == StorageKind::File
        {
            files.set_active_profile(name)?;
            secure_file::remove_if_exists(&own_pointer)?;
            return Ok(Activated::ActiveConfig(files.active_config_path()));
        }
        if files.active_profile()?.is_some() {
            return Err(ProfileError::ActiveConfigInTheWay {
                profile: name.to_owned(),
                active_config: files.active_config_path(),
            });
        }
        secure_file::write_atomic(&own_pointer, name.as_bytes(), 0o600)?;
        Ok(Activated::OwnPointer(own_pointer))
    }
}
