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
    let message = match (&out.profile, out.removed.is_empty()) {
        (Some(profile), true) => format!("Not logged in to profile {profile}: nothing to remove"),
        (Some(profile), false) => format!("Logged out of profile {profile}"),
        (None, true) => "Nothing to remove".to_owned(),
        (None, false) => "Logged out of every profile".to_owned(),
    };
    print_outcome(
        out.notes.iter().map(|n| (n.is_warning(), n.to_string())),
        &message,
        &out.removed,
    );
    // Credentials claude-auth does not own stay; say which still apply.
    if let Some(id) = out.still_available {
        eprintln!(
            "  still available: {} (not managed by `logout`)",
            id.label()
        );
    }
    Ok(0)
}

/// Print a logout's outcome, for both providers' logouts: its notes (warnings
/// marked as such), then `message`, then each file or entry removed.
pub(crate) fn print_outcome(
    notes: impl IntoIterator<Item = (bool, String)>,
    message: &str,
    removed: &[String],
) {
    for (is_warning, note) in notes {
        if is_warning {
            warn(&note);
        } else {
            eprintln!("  {note}");
        }
    }
    success(message);
    for path in removed {
        eprintln!("  removed {path}");
    }
}
