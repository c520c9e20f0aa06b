//! OpenAI as a second provider: the library foundations of Codex's logins.
//!
//! People who run coding agents have a Codex login beside their Claude one,
//! and Codex's own refresh logs them out when several processes share one
//! `auth.json` ("refresh token was already used"). This module holds what
//! reading, refreshing and writing Codex's credentials needs, as pure,
//! tested parts (PROTOCOL.md, section "OpenAI"):
//!
//! - [`home`]: `$CODEX_HOME` and its files (`auth.json`, `config.toml`, the
//!   lock files), whether `config.toml` puts the login in the keyring, and
//!   the account name of Codex's keyring entry.
//! - [`auth_file`]: `auth.json` as a typed document that keeps every key it
//!   does not own, read and written through [`crate::secure_file`].
//! - [`codex_lock`]: Codex's two lock files (`auth.lock`, then
//!   `auth.json.lock`), taken as Codex takes them around its writes.
//! - [`claims`]: the id and access tokens' JWT claims, for display only
//!   (email, plan, account, expiry; no signature check).
//! - [`chatgpt`]: the ChatGPT OAuth client's facts as data, the request
//!   bodies, the token responses, when a refresh is due, and the refresh
//!   errors as a reason enum.
//!
//! The OpenAI chain that uses these (`source::Resolver::for_provider`), and
//! the engine's ChatGPT refresh under Codex's own locks (`auth.lock` held
//! across re-read → refresh → write, `auth.json.lock` around the write, as
//! Codex 0.171.0 takes them: flock, measured with strace), live in
//! [`crate::source`] and [`crate::engine`].
//!
//! Reading a Codex login and printing its plan, account and expiry
//! (read-only: nothing is written, nothing is sent):
//!
//! ```
//! use claude_auth::openai::auth_file::CodexAuthFile;
//! use claude_auth::openai::{chatgpt, claims::CodexIdentity, home};
//! use claude_auth::Env;
//! # use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
//! # let dir = tempfile::tempdir()?;
//! # let jwt = |claims: serde_json::Value| format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims.to_string()));
//! # let id_token = jwt(serde_json::json!({"email": "me@example.com",
//! #     "https://api.openai.com/auth": {"chatgpt_plan_type": "plus", "chatgpt_account_id": "acct-1"}}));
//! # let access_token = jwt(serde_json::json!({"exp": 1_900_000_000u64}));
//! # let doc = serde_json::json!({"OPENAI_API_KEY": null, "tokens": {"id_token": id_token,
//! #     "access_token": access_token, "refresh_token": "rt-0123456789", "account_id": "acct-1"}});
//! # claude_auth::secure_file::write_atomic_strict(&dir.path().join("auth.json"), doc.to_string().as_bytes(), 0o600)?;
//! # let env = Env::empty().with("CODEX_HOME", dir.path().to_string_lossy());
//! // let env = Env::from_process();
//! let codex_home = home::codex_home(&env);
//! let file = CodexAuthFile::new(home::auth_json_path(&codex_home));
//! match file.load()? {
//!     None => println!("no Codex login at {}", file.path().display()),
//!     Some(auth) => match auth.tokens() {
//!         None => println!("Codex uses an API key: {}", auth.api_key().is_some()),
//!         Some(tokens) => {
//!             let who = CodexIdentity::from_tokens(tokens);
//!             let plan = who.plan_type.as_deref().unwrap_or("unknown");
//!             let account = who.account_id.as_deref().unwrap_or("unknown");
//!             println!("ChatGPT {plan}, account {account}, expires at {:?}", who.expires_at);
//!             println!("refresh due now: {}", chatgpt::refresh_due(&auth, claude_auth::credential::now_unix()));
//! #           assert_eq!((plan, account, who.expires_at), ("plus", "acct-1", Some(1_900_000_000)));
//!         }
//!     },
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod auth_file;
pub mod chatgpt;
pub mod claims;
pub mod codex_lock;
pub mod home;
pub mod login;
