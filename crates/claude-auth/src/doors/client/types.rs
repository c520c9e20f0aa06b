//! Request and response types of the Messages and Models APIs.
//!
//! Typed where it helps (model, tokens, messages, the content blocks and
//! stream events everybody matches on) and open everywhere else: requests
//! carry an `extra` map flattened into the body for parameters this crate
//! does not name yet, and responses keep every field they do not know in
//! their own `extra` map, so nothing the API adds is lost on a round trip.
//! Unknown content blocks, deltas and stream events are kept as raw JSON.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Who speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user.
    User,
    /// The model.
    Assistant,
}

/// A message's content: plain text, or content blocks as JSON (text, image,
/// tool_use, tool_result, documents, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content blocks, as the API documents them.
    Blocks(Vec<Value>),
}

impl From<String> for MessageContent {
    fn from(text: String) -> Self {
        MessageContent::Text(text)
    }
}

impl From<&str> for MessageContent {
    fn from(text: &str) -> Self {
        MessageContent::Text(text.to_owned())
    }
}

/// One turn of the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: MessageContent,
}

impl InputMessage {
    /// A user turn.
    pub fn user(content: impl Into<MessageContent>) -> Self {
        InputMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant turn (a prefill, or history).
    pub fn assistant(content: impl Into<MessageContent>) -> Self {
        InputMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// The system prompt: text, or text blocks (for cache control).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SystemPrompt {
    /// Plain text.
    Text(String),
    /// Blocks, as the API documents them.
    Blocks(Vec<Value>),
}

impl From<String> for SystemPrompt {
    fn from(text: String) -> Self {
        SystemPrompt::Text(text)
    }
}

impl From<&str> for SystemPrompt {
    fn from(text: &str) -> Self {
        SystemPrompt::Text(text.to_owned())
    }
}

/// Request metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// An opaque id for the end user (never an email or a name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Fields this crate does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `POST /v1/messages` request.
///
/// ```
/// use claude_auth::client::MessageRequest;
/// let request = MessageRequest::new("claude-sonnet-4-5", 256)
///     .system("Answer in one word.")
///     .user("What colour is the sky?")
///     .temperature(0.0)
///     .extra("top_k", 5);
/// let body = serde_json::to_value(&request).unwrap();
/// assert_eq!(body["messages"][0]["content"], "What colour is the sky?");
/// assert_eq!(body["top_k"], 5);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRequest {
    /// The model id.
    pub model: String,
    /// The most tokens to generate.
    pub max_tokens: u32,
    /// The conversation so far.
    pub messages: Vec<InputMessage>,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemPrompt>,
    /// Sampling temperature, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Sequences that stop generation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Metadata (`user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Tool definitions, as the API documents them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    /// How the model may use tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Any other body parameter (`top_k`, `thinking`, …), flattened into the
    /// body. `stream` is set by the client and ignored here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Beta features for this request, sent in the `anthropic-beta` header
    /// (merged with the client's and, for OAuth tokens, the OAuth beta).
    #[serde(skip)]
    pub betas: Vec<String>,
}

impl MessageRequest {
    /// A request with no messages yet.
    pub fn new(model: impl Into<String>, max_tokens: u32) -> Self {
        MessageRequest {
            model: model.into(),
            max_tokens,
            messages: Vec::new(),
            system: None,
            temperature: None,
            stop_sequences: Vec::new(),
            metadata: None,
            tools: Vec::new(),
            tool_choice: None,
            extra: Map::new(),
            betas: Vec::new(),
        }
    }

    /// Add a user turn.
    #[must_use]
    pub fn user(mut self, content: impl Into<MessageContent>) -> Self {
        self.messages.push(InputMessage::user(content));
        self
    }

    /// Add an assistant turn.
    #[must_use]
    pub fn assistant(mut self, content: impl Into<MessageContent>) -> Self {
        self.messages.push(InputMessage::assistant(content));
        self
    }

