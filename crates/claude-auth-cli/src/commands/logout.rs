//! `claude-auth logout`: remove stored credentials, as `ant auth logout`
//! does — credentials only; with `--all` the profile files and
//! `active_config` too; never the directory. Idempotent. What is removed and
//! revoked is the library's [`claude_auth::profiles`] policy; this module
//! prints it.

use crate::commands::{profiles, runtime};
use crate::output::{success, warn, CommandResult};
use crate::GlobalArgs;

/// Run `logout`.
pub fn run(global: &GlobalArgs, all: bool) -> CommandResult {
    let mut profiles = profiles()?;
    let out = runtime()?.block_on(profiles.logout(global.profile.as_deref(), all))?;
    for note in &out.notes {
        if note.is_warning() {
            warn(&note.to_string());
        } else {
            eprintln!("  {note}");
        }
    }
    let message = match (&out.profile, out.removed.is_empty()) {
        (Some(profile), true) => format!("Not logged in to profile {profile}: nothing to remove"),
        (Some(profile), false) => format!("Logged out of profile {profile}"),
        (None, true) => "Nothing to remove".to_owned(),
        (None, false) => "Logged out of every profile".to_owned(),
    };
    success(&message);
    for path in &out.removed {
        eprintln!("  removed {path}");
    }
    // Credentials claude-auth does not own stay; say which still apply.
    if let Some(id) = out.still_available {
        eprintln!(
            "  still available: {} (not managed by `logout`)",
            id.label()
        );
    }
    Ok(0)
}
