//! Many prompts, a bounded number in flight at once.
//!
//! ```sh
//! cargo run -p claude-auth --example batch -- "Capital of France?" "Capital of Peru?" "2+2?"
//! ```
//!
//! One `Client` (one connection pool, one `AuthManager`) is shared by every
//! request; `buffer_unordered` keeps at most `CONCURRENCY` of them running.
//! If the OAuth login needs refreshing, the manager refreshes it once for all
//! of them. Answers print as they complete, each with its prompt's number.

use std::process::ExitCode;

use claude_auth::client::{Client, MessageRequest, DEFAULT_MODEL};
use futures_util::StreamExt;

/// Requests in flight at once.
const CONCURRENCY: usize = 4;

#[tokio::main]
async fn main() -> ExitCode {
    let prompts: Vec<String> = std::env::args().skip(1).collect();
    if prompts.is_empty() {
        eprintln!("usage: batch PROMPT [PROMPT...]");
        return ExitCode::from(2);
    }
    let client = match Client::from_env() {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut answers = futures_util::stream::iter(prompts.into_iter().enumerate())
        .map(|(n, prompt)| {
            let client = client.clone();
            async move {
                let request = MessageRequest::new(DEFAULT_MODEL, 512).user(prompt);
                (n, client.create_message(&request).await)
            }
        })
        .buffer_unordered(CONCURRENCY);
    let mut failures = 0;
    while let Some((n, result)) = answers.next().await {
        match result {
            Ok(answer) => println!("[{}] {}", n + 1, answer.text().trim()),
            Err(e) => {
                failures += 1;
                eprintln!("[{}] error: {e}", n + 1);
            }
        }
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
