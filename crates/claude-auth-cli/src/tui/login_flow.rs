//! The logins the picker starts, run on a worker thread through the
//! library's flows (Anthropic's PKCE login and profile store, ChatGPT's
//! browser and device-code logins, the API-key checks and stores). What the
//! user types or pastes arrives as [`Secret`]s: a browser login reads them
//! as the paste input the library takes (a pipe), an API-key login checks
//! and stores them. Progress goes back as [`LoginUpdate`]s.

use std::sync::mpsc::Sender;
use std::time::Duration;

use claude_auth::oauth::login::{LoginEvents, LoginRequest};
use claude_auth::oauth::token_client::TokenClient;
use claude_auth::openai::chatgpt;
use claude_auth::openai::login::{
    browser_login, device_login, BrowserEvents, BrowserLogin, DeviceCode, DeviceEvents,
};
use claude_auth::profiles::openai::{check_openai_api_key, OpenaiDestination, OpenaiLogin};
use claude_auth::{Credential, Env, Profiles, Provider, Secret};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};

use super::app::Update;
use super::screens::login::{LoginMethod, LoginUpdate};
use super::worker::providers;
use crate::GlobalArgs;

/// How long a browser login waits.
const TIMEOUT: Duration = Duration::from_secs(300);

struct Events {
    out: Sender<Update>,
    env: Env,
}

impl Events {
    fn send(&self, u: LoginUpdate) {
        let _ = self.out.send(Update::Login(u));
    }
}

impl LoginEvents for Events {
    fn ready(&self, browser_url: &str, manual_url: Option<&str>) {
        self.send(LoginUpdate::Browser {
            url: browser_url.to_owned(),
            manual_url: manual_url.map(str::to_owned),
            opened: claude_auth::oauth::browser::open(browser_url, &self.env),
            listening: true,
        });
    }
    fn ignored(&self, why: &str) {
        self.send(LoginUpdate::Note(format!("ignored {why}")));
    }
    fn exchanging(&self) {
        self.send(LoginUpdate::Exchanging);
    }
}

impl BrowserEvents for Events {
    fn ready(&self, authorize_url: &str, listening: bool) {
        self.send(LoginUpdate::Browser {
            url: authorize_url.to_owned(),
            manual_url: None,
            opened: claude_auth::oauth::browser::open(authorize_url, &self.env),
            listening,
        });
    }
    fn ignored(&self, why: &str) {
        self.send(LoginUpdate::Note(format!("ignored {why}")));
    }
    fn exchanging(&self) {
        self.send(LoginUpdate::Exchanging);
    }
}

impl DeviceEvents for Events {
    fn code(&self, code: &DeviceCode) {
        self.send(LoginUpdate::Device {
            url: code.verification_url.clone(),
            code: code.user_code.clone(),
        });
    }
    fn retrying(&self, why: &str) {
        self.send(LoginUpdate::Note(format!("{why}; trying again")));
    }
}

/// Run `method` to its end; the result is the last update.
pub fn run(
    global: &GlobalArgs,
    method: LoginMethod,
    cancel: watch::Receiver<bool>,
    input: mpsc::UnboundedReceiver<Secret>,
    out: &Sender<Update>,
) -> Update {
    let result = (|| {
        let providers = providers(global)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("could not start the async runtime: {e}"))?;
        let events = Events {
            out: out.clone(),
            env: providers.env().clone(),
        };
        let anthropic = Profiles::new(providers.resolver(&Provider::Anthropic).clone());
        let openai = Profiles::new(providers.resolver(&Provider::Openai).clone());
        rt.block_on(super::actions::cancellable(
            cancel,
            flow(global, method, &anthropic, &openai, &events, input),
        ))
    })();
    Update::Login(LoginUpdate::Finished(result))
}

/// Feed what the user sends into the pipe the library reads pastes from.
async fn feed(mut input: mpsc::UnboundedReceiver<Secret>, mut pipe: tokio::io::DuplexStream) {
    while let Some(s) = input.recv().await {
        let line = format!("{}\n", s.expose().trim());
        let written = pipe.write_all(line.as_bytes()).await;
        drop(Secret::new(line));
        if written.is_err() {
            break;
        }
    }
    std::future::pending::<()>().await;
}

