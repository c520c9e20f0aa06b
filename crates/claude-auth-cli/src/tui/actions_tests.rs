//! The dashboard's data and the preference action against the real
//! library in a private HOME (files, no network).

use claude_auth::select::preferences::{path, Preferences};
use claude_auth::select::{CostPreference, Strategy};
use claude_auth::{Env, Provider, Providers};

use super::save_prefs;
use crate::tui::model::{load, RowState};
use crate::tui::screens::prefs::PrefsView;

fn sandbox() -> (tempfile::TempDir, Env) {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::empty().with("HOME", dir.path().display().to_string());
    (dir, env)
}

#[test]
fn preferences_are_saved_through_the_library_and_read_back() {
    let (_dir, env) = sandbox();
    let providers = Providers::new(env.clone()).unwrap();
    let message = save_prefs(
        &providers,
        Some(Some(Strategy::SubscriptionFirst)),
        None,
        Some(Some(CostPreference::SubscriptionOnly)),
    )
    .unwrap();
    assert_eq!(
        message,
        "Saved preferences: strategy subscription-first, cost subscription-only"
    );
    let saved = Preferences::load(&path(&env)).unwrap();
    assert_eq!(saved.strategy, Some(Strategy::SubscriptionFirst));
    assert_eq!(saved.cost, Some(CostPreference::SubscriptionOnly));
    assert_eq!(saved.failover, None, "an unchanged setting is not written");
    let view = PrefsView::load_from(&env);
    assert_eq!(view.strategy, Some(Strategy::SubscriptionFirst));
    assert!(
        view.effective[0].starts_with("subscription-first (from ")
            && view.effective[0].contains("preferences.json"),
        "{:?}",
        view.effective
    );
    // Clearing a setting removes it from the file.
    save_prefs(&providers, Some(None), None, None).unwrap();
    assert_eq!(Preferences::load(&path(&env)).unwrap().strategy, None);
}

#[test]
fn the_dashboard_lists_each_providers_logins_with_the_winner() {
    let (_dir, env) = sandbox();
    let env = env
        .with(
            "ANTHROPIC_API_KEY",
            "sk-ant-api03-DashboardKeyAAAAAAAAAAAA1111",
        )
        .with("OPENAI_API_KEY", "sk-proj-DashboardOpenaiKeyBBBBBBBBBB2222");
    let data = load(&Providers::new(env).unwrap());
    let anthropic: Vec<_> = data
        .rows
        .iter()
        .filter(|r| r.provider == Provider::Anthropic)
        .collect();
    assert_eq!(anthropic.len(), 1, "{:?}", data.rows);
    assert_eq!(anthropic[0].source, "ANTHROPIC_API_KEY");
    assert_eq!(anthropic[0].state, RowState::Wins);
    assert_eq!(anthropic[0].kind.as_deref(), Some("API key"));
    let masked = anthropic[0].masked.clone().unwrap();
    assert!(!masked.contains("DashboardKey"), "masked: {masked}");
    let openai = data
        .rows
        .iter()
        .find(|r| r.provider == Provider::Openai)
        .unwrap();
    assert_eq!(openai.source, "OPENAI_API_KEY");
    assert_eq!(openai.state, RowState::Wins);
    assert_eq!(data.active, Ok(Provider::Anthropic));
    assert!(data.providers.iter().all(|p| p.ok));
}

#[test]
fn running_agents_come_from_the_ledger_through_the_library() {
    use crate::tui::model::{running_agents, Agents};
    use claude_auth::agents::sessions::{close, register, Ending, NewSession};
    use claude_auth::usage::ledger::Ledger;
    let (_dir, env) = sandbox();
    let now = claude_auth::credential::now_unix();
    assert_eq!(
        running_agents(&env, now),
        Agents::Running(Vec::new()),
        "no ledger: none (and none created)"
    );
    assert!(!claude_auth::usage::state_dir(&env)
        .join("usage.db")
        .exists());
    let ledger = Ledger::open_in(&claude_auth::usage::state_dir(&env)).unwrap();
    // This test's own process stands for the agent's child: it is running.
    let provider = Provider::Anthropic;
    let running = register(
        &ledger,
        &NewSession {
            id: "reviewer-1",
            provider: &provider,
            profile: Some("profile-work"),
            pid: Some(std::process::id()),
            budget: Some("20%5h"),
            key_hash: None,
        },
        now - 60,
    )
    .unwrap();
    let ended = register(
        &ledger,
        &NewSession {
            id: "done",
            provider: &provider,
            profile: None,
            pid: Some(std::process::id()),
            budget: None,
            key_hash: None,
        },
        now - 30,
    )
    .unwrap();
    close(&ledger, ended, Ending::Exited(0), now).unwrap();
    match running_agents(&env, now) {
        Agents::Running(list) => {
            assert_eq!(list.len(), 1, "{list:?}");
            assert_eq!(list[0].id, "reviewer-1");
            assert_eq!(list[0].provider, "anthropic");
            assert_eq!(list[0].login.as_deref(), Some("profile-work"));
            assert_eq!(list[0].budget.as_deref(), Some("20%5h"));
            assert_eq!(list[0].running_secs, 60);
        }
        other => panic!("{other:?}"),
    }
    close(&ledger, running, Ending::Exited(0), now).unwrap();
    assert_eq!(running_agents(&env, now), Agents::Running(Vec::new()));
}
