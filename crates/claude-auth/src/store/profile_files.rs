//! The official credential-resolution spec's files, file for file.
//!
//! ```text
//! <config dir>/active_config            the active profile's name
//! <config dir>/configs/<profile>.json   non-secret: authentication, base_url, ids (0644 in 0755)
//! <config dir>/credentials/<profile>.json  secret: tokens (0600 in 0700)
//! ```
//!
//! Reads refuse a symlinked or group/other-accessible credentials file and a
//! group/other-writable config, as the SDKs do. Writes are atomic, 2-space
//! JSON with no trailing newline, `expires_at` an integer of seconds, and keep
//! every key they do not own. A file that does not parse is never overwritten.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::locations::validate_profile_name;
use crate::credential::{token_set_from_spec_map, token_set_into_spec_map, Credential, TokenSet};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secure_file::{
    create_dir_all_with_mode, read_optional, read_optional_limited, remove_if_exists,
    remove_temp_files, remove_with_temp_files, to_json_bytes, write_atomic, write_atomic_strict,
    ReadPolicy, MAX_POINTER_BYTES,
};
use crate::store::key_file::ClassifyJsonError;
use crate::store::CredentialStore;

/// The default profile name.
pub const DEFAULT_PROFILE: &str = "default";

/// How a profile authenticates (`authentication.type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileAuth {
    /// `user_oauth`: tokens from an interactive login (refreshed when
    /// `client_id` is set, otherwise static or rotated by someone else).
    UserOauth {
        /// OAuth client the tokens belong to.
        client_id: Option<String>,
        /// Scopes.
        scope: Option<String>,
    },
    /// `oidc_federation`: workload identity federation.
    OidcFederation {
        /// `federation_rule_id`.
        federation_rule_id: Option<String>,
        /// `service_account_id`.
        service_account_id: Option<String>,
        /// `identity_token.path` (source `file`).
        identity_token_path: Option<PathBuf>,
        /// `scope`.
        scope: Option<String>,
    },
}

/// A parsed `configs/<profile>.json`.
#[derive(Clone, Debug)]
pub struct ProfileConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// How the profile authenticates.
    pub auth: ProfileAuth,
    /// `base_url`.
    pub base_url: Option<String>,
    /// `organization_id`.
    pub organization_id: Option<String>,
    /// `workspace_id`.
    pub workspace_id: Option<String>,
    /// `authentication.credentials_path`, when it overrides the default.
    pub credentials_path: Option<PathBuf>,
}

/// What a profile holds.
#[allow(clippy::large_enum_variant)] // one value per load, never stored in bulk
#[derive(Clone, Debug)]
pub enum ProfileCredential {
    /// A `user_oauth` token set.
    OAuth(TokenSet),
    /// An `oidc_federation` profile: a token is obtained by exchange.
    Federation,
}

/// Read a file holding a profile name (`active_config`, claude-auth's own
/// pointer): trimmed and validated; `None` when missing or empty. Read as a
/// config file ([`ReadPolicy::Config`]), at most [`MAX_POINTER_BYTES`].
pub fn read_profile_pointer(path: &Path) -> Result<Option<String>> {
    let Some(bytes) = read_optional_limited(path, ReadPolicy::Config, MAX_POINTER_BYTES)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| Error::parse(path, "is not UTF-8 text"))?;
    let name = text.trim();
    if name.is_empty() {
        return Ok(None);
    }
    validate_profile_name(name, &path.display().to_string())?;
    Ok(Some(name.to_owned()))
}

/// The spec's files under one config dir.
#[derive(Clone, Debug)]
pub struct ProfileFiles {
    dir: PathBuf,
}

fn str_of(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn expand_tilde(path: &str) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return PathBuf::from(home).join(rest);
        }
    }
    PathBuf::from(path)
}

