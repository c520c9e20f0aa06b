//! Profiles: where a profile's credential is stored (the spec files,
//! claude-auth's own key file, the keyring, an encrypted file), which profile
//! is active, and loading one with the backing it came from. Used by the
//! explicit, `ANTHROPIC_PROFILE` and active-profile sources, and by the
//! engine to re-read a profile under its lock.

use std::path::PathBuf;

use crate::config::locations::{own_config_dir, validate_profile_name};
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::source::{ActiveProfile, Backing, Federation, Found, Resolver, Step};
use crate::store::profile_files::{ProfileAuth, ProfileCredential, DEFAULT_PROFILE};
use crate::store::{CredentialStore, StorageKind};

impl Resolver {
    /// The store a profile's credential lives in, per the settings.
    pub fn store_for(&self, kind: StorageKind) -> Result<Box<dyn CredentialStore>> {
        match kind {
            StorageKind::File => Ok(Box::new(self.profiles.clone())),
            #[cfg(feature = "keyring")]
            StorageKind::Keyring => Ok(Box::new(crate::store::keyring::KeyringStore::new(
                &self.settings.keyring_service,
            ))),
            #[cfg(feature = "encrypted-file")]
            StorageKind::EncryptedFile => Ok(Box::new(
                crate::store::encrypted::EncryptedFileStore::from_env(
                    own_config_dir(&self.env).path.join("encrypted"),
                    &self.env,
                ),
            )),
            #[allow(unreachable_patterns)]
            other => Err(Error::Unsupported(format!(
                "storage {other} is not compiled into this build of claude-auth"
            ))),
        }
    }

    /// Which profile is active, and why (ignoring `--profile`).
    pub fn active_profile(&self, explicit: Option<&str>) -> Result<ActiveProfile> {
        if let Some(p) = explicit {
            return Ok(ActiveProfile {
                name: p.to_owned(),
                origin: "--profile".into(),
            });
        }
        if let Some(p) = self.env.get("ANTHROPIC_PROFILE") {
            return Ok(ActiveProfile {
                name: p.to_owned(),
                origin: "ANTHROPIC_PROFILE".into(),
            });
        }
        if let Some(p) = self.profiles.active_profile()? {
            return Ok(ActiveProfile {
                name: p,
                origin: format!("{}", self.profiles.active_config_path().display()),
            });
        }
        if let Some(p) = self.own_active_profile()? {
            return Ok(ActiveProfile {
                name: p,
                origin: format!("{}", self.own_active_path().display()),
            });
        }
        Ok(ActiveProfile {
            name: DEFAULT_PROFILE.into(),
            origin: "default".into(),
        })
    }

    /// claude-auth's own active-profile pointer, used for profiles the
    /// official SDKs cannot read (API keys, keyring): writing those into the
    /// spec's `active_config` would break every SDK. Consulted only when
    /// `active_config` does not exist.
    pub fn own_active_path(&self) -> PathBuf {
        own_config_dir(&self.env).path.join("active_profile")
    }

    /// The name in claude-auth's own pointer, if any.
    pub fn own_active_profile(&self) -> Result<Option<String>> {
        crate::store::profile_files::read_profile_pointer(&self.own_active_path())
    }

    /// Whether a profile exists anywhere (spec config, own key file, settings).
    pub fn profile_exists(&self, name: &str) -> bool {
        self.profiles.config_exists(name)
            || self.own_keys.path(name).exists()
            || self.settings.profiles.contains_key(name)
            || self.settings.stored_in.contains_key(name)
    }

