//! Honest failover: which entry of the `[selection] fallback` list a door
//! uses now, and the notice every switch must give.
//!
//! Failover is off unless `fallback` is set. With it on, a door (the proxy,
//! the library client, `chat`) keeps a [`Rotation`] over the entries it can
//! use, in the list's order. The rule:
//!
//! - a request goes to the first entry that is not held;
//! - when an entry [rejects](crate::doors::rejection) a request, it is held
//!   until its rejected window resets (the reset header;
//!   [`Rejection::until`]); the request is sent again to the next entry when
//!   its body could be kept (buffered), otherwise the client gets the
//!   rejection and the next requests go to the next entry;
//! - within one request an entry that rejected it is never asked again,
//!   however short its hold ([`Tried`]): the request goes on to the entries
//!   it has not tried, and when none is free the last rejection reaches the
//!   client;
//! - once the hold ends, requests go back to the earlier entry (announced
//!   as a switch too, since the billing changes back);
//! - when every entry is held, requests go to the current one, and its
//!   rejection reaches the client unchanged.
//!
//! Every switch yields a [`Switch`], which the door prints on stderr (the
//! proxy), hands to the embedder (the client's callback) and writes to the
//! usage ledger's `events` (`kind = failover`): a switch from a subscription
//! to pay-as-you-go is never silent. Transient errors (5xx, 529, network)
//! never switch.

use std::fmt;
use std::sync::Mutex;

use crate::doors::rejection::{RejectReason, Rejection};

/// Why a door switched entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwitchReason {
    /// The entry it left rejected a request.
    Rejected(RejectReason),
    /// The earlier entry's rejected window has reset: back to it.
    WindowReset,
}

impl fmt::Display for SwitchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchReason::Rejected(r) => write!(f, "rejected: {r}"),
            SwitchReason::WindowReset => f.write_str("its rejected window has reset"),
        }
    }
}

/// One switch between entries, as every door reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    /// The class (or provider) it left: `anthropic-subscription`, …
    pub from: String,
    /// The class (or provider) it now uses.
    pub to: String,
    /// Why.
    pub reason: SwitchReason,
}

/// How a class is billed, for the notice.
fn billing(class: &str) -> &'static str {
    if class.ends_with("-subscription") {
        "the subscription's usage windows"
    } else if class.ends_with("-api-key") {
        "pay-as-you-go API billing"
    } else {
        "that provider's billing"
    }
}

impl fmt::Display for Switch {
    /// `failover: anthropic-subscription -> anthropic-api-key (rejected: …);
    /// billing changes: requests now count against pay-as-you-go API
    /// billing, not the subscription's usage windows`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "failover: {} -> {} ({}); billing changes: requests now count against {}, not {}",
            self.from,
            self.to,
            self.reason,
            billing(&self.to),
            billing(&self.from)
        )
    }
}

/// One request's way through a [`Rotation`]: the entries that rejected it,
/// each with why. An entry in it is not asked again for that request, even
/// once its hold has ended (a reset already past holds for one second only,
/// less than a slow answer can take).
#[derive(Debug, Default)]
pub struct Tried(Vec<Option<RejectReason>>);

impl Tried {
    /// Why entry `index` rejected this request, if it did.
    fn reason(&self, index: usize) -> Option<&RejectReason> {
        self.0.get(index).and_then(Option::as_ref)
    }

    fn has(&self, index: usize) -> bool {
        self.reason(index).is_some()
    }

    fn record(&mut self, index: usize, reason: RejectReason) {
        if self.0.len() <= index {
            self.0.resize(index + 1, None);
        }
        self.0[index] = Some(reason);
    }

    /// Whether no entry has rejected this request yet.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
}

struct State {
    /// Per entry: held until (Unix seconds), and why.
    held: Vec<Option<(u64, RejectReason)>>,
    /// The entry the last request went to.
    current: usize,
}

/// The rule above over `n` entries (0 is the first of the list).
pub struct Rotation {
    classes: Vec<String>,
    state: Mutex<State>,
}

impl fmt::Debug for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rotation")
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

