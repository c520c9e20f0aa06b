#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::config::settings::Settings;
use crate::select::{CandidateClass, ClassOrProvider, Strategy};
use crate::Provider;

fn load(text: &str) -> Result<Settings, String> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    Settings::from_file(&path).map_err(|e| e.to_string())
}

#[test]
fn every_key_of_the_selection_table() {
    let s = load(
        "[selection]\nstrategy = \"subscription-first\"\nsubscription_threshold_percent = 90\nfallback = [\"anthropic-subscription\", \"anthropic-api-key\", \"openai\"]\n",
    )
    .unwrap()
    .selection;
    assert_eq!(s.strategy, Some(Strategy::SubscriptionFirst));
    assert_eq!(s.threshold_percent(), 90);
    assert_eq!(
        s.fallback,
        [
            ClassOrProvider::Class(CandidateClass::AnthropicSubscription),
            ClassOrProvider::Class(CandidateClass::AnthropicApiKey),
            ClassOrProvider::Provider(Provider::Openai),
        ]
    );
    assert!(s.failover_enabled(), "on by default once fallback is set");
    let off = load("[selection]\nfallback = [\"openai\"]\nfailover = false\n").unwrap();
    assert!(!off.selection.failover_enabled());
    let none = load("").unwrap().selection;
    assert_eq!((none.strategy, none.threshold_percent()), (None, 80));
    assert!(!none.failover_enabled(), "off without a fallback list");
}

#[test]
fn bad_values_name_the_setting_and_what_is_allowed() {
    for (text, key, says) in [
        (
            "[selection]\nfallback = [\"anthropic-sub\"]\n",
            "(selection.fallback)",
            "anthropic-subscription",
        ),
        (
            "[selection]\nfallback = [\"openai\", \"openai\"]\n",
            "(selection.fallback)",
            "listed twice",
        ),
        (
            "[selection]\nstrategy = \"smart\"\n",
            "(selection.strategy)",
            "subscription-first",
        ),
        (
            "[selection]\nsubscription_threshold_percent = 120\n",
            "(selection.subscription_threshold_percent)",
            "from 1 to 100",
        ),
        (
            "[selection]\nfailover = true\n",
            "(selection.failover)",
            "needs a fallback list",
        ),
        (
            "[selection]\nfalback = []\n",
            "config.toml",
            "unknown field `falback`",
        ),
    ] {
        let err = load(text).unwrap_err();
        assert!(err.contains(key) && err.contains(says), "{text}: {err}");
    }
}
