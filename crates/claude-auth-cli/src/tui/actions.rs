//! The actions the dashboard starts (switch, refresh now, log out), each
//! one library call on the worker's thread, cancellable with Esc, ending in
//! one line for the notice bar (never a secret: masked values only).

use std::sync::mpsc::Sender;

use claude_auth::status::relative;
use claude_auth::{Provider, Providers};
use tokio::sync::watch;

use super::app::{Request, Update};
use super::worker::providers;
use crate::GlobalArgs;

fn done(result: Result<String, String>) -> Update {
    match result {
        Ok(message) => Update::Done {
            message,
            failed: false,
        },
        Err(message) => Update::Done {
            message,
            failed: true,
        },
    }
}

/// Wait for `fut`, or for the cancel signal.
pub async fn cancellable<T>(
    mut cancel: watch::Receiver<bool>,
    fut: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::select! {
        r = fut => r,
        _ = cancel.wait_for(|c| *c) => Err("cancelled".into()),
    }
}

/// Run one action to its end (or its cancellation).
pub fn run(
    global: &GlobalArgs,
    request: Request,
    cancel: watch::Receiver<bool>,
    _out: &Sender<Update>,
) -> Update {
    let providers = match providers(global) {
        Ok(p) => p,
        Err(e) => return done(Err(e)),
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return done(Err(format!("could not start the async runtime: {e}"))),
    };
    done(match request {
        Request::Switch(provider, profile) => switch(&providers, provider, profile),
        Request::Refresh(provider) => {
            rt.block_on(cancellable(cancel, refresh(&providers, provider)))
        }
        Request::Logout(provider, profile, codex) => rt.block_on(cancellable(
            cancel,
            logout(&providers, provider, profile, codex),
        )),
        Request::SavePrefs {
            strategy,
            failover,
            cost,
        } => save_prefs(&providers, strategy, failover, cost),
        other => Err(format!("internal: {other:?} is not an action")),
    })
}

fn switch(
    providers: &Providers,
    provider: Provider,
    profile: Option<String>,
) -> Result<String, String> {
    let switched = providers
        .switch(provider.clone(), profile.as_deref())
        .map_err(|e| e.to_string())?;
    let what = match &switched.record.profile {
        Some(p) => format!("{} (profile {p})", provider.display_name()),
        None => provider.display_name().to_owned(),
    };
    let mut line = format!("Switched to {what}");
    if !switched.usable {
        line.push_str("; it has no usable login: press l to log in");
    }
    if switched.active.provider != provider {
        line.push_str(&format!(
            "; still active: {} ({})",
            switched.active.provider.display_name(),
            switched.active.reason
        ));
    }
    Ok(line)
}

async fn refresh(providers: &Providers, provider: Provider) -> Result<String, String> {
    let resolution = providers.resolve(&provider, false);
    let current = resolution.credential().map_err(|e| e.to_string())?.clone();
    if !current.can_refresh() {
        return Err(format!(
            "the {} from {} cannot be refreshed (no refresh token or no OAuth client)",
            current.kind().label(),
            resolution.winner().map_or("?", |w| w.id.label())
        ));
    }
    let manager = providers.manager(&provider).map_err(|e| e.to_string())?;
    let obtained = manager
        .force_refresh(current.secret())
        .await
        .map_err(|e| e.to_string())?;
    let expiry = obtained.credential.expires_at().map_or_else(
        || "unknown expiry".to_owned(),
        |e| {
            format!(
                "expires {}",
                relative(claude_auth::credential::seconds_until(
                    e,
                    claude_auth::credential::now_unix()
                ))
            )
        },
    );
    Ok(format!(
        "Refreshed {}: {} {expiry}",
        provider.display_name(),
        obtained.credential.secret().masked()
    ))
}

async fn logout(
    providers: &Providers,
    provider: Provider,
    profile: Option<String>,
    codex: bool,
) -> Result<String, String> {
    let mut profiles = claude_auth::Profiles::new(providers.resolver(&provider).clone());
    let (message, notes) = match provider {
        Provider::Anthropic => {
            let out = profiles
                .logout(profile.as_deref(), false)
                .await
                .map_err(|e| e.to_string())?;
            let name = out.profile.clone().unwrap_or_default();
            let mut notes: Vec<String> = out.notes.iter().map(ToString::to_string).collect();
            if let Some(id) = out.still_available {
                notes.push(format!(
                    "still available: {} (not managed by logout)",
                    id.label()
                ));
            }
            let message = if out.removed.is_empty() {
                format!("Not logged in to profile {name}: nothing to remove")
            } else {
                format!("Logged out of profile {name}")
            };
            (message, notes)
        }
        Provider::Openai => {
            let out = profiles
                .logout_openai(profile.as_deref(), codex)
                .await
                .map_err(|e| e.to_string())?;
            let message = match (&out.profile, out.removed.is_empty()) {
                (Some(p), true) => {
                    format!("Not logged in to OpenAI profile {p}: nothing to remove")
                }
                (Some(p), false) => format!("Logged out of OpenAI profile {p}"),
                (None, true) => "Codex is not logged in: nothing to remove".to_owned(),
                (None, false) => "Logged out of Codex's login".to_owned(),
            };
            (message, out.notes.iter().map(ToString::to_string).collect())
        }
    };
    Ok(if notes.is_empty() {
        message
    } else {
        format!("{message} ({})", notes.join("; "))
    })
}

pub(crate) fn save_prefs(
    providers: &Providers,
    strategy: Option<Option<claude_auth::select::Strategy>>,
    failover: Option<Option<bool>>,
    cost: Option<Option<claude_auth::select::CostPreference>>,
) -> Result<String, String> {
    use claude_auth::select::preferences::{set_cost, set_failover, set_strategy};
    let env = providers.env();
    let mut saved = Vec::new();
    let shown = |v: Option<String>| v.unwrap_or_else(|| "not set".into());
    if let Some(s) = strategy {
        set_strategy(env, s).map_err(|e| e.to_string())?;
        saved.push(format!("strategy {}", shown(s.map(|s| s.to_string()))));
    }
    if let Some(f) = failover {
        set_failover(env, f).map_err(|e| e.to_string())?;
        let f = f.map(|f| if f { "on" } else { "off" }.to_owned());
        saved.push(format!("failover {}", shown(f)));
    }
    if let Some(c) = cost {
        set_cost(env, c).map_err(|e| e.to_string())?;
        saved.push(format!("cost {}", shown(c.map(|c| c.to_string()))));
    }
    Ok(if saved.is_empty() {
        "Preferences unchanged".to_owned()
    } else {
        format!("Saved preferences: {}", saved.join(", "))
    })
}

#[cfg(test)]
#[path = "actions_tests.rs"]
mod tests;
