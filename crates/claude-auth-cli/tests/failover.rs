//! Honest failover through the real `claude-auth proxy` (and `exec
//! --proxy`'s private one, which starts from the credential `exec` chose)
//! and a loopback Messages API: with
//! `[selection] fallback` set, a request the
//! subscription's limits reject is sent again with the API key, the switch
//! is printed on stderr (naming both classes, the reason and that billing
//! changes) and recorded in the usage ledger's `events`; without it the
//! rejection comes back unchanged; a 529 or a plain 429 never fails over;
//! every switch is announced (in the ledger with the agent whose request
//! made it); a stream in flight is never cut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod upstream;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use common::{now, Sandbox};
use upstream::{Upstream, OVERLOADED, STREAM_DELTAS, TEXT};

const API_KEY: &str = "sk-ant-api03-Fa1Lo4Ve8Rk2Qm6Xt0Wc3Hs7Jb9Pd5Gz-failover";
const OAUTH_TOKEN: &str = "sk-ant-oat01-Fo3Vr7Nw1Lp5Vc8Xq2Hm6Jd0Fs4Gb9Ye-failover";
const FALLBACK: &str =
    "[selection]\nfallback = [\"anthropic-subscription\", \"anthropic-api-key\", \"openai\"]\n";
const REJECTED_BODY: &str = r#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit."}}"#;

/// A subscription login (profile `work`, active) and an API key in the
/// environment, both sent to `upstream`; `config` as config.toml.
fn sandbox(upstream: &Upstream, config: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("ANTHROPIC_BASE_URL", &upstream.url);
    sb.login(Some("work"), OAUTH_TOKEN);
    sb.write_active_config("work");
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    // In the list too, but of another API than the proxy's clients speak.
    sb.set(
        "OPENAI_API_KEY",
        "sk-proj-failover-test-key-0123456789abcdef",
    );
    common::write_file(&sb.own_dir().join("config.toml"), config, 0o600);
    sb
}

/// The subscription's answer while its limit is reached: a 429 with the
/// unified status `rejected`, resetting at `reset`.
fn reject_subscription(upstream: &Upstream, reset: u64) {
    reject(upstream, OAUTH_TOKEN, reset);
}

/// `credential`'s answer while its limit is reached: a 429 with the
/// unified status `rejected`, resetting at `reset`.
fn reject(upstream: &Upstream, credential: &str, reset: u64) {
    let reset = reset.to_string();
    upstream.answer_for(
        credential,
        429,
        &[
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-reset", &reset),
            ("anthropic-ratelimit-unified-5h-utilization", "1.0"),
            ("anthropic-ratelimit-unified-5h-reset", &reset),
        ],
        REJECTED_BODY,
    );
}

/// A running `claude-auth proxy`, stderr to a file; killed on drop.
struct Proxy {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    hostport: String,
    key: String,
    stderr: PathBuf,
}

impl Proxy {
    fn start(sb: &Sandbox) -> Proxy {
        Proxy::start_with(sb, &["proxy"])
    }

