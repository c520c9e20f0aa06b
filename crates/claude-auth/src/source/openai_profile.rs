//! The OpenAI chain's own-login source: the OpenAI profile named by
//! `--profile`, else the active OpenAI profile (`<own config
//! dir>/openai/active`), else `default` when it exists. A named profile is
//! the user's choice: its errors stop the chain.

use crate::credential::Credential;
use crate::error::Error;
use crate::source::{Backing, Found, ResolveOptions, Resolver, Step};
use crate::store::profile_files::DEFAULT_PROFILE;

/// claude-auth's OpenAI profile.
pub(super) fn evaluate(r: &Resolver, options: &ResolveOptions) -> Step {
    let profiles = r.openai_profiles();
    let (name, chosen) = match &options.explicit_profile {
        Some(p) => (p.clone(), true),
        None => match profiles.active() {
            Ok(Some(p)) => (p, true),
            Ok(None) => (DEFAULT_PROFILE.to_owned(), false),
            Err(e) => return Step::Fail(e, true),
        },
    };
    let stored = match profiles.load_stored(&name) {
        Ok(Some(stored)) => stored,
        Ok(None) if chosen => {
            return Step::Fail(
                Error::Setting {
                    setting: format!("OpenAI profile {name:?}"),
                    message: format!(
                        "not found (no {}); run `claude-auth login --provider chatgpt --profile {name}`",
                        profiles.file_path(&name).display()
                    ),
                },
                true,
            )
        }
        Ok(None) => return Step::Skip(format!("no OpenAI profile {name:?}")),
        Err(e) => return Step::Fail(e, chosen),
    };
    let api_key = matches!(stored.credential, Credential::ApiKey { .. });
    let mut found = Found::new(
        stored.credential,
        stored.location,
        Backing::OpenaiProfile {
            profile: name.clone(),
            storage: stored.storage,
        },
    );
    found.profile = Some(name);
    found.storage = Some(stored.storage);
    if api_key {
        found.base_url = r.env().get("OPENAI_BASE_URL").map(str::to_owned);
    }
    Step::Found(Box::new(found))
}
