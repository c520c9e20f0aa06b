//! The ChatGPT login (PROTOCOL.md "OpenAI"): the browser login with PKCE on
//! the only callback ports the issuer allows (1455, else 1457), the paste
//! flow (the user pastes the URL the browser was sent to, or the code), and
//! the device-code login for machines without a browser. Each ends in the
//! form-encoded code exchange and returns a [`ChatGptLogin`]: the three
//! tokens and who they belong to, as a [`Credential`] (provider `openai`)
//! or as Codex's `auth.json` document.
//!
//! It reuses the hardened loopback callback server
//! ([`crate::oauth::callback`]), the PKCE values ([`crate::oauth::pkce`]),
//! the paste parser of the Claude login and our User-Agent. Every request
//! has a timeout and every response body a size limit; every wait ends
//! (the login's timeout, the device code's 15 minutes). Cancel a login by
//! dropping its future (the CLI races it with Ctrl-C).
//!
//! Like Claude's subscription client, this client is meant for the vendor's
//! own tool (Codex): front ends show a neutral notice ([`TERMS_NOTICE`]).

use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use super::auth_file::{CodexAuth, CodexTokens};
use super::chatgpt::{self, ChatGptOAuth, ExchangedTokens};
use super::claims::CodexIdentity;
use crate::credential::{Credential, Identity, Provider, TokenSet};
use crate::error::Error;
use crate::oauth::callback::{CallbackEvent, CallbackServer};
use crate::oauth::login::{parse_pasted, Pasted};
use crate::oauth::pkce::{constant_time_eq, PkcePair};
use crate::secret::Secret;

mod device;
mod http;

pub use device::{device_login, DeviceCode, DeviceEvents, DEVICE_MIN_INTERVAL};

/// The notice front ends show before a ChatGPT login.
pub const TERMS_NOTICE: &str = "Note: OpenAI's ChatGPT login (the client used here is Codex's) is meant for OpenAI's own tools such as Codex; applications should use API keys (`claude-auth login --with-token --provider openai`). claude-auth identifies itself honestly and does not imitate Codex.";

/// The callback host the issuer expects in the redirect URI.
const CALLBACK_HOST: &str = "localhost";

/// Why a ChatGPT login did not complete (never a secret).
#[derive(Debug, thiserror::Error)]
pub enum ChatGptLoginError {
    /// Nothing arrived in time.
    #[error("no login completed within {0} s; run the command again")]
    Timeout(u64),
    /// Neither callback port could be bound.
    #[error("cannot listen for the login callback: ports {ports} are both in use (the ChatGPT issuer accepts only these); close the program using them (another login in progress?), or log in with --device-code")]
    PortsBusy {
        /// The ports tried, for the message (`1455 and 1457`).
        ports: String,
    },
    /// The issuer (or the user) refused the login.
    #[error("the issuer refused the login: {error}{}", description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        /// `error`.
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
    /// A request could not be sent or answered (network, timeout).
    #[error("could not reach {url}: {message}")]
    Network {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// The issuer answered with an error status.
    #[error("{url} answered HTTP {status}{}", error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Rejected {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The error code or message, sanitised.
        error: Option<String>,
    },
    /// A 2xx answer that is not what the protocol says.
    #[error("{url} answered with something unexpected: {message}")]
    BadResponse {
        /// The URL.
        url: String,
        /// What is wrong (never the body).
        message: String,
    },
    /// Setup failed (the random number generator, the callback server).
    #[error(transparent)]
    Setup(#[from] Error),
}

/// A completed ChatGPT login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatGptLogin {
    /// The tokens, with `account_id` from the id token.
    pub tokens: CodexTokens,
    /// Email, account, plan and expiry from the tokens' claims.
    pub identity: CodexIdentity,
    /// The client the tokens were issued to.
    pub client_id: String,
}

impl ChatGptLogin {
    /// The login from a code exchange's tokens.
    pub fn from_exchange(tokens: ExchangedTokens, client_id: &str) -> ChatGptLogin {
        let mut codex = CodexTokens::new(
            tokens.id_token,
            tokens.access_token,
            tokens.refresh_token,
            None,
        );
        let identity = CodexIdentity::from_tokens(&codex);
        codex.account_id = identity.account_id.clone();
        ChatGptLogin {
            tokens: codex,
            identity,
            client_id: client_id.to_owned(),
        }
    }

