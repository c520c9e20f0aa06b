//! Fetching a login's usage from the vendor, carefully.
//!
//! The usage endpoints are heavily rate limited (Anthropic's answers 429
//! with `retry-after: 0`), and many processes on one machine may ask at
//! once. So every answer is cached in our state dir with a TTL (default
//! 60 s); one process fetches at a time (a file lock beside the cache, the
//! cache re-read after taking it, so the others adopt its answer); a 429
//! is remembered with its `retry-after` (never less than [`MIN_BACKOFF`])
//! and a failure for the TTL, so no process hammers the endpoint; and when
//! a fetch fails, the last good value is returned with its age and the
//! error. The plan and account (the profile endpoint) are cached longer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{anthropic, openai, UsageSnapshot};
use crate::credential::{now_unix, Credential, Provider};
// The OAuth beta the account endpoints need.
use crate::doors::wire::OAUTH_BETA;
use crate::engine::lock::FileLock;
use crate::oauth::token_client::USER_AGENT;
use crate::secure_file::{read_optional, write_atomic_relaxed, ReadPolicy};

/// How long a fetched snapshot is used before asking again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// How long the plan and account are used before asking again.
pub const PROFILE_TTL: Duration = Duration::from_secs(6 * 3600);
/// The least a 429 makes every process wait, whatever its `retry-after`.
pub const MIN_BACKOFF: Duration = Duration::from_secs(60);
/// The most of an answer that is read.
pub const MAX_BODY: usize = 256 * 1024;
/// Timeout of one request (connect to last byte).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a process waits for another's fetch.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// What is kept per login (no secret: numbers, the plan, our own error text).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    snapshot: Option<UsageSnapshot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_not_before: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_attempt_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile_fetched_at: Option<u64>,
}

/// A login's usage as far as it is known, and how it is known.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    /// The latest good snapshot, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<UsageSnapshot>,
    /// Its age in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_secs: Option<u64>,
    /// Whether this call fetched it (false: from the cache).
    pub fetched: bool,
    /// The plan (`max`, `pro`, …), from the profile endpoint or the snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The account's email, from the profile endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Why the latest attempt failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// No fetch before this time (Unix seconds), after a 429 or a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_not_before: Option<u64>,
}

/// Fetches and caches usage for logins.
#[derive(Clone, Debug)]
pub struct UsageFetcher {
    dir: PathBuf,
    ttl: Duration,
    http: reqwest::Client,
}

/// A file-name-safe form of a login key.
fn safe_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

/// A login's cache file in `dir` (`<state_dir>/usage`).
fn cache_file(dir: &Path, provider: &Provider, key: &str) -> PathBuf {
    dir.join(format!("{}-{}.json", provider.as_str(), safe_key(key)))
}

/// What the usage cache in `state_dir` holds for a login, read from the
/// file alone: no HTTP client is built and nothing is fetched (selection
/// decides from this).
pub fn read_cached(state_dir: &Path, provider: &Provider, key: &str) -> Option<UsageReport> {
    let cache: CacheFile = read_optional(
        &cache_file(&state_dir.join("usage"), provider, key),
        ReadPolicy::Strict,
    )
    .ok()
    .flatten()
    .and_then(|bytes| serde_json::from_slice(&bytes).ok())?;
    (cache.snapshot.is_some() || cache.last_error.is_some())
        .then(|| UsageFetcher::report(&cache, now_unix(), false))
}

