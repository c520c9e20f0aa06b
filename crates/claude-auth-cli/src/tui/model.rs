//! What the dashboard shows, as plain data: every provider's logins (each
//! source that holds a credential, and every stored profile), which one
//! wins, the active provider, refresh health, warnings and usage. Built
//! from the library ([`Providers`], [`StatusReport`], [`Profiles`]) off the
//! UI thread; the screens only read it, and the snapshot tests build it by
//! hand.

use claude_auth::status::{RefreshHealth, StatusReport};
use claude_auth::usage::fetch::UsageReport;
use claude_auth::{Provider, Providers};

/// How a row's login stands in its provider's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowState {
    /// It is the credential the chain hands out.
    Wins,
    /// It holds a credential a source above shadows.
    Shadowed,
    /// A stored profile that is not the active one (not in the chain).
    Stored,
    /// Its source or profile could not be read.
    Error(String),
}

/// One login on the dashboard (never a secret: the masked value only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Whose login.
    pub provider: Provider,
    /// Where it is: a source's label (`ANTHROPIC_API_KEY`, `Codex login`)
    /// or `profile NAME`.
    pub source: String,
    /// The profile, for profile rows (what switch and logout act on).
    pub profile: Option<String>,
    /// Its standing.
    pub state: RowState,
    /// `OAuth`, `API key`, `bearer`, `WIF`.
    pub kind: Option<String>,
    /// The masked value (`sk-ant-oat01-…abcd`).
    pub masked: Option<String>,
    /// The account (email, else account id or organization).
    pub account: Option<String>,
    /// The plan (`max`, `pro`, `plus`).
    pub plan: Option<String>,
    /// Expiry, Unix seconds.
    pub expires_at: Option<u64>,
    /// Whether it can be refreshed.
    pub refreshable: bool,
    /// Where it is kept.
    pub location: Option<String>,
}

impl Row {
    /// A row with nothing known of its credential (a source that failed,
    /// a stored profile not read).
    pub fn bare(
        provider: Provider,
        source: String,
        profile: Option<String>,
        state: RowState,
    ) -> Row {
        Row {
            provider,
            source,
            profile,
            state,
            kind: None,
            masked: None,
            account: None,
            plan: None,
            expires_at: None,
            refreshable: false,
            location: None,
        }
    }
}

/// One provider's chain, summed up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The provider.
    pub provider: Provider,
    /// Whether its chain hands out a usable credential.
    pub ok: bool,
    /// Why not, when not.
    pub error: Option<String>,
    /// What to do next.
    pub hint: Option<String>,
    /// Its winning login's refresh health.
    pub refresh: Option<RefreshHealth>,
}

/// One login's usage.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageItem {
    /// Whose login.
    pub provider: Provider,
    /// The login key (`profile-work`, `codex`).
    pub login: String,
    /// What is known.
    pub report: UsageReport,
}

/// One running agent (`exec --agent-id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentLine {
    /// The agent id.
    pub id: String,
    /// The provider it was started with.
    pub provider: String,
    /// The login it uses (`profile-work`).
    pub login: Option<String>,
    /// How long it has run, seconds.
    pub running_secs: u64,
    /// Its requests so far.
    pub requests: u64,
    /// Its tokens so far (input, output and cache).
    pub tokens: u64,
    /// Its budget as given (`200000`, `20%5h`).
    pub budget: Option<String>,
}

/// The running agents panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Agents {
    /// The agent sessions running now (from the usage ledger).
    Running(Vec<AgentLine>),
    /// Why they could not be read.
    Error(String),
}

/// The running agent sessions, through the library
/// ([`claude_auth::agents::sessions::list`], which also closes sessions
/// whose process is gone). No ledger yet: none (the ledger is not created
/// just to look).
pub fn running_agents(env: &claude_auth::Env, now: u64) -> Agents {
    use claude_auth::agents::sessions::{list, ListOptions, SessionState};
    use claude_auth::usage::ledger::{Ledger, FILE_NAME};
    let dir = claude_auth::usage::state_dir(env);
    if !dir.join(FILE_NAME).exists() {
        return Agents::Running(Vec::new());
    }
    let sessions = Ledger::open_in(&dir)
        .map_err(|e| e.to_string())
        .and_then(|l| list(&l, ListOptions::default(), now).map_err(|e| e.to_string()));
    match sessions {
        Ok(list) => Agents::Running(
            list.into_iter()
                .filter(|s| s.state == SessionState::Running)
                .map(|s| AgentLine {
                    tokens: s.usage.total_tokens(),
                    requests: s.usage.requests,
                    id: s.id,
                    provider: s.provider,
                    login: s.profile,
                    running_secs: s.duration_secs,
                    budget: s.budget,
                })
                .collect(),
        ),
        Err(e) => Agents::Error(format!("agent sessions could not be read: {e}")),
    }
}

/// Everything the dashboard shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Dashboard {
    /// When it was read, Unix seconds.
    pub read_at: u64,
    /// The active provider, or why it is unknown.
    pub active: Result<Provider, String>,
    /// Why it is active.
    pub active_reason: String,
    /// Each provider's chain, Anthropic first.
    pub providers: Vec<ProviderInfo>,
    /// Every login, Anthropic's first, each chain in precedence order, then
    /// the stored profiles not in it.
    pub rows: Vec<Row>,
    /// What `status` warns about (`Anthropic: …`).
    pub warnings: Vec<String>,
    /// Cached usage per login (the background refresh replaces it).
    pub usage: Vec<UsageItem>,
    /// Running agents.
    pub agents: Agents,
}