    fn start_with(sb: &Sandbox, args: &[&str]) -> Proxy {
        let stderr = sb.root().join(format!("proxy-{}.stderr", now()));
        let mut child = sb
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut value = |var: &str| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line.strip_prefix(&format!("export {var}='"))
                .and_then(|l| l.strip_suffix("'\n"))
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    panic!(
                        "proxy printed {line:?}; stderr:\n{}",
                        std::fs::read_to_string(&stderr).unwrap_or_default()
                    )
                })
        };
        let url = value("ANTHROPIC_BASE_URL");
        let key = value("ANTHROPIC_API_KEY");
        Proxy {
            child,
            _stdout: stdout,
            hostport: url.trim_start_matches("http://").to_owned(),
            key,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    /// The failover notices so far.
    fn notices(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter(|l| l.starts_with("claude-auth proxy: failover: ") && l.contains(" -> "))
            .map(str::to_owned)
            .collect()
    }

    /// `POST /v1/messages` with `body`: the connection, request sent.
    fn send(&self, body: &str) -> TcpStream {
        self.send_as(&self.key, body)
    }

    /// [`send`](Self::send) with `key` as `x-api-key`.
    fn send_as(&self, key: &str, body: &str) -> TcpStream {
        let mut stream = TcpStream::connect(&self.hostport).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let request = format!(
            "POST /v1/messages HTTP/1.1\r\nHost: {}\r\nx-api-key: {}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            self.hostport,
            key,
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        stream
    }

    /// A whole exchange: (status, head, body as sent).
    fn post(&self, body: &str) -> (u16, String, String) {
        self.post_as(&self.key, body)
    }

    /// [`post`](Self::post) with `key` as `x-api-key`.
    fn post_as(&self, key: &str, body: &str) -> (u16, String, String) {
        let mut raw = Vec::new();
        self.send_as(key, body).read_to_end(&mut raw).unwrap();
        split(&String::from_utf8(raw).unwrap())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (status, head, body) of a response read to the end; a chunked body is
/// left framed (the tests only look for text in it).
fn split(raw: &str) -> (u16, String, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

const MESSAGE: &str =
    r#"{"model":"claude-test-1","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;

fn credentials(upstream: &Upstream) -> Vec<String> {
    upstream
        .credentials()
        .into_iter()
        .map(|c| match c.as_deref() {
            Some(OAUTH_TOKEN) => "subscription".to_owned(),
            Some(API_KEY) => "api-key".to_owned(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// The ledger's failover events, once `n` are there (the proxy writes them
/// off the request path; waited for with a deadline, not a sleep).
fn failover_events(sb: &Sandbox, n: usize) -> Vec<claude_auth::usage::ledger::Event> {
    let ledger = claude_auth::usage::ledger::Ledger::open_in(&sb.own_dir().join("state")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let events: Vec<_> = ledger
            .events(0)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "failover")
            .collect();
        if events.len() >= n || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_rejected_subscription_fails_over_to_the_api_key_and_says_so() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream, FALLBACK);
    reject_subscription(&upstream, now() + 3600);
    let proxy = Proxy::start(&sb);

    let (status, _, body) = proxy.post(MESSAGE);
    assert_eq!(status, 200, "{body}\n{}", proxy.stderr());
    assert!(body.contains(TEXT), "{body}");
    // Sent with the subscription, rejected, sent again with the key.
    assert_eq!(credentials(&upstream), ["subscription", "api-key"]);
    let notices = proxy.notices();
    assert_eq!(
        notices,
        [
            "claude-auth proxy: failover: anthropic-subscription -> anthropic-api-key (rejected: \
          the unified rate limit status is rejected); billing changes: requests now count \
          against pay-as-you-go API billing, not the subscription's usage windows"
        ],
        "{}",
        proxy.stderr()
    );
    // OpenAI is in the list but cannot serve a Messages API client: said.
    assert!(
        proxy.stderr().contains(
            "claude-auth proxy: failover: skipped openai: speaks OpenAI's API, not the Anthropic API this door serves (`claude-auth chat` can cross vendors)\n"
        ),
        "{}",
        proxy.stderr()
    );

    // Later requests stay on the key until the window resets: no new notice.
    upstream.clear();
    let (status, _, _) = proxy.post(MESSAGE);
    assert_eq!(status, 200);
    assert_eq!(credentials(&upstream), ["api-key"]);
    assert_eq!(proxy.notices().len(), 1);

    let events = failover_events(&sb, 1);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].provider.as_deref(), Some("anthropic"));
    assert_eq!(events[0].profile.as_deref(), Some("profile-work"));
    assert_eq!(
        events[0].detail,
        format!("proxy: {}", &notices[0]["claude-auth proxy: ".len()..])
    );
}

#[test]
fn a_switch_made_by_an_agents_request_on_a_shared_proxy_is_that_agents_in_the_ledger() {
    use claude_auth::agents::{generate_agent_key, key_hash, sessions, NewSession};
    let upstream = Upstream::start();
    let sb = sandbox(&upstream, FALLBACK);
    reject_subscription(&upstream, now() + 3600);
    let proxy = Proxy::start(&sb);
    // An agent's open session, as `exec --agent-id reviewer-1 --proxy-url`
    // registers it (watching this test process, which lives on).
    let key = generate_agent_key().unwrap();
    let ledger = claude_auth::usage::ledger::Ledger::open_in(&sb.own_dir().join("state")).unwrap();
    sessions::register(
        &ledger,
        &NewSession {
            id: "reviewer-1",
            provider: &claude_auth::Provider::Anthropic,
            profile: None,
            pid: Some(std::process::id()),
            budget: None,
            key_hash: Some(&key_hash(key.expose())),
        },
        now(),
    )
    .unwrap();

    let (status, _, body) = proxy.post_as(key.expose(), MESSAGE);
    assert_eq!(status, 200, "{body}\n{}", proxy.stderr());
    assert_eq!(credentials(&upstream), ["subscription", "api-key"]);
    assert_eq!(proxy.notices().len(), 1, "{}", proxy.stderr());
    let events = failover_events(&sb, 1);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].agent.as_deref(), events[0].profile.as_deref()),
        (Some("reviewer-1"), Some("profile-work"))
    );
}

/// A child for `exec`: one `POST /v1/messages` with curl through what the
/// environment points at, the body into `$1`, the status on stdout.
const CURL_MESSAGE: &str = r#"curl -s -o "$1" -w '%{http_code}' -H "x-api-key: $ANTHROPIC_API_KEY" \
  -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' -d "$2" \
  "$ANTHROPIC_BASE_URL/v1/messages""#;

/// `claude-auth exec <flags> -- sh -c CURL_MESSAGE`: the run, checked to
/// have ended well with a 200 and the message's text.
fn exec_message(sb: &Sandbox, flags: &[&str]) -> common::Run {
    let answer = sb.root().join("answer");
    let answer_s = answer.display().to_string();
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["--", "sh", "-c", CURL_MESSAGE, "sh", &answer_s, MESSAGE]);
    let run = sb.run(&args);
    run.assert_code(0);
    assert_eq!(run.stdout, "200", "{}", run.stderr);
    assert!(std::fs::read_to_string(&answer).unwrap().contains(TEXT));
    run
}

#[test]
fn exec_proxy_fails_over_as_the_shared_proxy_does() {
    if !common::require_curl() {
        return;
    }
    let upstream = Upstream::start();
    let sb = sandbox(&upstream, FALLBACK);
    reject_subscription(&upstream, now() + 3600);
    // The subscription explicitly, as `exec` would otherwise choose the key
    // in the environment: without failover the child gets the 429.
    let run = exec_message(
        &sb,
        &["--profile", "work", "--proxy", "--agent-id", "builder"],
    );
    // Sent with the subscription, rejected, sent again with the key.
    assert_eq!(credentials(&upstream), ["subscription", "api-key"]);
    // The same one line per switch as `claude-auth proxy`.
    let notices: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("claude-auth proxy: failover: ") && l.contains(" -> "))
        .collect();
    let notice =
        "claude-auth proxy: failover: anthropic-subscription -> anthropic-api-key (rejected: \
        the unified rate limit status is rejected); billing changes: requests now count \
        against pay-as-you-go API billing, not the subscription's usage windows";
    assert_eq!(notices, [notice], "{}", run.stderr);
    // The same event, the agent's.
    let events = failover_events(&sb, 1);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (
            events[0].agent.as_deref(),
            events[0].provider.as_deref(),
            events[0].profile.as_deref()
        ),
        (Some("builder"), Some("anthropic"), Some("profile-work"))
    );
    assert_eq!(
        events[0].detail,
        format!("proxy: {}", &notice["claude-auth proxy: ".len()..])
    );
}

