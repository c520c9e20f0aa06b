//! `claude-auth select`, `exec --strategy` and `switch --strategy/--failover/--cost`:
//! a Claude subscription at 85 % (its usage fetched by `claude-auth usage`
//! from a loopback stand-in for Anthropic's usage endpoint, into the real
//! usage cache) sends `subscription-first` to the API key, with the reason;
//! each setting's origin; the JSON shape; preferences written 0600 and
//! checked before anything is written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use common::{mode, now, write_file, Sandbox};
use serde_json::{json, Value};

const OAT: &str = "sk-ant-oat01-SelectCliTest000000000000000000000000";
const ANT_KEY: &str = "sk-ant-api03-SelectCliKeyAAAAAAAAAAAAAAAA1111";

/// A loopback stand-in for `GET /api/oauth/usage` (the real shape) with
/// the 5-hour window at `five_hour` percent; everything else 404.
fn usage_stand(five_hour: f64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let resets = claude_auth::status::rfc3339(now() + 9_000);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            let (status, body) = if request_line.starts_with("GET /api/oauth/usage ") {
                (
                    "200 OK",
                    json!({
                        "five_hour": {"utilization": five_hour, "resets_at": resets},
                        "seven_day": {"utilization": 20.0, "resets_at": null}
                    })
                    .to_string(),
                )
            } else {
                ("404 Not Found", "{}".to_owned())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A Claude subscription (spec profile `default`) behind ANTHROPIC_API_KEY,
/// its usage fetched into the cache by `claude-auth usage`.
fn claude_at(percent: f64) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_BASE_URL", usage_stand(percent))
        .set("ANTHROPIC_API_KEY", ANT_KEY);
    sb.write_static_profile("default", OAT, Some(now() + 86_400));
    let usage = sb.run(&["usage", "--json"]);
    usage.assert_code(0);
    let cached = usage.json()["logins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["login"] == "profile-default")
        .map(|l| l["snapshot"]["windows"][0]["usedPercent"].clone());
    assert_eq!(cached, Some(json!(percent)), "{}", usage.stdout);
    sb
}

fn prefs(sb: &Sandbox) -> Value {
    serde_json::from_slice(&std::fs::read(sb.own_dir().join("preferences.json")).unwrap()).unwrap()
}

const REASON_85: &str = "subscription-first: anthropic-subscription (profile default): its 5h window is at 85% (threshold 80%); using anthropic-api-key (ANTHROPIC_API_KEY), billed per token";

#[test]
fn a_subscription_at_85_percent_under_subscription_first_selects_the_api_key_and_says_why() {
    let sb = claude_at(85.0);
    let run = sb.run(&["select", "--strategy", "subscription-first", "--json"]);
    run.assert_code(0);
    let j = run.json();
    assert_eq!(j["candidate"]["class"], "anthropic-api-key");
    assert_eq!(j["reason"], REASON_85);
    let others = j["others"].as_array().unwrap();
    assert_eq!(
        others[0],
        json!({
            "candidate": j["candidates"][1],
            "why": "its 5h window is at 85% (threshold 80%)"
        })
    );
    // Recorded as the last selection, 0600.
    let p = prefs(&sb);
    assert_eq!(
        p["last_selection"],
        json!({"provider": "anthropic", "class": "anthropic-api-key", "login": "anthropic-api-key",
               "strategy": "subscription-first", "reason": REASON_85, "at": j["at"]})
    );
    assert_eq!(mode(&sb.own_dir().join("preferences.json")), 0o600);

    // exec runs the child with the chosen credential and says so, once.
    let exec = sb.run(&[
        "exec",
        "--strategy",
        "subscription-first",
        "--task",
        "code-generation",
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$ANTHROPIC_API_KEY\" \"$ANTHROPIC_PROFILE\"",
    ]);
    exec.assert_code(0);
    assert_eq!(exec.stdout, format!("{ANT_KEY}|"));
    assert_eq!(
        exec.stderr,
        format!(
            "claude-auth: using anthropic-api-key (ANTHROPIC_API_KEY) for anthropic: {REASON_85}\n"
        )
    );
}

#[test]
fn under_the_threshold_the_subscription_is_chosen_and_exec_hands_it_over() {
    let sb = claude_at(40.0);
    let run = sb.run(&["select", "--strategy", "subscription-first"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout_lines()[..2],
        [
            format!(
                "Chosen: anthropic-subscription for anthropic, from {}",
                sb.anthropic_dir().join("credentials/default.json").display()
            ),
            "Why: subscription-first: anthropic-subscription (profile default): every window under 80% (fullest: 5h at 40%)".to_owned(),
        ]
    );
    // The spec profile itself (the SDKs load and refresh it), not the key.
    let exec = sb.run(&[
        "exec",
        "--strategy",
        "subscription-first",
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$ANTHROPIC_API_KEY\" \"$ANTHROPIC_PROFILE\"",
    ]);
    exec.assert_code(0);
    assert_eq!(exec.stdout, "|default");
}

#[test]
fn each_setting_says_where_it_came_from_flag_env_preferences_config_default() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", ANT_KEY);
    let config = sb.own_dir().join("config.toml");
    write_file(
        &config,
        "[selection]\nstrategy = \"cheapest\"\nsubscription_threshold_percent = 70\nfallback = [\"anthropic\", \"openai-api-key\"]\n",
        0o600,
    );
    let origin = |sb: &Sandbox, args: &[&str]| {
        let mut all = vec!["select", "--json", "--dry-run"];
        all.extend_from_slice(args);
        let run = sb.run(&all);
        run.assert_code(0);
        let j = run.json();
        (
            j["settings"]["strategy"]["value"]
                .as_str()
                .unwrap()
                .to_owned(),
            j["settings"]["strategy"]["origin"]
                .as_str()
                .unwrap()
                .to_owned(),
            j["settings"]["strategy"]["from"].clone(),
            j["settings"].clone(),
        )
    };
    let (value, from, file, all) = origin(&sb, &[]);
    assert_eq!((value.as_str(), from.as_str()), ("cheapest", "config"));
    assert_eq!(file, format!("{} (selection.strategy)", config.display()));
    assert_eq!(all["subscriptionThresholdPercent"]["value"], 70);
    assert_eq!(
        all["failover"],
        json!({"value": true, "origin": "config", "from": format!("{} (selection.failover)", config.display())})
    );
    assert_eq!(
        all["fallback"]["value"],
        json!(["anthropic", "openai-api-key"])
    );
    assert_eq!(all["cost"], json!({"value": "any", "origin": "default"}));

    let saved = sb.run(&["switch", "--strategy", "fastest", "--failover", "off"]);
    saved.assert_code(0);
    assert_eq!(saved.stdout, "");
    let path = sb.own_dir().join("preferences.json");
    assert_eq!(
        saved.stderr,
        format!(
            "✓ Strategy: fastest (saved in {p})\n✓ Failover: off (saved in {p})\n",
            p = path.display()
        )
    );
    let (value, from, _, all) = origin(&sb, &[]);
    assert_eq!((value.as_str(), from.as_str()), ("fastest", "preferences"));
    assert_eq!(all["failover"]["value"], false);
    sb.set("CLAUDE_AUTH_STRATEGY", "prefer-openai");
    let (value, from, _, _) = origin(&sb, &[]);
    assert_eq!((value.as_str(), from.as_str()), ("prefer-openai", "env"));
    let (value, from, _, _) = origin(&sb, &["--strategy", "manual"]);
    assert_eq!((value.as_str(), from.as_str()), ("manual", "flag"));
    // A bad variable names itself.
    sb.set("CLAUDE_AUTH_STRATEGY", "smart");
    let bad = sb.run(&["select"]);
    bad.assert_code(1);
    assert!(
        bad.stderr.contains("CLAUDE_AUTH_STRATEGY") && bad.stderr.contains("subscription-first"),
        "{}",
        bad.stderr
    );
    // `default` removes a saved preference: [selection] decides again.
    sb.unset("CLAUDE_AUTH_STRATEGY");
    sb.run(&["switch", "--strategy", "default"]).assert_code(0);
    let (value, from, _, _) = origin(&sb, &[]);
    assert_eq!((value.as_str(), from.as_str()), ("cheapest", "config"));
}

#[test]
fn switch_checks_every_value_before_writing_and_never_overwrites_a_file_it_cannot_parse() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", ANT_KEY);
    let path = sb.own_dir().join("preferences.json");
    let bad = sb.run(&["switch", "--strategy", "fastest", "--cost", "free"]);
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("--cost") && bad.stderr.contains("subscription-only"),
        "{}",
        bad.stderr
    );
    assert!(!path.exists(), "nothing written when a value is bad");
    write_file(&path, "{\"strategy\": ", 0o600);
    let run = sb.run(&["switch", "--strategy", "fastest"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(&path.display().to_string()),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"strategy\": ");
    // Readers say so too, naming the file.
    let select = sb.run(&["select"]);
    select.assert_code(1);
    assert!(
        select.stderr.contains("preferences.json"),
        "{}",
        select.stderr
    );
}

#[test]
fn select_json_shape() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", ANT_KEY)
        .set("OPENAI_API_KEY", "sk-proj-SelectCliOpenaiKeyBBBBBBBB2222");
    let run = sb.run(&["select", "--json", "--task", "quick-query"]);
    run.assert_code(0);
    let j = run.json();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&j),
        [
            "at",
            "candidate",
            "candidates",
            "others",
            "provider",
            "reason",
            "recorded",
            "settings",
            "strategy",
            "task"
        ]
    );
    assert_eq!(
        keys(&j["candidate"]),
        ["class", "location", "login", "provider", "source", "winner"]
    );
    assert_eq!(
        keys(&j["settings"]),
        [
            "cost",
            "failover",
            "fallback",
            "strategy",
            "subscriptionThresholdPercent"
        ]
    );
    // Nothing set: the task's default strategy, and no latency yet.
    assert_eq!(j["strategy"], "fastest");
    assert_eq!(
        j["settings"]["strategy"],
        json!({"value": "fastest", "origin": "task", "from": "--task quick-query"})
    );
    assert_eq!(j["task"], "quick-query");
    assert!(
        j["reason"]
            .as_str()
            .unwrap()
            .starts_with("fastest: no latency recorded in the usage ledger"),
        "{}",
        j["reason"]
    );
    assert_eq!(j["candidates"].as_array().unwrap().len(), 2);
    assert_eq!(j["others"][0]["why"], "no latency recorded");
    assert_eq!(j["recorded"], true);
    // Nothing usable: exit 4 and what to do.
    let none = Sandbox::new().run(&["select"]);
    none.assert_code(4);
    assert!(none.stderr.contains("claude-auth login"), "{}", none.stderr);
}

