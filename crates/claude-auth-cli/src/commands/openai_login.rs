//! `claude-auth login --provider chatgpt|openai` and `logout --provider
//! openai`: the ChatGPT login (browser, paste, `--device-code`), an OpenAI
//! API key from stdin (`--with-token`), stored in an OpenAI profile or, with
//! `--codex`, as Codex's own login. The flows and the storage policy are the
//! library's ([`claude_auth::openai::login`], [`claude_auth::profiles`]);
//! this module parses, shows progress and prints the outcome.

use std::io::IsTerminal;
use std::time::Duration;

use claude_auth::openai::chatgpt;
use claude_auth::openai::login::{
    browser_login, device_login, BrowserEvents, BrowserLogin, ChatGptLogin, ChatGptLoginError,
    DeviceCode, DeviceEvents, TERMS_NOTICE,
};
use claude_auth::profiles::openai::{
    check_openai_api_key, OpenaiDestination, OpenaiLogin, StoredOpenaiLogin,
};
use claude_auth::profiles::LoginNotice;
use claude_auth::{Env, Profiles};

use crate::commands::login::read_secret_from_stdin;
use crate::commands::login_args::LoginArgs;
use crate::commands::{profiles, runtime};
use crate::output::{success, warn, CommandResult, Failure, Style};
use crate::GlobalArgs;

/// Whether `--provider` names OpenAI for `login` (`openai`, or `chatgpt`).
pub fn is_openai(provider: Option<&str>) -> bool {
    matches!(provider, Some("openai" | "chatgpt"))
}

fn usage_errors(global: &GlobalArgs, args: &LoginArgs) -> Result<(), Failure> {
    if args.codex && args.storage.is_some() {
        return Err(Failure::usage(
            "--codex and --storage exclude each other: --codex writes Codex's own login (its auth.json, or its keyring entry when its config.toml says so)",
        ));
    }
    if args.codex && global.profile.is_some() {
        return Err(Failure::usage(
            "--codex and --profile exclude each other: Codex has one login per CODEX_HOME",
        ));
    }
    if args.kind.is_some() {
        return Err(Failure::usage(
            "--type is for Anthropic tokens; an OpenAI token on stdin is always an API key",
        ));
    }
    if args.with_token && (args.device_code || args.no_browser) {
        return Err(Failure::usage(
            "--with-token reads an API key from stdin; --device-code and --no-browser are for the ChatGPT login",
        ));
    }
    if let Some(port) = args.callback_port {
        if !chatgpt::REDIRECT_PORTS.contains(&port) {
            return Err(Failure::usage(format!(
                "--callback-port {port}: the ChatGPT issuer accepts only ports 1455 and 1457"
            )));
        }
    }
    Ok(())
}

fn destination(
    profiles: &Profiles,
    global: &GlobalArgs,
    args: &LoginArgs,
) -> Result<OpenaiDestination, Failure> {
    if args.codex {
        return Ok(OpenaiDestination::Codex);
    }
    Ok(OpenaiDestination::Profile {
        name: profiles.openai_target(global.profile.as_deref())?,
        storage: args.storage,
        fallback: !args.no_fallback,
    })
}

/// Run `login` for OpenAI.
pub fn run(global: &GlobalArgs, args: &LoginArgs) -> CommandResult {
    usage_errors(global, args)?;
    let profiles = profiles()?;
    let destination = destination(&profiles, global, args)?;
    let login = if args.with_token {
        let key = read_secret_from_stdin()?;
        check_openai_api_key(&key).map_err(Failure::usage)?;
        OpenaiLogin::ApiKey(key)
    } else {
        eprintln!("{}\n", Style::stderr().dim(TERMS_NOTICE));
        OpenaiLogin::ChatGpt(Box::new(chatgpt_login(&profiles, args)?))
    };
    let stored = profiles.store_openai(&destination, global.profile.is_some(), &login)?;
    print_stored(&stored);
    Ok(0)
}

fn chatgpt_login(profiles: &Profiles, args: &LoginArgs) -> Result<ChatGptLogin, Failure> {
    let oauth = profiles.chatgpt_oauth();
    let timeout = Duration::from_secs(args.timeout);
    let env = profiles.resolver().env().clone();
    let result = runtime()?.block_on(async {
        let flow = async {
            if args.device_code {
                device_login(&oauth, &TerminalDevice, chatgpt::DEVICE_MAX_WAIT).await
            } else {
                let mut request = BrowserLogin::new(oauth.clone(), timeout);
                if let Some(port) = args.callback_port {
                    request.ports = vec![port];
                }
                request.paste_when_busy = args.no_browser;
                let events = TerminalBrowser {
                    open_browser: !args.no_browser,
                    env,
                    tty: std::io::stderr().is_terminal(),
                };
                let stdin = tokio::io::BufReader::new(tokio::io::stdin());
                browser_login(&request, &events, Some(stdin)).await
            }
        };
        tokio::select! {
            result = flow => result.map_err(login_failure),
            _ = tokio::signal::ctrl_c() => Err(Failure::error("login cancelled")),
        }
    });
    result
}