async fn flow(
    global: &GlobalArgs,
    method: LoginMethod,
    anthropic: &Profiles,
    openai: &Profiles,
    events: &Events,
    mut input: mpsc::UnboundedReceiver<Secret>,
) -> Result<String, String> {
    let openai_destination = || -> Result<OpenaiDestination, String> {
        Ok(OpenaiDestination::Profile {
            name: openai
                .openai_target(global.profile.as_deref())
                .map_err(|e| e.to_string())?,
            storage: None,
            fallback: true,
        })
    };
    match method {
        LoginMethod::ClaudeBrowser(preset) => {
            let mut profiles = Profiles::new(anthropic.resolver().clone());
            let presets = profiles
                .resolver()
                .settings()
                .presets()
                .map_err(|e| e.to_string())?;
            let preset = presets.get(&preset).map_err(|e| e.to_string())?.clone();
            let login_to = profiles
                .new_login(global.profile.as_deref())
                .map_err(|e| e.to_string())?;
            let request = LoginRequest {
                preset,
                callback_port: None,
                timeout: TIMEOUT,
            };
            let client = TokenClient::new().map_err(|e| e.to_string())?;
            let (reader, writer) = tokio::io::duplex(16 * 1024);
            let login = profiles.log_in_oauth(
                &login_to,
                &request,
                &client,
                events,
                Some(tokio::io::BufReader::new(reader)),
            );
            let stored = tokio::select! {
                r = login => r.map_err(|e| e.to_string())?,
                () = feed(input, writer) => return Err("internal: the input ended".into()),
            };
            let id = &stored.identity;
            let who = id.email.clone().unwrap_or_else(|| "your account".into());
            Ok(with_notices(
                format!(
                    "Logged in as {who}, profile {} (stored in {})",
                    stored.profile, stored.location
                ),
                stored.notices.iter().map(ToString::to_string),
            ))
        }
        LoginMethod::ChatGptBrowser | LoginMethod::ChatGptDevice => {
            let destination = openai_destination()?;
            let oauth = openai.chatgpt_oauth();
            let login = if method == LoginMethod::ChatGptDevice {
                device_login(&oauth, events, chatgpt::DEVICE_MAX_WAIT)
                    .await
                    .map_err(|e| e.to_string())?
            } else {
                let mut request = BrowserLogin::new(oauth, TIMEOUT);
                request.paste_when_busy = true;
                let (reader, writer) = tokio::io::duplex(16 * 1024);
                let flow = browser_login(&request, events, Some(tokio::io::BufReader::new(reader)));
                tokio::select! {
                    r = flow => r.map_err(|e| e.to_string())?,
                    () = feed(input, writer) => return Err("internal: the input ended".into()),
                }
            };
            let stored = openai
                .store_openai(
                    &destination,
                    global.profile.is_some(),
                    &OpenaiLogin::ChatGpt(Box::new(login)),
                )
                .map_err(|e| e.to_string())?;
            let who = stored
                .identity
                .email
                .clone()
                .unwrap_or_else(|| "your ChatGPT account".into());
            let plan = stored
                .identity
                .subscription_type
                .as_deref()
                .map(|p| format!(" (ChatGPT {p})"))
                .unwrap_or_default();
            Ok(with_notices(
                format!(
                    "Logged in to ChatGPT as {who}{plan}, OpenAI profile {} (stored in {})",
                    stored.profile.as_deref().unwrap_or_default(),
                    stored.location
                ),
                stored.notices.iter().map(ToString::to_string),
            ))
        }
        LoginMethod::AnthropicApiKey | LoginMethod::OpenaiApiKey => loop {
            let Some(value) = input.recv().await else {
                return Err("cancelled".into());
            };
            let key = match Secret::token(value.expose().trim(), "the API key") {
                Ok(k) => k,
                Err(why) => {
                    events.send(LoginUpdate::Note(why));
                    continue;
                }
            };
            let stored = if method == LoginMethod::OpenaiApiKey {
                if let Err(why) = check_openai_api_key(&key) {
                    events.send(LoginUpdate::Note(why));
                    continue;
                }
                openai
                    .store_openai(
                        &openai_destination()?,
                        global.profile.is_some(),
                        &OpenaiLogin::ApiKey(key),
                    )
                    .map(|s| {
                        with_notices(
                            format!(
                                "Stored the OpenAI API key {} for OpenAI profile {} (in {})",
                                s.masked,
                                s.profile.as_deref().unwrap_or_default(),
                                s.location
                            ),
                            s.notices.iter().map(ToString::to_string),
                        )
                    })
            } else {
                let credential = match Credential::from_bare_anthropic_token(key) {
                    Ok(c) => c,
                    Err(why) => {
                        events.send(LoginUpdate::Note(why.to_owned()));
                        continue;
                    }
                };
                let mut profiles = Profiles::new(anthropic.resolver().clone());
                let login = profiles
                    .new_login(global.profile.as_deref())
                    .map_err(|e| e.to_string())?;
                profiles.store(&login, &credential).map(|s| {
                    with_notices(
                        format!(
                            "Stored the {} {} for profile {} (in {})",
                            s.kind.label(),
                            s.masked,
                            s.profile,
                            s.location
                        ),
                        s.notices.iter().map(ToString::to_string),
                    )
                })
            };
            return stored.map_err(|e| e.to_string());
        },
    }
}

fn with_notices(message: String, notices: impl Iterator<Item = String>) -> String {
    let notes: Vec<String> = notices.collect();
    if notes.is_empty() {
        message
    } else {
        format!("{message}; note: {}", notes.join("; "))
    }
}
