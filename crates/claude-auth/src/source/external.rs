//! The external-command source: like AWS `credential_process` or git
//! credential helpers, a configured command prints a credential and
//! claude-auth uses it, so Vault, 1Password or a cloud secret manager can feed
//! the chain without a copy on disk.
//!
//! Output is either one line holding a bare token (typed by its prefix) or a
//! JSON object: `{"api_key": "..."}`, or `{"access_token": "...",
//! "expires_at": 1775000000}` (`expires_in` seconds also accepted). The
//! command runs with no stdin and is killed after the timeout; its result is
//! cached in-process until it expires (or for `cache_secs` when it has no
//! expiry). A non-zero exit or empty output is an error; stderr is reported
//! only as its length, since helpers sometimes echo secrets there.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::settings::ExternalCommandSettings;
use crate::credential::{now_unix, Credential, Provider, TokenSet};
use crate::error::{Error, Result};
use crate::secret::Secret;

struct Cached {
    credential: Credential,
    valid_until: Instant,
}

fn cache() -> &'static Mutex<HashMap<String, Cached>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Cached>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Drop every cached result (tests, or after a 401).
pub fn clear_cache() {
    cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
}

/// Run the command (or reuse its cached result).
pub fn run(settings: &ExternalCommandSettings) -> Result<Credential> {
    run_for(&Provider::Anthropic, settings)
}

/// Run `provider`'s command (or reuse its cached result): the cache is kept
/// per provider and command, so one helper configured for both providers
/// never hands one provider's credential to the other.
pub fn run_for(provider: &Provider, settings: &ExternalCommandSettings) -> Result<Credential> {
    let key = format!("{}\n{}", provider.as_str(), settings.command);
    {
        let cache = cache()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(hit) = cache.get(&key) {
            if Instant::now() < hit.valid_until {
                return Ok(hit.credential.clone());
            }
        }
    }
    let credential = run_uncached_for(provider, settings)?;
    let ttl = match credential.expires_at() {
        Some(exp) => exp.saturating_sub(now_unix()).saturating_sub(30),
        None => settings.cache_secs,
    };
    cache()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(
            key,
            Cached {
                credential: credential.clone(),
                valid_until: Instant::now() + Duration::from_secs(ttl),
            },
        );
    Ok(credential)
}

fn fail(settings: &ExternalCommandSettings, message: impl Into<String>) -> Error {
    Error::ExternalCommand {
        command: settings.command.clone(),
        message: message.into(),
    }
}

/// Run the command now, bypassing the cache.
pub fn run_uncached(settings: &ExternalCommandSettings) -> Result<Credential> {
    run_uncached_for(&Provider::Anthropic, settings)
}

/// Run `provider`'s command now, bypassing the cache, and parse what it
/// printed by that provider's rules.
pub fn run_uncached_for(
    provider: &Provider,
    settings: &ExternalCommandSettings,
) -> Result<Credential> {
    let setting = match provider {
        Provider::Openai => "openai.external_command",
        Provider::Anthropic => "external_command",
    };
    let text = output_of(settings, setting)?;
    let parsed = match provider {
        Provider::Openai => super::openai_external::parse_output(text.trim()),
        Provider::Anthropic => parse_output(text.trim()),
    };
    parsed.map_err(|m| fail(settings, m))
}

/// Run the command (no stdin, killed after its timeout, at most 1 MiB read
/// from each pipe) and return its standard output; `setting` names its
/// settings table in errors.
fn output_of(settings: &ExternalCommandSettings, setting: &str) -> Result<String> {
    let mut cmd = if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.arg("/C").arg(&settings.command);
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c").arg(&settings.command);
        c
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(settings, format!("could not start: {e}")))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // Read both pipes on threads so a chatty child cannot block on a full pipe.
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.take(1 << 20).read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(1 << 20).read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + Duration::from_secs(settings.timeout_secs.max(1));
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(
                    settings,
                    format!(
                        "timed out after {} s (setting {setting}.timeout_secs)",
                        settings.timeout_secs
                    ),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(fail(settings, format!("could not wait for it: {e}"))),
        }
    };
    let out = out_reader.join().unwrap_or_default();
    let err_len = err_reader.join().map(|e| e.len()).unwrap_or(0);
    if !status.success() {
        return Err(fail(
            settings,
            format!("exited with {status} ({err_len} bytes on stderr, not shown since they may hold secrets)"),
        ));
    }
    String::from_utf8(out).map_err(|_| fail(settings, "printed something that is not UTF-8"))
}

