//! The `claude-auth` command.
//!
//! Data goes to stdout, everything else (progress, warnings, errors) to
//! stderr. Exit codes: 0 ok, 1 error or not logged in, 2 usage, 4
//! authentication required.

/// `println!` for data on stdout that ends quietly on a closed pipe
/// (`claude-auth status | head`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod commands;
mod output;
mod tui;
mod usage_view;

use std::process::ExitCode;

/// mimalloc: fewer instructions per allocation than glibc's malloc, which
/// the proxy feels (BENCHMARKS.md, Stop 10).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};

use claude_auth::store::StorageKind;

/// Exit code for "authentication required" (as `gh`).
pub const EXIT_AUTH_REQUIRED: u8 = 4;

#[derive(Parser, Debug)]
#[command(
    name = "claude-auth",
    version,
    about = "Authentication to Claude and OpenAI that is correct, safe and explains itself",
    long_about = None,
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Use this profile (an explicit choice: it beats every environment variable)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Which credential wins, why, what it shadows, when it expires, what to do (both providers, the active one first)
    Status {
        /// Only this provider's chain (anthropic or openai)
        #[arg(long, value_enum, value_name = "PROVIDER")]
        provider: Option<commands::provider::ProviderArg>,
    },
    /// Refresh the selected OAuth login now
    Refresh,
    /// Print the winning token or API key on stdout (refreshing it first when needed)
    Token {
        /// Do not print a trailing newline
        #[arg(short = 'n')]
        no_newline: bool,
        /// Whose credential (default: the active provider)
        #[arg(long, value_enum, value_name = "PROVIDER")]
        provider: Option<commands::provider::ProviderArg>,
    },
    /// Log in with OAuth in the browser (or by pasting the code), or store a token from stdin with --with-token
    Login(commands::login_args::LoginArgs),
    /// Remove a profile's stored credentials
    Logout {
        /// Also remove the profile files and active_config (every profile, as `ant auth logout --all`)
        #[arg(long)]
        all: bool,
        /// Log out of this provider: anthropic (default) or openai
        #[arg(long, value_enum, value_name = "PROVIDER")]
        provider: Option<commands::provider::ProviderArg>,
        /// With --provider openai: remove Codex's own login (its auth.json or keyring entry)
        #[arg(long)]
        codex: bool,
    },
    /// Print the variables a child process needs for the credential
    Env {
        /// Output format
        #[arg(long, value_enum, default_value_t = commands::env::Format::Env)]
        format: commands::env::Format,
        /// Print the token itself (ANTHROPIC_AUTH_TOKEN and CLAUDE_CODE_OAUTH_TOKEN, or OPENAI_API_KEY) even for an OAuth login the SDKs cannot use that way
        #[arg(long)]
        raw_token: bool,
        /// Whose credential (default: the active provider; the other one's variables follow when it has a usable credential too)
        #[arg(long, value_enum, value_name = "PROVIDER")]
        provider: Option<commands::provider::ProviderArg>,
    },
    /// Run a command with the credential in its environment
    Exec(commands::exec::ExecArgs),
    /// Run an authenticating reverse proxy on loopback
    Proxy(commands::proxy::ProxyArgs),
    /// Agent sessions (exec --agent-id): running and recent, how they ended, what they spent
    Agents(commands::agents::AgentsArgs),
    /// Ask Claude: the answer streams to stdout (prompt as argument or on stdin)
    Chat(commands::chat::ChatArgs),
    /// Every login's usage windows, reset times and pace
    #[command(visible_alias = "quota")]
    Usage(commands::usage::UsageArgs),
    /// Which credential a strategy would choose now, why, and where each setting came from
    Select(commands::select::SelectArgs),
    /// List, select and inspect profiles
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Turn the credentials you already have (claude-oauth-auth, the keyring guide, CLAUDE_ACCESS_TOKEN, Codex, Claude Code) into profiles; a second run changes nothing
    Import(commands::import::ImportArgs),
    /// Choose the active provider (and, with --profile, its profile); with no provider, show the active one and the choices
    Switch {
        /// anthropic or openai
        #[arg(value_enum, value_name = "PROVIDER")]
        provider: Option<commands::provider::ProviderArg>,
        #[command(flatten)]
        prefs: commands::switch::PrefArgs,
    },
    /// A full-screen dashboard of every login, its expiry and usage, with log in, switch, refresh and log out
    Tui,
    /// Print a shell completion script
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
enum ProfileCommand {
    /// List profiles, marking the active one
    List,
    /// Make a profile the active one
    Use {
        /// The profile
        name: String,
    },
    /// Show a profile (default: the active one)
    Show {
        /// The profile
        name: Option<String>,
    },
}

