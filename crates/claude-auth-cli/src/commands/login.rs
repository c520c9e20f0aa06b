//! `claude-auth login --with-token`: store a credential read from stdin.
//!
//! Secrets are never taken from argv (they would land in shell history and in
//! `ps`). An OAuth token goes into the official profile files as a static
//! token every SDK reads; an API key, which those files cannot hold, goes to
//! claude-auth's own 0600 key file, the keyring or the encrypted file.

use std::io::{BufRead, IsTerminal};

use clap::{Args, ValueEnum};

use claude_auth::credential::{classify_token, TokenPrefix};
use claude_auth::store::{CredentialStore, StorageKind};
use claude_auth::{Credential, Provider, Resolver, Secret, TokenSet};

use crate::commands::{resolver, target_profile};
use crate::output::{success, warn, CommandResult, Failure};
use crate::{parse_storage, GlobalArgs};

/// What a pasted token is, when its prefix does not say.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TokenType {
    /// An API key (sent as x-api-key)
    ApiKey,
    /// An OAuth access token (Bearer + the OAuth beta header)
    Oauth,
    /// A plain bearer token (gateways)
    Bearer,
}

/// `login` options.
#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Read a token or API key from stdin (one line)
    #[arg(long)]
    pub with_token: bool,
    /// Where to store it: file, keyring or encrypted-file (default: the profile's setting)
    #[arg(long, value_parser = parse_storage, value_name = "STORAGE")]
    pub storage: Option<StorageKind>,
    /// The token's type when its prefix does not tell
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: Option<TokenType>,
    /// Fail instead of falling back to a file when the keyring is unavailable
    #[arg(long)]
    pub no_fallback: bool,
    /// OAuth provider preset: console (Developer Platform, default), claude, claude-long-lived, or a custom one from the settings
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
    /// Do not open a browser; print the URL and wait for the callback or a pasted code (SSH)
    #[arg(long)]
    pub no_browser: bool,
    /// Listen for the callback on this port (for SSH port forwarding) instead of an OS-assigned one
    #[arg(long, value_name = "PORT")]
    pub callback_port: Option<u16>,
    /// Give up after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    /// (refused: secrets are never accepted as arguments)
    #[arg(hide = true, value_name = "SECRET")]
    pub secret_arg: Option<String>,
    /// (refused: secrets are never accepted as arguments)
    #[arg(long = "token", hide = true, value_name = "SECRET")]
    pub token_flag: Option<String>,
    /// (refused: secrets are never accepted as arguments)
    #[arg(long = "api-key", hide = true, value_name = "SECRET")]
    pub api_key_flag: Option<String>,
}

fn read_secret_from_stdin() -> Result<Secret, Failure> {
    let stdin = std::io::stdin();
    let line = if stdin.is_terminal() {
        rpassword::prompt_password("Paste the token or API key (input hidden): ")
            .map_err(|e| Failure::error(format!("could not read from the terminal: {e}")))?
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::error(format!("could not read stdin: {e}")))?;
        line
    };
    let secret = Secret::new(line.trim());
    drop(line);
    if secret.is_empty() {
        return Err(Failure::usage(
            "stdin was empty; pipe the token in: `claude-auth login --with-token < token.txt`",
        ));
    }
    Ok(secret)
}

fn credential_for(secret: Secret, kind: Option<TokenType>) -> Result<Credential, Failure> {
    let credential = match kind {
        Some(TokenType::ApiKey) => Credential::ApiKey {
            key: secret,
            provider: Provider::Anthropic,
        },
        Some(TokenType::Oauth) => {
            Credential::OAuth(TokenSet::access_only(secret, Provider::Anthropic))
        }
        Some(TokenType::Bearer) => Credential::Bearer {
            token: secret,
            provider: Provider::Anthropic,
            expires_at: None,
        },
        None => {
            if classify_token(secret.expose()) == TokenPrefix::Unknown {
                warn("the token's prefix is not one of Anthropic's; storing it as a bearer token (use --type to say otherwise)");
            }
            Credential::from_bare_anthropic_token(secret).map_err(Failure::usage)?
        }
    };
    Ok(credential)
}

/// Run `login`.
pub fn run(global: &GlobalArgs, args: &LoginArgs) -> CommandResult {
    if args.secret_arg.is_some() || args.token_flag.is_some() || args.api_key_flag.is_some() {
        return Err(Failure::usage(
            "secrets are never accepted as command-line arguments (they end up in shell history and `ps`)",
        )
        .with_hint("pipe it on stdin instead: `claude-auth login --with-token < token.txt`"));
    }
    if !args.with_token {
        return crate::commands::oauth_login::run(global, args);
    }
    let resolver = resolver()?;
    let profile = target_profile(global, &resolver)?;
    let secret = read_secret_from_stdin()?;
    let credential = credential_for(secret, args.kind)?;
    let storage = args
        .storage
        .unwrap_or_else(|| resolver.settings().storage_for_new_login(&profile));
    let (location, stored_in) = store(
        &resolver,
        &profile,
        &credential,
        storage,
        None,
        args.no_fallback,
    )?;
    let sdk_readable = activate(&resolver, &profile, stored_in, global.profile.is_some())?;
    if !sdk_readable && global.profile.is_some() && resolver.active_profile(None)?.name != profile {
        warn(&format!(
            "profile {profile:?} holds a credential the official SDKs cannot read from profile files, so it was not made active; select it with `claude-auth profile use {profile}` or `--profile {profile}`"
        ));
    }
    success(&format!(
        "Stored the {} {} for profile {profile} in {location}",
        credential.kind().label(),
        credential.secret().masked()
    ));
    if matches!(credential, Credential::ApiKey { .. }) {
        eprintln!("  The official SDKs read API keys only from ANTHROPIC_API_KEY: export ANTHROPIC_API_KEY=\"$(claude-auth token)\"");
    }
    Ok(0)
}

