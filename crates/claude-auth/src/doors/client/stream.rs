//! A streamed message: a [`Stream`] of typed events the consumer pulls.
//!
//! Nothing is read ahead: each poll decodes what the connection has
//! delivered and, only when no decoded event is waiting, asks the connection
//! for more. A slow consumer therefore leaves bytes in the socket, and TCP
//! flow control slows the server down — the body is never buffered whole.
//! A stream that delivers no byte for the idle timeout ends with
//! [`ClientError::Timeout`].

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;

use super::error::{ApiError, ClientError};
use super::meta::ResponseMeta;
use super::sse::{SseDecoder, SseEvent};
use super::types::{Message, MessageAccumulator, StreamEvent};
use crate::oauth::token_client::sanitize;
use crate::usage::tap::UsageTap;
use crate::usage::writer::UsageSink;

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The events of one streamed message, in order.
///
/// Pull it with `futures_util::StreamExt::next` or with
/// [`next_event`](Self::next_event); [`final_message`](Self::final_message)
/// drains it into the complete [`Message`].
pub struct MessageStream {
    body: ByteStream,
    decoder: SseDecoder,
    pending: VecDeque<SseEvent>,
    idle: Pin<Box<tokio::time::Sleep>>,
    idle_timeout: Duration,
    meta: ResponseMeta,
    url: String,
    done: bool,
    meter: Option<Meter>,
}

/// Counts a stream's tokens for the usage ledger as its bytes arrive; one
/// row when the stream is dropped (ended or abandoned).
pub(crate) struct Meter {
    tap: UsageTap,
    sink: UsageSink,
    status: u16,
    started: std::time::Instant,
}

impl Meter {
    pub(crate) fn new(
        sink: UsageSink,
        content_type: Option<&str>,
        status: u16,
        started: std::time::Instant,
    ) -> Meter {
        Meter {
            tap: UsageTap::for_content_type(content_type),
            sink,
            status,
            started,
        }
    }
}

impl Drop for MessageStream {
    fn drop(&mut self) {
        if let Some(m) = self.meter.take() {
            m.sink.finished(m.status, m.tap.finish(), m.started);
        }
    }
}

impl std::fmt::Debug for MessageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStream")
            .field("url", &self.url)
            .field("meta", &self.meta)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl MessageStream {
    pub(crate) fn new(
        response: reqwest::Response,
        meta: ResponseMeta,
        url: String,
        idle_timeout: Duration,
        meter: Option<Meter>,
    ) -> Self {
        MessageStream {
            body: Box::pin(response.bytes_stream()),
            decoder: SseDecoder::new(),
            pending: VecDeque::new(),
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            idle_timeout,
            meta,
            url,
            done: false,
            meter,
        }
    }

    /// Status, request id and rate-limit headers of the stream's response.
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// The `request-id` of the stream's response.
    pub fn request_id(&self) -> Option<&str> {
        self.meta.request_id.as_deref()
    }

    /// The next event; `None` when the stream has ended.
    pub async fn next_event(&mut self) -> Option<Result<StreamEvent, ClientError>> {
        futures_util::StreamExt::next(self).await
    }

    /// Read the rest of the stream and return the complete message. An
    /// `error` event becomes [`ClientError::StreamError`].
    pub async fn final_message(mut self) -> Result<Message, ClientError> {
        let mut acc = MessageAccumulator::new();
        while let Some(event) = self.next_event().await {
            let event = event?;
            if let StreamEvent::Error { error } = &event {
                return Err(self.stream_error(error.kind.clone(), &error.message));
            }
            acc.push(&event);
        }
        acc.into_message()
            .ok_or_else(|| ClientError::InvalidResponse {
                url: self.url.clone(),
                message: "the stream ended without a message_start event".into(),
            })
    }

    /// The error for an `error` event of this stream.
    pub fn stream_error(&self, error_type: String, message: &str) -> ClientError {
        ClientError::StreamError(Box::new(ApiError {
            status: self.meta.status,
            error_type: Some(error_type).filter(|t| !t.is_empty()),
            message: sanitize(message),
            request_id: self.meta.request_id.clone(),
            url: self.url.clone(),
            retry_after: None,
            rate_limits: self.meta.rate_limits.clone(),
            attempts: self.meta.attempts,
        }))
    }

    fn decode(&self, event: SseEvent) -> Result<StreamEvent, ClientError> {
        StreamEvent::parse(&event.event, &event.data).map_err(|e| ClientError::InvalidResponse {
            url: self.url.clone(),
            message: format!(
                "the {:?} event does not decode: {}",
                sanitize(&event.event),
                sanitize(&e.to_string())
            ),
        })
    }
}

impl Stream for MessageStream {
    type Item = Result<StreamEvent, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(this.decode(event)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some(m) = this.meter.as_mut() {
                        m.tap.feed(&chunk);
                    }
                    let deadline = tokio::time::Instant::now() + this.idle_timeout;
                    this.idle.as_mut().reset(deadline);
                    if let Err(e) = this.decoder.feed(&chunk, &mut this.pending) {
                        this.done = true;
                        this.pending.clear();
                        return Poll::Ready(Some(Err(ClientError::InvalidResponse {
                            url: this.url.clone(),
                            message: e.to_string(),
                        })));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    let error = if e.is_timeout() {
                        ClientError::Timeout {
                            url: this.url.clone(),
                            after: this.idle_timeout,
                            attempts: this.meta.attempts,
                        }
                    } else {
                        ClientError::Connection {
                            url: this.url.clone(),
                            message: format!("the stream broke: {}", super::describe_transport(&e)),
                            attempts: this.meta.attempts,
                        }
                    };
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    this.decoder.finish(&mut this.pending);
                    this.done = true;
                }
                Poll::Pending => {
                    if this.idle.as_mut().poll(cx).is_ready() {
                        this.done = true;
                        return Poll::Ready(Some(Err(ClientError::Timeout {
                            url: this.url.clone(),
                            after: this.idle_timeout,
                            attempts: this.meta.attempts,
                        })));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
