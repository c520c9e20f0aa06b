//! Stream an answer to stdout as it is generated.
//!
//! ```sh
//! cargo run -p claude-auth --example streaming -- "Write a haiku about Rust"
//! ```
//!
//! Events are pulled one at a time (`StreamExt::next`): nothing is buffered
//! beyond what the consumer has asked for. Usage and the subscription
//! rate-limit headers, when present, go to stderr at the end.

use std::io::Write;
use std::process::ExitCode;

use claude_auth::client::{
    Client, ClientError, MessageAccumulator, MessageRequest, StreamEvent, DEFAULT_MODEL,
};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> ExitCode {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if prompt.trim().is_empty() {
        eprintln!("usage: streaming PROMPT");
        return ExitCode::from(2);
    }
    match run(prompt).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nerror: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(prompt: String) -> Result<(), ClientError> {
    let client = Client::from_env()?;
    let request = MessageRequest::new(DEFAULT_MODEL, 1024).user(prompt);
    let mut stream = client.stream_message(&request).await?;
    let mut accumulator = MessageAccumulator::new();
    let mut stdout = std::io::stdout();
    while let Some(event) = stream.next().await {
        let event = event?;
        if let StreamEvent::Error { error } = &event {
            return Err(stream.stream_error(error.kind.clone(), &error.message));
        }
        if let Some(text) = event.text_delta() {
            // A closed stdout (`| head`) ends the program quietly.
            if stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return Ok(());
            }
        }
        accumulator.push(&event);
    }
    println!();
    if let Some(message) = accumulator.message() {
        eprintln!(
            "[{} · stop: {} · {} in / {} out tokens]",
            message.model,
            message.stop_reason.as_deref().unwrap_or("?"),
            message.usage.input_tokens,
            message.usage.output_tokens
        );
    }
    let limits = &stream.meta().rate_limits;
    if let (Some(status), Some(five_hour)) = (&limits.status, limits.five_hour_utilization) {
        eprintln!(
            "[rate limit: {status}, 5-hour window {:.0} % used]",
            five_hour * 100.0
        );
    }
    Ok(())
}
