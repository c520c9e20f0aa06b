//! The login flow: PKCE, the loopback callback racing a pasted code, the
//! code exchange.
//!
//! The browser opens the loopback URL; the manual URL (the provider's "paste
//! the code" page, when it has one) is offered for machines whose browser
//! cannot reach this one (SSH). Whatever arrives first wins: a callback, or a
//! line on the paste input holding `code#state`, the full redirect URL, or a
//! bare code. The code is exchanged with the redirect URI its authorize
//! request used.

use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::config::provider::ProviderPreset;
use crate::credential::TokenSet;
use crate::error::Error;
use crate::oauth::authorize::authorize_url;
use crate::oauth::callback::{CallbackEvent, CallbackServer};
use crate::oauth::pkce::{constant_time_eq, PkcePair};
use crate::oauth::token_client::{Endpoint, Grant, OAuthError, TokenClient};
use crate::secret::Secret;

/// What the flow needs.
#[derive(Clone, Debug)]
pub struct LoginRequest {
    /// The provider.
    pub preset: ProviderPreset,
    /// A fixed callback port (SSH forwarding); OS-assigned otherwise.
    pub callback_port: Option<u16>,
    /// Give up after this long.
    pub timeout: Duration,
}

/// Progress the caller may show.
pub trait LoginEvents: Send + Sync {
    /// The callback is listening; the URLs to open.
    fn ready(&self, browser_url: &str, manual_url: Option<&str>);
    /// Something arrived that was ignored (wrong state, bad paste); why.
    fn ignored(&self, why: &str);
    /// The code arrived; exchanging it.
    fn exchanging(&self);
}

/// Why a login did not complete.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Nothing arrived in time.
    #[error("no login completed within {0} s; run the command again (use --no-browser and paste the code on machines without a browser)")]
    Timeout(u64),
    /// Cancelled (Ctrl-C).
    #[error("login cancelled")]
    Cancelled,
    /// The provider reported an error.
    #[error("the provider refused the login: {error}{}", description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        /// `error`.
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
    /// The code exchange failed.
    #[error("exchanging the code failed: {0}")]
    Exchange(#[from] OAuthError),
    /// Setup failed (no port, bad preset).
    #[error(transparent)]
    Setup(#[from] Error),
}

/// A parsed paste.
#[derive(Debug, PartialEq, Eq)]
pub enum Pasted {
    /// A code, with the state and redirect URI when the paste carried them.
    Code {
        /// The code (a secret: with the verifier it buys the tokens).
        code: Secret,
        /// `#state` or `state=` when given.
        state: Option<String>,
        /// The redirect URI, when a full URL was pasted.
        redirect_uri: Option<String>,
    },
    /// A pasted redirect URL that carries an error.
    Denied {
        /// `error`.
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
}

/// Parse a pasted line: `code#state`, a full redirect URL, or a bare code.
pub fn parse_pasted(line: &str) -> Result<Pasted, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err("empty input".into());
    }
    if line.starts_with("http://") || line.starts_with("https://") {
        let url = url::Url::parse(line).map_err(|_| "that is not a valid URL".to_owned())?;
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        if let Some(error) = get("error") {
            return Ok(Pasted::Denied {
                error,
                description: get("error_description"),
            });
        }
        let code = get("code").ok_or("the URL has no code= parameter")?;
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        return Ok(Pasted::Code {
            code: Secret::new(code),
            state: get("state"),
            redirect_uri: Some(base.to_string()),
        });
    }
    if line.chars().any(char::is_whitespace) {
        return Err("a code has no spaces; paste code#state, the redirect URL, or the code".into());
    }
    match line.split_once('#') {
        Some((code, state)) if !code.is_empty() => Ok(Pasted::Code {
            code: Secret::new(code),
            state: Some(state.to_owned()),
            redirect_uri: None,
        }),
        Some(_) => Err("nothing before '#'".into()),
        None => Ok(Pasted::Code {
            code: Secret::new(line),
            state: None,
            redirect_uri: None,
        }),
    }
}

async fn next_line<R: AsyncBufRead + Unpin>(reader: &mut Option<R>) -> Option<String> {
    match reader {
        Some(r) => {
            let mut line = String::new();
            match r.read_line(&mut line).await {
                Ok(0) | Err(_) => {
                    // EOF: stop reading, keep waiting for the callback.
                    *reader = None;
                    std::future::pending().await
                }
                Ok(_) => Some(line),
            }
        }
        None => std::future::pending().await,
    }
}