fn login_failure(e: ChatGptLoginError) -> Failure {
    let hint = match &e {
        ChatGptLoginError::Timeout(_) | ChatGptLoginError::PortsBusy { .. } => Some(
            "on a machine without a browser: claude-auth login --provider chatgpt --device-code",
        ),
        _ => None,
    };
    let failure = Failure::error(e.to_string());
    match hint {
        Some(hint) => failure.with_hint(hint),
        None => failure,
    }
}

fn print_stored(stored: &StoredOpenaiLogin) {
    let removed_file = |n: &LoginNotice| matches!(n, LoginNotice::RemovedCodexFile { .. });
    for notice in stored.notices.iter().filter(|n| !removed_file(n)) {
        warn(&notice.to_string());
    }
    let id = &stored.identity;
    let whose = match &stored.profile {
        Some(profile) => format!("OpenAI profile {profile}"),
        None => "Codex's login".to_owned(),
    };
    match (&id.email, stored.kind) {
        (_, claude_auth::CredentialKind::ApiKey) => success(&format!(
            "Stored the OpenAI API key {} for {whose}",
            stored.masked
        )),
        (email, _) => {
            let plan = id
                .subscription_type
                .as_deref()
                .map(|p| format!(" (ChatGPT {p})"))
                .unwrap_or_default();
            let who = email.as_deref().unwrap_or("your ChatGPT account");
            success(&format!("Logged in to ChatGPT as {who}{plan}, {whose}"));
        }
    }
    eprintln!("  stored in {}", stored.location);
    for notice in stored.notices.iter().filter(|n| removed_file(n)) {
        eprintln!("  {notice}");
    }
}

struct TerminalBrowser {
    open_browser: bool,
    env: Env,
    tty: bool,
}

impl BrowserEvents for TerminalBrowser {
    fn ready(&self, authorize_url: &str, listening: bool) {
        if !listening {
            warn("ports 1455 and 1457 are both in use: the browser's redirect cannot reach this machine; paste the URL it ends on here");
        }
        if self.open_browser {
            match claude_auth::oauth::browser::open(authorize_url, &self.env) {
                Some(how) => eprintln!("Opened your browser ({how}). If it did not open, visit:"),
                None => eprintln!("Could not open a browser. Visit:"),
            }
        } else {
            eprintln!("Open this URL in a browser:");
        }
        eprintln!("  {authorize_url}");
        eprintln!(
            "{}",
            Style::stderr().dim("If the browser is on another machine, paste the URL it was redirected to (http://localhost:…/auth/callback?code=…) here and press Enter.")
        );
        if self.tty {
            eprintln!("Waiting for the login… (Ctrl-C to cancel)");
        }
    }

    fn ignored(&self, why: &str) {
        warn(&format!("ignored {why}"));
    }

    fn exchanging(&self) {}
}

struct TerminalDevice;

impl DeviceEvents for TerminalDevice {
    fn code(&self, code: &DeviceCode) {
        let s = Style::stderr();
        eprintln!("To log in, open this page in any browser:");
        eprintln!("  {}", code.verification_url);
        eprintln!("and enter the code:");
        eprintln!("  {}", s.bold(&code.user_code));
        eprintln!(
            "{}",
            s.dim(&format!(
                "Waiting for the approval (checking every {} s, at most 15 minutes; Ctrl-C to cancel)…",
                code.interval.as_secs()
            ))
        );
    }

    fn retrying(&self, why: &str) {
        warn(&format!("{why}; trying again"));
    }
}

/// Run `logout --provider openai [--codex]`.
pub fn logout(global: &GlobalArgs, codex: bool) -> CommandResult {
    if codex && global.profile.is_some() {
        return Err(Failure::usage(
            "--codex and --profile exclude each other: Codex has one login per CODEX_HOME",
        ));
    }
    let profiles = profiles()?;
    let out = runtime()?.block_on(profiles.logout_openai(global.profile.as_deref(), codex))?;
    let message = match (&out.profile, out.removed.is_empty()) {
        (Some(p), true) => format!("Not logged in to OpenAI profile {p}: nothing to remove"),
        (Some(p), false) => format!("Logged out of OpenAI profile {p}"),
        (None, true) => "Codex is not logged in: nothing to remove".to_owned(),
        (None, false) => "Logged out of Codex's login".to_owned(),
    };
    crate::commands::logout::print_outcome(
        out.notes.iter().map(|n| (n.is_warning(), n.to_string())),
        &message,
        &out.removed,
    );
    Ok(0)
}