#[test]
fn exec_proxy_serves_the_credential_exec_chose_first_then_the_list_after_it() {
    if !common::require_curl() {
        return;
    }
    let upstream = Upstream::start();
    let sb = sandbox(&upstream, FALLBACK);
    // exec chooses the key in the environment, the list's second entry;
    // it is rejected, the subscription (the list's first) is not.
    reject(&upstream, API_KEY, now() + 3600);
    let run = exec_message(&sb, &["--proxy", "--agent-id", "chooser"]);
    // The chosen key first, then the list without it again.
    assert_eq!(credentials(&upstream), ["api-key", "subscription"]);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("claude-auth proxy: failover"))
        .collect();
    assert_eq!(
        lines,
        [
            "claude-auth proxy: failover: skipped openai: speaks OpenAI's API, not the Anthropic API this door serves (`claude-auth chat` can cross vendors)",
            "claude-auth proxy: failover on: anthropic-api-key (ANTHROPIC_API_KEY), then \
             anthropic-subscription (profile work) (each switch is announced here and in the \
             usage ledger's events)",
            // The OpenAI key's own private proxy (`--proxy` is for both).
            "claude-auth proxy: failover: skipped anthropic-subscription: speaks Anthropic's API, not the OpenAI API this door serves (`claude-auth chat` can cross vendors)",
            "claude-auth proxy: failover: skipped anthropic-api-key: speaks Anthropic's API, not the OpenAI API this door serves (`claude-auth chat` can cross vendors)",
            "claude-auth proxy: failover on: openai-api-key (OPENAI_API_KEY) (each switch is \
             announced here and in the usage ledger's events)",
            "claude-auth proxy: failover: only one entry is usable here, so a rejection goes to the client",
            "claude-auth proxy: failover: anthropic-api-key -> anthropic-subscription (rejected: \
             the unified rate limit status is rejected); billing changes: requests now count \
             against the subscription's usage windows, not pay-as-you-go API billing",
        ],
        "{}",
        run.stderr
    );
    // The session is the chosen key's, as is the switch away from it.
    let agents = sb.run(&["agents", "--json"]);
    agents.assert_code(0);
    let list = agents.json();
    let session = &list.as_array().unwrap()[0];
    assert_eq!(session["id"], "chooser", "{list:#?}");
    assert_eq!(session["profile"], "anthropic-api-key", "{list:#?}");
    let events = failover_events(&sb, 1);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].agent.as_deref(), events[0].profile.as_deref()),
        (Some("chooser"), Some("anthropic-api-key"))
    );
}

