//! Claude Code's login: its Keychain item (macOS) or `.credentials.json`,
//! with the account from `.claude.json`. Refreshed only under Claude Code's
//! own lock, and written back where it was read.

use crate::credential::{Credential, Identity};
use crate::source::{Backing, Found, ResolveOptions, Resolver, Step};
use crate::store::claude_code::ClaudeCodePlace;

/// Claude Code's login.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let store = r.claude_code();
    match store.load_login() {
        Ok(Some(login)) => {
            let mut cred = login.credential;
            if let Credential::OAuth(set) = &mut cred {
                if let Some(acct) = store.account() {
                    set.identity = Identity {
                        subscription_type: set.identity.subscription_type.take(),
                        rate_limit_tier: set.identity.rate_limit_tier.take(),
                        ..acct
                    };
                }
            }
            let backing = match login.place {
                ClaudeCodePlace::File => Backing::ClaudeCodeFile { path: store.path() },
                ClaudeCodePlace::Keychain => Backing::ClaudeCodeKeychain,
            };
            let mut f = Found::new(cred, login.location, backing);
            f.notes
                .push("owned by Claude Code: refreshed only under Claude Code's lock".into());
            f.notes.extend(login.note);
            Step::Found(Box::new(f))
        }
        Ok(None) => Step::Skip(format!("no login in {}", store.locations())),
        Err(e) => Step::Fail(e, false),
    }
}