#[test]
fn switch_json_with_only_preferences_prints_what_it_saved_and_the_settings() {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_API_KEY", ANT_KEY);
    let path = sb.own_dir().join("preferences.json");
    let from = json!(path.display().to_string());
    let run = sb.run(&[
        "switch",
        "--json",
        "--strategy",
        "fastest",
        "--failover",
        "off",
    ]);
    run.assert_code(0);
    assert_eq!(run.stderr, "", "stdout says it");
    let j = run.json();
    assert_eq!(
        j,
        json!({
            "saved": {"strategy": "fastest", "failover": false},
            "preferencesPath": from,
            "settings": {
                "strategy": {"value": "fastest", "origin": "preferences", "from": from},
                "subscriptionThresholdPercent": {"value": 80, "origin": "default"},
                "failover": {"value": false, "origin": "preferences", "from": from},
                "fallback": {"value": [], "origin": "default"},
                "cost": {"value": "any", "origin": "default"},
            },
        })
    );
    assert_eq!(mode(&path), 0o600);
    // `default` removes: null, and the setting's origin goes back.
    let j = sb
        .run(&[
            "switch",
            "--json",
            "--strategy",
            "default",
            "--cost",
            "subscription-only",
        ])
        .json();
    assert_eq!(
        j["saved"],
        json!({"strategy": null, "cost": "subscription-only"})
    );
    assert_eq!(
        j["settings"]["strategy"],
        json!({"value": "manual", "origin": "default"})
    );
    assert_eq!(
        j["settings"]["cost"],
        json!({"value": "subscription-only", "origin": "preferences", "from": from})
    );
    // With a provider too: one object, the switch's keys and these.
    let j = sb
        .run(&["switch", "anthropic", "--json", "--failover", "default"])
        .json();
    assert_eq!(j["active"]["provider"], "anthropic");
    assert_eq!(j["saved"], json!({"failover": null}));
    assert_eq!(
        j["settings"]["failover"],
        json!({"value": false, "origin": "default"})
    );
}
