//! Stream events of the Messages API and the accumulator that turns them
//! into a [`Message`]: deltas, message deltas, errors, and any event this
//! crate does not know, kept as raw JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::types::{ContentBlock, Message};

/// A content-block delta of a stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Delta {
    /// `text_delta`.
    Text(String),
    /// `input_json_delta`: a piece of a tool call's JSON arguments.
    InputJson(String),
    /// `thinking_delta`.
    Thinking(String),
    /// `signature_delta`: the thinking block's signature.
    Signature(String),
    /// `citations_delta`.
    Citation(Value),
    /// Any other delta, as sent.
    Unknown(Value),
}

impl Delta {
    fn from_value(value: Value) -> Delta {
        let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        let typed = match kind {
            "text_delta" => field("text").map(Delta::Text),
            "input_json_delta" => field("partial_json").map(Delta::InputJson),
            "thinking_delta" => field("thinking").map(Delta::Thinking),
            "signature_delta" => field("signature").map(Delta::Signature),
            "citations_delta" => value.get("citation").cloned().map(Delta::Citation),
            _ => None,
        };
        typed.unwrap_or(Delta::Unknown(value))
    }

    fn to_value(&self) -> Value {
        let pair = |kind: &str, key: &str, v: Value| {
            let mut map = Map::new();
            map.insert("type".into(), Value::String(kind.to_owned()));
            map.insert(key.into(), v);
            Value::Object(map)
        };
        match self {
            Delta::Text(t) => pair("text_delta", "text", t.clone().into()),
            Delta::InputJson(j) => pair("input_json_delta", "partial_json", j.clone().into()),
            Delta::Thinking(t) => pair("thinking_delta", "thinking", t.clone().into()),
            Delta::Signature(s) => pair("signature_delta", "signature", s.clone().into()),
            Delta::Citation(c) => pair("citations_delta", "citation", c.clone()),
            Delta::Unknown(v) => v.clone(),
        }
    }
}

impl Serialize for Delta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Delta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Delta::from_value(Value::deserialize(deserializer)?))
    }
}

/// The top-level changes of `message_delta`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageDeltaBody {
    /// Why generation stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence that matched.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Cumulative usage in `message_delta` (fields the server omits stay `None`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageDelta {
    /// Input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output tokens so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Cache writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Cache reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The API's error object: `{"type": "overloaded_error", "message": "…"}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error type (`invalid_request_error`, `overloaded_error`, …).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The message.
    #[serde(default)]
    pub message: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One event of a streamed message, in the order the API sends them.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// `message_start`: the message with empty content.
    MessageStart {
        /// The message so far.
        message: Message,
    },
    /// `content_block_start`.
    ContentBlockStart {
        /// The block's index.
        index: usize,
        /// The block, empty.
        content_block: ContentBlock,
    },
    /// `content_block_delta`.
    ContentBlockDelta {
        /// The block's index.
        index: usize,
        /// The change.
        delta: Delta,
    },
    /// `content_block_stop`.
    ContentBlockStop {
        /// The block's index.
        index: usize,
    },
    /// `message_delta`: stop reason and cumulative usage.
    MessageDelta {
        /// Top-level changes.
        delta: MessageDeltaBody,
        /// Usage so far.
        usage: Option<UsageDelta>,
    },
    /// `message_stop`: the message is complete.
    MessageStop,
    /// `ping`: keep-alive.
    Ping,
    /// `error`: the API failed mid-stream (e.g. `overloaded_error`).
    Error {
        /// What failed.
        error: ErrorBody,
    },
    /// An event this crate does not know, kept as sent.
    Unknown {
        /// The SSE event name.
        event: String,
        /// The raw data.
        data: String,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: Message,
    },
    ContentBlockStart {
        index: usize,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: usize,
        delta: Delta,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<UsageDelta>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorBody,
    },
}

const KNOWN_EVENTS: [&str; 8] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

impl StreamEvent {
    /// Decode one SSE event (`event` name, `data`). Known events whose data
    /// does not decode are an error; unknown events are kept raw.
    pub fn parse(event: &str, data: &str) -> Result<StreamEvent, serde_json::Error> {
        let unknown = || StreamEvent::Unknown {
            event: event.to_owned(),
            data: data.to_owned(),
        };
        let named_known = KNOWN_EVENTS.contains(&event);
        let mut value: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) if named_known => return Err(e),
            Err(_) => return Ok(unknown()),
        };
        let kind = value.get("type").and_then(Value::as_str).map(str::to_owned);
        match kind {
            Some(k) if KNOWN_EVENTS.contains(&k.as_str()) => {}
            // The event name is known and the data names no type: trust the name.
            None if named_known => {
                if let Value::Object(map) = &mut value {
                    map.insert("type".into(), Value::String(event.to_owned()));
                }
            }
            _ => return Ok(unknown()),
        }
        Ok(match WireEvent::deserialize(value)? {
            WireEvent::MessageStart { message } => StreamEvent::MessageStart { message },
            WireEvent::ContentBlockStart {
                index,
                content_block,
            } => StreamEvent::ContentBlockStart {
                index,
                content_block,
            },
            WireEvent::ContentBlockDelta { index, delta } => {
                StreamEvent::ContentBlockDelta { index, delta }
            }
            WireEvent::ContentBlockStop { index } => StreamEvent::ContentBlockStop { index },
            WireEvent::MessageDelta { delta, usage } => StreamEvent::MessageDelta { delta, usage },
            WireEvent::MessageStop => StreamEvent::MessageStop,
            WireEvent::Ping => StreamEvent::Ping,
            WireEvent::Error { error } => StreamEvent::Error { error },
        })
    }

    /// The text of a `text_delta`, if this is one.
    pub fn text_delta(&self) -> Option<&str> {
        match self {
            StreamEvent::ContentBlockDelta {
                delta: Delta::Text(t),
                ..
            } => Some(t),
            _ => None,
        }
    }
}

