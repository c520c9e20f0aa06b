//! `claude-auth switch`: the record it writes, the reason it prints, what
//! overrides it, and a corrupt record reported (by readers) and replaced
//! (by `switch`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{mode, write_file, Sandbox};
use serde_json::{json, Value};

const ANT_KEY: &str = "sk-ant-api03-SwitchAnthropicKeyAAAAAAAA1111";
const OPENAI_KEY: &str = "sk-proj-SwitchOpenaiKeyBBBBBBBBBBBBB2222";

fn both() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", ANT_KEY)
        .set("OPENAI_API_KEY", OPENAI_KEY);
    sb
}

fn record_path(sb: &Sandbox) -> std::path::PathBuf {
    sb.own_dir().join("active_provider.json")
}

fn record(sb: &Sandbox) -> Value {
    serde_json::from_slice(&std::fs::read(record_path(sb)).unwrap()).unwrap()
}

#[test]
fn switch_records_the_choice_0600_and_prints_what_is_active_and_why() {
    let sb = both();
    let run = sb.run(&["switch", "openai"]);
    run.assert_code(0);
    let path = record_path(&sb);
    let rec = record(&sb);
    let time = rec["time"].as_str().unwrap().to_owned();
    assert_eq!(
        rec,
        json!({"provider": "openai", "profile": null,
               "reason": "chosen with `claude-auth switch openai`", "time": time})
    );
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        run.stdout,
        format!("Active provider: openai (chosen with `claude-auth switch openai` at {time})\n")
    );
    assert_eq!(
        run.stderr,
        format!("✓ Switched to openai (recorded in {})\n", path.display())
    );

    // Every reader now agrees.
    let shown = sb.run(&["switch"]);
    shown.assert_code(0);
    assert_eq!(
        shown.stdout_lines(),
        [
            format!("Active provider: openai (chosen with `claude-auth switch openai` at {time})"),
            String::new(),
            "  anthropic  API key from ANTHROPIC_API_KEY".to_owned(),
            "* openai     API key from OPENAI_API_KEY".to_owned(),
            String::new(),
            "Choose with `claude-auth switch anthropic|openai [--profile NAME]`.".to_owned(),
        ]
    );
    let (_, status) = sb.status_json();
    assert_eq!(
        status["activeProvider"],
        json!({"provider": "openai", "origin": "switch",
               "reason": format!("chosen with `claude-auth switch openai` at {time}")})
    );

    // Back again: the record is replaced, not appended to.
    sb.run(&["switch", "anthropic"]).assert_code(0);
    assert_eq!(record(&sb)["provider"], "anthropic");
    let left: Vec<_> = std::fs::read_dir(sb.own_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["active_provider.json"]);
}

#[test]
fn the_environment_and_the_flag_override_the_record_and_switch_says_so() {
    let mut sb = both();
    sb.run(&["switch", "openai"]).assert_code(0);
    sb.set("CLAUDE_AUTH_PROVIDER", "anthropic");
    let shown = sb.run(&["switch"]);
    assert_eq!(
        shown.stdout_lines()[0],
        "Active provider: anthropic (CLAUDE_AUTH_PROVIDER=anthropic)"
    );
    let again = sb.run(&["switch", "openai"]);
    again.assert_code(0);
    assert_eq!(
        again.stderr_lines()[1],
        "warning: CLAUDE_AUTH_PROVIDER=anthropic overrides this choice while it is set"
    );
    assert_eq!(
        again.stdout,
        "Active provider: anthropic (CLAUDE_AUTH_PROVIDER=anthropic)\n"
    );
    // `--provider` beats the variable.
    let (_, status) = {
        let run = sb.run(&["status", "--json", "--provider", "openai"]);
        let v = run.json();
        (run, v)
    };
    assert_eq!(
        status["activeProvider"],
        json!({"provider": "openai", "origin": "flag", "reason": "chosen with --provider openai"})
    );
    // A value that is not a provider is an error naming the variable.
    sb.set("CLAUDE_AUTH_PROVIDER", "gpt");
    let bad = sb.run(&["switch"]);
    bad.assert_code(1);
    assert_eq!(
        bad.stderr,
        "error: CLAUDE_AUTH_PROVIDER: must be \"anthropic\" or \"openai\"; fix it or unset it\n"
    );
}

