#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

fn env(dir: &Path) -> Env {
    Env::empty()
        .with("HOME", dir.to_string_lossy())
        .with("CLAUDE_AUTH_CONFIG_DIR", dir.join("own").to_string_lossy())
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn config(dir: &Path, text: &str) -> Settings {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    Settings::from_file(&path).unwrap()
}

#[test]
fn each_setting_comes_from_the_first_rule_that_sets_it_and_says_which() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path());
    let s = config(
        tmp.path(),
        "[selection]\nstrategy = \"cheapest\"\nsubscription_threshold_percent = 70\nfallback = [\"anthropic\", \"openai-api-key\"]\n",
    );
    let got = |e: &Env, flag: Option<Strategy>| {
        effective(e, &s, flag, None, Some(TaskHint::QuickQuery)).unwrap()
    };
    // [selection] beats the task's default.
    let eff = got(&e, None);
    assert_eq!(
        (eff.strategy.value, eff.strategy.origin),
        (Strategy::Cheapest, Origin::Config)
    );
    assert!(eff
        .strategy
        .from
        .as_deref()
        .unwrap()
        .ends_with("config.toml (selection.strategy)"));
    assert_eq!(
        (
            eff.subscription_threshold_percent.value,
            eff.subscription_threshold_percent.origin
        ),
        (70, Origin::Config)
    );
    assert_eq!(
        (eff.failover.value, eff.failover.origin),
        (true, Origin::Config)
    );
    assert_eq!(
        (eff.cost.value, eff.cost.origin),
        (CostPreference::Any, Origin::Default)
    );
    // preferences.json beats [selection].
    set_strategy(&e, Some(Strategy::Fastest)).unwrap();
    set_failover(&e, Some(false)).unwrap();
    set_cost(&e, Some(CostPreference::SubscriptionOnly)).unwrap();
    let eff = got(&e, None);
    assert_eq!(
        (eff.strategy.value, eff.strategy.origin),
        (Strategy::Fastest, Origin::Preferences)
    );
    assert_eq!(
        (eff.failover.value, eff.failover.origin),
        (false, Origin::Preferences)
    );
    assert_eq!(eff.cost.value, CostPreference::SubscriptionOnly);
    // The environment beats preferences.json, and the flag beats everything.
    let e2 = e.clone().with(STRATEGY_VAR, "prefer-openai");
    let eff = got(&e2, None);
    assert_eq!(
        (eff.strategy.value, eff.strategy.origin),
        (Strategy::PreferOpenai, Origin::Env)
    );
    assert_eq!(
        eff.strategy.describe(),
        "prefer-openai (from CLAUDE_AUTH_STRATEGY)"
    );
    let eff = got(&e2, Some(Strategy::Manual));
    assert_eq!(
        (eff.strategy.value, eff.strategy.origin),
        (Strategy::Manual, Origin::Flag)
    );
    // Nothing set: the task's default, else manual.
    let bare = env(&tmp.path().join("bare"));
    let none = Settings::default();
    let eff = effective(&bare, &none, None, None, Some(TaskHint::CodeGeneration)).unwrap();
    assert_eq!(
        (eff.strategy.value, eff.strategy.origin),
        (Strategy::SubscriptionFirst, Origin::Task)
    );
    let eff = effective(&bare, &none, None, None, None).unwrap();
    assert_eq!(
        (eff.strategy.value, eff.strategy.origin),
        (Strategy::Manual, Origin::Default)
    );
    assert_eq!(
        (eff.failover.value, eff.failover.origin),
        (false, Origin::Default)
    );
    // A bad variable is an error naming it.
    let err = effective(
        &bare.clone().with(STRATEGY_VAR, "smart"),
        &none,
        None,
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(STRATEGY_VAR) && err.contains("subscription-first"),
        "{err}"
    );
}

#[test]
fn failover_on_in_preferences_without_a_fallback_list_stays_off() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path());
    set_failover(&e, Some(true)).unwrap();
    let eff = effective(&e, &Settings::default(), None, None, None).unwrap();
    assert_eq!(
        (eff.failover.value, eff.failover.origin),
        (false, Origin::Preferences)
    );
}

#[test]
fn the_file_is_0600_in_a_0700_dir_keeps_unknown_keys_and_an_unparsable_one_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path());
    let p = path(&e);
    set_strategy(&e, Some(Strategy::Cheapest)).unwrap();
    assert_eq!(mode(&p), 0o600);
    assert_eq!(mode(p.parent().unwrap()), 0o700);
    // A key a newer version (or the TUI) wrote survives our writes.
    let mut json: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    json["theme"] = "dark".into();
    std::fs::write(&p, json.to_string()).unwrap();
    set_failover(&e, Some(true)).unwrap();
    let json: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"strategy": "cheapest", "failover": true, "theme": "dark"})
    );
    // Unparsable: an error naming the file, and the bytes stay.
    let broken = b"{\"strategy\": \"smart\"}";
    std::fs::write(&p, broken).unwrap();
    let err = set_cost(&e, Some(CostPreference::Any))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&p.display().to_string()) && err.contains("unknown variant"),
        "{err}"
    );
    assert_eq!(std::fs::read(&p).unwrap(), broken);
    // Loose permissions are refused on read (and so on write).
    std::fs::write(&p, b"{}").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(Preferences::load(&p).is_err());
    // A symlink is refused.
    std::fs::remove_file(&p).unwrap();
    let target = tmp.path().join("elsewhere.json");
    std::fs::write(&target, b"{}").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&target, &p).unwrap();
    assert!(set_strategy(&e, Some(Strategy::Manual)).is_err());
    assert_eq!(std::fs::read(&target).unwrap(), b"{}");
}

#[test]
fn concurrent_writers_lose_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let e = env(tmp.path());
    std::thread::scope(|s| {
        for i in 0..8 {
            let e = e.clone();
            s.spawn(move || match i % 3 {
                0 => drop(set_strategy(&e, Some(Strategy::Fastest)).unwrap()),
                1 => drop(set_failover(&e, Some(true)).unwrap()),
                _ => drop(set_cost(&e, Some(CostPreference::SubscriptionOnly)).unwrap()),
            });
        }
    });
    let prefs = Preferences::load(&path(&e)).unwrap();
    assert_eq!(
        (prefs.strategy, prefs.failover, prefs.cost),
        (
            Some(Strategy::Fastest),
            Some(true),
            Some(CostPreference::SubscriptionOnly)
        )
    );
}
