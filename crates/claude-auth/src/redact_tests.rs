use super::*;

const REFRESH: &str = "sk-ant-ort01-Q7x_9kLmN2pR4sT6vW8yZ0aB3cD5eF";

#[test]
fn sanitize_removes_tokens() {
    let s = sanitize(
        "Refresh token sk-ant-ort01-abcdefgh is invalid, eyJhbGciOiJIUzI1NiJ9abc123def456 bad",
    );
    assert_eq!(s, "Refresh token [redacted] is invalid, [redacted] bad");
    assert_eq!(
        sanitize("Refresh token not found or invalid"),
        "Refresh token not found or invalid"
    );
    assert_eq!(sanitize(&"x".repeat(400)).chars().count(), 301);
}

#[test]
fn pattern_rules_see_through_punctuation() {
    for (wrapped, expected) in [
        (format!("bad ({REFRESH})"), "bad ([redacted])"),
        (format!("token:{REFRESH}"), "token:[redacted]"),
        (format!("<{REFRESH}>"), "<[redacted]>"),
        (format!("'{REFRESH}'."), "'[redacted]'."),
        (
            format!(r#"{{"refresh_token":"{REFRESH}"}}"#),
            r#"{"refresh_token":"[redacted]"}"#,
        ),
        (
            format!("refresh_token={REFRESH}&x=1"),
            "refresh_token=[redacted]&x=1",
        ),
        (format!("[{REFRESH}]"), "[[redacted]]"),
        (
            "opaque=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA;".into(),
            "opaque=[redacted];",
        ),
    ] {
        assert_eq!(sanitize(&wrapped), expected, "{wrapped}");
    }
}

#[test]
fn ordinary_words_and_urls_stay() {
    for text in [
        "task-based limits: invalid_request_parameters for this_client",
        "https://platform.claude.com/v1/oauth/token answered 400",
        "the refresh_token_is_not_valid_for_this_client",
    ] {
        assert_eq!(sanitize(text), text);
    }
}

#[test]
fn known_secrets_are_removed_in_any_encoding_and_in_part() {
    let code = Secret::new("c0de/with+odd=chars&more");
    let refresh = Secret::new("plainlowercaseopaquerefreshtoken");
    let r = Redactor::new([&code, &refresh]);
    let form: String = url::form_urlencoded::byte_serialize(code.expose().as_bytes()).collect();
    for text in [
        format!("code {} is bad", code.expose()),
        format!("code={form} is bad"),
        format!("code {} is bad", code.expose().replace('/', "\\/")),
        // Only a part of the refresh token, glued to other text.
        "token xyzlowercaseopaquerefresh is bad".to_owned(),
    ] {
        let out = r.sanitize(&text);
        assert!(!out.contains("c0de"), "{out}");
        assert!(!out.contains("lowercaseopaque"), "{out}");
        assert!(
            out.contains("[redacted]") && out.ends_with("is bad"),
            "{out}"
        );
    }
    assert_eq!(r.scrub("https://x.test/token"), "https://x.test/token");
}

#[test]
fn a_cut_never_leaves_half_a_token() {
    let text = format!("{}{REFRESH}tail", "a ".repeat(MAX_INPUT / 2 - 10));
    let out = sanitize(&text);
    assert!(!out.contains("sk-ant"), "{out}");
    assert!(out.ends_with('…'));
}

#[test]
fn control_characters_cannot_split_a_secret() {
    let r = Redactor::new([&Secret::new(REFRESH)]);
    let split = format!("x {}\u{0}{} y", &REFRESH[..20], &REFRESH[20..]);
    assert_eq!(r.sanitize(&split), "x [redacted] y");
}