/// Parse a `--storage` value.
pub fn parse_storage(s: &str) -> Result<StorageKind, String> {
    s.parse()
}

/// `login`: a token on stdin with `--with-token`, else the browser flow;
/// never a secret in argv.
fn login(global: &GlobalArgs, args: &commands::login_args::LoginArgs) -> output::CommandResult {
    args.refuse_secret_arguments()?;
    // `claude-auth login` alone on a terminal: the picker. Any argument, or
    // a pipe on either side, keeps the command as it was.
    if std::env::args_os().len() == 2
        && std::io::IsTerminal::is_terminal(&std::io::stdin())
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        return tui::run_login_picker(global);
    }
    if commands::openai_login::is_openai(args.provider.as_deref()) {
        return commands::openai_login::run(global, args);
    }
    if args.device_code || args.codex {
        return Err(output::Failure::usage(
            "--device-code and --codex are for OpenAI logins: add --provider chatgpt (or --provider openai --with-token for an API key)",
        ));
    }
    if args.with_token {
        commands::login::run(global, args)
    } else {
        commands::oauth_login::run(global, args)
    }
}

fn init_logging() {
    // RUST_LOG=debug (or trace) turns on diagnostics on stderr; they never
    // contain secrets (the library logs that a value arrived, not the value).
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init();
    }
}

fn main() -> ExitCode {
    init_logging();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Status { provider } => commands::status::run(&cli.global, provider),
        Command::Env {
            format,
            raw_token,
            provider,
        } => commands::env::run(&cli.global, format, raw_token, provider),
        Command::Exec(args) => commands::exec::run(&cli.global, &args),
        Command::Proxy(args) => commands::proxy::run(&cli.global, &args),
        Command::Agents(args) => commands::agents::run(&cli.global, &args),
        Command::Chat(args) => commands::chat::run(&cli.global, &args),
        Command::Usage(args) => commands::usage::run(&cli.global, &args),
        Command::Select(args) => commands::select::run(&cli.global, &args),
        Command::Refresh => commands::refresh::run(&cli.global),
        Command::Token {
            no_newline,
            provider,
        } => commands::token::run(&cli.global, provider, no_newline),
        Command::Login(args) => login(&cli.global, &args),
        Command::Logout {
            all,
            provider,
            codex,
        } => match provider {
            Some(commands::provider::ProviderArg::Openai) if all => Err(output::Failure::usage(
                "--all is for Anthropic profiles; log out of OpenAI one profile at a time, or with --codex",
            )),
            Some(commands::provider::ProviderArg::Openai) => commands::openai_login::logout(&cli.global, codex),
            _ if codex => Err(output::Failure::usage(
                "--codex is Codex's login: add --provider openai",
            )),
            _ => commands::logout::run(&cli.global, all),
        },
        Command::Profile(ProfileCommand::List) => commands::profile::list(&cli.global),
        Command::Profile(ProfileCommand::Use { name }) => {
            commands::profile::use_profile(&cli.global, &name)
        }
        Command::Profile(ProfileCommand::Show { name }) => {
            commands::profile::show(&cli.global, name.as_deref())
        }
        Command::Switch { provider, prefs } => commands::switch::run(&cli.global, provider, &prefs),
        Command::Tui => tui::run(&cli.global),
        Command::Import(args) => commands::import::run(&cli.global, &args),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "claude-auth", &mut std::io::stdout());
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::error(&e.message);
            if let Some(hint) = &e.hint {
                output::hint(hint);
            }
            ExitCode::from(e.code)
        }
    }
}
