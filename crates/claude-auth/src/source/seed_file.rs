//! The seed library's (`claude-oauth-auth`) `auth.json`: `~/.config/claude/
//! auth.json`, or the file `CLAUDE_AUTH_FILE` names (which makes it a source
//! the user chose). `{"access_token", "refresh_token", "token_expiry"}`,
//! `token_expiry` in Unix seconds. A refresh is written back in the same
//! format, every key we do not own kept.

use std::path::Path;

use serde_json::{Map, Value};

use crate::config::locations::seed_auth_file;
use crate::credential::{Credential, Provider, TokenSet};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::secure_file::{read_optional, to_json_bytes, write_atomic, ReadPolicy};
use crate::source::{Backing, Found, ResolveOptions, Resolver, Step};

/// The seed file as a source.
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let file = seed_auth_file(r.env());
    let chosen = file.origin == "CLAUDE_AUTH_FILE";
    match read_seed_file(&file.path) {
        Ok(Some(mut cred)) => {
            if let Credential::OAuth(set) = &mut cred {
                // The file names no client: the Claude subscription client
                // refreshes it (as the settings' `[providers.claude]` has it).
                set.client_id = r
                    .settings()
                    .presets()
                    .ok()
                    .and_then(|p| p.get("claude").ok().map(|c| c.client_id.clone()));
            }
            let location = file.path.display().to_string();
            let backing = Backing::SeedFile { path: file.path };
            Step::Found(Box::new(Found::new(cred, location, backing)))
        }
        Ok(None) if chosen => Step::Fail(
            Error::parse(&file.path, "does not exist (named by CLAUDE_AUTH_FILE)"),
            true,
        ),
        Ok(None) => Step::Skip(format!("no {}", file.path.display())),
        Err(e) => Step::Fail(e, chosen),
    }
}

fn read_document(path: &Path) -> Result<Option<Map<String, Value>>> {
    let Some(bytes) = read_optional(path, ReadPolicy::Lenient)? else {
        return Ok(None);
    };
    parse_document(&bytes, path).map(Some)
}

fn parse_document(bytes: &[u8], path: &Path) -> Result<Map<String, Value>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::parse(
            path,
            format!("not JSON (line {} column {})", e.line(), e.column()),
        )
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Error::parse(path, "must contain a JSON object")),
    }
}

/// Read the seed library's `auth.json`: `{"access_token", "refresh_token",
/// "token_expiry"}` with `token_expiry` in Unix seconds.
pub fn read_seed_file(path: &Path) -> Result<Option<Credential>> {
    let Some(bytes) = read_optional(path, ReadPolicy::Lenient)? else {
        return Ok(None);
    };
    parse_seed_file(&bytes, path).map(Some)
}

/// Parse the bytes of the seed library's `auth.json` (read from `path`,
/// which errors name), as [`read_seed_file`] does.
pub fn parse_seed_file(bytes: &[u8], path: &Path) -> Result<Credential> {
    let map = parse_document(bytes, path)?;
    let s = |k: &str| {
        map.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let access =
        s("access_token").ok_or_else(|| Error::parse(path, "missing field 'access_token'"))?;
    let expires_at = match map.get("token_expiry") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|f| *f >= 0.0)
                .map(|f| f as u64)
                .ok_or_else(|| {
                    Error::parse(
                        path,
                        "field 'token_expiry' must be a number of Unix seconds",
                    )
                })?,
        ),
    };
    let token = |v: String, what: &str| Secret::token(v, what).map_err(|m| Error::parse(path, m));
    let mut set =
        TokenSet::access_only(token(access, "field 'access_token'")?, Provider::Anthropic);
    set.refresh_token = s("refresh_token")
        .map(|r| token(r, "field 'refresh_token'"))
        .transpose()?;
    set.expires_at = expires_at;
    Ok(Credential::OAuth(set))
}

/// Write a refreshed token set back to the seed file, in its format:
/// `access_token`, `refresh_token` and `token_expiry` (Unix seconds)
/// replaced, every other key kept. Call it under the lock beside the file
/// (`<file>.lock`). A file that is there but cannot be parsed is never
/// overwritten.
pub fn write_seed_file(path: &Path, set: &TokenSet) -> Result<()> {
    let mut doc = read_document(path)?.unwrap_or_default();
    doc.insert(
        "access_token".into(),
        set.access_token.expose().to_owned().into(),
    );
    if let Some(refresh) = &set.refresh_token {
        doc.insert("refresh_token".into(), refresh.expose().to_owned().into());
    }
    match set.expires_at {
        Some(at) => doc.insert("token_expiry".into(), at.into()),
        None => doc.remove("token_expiry"),
    };
    write_atomic(path, &to_json_bytes(&Value::Object(doc)), 0o600)
}
