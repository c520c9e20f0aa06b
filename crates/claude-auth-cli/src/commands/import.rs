//! `claude-auth import [--dry-run] [--move] [--json]`: the library's
//! [`claude_auth::Profiles::import`], printed. One line per source on
//! stdout (`<source> (<where>): <what was done>`), then a summary on
//! stderr. Exit 1 when a source could not be parsed or a write failed.

use claude_auth::profiles::{ImportAction, ImportOptions, ImportReport};

use crate::commands::profiles;
use crate::output::{print_json, success, warn, CommandResult, Style};
use crate::GlobalArgs;

/// `import`'s flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ImportArgs {
    /// Print the plan; write, move and remove nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Take sources over: back each up, import it, then remove it (also the logins Codex and Claude Code still use, which are otherwise only read in place)
    #[arg(long = "move")]
    pub move_sources: bool,
}

/// Run `import`.
pub fn run(global: &GlobalArgs, args: &ImportArgs) -> CommandResult {
    let report = profiles()?.import(ImportOptions {
        dry_run: args.dry_run,
        move_sources: args.move_sources,
    })?;
    let code = u8::from(report.has_errors());
    if global.json {
        print_json(&report)?;
        return Ok(code);
    }
    print(&report);
    Ok(code)
}

fn print(report: &ImportReport) {
    let s = Style::stdout();
    for item in &report.items {
        let detail = match item.action {
            ImportAction::Error | ImportAction::Failed => s.red(&item.detail),
            ImportAction::Imported | ImportAction::Moved => s.green(&item.detail),
            _ => item.detail.clone(),
        };
        outln!("{} ({}): {detail}", item.source.label(), item.location);
    }
    if report.has_errors() {
        warn("some sources could not be imported (see above); they were left untouched");
    }
    match (report.dry_run, report.changed) {
        (true, true) => {
            eprintln!("Dry run: nothing was written. Run without --dry-run to do the above.")
        }
        (true, false) => eprintln!("Dry run: nothing to change."),
        (false, true) => success("Imported. See `claude-auth profile list`."),
        (false, false) => eprintln!("Nothing changed."),
    }
}
