//! `claude-auth switch [anthropic|openai] [--profile P]`: choose the
//! active provider (and its profile) with the library's
//! [`Providers::switch`], then say what is active now and why. With no
//! provider it prints the active provider and the choices.
//! `--strategy`, `--failover on|off` and `--cost` save the selection
//! preferences (`claude_auth::select::preferences`, preferences.json).

use claude_auth::profiles::Activated;
use claude_auth::providers::{AvailableProvider, Login, ProfileActivation, Switched};
use claude_auth::{Env, Provider, Providers};
use serde_json::{json, Value};

use crate::commands::provider::ProviderArg;
use crate::commands::status::kind_label;
use crate::output::{print_json, success, warn, CommandResult, Failure, Style};
use crate::GlobalArgs;

/// The selection preferences `switch` saves (preferences.json).
#[derive(clap::Args, Debug, Default)]
pub struct PrefArgs {
    /// Save the selection strategy (prefer-anthropic, prefer-openai, subscription-first, cheapest, fastest, manual; `default` removes it)
    #[arg(long, value_name = "STRATEGY")]
    pub strategy: Option<String>,
    /// Save failover on or off (`default` removes it: [selection] decides)
    #[arg(long, value_name = "on|off")]
    pub failover: Option<String>,
    /// Save the cost preference: any, or subscription-only (never choose an API key automatically); `default` removes it
    #[arg(long, value_name = "COST")]
    pub cost: Option<String>,
}

impl PrefArgs {
    fn any(&self) -> bool {
        self.strategy.is_some() || self.failover.is_some() || self.cost.is_some()
    }
}

/// `default` clears; anything else parses or is a usage error naming the flag.
fn pref_value<T: std::str::FromStr<Err = String>>(
    flag: &str,
    value: &str,
) -> Result<Option<T>, Failure> {
    if value == "default" {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|m| Failure::usage(format!("{flag}: {m}")))
}

/// Save the preferences named on the command line, one line each on stderr
/// (not with `--json`: stdout says it, [`prefs_json`]); returns what was
/// saved, `null` for a preference removed.
fn save_prefs(prefs: &PrefArgs, json: bool) -> Result<serde_json::Map<String, Value>, Failure> {
    use claude_auth::select::preferences as p;
    let env = Env::from_process();
    // Every value is checked before anything is written.
    let strategy = prefs
        .strategy
        .as_deref()
        .map(|v| pref_value::<claude_auth::select::Strategy>("--strategy", v))
        .transpose()?;
    let failover = prefs
        .failover
        .as_deref()
        .map(|v| match v {
            "on" => Ok(Some(true)),
            "off" => Ok(Some(false)),
            "default" => Ok(None),
            other => Err(Failure::usage(format!(
                "--failover: {other:?}; use on, off or default"
            ))),
        })
        .transpose()?;
    let cost = prefs
        .cost
        .as_deref()
        .map(|v| pref_value::<claude_auth::select::CostPreference>("--cost", v))
        .transpose()?;
    let path = p::path(&env);
    let shown = |v: Option<String>| v.unwrap_or_else(|| "default (removed)".into());
    let said = |line: String| {
        if !json {
            success(&line);
        }
    };
    let mut saved = serde_json::Map::new();
    if let Some(s) = strategy {
        p::set_strategy(&env, s)?;
        saved.insert("strategy".into(), json!(s.map(|s| s.to_string())));
        said(format!(
            "Strategy: {} (saved in {})",
            shown(s.map(|s| s.to_string())),
            path.display()
        ));
    }
    if let Some(f) = failover {
        p::set_failover(&env, f)?;
        saved.insert("failover".into(), json!(f));
        let on = f.map(|f| if f { "on".to_owned() } else { "off".to_owned() });
        said(format!(
            "Failover: {} (saved in {})",
            shown(on),
            path.display()
        ));
        let settings = claude_auth::Settings::load(&env)?;
        if f == Some(true) && settings.selection.fallback.is_empty() {
            warn("failover stays off until [selection] fallback in config.toml lists where to move (see README: Running many agents)");
        }
    }
    if let Some(c) = cost {
        p::set_cost(&env, c)?;
        saved.insert("cost".into(), json!(c.map(|c| c.to_string())));
        said(format!(
            "Cost preference: {} (saved in {})",
            shown(c.map(|c| c.to_string())),
            path.display()
        ));
    }
    Ok(saved)
}

/// `switch --json`'s account of saved preferences: what this command
/// saved (`null`: removed), the file, and every selection setting now in
/// effect with its origin (as `select --json` shows them).
fn prefs_json(saved: serde_json::Map<String, Value>) -> Result<Value, Failure> {
    use claude_auth::select::preferences as p;
    let env = Env::from_process();
    let settings = claude_auth::Settings::load(&env)?;
    let effective = p::effective(&env, &settings, None, None, None)
        .map_err(|e| Failure::error(e.to_string()))?;
    Ok(json!({
        "saved": saved,
        "preferencesPath": p::path(&env),
        "settings": effective,
    }))
}

fn providers() -> Result<Providers, Failure> {
    Providers::new(Env::from_process()).map_err(|e| {
        Failure::error(e.to_string())
            .with_hint("fix the setting named above (see README: Settings)")
    })
}