impl ProfileFiles {
    /// The files under `dir` (see [`crate::config::locations::anthropic_config_dir`]).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ProfileFiles { dir: dir.into() }
    }

    /// The config dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `configs/<profile>.json`.
    pub fn config_path(&self, profile: &str) -> PathBuf {
        self.dir.join("configs").join(format!("{profile}.json"))
    }

    /// `credentials/<profile>.json` (the default; a config may override it).
    pub fn default_credentials_path(&self, profile: &str) -> PathBuf {
        self.dir.join("credentials").join(format!("{profile}.json"))
    }

    /// `active_config`.
    pub fn active_config_path(&self) -> PathBuf {
        self.dir.join("active_config")
    }

    /// The name in `active_config`, trimmed; `None` when missing or empty.
    pub fn active_profile(&self) -> Result<Option<String>> {
        read_profile_pointer(&self.active_config_path())
    }

    /// Write `active_config`.
    pub fn set_active_profile(&self, profile: &str) -> Result<()> {
        validate_profile_name(profile, "profile")?;
        create_dir_all_with_mode(&self.dir, 0o700)?;
        write_atomic(&self.active_config_path(), profile.as_bytes(), 0o644)
    }

    /// Profiles with a config file, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let dir = self.dir.join("configs");
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".json")?.to_owned();
                validate_profile_name(&stem, "configs/").ok()?;
                Some(stem)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Whether `configs/<profile>.json` exists.
    pub fn config_exists(&self, profile: &str) -> bool {
        self.config_path(profile).is_file()
    }

    fn read_json_object(path: &Path, policy: ReadPolicy) -> Result<Option<Map<String, Value>>> {
        let Some(bytes) = read_optional(path, policy)? else {
            return Ok(None);
        };
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::parse(path, format!("not JSON ({})", e.classify_str())))?;
        match value {
            Value::Object(map) => Ok(Some(map)),
            _ => Err(Error::parse(path, "must contain a JSON object")),
        }
    }

    /// Read and check `configs/<profile>.json`; `Ok(None)` when missing.
    pub fn read_config(&self, profile: &str) -> Result<Option<ProfileConfig>> {
        validate_profile_name(profile, "profile")?;
        let path = self.config_path(profile);
        let Some(map) = Self::read_json_object(&path, ReadPolicy::Config)? else {
            return Ok(None);
        };
        let auth_map = map
            .get("authentication")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::parse(&path, "missing the 'authentication' object"))?;
        let auth =
            match auth_map.get("type").and_then(Value::as_str) {
                Some("user_oauth") => ProfileAuth::UserOauth {
                    client_id: str_of(auth_map, "client_id"),
                    scope: str_of(auth_map, "scope"),
                },
                Some("oidc_federation") => ProfileAuth::OidcFederation {
                    federation_rule_id: str_of(auth_map, "federation_rule_id"),
                    service_account_id: str_of(auth_map, "service_account_id"),
                    identity_token_path: auth_map
                        .get("identity_token")
                        .and_then(Value::as_object)
                        .and_then(|t| str_of(t, "path"))
                        .map(|p| expand_tilde(&p)),
                    scope: str_of(auth_map, "scope"),
                },
                Some(_) => return Err(Error::parse(
                    &path,
                    "authentication.type is not supported (expected user_oauth or oidc_federation)",
                )),
                None => return Err(Error::parse(&path, "authentication.type is missing")),
            };
        Ok(Some(ProfileConfig {
            credentials_path: str_of(auth_map, "credentials_path").map(|p| expand_tilde(&p)),
            path,
            auth,
            base_url: str_of(&map, "base_url"),
            organization_id: str_of(&map, "organization_id"),
            workspace_id: str_of(&map, "workspace_id"),
        }))
    }

    /// Where `profile`'s credentials live (the config's `credentials_path`
    /// or the default).
    pub fn credentials_path(&self, profile: &str, config: Option<&ProfileConfig>) -> PathBuf {
        config
            .and_then(|c| c.credentials_path.clone())
            .unwrap_or_else(|| self.default_credentials_path(profile))
    }

    /// Load a profile: its config and, for `user_oauth`, its tokens.
    /// `Ok(None)` when there is no config file.
    pub fn load_profile(
        &self,
        profile: &str,
    ) -> Result<Option<(ProfileConfig, ProfileCredential)>> {
        let Some(config) = self.read_config(profile)? else {
            return Ok(None);
        };
        match &config.auth {
            ProfileAuth::OidcFederation { .. } => Ok(Some((config, ProfileCredential::Federation))),
            ProfileAuth::UserOauth { client_id, scope } => {
                let path = self.credentials_path(profile, Some(&config));
                let map = Self::read_json_object(&path, ReadPolicy::Strict)?.ok_or_else(|| {
                    Error::parse(
                        &path,
                        format!(
                            "profile {profile:?} has a config but no credentials file; run `claude-auth login --profile {profile}`"
                        ),
                    )
                })?;
                if let Some(t) = map.get("type").and_then(Value::as_str) {
                    if t != "oauth_token" {
                        return Err(Error::parse(
                            &path,
                            "field 'type' is not \"oauth_token\"".to_owned(),
                        ));
                    }
                }
                let mut set = token_set_from_spec_map(&map).map_err(|m| Error::parse(&path, m))?;
                if client_id.is_some() && set.refresh_token.is_none() {
                    return Err(Error::parse(
                        &path,
                        format!(
                            "missing 'refresh_token', required because {} has a client_id; run `claude-auth login --profile {profile}`",
                            config.path.display()
                        ),
                    ));
                }
                set.client_id = client_id.clone();
                if set.scopes.is_empty() {
                    if let Some(scope) = scope {
                        set.scopes = scope.split_whitespace().map(str::to_owned).collect();
                    }
                }
                if set.identity.workspace_id.is_none() {
                    set.identity.workspace_id = config.workspace_id.clone();
                }
                if set.identity.organization_uuid.is_none() {
                    set.identity.organization_uuid = config.organization_id.clone();
                }
                Ok(Some((config, ProfileCredential::OAuth(set))))
            }
        }
    }

    /// Write `configs/<profile>.json` for a `user_oauth` login, only when it
    /// does not exist yet (as `ant auth login` does). Returns whether it wrote.
    pub fn write_config_if_missing(
        &self,
        profile: &str,
        set: &TokenSet,
        base_url: Option<&str>,
    ) -> Result<bool> {
        validate_profile_name(profile, "profile")?;
        let path = self.config_path(profile);
        if path.exists() {
            return Ok(false);
        }
        let mut auth = Map::new();
        auth.insert("type".into(), "user_oauth".into());
        if set.can_refresh() {
            if let Some(client) = &set.client_id {
                auth.insert("client_id".into(), client.clone().into());
            }
        }
        if !set.scopes.is_empty() {
            auth.insert("scope".into(), set.scopes.join(" ").into());
        }
        let mut map = Map::new();
        map.insert("version".into(), "1.0".into());
        map.insert("authentication".into(), Value::Object(auth));
        if let Some(url) = base_url {
            map.insert("base_url".into(), url.into());
        }
        if let Some(org) = &set.identity.organization_uuid {
            map.insert("organization_id".into(), org.clone().into());
        }
        if let Some(ws) = &set.identity.workspace_id {
            map.insert("workspace_id".into(), ws.clone().into());
        }
        create_dir_all_with_mode(&self.dir, 0o700)?;
        create_dir_all_with_mode(&self.dir.join("configs"), 0o755)?;
        write_atomic(&path, &to_json_bytes(&Value::Object(map)), 0o644)?;
        Ok(true)
    }

    /// Write `profile`'s token set into its credentials file, keeping keys
    /// this library does not own. Refuses to replace a file it cannot parse.
    pub fn write_credentials(&self, profile: &str, set: &TokenSet) -> Result<PathBuf> {
        validate_profile_name(profile, "profile")?;
        if set.provider != crate::credential::Provider::Anthropic {
            return Err(Error::Unsupported(format!(
                "the official profile files hold Anthropic logins only; a {} token is stored in claude-auth's own key file, the keyring or the encrypted file",
                set.provider.as_str()
            )));
        }
        let config = self.read_config(profile)?;
        if let Some(config) = &config {
            match &config.auth {
                ProfileAuth::OidcFederation { .. } => {
                    return Err(Error::Unsupported(format!(
                        "profile {profile:?} is a workload-identity profile ({}); choose another profile name",
                        config.path.display()
                    )))
                }
                ProfileAuth::UserOauth { client_id: Some(_), .. } if set.refresh_token.is_none() => {
                    return Err(Error::Unsupported(format!(
                        "profile {profile:?} is a refreshable login ({} has a client_id) and this token has no refresh token; use another profile or `claude-auth logout --profile {profile} --all` first",
                        config.path.display()
                    )))
                }
                _ => {}
            }
        }
        let path = self.credentials_path(profile, config.as_ref());
        let mut map = match read_optional(&path, ReadPolicy::Lenient)? {
            Some(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) | Err(_) => {
                    return Err(Error::parse(
                        &path,
                        "cannot be parsed, so it was not overwritten; move it aside to store new credentials",
                    ))
                }
            },
            None => Map::new(),
        };
        token_set_into_spec_map(set, &mut map);
        if let Some(parent) = path.parent() {
            create_dir_all_with_mode(parent, 0o700)?;
        }
        write_atomic_strict(&path, &to_json_bytes(&Value::Object(map)), 0o600)?;
        Ok(path)
    }

    /// The token a federation exchange cached at `path` (by us or by an
    /// official SDK), with its expiry. `Ok(None)` when there is no file or
    /// it holds no token with an expiry. Read with the credentials rules: a
    /// symlink or group/other bits are refused.
    pub fn read_token_cache(path: &Path) -> Result<Option<(Secret, u64)>> {
        let Some(map) = Self::read_json_object(path, ReadPolicy::Strict)? else {
            return Ok(None);
        };
        if let Some(t) = map.get("type").and_then(Value::as_str) {
            if t != "oauth_token" {
                return Err(Error::parse(path, "field 'type' is not \"oauth_token\""));
            }
        }
        let token = str_of(&map, "access_token");
        // The SDKs write an integer; a float is read as its whole seconds.
        let expires_at = map.get("expires_at").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        });
        match token.zip(expires_at) {
            Some((t, e)) => Ok(Some((
                Secret::token(t, "field 'access_token'").map_err(|m| Error::parse(path, m))?,
                e,
            ))),
            None => Ok(None),
        }
    }

    /// Cache an exchanged token at `path` as the SDKs do: `version`, `type`,
    /// `access_token` and `expires_at` set, other keys kept; 0600 in a 0700
    /// directory, atomically. A file that cannot be parsed is not replaced.
    pub fn write_token_cache(path: &Path, token: &Secret, expires_at: u64) -> Result<()> {
        let mut map = match read_optional(path, ReadPolicy::Lenient)? {
            Some(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) | Err(_) => {
                    return Err(Error::parse(
                        path,
                        "cannot be parsed, so the exchanged token was not cached over it",
                    ))
                }
            },
            None => Map::new(),
        };
        map.insert("version".into(), "1.0".into());
        map.insert("type".into(), "oauth_token".into());
        map.insert("access_token".into(), token.expose().into());
        map.insert("expires_at".into(), expires_at.into());
        if let Some(parent) = path.parent() {
            create_dir_all_with_mode(parent, 0o700)?;
        }
        write_atomic_strict(path, &to_json_bytes(&Value::Object(map)), 0o600)
    }

    /// Remove `profile`'s credentials file (what `ant auth logout` does),
    /// and any temp file a killed write of it left.
    pub fn delete_credentials(&self, profile: &str) -> Result<bool> {
        validate_profile_name(profile, "profile")?;
        let config = self.read_config(profile).ok().flatten();
        remove_with_temp_files(&self.credentials_path(profile, config.as_ref()))
    }

    /// Remove every profile's config and credentials and `active_config`
    /// (what `ant auth logout --all` does), with the temp files killed
    /// writes of them left; never the directory itself or files the spec
    /// does not name. Returns the removed paths.
    pub fn delete_all(&self) -> Result<Vec<PathBuf>> {
        let mut removed = remove_temp_files(&self.dir, None)?;
        for sub in ["credentials", "configs"] {
            let dir = self.dir.join(sub);
            removed.extend(remove_temp_files(&dir, None)?);
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let is_profile_file = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".json"))
                    .is_some_and(|stem| validate_profile_name(stem, sub).is_ok());
                if is_profile_file && remove_if_exists(&path)? {
                    removed.push(path);
                }
            }
            // Leave the directory if anything else is in it.
            let _ = fs::remove_dir(&dir);
        }
        let active = self.active_config_path();
        if remove_if_exists(&active)? {
            removed.push(active);
        }
        Ok(removed)
    }
}