#[test]
fn a_shared_proxy_given_a_profile_serves_that_login_first_then_the_list_after_it() {
    let upstream = Upstream::start();
    // The list puts the key first; `--profile work` names the subscription.
    let sb = sandbox(
        &upstream,
        "[selection]\nfallback = [\"anthropic-api-key\", \"anthropic-subscription\"]\n",
    );
    reject_subscription(&upstream, now() + 3600);
    let proxy = Proxy::start_with(&sb, &["--profile", "work", "proxy"]);
    let (status, _, body) = proxy.post(MESSAGE);
    assert_eq!(status, 200, "{body}\n{}", proxy.stderr());
    assert_eq!(credentials(&upstream), ["subscription", "api-key"]);
    assert!(
        proxy.stderr().contains(
            "claude-auth proxy: failover on: anthropic-subscription (profile work), then \
             anthropic-api-key (ANTHROPIC_API_KEY) (each switch is announced here and in the \
             usage ledger's events)\n"
        ),
        "{}",
        proxy.stderr()
    );
    assert_eq!(proxy.notices().len(), 1, "{}", proxy.stderr());
}

#[test]
fn with_failover_off_the_rejection_comes_back_unchanged() {
    let upstream = Upstream::start();
    // No fallback list; and a list with failover = false.
    for config in ["", "[selection]\nfallback = [\"anthropic-subscription\", \"anthropic-api-key\"]\nfailover = false\n"] {
        let sb = sandbox(&upstream, config);
        reject_subscription(&upstream, now() + 3600);
        upstream.clear();
        // The subscription explicitly (the key in the environment would
        // win otherwise), the key still there to fail over to.
        let proxy = Proxy::start_with(&sb, &["proxy", "--profile", "work"]);
        let (status, head, body) = proxy.post(MESSAGE);
        assert_eq!(status, 429);
        assert_eq!(body, REJECTED_BODY);
        assert!(head.contains("anthropic-ratelimit-unified-status: rejected"), "{head}");
        assert_eq!(credentials(&upstream), ["subscription"]);
        assert!(!proxy.stderr().contains("failover"), "{}", proxy.stderr());
    }
}

