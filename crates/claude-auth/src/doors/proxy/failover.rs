//! The proxy's failover (the rule is [`crate::doors::failover`]'s): with a
//! [`ProxyFailover`] in its settings, the proxy sends each request with the
//! entry the rotation picks; when that entry rejects it
//! ([`Rejection`]), the entry is held until its window resets and the
//! request goes again to the next entry — when its body was buffered (up to
//! [`ProxyConfig::max_buffered_body`](super::ProxyConfig), as for the 401
//! retry); a body too large to keep was already sent, so that client gets
//! the rejection and the next requests go to the next entry. Only entries
//! that speak the client's API are in the chain (whoever builds it skips
//! the others and says so); a response that is streaming is never cut, as
//! only the status and headers decide.
//!
//! Every switch prints one line on stderr (from-class → to-class, why, and
//! that billing changes) and writes an `events` row (`kind = failover`) to
//! the usage ledger, with the agent whose request made the switch.

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::header::{self, HeaderMap};
use hyper::http::uri::PathAndQuery;
use hyper::{Response, StatusCode};

use super::activity::ClientBody;
use super::agent_auth::sink_for;
use super::handler::{internal_error, plan_body, relay_with, send, BodyPlan, Shared};
use super::headers::{inject, is_dropped_from_request, strip};
use super::shape::{own_error, served, vendor_error, Refused};
use super::ProxyBody;
use crate::agents::AgentRef;
use crate::credential::now_unix;
use crate::doors::failover::{Rotation, Switch, Tried};
use crate::doors::rejection::Rejection;
use crate::engine::manager::{AuthError, AuthManager};
use crate::usage::events::EVENT_FAILOVER;
use crate::usage::writer::UsageSink;

/// One more entry the proxy may fail over to.
#[derive(Clone, Debug)]
pub struct ProxyFallback {
    /// Its class as the fallback list names it (`anthropic-api-key`, …),
    /// for the notice.
    pub class: String,
    /// The engine resolving exactly its credential.
    pub manager: AuthManager,
    /// Where its responses (and the switches to it) are recorded: the usage
    /// ledger under its login; `None`: not recorded.
    pub usage: Option<UsageSink>,
}

/// The proxy's failover chain: its own credential (the manager it was
/// started with, class `first`), then `next`, in the fallback list's order.
#[derive(Debug)]
pub struct ProxyFailover {
    rotation: Rotation,
    next: Vec<ProxyFallback>,
    skipped: Vec<String>,
}

impl ProxyFailover {
    /// A chain: `first` is the class of the proxy's own credential, `next`
    /// the entries after it; `skipped` names the entries left out (another
    /// API, no credential), which the notice repeats when nothing is left.
    pub fn new(first: String, next: Vec<ProxyFallback>, skipped: Vec<String>) -> ProxyFailover {
        let mut classes = vec![first];
        classes.extend(next.iter().map(|e| e.class.clone()));
        ProxyFailover {
            rotation: Rotation::new(classes),
            next,
            skipped,
        }
    }

    /// The classes in order, the proxy's own first.
    pub fn classes(&self) -> &[String] {
        self.rotation.classes()
    }

    fn entry<'a>(
        &'a self,
        shared: &'a Shared,
        index: usize,
    ) -> (&'a AuthManager, Option<&'a UsageSink>) {
        match index.checked_sub(1).and_then(|i| self.next.get(i)) {
            Some(e) => (&e.manager, e.usage.as_ref()),
            None => (&shared.manager, shared.config.usage.as_ref()),
        }
    }

    /// Say it: stderr, and the ledger under the entry it left (else the
    /// one it took), with the agent whose request made the switch.
    fn announce(
        &self,
        shared: &Shared,
        switch: &Switch,
        (from, to): (usize, usize),
        agent: Option<&AgentRef>,
    ) {
        eprintln!("claude-auth proxy: {switch}");
        let sink = self.entry(shared, from).1.or(self.entry(shared, to).1);
        if let Some(sink) = sink {
            sink_for(sink, agent).event(EVENT_FAILOVER, format!("proxy: {switch}"));
        }
    }

    /// The rejection goes to the client: nothing else is free.
    fn exhausted(&self, index: usize, rejection: &Rejection) {
        let skipped = if self.skipped.is_empty() {
            String::new()
        } else {
            format!(" (not in this proxy's chain: {})", self.skipped.join("; "))
        };
        eprintln!(
            "claude-auth proxy: failover: {} rejected a request ({}) and no other entry is free{skipped}; the client gets the rejection",
            self.classes()[index],
            rejection.reason
        );
    }
}

fn no_credential(shared: &Shared, e: &AuthError) -> Response<ProxyBody> {
    own_error(
        shared,
        StatusCode::UNAUTHORIZED,
        "authentication_error",
        &format!("claude-auth proxy: no usable credential: {e}"),
    )
}