/// Builds the final [`Message`] from stream events.
///
/// ```
/// use claude_auth::client::{MessageAccumulator, StreamEvent};
/// let mut acc = MessageAccumulator::new();
/// for (event, data) in [
///     ("message_start", r#"{"type":"message_start","message":{"id":"m","role":"assistant","model":"x","content":[],"usage":{"input_tokens":3}}}"#),
///     ("content_block_start", r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
///     ("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#),
///     ("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":1}}"#),
/// ] {
///     acc.push(&StreamEvent::parse(event, data).unwrap());
/// }
/// let message = acc.into_message().unwrap();
/// assert_eq!(message.text(), "Hi");
/// assert_eq!(message.stop_reason.as_deref(), Some("end_turn"));
/// assert_eq!((message.usage.input_tokens, message.usage.output_tokens), (3, 1));
/// ```
#[derive(Clone, Debug, Default)]
pub struct MessageAccumulator {
    message: Option<Message>,
    partial_json: BTreeMap<usize, String>,
}

impl MessageAccumulator {
    /// Nothing yet.
    pub fn new() -> Self {
        MessageAccumulator::default()
    }

    /// Apply one event.
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::MessageStart { message } => {
                self.message = Some(message.clone());
                self.partial_json.clear();
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                if let Some(m) = &mut self.message {
                    if *index < m.content.len() {
                        m.content[*index] = content_block.clone();
                    } else {
                        m.content.push(content_block.clone());
                    }
                }
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                if let Delta::InputJson(piece) = delta {
                    self.partial_json.entry(*index).or_default().push_str(piece);
                    return;
                }
                let Some(block) = self
                    .message
                    .as_mut()
                    .and_then(|m| m.content.get_mut(*index))
                else {
                    return;
                };
                match (block, delta) {
                    (ContentBlock::Text(b), Delta::Text(t)) => b.text.push_str(t),
                    (ContentBlock::Text(b), Delta::Citation(c)) => {
                        let list = b
                            .extra
                            .entry("citations")
                            .or_insert_with(|| Value::Array(Vec::new()));
                        if !list.is_array() {
                            *list = Value::Array(Vec::new());
                        }
                        if let Value::Array(items) = list {
                            items.push(c.clone());
                        }
                    }
                    (ContentBlock::Thinking(b), Delta::Thinking(t)) => b.thinking.push_str(t),
                    (ContentBlock::Thinking(b), Delta::Signature(s)) => b.signature = s.clone(),
                    _ => {}
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                let Some(json) = self.partial_json.remove(index) else {
                    return;
                };
                let Some(block) = self
                    .message
                    .as_mut()
                    .and_then(|m| m.content.get_mut(*index))
                else {
                    return;
                };
                let input = if json.trim().is_empty() {
                    Value::Object(Map::new())
                } else {
                    serde_json::from_str(&json).unwrap_or(Value::String(json))
                };
                match block {
                    ContentBlock::ToolUse(b) => b.input = input,
                    ContentBlock::Unknown(Value::Object(map)) => {
                        map.insert("input".into(), input);
                    }
                    _ => {}
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                let Some(m) = &mut self.message else { return };
                if delta.stop_reason.is_some() {
                    m.stop_reason.clone_from(&delta.stop_reason);
                }
                if delta.stop_sequence.is_some() {
                    m.stop_sequence.clone_from(&delta.stop_sequence);
                }
                for (k, v) in &delta.extra {
                    m.extra.insert(k.clone(), v.clone());
                }
                if let Some(u) = usage {
                    if let Some(n) = u.input_tokens {
                        m.usage.input_tokens = n;
                    }
                    if let Some(n) = u.output_tokens {
                        m.usage.output_tokens = n;
                    }
                    if u.cache_creation_input_tokens.is_some() {
                        m.usage.cache_creation_input_tokens = u.cache_creation_input_tokens;
                    }
                    if u.cache_read_input_tokens.is_some() {
                        m.usage.cache_read_input_tokens = u.cache_read_input_tokens;
                    }
                    for (k, v) in &u.extra {
                        m.usage.extra.insert(k.clone(), v.clone());
                    }
                }
            }
            StreamEvent::MessageStop
            | StreamEvent::Ping
            | StreamEvent::Error { .. }
            | StreamEvent::Unknown { .. } => {}
        }
    }

    /// The message so far (`None` before `message_start`).
    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    /// The message built.
    pub fn into_message(self) -> Option<Message> {
        self.message
    }
}
