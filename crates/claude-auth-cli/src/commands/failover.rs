//! Failover for the doors that run a proxy (`proxy`, `exec --proxy`): the
//! `[selection] fallback` list turned into the proxy's chain, with what it
//! does said on stderr before the first request (which entries, in which
//! order, and which are skipped and why). The switching itself, and its
//! notice, are the library's (`claude_auth::proxy::ProxyFailover`).
//!
//! `claude-auth proxy` serves the list's first usable entry first, unless
//! `--profile` names the login to serve. `exec --proxy` has already chosen
//! its credential (by `--profile`, a strategy or the environment), and its
//! session row and stderr name that one. Either way a chosen login's chain
//! starts with it and goes on with the list's entries, without it.

use std::sync::Arc;

use claude_auth::proxy::{ProxyFailover, ProxyFallback};
use claude_auth::usage::writer::UsageSink;
use claude_auth::{AuthManager, Env, Provider, Providers};

use crate::commands::Usable;
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
/// `chosen`: the credential the door already chose, which serves first
/// (with `usage`), the list's entries after it (without it again).
pub async fn proxy_chain(
    provider: &Provider,
    upstream: &str,
    forced: bool,
    usage: Option<&UsageSink>,
    chosen: Option<&Usable>,
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
    // The same profile however it was named (`--profile`, the active one),
    // else the same source.
    let is_chosen = |c: &claude_auth::select::Candidate| {
        chosen.is_some_and(|u| match (&c.profile, &u.provenance.profile) {
            (Some(a), Some(b)) => a == b,
            (None, None) => Some(c.source) == u.provenance.source,
            _ => false,
        })
    };
    for entry in chain.entries {
        // It serves first already.
        if is_chosen(&entry.candidate) {
            continue;
        }
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
    let sink_for = |login: &str| {
        usage.map(|u| UsageSink {
            login: Arc::from(login),
            ..u.clone()
        })
    };
    let first = match chosen {
        Some(u) => (class_of(u), describe(u), u.manager.clone(), usage.cloned()),
        None => {
            let Some(first) = entries.next() else {
                crate::output::warn(
                    "failover is on ([selection] fallback) but no entry of the list is usable by this proxy; it serves the usual credential without failover",
                );
                return Ok(None);
            };
            (
                first.class.clone(),
                first.candidate.describe(),
                first.manager,
                sink_for(&first.candidate.login),
            )
        }
    };
    let (first_class, first_described, first_manager, first_usage) = first;
    let mut order = vec![first_described];
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
        usage: first_usage,
        failover: Arc::new(ProxyFailover::new(first_class, next, skipped)),
        manager: first_manager,
    }))
}

/// The class of a chosen credential, as the fallback list names classes.
fn class_of(usable: &Usable) -> String {
    use claude_auth::select::CandidateClass;
    let subscription = matches!(usable.credential, claude_auth::Credential::OAuth(_));
    let class = match (usable.credential.provider(), subscription) {
        (Provider::Anthropic, true) => CandidateClass::AnthropicSubscription,
        (Provider::Anthropic, false) => CandidateClass::AnthropicApiKey,
        (Provider::Openai, true) => CandidateClass::OpenaiSubscription,
        (Provider::Openai, false) => CandidateClass::OpenaiApiKey,
    };
    class.as_str().to_owned()
}

/// A chosen credential as [`claude_auth::select::Candidate::describe`]
/// says a list entry: its class, and its profile or source.
fn describe(usable: &Usable) -> String {
    match &usable.profile {
        Some(p) => format!("{} (profile {p})", class_of(usable)),
        None => format!("{} ({})", class_of(usable), usable.source),
    }
}