    /// Set the system prompt.
    #[must_use]
    pub fn system(mut self, system: impl Into<SystemPrompt>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Set the temperature.
    #[must_use]
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Add a stop sequence.
    #[must_use]
    pub fn stop_sequence(mut self, stop: impl Into<String>) -> Self {
        self.stop_sequences.push(stop.into());
        self
    }

    /// Add a tool definition.
    #[must_use]
    pub fn tool(mut self, tool: Value) -> Self {
        self.tools.push(tool);
        self
    }

    /// Set a body parameter this type does not name.
    #[must_use]
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Ask for a beta feature (the `anthropic-beta` header).
    #[must_use]
    pub fn beta(mut self, beta: impl Into<String>) -> Self {
        self.betas.push(beta.into());
        self
    }
}

/// Token usage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Fields this crate does not name.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A text block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TextBlock {
    /// The text.
    #[serde(default)]
    pub text: String,
    /// Other fields (`citations`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Extended thinking.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ThinkingBlock {
    /// The thinking text.
    #[serde(default)]
    pub thinking: String,
    /// The signature to send back with it.
    #[serde(default)]
    pub signature: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Thinking the API redacted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RedactedThinkingBlock {
    /// Opaque data to send back.
    #[serde(default)]
    pub data: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A tool call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolUseBlock {
    /// The call's id.
    #[serde(default)]
    pub id: String,
    /// The tool.
    #[serde(default)]
    pub name: String,
    /// The arguments.
    #[serde(default)]
    pub input: Value,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A content block of a response.
#[derive(Clone, Debug, PartialEq)]
pub enum ContentBlock {
    /// `text`.
    Text(TextBlock),
    /// `thinking`.
    Thinking(ThinkingBlock),
    /// `redacted_thinking`.
    RedactedThinking(RedactedThinkingBlock),
    /// `tool_use`.
    ToolUse(ToolUseBlock),
    /// Any other block type (server tools, web search results, …), as sent.
    Unknown(Value),
}

impl ContentBlock {
    /// The block's `type`.
    pub fn kind(&self) -> &str {
        match self {
            ContentBlock::Text(_) => "text",
            ContentBlock::Thinking(_) => "thinking",
            ContentBlock::RedactedThinking(_) => "redacted_thinking",
            ContentBlock::ToolUse(_) => "tool_use",
            ContentBlock::Unknown(v) => v.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// The text, for a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(t) => Some(&t.text),
            _ => None,
        }
    }
}

/// Serialize `value` as an object with `type` set to `tag`.
fn tagged<S: Serializer, T: Serialize>(
    serializer: S,
    tag: &str,
    value: &T,
) -> Result<S::Ok, S::Error> {
    let mut v = serde_json::to_value(value).map_err(serde::ser::Error::custom)?;
    if let Value::Object(map) = &mut v {
        // `type` goes first, as the API writes it.
        let mut out = Map::new();
        out.insert("type".into(), Value::String(tag.to_owned()));
        out.extend(std::mem::take(map));
        v = Value::Object(out);
    }
    v.serialize(serializer)
}

/// Decode `value` as `T` when it is well formed, else keep it raw.
fn typed_or_raw<T: serde::de::DeserializeOwned, R>(
    value: Value,
    wrap: impl FnOnce(T) -> R,
    raw: impl FnOnce(Value) -> R,
) -> R {
    match T::deserialize(&value) {
        Ok(t) => wrap(t),
        Err(_) => raw(value),
    }
}

/// The object's fields less `type` (which the typed variant implies).
fn without_type(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.remove("type");
    }
    value
}

impl Serialize for ContentBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ContentBlock::Text(b) => tagged(serializer, "text", b),
            ContentBlock::Thinking(b) => tagged(serializer, "thinking", b),
            ContentBlock::RedactedThinking(b) => tagged(serializer, "redacted_thinking", b),
            ContentBlock::ToolUse(b) => tagged(serializer, "tool_use", b),
            ContentBlock::Unknown(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Err(D::Error::custom("a content block must be a JSON object"));
        }
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        Ok(match kind {
            "text" => typed_or_raw(without_type(value), ContentBlock::Text, restore("text")),
            "thinking" => typed_or_raw(
                without_type(value),
                ContentBlock::Thinking,
                restore("thinking"),
            ),
            "redacted_thinking" => typed_or_raw(
                without_type(value),
                ContentBlock::RedactedThinking,
                restore("redacted_thinking"),
            ),
            "tool_use" => typed_or_raw(
                without_type(value),
                ContentBlock::ToolUse,
                restore("tool_use"),
            ),
            _ => ContentBlock::Unknown(value),
        })
    }
}

/// Put `type` back on a block that did not decode, and keep it raw.
fn restore(tag: &'static str) -> impl FnOnce(Value) -> ContentBlock {
    move |mut value| {
        if let Value::Object(map) = &mut value {
            map.insert("type".into(), Value::String(tag.to_owned()));
        }
        ContentBlock::Unknown(value)
    }
}

/// A `POST /v1/messages` response (and the message of `message_start`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `msg_…`.
    #[serde(default)]
    pub id: String,
    /// Always the assistant.
    pub role: Role,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// The answer.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, … (`None`
    /// inside `message_start`).
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence that matched.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token usage.
    #[serde(default)]
    pub usage: Usage,
    /// Fields this crate does not name (`type`, `container`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// The text blocks, concatenated.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(ContentBlock::as_text)
            .collect()
    }
}

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

