#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `claude-auth chat` end to end: the real binary against the loopback
//! Messages API stand-in (tests/upstream), with an OAuth login in a spec
//! profile that pins the stand-in as its base URL. The stand-in, like the
//! real API, refuses an OAuth token without the `oauth-2025-04-20` beta, so
//! every success here also proves the header was sent.

mod common;
mod upstream;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{write_file, Sandbox};
use serde_json::{json, Value};
use upstream::{Upstream, EVENT_GAP, OAUTH_BETA, OVERLOADED, STREAM_DELTAS};

const TOKEN: &str = "sk-ant-oat01-Ch4Tq8Wm2Xr6Tn1Vb9Lc3Hf7Jp5Gz0Ya-chat-test";

/// What `chat` prints for the stand-in's streamed answer.
fn answer() -> String {
    format!("{}\n", STREAM_DELTAS.concat())
}

/// A spec profile `work` holding [`TOKEN`], pinned to the upstream.
fn sandbox(upstream: &Upstream) -> Sandbox {
    let sb = Sandbox::new();
    sb.login(Some("work"), TOKEN);
    let path = sb.config_path("work");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["base_url"] = upstream.url.as_str().into();
    write_file(&path, &config.to_string(), 0o644);
    sb
}

/// The one request the upstream got, checked for credential and beta; its
/// body as JSON.
#[track_caller]
fn only_request(upstream: &Upstream) -> Value {
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(r.all("authorization"), [format!("Bearer {TOKEN}")]);
    assert!(r.has_beta(OAUTH_BETA), "{:?}", r.all("anthropic-beta"));
    assert_eq!(r.all("anthropic-version"), ["2023-06-01"]);
    serde_json::from_str(&r.body).unwrap()
}

#[test]
fn the_prompt_as_an_argument_streams_the_answer_with_the_defaults() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    let out = sb.run(&["chat", "Say hello"]);
    out.assert_code(0);
    assert_eq!(out.stdout, answer());
    assert_eq!(out.stderr, "");
    assert_eq!(
        only_request(&upstream),
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Say hello"}],
            "stream": true,
        })
    );
}

#[test]
fn the_prompt_on_stdin_with_model_max_tokens_and_system() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    for args in [
        &[
            "chat",
            "--model",
            "claude-test-9",
            "--max-tokens",
            "77",
            "--system",
            "Be brief.",
        ][..],
        &[
            "chat",
            "-",
            "--model",
            "claude-test-9",
            "--max-tokens",
            "77",
            "--system",
            "Be brief.",
        ][..],
    ] {
        upstream.clear();
        // The trailing line break of the input is not part of the prompt.
        let out = sb.run_stdin(args, "line one\nline two\n");
        out.assert_code(0);
        assert_eq!(out.stdout, answer());
        assert_eq!(
            only_request(&upstream),
            json!({
                "model": "claude-test-9",
                "max_tokens": 77,
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "line one\nline two"}],
                "stream": true,
            }),
            "{args:?}"
        );
    }

    // Bad values are usage errors, and nothing is sent.
    upstream.clear();
    for args in [
        &["chat", "--max-tokens", "0", "hi"][..],
        &["chat", "--max-tokens", "lots", "hi"][..],
    ] {
        sb.run(args).assert_code(2);
    }
    let empty = sb.run_stdin(&["chat"], "  \n");
    empty.assert_code(2);
    assert!(empty.stderr.contains("the prompt is empty"), "{empty}");
    assert_eq!(upstream.requests().len(), 0);
}

#[test]
fn the_answer_reaches_stdout_as_it_streams() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    let mut child = sb
        .command(&["chat", "Say hello"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut chunks: Vec<(Instant, String)> = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        chunks.push((
            Instant::now(),
            String::from_utf8_lossy(&buf[..n]).into_owned(),
        ));
    }
    assert!(child.wait().unwrap().success());
    let all: String = chunks.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(all, answer());
    // The upstream waits EVENT_GAP between events: a buffering `chat` would
    // write everything at once at the end.
    let first_text = chunks.first().unwrap().0;
    let last_text = chunks.iter().rev().find(|(_, c)| c.trim() != "").unwrap().0;
    assert!(
        last_text - first_text >= EVENT_GAP * 2,
        "the deltas came out together: {:?}",
        chunks
            .iter()
            .map(|(t, c)| (t.duration_since(first_text), c.clone()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_401_fails_with_the_apis_message_and_exit_4() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    upstream.reject(TOKEN);
    let out = sb.run(&["chat", "Say hello"]);
    out.assert_code(4);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "error: {}/v1/messages answered HTTP 401 authentication_error: invalid x-api-key (request-id req_upstream_test)\n\
             hint: the credential was rejected; see `claude-auth status`, or log in again\n",
            upstream.url
        )
    );
    // Sent once: a static login cannot be refreshed, so no retry.
    assert_eq!(upstream.requests().len(), 1);
}

#[test]
fn a_529_is_retried_twice_with_backoff_then_reported() {
    let upstream = Upstream::start();
    let sb = sandbox(&upstream);
    upstream.fail_with(Some((529, OVERLOADED)));
    let started = Instant::now();
    let out = sb.run(&["chat", "Say hello"]);
    let took = started.elapsed();
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "error: {}/v1/messages answered HTTP 529 overloaded_error: Overloaded (request-id req_upstream_test)\n\
             hint: the API is overloaded; try again later\n",
            upstream.url
        )
    );
    let requests = upstream.requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert!(requests.iter().all(|r| r.body == requests[0].body));
    // Backoff 0.5 s then 1 s, each with up to 25 % jitter off.
    let gaps: Vec<Duration> = requests.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps[0] >= Duration::from_millis(375) && gaps[0] < Duration::from_millis(1000),
        "{gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_millis(750) && gaps[1] < Duration::from_millis(2000),
        "{gaps:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}
