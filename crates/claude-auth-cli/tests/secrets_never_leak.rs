//! No raw secret ever reaches a terminal: every command, in every scenario
//! (every source present, broken files holding secrets, failing helpers,
//! refused logins), keeps secrets out of stderr, and out of stdout except
//! `token`, whose stdout is exactly the winning secret.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{now, write_file, Run, Sandbox};

// Distinctive secrets: every one has a body no output could contain by chance.
const API_KEY: &str = "sk-ant-api03-u8jzPde0IgxLd6GncfBAepfJBd0K";
const AUTH_TOKEN: &str = "gw-h8oOOL8dKLzdocJ2isAjIhKtJ0Rl";
const PROFILE_TOKEN: &str = "sk-ant-oat01-gLKOmxgJTeKdNnFRIBXuDL7DxtpY";
const PROFILE_REFRESH: &str = "sk-ant-ort01-lSXpfKtHF4vUCsMehGAkWvj7FAc9";
const KEY_PROFILE: &str = "sk-ant-api03-QeWJKY40uvSwMFLZDe1f8rESQedU";
const CC_ENV: &str = "sk-ant-oat01-StPKR0CsTy4Qwb8DwkNhFdnXsiVp";
const SEED_ENV: &str = "sk-ant-oat01-zz63FfkCzJr4i0B3JrTAwR4y9ojf";
const SEED_ENV_REFRESH: &str = "sk-ant-ort01-ljoQoaF1LlqsajAIxNKu8iS2G8NP";
const EXTERNAL: &str = "sk-ant-api03-RVdD53X83RZJzzzzgEOzdmenCkhv";
const CC_FILE: &str = "sk-ant-oat01-MdgaKjIg8xNbe3nNyjOq9wMxEhh2";
const CC_REFRESH: &str = "sk-ant-ort01-m1Wq8ZkR3vTn6YpLc2HsXe9GdJb4Af7U";
const SEED_FILE: &str = "sk-ant-oat01-FDEEtfjgVvVqE1SkHbn88HxjSI6b";
const SEED_REFRESH: &str = "sk-ant-ort01-Tz5Nc8Kd2QwXr7Lm4Vb9Jh3Fs6Gp1Ey0";
const IDENTITY_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.WHtP3fS2qHx6kwXoIIXGvOoNZYW2.sig";
const BROKEN: &str = "sk-ant-oat01-mZp0zVZomHFwUbbYrEqmSM9wCZ7U";
const BROKEN_KEY: &str = "sk-ant-api03-w9xfogoEmvnEN5N1aE6PwZPf1Qh6";
const HELPER_SECRET: &str = "sk-ant-api03-yYTWmE4lBYOvfZ8UzDzV8fUkkibj";
const HELPER_REFRESH: &str = "sk-ant-ort01-q4i9DoV8gz4FkQ1okTBGzvAmwufU";
const ARGV_OAUTH: &str = "sk-ant-oat01-CuNGMGmSrCGIZEG8pSH4487q7J58";
const ARGV_KEY: &str = "sk-ant-api03-m1CiAhzCueQpBenQtYh5Xj8TPQxj";
const LOGIN_OAUTH: &str = "sk-ant-oat01-L5DZPjN0MEQ7wjJJibaZUPgHV7iB";
const LOGIN_KEY: &str = "sk-ant-api03-3m03nbqnsGpWLuqIA1id6Vw5DQL0";
const LOGIN_REFRESH: &str = "sk-ant-ort01-5HA064GiIjHGb3CXlMaXZjljENUh";
const LOGIN_BEARER: &str = "corp-gw-JduRHHJEYXg4JdpmrcXgGCJbW56e";
// No prefix, no digits, lower case: only exact redaction can know it is a secret.
const ECHO_REFRESH: &str = "opaque-rotating-grant-kqzwvxjhtmplbrd";
const ECHO_ACCESS: &str = "sk-ant-oat01-Vr8TqN2cXw5LmK9pZb3HdJ7sYf4G";

const ALL: [&str; 26] = [
    ECHO_REFRESH,
    ECHO_ACCESS,
    HELPER_REFRESH,
    API_KEY,
    AUTH_TOKEN,
    PROFILE_TOKEN,
    PROFILE_REFRESH,
    KEY_PROFILE,
    CC_ENV,
    SEED_ENV,
    SEED_ENV_REFRESH,
    EXTERNAL,
    CC_FILE,
    CC_REFRESH,
    SEED_FILE,
    SEED_REFRESH,
    IDENTITY_JWT,
    BROKEN,
    BROKEN_KEY,
    HELPER_SECRET,
    LOGIN_OAUTH,
    LOGIN_KEY,
    LOGIN_REFRESH,
    LOGIN_BEARER,
    ARGV_OAUTH,
    ARGV_KEY,
];

