//! `claude-auth login` without `--with-token`: the browser (or paste) OAuth
//! login with PKCE, stored exactly as `ant auth login` stores it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use claude_auth::oauth::login::{login, LoginError, LoginEvents, LoginRequest};
use claude_auth::oauth::token_client::TokenClient;
use claude_auth::refresh_state::{self, RefreshState};
use claude_auth::{Credential, Env};

use crate::commands::login::LoginArgs;
use crate::commands::{resolver, target_profile};
use crate::output::{success, warn, CommandResult, Failure, Style};
use crate::GlobalArgs;

/// The terms notice shown before a subscription login.
pub const SUBSCRIPTION_NOTICE: &str = "Note: Anthropic's terms say subscription OAuth (Claude Pro/Max logins) is meant for Claude Code and Anthropic's own apps; applications should use API keys or the Developer Platform login (`claude-auth login --provider console`). claude-auth identifies itself honestly and does not imitate Claude Code.";

struct TerminalEvents {
    open_browser: bool,
    env: Env,
    tty: bool,
    waiting: Arc<AtomicBool>,
}

fn link(url: &str, tty: bool) -> String {
    if tty {
        // OSC 8 hyperlink: clickable in terminals that support it, plain elsewhere.
        format!("\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\")
    } else {
        url.to_owned()
    }
}

impl LoginEvents for TerminalEvents {
    fn ready(&self, browser_url: &str, manual_url: Option<&str>) {
        let s = Style::stderr();
        if self.open_browser {
            match claude_auth::oauth::browser::open(browser_url, &self.env) {
                Some(how) => eprintln!("Opened your browser ({how}). If it did not open, visit:"),
                None => eprintln!("Could not open a browser. Visit:"),
            }
        } else {
            eprintln!("Open this URL in a browser on this machine:");
        }
        eprintln!("  {}", link(browser_url, self.tty));
        if let Some(manual) = manual_url {
            eprintln!("{}", s.dim("On another machine (SSH)? Open this URL there instead and paste the code shown:"));
            eprintln!("  {}", link(manual, self.tty));
        } else {
            eprintln!("{}", s.dim("If the browser cannot reach this machine, paste the URL it was redirected to here."));
        }
        if self.tty {
            self.waiting.store(true, Ordering::Relaxed);
            let waiting = Arc::clone(&self.waiting);
            std::thread::spawn(move || {
                let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
                let mut i = 0;
                while waiting.load(Ordering::Relaxed) {
                    eprint!("\r{} Waiting for the login… (paste a code and press Enter, or Ctrl-C to cancel) ", frames[i % frames.len()]);
                    i += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                eprint!("\r\x1b[2K");
            });
        }
    }

    fn ignored(&self, why: &str) {
        warn(&format!("ignored {why}"));
    }

    fn exchanging(&self) {
        self.waiting.store(false, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(if self.tty { 120 } else { 0 }));
    }
}

/// Run the OAuth login.
pub fn run(global: &GlobalArgs, args: &LoginArgs) -> CommandResult {
    let resolver = resolver()?;
    let presets = resolver.settings().presets()?;
    let preset = presets
        .get(args.provider.as_deref().unwrap_or("console"))?
        .clone();
    let profile = target_profile(global, &resolver)?;
    let storage = args
        .storage
        .unwrap_or_else(|| resolver.settings().storage_for_new_login(&profile));
    if preset.subscription {
        eprintln!("{}\n", Style::stderr().dim(SUBSCRIPTION_NOTICE));
    }
    let tty = std::io::stderr().is_terminal();
    let events = TerminalEvents {
        open_browser: !args.no_browser,
        env: resolver.env().clone(),
        tty,
        waiting: Arc::new(AtomicBool::new(false)),
    };
    let request = LoginRequest {
        preset: preset.clone(),
        callback_port: args.callback_port,
        timeout: Duration::from_secs(args.timeout),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("could not start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        let client = TokenClient::new().map_err(|e| Failure::error(e.to_string()))?;
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        login(&request, &client, &events, Some(stdin))
            .await
            .map_err(|e| {
                let code = match e {
                    LoginError::Cancelled => 130,
                    _ => 1,
                };
                Failure::error(e.to_string()).with_code(code)
            })
    });
    events.waiting.store(false, Ordering::Relaxed);
    let set = result?;
    let credential = Credential::OAuth(set.clone());
    let (location, stored_in) = crate::commands::login::store(
        &resolver,
        &profile,
        &credential,
        storage,
        preset.base_url.as_deref(),
        false,
    )?;
    crate::commands::login::activate(&resolver, &profile, stored_in, global.profile.is_some())?;
    if let Some(path) = refresh_state::state_path(resolver.env(), false, Some(&profile)) {
        let _ = RefreshState::update(&path, |s| {
            *s = RefreshState {
                provider: Some(preset.id.clone()),
                ..RefreshState::default()
            };
        });
    }
    let who = match (&set.identity.email, &set.identity.organization_name) {
        (Some(e), Some(o)) => format!("{e} ({o})"),
        (Some(e), None) => e.clone(),
        (None, Some(o)) => format!("({o})"),
        (None, None) => "your account".into(),
    };
    success(&format!("Logged in as {who}, profile {profile}"));
    eprintln!("  stored in {location}");
    Ok(0)
}
