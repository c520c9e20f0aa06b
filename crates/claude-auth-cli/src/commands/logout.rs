//! `claude-auth logout`: remove stored credentials, as `ant auth logout`
//! does — credentials only; with `--all` the profile files and
//! `active_config` too; never the directory. Idempotent.

use claude_auth::store::{CredentialStore, StorageKind};
use claude_auth::Resolver;

use crate::commands::{resolver, target_profile};
use crate::output::{success, warn, CommandResult};
use crate::GlobalArgs;

/// Revoke the profile's refresh token at its provider when the provider has
/// a revocation endpoint. Best effort: whatever the network says, the local
/// credentials are deleted afterwards.
fn revoke_best_effort(resolver: &Resolver, profile: &str) {
    let Ok(Some(found)) = resolver.load_profile(profile) else {
        return;
    };
    let Some(set) = found
        .credential
        .as_ref()
        .and_then(claude_auth::Credential::token_set)
    else {
        return;
    };
    let Ok(presets) = resolver.settings().presets() else {
        return;
    };
    let state = claude_auth::refresh_state::state_path(resolver.env(), false, Some(profile))
        .map(|p| claude_auth::refresh_state::RefreshState::load(&p))
        .unwrap_or_default();
    let preset = state.preset(&presets, false, set.client_id.as_deref());
    let Some(preset) = preset else { return };
    let Some(url) = preset.revocation_url.clone() else {
        return;
    };
    let (token, hint) = match &set.refresh_token {
        Some(r) => (r.clone(), "refresh_token"),
        None => (set.access_token.clone(), "access_token"),
    };
    let client_id = set
        .client_id
        .clone()
        .unwrap_or_else(|| preset.client_id.clone());
    let result = crate::commands::runtime().ok().map(|rt| {
        rt.block_on(async {
            let client = claude_auth::oauth::token_client::TokenClient::new()?;
            client
                .revoke(
                    &url,
                    &token,
                    hint,
                    &client_id,
                    preset.client_secret.as_ref(),
                )
                .await
        })
    });
    match result {
        Some(Ok(())) => eprintln!("  revoked the login at {}", preset.name),
        Some(Err(e)) => warn(&format!(
            "could not revoke the login at the provider ({e}); deleting it locally anyway"
        )),
        None => {}
    }
}

fn remove_everywhere(
    resolver: &Resolver,
    profile: &str,
    removed: &mut Vec<String>,
) -> Result<(), claude_auth::Error> {
    revoke_best_effort(resolver, profile);
    claude_auth::settings::record_storage(resolver.env(), profile, None)?;
    let files = resolver.profile_files();
    let creds = files.credentials_path(profile, files.read_config(profile).ok().flatten().as_ref());
    if files.delete_credentials(profile)? {
        removed.push(creds.display().to_string());
    }
    let keys = resolver.own_keys();
    if keys.delete(profile)? {
        removed.push(keys.path(profile).display().to_string());
    }
    for kind in [StorageKind::Keyring, StorageKind::EncryptedFile] {
        let Ok(store) = resolver.store_for(kind) else {
            continue;
        };
        match store.delete(profile) {
            Ok(true) => removed.push(store.location(profile)),
            Ok(false) => {}
            // An unavailable keyring holds nothing we could remove; say so
            // only when this profile is meant to live there.
            Err(e) if resolver.settings().storage_for(profile) == kind => warn(&e.to_string()),
            Err(_) => {}
        }
    }
    Ok(())
}

/// Run `logout`.
pub fn run(global: &GlobalArgs, all: bool) -> CommandResult {
    let resolver = resolver()?;
    let mut removed = Vec::new();
    if all {
        let profiles = resolver.list_profiles()?;
        for profile in &profiles {
            remove_everywhere(&resolver, profile, &mut removed)?;
        }
        for path in resolver.profile_files().delete_all()? {
            let text = path.display().to_string();
            if !removed.contains(&text) {
                removed.push(text);
            }
        }
        let own_pointer = resolver.own_active_path();
        if claude_auth::secure_file::remove_if_exists(&own_pointer)? {
            removed.push(own_pointer.display().to_string());
        }
    } else {
        let profile = target_profile(global, &resolver)?;
        remove_everywhere(&resolver, &profile, &mut removed)?;
        if removed.is_empty() {
            success(&format!(
                "Not logged in to profile {profile}: nothing to remove"
            ));
        } else {
            success(&format!("Logged out of profile {profile}"));
        }
    }
    if all {
        success(if removed.is_empty() {
            "Nothing to remove"
        } else {
            "Logged out of every profile"
        });
    }
    for path in &removed {
        eprintln!("  removed {path}");
    }
    // Credentials claude-auth does not own stay; say which still apply.
    let after = resolver.resolve(&crate::commands::options(global, false));
    if let Some(w) = after.winner() {
        eprintln!(
            "  still available: {} (not managed by `logout`)",
            w.id.label()
        );
    }
    Ok(0)
}