impl UsageFetcher {
    /// A fetcher keeping its cache in `<state_dir>/usage/`.
    pub fn new(state_dir: &Path) -> crate::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                crate::Error::Unsupported(format!("could not build the HTTP client: {e}"))
            })?;
        Ok(UsageFetcher {
            dir: state_dir.join("usage"),
            ttl: DEFAULT_TTL,
            http,
        })
    }

    /// Use snapshots for `ttl` before asking again.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    fn cache_path(&self, provider: &Provider, key: &str) -> PathBuf {
        cache_file(&self.dir, provider, key)
    }

    fn read(&self, path: &Path) -> CacheFile {
        read_optional(path, ReadPolicy::Strict)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn report(cache: &CacheFile, now: u64, fetched: bool) -> UsageReport {
        UsageReport {
            age_secs: cache
                .snapshot
                .as_ref()
                .map(|s| now.saturating_sub(s.fetched_at)),
            fetched,
            plan: cache
                .plan
                .clone()
                .or_else(|| cache.snapshot.as_ref().and_then(|s| s.plan.clone())),
            email: cache.email.clone(),
            error: cache.last_error.clone(),
            retry_not_before: cache.retry_not_before.filter(|t| *t > now),
            snapshot: cache.snapshot.clone(),
        }
    }

    /// What the cache holds for a login, without any network (for `status`).
    pub fn cached(&self, provider: &Provider, key: &str) -> Option<UsageReport> {
        let cache = self.read(&self.cache_path(provider, key));
        (cache.snapshot.is_some() || cache.last_error.is_some())
            .then(|| UsageFetcher::report(&cache, now_unix(), false))
    }

    fn fresh(&self, cache: &CacheFile, now: u64) -> bool {
        cache
            .snapshot
            .as_ref()
            .is_some_and(|s| now.saturating_sub(s.fetched_at) < self.ttl.as_secs())
            || cache.retry_not_before.is_some_and(|t| t > now)
    }

    /// The usage of an Anthropic subscription login (`key` names the login,
    /// e.g. `profile-work` or `claude-code`), from the cache while it is
    /// fresh, else from `GET {base_url}/api/oauth/usage`. API keys and
    /// bearer tokens have no usage endpoint: their report carries an error
    /// saying so (their limits come from response headers, in the ledger).
    pub async fn anthropic(
        &self,
        key: &str,
        credential: &Credential,
        base_url: &str,
    ) -> UsageReport {
        let base = base_url.trim_end_matches('/');
        self.fetch(Endpoint {
            provider: Provider::Anthropic,
            key,
            credential,
            usage_url: format!("{base}{}", anthropic::USAGE_PATH),
            header: ("anthropic-beta", Some(OAUTH_BETA)),
            parse: anthropic::parse_usage,
            profile_url: Some(format!("{base}{}", anthropic::PROFILE_PATH)),
        })
        .await
    }

    /// The usage of a ChatGPT login (`key` names the login, e.g. `codex`),
    /// from the cache while it is fresh, else from `GET
    /// https://chatgpt.com/backend-api/wham/usage` with the login's bearer
    /// token and `ChatGPT-Account-Id`. `base_url` is the login's base URL
    /// (`…/backend-api/codex`, [`openai::usage_url`] finds the endpoint
    /// beside it). The plan comes with the usage. API keys have no usage
    /// endpoint: their limits come from response headers, in the ledger.
    pub async fn openai(&self, key: &str, credential: &Credential, base_url: &str) -> UsageReport {
        self.fetch(Endpoint {
            provider: Provider::Openai,
            key,
            credential,
            usage_url: openai::usage_url(base_url),
            header: ("chatgpt-account-id", credential.openai_account_id()),
            parse: openai::parse_usage,
            profile_url: None,
        })
        .await
    }

    async fn fetch(&self, e: Endpoint<'_>) -> UsageReport {
        let path = self.cache_path(&e.provider, e.key);
        let now = now_unix();
        let cache = self.read(&path);
        if self.fresh(&cache, now) {
            return UsageFetcher::report(&cache, now, false);
        }
        let Credential::OAuth(tokens) = e.credential else {
            return UsageReport {
                error: Some(format!(
                    "an {} has no usage endpoint; its limits come from response headers",
                    e.credential.kind().label()
                )),
                ..UsageReport::default()
            };
        };
        let lock_path = path.with_extension("lock");
        let lock =
            tokio::task::spawn_blocking(move || FileLock::acquire(&lock_path, LOCK_TIMEOUT)).await;
        let _lock = match lock {
            Ok(Ok(lock)) => lock,
            Ok(Err(e)) => {
                let mut report = UsageFetcher::report(&cache, now, false);
                report.error = Some(e.to_string());
                return report;
            }
            Err(e) => {
                let mut report = UsageFetcher::report(&cache, now, false);
                report.error = Some(format!("the lock task failed: {e}"));
                return report;
            }
        };
        // Someone else may have fetched while we waited.
        let now = now_unix();
        let mut cache = self.read(&path);
        if self.fresh(&cache, now) {
            return UsageFetcher::report(&cache, now, false);
        }
        let token = tokens.access_token.expose();
        cache.last_attempt_at = Some(now);
        match self.get(&e.usage_url, token, e.header).await {
            Ok(Answer::Ok(body)) => match (e.parse)(&body, now) {
                Ok(snapshot) => {
                    cache.snapshot = Some(snapshot);
                    cache.last_error = None;
                    cache.retry_not_before = None;
                }
                Err(why) => self.failed(
                    &mut cache,
                    now,
                    format!("the usage endpoint answered 200 but {why}"),
                ),
            },
            Ok(Answer::Limited(wait)) => {
                let wait = wait.max(MIN_BACKOFF);
                cache.retry_not_before = Some(now.saturating_add(wait.as_secs()));
                cache.last_error = Some(format!(
                    "the usage endpoint is rate limited (429); not asking again for {} s",
                    wait.as_secs()
                ));
            }
            Ok(Answer::Status(status, body)) => {
                let why = match (e.parse)(&body, now) {
                    Err(why) => why,
                    Ok(_) => "a JSON body".into(),
                };
                self.failed(
                    &mut cache,
                    now,
                    format!("the usage endpoint answered HTTP {status} ({why})"),
                );
            }
            Err(why) => self.failed(&mut cache, now, why),
        }
        let profile_due = cache
            .profile_fetched_at
            .is_none_or(|t| now.saturating_sub(t) >= PROFILE_TTL.as_secs());
        if let (true, true, Some(url)) = (profile_due, cache.last_error.is_none(), &e.profile_url) {
            if let Ok(Answer::Ok(body)) = self.get(url, token, e.header).await {
                if let Ok((plan, email)) = anthropic::parse_profile(&body) {
                    cache.plan = plan.or(cache.plan);
                    cache.email = email.or(cache.email);
                }
            }
            // A 403 (no `user:profile` scope) or a failure is not retried
            // until the profile TTL passes either.
            cache.profile_fetched_at = Some(now);
        }
        let fetched = cache.last_error.is_none();
        if let Ok(bytes) = serde_json::to_vec_pretty(&cache) {
            if let Err(e) = write_atomic_relaxed(&path, &bytes, 0o600) {
                tracing::warn!("could not write the usage cache: {e}");
            }
        }
        UsageFetcher::report(&cache, now, fetched)
    }

    fn failed(&self, cache: &mut CacheFile, now: u64, why: String) {
        cache.last_error = Some(why);
        cache.retry_not_before = Some(now.saturating_add(self.ttl.as_secs()));
    }

    async fn get(
        &self,
        url: &str,
        token: &str,
        (name, value): (&str, Option<&str>),
    ) -> Result<Answer, String> {
        let mut request = self.http.get(url).bearer_auth(token);
        if let Some(value) = value {
            request = request.header(name, value);
        }
        let response = request
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "failed"
                };
                format!("the usage request {kind}")
            })?;
        let status = response.status().as_u16();
        if status == 429 {
            let wait = crate::doors::wire::retry_after(response.headers()).unwrap_or(MIN_BACKOFF);
            return Ok(Answer::Limited(wait));
        }
        let body = read_limited(response).await?;
        Ok(if status == 200 {
            Answer::Ok(body)
        } else {
            Answer::Status(status, body)
        })
    }
}

