//! Secret values (API keys, access and refresh tokens) and how they may be shown.
//!
//! A [`Secret`] never prints its value: `Debug` and `Display` redact it, the
//! memory is zeroed on drop, and the only way to the raw value is the explicit
//! [`Secret::expose`]. [`mask`] is the one place that decides how much of a
//! secret a human may see (a known prefix and the last four characters).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A secret string: redacted in `Debug`/`Display`, zeroized on drop.
///
/// ```
/// use claude_auth::Secret;
/// let s = Secret::new("sk-ant-api03-abcdefghijklmnop");
/// assert_eq!(format!("{s}"), "[redacted]");
/// assert_eq!(format!("{s:?}"), "Secret([redacted])");
/// assert_eq!(s.expose(), "sk-ant-api03-abcdefghijklmnop");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// A token read from `what` (a file's field, a variable, stdin), checked
    /// by [`validate_token`]. The error names `what` and the fix, never the
    /// value.
    pub fn token(value: impl Into<String>, what: &str) -> Result<Self, String> {
        let secret = Secret::new(value);
        match validate_token(secret.expose()) {
            Ok(()) => Ok(secret),
            Err(problem) => Err(format!(
                "{what} is not a usable token: {problem} (a token is {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} visible ASCII characters: no spaces, newlines or control characters)"
            )),
        }
    }

    /// The raw value. Call it only where the value leaves the process
    /// (an HTTP header, a file, stdout of `token`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The masked form for humans: see [`mask`].
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// Length in characters.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// The shortest token accepted (no real key or token is shorter).
pub const MIN_TOKEN_LEN: usize = 8;
/// The longest token accepted: 16 KiB, room for the largest identity-provider
/// JWTs, far below anything that would strain a header or a file.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What is wrong with a token (never its value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    /// Fewer than [`MIN_TOKEN_LEN`] characters.
    #[error("it is {0} characters long, too short to be a token")]
    TooShort(usize),
    /// More than [`MAX_TOKEN_LEN`] bytes.
    #[error("it is {0} bytes long, over 16 KiB")]
    TooLong(usize),
    /// A control character (NUL, CR, LF, DEL, …) at this character position.
    #[error("it holds a control character (a newline, NUL or similar) at position {0}")]
    Control(usize),
    /// Whitespace at this character position.
    #[error("it holds whitespace at position {0}")]
    Whitespace(usize),
    /// A character outside ASCII at this character position.
    #[error("it holds a non-ASCII character at position {0}")]
    NonAscii(usize),
}

/// The one rule every token, key and refresh token obeys wherever it
/// enters (login input, every store and source, token responses): 8 to
/// 16 KiB of visible ASCII, so it prints on one line, fits a header and
/// survives `$(claude-auth token)`.
///
/// ```
/// use claude_auth::secret::{validate_token, TokenProblem};
/// assert!(validate_token("sk-ant-api03-abcdefgh").is_ok());
/// assert_eq!(validate_token("abc"), Err(TokenProblem::TooShort(3)));
/// assert_eq!(validate_token("sk-ant-api03-x\n"), Err(TokenProblem::Control(14)));
/// ```
pub fn validate_token(value: &str) -> Result<(), TokenProblem> {
    if value.len() > MAX_TOKEN_LEN {
        return Err(TokenProblem::TooLong(value.len()));
    }
    for (i, c) in value.chars().enumerate() {
        if c.is_control() {
            return Err(TokenProblem::Control(i));
        }
        if c.is_whitespace() {
            return Err(TokenProblem::Whitespace(i));
        }
        if !c.is_ascii() {
            return Err(TokenProblem::NonAscii(i));
        }
    }
    if value.len() < MIN_TOKEN_LEN {
        return Err(TokenProblem::TooShort(value.len()));
    }
    Ok(())
}

/// Prefixes whose owner is known; a masked value keeps them so a human can
/// tell an API key from an access or refresh token.
pub const KNOWN_PREFIXES: [&str; 3] = ["sk-ant-api03-", "sk-ant-oat01-", "sk-ant-ort01-"];

/// OpenAI's API key prefixes (project, service account, admin, and the
/// older plain `sk-`), most specific first; a masked OpenAI key keeps its
/// prefix as an Anthropic one does. Never applied to a value starting with
/// `sk-ant-` (an Anthropic value with a prefix not in [`KNOWN_PREFIXES`]
/// shows only its length, as before).
pub const OPENAI_KEY_PREFIXES: [&str; 4] = ["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"];