impl Rotation {
    /// A rotation over entries of these classes, in order, starting at the first.
    pub fn new(classes: Vec<String>) -> Rotation {
        let n = classes.len();
        Rotation {
            classes,
            state: Mutex::new(State {
                held: vec![None; n],
                current: 0,
            }),
        }
    }

    /// The entries' classes.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry to use at `now` for a request that `tried` has been
    /// through, and, when it is not the one the last request used, the
    /// switch to announce with the entry it leaves. The first entry neither
    /// held nor tried; with none, a new request goes to the current entry,
    /// and one already rejected to the first entry it has not tried (only
    /// when another request held the rest meanwhile).
    pub fn pick(&self, now: u64, tried: &Tried) -> (usize, Option<(usize, Switch)>) {
        let mut st = self.lock();
        for h in st.held.iter_mut() {
            if h.as_ref().is_some_and(|(until, _)| *until <= now) {
                *h = None;
            }
        }
        let current = st.current;
        let n = st.held.len();
        let free = (0..n).find(|&i| st.held[i].is_none() && !tried.has(i));
        let chosen = match free {
            Some(i) => i,
            None if tried.is_empty() => return (current, None),
            None => match (0..n).find(|&i| !tried.has(i)) {
                Some(i) => i,
                None => return (current, None),
            },
        };
        if chosen == current {
            return (current, None);
        }
        let reason = match (&st.held[current], tried.reason(current)) {
            (Some((_, why)), _) | (None, Some(why)) => SwitchReason::Rejected(why.clone()),
            (None, None) => SwitchReason::WindowReset,
        };
        st.current = chosen;
        let switch = Switch {
            from: self.classes[current].clone(),
            to: self.classes[chosen].clone(),
            reason,
        };
        (chosen, Some((current, switch)))
    }

    /// Entry `index` rejected a request at `now`: hold it until its window
    /// resets, and note it in the request's `tried`. Returns whether an
    /// entry the request has not tried is free now (so it may be sent
    /// again).
    pub fn reject(&self, index: usize, rejection: &Rejection, now: u64, tried: &mut Tried) -> bool {
        tried.record(index, rejection.reason.clone());
        let mut st = self.lock();
        if let Some(h) = st.held.get_mut(index) {
            *h = Some((rejection.until(now), rejection.reason.clone()));
        }
        st.held
            .iter()
            .enumerate()
            .any(|(i, h)| !tried.has(i) && h.as_ref().is_none_or(|(until, _)| *until <= now))
    }
}

/// One entry of the `fallback` list a door can use: its class (for the
/// notice), the credential, and an engine resolving exactly it.
#[derive(Clone, Debug)]
pub struct FallbackEntry {
    /// The credential's class (`anthropic-api-key`, …), also for a
    /// provider-alone entry (`openai` names that chain's winner).
    pub class: String,
    /// The credential.
    pub candidate: crate::select::Candidate,
    /// An engine pinned to it ([`Providers::manager_for`](crate::Providers::manager_for)).
    pub manager: crate::engine::manager::AuthManager,
}

/// The `fallback` list as a door speaking one provider's API can follow it.
#[derive(Clone, Debug, Default)]
pub struct FallbackChain {
    /// The entries it can use, in the list's order (each credential once).
    pub entries: Vec<FallbackEntry>,
    /// The entries left out, each with why (another API, no credential of
    /// that class), for the door to say.
    pub skipped: Vec<String>,
}

