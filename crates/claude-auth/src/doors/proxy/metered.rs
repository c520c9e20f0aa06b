//! A relayed response body that feeds the usage ledger as it streams: each
//! data frame goes through a [`UsageTap`] on its way to the client (nothing
//! is held back or buffered beyond the tap's current line), and one ledger
//! row is written when the body ends, or when the client goes away first
//! (the tokens were spent either way).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use crate::budgets::Charge;
use crate::usage::spent::budget_tokens;
use crate::usage::tap::UsageTap;
use crate::usage::writer::UsageSink;

struct Meter {
    tap: UsageTap,
    sink: UsageSink,
    status: u16,
    started: Instant,
    /// The budgets this response counts against, as it streams.
    charge: Option<Charge>,
}

/// A body, metered when a sink is set.
pub(super) struct MeteredBody<B> {
    inner: B,
    meter: Option<Box<Meter>>,
}

impl<B> MeteredBody<B> {
    /// `inner` as is.
    pub(super) fn plain(inner: B) -> Self {
        MeteredBody { inner, meter: None }
    }

    /// `inner`, metered into `sink`.
    pub(super) fn metered(
        inner: B,
        sink: UsageSink,
        content_type: Option<&str>,
        status: u16,
        started: Instant,
        charge: Option<Charge>,
    ) -> Self {
        MeteredBody {
            inner,
            meter: Some(Box::new(Meter {
                tap: UsageTap::for_content_type(content_type),
                sink,
                status,
                started,
                charge,
            })),
        }
    }

    fn finish(&mut self) {
        if let Some(m) = self.meter.take() {
            let Meter {
                tap,
                sink,
                status,
                started,
                charge,
            } = *m;
            let usage = tap.finish();
            let tokens = usage.as_ref().map_or(0, budget_tokens);
            let seq = sink.finished(status, usage, started);
            if let Some(charge) = charge {
                charge.finish(tokens, seq);
            }
        }
    }
}

impl<B> Drop for MeteredBody<B> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl<B> Body for MeteredBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(m), Some(data)) = (self.meter.as_mut(), frame.data_ref()) {
                    m.tap.feed_bytes(data);
                    if let Some(charge) = m.charge.as_mut() {
                        charge.progress(m.tap.budget_tokens());
                    }
                }
                // The last frame: counted before the client has it, so
                // its next request already sees these tokens.
                if self.inner.is_end_stream() {
                    self.finish();
                }
            }
            Poll::Ready(None) => self.finish(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
