//! An incremental Server-Sent Events decoder.
//!
//! The Messages API streams `text/event-stream`. Bytes arrive in arbitrary
//! chunks — a line, an event, or a UTF-8 character may be split across two —
//! so the decoder keeps only the unfinished line and the event being built,
//! and hands out each event as soon as its blank line arrives. It never holds
//! more than one event, so a consumer that pulls slowly slows the connection
//! down instead of growing a buffer (backpressure).
//!
//! It follows the WHATWG rules: lines end in `\n`, `\r\n` or `\r`; a line
//! starting with `:` is a comment; `field: value` loses one leading space;
//! `data` lines join with `\n`; an event without data is not dispatched.

use std::collections::VecDeque;

/// The longest line accepted (16 MiB): a server that never ends a line
/// cannot make the decoder grow without bound.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// One decoded event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `message` when the server named none.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The `id:` field, when one was given.
    pub id: Option<String>,
}

/// Why the byte stream is not an event stream.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line longer than [`MAX_LINE_BYTES`].
    #[error("an event-stream line is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
}

/// Incremental decoder: feed it chunks, collect events.
///
/// ```
/// use claude_auth::client::sse::SseDecoder;
/// let mut decoder = SseDecoder::new();
/// let mut events = std::collections::VecDeque::new();
/// decoder.feed(b"event: ping\nda", &mut events).unwrap();
/// assert!(events.is_empty());
/// decoder.feed(b"ta: {}\n\n", &mut events).unwrap();
/// assert_eq!(events[0].event, "ping");
/// assert_eq!(events[0].data, "{}");
/// ```
#[derive(Debug, Default)]
pub struct SseDecoder {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one
    /// belongs to the same line ending.
    after_cr: bool,
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseDecoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        SseDecoder::default()
    }

    /// Decode `chunk`, pushing every event it completes onto `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), SseError> {
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..pos]);
            if self.line.len() > MAX_LINE_BYTES {
                return Err(SseError::LineTooLong);
            }
            let ending = rest[pos];
            rest = &rest[pos + 1..];
            if ending == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            self.line_complete(&line, out);
            // Reuse the allocation for the next line.
            self.line = line;
            self.line.clear();
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE_BYTES {
            return Err(SseError::LineTooLong);
        }
        Ok(())
    }

    /// The body ended: an event missing only its final blank line is still
    /// dispatched (lenient towards servers that close right after `data:`).
    pub fn finish(&mut self, out: &mut VecDeque<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_complete(&line, out);
        }
        self.dispatch(out);
    }

    fn line_complete(&mut self, raw: &[u8], out: &mut VecDeque<SseEvent>) {
        let mut line = raw;
        if !self.started {
            self.started = true;
            // A UTF-8 byte order mark at the very start is ignored.
            if let Some(stripped) = line.strip_prefix("\u{feff}".as_bytes()) {
                line = stripped;
            }
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.find(':') {
            Some(i) => {
                let value = &text[i + 1..];
                (&text[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (&*text, ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            // `retry` and unknown fields mean nothing to this client.
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut VecDeque<SseEvent>) {
        let event = self.event.take();
        if !self.has_data {
            self.data.clear();
            return;
        }
        self.has_data = false;
        out.push_back(SseEvent {
            event: event
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "message".to_owned()),
            data: std::mem::take(&mut self.data),
            id: self.id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut out = VecDeque::new();
        for chunk in input.chunks(piece) {
            decoder.feed(chunk, &mut out).unwrap();
        }
        decoder.finish(&mut out);
        out.into_iter().collect()
    }

    #[test]
    fn events_are_the_same_whatever_the_chunking() {
        let input = "event: message_start\ndata: {\"a\":1}\n\n: comment\n\nevent: ping\r\ndata: {}\r\n\r\ndata: x\rdata: y\r\rdata: é€\n\n";
        let whole = decode_in_pieces(input.as_bytes(), input.len());
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[0].event, "message_start");
        assert_eq!(whole[0].data, "{\"a\":1}");
        assert_eq!(whole[1].event, "ping");
        assert_eq!(whole[2].event, "message");
        assert_eq!(whole[2].data, "x\ny");
        assert_eq!(whole[3].data, "é€");
        for piece in 1..8 {
            assert_eq!(
                decode_in_pieces(input.as_bytes(), piece),
                whole,
                "piece {piece}"
            );
        }
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        assert!(decode_in_pieces(b"event: ping\n\n", 100).is_empty());
    }

    #[test]
    fn one_leading_space_is_removed_and_no_more() {
        let events = decode_in_pieces(b"data:  two\n\ndata:none\n\n", 100);
        assert_eq!(events[0].data, " two");
        assert_eq!(events[1].data, "none");
    }

    #[test]
    fn a_final_event_without_blank_line_is_kept() {
        let events = decode_in_pieces(b"event: message_stop\ndata: {}", 3);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "message_stop");
    }

    #[test]
    fn byte_order_mark_and_id() {
        let events = decode_in_pieces("\u{feff}id: 7\ndata: a\n\n".as_bytes(), 2);
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[0].data, "a");
    }
}
