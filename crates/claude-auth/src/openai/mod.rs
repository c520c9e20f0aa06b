//! OpenAI as a second provider: the library foundations of Codex's logins.
//!
//! People who run coding agents have a Codex login beside their Claude one,
//! and Codex's own refresh logs them out when several processes share one
//! `auth.json` ("refresh token was already used"). This module holds what
//! reading, refreshing and writing Codex's credentials needs, as pure,
//! tested parts (PROTOCOL.md, section "OpenAI"):
//!
//! - [`home`]: `$CODEX_HOME` and its files (`auth.json`, `config.toml`, the
//!   lock files), and the account name of Codex's keyring entry.
//! - [`auth_file`]: `auth.json` as a typed document that keeps every key it
//!   does not own, read and written through [`crate::secure_file`].
//! - [`claims`]: the id and access tokens' JWT claims, for display only
//!   (email, plan, account, expiry; no signature check).
//! - [`chatgpt`]: the ChatGPT OAuth client's facts as data, the request
//!   bodies, the token responses, and the refresh errors as a reason enum.
//!
//! Nothing here is wired into the resolution chain, the manager or the CLI
//! yet: those come next (issue 10).
//!
//! TODO(issue 10): Codex's lock files (`auth.lock`, `auth.json.lock` in
//! `$CODEX_HOME`) are named in [`home`], but how Codex takes them (flock,
//! lock-file creation, which one guards what, timeouts) is not stated in
//! PROTOCOL.md, which says Codex "takes no lock across processes". Confirm
//! the protocol from the Codex version we pin before taking them.
//!
//! Reading a Codex login and printing its plan, account and expiry:
//!
//! ```no_run
//! use claude_auth::openai::{auth_file::CodexAuthFile, claims::CodexIdentity, home};
//! use claude_auth::Env;
//!
//! let codex_home = home::codex_home(&Env::from_process());
//! let file = CodexAuthFile::new(home::auth_json_path(&codex_home));
//! match file.load()? {
//!     None => println!("no Codex login at {}", file.path().display()),
//!     Some(auth) => match auth.tokens() {
//!         None => println!("Codex uses an API key: {}", auth.api_key().is_some()),
//!         Some(tokens) => {
//!             let who = CodexIdentity::from_tokens(tokens);
//!             println!("plan {:?}, account {:?}, email {:?}", who.plan_type, who.account_id, who.email);
//!             println!("access token expires at {:?} (Unix seconds)", who.expires_at);
//!         }
//!     },
//! }
//! # Ok::<(), claude_auth::Error>(())
//! ```

pub mod auth_file;
pub mod chatgpt;
pub mod claims;
pub mod home;
