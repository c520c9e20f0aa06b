//! `claude-auth chat`: one prompt to the Messages API, the answer streamed to
//! stdout as it is generated.
//!
//! The prompt is the argument or, when it is absent or `-`, stdin. Text
//! deltas are written and flushed as they arrive; with `--json` the complete
//! message is printed as JSON instead. The credential is the one `status`
//! shows as the winner (refreshed when needed), sent with this tool's own
//! identity. Errors go to stderr: exit 1, or 4 when no credential is usable,
//! the login must be renewed, or the API rejected the credential.

use std::io::{IsTerminal, Read, Write};

use claude_auth::client::{
    ApiError, ClientBuilder, ClientError, MessageRequest, StreamEvent, DEFAULT_MODEL,
};

use crate::commands::{auth_failure, manager, resolver, runtime};
use crate::output::{CommandResult, Failure};
use crate::{GlobalArgs, EXIT_AUTH_REQUIRED};

/// `--max-tokens` unless given.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// Arguments of `chat`.
#[derive(clap::Args, Debug, Clone)]
pub struct ChatArgs {
    /// The prompt (read from stdin when absent or `-`)
    pub prompt: Option<String>,
    /// The model to ask
    #[arg(long, default_value = DEFAULT_MODEL)]
    pub model: String,
    /// The most tokens to generate
    #[arg(long, default_value_t = DEFAULT_MAX_TOKENS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens: u32,
    /// A system prompt
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
}

/// Run `chat`.
pub fn run(global: &GlobalArgs, args: &ChatArgs) -> CommandResult {
    let prompt = read_prompt(args)?;
    let manager = manager(resolver()?, global)?;
    let mut request = MessageRequest::new(args.model.as_str(), args.max_tokens).user(prompt);
    if let Some(system) = &args.system {
        request = request.system(system.as_str());
    }
    runtime()?.block_on(async {
        // The credential first: a missing login fails here, with its advice
        // and exit code, before anything is sent.
        // One resolution: the credential, and where requests go (the rule
        // the proxy uses too).
        let obtained = manager.obtain().await.map_err(auth_failure)?;
        if let Some(warning) = &obtained.warning {
            crate::output::warn(warning);
        }
        let mut builder =
            ClientBuilder::new(manager.clone()).base_url(obtained.provenance.base_url.as_str());
        if let Some(sink) = crate::commands::usage_sink(
            &manager,
            &obtained.provenance,
            obtained.credential.provider(),
            None,
        ) {
            builder = builder.usage(sink);
        }
        let client = builder.build().map_err(client_failure)?;
        let mut stream = client
            .stream_message(&request)
            .await
            .map_err(client_failure)?;
        if global.json {
            let message = stream.final_message().await.map_err(client_failure)?;
            crate::output::print_json(&message)?;
            return Ok(0);
        }
        let mut stdout = std::io::stdout().lock();
        let mut at_line_start = true;
        let mut stop_reason = None;
        while let Some(event) = stream.next_event().await {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    end_line(&mut stdout, at_line_start);
                    return Err(client_failure(e));
                }
            };
            match &event {
                StreamEvent::Error { error } => {
                    end_line(&mut stdout, at_line_start);
                    return Err(client_failure(
                        stream.stream_error(error.kind.clone(), &error.message),
                    ));
                }
                StreamEvent::MessageDelta { delta, .. } if delta.stop_reason.is_some() => {
                    stop_reason.clone_from(&delta.stop_reason);
                }
                _ => {}
            }
            if let Some(text) = event.text_delta() {
                if text.is_empty() {
                    continue;
                }
                // A closed stdout (`| head`) ends the command quietly.
                if stdout
                    .write_all(text.as_bytes())
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return Ok(0);
                }
                at_line_start = text.ends_with('\n');
            }
        }
        end_line(&mut stdout, at_line_start);
        if stop_reason.as_deref() == Some("max_tokens") {
            crate::output::warn(&format!(
                "the answer was cut off at {} tokens; raise --max-tokens for more",
                args.max_tokens
            ));
        }
        Ok(0)
    })
}

/// The prompt from the argument, else stdin.
fn read_prompt(args: &ChatArgs) -> Result<String, Failure> {
    let prompt = match args.prompt.as_deref() {
        Some(p) if p != "-" => p.to_owned(),
        _ => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                crate::output::hint("type the prompt, then press Ctrl-D");
            }
            let mut text = String::new();
            stdin.read_to_string(&mut text).map_err(|e| {
                Failure::error(format!("could not read the prompt from stdin: {e}"))
            })?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    if prompt.trim().is_empty() {
        return Err(Failure::usage(
            "the prompt is empty; give it as an argument or on stdin",
        ));
    }
    Ok(prompt)
}

/// Finish a partly written line so that what follows starts cleanly.
fn end_line(stdout: &mut impl Write, at_line_start: bool) {
    if !at_line_start {
        let _ = writeln!(stdout);
        let _ = stdout.flush();
    }
}

/// A client error as a CLI failure: the credential problems exit 4.
fn client_failure(e: ClientError) -> Failure {
    match e {
        ClientError::Auth(auth) => auth_failure(*auth),
        other => {
            let hint = other.api().and_then(ApiError::hint);
            let code = if other.status() == Some(401) {
                EXIT_AUTH_REQUIRED
            } else {
                1
            };
            let failure = Failure::error(other.to_string()).with_code(code);
            match hint {
                Some(hint) => failure.with_hint(hint),
                None => failure,
            }
        }
    }
}