    /// The login as a credential: an OAuth token set of provider `openai`
    /// (expiry from the access token's `exp`; email, account and plan in
    /// the identity, as OPENAI.md item 3 says).
    pub fn credential(&self) -> Credential {
        let id = &self.identity;
        Credential::OAuth(TokenSet {
            access_token: self.tokens.access_token.clone(),
            refresh_token: Some(self.tokens.refresh_token.clone()),
            expires_at: id.expires_at,
            scopes: chatgpt::SCOPE.split(' ').map(str::to_owned).collect(),
            identity: Identity {
                email: id.email.clone(),
                account_uuid: id.account_id.clone(),
                subscription_type: id.plan_type.clone(),
                ..Identity::default()
            },
            provider: Provider::Openai,
            client_id: Some(self.client_id.clone()),
            id_token: Some(self.tokens.id_token.clone()),
        })
    }

    /// The login as Codex's `auth.json` document (`auth_mode` chatgpt,
    /// `last_refresh` now).
    pub fn codex_auth(&self, now: u64) -> CodexAuth {
        CodexAuth::chatgpt(self.tokens.clone(), now)
    }
}

/// What the browser login needs.
#[derive(Clone, Debug)]
pub struct BrowserLogin {
    /// The client and its issuer.
    pub oauth: ChatGptOAuth,
    /// The callback ports to try, in order ([`chatgpt::REDIRECT_PORTS`]).
    pub ports: Vec<u16>,
    /// Give up after this long.
    pub timeout: Duration,
    /// With every port busy, go on with the paste flow alone (when a paste
    /// input is given) instead of failing with
    /// [`ChatGptLoginError::PortsBusy`].
    pub paste_when_busy: bool,
}

impl BrowserLogin {
    /// Codex's client at `oauth`'s issuer, the issuer's ports, `timeout`.
    pub fn new(oauth: ChatGptOAuth, timeout: Duration) -> BrowserLogin {
        BrowserLogin {
            oauth,
            ports: chatgpt::REDIRECT_PORTS.to_vec(),
            timeout,
            paste_when_busy: false,
        }
    }
}

/// Progress the caller may show during a browser login.
pub trait BrowserEvents: Send + Sync {
    /// The URL to open; `listening` is false when no callback port could
    /// be bound and only a paste can complete the login.
    fn ready(&self, authorize_url: &str, listening: bool);
    /// Something arrived that was ignored (wrong state, bad paste); why.
    fn ignored(&self, why: &str);
    /// The code arrived; exchanging it.
    fn exchanging(&self);
}

/// The authorize URL for `redirect_uri`: OAuth's and PKCE's parameters,
/// the scope, and the issuer's extra parameters.
pub fn authorize_url(oauth: &ChatGptOAuth, pkce: &PkcePair, redirect_uri: &str) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    pairs
        .append_pair("response_type", "code")
        .append_pair("client_id", &oauth.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", chatgpt::SCOPE)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256");
    for (k, v) in chatgpt::EXTRA_AUTHORIZE_PARAMS {
        pairs.append_pair(k, v);
    }
    pairs.append_pair("state", pkce.state.expose());
    format!("{}?{}", oauth.authorize_url(), pairs.finish())
}

/// Bind the first free port of `ports`.
async fn listen(
    ports: &[u16],
    state: &Secret,
) -> Result<Option<CallbackServer>, ChatGptLoginError> {
    for &port in ports {
        match CallbackServer::start(
            CALLBACK_HOST,
            chatgpt::REDIRECT_PATH,
            Some(port),
            state.clone(),
        )
        .await
        {
            Ok(server) => return Ok(Some(server)),
            Err(e) => tracing::debug!(port, error = %e, "login callback port unavailable"),
        }
    }
    Ok(None)
}

fn ports_text(ports: &[u16]) -> String {
    let names: Vec<String> = ports.iter().map(u16::to_string).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// The largest pasted line read.
const MAX_PASTE: u64 = 8 * 1024;

async fn next_line<R: AsyncBufRead + Unpin>(reader: &mut Option<R>) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let Some(r) = reader else {
        return std::future::pending().await;
    };
    let mut line = String::new();
    match r.take(MAX_PASTE).read_line(&mut line).await {
        Ok(0) | Err(_) => {
            // EOF: stop reading, keep waiting for the callback.
            *reader = None;
            std::future::pending().await
        }
        Ok(_) => Some(line),
    }
}

async fn next_event(server: &mut Option<CallbackServer>) -> Option<CallbackEvent> {
    match server {
        Some(s) => s.next_event().await,
        None => std::future::pending().await,
    }
}