/// An API key replaces a profile's OAuth login in the official files: the
/// spec files cannot hold a key, and leaving them would keep the old login
/// winning. Say what was removed.
fn replace_spec_login(resolver: &Resolver, profile: &str) -> Result<(), Failure> {
    let files = resolver.profile_files();
    if !files.config_exists(profile) {
        return Ok(());
    }
    let config = files.read_config(profile).ok().flatten();
    let creds = files.credentials_path(profile, config.as_ref());
    files.delete_credentials(profile)?;
    claude_auth::secure_file::remove_if_exists(&files.config_path(profile))?;
    if files.active_profile().ok().flatten().as_deref() == Some(profile) {
        claude_auth::secure_file::remove_if_exists(&files.active_config_path())?;
        claude_auth::secure_file::write_atomic(
            &resolver.own_active_path(),
            profile.as_bytes(),
            0o600,
        )?;
    }
    warn(&format!(
        "replaced the OAuth login of profile {profile:?}: removed {} and {}; the official SDKs no longer see this profile",
        files.config_path(profile).display(),
        creds.display()
    ));
    Ok(())
}

/// Store the credential where `storage` says (falling back from an
/// unavailable keyring to a file, visibly, unless `no_fallback`); returns
/// where it went and in which storage, and records that for later reads.
pub fn store(
    resolver: &Resolver,
    profile: &str,
    credential: &Credential,
    storage: StorageKind,
    base_url: Option<&str>,
    no_fallback: bool,
) -> Result<(String, StorageKind), Failure> {
    let stored = match storage {
        StorageKind::File => (
            store_in_file(resolver, profile, credential, base_url)?,
            StorageKind::File,
        ),
        StorageKind::Keyring => {
            let store = resolver.store_for(StorageKind::Keyring)?;
            match store.save(profile, credential) {
                Ok(()) => (store.location(profile), StorageKind::Keyring),
                Err(e) if no_fallback => {
                    return Err(Failure::error(e.to_string()).with_hint(
                        "start or unlock your keyring, or choose --storage file / encrypted-file",
                    ))
                }
                Err(e) => {
                    warn(&format!("the keyring is unavailable ({e}); falling back to a file readable only by you"));
                    (
                        store_in_file(resolver, profile, credential, base_url)?,
                        StorageKind::File,
                    )
                }
            }
        }
        StorageKind::EncryptedFile => {
            let store = resolver.store_for(StorageKind::EncryptedFile)?;
            store.save(profile, credential)?;
            (store.location(profile), StorageKind::EncryptedFile)
        }
    };
    claude_auth::settings::record_storage(resolver.env(), profile, Some(stored.1))?;
    Ok(stored)
}

/// Like `ant auth login`: make the profile active when none is, or when it
/// was named — but only where the official SDKs can read it. Returns whether
/// they can.
pub fn activate(
    resolver: &Resolver,
    profile: &str,
    stored_in: StorageKind,
    named: bool,
) -> Result<bool, Failure> {
    let files = resolver.profile_files();
    let sdk_readable = stored_in == StorageKind::File && files.config_exists(profile);
    if sdk_readable && (named || files.active_profile().ok().flatten().is_none()) {
        files.set_active_profile(profile)?;
    }
    Ok(sdk_readable)
}

fn store_in_file(
    resolver: &Resolver,
    profile: &str,
    credential: &Credential,
    base_url: Option<&str>,
) -> Result<String, Failure> {
    if matches!(credential, Credential::ApiKey { .. }) {
        replace_spec_login(resolver, profile)?;
        let keys = resolver.own_keys();
        keys.save(profile, credential)?;
        return Ok(keys.path(profile).display().to_string());
    }
    let set = match credential {
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
        Credential::ApiKey { .. } => {
            return Err(Failure::error(
                "internal: API key routed to the profile files",
            ))
        }
    };
    // A key file left from an earlier API-key login would otherwise linger.
    resolver.own_keys().delete(profile)?;
    let files = resolver.profile_files();
    files.write_config_if_missing(profile, &set, base_url)?;
    Ok(files
        .write_credentials(profile, &set)?
        .display()
        .to_string())
}