/// The parts of `secret` no output may contain: the whole value, and every
/// 10-character window of the part a mask never shows (all but the last 4
/// characters after a known prefix).
fn fragments(secret: &str) -> Vec<String> {
    let body = ["sk-ant-api03-", "sk-ant-oat01-", "sk-ant-ort01-"]
        .iter()
        .find_map(|p| secret.strip_prefix(p))
        .unwrap_or(secret);
    let hidden: Vec<char> = body.chars().take(body.chars().count() - 4).collect();
    let mut out = vec![secret.to_owned()];
    out.extend(hidden.windows(10).map(|w| w.iter().collect::<String>()));
    out
}

fn leaks(text: &str) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    for secret in ALL {
        if let Some(f) = fragments(secret).into_iter().find(|f| text.contains(f)) {
            found.push((secret, f));
        }
    }
    found
}

/// Check every run of a sandbox: no secret on stderr; no secret on stdout
/// except for `token`, whose stdout is checked against `tokens` (the
/// expected stdout of each `token` run, in order).
fn assert_no_leaks(sb: &Sandbox, tokens: &[&str]) {
    let runs: Vec<Run> = sb.transcript();
    assert!(!runs.is_empty());
    let mut expected_tokens = tokens.iter();
    for run in &runs {
        let stderr_leaks = leaks(&run.stderr);
        assert!(
            stderr_leaks.is_empty(),
            "{:?} leaked {stderr_leaks:?} on stderr:\n{run}",
            run.args
        );
        if run.args.first().map(String::as_str) == Some("token") {
            let want = expected_tokens
                .next()
                .unwrap_or_else(|| panic!("unexpected token run {:?}", run.args));
            assert_eq!(run.stdout, *want, "stdout of {:?}", run.args);
        } else {
            let stdout_leaks = leaks(&run.stdout);
            assert!(
                stdout_leaks.is_empty(),
                "{:?} leaked {stdout_leaks:?} on stdout:\n{run}",
                run.args
            );
        }
    }
    assert_eq!(
        expected_tokens.next(),
        None,
        "fewer token runs than expected"
    );
}

/// Every read-only command, human and JSON.
fn run_read_commands(sb: &Sandbox, profiles: &[&str]) {
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["profile", "list"],
        &["profile", "list", "--json"],
        &["profile", "show"],
        &["profile", "show", "--json"],
    ] {
        sb.run(args);
    }
    for p in profiles {
        sb.run(&["profile", "show", p]);
        sb.run(&["profile", "show", p, "--json"]);
        sb.run(&["status", "--profile", p]);
        sb.run(&["status", "--json", "--profile", p]);
    }
}

