//! `claude-auth login` without `--with-token`: the browser (or paste) OAuth
//! login with PKCE. The library runs the flow and stores the token set
//! exactly as `ant auth login` stores it ([`claude_auth::profiles`]); this
//! module shows the progress and prints the outcome.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use claude_auth::oauth::login::{LoginEvents, LoginRequest};
use claude_auth::oauth::token_client::TokenClient;
use claude_auth::profiles::LoginNotice;
use claude_auth::Env;

use crate::commands::login_args::LoginArgs;
use crate::commands::{profiles, runtime};
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
    let mut profiles = profiles()?;
    let presets = profiles.resolver().settings().presets()?;
    let preset = presets
        .get(args.provider.as_deref().unwrap_or("console"))?
        .clone();
    // As before the library owned this: the browser login always falls back
    // from an unavailable keyring (visibly), whatever --no-fallback says.
    let mut login_to = profiles.new_login(global.profile.as_deref())?;
    login_to.storage = args.storage;
    if preset.subscription {
        eprintln!("{}\n", Style::stderr().dim(SUBSCRIPTION_NOTICE));
    }
    let tty = std::io::stderr().is_terminal();
    let events = TerminalEvents {
        open_browser: !args.no_browser,
        env: profiles.resolver().env().clone(),
        tty,
        waiting: Arc::new(AtomicBool::new(false)),
    };
    let request = LoginRequest {
        preset,
        callback_port: args.callback_port,
        timeout: Duration::from_secs(args.timeout),
    };
    let result = runtime()?.block_on(async {
        let client = TokenClient::new().map_err(|e| Failure::error(e.to_string()))?;
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        profiles
            .log_in_oauth(&login_to, &request, &client, &events, Some(stdin))
            .await
            .map_err(Failure::from)
    });
    events.waiting.store(false, Ordering::Relaxed);
    let stored = result?;
    for notice in &stored.notices {
        // The browser login has never said that a named profile was left
        // inactive; `login --with-token` does.
        if !matches!(notice, LoginNotice::NotActivated { .. }) {
            warn(&notice.to_string());
        }
    }
    let id = &stored.identity;
    let who = match (&id.email, &id.organization_name) {
        (Some(e), Some(o)) => format!("{e} ({o})"),
        (Some(e), None) => e.clone(),
        (None, Some(o)) => format!("({o})"),
        (None, None) => "your account".into(),
    };
    success(&format!("Logged in as {who}, profile {}", stored.profile));
    eprintln!("  stored in {}", stored.location);
    Ok(0)
}
