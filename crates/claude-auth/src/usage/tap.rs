//! Token counts from a response body as it streams past, never buffering
//! the stream: what the proxy and the client feed to the usage ledger.
//!
//! - An SSE body (`text/event-stream`) is read line by line; each `data:`
//!   line is JSON, and Anthropic's `message_start` (model, input and cache
//!   tokens) and `message_delta` (cumulative output tokens) events, OpenAI's
//!   `response.completed` and any event carrying a top-level `usage` set
//!   the counts. Only the current line is held (at most [`MAX_LINE`] bytes;
//!   a longer line is skipped, not kept). A line without `"usage"` (or,
//!   while no model is known, `"model"`) in it cannot set a count and is
//!   not parsed at all: most events of a stream are text deltas.
//! - A JSON body is kept up to [`MAX_JSON`] bytes and read at the end: its
//!   `model` and `usage`.
//! - Anything else yields nothing.
//!
//! Only the fields that matter are read ([`super::partial`]): no
//! `serde_json::Value` tree, no allocation but the model's name.

use bytes::Bytes;

use super::partial::{contains, Carrier, Count, Counts, Object, Part, Text, MODEL_KEY, USAGE_KEY};
use super::toplevel::{self, Scan};

/// The longest SSE line read for counts.
pub const MAX_LINE: usize = 256 * 1024;
/// The largest JSON body read for counts.
pub const MAX_JSON: usize = 1024 * 1024;

/// Token counts of one response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// The model the response names.
    pub model: Option<String>,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_creation_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sse,
    Json,
    Other,
}

/// Watches one response body.
#[derive(Debug)]
pub struct UsageTap {
    kind: Kind,
    /// A JSON body's only frame so far, kept as is.
    held: Option<Bytes>,
    buf: Vec<u8>,
    skipping: bool,
    seen: bool,
    usage: TokenUsage,
}

impl UsageTap {
    /// A tap for a body of this `Content-Type`.
    pub fn for_content_type(content_type: Option<&str>) -> UsageTap {
        let ct = content_type.unwrap_or("").as_bytes();
        let starts = |prefix: &str| {
            ct.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
        };
        let kind = if starts("text/event-stream") {
            Kind::Sse
        } else if starts("application/json") {
            Kind::Json
        } else {
            Kind::Other
        };
        UsageTap {
            kind,
            held: None,
            buf: Vec::new(),
            skipping: false,
            seen: false,
            usage: TokenUsage::default(),
        }
    }

    /// Feed the next piece of the body, as the reference-counted bytes it
    /// came in: a JSON body that arrives in one piece is kept without a copy.
    pub fn feed_bytes(&mut self, chunk: &Bytes) {
        if self.kind == Kind::Json
            && self.held.is_none()
            && self.buf.is_empty()
            && chunk.len() <= MAX_JSON
        {
            self.held = Some(chunk.clone());
        } else {
            self.feed(chunk);
        }
    }

