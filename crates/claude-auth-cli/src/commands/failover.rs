//! Failover for the doors that run a proxy (`proxy`, `exec --proxy`): the
//! `[selection] fallback` list turned into the proxy's chain, with what it
//! does said on stderr before the first request (which entries, in which
//! order, and which are skipped and why). The switching itself, and its
//! notice, are the library's (`claude_auth::proxy::ProxyFailover`).

use std::sync::Arc;

use claude_auth::proxy::{ProxyFailover, ProxyFallback};
use claude_auth::usage::writer::UsageSink;
use claude_auth::{AuthManager, Env, Provider, Providers};

use crate::output::Failure;

/// The proxy's credential and chain with failover on.
pub struct ProxyChain {
    /// The first entry's engine: the proxy's own credential.
    pub manager: AuthManager,
    /// Where the first entry's responses are recorded.
    pub usage: Option<UsageSink>,
    /// The chain after it.
    pub failover: Arc<ProxyFailover>,
}

/// The chain for a proxy serving `provider`'s API and forwarding to
/// `upstream` (`forced`: `--upstream` was given, so every entry goes
/// there); `None` when failover is off or no entry of the list is usable
/// here (said on stderr). `usage` is the sink the proxy would use without
/// failover: each entry's is the same writer under its own login.
pub async fn proxy_chain(
    provider: &Provider,
    upstream: &str,
    forced: bool,
    usage: Option<&UsageSink>,
) -> Result<Option<ProxyChain>, Failure> {
    let providers = Providers::new(Env::from_process()).map_err(|e| {
        Failure::error(e.to_string())
            .with_hint("fix the setting named above (see README: Settings)")
    })?;
    let Some(chain) = providers
        .fallback_chain(provider)
        .map_err(|e| Failure::error(e.to_string()))?
    else {
        return Ok(None);
    };
    let mut skipped = chain.skipped;
    let mut entries = Vec::new();
    for entry in chain.entries {
        // Its requests would go elsewhere than this proxy forwards to.
        if !forced {
            if let Ok(obtained) = entry.manager.obtain().await {
                let base = obtained.provenance.base_url.trim_end_matches('/');
                if base != upstream.trim_end_matches('/') {
                    skipped.push(format!(
                        "{}: its requests go to {base}, not to {upstream} where this proxy forwards",
                        entry.class
                    ));
                    continue;
                }
            }
        }
        entries.push(entry);
    }
    for why in &skipped {
        eprintln!("claude-auth proxy: failover: skipped {why}");
    }
    let mut entries = entries.into_iter();
    let Some(first) = entries.next() else {
        crate::output::warn(
            "failover is on ([selection] fallback) but no entry of the list is usable by this proxy; it serves the usual credential without failover",
        );
        return Ok(None);
    };
    let sink_for = |login: &str| {
        usage.map(|u| UsageSink {
            login: Arc::from(login),
            ..u.clone()
        })
    };
    let mut order = vec![first.candidate.describe()];
    let next: Vec<ProxyFallback> = entries
        .inspect(|e| order.push(e.candidate.describe()))
        .map(|e| ProxyFallback {
            class: e.class.clone(),
            usage: sink_for(&e.candidate.login),
            manager: e.manager,
        })
        .collect();
    eprintln!(
        "claude-auth proxy: failover on: {} (each switch is announced here and in the usage ledger's events)",
        order.join(", then ")
    );
    if next.is_empty() {
        eprintln!("claude-auth proxy: failover: only one entry is usable here, so a rejection goes to the client");
    }
    Ok(Some(ProxyChain {
        usage: sink_for(&first.candidate.login),
        failover: Arc::new(ProxyFailover::new(first.class.clone(), next, skipped)),
        manager: first.manager,
    }))
}