/// How to log in to `provider`, for the warning when it has no login.
fn log_in(provider: &Provider) -> &'static str {
    match provider {
        Provider::Anthropic => "log in with `claude-auth login`, or set ANTHROPIC_API_KEY",
        Provider::Openai => {
            "log in with `claude-auth login --provider chatgpt` (or Codex's `codex login`), or set OPENAI_API_KEY"
        }
    }
}

/// Run `switch`.
pub fn run(global: &GlobalArgs, provider: Option<ProviderArg>, prefs: &PrefArgs) -> CommandResult {
    let providers = providers()?;
    let mut saved = None;
    if prefs.any() {
        let what = save_prefs(prefs, global.json)?;
        if provider.is_none() && global.profile.is_none() {
            if global.json {
                print_json(&prefs_json(what)?)?;
            }
            return Ok(0);
        }
        saved = Some(what);
    }
    let Some(provider) = provider.map(Provider::from) else {
        if global.profile.is_some() {
            return Err(Failure::usage("--profile needs a provider to apply to")
                .with_hint("claude-auth switch anthropic --profile NAME, or claude-auth switch openai --profile NAME"));
        }
        return show(global, &providers);
    };
    let switched = providers.switch(provider.clone(), global.profile.as_deref())?;
    if global.json {
        let mut out = json!({
            "active": switched.active,
            "record": switched.record.to_json(),
            "recordPath": switched.path,
            "replacedUnreadable": switched.replaced_unreadable,
            "usable": switched.usable,
        });
        if let (Some(saved), Some(out)) = (saved, out.as_object_mut()) {
            if let Value::Object(prefs) = prefs_json(saved)? {
                out.extend(prefs);
            }
        }
        print_json(&out)?;
        return Ok(0);
    }
    report(&provider, &switched);
    Ok(0)
}

/// What `switch PROVIDER` did, on stderr, and the active provider on stdout.
fn report(provider: &Provider, s: &Switched) {
    if let Some(e) = &s.replaced_unreadable {
        warn(&format!("replaced the unreadable record: {e}"));
    }
    match &s.profile_activation {
        Some(ProfileActivation::Anthropic(Activated::ActiveConfig(path))) => success(&format!(
            "Anthropic profile {} is active (written to {})",
            s.record.profile.as_deref().unwrap_or_default(),
            path.display()
        )),
        Some(ProfileActivation::Anthropic(Activated::OwnPointer(path))) => {
            success(&format!(
                "Anthropic profile {} is active for claude-auth (written to {})",
                s.record.profile.as_deref().unwrap_or_default(),
                path.display()
            ));
            warn("the official SDKs cannot read this profile (an API key or a keyring entry); they are unaffected");
        }
        Some(ProfileActivation::Openai(path)) => success(&format!(
            "OpenAI profile {} is active (written to {})",
            s.record.profile.as_deref().unwrap_or_default(),
            path.display()
        )),
        None => {}
    }
    success(&format!(
        "Switched to {provider} (recorded in {})",
        s.path.display()
    ));
    if &s.active.provider != provider {
        warn(&format!(
            "{} overrides this choice while it is set",
            s.active.reason
        ));
    }
    if !s.usable {
        warn(&format!(
            "{provider} has no usable login yet: {}",
            log_in(provider)
        ));
    }
    active_line(&s.active);
}

fn active_line(active: &claude_auth::ActiveProvider) {
    let s = Style::stdout();
    let profile = match &active.profile {
        Some(p) => format!(", profile {p}"),
        None => String::new(),
    };
    outln!(
        "Active provider: {}{profile} ({})",
        s.bold(active.provider.as_str()),
        active.reason
    );
}

/// `switch` with no provider: the active one and the choices.
fn show(global: &GlobalArgs, providers: &Providers) -> CommandResult {
    let available = providers.available_providers();
    let active =
        providers.active_with(|p| available.iter().any(|a| &a.provider == p && a.usable))?;
    if global.json {
        print_json(&json!({"active": active, "providers": available}))?;
        return Ok(0);
    }
    active_line(&active);
    outln!();
    let s = Style::stdout();
    for a in &available {
        let mark = if a.provider == active.provider {
            s.green("*")
        } else {
            " ".into()
        };
        let lines = login_lines(a);
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                outln!("{mark} {:<10} {line}", a.provider.as_str());
            } else {
                outln!("  {:<10} {line}", "");
            }
        }
    }
    outln!();
    outln!("Choose with `claude-auth switch anthropic|openai [--profile NAME]`.");
    Ok(0)
}

/// One line per login (`no login: …` when there is none).
fn login_lines(a: &AvailableProvider) -> Vec<String> {
    if a.logins.is_empty() {
        return vec![format!("no login: {}", log_in(&a.provider))];
    }
    a.logins.iter().map(login_line).collect()
}

/// `OAuth token from Codex login: plus, me@example.com, account acct-1 (shadowed)`.
fn login_line(l: &Login) -> String {
    let mut what = format!("{} from {}", kind_label(&l.kind), l.source.label());
    if let Some(p) = &l.profile {
        what.push_str(&format!(" {p:?}"));
    }
    let facts: Vec<String> = [
        l.plan.clone(),
        l.email.clone(),
        l.account.as_ref().map(|a| format!("account {a}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !facts.is_empty() {
        what.push_str(&format!(": {}", facts.join(", ")));
    }
    if l.expired {
        what.push_str(" (expired)");
    } else if !l.winner {
        what.push_str(" (shadowed)");
    }
    what
}