    /// Feed the next piece of the body.
    pub fn feed(&mut self, chunk: &[u8]) {
        match self.kind {
            Kind::Other => {}
            Kind::Json => {
                if let Some(held) = self.held.take() {
                    self.buf.extend_from_slice(&held);
                }
                if self.buf.len() + chunk.len() <= MAX_JSON {
                    self.buf.extend_from_slice(chunk);
                } else {
                    self.kind = Kind::Other;
                    self.buf = Vec::new();
                }
            }
            Kind::Sse => {
                let mut rest = chunk;
                while let Some(i) = memchr::memchr(b'\n', rest) {
                    let (line, tail) = rest.split_at(i);
                    rest = &tail[1..];
                    if self.skipping {
                        self.skipping = false;
                    } else if self.buf.is_empty() {
                        self.line(line);
                    } else {
                        self.buf.extend_from_slice(line);
                        let whole = std::mem::take(&mut self.buf);
                        self.line(&whole);
                    }
                }
                if !self.skipping && !rest.is_empty() {
                    if self.buf.len() + rest.len() > MAX_LINE {
                        self.buf.clear();
                        self.skipping = true;
                    } else {
                        self.buf.extend_from_slice(rest);
                    }
                }
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let wanted = contains(data, &USAGE_KEY)
            || (self.usage.model.is_none() && contains(data, &MODEL_KEY));
        if !wanted {
            return;
        }
        if let Ok(event) = serde_json::from_slice::<Carrier<'_>>(data) {
            self.event(event);
        }
    }

    fn event(&mut self, event: Carrier<'_>) {
        let wrapped = match event.kind.0.as_deref() {
            Some("message_start") => Some(event.message),
            Some("response.completed") => Some(event.response),
            _ => None,
        };
        match wrapped {
            Some(part) => {
                if let Some(part) = part.0 {
                    self.take(part);
                }
            }
            None => self.take(Part {
                model: event.model,
                usage: event.usage,
            }),
        }
    }

    /// Counts from an object with `model` and `usage` (Anthropic's names,
    /// or OpenAI's `prompt_tokens`/`completion_tokens`). Counts are
    /// cumulative in every stream that repeats them, so they replace.
    fn take(&mut self, part: Part<'_>) {
        if let Text(Some(model)) = part.model {
            self.usage.model = Some(if model.len() <= 128 {
                model.into_owned()
            } else {
                model.chars().take(128).collect()
            });
        }
        let Some(c) = part.usage.0 else {
            return;
        };
        self.seen = true;
        let u = &mut self.usage;
        let Counts {
            input_tokens,
            prompt_tokens,
            output_tokens,
            completion_tokens,
            cache_creation_input_tokens,
            cache_read_input_tokens,
            input_tokens_details,
            prompt_tokens_details,
        } = c;
        let either = |a: Count, b: Count| a.0.or(b.0);
        if let Some(n) = either(input_tokens, prompt_tokens) {
            u.input_tokens = n;
        }
        if let Some(n) = either(output_tokens, completion_tokens) {
            u.output_tokens = n;
        }
        if let Some(n) = cache_creation_input_tokens.0 {
            u.cache_creation_tokens = n;
        }
        let details = input_tokens_details.0.or(prompt_tokens_details.0);
        if let Some(n) = cache_read_input_tokens
            .0
            .or_else(|| details.and_then(|d| d.cached_tokens.0))
        {
            u.cache_read_tokens = n;
        }
    }

    /// The tokens counted so far, as a budget counts them
    /// ([`budget_tokens`](super::spent::budget_tokens)): a stream's input
    /// from its first event, its output as the deltas report it.
    pub fn budget_tokens(&self) -> u64 {
        super::spent::budget_tokens(&self.usage)
    }

    /// The counts, once the body has ended; `None` when it carried none.
    pub fn finish(mut self) -> Option<TokenUsage> {
        match self.kind {
            // No `"usage"` anywhere: nothing to count (an error body, say).
            Kind::Json => {
                let held = self.held.take();
                let buf = std::mem::take(&mut self.buf);
                let body = held.as_deref().unwrap_or(&buf);
                if !contains(body, &USAGE_KEY) {
                    return None;
                }
                if let Some(part) = json_part(body) {
                    self.take(part);
                }
            }
            Kind::Sse if !self.buf.is_empty() && !self.skipping => {
                let last = std::mem::take(&mut self.buf);
                self.line(&last);
            }
            _ => {}
        }
        self.seen.then_some(self.usage)
    }
}

/// The counts of a whole JSON body read by serde alone, as before the
/// scanner (exposed for fuzzing: on valid JSON, [`UsageTap::finish`] must
/// find the same).
#[doc(hidden)]
pub fn json_usage_by_serde(body: &[u8]) -> Option<TokenUsage> {
    if !contains(body, &USAGE_KEY) {
        return None;
    }
    let mut tap = UsageTap::for_content_type(Some("application/json"));
    tap.take(whole_body_part(body)?);
    tap.seen.then_some(tap.usage)
}

/// A JSON body's top-level `model` and `usage`: only those two values go
/// through serde, unless the body is not a plain object ([`toplevel`]).
pub(super) fn json_part(body: &[u8]) -> Option<Part<'_>> {
    match toplevel::scan(body) {
        Scan::Found { model, usage } => Some(Part {
            model: match model {
                Some(raw) => serde_json::from_slice(raw).ok()?,
                None => Text(None),
            },
            usage: match usage {
                Some(raw) => serde_json::from_slice(raw).ok()?,
                None => Object(None),
            },
        }),
        Scan::Unsure => whole_body_part(body),
    }
}

/// The top-level `model` and `usage` of the whole body, read by serde.
fn whole_body_part(body: &[u8]) -> Option<Part<'_>> {
    serde_json::from_slice::<Carrier<'_>>(body)
        .ok()
        .map(|body| Part {
            model: body.model,
            usage: body.usage,
        })
}

#[cfg(test)]
#[path = "tap_tests.rs"]
mod tests;
