use super::*;

fn ok(text: &str) -> Budget {
    Budget::parse(text, "--budget").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> String {
    Budget::parse(text, "--budget").expect_err(text)
}

#[test]
fn token_counts_and_periods() {
    let t = |tokens, per| Budget::Tokens { tokens, per };
    assert_eq!(ok("200000"), t(200_000, None));
    assert_eq!(ok(" 200_000 "), t(200_000, None));
    assert_eq!(ok("200k"), t(200_000, None));
    assert_eq!(ok("2M"), t(2_000_000, None));
    assert_eq!(ok("1.5m"), t(1_500_000, None));
    assert_eq!(ok("500k/5h"), t(500_000, Some(18_000)));
    assert_eq!(ok("1M/7d"), t(1_000_000, Some(604_800)));
    assert_eq!(ok("900/30m"), t(900, Some(1_800)));
}

#[test]
fn shares_of_windows() {
    let s = |percent, window| Budget::Share { percent, window };
    assert_eq!(ok("20%5h"), s(20.0, WindowRef::FiveHours));
    assert_eq!(ok("2.5%7d"), s(2.5, WindowRef::SevenDays));
    assert_eq!(ok("100%primary"), s(100.0, WindowRef::Primary));
    assert_eq!(ok("50% secondary"), s(50.0, WindowRef::Secondary));
}

#[test]
fn bad_budgets_say_what_and_how() {
    for (text, why) in [
        ("", "is empty"),
        ("0", "at least 1 token"),
        ("-5", "is not a number of tokens"),
        ("lots", "is not a number of tokens"),
        ("1e9", "is not a number of tokens"),
        ("20%", "of which window"),
        ("0%5h", "more than 0 %"),
        ("101%5h", "at most 100 %"),
        ("NaN%5h", "more than 0 %"),
        ("x%5h", "not a number"),
        ("20%1h", "must be 5h or 7d"),
        ("20%daily", "must be 5h or 7d"),
        ("100k/", "period after /"),
        ("100k/5", "period after /"),
        ("100k/0h", "whole positive"),
        ("100k/400d", "at most a year"),
    ] {
        let e = err(text);
        assert!(e.contains(why), "{text:?}: {e}");
        assert!(e.starts_with("--budget "), "{e}");
        assert!(e.contains("20%5h"), "every error shows the forms: {e}");
    }
    let e = Budget::parse_tokens("20%5h", "--budget-tokens").unwrap_err();
    assert!(
        e.starts_with("--budget-tokens \"20%5h\": is not a number of tokens"),
        "{e}"
    );
    assert_eq!(
        Budget::parse_tokens("300", "--budget-tokens").unwrap(),
        Budget::Tokens {
            tokens: 300,
            per: None
        }
    );
}

#[test]
fn display_is_canonical_and_reparses() {
    for (text, shown) in [
        ("200k", "200000"),
        ("500k/5h", "500000/5h"),
        ("1M/7d", "1000000/7d"),
        ("20%5h", "20%5h"),
        ("2.5%7d", "2.5%7d"),
        ("10%primary", "10%primary"),
    ] {
        let b = ok(text);
        assert_eq!(b.to_string(), shown);
        assert_eq!(ok(shown), b);
    }
}

#[test]
fn windows_match_by_label_or_id() {
    use crate::usage::Window;
    let five = Window::new("five_hour", "5h", 1.0);
    let week = Window::new("seven_day", "7d", 1.0);
    let opus = Window::new("seven_day_opus", "7d opus", 1.0);
    let primary = Window::new("primary", "5h", 1.0);
    assert!(WindowRef::FiveHours.matches(&five));
    assert!(WindowRef::FiveHours.matches(&primary));
    assert!(WindowRef::SevenDays.matches(&week));
    assert!(!WindowRef::SevenDays.matches(&opus));
    assert!(WindowRef::Primary.matches(&primary));
    assert!(!WindowRef::Primary.matches(&five));
}