#[test]
fn no_secret_leaks_with_every_source_present() {
    let mut sb = Sandbox::new();
    let later = now() + 3600;
    sb.write_profile(
        "work",
        &serde_json::json!({"version": "1.0", "authentication": {"type": "user_oauth", "client_id": "cid"}}),
        &serde_json::json!({"version": "1.0", "type": "oauth_token", "access_token": PROFILE_TOKEN,
            "refresh_token": PROFILE_REFRESH, "expires_at": later}),
    );
    sb.write_active_config("work");
    sb.login(Some("keys"), KEY_PROFILE);
    sb.write_claude_code(CC_FILE, later * 1000, 0o644);
    sb.write_seed(&sb.seed_path(), SEED_FILE, later);
    // The helper prints the secret; its command line (shown as
    // configuration) does not hold it.
    let helper = sb.root().join("helper.sh");
    write_file(&helper, &format!("printf {EXTERNAL}\n"), 0o700);
    sb.set("ANTHROPIC_API_KEY", API_KEY)
        // Workload identity's exchange goes here, and is refused at once.
        .set("ANTHROPIC_BASE_URL", common::closed_local_url())
        .set("ANTHROPIC_AUTH_TOKEN", AUTH_TOKEN)
        .set("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_1")
        .set("ANTHROPIC_ORGANIZATION_ID", "org-1")
        .set("ANTHROPIC_IDENTITY_TOKEN", IDENTITY_JWT)
        .set("CLAUDE_CODE_OAUTH_TOKEN", CC_ENV)
        .set("CLAUDE_ACCESS_TOKEN", SEED_ENV)
        .set("CLAUDE_REFRESH_TOKEN", SEED_ENV_REFRESH)
        .set(
            "CLAUDE_AUTH_EXTERNAL_COMMAND",
            format!("sh {}", helper.display()),
        );

    let mut tokens = Vec::new();
    // Peel the sources off one by one, running everything at each step.
    let steps: [(&str, String); 10] = [
        ("ANTHROPIC_API_KEY", format!("{API_KEY}\n")),
        ("ANTHROPIC_AUTH_TOKEN", format!("{AUTH_TOKEN}\n")),
        ("ANTHROPIC_IDENTITY_TOKEN", String::new()),
        ("active_config", format!("{PROFILE_TOKEN}\n")),
        ("CLAUDE_CODE_OAUTH_TOKEN", format!("{CC_ENV}\n")),
        ("CLAUDE_ACCESS_TOKEN", format!("{SEED_ENV}\n")),
        ("CLAUDE_AUTH_EXTERNAL_COMMAND", format!("{EXTERNAL}\n")),
        ("claude code file", format!("{CC_FILE}\n")),
        ("seed file", format!("{SEED_FILE}\n")),
        ("", String::new()),
    ];
    let mut expected: Vec<String> = Vec::new();
    for (remove_after, token_out) in &steps {
        run_read_commands(&sb, &["work", "keys"]);
        sb.run(&["token"]);
        expected.push(token_out.clone());
        sb.run(&["token", "--profile", "keys"]);
        expected.push(format!("{KEY_PROFILE}\n"));
        match *remove_after {
            "active_config" => std::fs::remove_file(sb.active_config_path()).unwrap(),
            "claude code file" => std::fs::remove_file(sb.claude_code_path()).unwrap(),
            "seed file" => std::fs::remove_file(sb.seed_path()).unwrap(),
            "" => {}
            "CLAUDE_ACCESS_TOKEN" => {
                sb.unset("CLAUDE_ACCESS_TOKEN")
                    .unset("CLAUDE_REFRESH_TOKEN");
            }
            var => {
                sb.unset(var);
            }
        }
    }
    tokens.extend(expected.iter().map(String::as_str));
    sb.run(&["completions", "bash"]);
    sb.run(&["logout"]);
    sb.run(&["logout", "--all"]);
    assert_no_leaks(&sb, &tokens);
}

#[test]
fn no_secret_leaks_from_broken_files_holding_secrets() {
    let mut sb = Sandbox::new();
    write_file(
        &sb.config_path("broken"),
        r#"{"version": "1.0", "authentication": {"type": "user_oauth"}}"#,
        0o644,
    );
    write_file(
        &sb.credentials_path("broken"),
        &format!("{{\"access_token\": \"{BROKEN}\", oops"),
        0o600,
    );
    write_file(
        &sb.key_file_path("badkey"),
        &format!("{{\"type\": \"api_key\", \"api_key\": {BROKEN_KEY}}}"),
        0o600,
    );
    write_file(
        &sb.claude_code_path(),
        &format!("{{\"claudeAiOauth\": {{\"accessToken\": \"{BROKEN}\", \"scopes\": \"user:inference\"}}}}"),
        0o600,
    );
    write_file(&sb.seed_path(), &format!("[\"{BROKEN}\""), 0o600);
    // A credentials file that is a bare token.
    write_file(
        &sb.config_path("bare"),
        r#"{"version": "1.0", "authentication": {"type": "user_oauth"}}"#,
        0o644,
    );
    write_file(
        &sb.credentials_path("bare"),
        &format!("\"{BROKEN}\""),
        0o600,
    );
    run_read_commands(&sb, &["broken", "badkey", "bare"]);
    let mut tokens = Vec::new();
    for p in ["broken", "badkey", "bare"] {
        sb.run(&["token", "--profile", p]);
        tokens.push("");
    }
    sb.set("ANTHROPIC_PROFILE", "broken");
    sb.run(&["status"]);
    sb.run(&["token"]);
    tokens.push("");
    sb.unset("ANTHROPIC_PROFILE");
    sb.run(&["status", "--json"]);
    sb.run(&["token"]);
    tokens.push("");
    // Re-login over an unparsable credentials file is refused without quoting it.
    sb.run_stdin(
        &["login", "--with-token", "--profile", "broken"],
        &format!("{LOGIN_OAUTH}\n"),
    );
    sb.set("CLAUDE_AUTH_FILE", sb.seed_path().display().to_string());
    sb.run(&["status"]);
    sb.run(&["token"]);
    tokens.push("");
    sb.run(&["logout", "--all"]);
    assert_no_leaks(&sb, &tokens);
}

