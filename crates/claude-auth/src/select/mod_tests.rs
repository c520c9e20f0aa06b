#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn classes_strategies_and_hints_parse_and_print_in_kebab_case() {
    for c in CandidateClass::ALL {
        assert_eq!(c.as_str().parse::<CandidateClass>().unwrap(), c);
        assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        assert_eq!(c.to_string(), c.as_str());
    }
    for s in Strategy::ALL {
        assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    for t in TaskHint::ALL {
        assert_eq!(t.as_str().parse::<TaskHint>().unwrap(), t);
    }
    assert_eq!(
        "openai".parse::<ClassOrProvider>().unwrap(),
        ClassOrProvider::Provider(Provider::Openai)
    );
    assert_eq!(
        "anthropic-api-key".parse::<ClassOrProvider>().unwrap(),
        ClassOrProvider::Class(CandidateClass::AnthropicApiKey)
    );
    let err = "anthropic_api_key".parse::<ClassOrProvider>().unwrap_err();
    assert!(
        err.contains("anthropic-api-key") && err.contains("a provider alone"),
        "{err}"
    );
    assert!("smart"
        .parse::<Strategy>()
        .unwrap_err()
        .contains("subscription-first"));
}
