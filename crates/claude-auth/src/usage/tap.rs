//! Token counts from a response body as it streams past, never buffering
//! the stream: what the proxy and the client feed to the usage ledger.
//!
//! - An SSE body (`text/event-stream`) is read line by line; each `data:`
//!   line is JSON, and Anthropic's `message_start` (model, input and cache
//!   tokens) and `message_delta` (cumulative output tokens) events, OpenAI's
//!   `response.completed` and any event carrying a top-level `usage` set
//!   the counts. Only the current line is held (at most [`MAX_LINE`] bytes;
//!   a longer line is skipped, not kept).
//! - A JSON body is kept up to [`MAX_JSON`] bytes and read at the end: its
//!   `model` and `usage`.
//! - Anything else yields nothing.

use serde_json::Value;

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
    buf: Vec<u8>,
    skipping: bool,
    seen: bool,
    usage: TokenUsage,
}

fn count(v: &Value, names: &[&str]) -> Option<u64> {
    names.iter().find_map(|n| v.get(*n).and_then(Value::as_u64))
}

impl UsageTap {
    /// A tap for a body of this `Content-Type`.
    pub fn for_content_type(content_type: Option<&str>) -> UsageTap {
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        let kind = if ct.starts_with("text/event-stream") {
            Kind::Sse
        } else if ct.starts_with("application/json") {
            Kind::Json
        } else {
            Kind::Other
        };
        UsageTap {
            kind,
            buf: Vec::new(),
            skipping: false,
            seen: false,
            usage: TokenUsage::default(),
        }
    }

    /// Feed the next piece of the body.
    pub fn feed(&mut self, chunk: &[u8]) {
        match self.kind {
            Kind::Other => {}
            Kind::Json => {
                if self.buf.len() + chunk.len() <= MAX_JSON {
                    self.buf.extend_from_slice(chunk);
                } else {
                    self.kind = Kind::Other;
                    self.buf = Vec::new();
                }
            }
            Kind::Sse => {
                let mut rest = chunk;
                while let Some(i) = rest.iter().position(|b| *b == b'\n') {
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
        if let Ok(event) = serde_json::from_slice::<Value>(data) {
            self.event(&event);
        }
    }

    fn event(&mut self, event: &Value) {
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                if let Some(message) = event.get("message") {
                    self.take(message);
                }
            }
            Some("response.completed") => {
                if let Some(response) = event.get("response") {
                    self.take(response);
                }
            }
            _ => self.take(event),
        }
    }

    /// Counts from an object with `model` and `usage` (Anthropic's names,
    /// or OpenAI's `prompt_tokens`/`completion_tokens`). Counts are
    /// cumulative in every stream that repeats them, so they replace.
    fn take(&mut self, obj: &Value) {
        if let Some(model) = obj.get("model").and_then(Value::as_str) {
            self.usage.model = Some(model.chars().take(128).collect());
        }
        let Some(usage) = obj.get("usage").filter(|u| u.is_object()) else {
            return;
        };
        self.seen = true;
        let u = &mut self.usage;
        if let Some(n) = count(usage, &["input_tokens", "prompt_tokens"]) {
            u.input_tokens = n;
        }
        if let Some(n) = count(usage, &["output_tokens", "completion_tokens"]) {
            u.output_tokens = n;
        }
        if let Some(n) = count(usage, &["cache_creation_input_tokens"]) {
            u.cache_creation_tokens = n;
        }
        if let Some(n) = count(usage, &["cache_read_input_tokens"]).or_else(|| {
            usage
                .get("input_tokens_details")
                .or_else(|| usage.get("prompt_tokens_details"))
                .and_then(|d| count(d, &["cached_tokens"]))
        }) {
            u.cache_read_tokens = n;
        }
    }

    /// The counts, once the body has ended; `None` when it carried none.
    pub fn finish(mut self) -> Option<TokenUsage> {
        match self.kind {
            Kind::Json => {
                if let Ok(body) = serde_json::from_slice::<Value>(&self.buf) {
                    self.take(&body);
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

#[cfg(test)]
#[path = "tap_tests.rs"]
mod tests;