    /// Every known profile, sorted.
    pub fn list_profiles(&self) -> Result<Vec<String>> {
        let mut names = self.profiles.list()?;
        if let Ok(entries) =
            std::fs::read_dir(self.own_keys.path("x").parent().unwrap_or(&PathBuf::new()))
        {
            for e in entries.flatten() {
                if let Some(stem) = e.file_name().to_str().and_then(|n| n.strip_suffix(".json")) {
                    if validate_profile_name(stem, "").is_ok() {
                        names.push(stem.to_owned());
                    }
                }
            }
        }
        names.extend(self.settings.profiles.keys().cloned());
        names.extend(self.settings.stored_in.keys().cloned());
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Load one profile from wherever its storage says.
    pub fn load_profile(&self, name: &str) -> Result<Option<Found>> {
        self.load_profile_from(name, self.settings.storage_for(name))
    }

    /// Load one profile from a given storage.
    pub fn load_profile_from(&self, name: &str, storage: StorageKind) -> Result<Option<Found>> {
        let base_url_env = self.env.get("ANTHROPIC_BASE_URL").map(str::to_owned);
        if storage == StorageKind::File {
            if let Some((config, content)) = self.profiles.load_profile(name)? {
                let base_url = config.base_url.clone().or(base_url_env);
                let mut found = match content {
                    ProfileCredential::OAuth(mut set) => {
                        if set.identity.workspace_id.is_none() {
                            set.identity.workspace_id =
                                self.env.get("ANTHROPIC_WORKSPACE_ID").map(str::to_owned);
                        }
                        let path = self.profiles.credentials_path(name, Some(&config));
                        let mut f = Found::new(
                            Credential::OAuth(set),
                            path.display().to_string(),
                            Backing::ProfileFile {
                                profile: name.to_owned(),
                                path,
                            },
                        );
                        if matches!(
                            config.auth,
                            ProfileAuth::UserOauth {
                                client_id: None,
                                ..
                            }
                        ) {
                            f.notes.push(
                                "no client_id in the profile's config: the token is static or rotated by another tool".into(),
                            );
                        }
                        f
                    }
                    ProfileCredential::Federation => {
                        let ProfileAuth::OidcFederation {
                            federation_rule_id,
                            service_account_id,
                            identity_token_path,
                            scope,
                        } = &config.auth
                        else {
                            return Err(Error::parse(
                                &config.path,
                                "inconsistent authentication block",
                            ));
                        };
                        let e = |k: &str| self.env.get(k).map(str::to_owned);
                        let federation = Federation {
                            federation_rule_id: federation_rule_id
                                .clone()
                                .or_else(|| e("ANTHROPIC_FEDERATION_RULE_ID"))
                                .ok_or_else(|| {
                                    Error::parse(
                                        &config.path,
                                        "authentication.federation_rule_id is missing",
                                    )
                                })?,
                            organization_id: config
                                .organization_id
                                .clone()
                                .or_else(|| e("ANTHROPIC_ORGANIZATION_ID")),
                            service_account_id: service_account_id
                                .clone()
                                .or_else(|| e("ANTHROPIC_SERVICE_ACCOUNT_ID")),
                            workspace_id: config
                                .workspace_id
                                .clone()
                                .or_else(|| e("ANTHROPIC_WORKSPACE_ID")),
                            scope: scope.clone().or_else(|| e("ANTHROPIC_SCOPE")),
                            identity_token_file: identity_token_path
                                .clone()
                                .or_else(|| self.env.path("ANTHROPIC_IDENTITY_TOKEN_FILE")),
                            identity_token: None,
                            token_cache: Some(self.profiles.credentials_path(name, Some(&config))),
                        };
                        Found {
                            credential: None,
                            profile: None,
                            location: config.path.display().to_string(),
                            backing: Backing::Federation(Box::new(federation)),
                            storage: None,
                            base_url: None,
                            notes: Vec::new(),
                        }
                    }
                };
                found.profile = Some(name.to_owned());
                found.storage = Some(StorageKind::File);
                found.base_url = base_url;
                return Ok(Some(found));
            }
            if let Some(cred) = self.own_keys.load(name)? {
                let path = self.own_keys.path(name);
                let backing = Backing::KeyFile {
                    profile: name.to_owned(),
                    path: path.clone(),
                };
                let mut f = Found::new(cred, path.display().to_string(), backing);
                f.profile = Some(name.to_owned());
                f.storage = Some(StorageKind::File);
                f.base_url = base_url_env;
                return Ok(Some(f));
            }
            return Ok(None);
        }
        let store = self.store_for(storage)?;
        let loaded = store.load(name);
        if let Ok(Some(cred)) = loaded {
            let profile = name.to_owned();
            let backing = match storage {
                StorageKind::Keyring => Backing::Keyring { profile },
                _ => Backing::EncryptedFile { profile },
            };
            let mut f = Found::new(cred, store.location(name), backing);
            f.profile = Some(name.to_owned());
            f.storage = Some(storage);
            f.base_url = base_url_env;
            return Ok(Some(f));
        }
        // A login that fell back to a file (keyring unavailable at the time)
        // is still found, and said so.
        if storage == StorageKind::Keyring {
            if let Ok(Some(mut f)) = self.load_profile_from(name, StorageKind::File) {
                f.notes.push(format!(
                    "profile {name:?} is set to use the keyring, but its credential is in a file (the keyring was unavailable when it was stored)"
                ));
                return Ok(Some(f));
            }
        }
        loaded.map(|_| None)
    }

    /// A profile as a source's step: found, skipped, or an error (which stops
    /// the chain when the user `chosen` the profile).
    pub(crate) fn profile_step(&self, name: &str, origin: &str, chosen: bool) -> Step {
        if let Err(e) = validate_profile_name(name, origin) {
            return Step::Fail(e, true);
        }
        match self.load_profile(name) {
            Ok(Some(found)) => Step::Found(Box::new(found)),
            Ok(None) if chosen => Step::Fail(
                Error::ProfileNotFound {
                    profile: name.to_owned(),
                    path: self.profiles.config_path(name),
                },
                true,
            ),
            Ok(None) => Step::Skip(format!("profile {name:?} holds no credential")),
            Err(e) => Step::Fail(e, chosen),
        }
    }
}
