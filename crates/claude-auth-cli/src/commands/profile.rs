//! `claude-auth profile list | use | show`.

use serde::Serialize;

use claude_auth::status::{summarize, CredentialSummary};
use claude_auth::store::StorageKind;
use claude_auth::Resolver;

use crate::commands::{resolver, target_profile};
use crate::output::{print_json, success, warn, CommandResult, Failure, Style};
use crate::GlobalArgs;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileEntry {
    name: String,
    active: bool,
    storage: String,
    /// Whether the official SDKs and `ant` can use it.
    sdk_readable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    credential: Option<CredentialSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn entry(resolver: &Resolver, name: &str, active: &str) -> ProfileEntry {
    let now = claude_auth::credential::now_unix();
    let (credential, error) = match resolver.load_profile(name) {
        Ok(Some(found)) => (Some(summarize(&found, now)), None),
        Ok(None) => (None, Some("no credential stored".to_owned())),
        Err(e) => (None, Some(e.to_string())),
    };
    ProfileEntry {
        name: name.to_owned(),
        active: name == active,
        storage: resolver.settings().storage_for(name).as_str().to_owned(),
        sdk_readable: resolver.profile_files().config_exists(name),
        credential,
        error,
    }
}

/// `profile list`.
pub fn list(global: &GlobalArgs) -> CommandResult {
    let resolver = resolver()?;
    let active = resolver.active_profile(global.profile.as_deref())?.name;
    let entries: Vec<ProfileEntry> = resolver
        .list_profiles()?
        .iter()
        .map(|n| entry(&resolver, n, &active))
        .collect();
    if global.json {
        print_json(&entries)?;
        return Ok(0);
    }
    if entries.is_empty() {
        eprintln!("No profiles. Create one with `claude-auth login --with-token --profile NAME`.");
        return Ok(0);
    }
    let s = Style::stdout();
    for e in &entries {
        let mark = if e.active { s.green("*") } else { " ".into() };
        let what = match (&e.credential, &e.error) {
            (Some(c), _) => format!("{} {}", c.kind, c.masked.clone().unwrap_or_default()),
            (None, Some(err)) => s.red(err),
            _ => String::new(),
        };
        outln!("{mark} {:<20} {:<15} {what}", e.name, e.storage);
    }
    Ok(0)
}

/// `profile use NAME`.
pub fn use_profile(_global: &GlobalArgs, name: &str) -> CommandResult {
    let resolver = resolver()?;
    claude_auth::locations::validate_profile_name(name, "profile use")?;
    if !resolver.profile_exists(name) {
        return Err(Failure::error(format!("no profile {name:?}"))
            .with_hint(format!("create it: claude-auth login --with-token --profile {name}; or see `claude-auth profile list`")));
    }
    let files = resolver.profile_files();
    let own_pointer = resolver.own_active_path();
    if files.config_exists(name) && resolver.settings().storage_for(name) == StorageKind::File {
        files.set_active_profile(name)?;
        claude_auth::secure_file::remove_if_exists(&own_pointer)?;
        success(&format!(
            "Profile {name} is active (written to {})",
            files.active_config_path().display()
        ));
    } else {
        if files.active_profile()?.is_some() {
            return Err(Failure::error(format!(
                "profile {name:?} cannot be read by the official SDKs, and {} selects a profile for all of them",
                files.active_config_path().display()
            ))
            .with_hint(format!("use `--profile {name}` for this profile, or remove active_config first")));
        }
        claude_auth::secure_file::write_atomic(&own_pointer, name.as_bytes(), 0o600)?;
        success(&format!(
            "Profile {name} is active for claude-auth (written to {})",
            own_pointer.display()
        ));
        warn("the official SDKs cannot read this profile (an API key or a keyring entry); they are unaffected");
    }
    Ok(0)
}

/// `profile show [NAME]`.
pub fn show(global: &GlobalArgs, name: Option<&str>) -> CommandResult {
    let resolver = resolver()?;
    let name = match name {
        Some(n) => n.to_owned(),
        None => target_profile(global, &resolver)?,
    };
    claude_auth::locations::validate_profile_name(&name, "profile show")?;
    let active = resolver.active_profile(global.profile.as_deref())?.name;
    let e = entry(&resolver, &name, &active);
    if global.json {
        print_json(&e)?;
        return Ok(if e.credential.is_some() { 0 } else { 1 });
    }
    outln!(
        "Profile:      {}{}",
        e.name,
        if e.active { " (active)" } else { "" }
    );
    outln!("Storage:      {}", e.storage);
    outln!(
        "SDK-readable: {}",
        if e.sdk_readable { "yes" } else { "no" }
    );
    if let Some(c) = &e.credential {
        outln!(
            "Type:         {} {}",
            c.kind,
            c.masked.clone().unwrap_or_default()
        );
        if let Some(iso) = &c.expires_at_iso {
            outln!("Expires:      {iso}");
        }
        outln!("Stored in:    {}", c.location);
    }
    if let Some(err) = &e.error {
        outln!("Error:        {err}");
        return Ok(1);
    }
    Ok(0)
}