#[test]
fn a_corrupt_record_is_reported_by_readers_left_alone_and_replaced_by_switch() {
    let sb = both();
    let path = record_path(&sb);
    write_file(&path, "{\"provider\": \"anthropic\"", 0o600);
    let expected = format!(
        "{} is not valid: not JSON (line 1, column 24); choose again with `claude-auth switch anthropic` or `claude-auth switch openai`. Nothing was changed; fix or remove the file",
        path.display()
    );
    let shown = sb.run(&["switch"]);
    shown.assert_code(1);
    assert_eq!(shown.stderr, format!("error: {expected}\n"));
    let status = sb.run(&["status"]);
    status.assert_code(1);
    assert_eq!(
        status.stdout_lines()[0],
        format!("✗ Active provider: unknown: {expected}")
    );
    let (run, json) = sb.status_json();
    run.assert_code(1);
    assert_eq!(json["activeProviderError"], expected.as_str());
    assert_eq!(json["ok"], true, "Anthropic's own chain is still fine");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"provider\": \"anthropic\""
    );

    let fixed = sb.run(&["switch", "openai"]);
    fixed.assert_code(0);
    assert_eq!(
        fixed.stderr_lines()[0],
        format!("warning: replaced the unreadable record: {expected}")
    );
    assert_eq!(record(&sb)["provider"], "openai");
    sb.run(&["status"]).assert_code(0);
}

#[test]
fn switch_with_a_profile_activates_it_and_a_missing_one_changes_nothing() {
    let sb = Sandbox::new();
    sb.write_static_profile("work", "sk-ant-oat01-SwitchWorkCCCCCCCCCCCC3333", None);
    let run = sb.run(&["switch", "anthropic", "--profile", "work"]);
    run.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(sb.active_config_path())
            .unwrap()
            .trim(),
        "work"
    );
    assert_eq!(
        run.stderr_lines()[0],
        format!(
            "✓ Anthropic profile work is active (written to {})",
            sb.active_config_path().display()
        )
    );
    assert!(
        run.stdout.starts_with(
            "Active provider: anthropic, profile work (chosen with `claude-auth switch anthropic --profile work` at "
        ),
        "{run}"
    );
    let before = std::fs::read(record_path(&sb)).unwrap();

    let missing = sb.run(&["switch", "openai", "--profile", "personal"]);
    missing.assert_code(1);
    assert_eq!(
        missing.stderr,
        "error: --profile: no OpenAI profile \"personal\"; log in to it with `claude-auth login --provider openai --profile personal`, or leave out --profile\n"
    );
    assert_eq!(std::fs::read(record_path(&sb)).unwrap(), before);

    let no_provider = sb.run(&["switch", "--profile", "work"]);
    no_provider.assert_code(2);
    assert!(
        no_provider
            .stderr
            .starts_with("error: --profile needs a provider to apply to"),
        "{no_provider}"
    );
    sb.run(&["switch", "gemini"]).assert_code(2);
}

#[test]
fn switching_to_a_provider_without_a_login_warns_how_to_log_in() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", ANT_KEY);
    let run = sb.run(&["switch", "openai"]);
    run.assert_code(0);
    assert_eq!(
        run.stderr_lines()[1],
        "warning: openai has no usable login yet: log in with `claude-auth login --provider chatgpt` (or Codex's `codex login`), or set OPENAI_API_KEY"
    );
    let shown = sb.run(&["switch"]);
    assert_eq!(
        shown.stdout_lines()[3],
        "* openai     no login: log in with `claude-auth login --provider chatgpt` (or Codex's `codex login`), or set OPENAI_API_KEY"
    );
    // The active provider has nothing usable: status says so with exit 1.
    sb.run(&["status"]).assert_code(1);
    let json = sb.run(&["switch", "--json"]).json();
    assert_eq!(json["active"]["provider"], "openai");
    assert_eq!(json["providers"][0]["usable"], true);
    assert_eq!(json["providers"][1]["usable"], false);
}
