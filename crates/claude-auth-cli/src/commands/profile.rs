//! `claude-auth profile list | use | show`: the library's
//! [`claude_auth::profiles`] service, printed.

use claude_auth::profiles::Activated;

use crate::commands::profiles;
use crate::output::{print_json, success, warn, CommandResult, Style};
use crate::GlobalArgs;

/// `profile list`.
pub fn list(global: &GlobalArgs) -> CommandResult {
    let entries = profiles()?.list(global.profile.as_deref())?;
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
    match profiles()?.use_profile(name)? {
        Activated::ActiveConfig(path) => success(&format!(
            "Profile {name} is active (written to {})",
            path.display()
        )),
        Activated::OwnPointer(path) => {
            success(&format!(
                "Profile {name} is active for claude-auth (written to {})",
                path.display()
            ));
            warn("the official SDKs cannot read this profile (an API key or a keyring entry); they are unaffected");
        }
    }
    Ok(0)
}

/// `profile show [NAME]`.
pub fn show(global: &GlobalArgs, name: Option<&str>) -> CommandResult {
    let profiles = profiles()?;
    let name = match name {
        Some(n) => n.to_owned(),
        None => profiles.target(global.profile.as_deref())?,
    };
    let e = profiles.show(&name, global.profile.as_deref())?;
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
