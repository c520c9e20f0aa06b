//! Who a request is from: the proxy's local key, or an agent's key.
//!
//! The local key (compared in constant time) is the proxy's own; when the
//! proxy was started for one agent (`exec --proxy --agent-id`), it is that
//! agent's key and every request is that agent's. A shared proxy also
//! accepts the key of any agent with an open session in the ledger
//! ([`AgentKeys`](crate::agents::AgentKeys), cached), and attributes the
//! request to it — when that session is for the provider whose API this
//! proxy serves: an OpenAI agent's key is refused by an Anthropic proxy and
//! the reverse (a 401 in the proxy's vendor's error shape, naming the
//! session's provider and the fix), so no agent's requests are served, or
//! counted, under the other vendor. Whoever it is, the request carries an
//! `Option<AgentRef>` from here on: the ledger row gets its id.

use hyper::header::HeaderMap;
use hyper::Response;

use super::handler::Shared;
use super::headers::presented_key;
use super::shape::{served, vendor_error, Refused};
use super::ProxyBody;
use crate::agents::{AgentRef, KeyHolder};
use crate::credential::Provider;
use crate::oauth::pkce::constant_time_eq;
use crate::usage::writer::UsageSink;

/// The agent a request is from (`None`: the local key, not an agent's, or
/// no key needed), or the 401 that refuses it.
pub(super) async fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Option<AgentRef>, Response<ProxyBody>> {
    let config = &shared.config;
    let presented = presented_key(headers);
    if let (Some(expected), Some(key)) = (&config.local_key, presented) {
        if constant_time_eq(key, expected.expose()) {
            return Ok(config.local_agent.clone());
        }
    }
    let agent = match (&config.agent_keys, presented) {
        (Some(keys), Some(key)) => keys.lookup(key).await,
        _ => None,
    };
    let serves = served(shared);
    match agent {
        Some(KeyHolder { agent, provider }) if provider == *serves => Ok(Some(agent)),
        Some(KeyHolder { agent, provider }) => Err(vendor_error(
            serves,
            Refused::Key,
            &format!(
                "claude-auth proxy: the key is agent {id:?}'s, whose session is for {theirs}, but \
                 this proxy serves {ours}'s API; send the agent to a `claude-auth proxy --provider \
                 {their_arg}`, or start it with `claude-auth exec --provider {our_arg} --agent-id \
                 {id} --proxy-url …` to use this one",
                id = &*agent.id,
                theirs = provider.display_name(),
                ours = serves.display_name(),
                their_arg = provider.as_str(),
                our_arg = serves.as_str(),
            ),
        )),
        // Without a local key anyone may come in; an agent key still says who.
        None if config.local_key.is_none() => Ok(config.local_agent.clone()),
        // Named as the vendor's SDKs send a key: `x-api-key` for
        // Anthropic's, a bearer token for OpenAI's (both are accepted).
        None => Err(vendor_error(
            serves,
            Refused::Key,
            match serves {
                Provider::Openai => {
                    "claude-auth proxy: missing or wrong local key (send it as \
                     Authorization: Bearer <key>, as OPENAI_API_KEY is sent)"
                }
                _ => "claude-auth proxy: missing or wrong local key (send it as x-api-key)",
            },
        )),
    }
}

/// The sink a request's usage goes to: the proxy's, with the request's agent.
pub(super) fn sink_for(sink: &UsageSink, agent: Option<&AgentRef>) -> UsageSink {
    match agent {
        Some(a) if sink.agent.as_deref() != Some(&*a.id) => UsageSink {
            agent: Some(std::sync::Arc::clone(&a.id)),
            ..sink.clone()
        },
        _ => sink.clone(),
    }
}
