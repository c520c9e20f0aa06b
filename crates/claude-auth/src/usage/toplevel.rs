//! The top-level `model` and `usage` of a JSON response body, found without
//! deserializing the rest of it.
//!
//! A non-streamed answer is mostly content the ledger never reads: serde
//! walking all of it cost ~6,600 instructions for a 240-byte message, a
//! quarter of what the proxy spends on the whole request. This scanner
//! steps over the other members (strings with `memchr`, containers by
//! depth) and hands serde only the two values wanted.
//!
//! On a well-formed object it finds exactly what serde finds. Anything it
//! does not handle plainly (a top level that is not an object, a key with
//! escapes, a known key twice, nesting deeper than serde's limit, bytes
//! after the end) returns [`Scan::Unsure`], and the caller parses the whole
//! body with serde as before. Inside members it skips, it checks structure
//! only (quotes, brackets), not the JSON grammar: a body broken there may
//! still give its counts where serde would give none.

/// Containers nested deeper than this inside a member are left to serde:
/// with the top-level object, 127 levels, the most serde accepts.
const MAX_DEPTH: usize = 126;

/// What a scan found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan<'a> {
    /// The raw JSON values of the top-level `model` and `usage`, if present.
    Found {
        model: Option<&'a [u8]>,
        usage: Option<&'a [u8]>,
    },
    /// Not a plain object: parse it whole.
    Unsure,
}

/// Keys serde's `Carrier` knows at the top level: each may appear once
/// (twice is an error there, so it is left to serde here).
const KNOWN: [&[u8]; 5] = [b"type", b"message", b"response", b"model", b"usage"];

/// Scan `body`, a JSON object, for its top-level `model` and `usage`.
pub(crate) fn scan(body: &[u8]) -> Scan<'_> {
    scan_inner(body).map_or(Scan::Unsure, |(model, usage)| Scan::Found { model, usage })
}

type Values<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

fn scan_inner(b: &[u8]) -> Option<Values<'_>> {
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let (mut model, mut usage) = (None, None);
    let mut seen = [false; KNOWN.len()];
    if b.get(i) == Some(&b'}') {
        return end(b, i + 1, model, usage);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(b, i)?;
        let key = &b[i + 1..key_end - 1];
        if key.contains(&b'\\') {
            return None;
        }
        if let Some(k) = KNOWN.iter().position(|known| *known == key) {
            if std::mem::replace(&mut seen[k], true) {
                return None;
            }
        }
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, i + 1);
        let stop = skip_value(b, start)?;
        match key {
            b"model" => model = Some(&b[start..stop]),
            b"usage" => usage = Some(&b[start..stop]),
            _ => {}
        }
        i = skip_ws(b, stop);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return end(b, i + 1, model, usage),
            _ => return None,
        }
    }
}

/// After the closing brace only whitespace may follow.
fn end<'a>(
    b: &[u8],
    i: usize,
    model: Option<&'a [u8]>,
    usage: Option<&'a [u8]>,
) -> Option<Values<'a>> {
    (skip_ws(b, i) == b.len()).then_some((model, usage))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// `b[i]` is an opening quote: the index just past the closing one.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut at = i + 1;
    loop {
        let rest = b.get(at..)?;
        let found = memchr::memchr2(b'"', b'\\', rest)?;
        at += found;
        if b[at] == b'"' {
            return Some(at + 1);
        }
        // A backslash: the next byte is escaped, whatever it is.
        at += 2;
    }
}

/// The index just past the value that starts at `b[i]`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => skip_container(b, i),
        b',' | b'}' | b']' | b':' => None,
        _ => {
            // A number or a literal: up to the next delimiter.
            let mut at = i;
            while let Some(&c) = b.get(at) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                if matches!(c, b'"' | b'{' | b'[' | b':') {
                    return None;
                }
                at += 1;
            }
            Some(at)
        }
    }
}

/// `b[i]` opens an object or an array: the index just past its end.
fn skip_container(b: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = i;
    loop {
        match *b.get(at)? {
            b'"' => {
                at = skip_string(b, at)?;
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
        at += 1;
    }
}

#[cfg(test)]
#[path = "toplevel_tests.rs"]
mod tests;
