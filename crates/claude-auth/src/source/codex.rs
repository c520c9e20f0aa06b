//! Codex's login: `$CODEX_HOME/auth.json` (an API key or ChatGPT tokens),
//! or Codex's keyring entry (service `Codex Auth`, account `cli|<hash of the
//! home>`, the whole document as one secret) when Codex's `config.toml`
//! says `cli_auth_credentials_store = "keyring"` (or `"auto"`: the keyring
//! entry, else the file, in the order Codex 0.171.0 was observed to read
//! them; see [`CredentialsStore::Auto`]). Auto-discovered: a broken login is reported (file, field,
//! fix) and the chain goes on; nothing here writes.

use std::path::{Path, PathBuf};

use crate::credential::{Credential, Identity, Provider, TokenSet};
use crate::error::{Error, Result};
use crate::openai::auth_file::{AuthMode, CodexAuth, CodexAuthFile};
use crate::openai::chatgpt::{CLIENT_ID, LEGACY_REFRESH_AGE};
use crate::openai::claims::CodexIdentity;
use crate::openai::home::{self, CredentialsStore};
use crate::source::{Backing, Found, ResolveOptions, Resolver, Step};

/// Codex's login.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let codex_home = &r.codex_home().path;
    let store = match home::credentials_store(codex_home) {
        Ok(store) => store,
        Err(e) => return Step::Fail(e, false),
    };
    let keyring = matches!(store, CredentialsStore::Keyring | CredentialsStore::Auto);
    if keyring {
        match load_keyring(r, codex_home) {
            Ok(Some((auth, backing, location))) => return step(found(&auth, backing, location)),
            Ok(None) if store == CredentialsStore::Keyring => {
                return Step::Skip(format!(
                    "no Codex login in the keyring (service {:?}, account {:?})",
                    home::KEYRING_SERVICE,
                    home::keyring_account(codex_home)
                ))
            }
            Ok(None) => {}
            Err(e) if store == CredentialsStore::Keyring => return Step::Fail(e, false),
            // "auto": the keyring is not usable here; Codex falls back to the file.
            Err(_) => {}
        }
    }
    let path = home::auth_json_path(codex_home);
    match CodexAuthFile::new(&path).load() {
        Ok(Some(auth)) => step(found(
            &auth,
            Backing::CodexFile { path: path.clone() },
            path.display().to_string(),
        )),
        Ok(None) => Step::Skip(format!(
            "no Codex login ({} does not exist)",
            path.display()
        )),
        Err(e) => Step::Fail(e, false),
    }
}

fn step(found: Result<Found>) -> Step {
    match found {
        Ok(found) => Step::Found(Box::new(found)),
        Err(e) => Step::Fail(e, false),
    }
}

/// Codex's keyring entry, parsed: `Ok(None)` when there is none.
#[cfg(feature = "keyring")]
pub(crate) fn load_keyring(
    r: &Resolver,
    codex_home: &Path,
) -> Result<Option<(CodexAuth, Backing, String)>> {
    let account = home::keyring_account(codex_home);
    let location = format!(
        "keyring service {:?}, account {account:?}",
        home::KEYRING_SERVICE
    );
    let text = match r.keyring_backend().get(home::KEYRING_SERVICE, &account) {
        Ok(text) => text,
        Err(keyring::Error::NoEntry) => return Ok(None),
        Err(e) => {
            return Err(Error::Keyring {
                service: home::KEYRING_SERVICE.into(),
                account,
                message: keyring_message(&e),
            })
        }
    };
    let auth = CodexAuth::parse(text.as_bytes(), &PathBuf::from(&location))?;
    let backing = Backing::CodexKeyring {
        codex_home: codex_home.to_owned(),
    };
    Ok(Some((auth, backing, location)))
}

/// Without the keyring feature there is no keyring to read.
#[cfg(not(feature = "keyring"))]
pub(crate) fn load_keyring(_: &Resolver, _: &Path) -> Result<Option<(CodexAuth, Backing, String)>> {
    Err(Error::Unsupported(
        "Codex keeps its login in the keyring, which this build of claude-auth cannot read".into(),
    ))
}

/// A keyring error without the entry's contents.
#[cfg(feature = "keyring")]
pub(crate) fn keyring_message(e: &keyring::Error) -> String {
    match e {
        keyring::Error::BadEncoding(_) => "the entry is not UTF-8 text".into(),
        keyring::Error::Ambiguous(items) => format!(
            "{} keyring items match Codex's service and account; remove the duplicates",
            items.len()
        ),
        other => format!("the keyring failed: {other}"),
    }
}

/// The credential a Codex document stands for: `auth_mode` `apikey` → its
/// `OPENAI_API_KEY`; `chatgpt` → its tokens; no mode (older Codex) → the
/// tokens when there are some, else the key.
pub(crate) fn credential_of(auth: &CodexAuth) -> std::result::Result<Credential, String> {
    let api_key = || {
        auth.api_key().cloned().map(|key| Credential::ApiKey {
            key,
            provider: Provider::Openai,
        })
    };
    let chatgpt = || token_set_of(auth).map(Credential::OAuth);
    let credential = match &auth.auth_mode {
        Some(AuthMode::ApiKey) => api_key().ok_or(
            "auth_mode is \"apikey\" but OPENAI_API_KEY is empty; run `codex login` again",
        )?,
        Some(AuthMode::ChatGpt) => chatgpt()
            .ok_or("auth_mode is \"chatgpt\" but tokens is missing; run `codex login` again")?,
        _ => chatgpt()
            .or_else(api_key)
            .ok_or("holds neither tokens nor OPENAI_API_KEY; run `codex login`")?,
    };
    Ok(credential)
}

/// The token set of a document holding ChatGPT tokens: expiry from the access token's `exp` (or, when that cannot be
/// read, `last_refresh` + 8 days, when older Codex versions refresh), the id
/// token's facts as the identity.
pub(crate) fn token_set_of(auth: &CodexAuth) -> Option<TokenSet> {
    let tokens = auth.tokens()?;
    let who = CodexIdentity::from_tokens(tokens);
    let expires_at = who.expires_at.or_else(|| {
        auth.last_refresh
            .as_ref()
            .map(|l| l.unix().saturating_add(LEGACY_REFRESH_AGE.as_secs()))
    });
    Some(TokenSet {
        access_token: tokens.access_token.clone(),
        refresh_token: Some(tokens.refresh_token.clone()),
        expires_at,
        scopes: Vec::new(),
        identity: Identity {
            email: who.email,
            account_uuid: who.account_id,
            subscription_type: who.plan_type,
            ..Identity::default()
        },
        provider: Provider::Openai,
        client_id: Some(CLIENT_ID.to_owned()),
        id_token: Some(tokens.id_token.clone()),
    })
}

/// What the Codex source reports for `auth`, kept in `backing`.
pub(crate) fn found(auth: &CodexAuth, backing: Backing, location: String) -> Result<Found> {
    let credential = credential_of(auth).map_err(|m| Error::parse(&location, m))?;
    let mut found = Found::new(credential, location, backing);
    if let Some(tokens) = auth.tokens() {
        for problem in CodexIdentity::from_tokens(tokens).problems {
            found.notes.push(problem.to_string());
        }
    }
    Ok(found)
}

#[cfg(all(test, feature = "keyring"))]
#[path = "codex_tests.rs"]
mod tests;