/// One vendor's usage endpoint, as [`UsageFetcher::fetch`] asks it.
struct Endpoint<'a> {
    provider: Provider,
    key: &'a str,
    credential: &'a Credential,
    usage_url: String,
    /// The header beside the bearer token (Anthropic's OAuth beta,
    /// ChatGPT's account id).
    header: (&'static str, Option<&'a str>),
    parse: fn(&[u8], u64) -> Result<UsageSnapshot, String>,
    /// Where the plan and account are, when they are not in the usage.
    profile_url: Option<String>,
}

enum Answer {
    Ok(Vec<u8>),
    Limited(Duration),
    Status(u16, Vec<u8>),
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| "the usage answer was cut off".to_string())?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("the usage answer is over {} KiB", MAX_BODY / 1024));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// One login's usage, the one rule every front end uses: a subscription's
/// usage endpoint (through `fetcher`'s cache, lock and 429 floor), else the
/// latest rate-limit headers `ledger` kept for `key` (an API key's only
/// source, and a subscription's fallback when its endpoint cannot be
/// reached), else why there is nothing to show.
pub async fn report_for(
    fetcher: &UsageFetcher,
    ledger: Option<&crate::usage::ledger::Ledger>,
    key: &str,
    credential: &crate::credential::Credential,
    base_url: &str,
) -> UsageReport {
    use crate::credential::{Credential, Provider};
    let provider = credential.provider();
    let mut report = match (credential, provider) {
        (Credential::OAuth(_), Provider::Anthropic) => {
            fetcher.anthropic(key, credential, base_url).await
        }
        (Credential::OAuth(_), Provider::Openai) => fetcher.openai(key, credential, base_url).await,
        _ => UsageReport::default(),
    };
    if report.snapshot.is_none() {
        if let Some((at, headers)) =
            ledger.and_then(|l| l.latest_limits(provider, key).ok().flatten())
        {
            let snapshot = match provider {
                Provider::Anthropic => crate::usage::anthropic::from_headers(&headers, at),
                Provider::Openai => crate::usage::openai::from_headers(&headers, at),
            };
            if let Some(snapshot) = snapshot {
                debug_assert_eq!(snapshot.source, crate::usage::SnapshotSource::Headers);
                report.age_secs = Some(crate::credential::now_unix().saturating_sub(at));
                report.snapshot = Some(snapshot);
            }
        }
        if report.snapshot.is_none() && report.error.is_none() {
            report.error = Some("no response headers seen yet for this key; they are kept as requests go through claude-auth".into());
        }
    }
    report
}
