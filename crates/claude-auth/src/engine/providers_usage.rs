//! "How much is left", in one call: [`Providers::usage`] gives each
//! provider's winning login's usage (windows, plan, source, age), from the
//! vendor's usage endpoint through the cached [`UsageFetcher`], or from the
//! latest rate-limit headers the usage ledger kept (API keys, and
//! subscriptions whose endpoint cannot be reached).

use std::time::Duration;

use serde::Serialize;

use crate::credential::Provider;
use crate::engine::providers::Providers;
use crate::source::base_url_for;
use crate::usage::fetch::{report_for, UsageFetcher, UsageReport};
use crate::usage::ledger::Ledger;
use crate::usage::{login_key, state_dir};

/// One provider's winning login and its usage.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderUsage {
    /// Whose login.
    pub provider: Provider,
    /// The login's key (`profile-work`, `claude-code`, `codex`, …), also the
    /// cache and ledger key.
    pub login: String,
    /// The snapshot (or the error and the last good value with its age).
    #[serde(flatten)]
    pub report: UsageReport,
}

impl Providers {
    /// The usage of each provider's winning login (`provider` narrows it to
    /// one), Anthropic's first. A provider without a login is left out. The
    /// fetch cache's TTL is the `[usage] ttl_secs` setting.
    ///
    /// ```no_run
    /// # async fn f() -> claude_auth::Result<()> {
    /// let providers = claude_auth::providers::Providers::new(claude_auth::Env::from_process())?;
    /// for u in providers.usage(None).await {
    ///     for w in u.report.snapshot.iter().flat_map(|s| s.windows.iter()) {
    ///         println!("{:?} {}: {}% used", u.provider, w.label, w.used_percent);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn usage(&self, provider: Option<Provider>) -> Vec<ProviderUsage> {
        let wanted: Vec<Provider> = match provider {
            Some(p) => vec![p],
            None => vec![Provider::Anthropic, Provider::Openai],
        };
        let mut out = Vec::new();
        for provider in wanted {
            let resolver = self.resolver(&provider);
            let state = state_dir(resolver.env());
            let resolution = self.resolve(&provider, false);
            let Some((id, found)) = resolution
                .reports
                .iter()
                .find(|r| r.winner)
                .and_then(|r| r.found().map(|f| (r.id, f)))
            else {
                continue;
            };
            let key = login_key(id, found.profile.as_deref());
            let base_url = base_url_for(Some(found), resolver.env(), resolver.settings());
            let mut report = UsageReport::default();
            match self.manager(&provider) {
                Ok(manager) => match manager.credential().await {
                    Ok(credential) => {
                        let ttl = Duration::from_secs(resolver.settings().usage_ttl_secs);
                        report = match UsageFetcher::new(&state) {
                            Ok(f) => {
                                let f = f.with_ttl(ttl);
                                let ledger = Ledger::open_in(&state).ok();
                                report_for(&f, ledger.as_ref(), &key, &credential, &base_url).await
                            }
                            Err(e) => error_report(e.to_string()),
                        };
                    }
                    Err(e) => report.error = Some(e.to_string()),
                },
                Err(e) => report.error = Some(e.to_string()),
            }
            out.push(ProviderUsage {
                provider,
                login: key,
                report,
            });
        }
        out
    }
}

fn error_report(why: String) -> UsageReport {
    UsageReport {
        error: Some(why),
        ..UsageReport::default()
    }
}
