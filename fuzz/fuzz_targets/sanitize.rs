//! Redaction: a known secret never survives in any wrapping, the output is
//! bounded and free of control characters.
#![no_main]
use claude_auth::redact::Redactor;
use claude_auth::Secret;
use libfuzzer_sys::fuzz_target;

const KNOWN: &str = "sk-ant-ort01-FuzzKnownSecretValue0123";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let redactor = Redactor::new([&Secret::new(KNOWN)]);
    // The secret spliced into the middle of the fuzzed text.
    let mid = (0..=text.len() / 2).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    let spliced = format!("{}{KNOWN}{}", &text[..mid], &text[mid..]);
    for input in [text, spliced.as_str()] {
        let out = redactor.sanitize(input);
        assert!(!out.contains(&KNOWN[13..25]), "{out:?}");
        assert!(out.chars().count() <= 301);
        assert!(!out.chars().any(char::is_control));
    }
});