/// One request through the chain (after the handler's checks).
pub(super) async fn forward(
    shared: &Shared,
    chain: &ProxyFailover,
    method: hyper::Method,
    path_and_query: PathAndQuery,
    mut headers: HeaderMap,
    body: ClientBody,
    (started, agent, charge): (Instant, Option<&AgentRef>, Option<crate::budgets::Charge>),
) -> Response<ProxyBody> {
    strip(&mut headers, is_dropped_from_request);
    headers.insert(header::HOST, shared.target.host.clone());
    // Kept when it fits, so a rejected request can be sent again.
    let (bytes, mut stream): (Option<Bytes>, Option<ClientBody>) =
        match plan_body(shared, body, &headers, true).await {
            Ok(BodyPlan::Buffered(b)) => (Some(b), None),
            Ok(BodyPlan::Stream(s)) => (None, Some(s)),
            Err(resp) => return resp,
        };
    // Each entry at most once per request: one that rejected it is not
    // asked again, however short its hold.
    let mut tried = Tried::default();
    for _ in 0..chain.classes().len() {
        let now = now_unix();
        let (index, switch) = chain.rotation.pick(now, &tried);
        if let Some((from, switch)) = &switch {
            chain.announce(shared, switch, (*from, index), agent);
        }
        let (manager, usage) = chain.entry(shared, index);
        let mut again = |rejection: &Rejection, body_left: bool| {
            let more = chain.rotation.reject(index, rejection, now, &mut tried);
            if !more {
                chain.exhausted(index, rejection);
            }
            more && body_left
        };
        let credential = match manager.obtain().await {
            Ok(o) => o.credential,
            Err(e) if e.login_required() => {
                if again(&Rejection::login_required(), true) {
                    continue;
                }
                return no_credential(shared, &e);
            }
            Err(e) => return no_credential(shared, &e),
        };
        let body = match (&bytes, stream.take()) {
            (Some(b), _) => Either::Left(Full::new(b.clone())),
            (None, Some(s)) => Either::Right(s),
            (None, None) => {
                return internal_error(
                    shared,
                    &crate::error::Error::Unsupported(
                        "claude-auth proxy: the request body was already sent".into(),
                    ),
                )
            }
        };
        let mut sent_headers = headers.clone();
        let injected = shared
            .auth_value(&credential)
            .and_then(|value| inject(&mut sent_headers, &credential, value));
        if let Err(e) = injected {
            return internal_error(shared, &e);
        }
        let mut resp = match send(
            shared,
            method.clone(),
            path_and_query.clone(),
            sent_headers,
            body,
        )
        .await
        {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        // A 401: one forced refresh and one retry, as without failover; a
        // refresh that says to log in again is a rejection.
        if resp.status() == StatusCode::UNAUTHORIZED && bytes.is_some() && credential.can_refresh()
        {
            drop(resp);
            let refreshed = match manager.force_refresh(credential.secret()).await {
                Ok(o) => o.credential,
                Err(e) if e.login_required() => {
                    if again(&Rejection::login_required(), true) {
                        continue;
                    }
                    return own_error(
                        shared,
                        StatusCode::UNAUTHORIZED,
                        "authentication_error",
                        &format!("claude-auth proxy: the API rejected the credential and refreshing failed: {e}"),
                    );
                }
                Err(e) => {
                    return own_error(
                        shared,
                        StatusCode::UNAUTHORIZED,
                        "authentication_error",
                        &format!("claude-auth proxy: the API rejected the credential and refreshing failed: {e}"),
                    )
                }
            };
            let mut retry_headers = headers.clone();
            let injected = shared
                .auth_value(&refreshed)
                .and_then(|value| inject(&mut retry_headers, &refreshed, value));
            if let Err(e) = injected {
                return internal_error(shared, &e);
            }
            let body = Either::Left(Full::new(bytes.clone().unwrap_or_default()));
            resp = match send(
                shared,
                method.clone(),
                path_and_query.clone(),
                retry_headers,
                body,
            )
            .await
            {
                Ok(r) => r,
                Err(resp) => return resp,
            };
        }
        let rejection = Rejection::from_response(
            credential.provider(),
            resp.status().as_u16(),
            resp.headers(),
            now,
        );
        if let Some(rejection) = rejection {
            if again(&rejection, bytes.is_some()) {
                // Its limits are worth keeping: they say the window is full.
                if let Some(sink) = usage {
                    sink.headers(resp.headers());
                }
                continue;
            }
        }
        return relay_with(shared, usage, resp, (started, agent, charge));
    }
    // Not reached: each try is of an entry the request has not tried, and the
    // last one's rejection goes to the client. Kept as a safe answer, in the
    // shape of the API this proxy serves.
    vendor_error(
        served(shared),
        Refused::Exhausted,
        "claude-auth proxy: every entry of the failover chain rejected the request",
    )
}