impl crate::Providers {
    /// The failover chain for a door that speaks `provider`'s API, from
    /// `[selection] fallback`; `None` when failover is off (no `fallback`,
    /// `failover = false`, or `failover` off in preferences.json). An entry of the other provider is skipped
    /// (a Messages API client cannot be sent to OpenAI, nor the reverse;
    /// `claude-auth chat`, which owns its request shape, can cross), and so
    /// is an entry with no usable credential; each skip says why.
    pub fn fallback_chain(
        &self,
        provider: &crate::Provider,
    ) -> crate::Result<Option<FallbackChain>> {
        let selection = &self.settings().selection;
        // Never on without a list: nothing else is read (a bad
        // CLAUDE_AUTH_STRATEGY or preferences file cannot stop a door then).
        if selection.fallback.is_empty() {
            return Ok(None);
        }
        // On or off as `select` says: preferences.json (what `switch` and
        // the TUI write) over `[selection] failover`; never without a list.
        let effective =
            crate::select::preferences::effective(self.env(), self.settings(), None, None, None)?;
        if !effective.failover.value {
            return Ok(None);
        }
        let candidates = self.candidates();
        let mut chain = FallbackChain::default();
        for wanted in &selection.fallback {
            let Some(found) = candidates.iter().find(|c| {
                wanted.matches(c)
                    && !chain
                        .entries
                        .iter()
                        .any(|e| e.candidate.source == c.source && e.candidate.profile == c.profile)
            }) else {
                let already = candidates.iter().any(|c| wanted.matches(c));
                if !already {
                    chain
                        .skipped
                        .push(format!("{wanted}: no usable credential of that kind"));
                }
                continue;
            };
            if found.provider != *provider {
                chain.skipped.push(format!(
                    "{wanted}: speaks {}'s API, not the {} API this door serves (`claude-auth chat` can cross vendors)",
                    found.provider.display_name(),
                    provider.display_name(),
                ));
                continue;
            }
            chain.entries.push(FallbackEntry {
                class: found.class.as_str().to_owned(),
                candidate: found.clone(),
                manager: self.manager_for(found)?,
            });
        }
        Ok(Some(chain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(resets_at: u64) -> Rejection {
        Rejection {
            reason: RejectReason::UnifiedRejected,
            resets_at: Some(resets_at),
        }
    }

    #[test]
    fn moves_on_a_rejection_stays_until_the_reset_then_goes_back() {
        let r = Rotation::new(vec![
            "anthropic-subscription".into(),
            "anthropic-api-key".into(),
        ]);
        let mut tried = Tried::default();
        assert_eq!(r.pick(10, &tried), (0, None));
        assert!(r.reject(0, &rejected(100), 10, &mut tried));
        let (i, switch) = r.pick(11, &tried);
        assert_eq!(i, 1);
        let (left, switch) = switch.unwrap();
        assert_eq!(left, 0);
        assert_eq!(
            switch.to_string(),
            "failover: anthropic-subscription -> anthropic-api-key (rejected: the unified rate \
             limit status is rejected); billing changes: requests now count against \
             pay-as-you-go API billing, not the subscription's usage windows"
        );
        // Stays there, silently, until the reset.
        let fresh = Tried::default();
        assert_eq!(r.pick(99, &fresh), (1, None));
        let (i, back) = r.pick(100, &fresh);
        assert_eq!(i, 0);
        assert_eq!(back.unwrap().1.reason, SwitchReason::WindowReset);
        // Everything held: the current one, no switch, no free entry.
        let mut tried = Tried::default();
        assert!(r.reject(0, &rejected(500), 101, &mut tried));
        assert!(!r.reject(1, &rejected(500), 101, &mut tried));
        assert_eq!(r.pick(102, &Tried::default()).0, 0);
    }

    #[test]
    fn a_request_never_goes_back_to_an_entry_that_rejected_it_even_once_its_hold_is_over() {
        let r = Rotation::new(vec![
            "anthropic-subscription".into(),
            "anthropic-api-key".into(),
            "anthropic-api-key".into(),
        ]);
        let mut tried = Tried::default();
        assert_eq!(r.pick(10, &tried), (0, None));
        // Its window reset already: held for one second, over by 12.
        assert!(r.reject(0, &rejected(5), 10, &mut tried));
        let (i, switch) = r.pick(12, &tried);
        assert_eq!(i, 1);
        // The switch says why, though the hold is over.
        assert_eq!(
            switch.unwrap().1.reason,
            SwitchReason::Rejected(RejectReason::UnifiedRejected)
        );
        assert!(r.reject(1, &rejected(5), 12, &mut tried));
        assert_eq!(r.pick(14, &tried).0, 2);
        // The last one rejects too: nothing left for this request.
        assert!(!r.reject(2, &rejected(5), 14, &mut tried));
        // A new request starts again from the first free entry.
        assert_eq!(r.pick(16, &Tried::default()).0, 0);
    }
}