/// The browser login. The callback listens on the first free port of
/// `request.ports`; `paste` (stdin for the CLI; `None` disables it) may
/// carry the redirected URL or the code instead. With every port busy the
/// login fails with [`ChatGptLoginError::PortsBusy`], unless
/// [`BrowserLogin::paste_when_busy`] is set and a paste input is given: then
/// only a paste can complete it (the redirect URI names the first port).
pub async fn browser_login<R: AsyncBufRead + Unpin>(
    request: &BrowserLogin,
    events: &dyn BrowserEvents,
    mut paste: Option<R>,
) -> Result<ChatGptLogin, ChatGptLoginError> {
    let pkce = PkcePair::generate()?;
    let mut server = listen(&request.ports, &pkce.state).await?;
    let redirect_uri = match (&server, request.paste_when_busy && paste.is_some()) {
        (Some(s), _) => chatgpt::redirect_uri(s.port),
        (None, true) => chatgpt::redirect_uri(request.ports.first().copied().unwrap_or(1455)),
        (None, false) => {
            return Err(ChatGptLoginError::PortsBusy {
                ports: ports_text(&request.ports),
            })
        }
    };
    events.ready(
        &authorize_url(&request.oauth, &pkce, &redirect_uri),
        server.is_some(),
    );
    let deadline = tokio::time::sleep(request.timeout);
    tokio::pin!(deadline);
    let code = loop {
        tokio::select! {
            () = &mut deadline => return Err(ChatGptLoginError::Timeout(request.timeout.as_secs())),
            event = next_event(&mut server) => match event {
                Some(CallbackEvent::Code(code)) => break code,
                Some(CallbackEvent::Denied { error, description }) => {
                    return Err(ChatGptLoginError::Denied { error, description })
                }
                Some(CallbackEvent::Ignored(why)) => events.ignored(&why),
                None => return Err(Error::Unsupported("the callback server stopped".into()).into()),
            },
            line = next_line(&mut paste) => {
                let Some(line) = line else { continue };
                match parse_pasted(&line) {
                    Ok(Pasted::Denied { error, description }) => {
                        return Err(ChatGptLoginError::Denied {
                            error: crate::redact::sanitize(&error),
                            description: description.map(|d| crate::redact::sanitize(&d)),
                        })
                    }
                    Ok(Pasted::Code { code, state, .. }) => {
                        if let Some(state) = &state {
                            if !constant_time_eq(state, pkce.state.expose()) {
                                events.ignored("the pasted code belongs to another login (wrong state); paste the URL from this login");
                                continue;
                            }
                        }
                        break code;
                    }
                    Err(why) => events.ignored(&format!("could not read the pasted text: {why}")),
                }
            }
        }
    };
    // One valid code: close the listener before exchanging.
    drop(server);
    events.exchanging();
    exchange_code(&request.oauth, &code, &redirect_uri, &pkce.verifier).await
}

/// The form-encoded code exchange; one attempt (a code is single use).
pub async fn exchange_code(
    oauth: &ChatGptOAuth,
    code: &Secret,
    redirect_uri: &str,
    verifier: &Secret,
) -> Result<ChatGptLogin, ChatGptLoginError> {
    let url = oauth.token_url();
    let body = oauth.code_exchange_form(code, redirect_uri, verifier);
    let secrets = [code, verifier];
    let answer = http::post(&url, http::FORM, &body, &secrets).await?;
    if !(200..300).contains(&answer.status) {
        return Err(answer.rejected(&url, &secrets));
    }
    let tokens = ExchangedTokens::from_response(&answer.body).map_err(|e| {
        ChatGptLoginError::BadResponse {
            url: url.clone(),
            message: e.to_string(),
        }
    })?;
    Ok(ChatGptLogin::from_exchange(tokens, &oauth.client_id))
}

/// Revoke a ChatGPT login's refresh token, as Codex 0.171.0 does on
/// `codex logout` before deleting its login: `POST {issuer}/oauth/revoke`
/// with [`ChatGptOAuth::revoke_body`] (an endpoint observed in Codex's
/// traffic, not documented by the issuer; see [`chatgpt::REVOKE_PATH`]).
/// One attempt; any 2xx answer is success.
pub async fn revoke(oauth: &ChatGptOAuth, refresh_token: &Secret) -> Result<(), ChatGptLoginError> {
    let url = oauth.revoke_url();
    let body = oauth.revoke_body(refresh_token);
    let secrets = [refresh_token];
    let answer = http::post(&url, http::JSON, &body, &secrets).await?;
    if !(200..300).contains(&answer.status) {
        return Err(answer.rejected(&url, &secrets));
    }
    Ok(())
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