/// Parse what a credential command printed.
pub fn parse_output(text: &str) -> std::result::Result<Credential, String> {
    if text.is_empty() {
        return Err("printed nothing; it must print a token or a JSON object".into());
    }
    if text.starts_with('{') {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "printed invalid JSON (line {} column {})",
                e.line(),
                e.column()
            )
        })?;
        let map = value
            .as_object()
            .ok_or("printed JSON that is not an object")?;
        let s = |k: &str| {
            map.get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        if let Some(key) = s("api_key") {
            return Ok(Credential::anthropic_api_key(Secret::token(
                key,
                "the printed 'api_key'",
            )?));
        }
        let token = s("access_token")
            .or_else(|| s("token"))
            .ok_or("printed JSON without 'api_key', 'access_token' or 'token'")?;
        let expires_at = match (map.get("expires_at"), map.get("expires_in")) {
            (Some(v), _) => crate::credential::parse_expires_at(Some(v))?,
            (None, Some(v)) => Some(
                now_unix().saturating_add(
                    v.as_u64()
                        .ok_or("field 'expires_in' must be a whole number of seconds")?,
                ),
            ),
            (None, None) => None,
        };
        let token = Secret::token(token, "the printed token")?;
        let mut credential = Credential::from_bare_anthropic_token(token)?;
        match &mut credential {
            Credential::OAuth(set) => set.expires_at = expires_at,
            Credential::Bearer { expires_at: e, .. } => *e = expires_at,
            Credential::ApiKey { .. } => {}
        }
        return Ok(credential);
    }
    if text.lines().count() > 1 {
        return Err("printed more than one line; print a bare token or a JSON object".into());
    }
    let token = Secret::token(text, "the printed token")?;
    let credential = Credential::from_bare_anthropic_token(token)?;
    // A bare OAuth token from a helper is used as is.
    if let Credential::OAuth(set) = &credential {
        return Ok(Credential::OAuth(TokenSet::access_only(
            set.access_token.clone(),
            Provider::Anthropic,
        )));
    }
    Ok(credential)
}

/// The external command as a source: configured in the settings (or
/// `CLAUDE_AUTH_EXTERNAL_COMMAND`), so its errors stop the chain.
pub(super) fn evaluate(
    r: &crate::source::Resolver,
    _: &crate::source::ResolveOptions,
) -> crate::source::Step {
    use crate::source::{Backing, Found, Step};
    match &r.settings().external_command {
        Some(cmd) => match run(cmd) {
            Ok(cred) => Step::Found(Box::new(Found::new(
                cred,
                format!("command `{}`", cmd.command),
                Backing::ExternalCommand,
            ))),
            Err(e) => Step::Fail(e, true),
        },
        None => Step::Skip(
            "not configured (external_command in settings, or CLAUDE_AUTH_EXTERNAL_COMMAND)".into(),
        ),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::credential::CredentialKind;

    fn settings(cmd: &str) -> ExternalCommandSettings {
        ExternalCommandSettings {
            command: cmd.into(),
            timeout_secs: 2,
            cache_secs: 300,
        }
    }

    #[test]
    fn bare_and_json_outputs() {
        assert_eq!(
            parse_output("sk-ant-api03-abc").unwrap().kind(),
            CredentialKind::ApiKey
        );
        let c = parse_output(r#"{"access_token":"sk-ant-oat01-x","expires_at":42}"#).unwrap();
        assert_eq!(
            (c.kind(), c.expires_at()),
            (CredentialKind::OauthToken, Some(42))
        );
        assert!(parse_output("").is_err());
        assert!(parse_output("a\nb").is_err());
        assert!(parse_output(r#"{"nothing":1}"#).is_err());
    }

    #[test]
    fn runs_command_and_reports_failures_without_stderr() {
        let c = run_uncached(&settings("printf 'sk-ant-api03-fromcmd\\n'")).unwrap();
        assert_eq!(c.secret().expose(), "sk-ant-api03-fromcmd");
        let err = run_uncached(&settings("x=LEAK; echo sk-ant-api03-${x}ED >&2; exit 3"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(!err.contains("LEAKED"), "{err}");
    }

    #[test]
    fn timeout_kills_the_command() {
        let start = Instant::now();
        let err = run_uncached(&ExternalCommandSettings {
            timeout_secs: 1,
            ..settings("sleep 30")
        })
        .unwrap_err();
        assert!(err.to_string().contains("timed out after 1 s"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn results_are_cached_per_command() {
        let tmp = tempfile::tempdir().unwrap();
        let counter = tmp.path().join("n");
        let cmd = format!("echo x >> {}; echo sk-ant-api03-cached", counter.display());
        let s = settings(&cmd);
        run(&s).unwrap();
        run(&s).unwrap();
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            1
        );
    }
}