#[test]
fn no_secret_leaks_from_failing_external_commands() {
    let mut sb = Sandbox::new();
    // Each helper is a script, so the command line (which errors quote, as
    // configuration) holds no secret; only the helper's output does.
    let bodies = [
        format!("echo {HELPER_SECRET} >&2; exit 1"),
        format!("echo {HELPER_SECRET}; exit 2"),
        format!("printf '{HELPER_SECRET}\\n{HELPER_SECRET}\\n'"),
        format!("printf '{{\"api_key\": {HELPER_SECRET}'"),
        format!("printf '{{\"secret\": \"{HELPER_SECRET}\"}}'"),
        format!("printf '{{\"access_token\": \"{HELPER_SECRET}\", \"expires_at\": \"soon\"}}'"),
        format!("printf '{{\"access_token\": \"{HELPER_SECRET}\", \"expires_in\": -5}}'"),
        format!("printf {HELPER_REFRESH}"),
    ];
    let mut tokens = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let script = sb.root().join(format!("helper{i}.sh"));
        write_file(&script, &format!("{body}\n"), 0o700);
        sb.set(
            "CLAUDE_AUTH_EXTERNAL_COMMAND",
            format!("sh {}", script.display()),
        );
        sb.run(&["status"]);
        sb.run(&["status", "--json"]);
        sb.run(&["token"]);
        tokens.push("");
    }
    assert_no_leaks(&sb, &tokens);
}

#[test]
fn no_secret_leaks_from_login_logout_and_refusals() {
    let mut sb = Sandbox::new();
    let (argv_oauth, argv_key) = (ARGV_OAUTH, ARGV_KEY);
    // Refused: secrets on argv, refresh tokens, empty input.
    sb.run_stdin(&["login", "--with-token", argv_oauth], "");
    sb.run_stdin(&["login", "--with-token", "--token", argv_oauth], "");
    sb.run_stdin(&["login", "--with-token", "--api-key", argv_key], "");
    sb.run_stdin(&["login", argv_key], "");
    sb.run_stdin(
        &["login", "--with-token", "--profile", "r"],
        &format!("{LOGIN_REFRESH}\n"),
    );
    // Accepted: OAuth token, API key, bearer, --type overrides.
    sb.run_stdin(
        &["login", "--with-token", "--profile", "o"],
        &format!("{LOGIN_OAUTH}\n"),
    );
    sb.run_stdin(
        &["login", "--with-token", "--profile", "k"],
        &format!("{LOGIN_KEY}\n"),
    );
    sb.run_stdin(
        &["login", "--with-token", "--profile", "b"],
        &format!("{LOGIN_BEARER}\n"),
    );
    sb.run_stdin(
        &["login", "--with-token", "--profile", "t", "--type", "oauth"],
        &format!("{LOGIN_BEARER}\n"),
    );
    // Storage that is unavailable or unconfigured.
    sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--profile",
            "kr",
            "--storage",
            "keyring",
        ],
        &format!("{LOGIN_OAUTH}\n"),
    );
    sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--profile",
            "kr2",
            "--storage",
            "keyring",
            "--no-fallback",
        ],
        &format!("{LOGIN_OAUTH}\n"),
    );
    sb.run_stdin(
        &[
            "login",
            "--with-token",
            "--profile",
            "e",
            "--storage",
            "encrypted-file",
        ],
        &format!("{LOGIN_OAUTH}\n"),
    );
    // Env credentials that are wrong for their variable.
    sb.set("ANTHROPIC_API_KEY", LOGIN_OAUTH);
    sb.run(&["status"]);
    sb.run(&["status", "--json"]);
    sb.unset("ANTHROPIC_API_KEY");
    sb.set("ANTHROPIC_AUTH_TOKEN", LOGIN_REFRESH);
    sb.run(&["status"]);
    sb.run(&["status", "--json"]);
    sb.run(&["token"]);
    sb.unset("ANTHROPIC_AUTH_TOKEN");
    run_read_commands(&sb, &["o", "k", "b", "t", "kr", "e"]);
    sb.run(&["profile", "use", "k"]);
    sb.run(&["profile", "use", "o"]);
    sb.run(&["token", "--profile", "o"]);
    sb.run(&["token", "--profile", "k"]);
    sb.run(&["token", "--profile", "b", "-n"]);
    for p in ["o", "k", "b", "t", "kr", "e"] {
        sb.run(&["logout", "--profile", p]);
    }
    sb.run(&["logout", "--all"]);
    sb.run(&["logout", "--all"]);
    assert_no_leaks(
        &sb,
        &[
            "",
            &format!("{LOGIN_OAUTH}\n"),
            &format!("{LOGIN_KEY}\n"),
            LOGIN_BEARER,
        ],
    );
}