/// A credential kind, short.
pub fn kind_short(kind: &str) -> &str {
    match kind {
        "apiKey" => "API key",
        "bearerToken" => "bearer",
        "oauthToken" => "OAuth",
        "workloadIdentity" => "WIF",
        other => other,
    }
}

fn row_from_summary(
    provider: &Provider,
    source: String,
    state: RowState,
    c: &claude_auth::status::CredentialSummary,
) -> Row {
    Row {
        provider: provider.clone(),
        source,
        profile: c.profile.clone(),
        state,
        kind: Some(kind_short(&c.kind).to_owned()),
        masked: c.masked.clone(),
        account: c
            .account
            .clone()
            .or_else(|| c.account_id.clone())
            .or_else(|| c.organization.clone()),
        plan: c.subscription.clone(),
        expires_at: c.expires_at,
        refreshable: c.refreshable,
        location: Some(c.location.clone()),
    }
}

/// The rows of one provider's report: each source that found something
/// (or failed), in precedence order.
pub fn chain_rows(report: &StatusReport) -> Vec<Row> {
    let provider = &report.provider;
    report
        .sources
        .iter()
        .filter_map(|line| {
            let state = match line.status.as_str() {
                "found" if line.winner => RowState::Wins,
                "found" => RowState::Shadowed,
                "error" => RowState::Error(line.reason.clone().unwrap_or_default()),
                _ => return None,
            };
            let source = match line.credential.as_ref().and_then(|c| c.profile.as_ref()) {
                Some(p) => format!("profile {p}"),
                None => line.label.clone(),
            };
            Some(match &line.credential {
                Some(c) => row_from_summary(provider, source, state, c),
                None => Row::bare(provider.clone(), source, None, state),
            })
        })
        .collect()
}

fn stored_profile_rows(providers: &Providers, rows: &mut Vec<Row>) {
    let anthropic = Provider::Anthropic;
    let profiles = claude_auth::Profiles::new(providers.resolver(&anthropic).clone());
    if let Ok(list) = profiles.list(None) {
        for entry in list {
            if rows
                .iter()
                .any(|r| r.provider == anthropic && r.profile.as_deref() == Some(&entry.name))
            {
                continue;
            }
            let source = format!("profile {}", entry.name);
            rows.push(match (&entry.credential, &entry.error) {
                (Some(c), _) => {
                    let mut row = row_from_summary(&anthropic, source, RowState::Stored, c);
                    row.profile = Some(entry.name.clone());
                    row
                }
                (None, error) => Row::bare(
                    anthropic.clone(),
                    source,
                    Some(entry.name.clone()),
                    RowState::Error(error.clone().unwrap_or_default()),
                ),
            });
        }
    }
    let openai = Provider::Openai;
    if let Ok(names) = providers.resolver(&openai).openai_profiles().list() {
        for name in names {
            if rows
                .iter()
                .any(|r| r.provider == openai && r.profile.as_deref() == Some(&name))
            {
                continue;
            }
            rows.push(Row::bare(
                openai.clone(),
                format!("profile {name}"),
                Some(name),
                RowState::Stored,
            ));
        }
    }
}

/// Read everything from the library (files, the keyring, an external
/// command: never the network). Rows are ordered provider by provider.
pub fn load(providers: &Providers) -> Dashboard {
    let mut infos = Vec::new();
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let mut usage = Vec::new();
    let mut usable = Vec::new();
    let mut read_at = 0;
    for provider in Provider::ALL {
        let resolution = providers.resolve(&provider, true);
        let mut report = StatusReport::from_resolution(&resolution);
        report.add_refresh_health(&resolution, providers.env());
        report.add_cached_usage(&resolution, providers.env());
        if claude_auth::providers::usable(&resolution) {
            usable.push(provider.clone());
        }
        read_at = report.generated_at;
        rows.extend(chain_rows(&report));
        warnings.extend(
            report
                .warnings
                .iter()
                .map(|w| format!("{}: {}", provider.display_name(), w.message)),
        );
        usage.extend(report.usage.iter().map(|u| UsageItem {
            provider: provider.clone(),
            login: u.login.clone(),
            report: u.report.clone(),
        }));
        infos.push(ProviderInfo {
            provider: provider.clone(),
            ok: report.ok,
            error: report.error.clone(),
            hint: report.hint.clone(),
            refresh: report.refresh.clone(),
        });
    }
    stored_profile_rows(providers, &mut rows);
    rows.sort_by_key(|r| r.provider != Provider::Anthropic);
    let active = providers.active_with(|p| usable.contains(p));
    Dashboard {
        read_at,
        active_reason: active
            .as_ref()
            .map(|a| a.reason.clone())
            .unwrap_or_default(),
        active: active.map(|a| a.provider).map_err(|e| e.to_string()),
        providers: infos,
        rows,
        warnings,
        usage,
        agents: running_agents(providers.env(), read_at),
    }
}

#[cfg(test)]
#[path = "model_fixtures.rs"]
pub mod fixtures;