impl CredentialStore for ProfileFiles {
    fn location(&self, profile: &str) -> String {
        let config = self.read_config(profile).ok().flatten();
        self.credentials_path(profile, config.as_ref())
            .display()
            .to_string()
    }

    fn load(&self, profile: &str) -> Result<Option<Credential>> {
        match self.load_profile(profile)? {
            Some((_, ProfileCredential::OAuth(set))) => Ok(Some(Credential::OAuth(set))),
            Some((config, ProfileCredential::Federation)) => Err(Error::Unsupported(format!(
                "profile {profile:?} uses workload identity federation ({}); its token comes from an exchange",
                config.path.display()
            ))),
            None => Ok(None),
        }
    }

    fn save(&self, profile: &str, credential: &Credential) -> Result<()> {
        let set = match credential {
            Credential::OAuth(set) => set.clone(),
            Credential::Bearer { token, provider, expires_at } => {
                let mut set = TokenSet::access_only(Secret::new(token.expose()), provider.clone());
                set.expires_at = *expires_at;
                set
            }
            Credential::ApiKey { .. } => {
                return Err(Error::Unsupported(
                    "the official profile files hold OAuth tokens only; API keys are stored in claude-auth's own key file or the keyring".into(),
                ))
            }
        };
        self.write_config_if_missing(profile, &set, None)?;
        self.write_credentials(profile, &set)?;
        Ok(())
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        self.delete_credentials(profile)
    }
}

#[cfg(all(test, unix))]
#[path = "profile_files_tests.rs"]
mod tests;