#[test]
fn no_secret_leaks_from_a_credentials_file_with_a_wrong_type_value() {
    // A hand-edited file with the token pasted into the wrong field.
    let sb = Sandbox::new();
    write_file(
        &sb.config_path("typed"),
        r#"{"version": "1.0", "authentication": {"type": "user_oauth"}}"#,
        0o644,
    );
    write_file(
        &sb.credentials_path("typed"),
        &format!("{{\"type\": \"{BROKEN}\", \"access_token\": \"x\"}}"),
        0o600,
    );
    run_read_commands(&sb, &["typed"]);
    sb.run(&["token", "--profile", "typed"]);
    assert_no_leaks(&sb, &[""]);
}

/// A token endpoint that answers every request with the next of `answers`
/// (status, body), `{R}` replaced by the refresh token it was presented
/// (or `-` when none was). Returns its base URL.
fn echoing_token_endpoint(answers: Vec<(u16, String)>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (status, body) in answers.into_iter().cycle() {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut request = vec![0; length];
            let _ = reader.read_exact(&mut request);
            let request: serde_json::Value = serde_json::from_slice(&request).unwrap_or_default();
            let presented = request["refresh_token"].as_str().unwrap_or("-");
            let body = body.replace("{R}", presented);
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn no_secret_leaks_when_the_token_endpoint_echoes_the_refresh_token() {
    let wrapped = [
        "refresh token ({R}) is malformed",
        "token:{R}",
        "<{R}>",
        "'{R}'.",
        r#"{\"refresh_token\":\"{R}\"}"#,
        "got refresh_token={R}&grant_type=refresh_token",
    ];
    let mut answers: Vec<(u16, String)> = wrapped
        .iter()
        .map(|w| {
            (
                400,
                format!(r#"{{"error":"invalid_request","error_description":"{w}"}}"#),
            )
        })
        .collect();
    answers.push((
        500,
        r#"{"type":"error","error":{"type":"server_error","message":"while rotating {R}"}}"#.into(),
    ));
    answers.push((400, r#"{"error":"{R}","error_description":"x"}"#.into()));
    // A part of it: the server cut the value short.
    answers.push((
        400,
        format!(
            r#"{{"error":"invalid_request","error_description":"bad value {}..."}}"#,
            &ECHO_REFRESH[..20]
        ),
    ));
    let n = answers.len();
    // Last, the grant dies: its message is stored as the login's last error.
    answers.push((
        400,
        r#"{"error":"invalid_grant","error_description":"refresh token [{R}] was revoked"}"#.into(),
    ));
    let base = echoing_token_endpoint(answers);
    let sb = Sandbox::new();
    sb.write_profile(
        "echo",
        &serde_json::json!({"version": "1.0", "base_url": base,
            "authentication": {"type": "user_oauth", "client_id": "cid"}}),
        &serde_json::json!({"version": "1.0", "type": "oauth_token", "access_token": ECHO_ACCESS,
            "refresh_token": ECHO_REFRESH, "expires_at": now() - 60}),
    );
    sb.write_active_config("echo");
    let state = sb.own_dir().join("state").join("profile-echo.json");
    let mut tokens = Vec::new();
    for i in 0..=n {
        let run = sb.run(&["token"]);
        run.assert_code(if i < n { 1 } else { 4 });
        tokens.push("");
        let stored = std::fs::read_to_string(&state).unwrap();
        assert!(stored.contains("lastError"), "{stored}");
        assert_eq!(leaks(&stored), [], "state file after answer {i}: {stored}");
        sb.run(&["status"]);
        sb.run(&["status", "--json"]);
    }
    assert_no_leaks(&sb, &tokens);
}

#[test]
fn the_test_secrets_share_no_fragment() {
    for (i, a) in ALL.iter().enumerate() {
        for b in &ALL[i + 1..] {
            for f in fragments(a).iter().skip(1) {
                assert!(!b.contains(f.as_str()), "{a} and {b} share {f}");
            }
        }
    }
}
