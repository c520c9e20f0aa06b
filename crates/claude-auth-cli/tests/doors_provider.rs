#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Which provider the doors (`token`, `env`, `exec`, `proxy`) serve without
//! `--provider`: the active one by the rule `status` and `switch` use
//! (`CLAUDE_AUTH_PROVIDER`, the switch record, the only provider with a
//! usable login, Anthropic), found without walking a chain twice, so an
//! external credential command still runs once.

mod common;

use std::collections::BTreeMap;
use std::process::Stdio;

use common::{now, Run, Sandbox};

const OPENAI_KEY: &str = "sk-proj-Hq4Tz8Wm1Xc6Vr3Nb9Ld2Kf7Jg5Ps0Ya-doors-provider";
const ANTHROPIC_KEY: &str = "sk-ant-api03-Lp3Xw7Qm2Zt8Vc4Nr6Hb1Jd5Fg9Ks0Ya-doors-provider";

fn run(sb: &Sandbox, args: &[&str]) -> Run {
    let out = sb.command(args).stdin(Stdio::null()).output().unwrap();
    Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `exec … -- env`: the child's environment.
fn exec_env(sb: &Sandbox, args: &[&str]) -> BTreeMap<String, String> {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    all.extend(["--", "env"]);
    let out = run(sb, &all);
    out.assert_code(0);
    out.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("LC_ALL", "C.UTF-8");
    sb
}

#[test]
fn without_the_flag_the_doors_serve_the_active_provider() {
    let mut sb = sandbox();
    // Only OpenAI has a login: it is the active provider.
    sb.set("OPENAI_API_KEY", OPENAI_KEY);
    let out = run(&sb, &["token", "-n"]);
    out.assert_code(0);
    assert_eq!(out.stdout, OPENAI_KEY);
    let env = exec_env(&sb, &[]);
    assert_eq!(env["OPENAI_API_KEY"], OPENAI_KEY);
    assert!(!env.contains_key("ACTIVE_AUTH_PROVIDER"), "{env:?}");

    // Both: Anthropic, unless CLAUDE_AUTH_PROVIDER (or `switch`) says otherwise.
    sb.set("ANTHROPIC_API_KEY", ANTHROPIC_KEY);
    let out = run(&sb, &["token", "-n"]);
    out.assert_code(0);
    assert_eq!(out.stdout, ANTHROPIC_KEY);
    assert_eq!(exec_env(&sb, &[])["ACTIVE_AUTH_PROVIDER"], "anthropic");
    sb.set("CLAUDE_AUTH_PROVIDER", "openai");
    let out = run(&sb, &["token", "-n"]);
    out.assert_code(0);
    assert_eq!(out.stdout, OPENAI_KEY);
    assert_eq!(exec_env(&sb, &[])["ACTIVE_AUTH_PROVIDER"], "openai");
    // The flag beats the environment.
    let out = run(&sb, &["token", "-n", "--provider", "anthropic"]);
    out.assert_code(0);
    assert_eq!(out.stdout, ANTHROPIC_KEY);
    sb.set("CLAUDE_AUTH_PROVIDER", "gemini");
    let out = run(&sb, &["token"]);
    out.assert_code(1);
    assert!(out.stderr.contains("CLAUDE_AUTH_PROVIDER"), "{out}");
}

#[test]
fn choosing_the_provider_runs_an_external_credential_command_once() {
    let mut sb = sandbox();
    let count = sb.root().join("ran");
    sb.set(
        "CLAUDE_AUTH_EXTERNAL_COMMAND",
        format!("echo x >> '{}'; printf {ANTHROPIC_KEY}", count.display()),
    );
    let out = run(&sb, &["token", "-n"]);
    out.assert_code(0);
    assert_eq!(out.stdout, ANTHROPIC_KEY);
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "x\n");
}

#[test]
fn an_expired_claude_login_that_cannot_refresh_leaves_openai_the_only_usable_one() {
    let mut sb = sandbox();
    sb.write_static_profile(
        "default",
        "sk-ant-oat01-expired-doors-provider",
        Some(now() - 60),
    );
    sb.set("OPENAI_API_KEY", OPENAI_KEY);
    let out = run(&sb, &["token", "-n"]);
    out.assert_code(0);
    assert_eq!(out.stdout, OPENAI_KEY);
    // Chosen, the expired login is reported (exit 4: log in again).
    let out = run(&sb, &["token", "--provider", "anthropic"]);
    out.assert_code(4);
    assert_eq!(out.stdout, "");
}
