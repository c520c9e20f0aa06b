//! The client's failover between Anthropic entries of the `[selection]
//! fallback` list (the rule is [`crate::doors::failover`]'s): a request an
//! entry [rejects](crate::doors::rejection) is sent again with the next
//! entry (the client always has the request's body), and later requests
//! stay there until the rejected window resets. The client's retries of
//! transient errors (5xx, 529, network, a 429 without a full window) are
//! unchanged and never switch.
//!
//! Every switch is told three ways: the embedder's callback
//! ([`ClientBuilder::on_failover`](super::ClientBuilder::on_failover)), a
//! `tracing` warning, and an `events` row (`kind = failover`) in the usage
//! ledger when the client has a usage sink.

use std::sync::Arc;

use crate::credential::now_unix;
use crate::doors::failover::{FallbackChain, Rotation, Switch, Tried};
use crate::doors::rejection::Rejection;
use crate::engine::manager::AuthManager;
use crate::usage::events::EVENT_FAILOVER;
use crate::usage::writer::UsageSink;

/// What the embedder is handed at every switch.
pub type FailoverCallback = Arc<dyn Fn(&Switch) + Send + Sync>;

/// The callback, as the builder keeps it (printable, for its `Debug`).
#[derive(Clone)]
pub(super) struct Notify(pub(super) FailoverCallback);

impl std::fmt::Debug for Notify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notify(..)")
    }
}

pub(super) struct ClientFailover {
    rotation: Rotation,
    managers: Vec<AuthManager>,
    sinks: Vec<Option<UsageSink>>,
    notify: Option<FailoverCallback>,
}

impl ClientFailover {
    /// The chain's entries, each recorded under its own login through
    /// `usage`'s writer; `None` for an empty chain.
    pub(super) fn new(
        chain: FallbackChain,
        usage: Option<&UsageSink>,
        notify: Option<Notify>,
    ) -> Option<ClientFailover> {
        if chain.entries.is_empty() {
            return None;
        }
        for why in &chain.skipped {
            tracing::info!("failover: skipped {why}");
        }
        let classes = chain.entries.iter().map(|e| e.class.clone()).collect();
        let sinks = chain
            .entries
            .iter()
            .map(|e| {
                usage.map(|u| UsageSink {
                    login: Arc::from(e.candidate.login.as_str()),
                    ..u.clone()
                })
            })
            .collect();
        Some(ClientFailover {
            rotation: Rotation::new(classes),
            managers: chain.entries.into_iter().map(|e| e.manager).collect(),
            sinks,
            notify: notify.map(|n| n.0),
        })
    }

    /// The entry to use now for a request `tried` has been through; a
    /// switch is announced.
    pub(super) fn pick(&self, tried: &Tried) -> usize {
        let (index, switch) = self.rotation.pick(now_unix(), tried);
        if let Some((from, switch)) = switch {
            tracing::warn!("{switch}");
            if let Some(notify) = &self.notify {
                notify(&switch);
            }
            let sink = self.usage(from).or(self.usage(index));
            if let Some(sink) = sink {
                sink.event(EVENT_FAILOVER, format!("client: {switch}"));
            }
        }
        index
    }

    pub(super) fn manager(&self, index: usize) -> &AuthManager {
        &self.managers[index.min(self.managers.len() - 1)]
    }

    pub(super) fn usage(&self, index: usize) -> Option<&UsageSink> {
        self.sinks.get(index).and_then(Option::as_ref)
    }

    /// Entry `index` rejected a request (noted in its `tried`): held until
    /// its window resets. Whether an entry the request has not tried is free
    /// to send it to.
    pub(super) fn reject(&self, index: usize, rejection: &Rejection, tried: &mut Tried) -> bool {
        let more = self.rotation.reject(index, rejection, now_unix(), tried);
        if !more {
            tracing::warn!(
                "failover: {} rejected a request ({}) and no other entry is free; returning the rejection",
                self.rotation.classes()[index],
                rejection.reason
            );
        }
        more
    }
}

impl super::Client {
    /// The credential to send with (and which entry it is, with failover):
    /// an entry whose login is gone for good is a rejection, and the next
    /// one is asked.
    pub(super) async fn obtain_entry(
        &self,
        tried: &mut Tried,
    ) -> Result<(Option<usize>, Arc<crate::credential::Credential>), super::ClientError> {
        let Some(failover) = &self.inner.failover else {
            let obtained = self.inner.manager.obtain().await?;
            if let Some(warning) = &obtained.warning {
                tracing::warn!("{warning}");
            }
            return Ok((None, obtained.credential));
        };
        let mut tries = 0;
        loop {
            let index = failover.pick(tried);
            match failover.manager(index).obtain().await {
                Ok(obtained) => {
                    if let Some(warning) = &obtained.warning {
                        tracing::warn!("{warning}");
                    }
                    return Ok((Some(index), obtained.credential));
                }
                Err(e)
                    if e.login_required()
                        && tries < failover.managers.len()
                        && failover.reject(index, &Rejection::login_required(), tried) =>
                {
                    tries += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The engine of `entry` (the client's own without failover).
    pub(super) fn entry_manager(&self, entry: Option<usize>) -> &AuthManager {
        match (entry, &self.inner.failover) {
            (Some(i), Some(f)) => f.manager(i),
            _ => &self.inner.manager,
        }
    }

    /// Where `entry`'s responses are recorded.
    pub(super) fn entry_usage(&self, entry: Option<usize>) -> Option<&UsageSink> {
        match (entry, &self.inner.failover) {
            (Some(i), Some(f)) => f.usage(i),
            _ => self.inner.usage.as_ref(),
        }
    }

    /// `entry`'s login is gone for good (after the refresh attempt): held
    /// like a rejection; whether another entry is free.
    pub(super) fn login_gone(&self, entry: Option<usize>, tried: &mut Tried) -> bool {
        match (entry, &self.inner.failover) {
            (Some(i), Some(f)) => f.reject(i, &Rejection::login_required(), tried),
            _ => false,
        }
    }

    /// Whether `entry` rejected this response and another entry is free
    /// to send the request to.
    pub(super) fn fails_over(
        &self,
        entry: Option<usize>,
        credential: &crate::credential::Credential,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        tried: &mut Tried,
    ) -> Option<bool> {
        let (index, failover) = (entry?, self.inner.failover.as_ref()?);
        let rejection =
            Rejection::from_response(credential.provider(), status, headers, now_unix())?;
        Some(failover.reject(index, &rejection, tried))
    }
}
