//! `exec --agent-id`: the agent's session around the child. Registered in
//! the usage ledger before the child starts (watching `exec` itself until
//! then, so a session is never left open by an `exec` that died before its
//! child existed), pointed at the child once it runs, closed with its exit
//! code or signal. The agent's key, when the child reaches the API through
//! a proxy, is made here; only its hash goes to the ledger.

use std::net::IpAddr;

use claude_auth::agents::{self, sessions, AgentRef, Ending, NewSession};
use claude_auth::usage::ledger::Ledger;
use claude_auth::Secret;

use crate::commands::Usable;
use crate::output::Failure;

/// The environment variable `--proxy-url` falls back to.
pub const PROXY_URL_VAR: &str = "CLAUDE_AUTH_PROXY_URL";

/// An open session.
pub struct Session {
    ledger: Ledger,
    /// The agent, as proxies attribute its requests.
    pub agent: AgentRef,
}

/// Check `--agent-id`.
pub fn check_id(id: &str) -> Result<(), Failure> {
    agents::validate_agent_id(id).map_err(Failure::usage)
}

/// The shared proxy to send the agent to: `--proxy-url`, else
/// `CLAUDE_AUTH_PROXY_URL`; it must be `http://` on a loopback address (a
/// `claude-auth proxy` listens nowhere else, and the agent key must not
/// travel further).
pub fn proxy_url(flag: Option<&str>) -> Result<Option<String>, Failure> {
    let (text, named) = match flag {
        Some(f) => (f.to_owned(), "--proxy-url"),
        None => match std::env::var(PROXY_URL_VAR) {
            Ok(v) if !v.trim().is_empty() => (v, PROXY_URL_VAR),
            _ => return Ok(None),
        },
    };
    let bad = |why: &str| {
        Failure::usage(format!(
            "{named} {:?}: {why}; give the URL `claude-auth proxy` printed (http://127.0.0.1:PORT)",
            claude_auth::usage::clean_text(&text)
        ))
    };
    let url = url::Url::parse(text.trim()).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if url.scheme() != "http" {
        return Err(bad("the shared proxy speaks plain http on loopback"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(bad("no user, password or query belongs in it"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    if !loopback {
        return Err(bad("it must be a loopback address"));
    }
    Ok(Some(text.trim().trim_end_matches('/').to_owned()))
}

/// A fresh agent key.
pub fn new_key() -> Result<Secret, Failure> {
    agents::generate_agent_key().map_err(|e| Failure::error(e.to_string()))
}

impl Session {
    /// Register `id`'s session for `usable`'s login, watching this process
    /// until the child exists. `None` (with a warning) when the ledger is
    /// off in the settings, unless the session is needed for a shared proxy
    /// (`required`).
    pub fn register(
        usable: &Usable,
        id: &str,
        budget: Option<&str>,
        key: Option<&Secret>,
        required: bool,
    ) -> Result<Option<Session>, Failure> {
        let resolver = usable.manager.resolver();
        if !resolver.settings().usage_ledger {
            if required {
                return Err(Failure::usage(
                    "--proxy-url needs the usage ledger, which the settings turn off ([usage] ledger = false)",
                ));
            }
            crate::output::warn(&format!(
                "the usage ledger is off ([usage] ledger = false): agent {id}'s session is not recorded"
            ));
            return Ok(None);
        }
        let ledger = Ledger::open_in(&claude_auth::usage::state_dir(resolver.env()))
            .map_err(|e| Failure::error(format!("--agent-id: {e}")))?;
        let profile = usable
            .provenance
            .source
            .map(|s| claude_auth::usage::login_key(s, usable.provenance.profile.as_deref()));
        let hash = key.map(|k| agents::key_hash(k.expose()));
        let provider = usable.credential.provider();
        let session = sessions::register(
            &ledger,
            &NewSession {
                id,
                provider,
                profile: profile.as_deref(),
                pid: Some(std::process::id()),
                budget,
                key_hash: hash.as_deref(),
            },
            claude_auth::credential::now_unix(),
        )
        .map_err(|e| Failure::error(e.to_string()))?;
        Ok(Some(Session {
            ledger,
            agent: AgentRef {
                id: id.into(),
                session,
            },
        }))
    }

    /// Watch the child from now on.
    pub fn child_started(&self, pid: u32) {
        if let Err(e) = sessions::set_process(&self.ledger, self.agent.session, pid) {
            crate::output::warn(&format!("agent {}: {e}", self.agent.id));
        }
    }

    /// Close the session with how the child ended.
    pub fn close(self, status: Option<&std::process::ExitStatus>, code: u8) {
        let ending = match status {
            Some(s) => ending(s),
            None => Ending::Exited(i32::from(code)),
        };
        let now = claude_auth::credential::now_unix();
        if let Err(e) = sessions::close(&self.ledger, self.agent.session, ending, now) {
            crate::output::warn(&format!("agent {}: {e}", self.agent.id));
        }
    }
}

fn ending(status: &std::process::ExitStatus) -> Ending {
    if let Some(code) = status.code() {
        return Ending::Exited(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Ending::Signal(sig);
        }
    }
    Ending::Died
}