#[test]
fn an_overloaded_529_or_a_plain_429_does_not_fail_over() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream, FALLBACK);
    let proxy = Proxy::start(&sb);
    for (status, headers) in [
        (529, &[][..]),
        (429, &[("retry-after", "1")][..]),
        // A window close to full is not a full one.
        (
            429,
            &[("anthropic-ratelimit-unified-5h-utilization", "0.97")][..],
        ),
        (
            503,
            &[("anthropic-ratelimit-unified-status", "rejected")][..],
        ),
    ] {
        upstream.clear();
        upstream.answer_for(OAUTH_TOKEN, status, headers, OVERLOADED);
        let (got, _, body) = proxy.post(MESSAGE);
        assert_eq!((got, body.as_str()), (status, OVERLOADED));
        assert_eq!(
            credentials(&upstream),
            ["subscription"],
            "{status} {headers:?}"
        );
    }
    assert!(proxy.notices().is_empty(), "{}", proxy.stderr());
}

#[test]
fn every_switch_is_announced_back_and_forth() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream, FALLBACK);
    // The window resets 2 s from now.
    let reset = now() + 2;
    reject_subscription(&upstream, reset);
    let proxy = Proxy::start(&sb);
    assert_eq!(proxy.post(MESSAGE).0, 200);
    assert_eq!(proxy.notices().len(), 1);

    // Past the reset (waited for on the clock), the next request goes back
    // to the subscription (announced), which rejects again (announced).
    let deadline = Instant::now() + Duration::from_secs(10);
    while now() <= reset {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    reject_subscription(&upstream, now() + 3600);
    upstream.clear();
    assert_eq!(proxy.post(MESSAGE).0, 200);
    assert_eq!(credentials(&upstream), ["subscription", "api-key"]);
    let notices = proxy.notices();
    assert_eq!(notices.len(), 3, "{}", proxy.stderr());
    assert!(
        notices[1].starts_with(
            "claude-auth proxy: failover: anthropic-api-key -> anthropic-subscription (its rejected window has reset); billing changes: requests now count against the subscription's usage windows, not pay-as-you-go API billing"
        ),
        "{}",
        notices[1]
    );
    assert_eq!(notices[2], notices[0]);
    assert_eq!(failover_events(&sb, 3).len(), 3);
}

#[test]
fn a_body_too_large_to_keep_gets_the_rejection_and_the_next_request_moves() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream, FALLBACK);
    reject_subscription(&upstream, now() + 3600);
    let proxy = Proxy::start(&sb);
    // Over the 1 MiB the proxy keeps for a retry: streamed, so not sent again.
    let big = format!(
        r#"{{"model":"claude-test-1","max_tokens":16,"messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(1_100_000)
    );
    let (status, _, body) = proxy.post(&big);
    assert_eq!((status, body.as_str()), (429, REJECTED_BODY));
    assert_eq!(credentials(&upstream), ["subscription"]);
    assert!(proxy.notices().is_empty());
    upstream.clear();
    assert_eq!(proxy.post(MESSAGE).0, 200);
    assert_eq!(credentials(&upstream), ["api-key"]);
    assert_eq!(proxy.notices().len(), 1, "{}", proxy.stderr());
}

#[test]
fn a_stream_in_flight_is_never_cut_by_a_switch() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream, FALLBACK);
    let proxy = Proxy::start(&sb);
    let stream_body = r#"{"model":"claude-test-1","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut streaming = proxy.send(stream_body);
    // The stream has begun (its first event arrived) before the switch.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&raw).contains("message_start") {
        let n = streaming.read(&mut buf).unwrap();
        assert!(n > 0);
        raw.extend_from_slice(&buf[..n]);
    }
    reject_subscription(&upstream, now() + 3600);
    assert_eq!(proxy.post(MESSAGE).0, 200);
    assert_eq!(proxy.notices().len(), 1);
    // The first stream goes on to its end, every delta and message_stop.
    streaming.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    for delta in STREAM_DELTAS {
        assert!(text.contains(&format!(r#""text":"{delta}""#)), "{text}");
    }
    assert!(text.contains("event: message_stop"), "{text}");
    assert_eq!(
        credentials(&upstream),
        ["subscription", "subscription", "api-key"]
    );
}
