use super::*;

#[test]
fn rfc3339_known_values() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_775_000_000), "2026-03-31T23:33:20Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
}

#[test]
fn relative_words() {
    assert_eq!(relative(25_920), "in 7h 12m");
    assert_eq!(relative(-273_600), "3d 4h ago");
    assert_eq!(relative(59), "in 59s");
    assert_eq!(relative(-61), "1m 1s ago");
}