/// The known prefix `value` starts with, if any: Anthropic's first, then
/// OpenAI's.
fn known_prefix(value: &str) -> Option<&'static str> {
    if let Some(p) = KNOWN_PREFIXES.into_iter().find(|p| value.starts_with(p)) {
        return Some(p);
    }
    if value.starts_with("sk-ant-") {
        return None;
    }
    OPENAI_KEY_PREFIXES
        .into_iter()
        .find(|p| value.starts_with(p))
}

/// How a secret is shown to humans.
///
/// A value with a known prefix ([`KNOWN_PREFIXES`], [`OPENAI_KEY_PREFIXES`])
/// shows the prefix, `…` and the last four characters; anything else shows
/// only that it is set and its length.
///
/// ```
/// use claude_auth::mask;
/// assert_eq!(mask("sk-ant-oat01-AAAABBBBCCCCDDDD"), "sk-ant-oat01-…DDDD");
/// assert_eq!(mask("sk-proj-AAAABBBBCCCCDDDD"), "sk-proj-…DDDD");
/// assert_eq!(mask("hunter2"), "(set, 7 chars)");
/// ```
pub fn mask(value: &str) -> String {
    if let Some(prefix) = known_prefix(value) {
        let rest = value.strip_prefix(prefix).unwrap_or_default();
        let n = rest.chars().count();
        // Showing four characters of a value shorter than eight would show
        // half of it: fall back to the length only.
        if n >= 8 {
            let tail: String = rest.chars().skip(n - 4).collect();
            return format!("{prefix}…{tail}");
        }
    }
    format!("(set, {} chars)", value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("sk-ant-ort01-very-secret-value");
        assert!(!format!("{s:?}").contains("very-secret"));
        assert!(!format!("{s}").contains("very-secret"));
        assert!(!format!("{:?}", Some(&s)).contains("very-secret"));
    }

    #[test]
    fn serde_round_trips_the_raw_value() {
        let s = Secret::new("abc");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"abc\"");
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "abc");
    }

    #[test]
    fn mask_known_prefixes() {
        assert_eq!(mask("sk-ant-api03-0123456789wxyz"), "sk-ant-api03-…wxyz");
        assert_eq!(mask("sk-ant-ort01-0123456789wxyz"), "sk-ant-ort01-…wxyz");
    }

    #[test]
    fn mask_short_or_unknown_values_shows_length_only() {
        assert_eq!(mask("sk-ant-api03-abc"), "(set, 16 chars)");
        assert_eq!(mask(""), "(set, 0 chars)");
        assert_eq!(mask("ghp_abcdefghijklmnop"), "(set, 20 chars)");
    }

    #[test]
    fn mask_openai_keys_keep_their_prefix() {
        assert_eq!(mask("sk-proj-Tq3Vw8Xy2Zb5Nc7Md4Lf6Kg9Jh1"), "sk-proj-…9Jh1");
        assert_eq!(mask("sk-svcacct-0123456789wxyz"), "sk-svcacct-…wxyz");
        assert_eq!(mask("sk-admin-0123456789wxyz"), "sk-admin-…wxyz");
        assert_eq!(mask("sk-0123456789abcdefwxyz"), "sk-…wxyz");
        // Short ones: the length only, as for Anthropic's.
        assert_eq!(mask("sk-proj-abc"), "(set, 11 chars)");
        assert_eq!(mask("sk-short"), "(set, 8 chars)");
    }

    #[test]
    fn mask_anthropic_values_are_unchanged_by_openai_prefixes() {
        // An Anthropic value with an unknown version stays length-only, and
        // a short known one does not fall through to the plain `sk-` rule.
        assert_eq!(mask("sk-ant-api04-0123456789wxyz"), "(set, 27 chars)");
        assert_eq!(mask("sk-ant-api03-abc"), "(set, 16 chars)");
        assert_eq!(mask("sk-ant-oat01-0123456789wxyz"), "sk-ant-oat01-…wxyz");
    }

    #[test]
    fn mask_handles_multibyte_characters() {
        assert_eq!(mask("sk-ant-oat01-ééééééééé€€€€"), "sk-ant-oat01-…€€€€");
    }
}