/// Only the first ignored callback is reported as it comes; the rest are
/// counted and summed up here, once.
fn summarise_ignored(server: &CallbackServer, events: &dyn LoginEvents) {
    let n = server.ignored();
    if n > 1 {
        events.ignored(&format!(
            "{n} callback requests in all (wrong state or no code); only the first was shown"
        ));
    }
}

/// Run the flow. `paste` is where pasted codes come from (stdin for the
/// CLI; `None` disables the paste flow). Returns the token set.
pub async fn login<R: AsyncBufRead + Unpin>(
    request: &LoginRequest,
    client: &TokenClient,
    events: &dyn LoginEvents,
    mut paste: Option<R>,
) -> Result<TokenSet, LoginError> {
    let preset = &request.preset;
    let pkce = PkcePair::generate()?;
    let mut server = CallbackServer::start(
        &preset.redirect_host,
        &preset.redirect_path,
        request.callback_port,
        pkce.state.clone(),
    )
    .await?;
    let loopback_uri = server.redirect_uri.clone();
    let browser_url = authorize_url(preset, &pkce, &loopback_uri)?;
    let manual_url = match &preset.manual_redirect_url {
        Some(m) => Some(authorize_url(preset, &pkce, m)?),
        None => None,
    };
    events.ready(&browser_url, manual_url.as_deref());

    let deadline = tokio::time::sleep(request.timeout);
    tokio::pin!(deadline);
    let (code, redirect_uri) = loop {
        tokio::select! {
            () = &mut deadline => {
                summarise_ignored(&server, events);
                return Err(LoginError::Timeout(request.timeout.as_secs()));
            }
            _ = tokio::signal::ctrl_c() => return Err(LoginError::Cancelled),
            event = server.next_event() => match event {
                Some(CallbackEvent::Code(code)) => break (code, loopback_uri.clone()),
                Some(CallbackEvent::Denied { error, description }) => return Err(LoginError::Denied { error, description }),
                Some(CallbackEvent::Ignored(why)) => events.ignored(&why),
                None => return Err(LoginError::Setup(Error::Unsupported("the callback server stopped".into()))),
            },
            line = next_line(&mut paste) => {
                let Some(line) = line else { continue };
                match parse_pasted(&line) {
                    Ok(Pasted::Denied { error, description }) => return Err(LoginError::Denied { error, description }),
                    Ok(Pasted::Code { code, state, redirect_uri }) => {
                        if let Some(state) = &state {
                            if !constant_time_eq(state, pkce.state.expose()) {
                                events.ignored("the pasted code belongs to another login (wrong state); paste the code from this login");
                                continue;
                            }
                        }
                        let redirect = redirect_uri
                            .or_else(|| preset.manual_redirect_url.clone())
                            .unwrap_or_else(|| loopback_uri.clone());
                        break (code, redirect);
                    }
                    Err(why) => events.ignored(&format!("could not read the pasted text: {why}")),
                }
            }
        }
    };
    // Exactly one valid callback: close the listener before exchanging.
    summarise_ignored(&server, events);
    drop(server);
    events.exchanging();
    let endpoint = Endpoint {
        url: preset.token_url.clone(),
        encoding: preset.code_encoding,
        client_id: Some(preset.client_id.clone()),
        client_secret: preset.client_secret.clone(),
        headers: preset.token_headers.clone(),
    };
    let grant = Grant::AuthorizationCode {
        code,
        redirect_uri,
        verifier: pkce.verifier.clone(),
        state: preset.send_state_in_exchange.then(|| pkce.state.clone()),
        expires_in: preset.exchange_expires_in,
    };
    let response = client.request(&endpoint, &grant).await?;
    Ok(response.into_token_set(
        preset.provider.clone(),
        Some(preset.client_id.clone()),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_forms() {
        assert_eq!(
            parse_pasted("abc#st\n").unwrap(),
            Pasted::Code {
                code: Secret::new("abc"),
                state: Some("st".into()),
                redirect_uri: None
            }
        );
        assert_eq!(
            parse_pasted("abc").unwrap(),
            Pasted::Code {
                code: Secret::new("abc"),
                state: None,
                redirect_uri: None
            }
        );
        assert_eq!(
            parse_pasted("http://localhost:4242/callback?code=c1&state=s1").unwrap(),
            Pasted::Code {
                code: Secret::new("c1"),
                state: Some("s1".into()),
                redirect_uri: Some("http://localhost:4242/callback".into())
            }
        );
        assert!(matches!(
            parse_pasted("http://127.0.0.1:1/callback?error=access_denied&state=x").unwrap(),
            Pasted::Denied { .. }
        ));
        assert!(parse_pasted("").is_err());
        assert!(parse_pasted("two words").is_err());
        assert!(parse_pasted("#state").is_err());
    }
}
