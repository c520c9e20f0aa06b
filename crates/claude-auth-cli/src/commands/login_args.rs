//! `claude-auth login`'s options, shared by the two ways of logging in
//! (`login` for a token on stdin, `oauth_login` for the browser flow), so
//! neither command module imports the other.

use clap::{Args, ValueEnum};

use claude_auth::store::StorageKind;

use crate::output::Failure;
use crate::parse_storage;

/// What a pasted token is, when its prefix does not say.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TokenType {
    /// An API key (sent as x-api-key)
    ApiKey,
    /// An OAuth access token (Bearer + the OAuth beta header)
    Oauth,
    /// A plain bearer token (gateways)
    Bearer,
}

/// `login` options.
#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Read a token or API key from stdin (one line)
    #[arg(long)]
    pub with_token: bool,
    /// Where to store it: file, keyring or encrypted-file (default: the profile's setting)
    #[arg(long, value_parser = parse_storage, value_name = "STORAGE")]
    pub storage: Option<StorageKind>,
    /// The token's type when its prefix does not tell
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: Option<TokenType>,
    /// Fail instead of falling back to a file when the keyring is unavailable
    #[arg(long)]
    pub no_fallback: bool,
    /// OAuth provider preset: console (Developer Platform, default), claude, claude-long-lived, or a custom one from the settings; chatgpt (or openai) for OpenAI: the ChatGPT login, or with --with-token an OpenAI API key
    #[arg(long, value_name = "ID")]
    pub provider: Option<String>,
    /// Do not open a browser; print the URL and wait for the callback or a pasted code (SSH)
    #[arg(long, alias = "paste")]
    pub no_browser: bool,
    /// ChatGPT login without a browser on this machine: show a code to enter on another device
    #[arg(long)]
    pub device_code: bool,
    /// Store the OpenAI login as Codex's own (its auth.json, or its keyring entry when Codex's config.toml says so)
    #[arg(long)]
    pub codex: bool,
    /// Listen for the callback on this port (for SSH port forwarding) instead of an OS-assigned one
    #[arg(long, value_name = "PORT")]
    pub callback_port: Option<u16>,
    /// Give up after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
    /// (refused: secrets are never accepted as arguments)
    #[arg(hide = true, value_name = "SECRET")]
    pub secret_arg: Option<String>,
    /// (refused: secrets are never accepted as arguments)
    #[arg(long = "token", hide = true, value_name = "SECRET")]
    pub token_flag: Option<String>,
    /// (refused: secrets are never accepted as arguments)
    #[arg(long = "api-key", hide = true, value_name = "SECRET")]
    pub api_key_flag: Option<String>,
}

impl LoginArgs {
    /// Refuse a secret given on the command line (it would end up in shell
    /// history and `ps`), without echoing it.
    pub fn refuse_secret_arguments(&self) -> Result<(), Failure> {
        if self.secret_arg.is_some() || self.token_flag.is_some() || self.api_key_flag.is_some() {
            return Err(Failure::usage(
                "secrets are never accepted as command-line arguments (they end up in shell history and `ps`)",
            )
            .with_hint("pipe it on stdin instead: `claude-auth login --with-token < token.txt`"));
        }
        Ok(())
    }
}
