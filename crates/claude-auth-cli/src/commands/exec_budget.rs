//! `exec --agent-id ID --budget-tokens N | --budget B`: the agent's budget,
//! checked before anything starts, kept in its session row (where every
//! proxy that serves the agent reads it), and the agent's environment
//! (AGENTS.md, decision 5): the budget, the tokens it leaves, the plan and
//! the windows, from the usage cache and the ledger (no network).

use claude_auth::budgets::agent_env::{cached_usage, tokens_at_start, AgentStart};
use claude_auth::budgets::Budget;

use crate::commands::Usable;
use crate::output::Failure;

/// The budget the flags give, as given and parsed.
pub fn parse(
    tokens: Option<&str>,
    budget: Option<&str>,
) -> Result<Option<(String, Budget)>, Failure> {
    let parsed = match (tokens, budget) {
        (Some(t), _) => Some((t, Budget::parse_tokens(t, "--budget-tokens"))),
        (None, Some(b)) => Some((b, Budget::parse(b, "--budget"))),
        (None, None) => None,
    };
    match parsed {
        None => Ok(None),
        Some((text, Ok(budget))) => Ok(Some((text.trim().to_owned(), budget))),
        Some((_, Err(e))) => Err(Failure::usage(e)),
    }
}

/// The agent's variables for `usable`'s login; says on stderr how a share
/// budget was turned into tokens, or why it is not enforced yet.
pub fn agent_env(usable: &Usable, budget: Option<&(String, Budget)>) -> Vec<(String, String)> {
    let resolver = usable.manager.resolver();
    let state = claude_auth::usage::state_dir(resolver.env());
    let provider = usable.credential.provider();
    let login = usable
        .provenance
        .source
        .map(|s| claude_auth::usage::login_key(s, usable.provenance.profile.as_deref()));
    let (plan, windows) = match &login {
        Some(login) => cached_usage(&state, provider, login),
        None => (None, Vec::new()),
    };
    let subscription = matches!(usable.credential, claude_auth::Credential::OAuth(_));
    let mut start = AgentStart {
        budget: budget.map(|(text, _)| text.clone()),
        tokens_left: None,
        plan: plan.filter(|_| subscription),
        windows: if subscription { windows } else { Vec::new() },
    };
    if let (Some((text, budget)), Some(login)) = (budget, &login) {
        match tokens_at_start(budget, &state, provider, login) {
            Ok((tokens, how)) => {
                start.tokens_left = Some(tokens);
                if let Some(how) = how {
                    eprintln!("claude-auth: budget {text} ≈ {tokens} tokens: {how}");
                }
            }
            Err(why) => crate::output::warn(&format!(
                "the budget {text} is not enforced yet: {why}; it is once the window can be estimated (use --budget-tokens N for a budget enforced from the first request)"
            )),
        }
    }
    start.variables()
}
