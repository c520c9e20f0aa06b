//! Redaction of server text before it reaches a message, a log or a file.
//!
//! Two layers. Pattern rules ([`sanitize`]) find token-looking runs anywhere,
//! whatever punctuation wraps them (`(sk-ant-…)`, `token:…`, `<…>`, quotes,
//! JSON). A [`Redactor`] also knows the exact secrets a request carried (the
//! refresh token, the code, the verifier, the client secret, the access
//! token) and removes every run holding 12 or more consecutive bytes of one
//! of them, raw, URL-encoded or JSON-escaped, so a server that echoes a
//! secret, or part of one, never gets it printed or stored.

use std::collections::HashSet;

use crate::secret::Secret;

/// What replaces a redacted run.
pub const REDACTED: &str = "[redacted]";

/// How many characters of server text a message keeps.
const MAX_CHARS: usize = 300;

/// How many bytes of server text are looked at (the rest could never show).
const MAX_INPUT: usize = 8 * 1024;

/// Known secrets whose overlap with a text this long (or the whole secret,
/// when shorter) is redacted.
const WINDOW: usize = 12;

/// Secrets shorter than this are not looked for (they would match words).
const MIN_KNOWN: usize = 8;

/// Characters a token run is made of: a run is cut at anything else.
fn run_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_~+/.%\\".contains(&b)
}

/// Strip anything token-like from server text and bound its length.
pub fn sanitize(text: &str) -> String {
    Redactor::default().sanitize(text)
}

/// Redacts the exact secrets it was given, on top of the pattern rules.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// Each secret in every encoding it could come back in.
    forms: Vec<Secret>,
}

impl Redactor {
    /// A redactor for these secrets (and their URL-encoded and JSON-escaped
    /// forms). Secrets shorter than 8 bytes are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Add one secret.
    pub fn add(&mut self, secret: &Secret) {
        let raw = secret.expose();
        if raw.len() < MIN_KNOWN {
            return;
        }
        let form: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        let json = serde_json::to_string(raw).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or(raw);
        for variant in [
            raw.to_owned(),
            form.clone(),
            form.replace("%2F", "%2f").replace("%2B", "%2b"),
            form.replace('+', "%20"),
            json.to_owned(),
            json.replace('/', "\\/"),
        ] {
            if !self.forms.iter().any(|f| f.expose() == variant) {
                self.forms.push(Secret::new(variant));
            }
        }
    }

    /// Remove the known secrets only (no pattern rules, no length bound):
    /// for text we built ourselves, such as a URL.
    pub fn scrub(&self, text: &str) -> String {
        if self.forms.is_empty() {
            return text.to_owned();
        }
        let mut marked = vec![false; text.len()];
        self.mark_known(text, &mut marked);
        compose(text, &marked)
    }

    /// Control characters dropped, known secrets and token-looking runs
    /// redacted, at most 300 characters kept.
    pub fn sanitize(&self, text: &str) -> String {
        let mut input = text;
        let mut cut = false;
        if input.len() > MAX_INPUT {
            let mut end = MAX_INPUT;
            while !input.is_char_boundary(end) {
                end -= 1;
            }
            // Drop a run the cut split: half a token is still a secret.
            while end > 0 && run_char(input.as_bytes()[end - 1]) {
                end -= 1;
            }
            input = &input[..end];
            cut = true;
        }
        let clean: String = input.chars().filter(|c| !c.is_control()).collect();
        let mut marked = vec![false; clean.len()];
        self.mark_known(&clean, &mut marked);
        mark_patterns(&clean, &mut marked);
        let out = compose(&clean, &marked);
        if cut || out.chars().count() > MAX_CHARS {
            let short: String = out.chars().take(MAX_CHARS).collect();
            format!("{short}…")
        } else {
            out
        }
    }

    fn mark_known(&self, text: &str, marked: &mut [bool]) {
        let bytes = text.as_bytes();
        let mut windows: HashSet<&[u8]> = HashSet::new();
        for form in &self.forms {
            let f = form.expose().as_bytes();
            if f.len() <= WINDOW {
                mark_all(bytes, f, marked);
            } else {
                windows.extend(f.windows(WINDOW));
            }
        }
        if !windows.is_empty() && bytes.len() >= WINDOW {
            for i in 0..=bytes.len() - WINDOW {
                if windows.contains(&bytes[i..i + WINDOW]) {
                    marked[i..i + WINDOW].iter_mut().for_each(|m| *m = true);
                }
            }
        }
        extend_to_runs(bytes, marked);
    }
}

fn mark_all(bytes: &[u8], needle: &[u8], marked: &mut [bool]) {
    if needle.is_empty() || bytes.len() < needle.len() {
        return;
    }
    for i in 0..=bytes.len() - needle.len() {
        if &bytes[i..i + needle.len()] == needle {
            marked[i..i + needle.len()]
                .iter_mut()
                .for_each(|m| *m = true);
        }
    }
}

/// Grow every marked range to the whole run around it, so no short piece
/// of a secret stays glued to the redaction.
fn extend_to_runs(bytes: &[u8], marked: &mut [bool]) {
    let mut i = 0;
    while i < bytes.len() {
        if !run_char(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && run_char(bytes[i]) {
            i += 1;
        }
        if marked[start..i].iter().any(|m| *m) {
            marked[start..i].iter_mut().for_each(|m| *m = true);
        }
    }
}

/// Whether one `/`- or `.`-separated piece of a run looks like a token.
fn tokenish_piece(piece: &str) -> bool {
    let n = piece.len();
    let digit = piece.bytes().any(|b| b.is_ascii_digit());
    let alpha = piece.bytes().any(|b| b.is_ascii_alphabetic());
    let upper = piece.bytes().any(|b| b.is_ascii_uppercase());
    let lower = piece.bytes().any(|b| b.is_ascii_lowercase());
    (n >= 20 && digit && alpha) || (n >= 32 && upper && lower)
}

/// Mark the runs that look like tokens: anything holding `sk-`, a JWT
/// (`eyJ…`), or a long piece mixing letters and digits.
fn mark_patterns(text: &str, marked: &mut [bool]) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !run_char(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && run_char(bytes[i]) {
            i += 1;
        }
        let run = &text[start..i];
        let tokenish = has_sk_prefix(run)
            || run.split(['/', '.', '%', '\\', '+']).any(|p| {
                (p.starts_with("eyJ") && p.len() >= 16) || tokenish_piece(p.trim_matches('-'))
            });
        if tokenish {
            marked[start..i].iter_mut().for_each(|m| *m = true);
        }
    }
}

/// Whether `sk-` starts the run or follows a non-alphanumeric character in
/// it (`task-based` is a word, `x_sk-ant-…` is not).
fn has_sk_prefix(run: &str) -> bool {
    run.match_indices("sk-")
        .any(|(i, _)| i == 0 || !run.as_bytes()[i - 1].is_ascii_alphanumeric())
}

/// The text with every maximal marked range replaced by [`REDACTED`].
fn compose(text: &str, marked: &[bool]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_mark = false;
    for (i, c) in text.char_indices() {
        if marked[i..i + c.len_utf8()].iter().any(|m| *m) {
            if !in_mark {
                out.push_str(REDACTED);
                in_mark = true;
            }
        } else {
            out.push(c);
            in_mark = false;
        }
    }
    out
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