/// One model of `GET /v1/models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The model id to put in requests.
    pub id: String,
    /// A human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// RFC 3339 release time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Other fields (`type`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A page of models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelPage {
    /// The models, newest first.
    #[serde(default)]
    pub data: Vec<ModelInfo>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// The first id of this page.
    #[serde(default)]
    pub first_id: Option<String>,
    /// The last id (pass it as `after_id` for the next page).
    #[serde(default)]
    pub last_id: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Paging for `GET /v1/models`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListModels {
    /// Page size (the API's default is 20, its maximum 1000).
    pub limit: Option<u32>,
    /// Models after this id.
    pub after_id: Option<String>,
    /// Models before this id.
    pub before_id: Option<String>,
}

impl ListModels {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(limit) = self.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(a) = &self.after_id {
            q.push(("after_id", a.clone()));
        }
        if let Some(b) = &self.before_id {
            q.push(("before_id", b.clone()));
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_serializes_only_what_is_set_and_flattens_extra() {
        let r = MessageRequest::new("m", 10)
            .user("hi")
            .extra("top_k", 3)
            .beta("b1");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"top_k":3})
        );
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let raw = json!({
            "id":"msg_1","type":"message","role":"assistant","model":"m",
            "content":[
                {"type":"text","text":"a","citations":[{"x":1}]},
                {"type":"server_tool_use","id":"s","name":"web_search","input":{}},
                {"type":"tool_use","id":"t","name":"f","input":{"q":1}}
            ],
            "stop_reason":"end_turn","stop_sequence":null,
            "usage":{"input_tokens":1,"output_tokens":2,"service_tier":"standard"},
            "container":{"id":"c"}
        });
        let m: Message = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(m.text(), "a");
        assert!(matches!(&m.content[1], ContentBlock::Unknown(v) if v["name"] == "web_search"));
        assert!(matches!(&m.content[2], ContentBlock::ToolUse(t) if t.input == json!({"q":1})));
        assert_eq!(m.usage.extra["service_tier"], "standard");
        assert_eq!(serde_json::to_value(&m).unwrap(), raw);
    }

    #[test]
    fn events_parse_by_type_and_unknown_ones_stay_raw() {
        let e = StreamEvent::parse(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a"}}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            StreamEvent::ContentBlockDelta {
                index: 1,
                delta: Delta::InputJson("{\"a".into())
            }
        );
        let e = StreamEvent::parse("future_event", r#"{"type":"future_event","x":1}"#).unwrap();
        assert!(matches!(e, StreamEvent::Unknown { event, .. } if event == "future_event"));
        let e = StreamEvent::parse(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"new_delta","v":1}}"#,
        )
        .unwrap();
        assert!(
            matches!(e, StreamEvent::ContentBlockDelta { delta: Delta::Unknown(v), .. } if v["v"] == 1)
        );
        assert!(StreamEvent::parse("message_start", "not json").is_err());
    }

    #[test]
    fn accumulator_assembles_tool_input_and_thinking() {
        let mut acc = MessageAccumulator::new();
        let events = [
            json!({"type":"message_start","message":{"id":"m","role":"assistant","model":"x","content":[],"usage":{"input_tokens":5,"output_tokens":1}}}),
            json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}),
            json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}),
            json!({"type":"content_block_stop","index":0}),
            json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}),
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":"}}),
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"42}"}}),
            json!({"type":"content_block_stop","index":1}),
            json!({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}),
            json!({"type":"message_stop"}),
        ];
        for e in events {
            let kind = e["type"].as_str().unwrap().to_owned();
            acc.push(&StreamEvent::parse(&kind, &e.to_string()).unwrap());
        }
        let m = acc.into_message().unwrap();
        assert!(
            matches!(&m.content[0], ContentBlock::Thinking(t) if t.thinking == "hm" && t.signature == "sig")
        );
        assert!(matches!(&m.content[1], ContentBlock::ToolUse(t) if t.input == json!({"q":42})));
        assert_eq!(m.stop_reason.as_deref(), Some("tool_use"));
        assert_eq!((m.usage.input_tokens, m.usage.output_tokens), (5, 9));
    }
}
