//! Request and response types of the Messages and Models APIs.
//!
//! Typed where it helps (model, tokens, messages, the content blocks and
//! stream events everybody matches on) and open everywhere else: requests
//! carry an `extra` map flattened into the body for parameters this crate
//! does not name yet, and responses keep every field they do not know in
//! their own `extra` map, so nothing the API adds is lost on a round trip.
//! Unknown content blocks, deltas and stream events are kept as raw JSON.

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

pub use super::events::{
    Delta, ErrorBody, MessageAccumulator, MessageDeltaBody, StreamEvent, UsageDelta,
};
pub use super::models::{ListModels, ModelInfo, ModelPage};

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;
