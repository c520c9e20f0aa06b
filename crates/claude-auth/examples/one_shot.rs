//! One prompt, one answer.
//!
//! ```sh
//! cargo run -p claude-auth --example one_shot -- "Why is the sky blue?"
//! ```
//!
//! The credential, base URL and workspace are whatever `claude-auth status`
//! shows as the winner; an expiring OAuth login is refreshed on the way.

use std::process::ExitCode;

use claude_auth::client::{Client, ClientError, MessageRequest, DEFAULT_MODEL};

#[tokio::main]
async fn main() -> ExitCode {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if prompt.trim().is_empty() {
        eprintln!("usage: one_shot PROMPT");
        return ExitCode::from(2);
    }
    match run(prompt).await {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = e.api().and_then(|api| api.hint()) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(prompt: String) -> Result<String, ClientError> {
    let client = Client::from_env()?;
    let request = MessageRequest::new(DEFAULT_MODEL, 1024).user(prompt);
    let answer = client.create_message(&request).await?;
    Ok(answer.text())
}
