#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `exec`, `exec --proxy`, `proxy` and `env` end to end: the real binary, the
//! official Python SDK (`anthropic`, from the test venv) as the client, a
//! loopback stand-in for the Messages API as the upstream (tests/upstream),
//! and the OAuth rig (oidc-provider + headless Chromium) for refreshes.
//!
//! Without `CLAUDE_AUTH_TEST_PYTHON` (Python tests) or
//! `CLAUDE_AUTH_TEST_OAUTH_RIG` (rig tests) a test fails under `CI` and says
//! it skipped otherwise; `scripts/test` sets both.

mod common;
mod rig;
mod upstream;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use claude_auth::store::profile_files::ProfileFiles;
use common::{now, test_python, write_file, Run, Sandbox, BIN, PATH};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rig::{skip, Rig};
use serde_json::Value;
use upstream::{Upstream, EVENT_GAP, STREAM_DELTAS, TEXT};

const API_KEY: &str = "sk-ant-api03-Qm7Xr2Lk9Vd4Tn8Wc3Hs6Jb1Fp5Gz0Ya-exec-test";
const OAUTH_TOKEN: &str = "sk-ant-oat01-Zt4Rk8Nw2Lp6Vc9Xq3Hm7Jd1Fs5Gb0Ye-proxy-test";
const OAUTH_BETA: &str = "oauth-2025-04-20";

/// Every variable through which a credential can reach a child.
const CREDENTIAL_VARS: [&str; 6] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_ACCESS_TOKEN",
    "CLAUDE_REFRESH_TOKEN",
    "ANTHROPIC_PROFILE",
];

/// One `messages.create`; prints the answer and the whole environment as JSON.
/// `argv[1]`, when given, is sent as `anthropic-beta`.
const PY_CREATE: &str = r#"
import json, os, sys, anthropic
client = anthropic.Anthropic(max_retries=0)
extra = {"extra_headers": {"anthropic-beta": sys.argv[1]}} if len(sys.argv) > 1 else {}
m = client.messages.create(model="claude-test-1", max_tokens=16,
                           messages=[{"role": "user", "content": "hi"}], **extra)
print(json.dumps({"id": m.id, "text": m.content[0].text, "env": dict(os.environ),
                  "version": anthropic._constants.ANTHROPIC_API_VERSION}))
"#;

/// `messages.stream`: a monotonic timestamp per text delta.
const PY_STREAM: &str = r#"
import json, time, anthropic
client = anthropic.Anthropic(max_retries=0)
deltas = []
with client.messages.stream(model="claude-test-1", max_tokens=16,
                            messages=[{"role": "user", "content": "hi"}]) as stream:
    for text in stream.text_stream:
        deltas.append([time.monotonic(), text])
    final = stream.get_final_message()
print(json.dumps({"deltas": deltas, "stop_reason": final.stop_reason}))
"#;

/// `argv[1]` requests from as many threads, released together by a barrier;
/// prints each one's HTTP status.
const PY_PARALLEL: &str = r#"
import json, sys, threading, anthropic
n = int(sys.argv[1])
client = anthropic.Anthropic(max_retries=0)
barrier = threading.Barrier(n)
def one(i):
    barrier.wait()
    try:
        m = client.messages.create(model="claude-test-1", max_tokens=16,
                                   messages=[{"role": "user", "content": "hi %d" % i}])
        return 200 if m.content[0].text == "hello" else -1
    except anthropic.APIStatusError as e:
        return e.status_code
threads, codes = [], [None] * n
def run(i):
    codes[i] = one(i)
for i in range(n):
    t = threading.Thread(target=run, args=(i,))
    t.start()
    threads.append(t)
for t in threads:
    t.join()
print(json.dumps(codes))
"#;

// ---------------------------------------------------------------------------
// helpers

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The sandbox for these tests: `LC_ALL` fixed so Python adds no `LC_CTYPE`
/// of its own (PEP 538) to the environment it reports.
fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.set("LC_ALL", "C.UTF-8");
    sb
}

/// Run the binary (stdin closed) with the sandbox's environment plus `extra`.
fn run(sb: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let out = sb
        .command(args)
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// `python -c script args…` with the sandbox's environment plus `extra`.
fn python(sb: &Sandbox, py: &str, script: &str, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(py);
    cmd.arg("-c")
        .arg(script)
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", sb.home())
        .env("LC_ALL", "C.UTF-8")
        .envs(extra.iter().copied())
        .current_dir(sb.home())
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    Run {
        args: vec!["python".into()],
        code: out.status.code().unwrap_or(-1),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// The JSON the Python script printed (its last stdout line).
#[track_caller]
fn py_json(run: &Run) -> Value {
    run.assert_code(0);
    let last = run.stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}):\n{run}"))
}

/// The environment a Python child reported.
fn child_env(out: &Value) -> BTreeMap<String, String> {
    out["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn keys(env: &BTreeMap<String, String>) -> Vec<&str> {
    env.keys().map(String::as_str).collect()
}

/// Make `profile`'s config pin `base_url` (as a user or `ant profile set` would).
fn pin_base_url(sb: &Sandbox, profile: &str, base_url: &str) {
    let path = sb.config_path(profile);
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["base_url"] = base_url.into();
    write_file(
        &path,
        &serde_json::to_string_pretty(&config).unwrap(),
        0o644,
    );
}

/// A raw HTTP/1.1 exchange: (status, body). Reads exactly one response
/// (Content-Length or chunked, decoded), whether or not the server closes.
fn raw_http(hostport: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(hostport).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(done) = parse_response(&raw) {
            return done;
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed mid-response: {:?}", text(&raw));
        raw.extend_from_slice(&buf[..n]);
    }
}

/// A complete response in `raw`, if there is one.
fn parse_response(raw: &[u8]) -> Option<(u16, String)> {
    let raw = std::str::from_utf8(raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    if let Some(len) = header("content-length") {
        let len: usize = len.parse().ok()?;
        return (body.len() >= len).then(|| (status, body[..len].to_owned()));
    }
    assert_eq!(
        header("transfer-encoding").as_deref(),
        Some("chunked"),
        "neither Content-Length nor chunked: {head}"
    );
    let mut out = String::new();
    let mut rest = body;
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let n = usize::from_str_radix(size.trim(), 16).ok()?;
        if n == 0 {
            return after.starts_with("\r\n").then_some((status, out));
        }
        out.push_str(after.get(..n)?);
        rest = after.get(n + 2..)?;
    }
}

/// A running `claude-auth proxy`: its export lines parsed, stderr to a file.
/// Killed on drop unless [`ProxyProc::stop`]ped.
struct ProxyProc {
    child: Option<Child>,
    _stdout: BufReader<ChildStdout>,
    url: String,
    key: String,
    stderr_path: PathBuf,
}

impl ProxyProc {
    fn start(sb: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> ProxyProc {
        let mut cmd = sb.command(args);
        cmd.envs(extra.iter().copied());
        ProxyProc::spawn(sb, cmd)
    }

    /// [`ProxyProc::start`] with at most `nofile` file descriptors
    /// (`ulimit -n`, then `exec`: the child's pid is the proxy's).
    fn start_limited(sb: &Sandbox, args: &[&str], nofile: u32) -> ProxyProc {
        let inner = sb.command(args);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .current_dir(sb.home());
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        ProxyProc::spawn(sb, cmd)
    }

    fn spawn(sb: &Sandbox, mut cmd: Command) -> ProxyProc {
        let stderr_path = sb.root().join(format!(
            "proxy-{}.stderr",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            lines.push(line);
        }
        let value = |line: &str, var: &str| -> Option<String> {
            line.strip_prefix(&format!("export {var}='"))?
                .strip_suffix("'\n")
                .map(str::to_owned)
        };
        let (Some(url), Some(key)) = (
            value(&lines[0], "ANTHROPIC_BASE_URL"),
            value(&lines[1], "ANTHROPIC_API_KEY"),
        ) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "proxy printed {lines:?}; stderr:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        };
        ProxyProc {
            child: Some(child),
            _stdout: stdout,
            url,
            key,
            stderr_path,
        }
    }

    /// CPU time the proxy has used so far (user and system).
    fn cpu_time(&self) -> Duration {
        let pid = self.child.as_ref().unwrap().id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // After the command name: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // USER_HZ is 100 on Linux.
        Duration::from_millis(ticks * 10)
    }

    fn hostport(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// The variables a client of this proxy needs.
    fn client_env(&self) -> [(&str, &str); 2] {
        [
            ("ANTHROPIC_BASE_URL", self.url.as_str()),
            ("ANTHROPIC_API_KEY", self.key.as_str()),
        ]
    }

    /// SIGTERM, wait: (exit code, stderr).
    fn stop(mut self) -> (i32, String) {
        let mut child = self.child.take().unwrap();
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        let status = child.wait().unwrap();
        (
            status.code().unwrap_or(-1),
            std::fs::read_to_string(&self.stderr_path).unwrap(),
        )
    }
}

impl Drop for ProxyProc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Browser logins one at a time (three Chromiums at once on two cores are
/// slower than three in a row).
static BROWSER: Mutex<()> = Mutex::new(());

/// A rig login and a sandbox whose `work` profile holds its tokens, expiring
/// `expires_in` seconds after the login (returned as `expires_at`), with
/// `base_url` = the upstream and refreshes routed to the rig by a provider
/// preset and the profile's state file. The guard keeps other tests' browsers
/// from starting while it is held.
fn rig_profile(
    rig: &Rig,
    upstream: &Upstream,
    expires_in: i64,
) -> (Sandbox, u64, MutexGuard<'static, ()>) {
    let guard = BROWSER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut set = rig.tokens_from_browser_login("form");
    let sb = sandbox();
    let expires_at = now().checked_add_signed(expires_in).unwrap();
    set.expires_at = Some(expires_at);
    let files = ProfileFiles::new(sb.anthropic_dir());
    files
        .write_config_if_missing("work", &set, Some(&upstream.url))
        .unwrap();
    files.write_credentials("work", &set).unwrap();
    files.set_active_profile("work").unwrap();
    write_file(
        &sb.own_dir().join("config.toml"),
        &rig.provider_toml("rig", "form", "form"),
        0o600,
    );
    write_file(
        &sb.own_dir().join("state/profile-work.json"),
        r#"{"provider":"rig"}"#,
        0o600,
    );
    rig.admin("reset");
    (sb, expires_at, guard)
}

/// (access token, refresh token) stored for `work`.
fn stored_tokens(sb: &Sandbox) -> (String, String) {
    let v: Value =
        serde_json::from_slice(&std::fs::read(sb.credentials_path("work")).unwrap()).unwrap();
    (
        v["access_token"].as_str().unwrap().to_owned(),
        v["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn bearer(token: &str) -> Option<String> {
    Some(token.to_owned())
}

// ---------------------------------------------------------------------------
// 1. exec with an API key

#[test]
fn exec_with_an_api_key_gives_the_sdk_exactly_that_key() {
    let Some(py) = test_python("exec_with_an_api_key") else {
        return;
    };
    let upstream = Upstream::start();
    let mut sb = sandbox();
    sb.set("ANTHROPIC_API_KEY", API_KEY)
        .set("ANTHROPIC_BASE_URL", &upstream.url)
        // Credentials the child must not inherit.
        .set("ANTHROPIC_AUTH_TOKEN", "sk-ant-oat01-shadowed-auth-token")
        .set(
            "CLAUDE_CODE_OAUTH_TOKEN",
            "sk-ant-oat01-shadowed-claude-code",
        )
        .set("CLAUDE_ACCESS_TOKEN", "sk-ant-oat01-shadowed-seed-access")
        .set("CLAUDE_REFRESH_TOKEN", "sk-ant-ort01-shadowed-seed-refresh");
    let out = run(&sb, &["exec", "--", &py, "-c", PY_CREATE], &[]);
    let got = py_json(&out);
    assert_eq!(got["text"], TEXT);
    assert_eq!(got["id"], "msg_1");

    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v1/messages")
    );
    // anthropic 2.12.0 sends an API key as `Authorization: Bearer` (older
    // SDKs used x-api-key): either way exactly one credential header, the key.
    assert_eq!(r.all("x-api-key"), Vec::<&str>::new());
    assert_eq!(r.all("authorization"), [format!("Bearer {API_KEY}")]);
    assert_eq!(
        r.all("anthropic-version"),
        [got["version"].as_str().unwrap()]
    );

    let env = child_env(&got);
    assert_eq!(
        keys(&env),
        [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "CLAUDE_AUTH_EXEC",
            "DBUS_SESSION_BUS_ADDRESS",
            "HOME",
            "LC_ALL",
            "PATH",
        ]
    );
    assert_eq!(env["ANTHROPIC_API_KEY"], API_KEY);
    assert_eq!(env["ANTHROPIC_BASE_URL"], upstream.url);
    assert_eq!(env["CLAUDE_AUTH_EXEC"], "ANTHROPIC_API_KEY");
    let credential_vars: Vec<&str> = CREDENTIAL_VARS
        .into_iter()
        .filter(|v| env.contains_key(*v))
        .collect();
    assert_eq!(credential_vars, ["ANTHROPIC_API_KEY"]);
}

#[test]
fn exec_strips_the_workload_identity_token_too() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaS1qb2IifQ.c2lnbmF0dXJl";
    let mut sb = sandbox();
    sb.set("ANTHROPIC_API_KEY", API_KEY)
        .set("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        .set("ANTHROPIC_FEDERATION_RULE_ID", "fdrl_test")
        .set(
            "ANTHROPIC_ORGANIZATION_ID",
            "6f1b8d2e-0000-4000-8000-000000000001",
        )
        .set("ANTHROPIC_IDENTITY_TOKEN", jwt);
    let show = "printf %s \"${ANTHROPIC_IDENTITY_TOKEN-unset}\"";
    for mode in [&["exec", "--"][..], &["exec", "--proxy", "--"][..]] {
        let mut args = mode.to_vec();
        args.extend(["sh", "-c", show]);
        let out = run(&sb, &args, &[]);
        out.assert_code(0);
        assert_eq!(out.stdout, "unset", "{mode:?} passed the identity token on");
    }
}

// ---------------------------------------------------------------------------
// 2. exec --proxy with an OAuth profile

#[test]
fn exec_proxy_hides_the_oauth_token_and_injects_bearer_and_merged_beta() {
    let Some(py) = test_python("exec_proxy_oauth") else {
        return;
    };
    let upstream = Upstream::start();
    let sb = sandbox();
    sb.login(Some("work"), OAUTH_TOKEN);
    pin_base_url(&sb, "work", &upstream.url);

    let out = run(
        &sb,
        &["exec", "--proxy", "--", &py, "-c", PY_CREATE, "foo-2025"],
        &[],
    );
    let got = py_json(&out);
    assert_eq!(got["text"], TEXT);

    let env = child_env(&got);
    assert_eq!(
        keys(&env),
        [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "CLAUDE_AUTH_EXEC",
            "DBUS_SESSION_BUS_ADDRESS",
            "HOME",
            "LC_ALL",
            "PATH",
        ]
    );
    let base = &env["ANTHROPIC_BASE_URL"];
    let port = base.strip_prefix("http://127.0.0.1:").expect(base);
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "{base}");
    let local_key = &env["ANTHROPIC_API_KEY"];
    assert!(local_key.starts_with("ca-local-"), "{local_key}");
    assert!(local_key.len() > "ca-local-".len() + 20);
    assert_eq!(env["CLAUDE_AUTH_EXEC"], "work");
    let credential_vars: Vec<&str> = CREDENTIAL_VARS
        .into_iter()
        .filter(|v| env.contains_key(*v))
        .collect();
    assert_eq!(credential_vars, ["ANTHROPIC_API_KEY"]);
    for (k, v) in &env {
        assert!(
            !v.contains(OAUTH_TOKEN),
            "the real token reached the child in {k}"
        );
    }
    assert!(!out.stdout.contains(OAUTH_TOKEN));

    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let r = &requests[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.all("authorization"), [format!("Bearer {OAUTH_TOKEN}")]);
    assert_eq!(r.all("x-api-key"), Vec::<&str>::new());
    assert_eq!(r.all("anthropic-beta"), [format!("foo-2025,{OAUTH_BETA}")]);
    assert_eq!(
        r.all("anthropic-version"),
        [got["version"].as_str().unwrap()]
    );
    assert!(
        r.headers.iter().all(|(_, v)| !v.contains(local_key)),
        "the local key went upstream"
    );
}

// ---------------------------------------------------------------------------
// 2b. plain exec with a refreshable spec profile: the child gets the profile

#[test]
fn plain_exec_refreshes_a_due_profile_first_and_the_sdk_uses_the_rotated_token() {
    let Some(py) = test_python("plain_exec_spec_profile_refresh") else {
        return;
    };
    let Some(rig) = Rig::start(&[]) else {
        return skip("plain_exec_spec_profile_refresh");
    };
    let upstream = Upstream::start();
    // Expiring in 60 s: inside the refresh threshold (300 s), not expired.
    let (sb, _, guard) = rig_profile(&rig, &upstream, 60);
    drop(guard);
    let (old_access, old_refresh) = stored_tokens(&sb);

    let out = run(&sb, &["exec", "--", &py, "-c", PY_CREATE], &[]);
    let got = py_json(&out);
    assert_eq!(got["text"], TEXT);

    // One refresh, made by exec before the child started, written to the
    // profile; the SDK read the rotated token from it (no second refresh,
    // no reuse of the rotated-away refresh token).
    assert_eq!(rig.stat("refreshGrants"), 1);
    assert_eq!(rig.stat("reuseDetected"), 0);
    let (new_access, new_refresh) = stored_tokens(&sb);
    assert_ne!(new_access, old_access);
    assert_ne!(new_refresh, old_refresh);
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(
        requests[0].all("authorization"),
        [format!("Bearer {new_access}")]
    );
    assert_eq!(requests[0].all("anthropic-beta"), [OAUTH_BETA]);

    let env = child_env(&got);
    assert_eq!(env["ANTHROPIC_PROFILE"], "work");
    assert_eq!(
        env["ANTHROPIC_CONFIG_DIR"],
        sb.anthropic_dir().display().to_string()
    );
    for var in ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"] {
        assert!(!env.contains_key(var), "{var} reached the child");
    }
    for (k, v) in &env {
        assert!(
            !v.contains(&new_refresh),
            "the refresh token reached the child in {k}"
        );
    }
}

// ---------------------------------------------------------------------------
// 3. streaming is not buffered

#[test]
fn proxy_streams_sse_deltas_as_they_come() {
    let Some(py) = test_python("proxy_streams") else {
        return;
    };
    let upstream = Upstream::start();
    let sb = sandbox();
    sb.login(Some("work"), OAUTH_TOKEN);
    pin_base_url(&sb, "work", &upstream.url);

    let out = run(&sb, &["exec", "--proxy", "--", &py, "-c", PY_STREAM], &[]);
    let got = py_json(&out);
    assert_eq!(got["stop_reason"], "end_turn");
    let deltas = got["deltas"].as_array().unwrap();
    let texts: Vec<&str> = deltas.iter().map(|d| d[1].as_str().unwrap()).collect();
    assert_eq!(texts, STREAM_DELTAS);
    let times: Vec<f64> = deltas.iter().map(|d| d[0].as_f64().unwrap()).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // The upstream waits EVENT_GAP (150 ms) between events; a buffering proxy
    // would hand them over together.
    assert!(EVENT_GAP >= Duration::from_millis(150));
    assert!(
        gaps.iter().all(|g| *g >= 0.100),
        "deltas arrived bunched: gaps {gaps:?}"
    );
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].body.contains(r#""stream":true"#),
        "{}",
        requests[0].body
    );
}

// ---------------------------------------------------------------------------
// 4. one refresh for many parallel requests

#[test]
fn a_token_expiring_between_requests_is_refreshed_once_for_twenty_parallel_requests() {
    let Some(py) = test_python("parallel_refresh") else {
        return;
    };
    let Some(rig) = Rig::start(&[]) else {
        return skip("parallel_refresh");
    };
    let upstream = Upstream::start();
    // Refresh 10 s before expiry, expiry in 35 s: valid when the proxy starts
    // and for the first request, due for refresh 25 s after the login (room
    // for starting the proxy and the SDK on a loaded 2-core machine). No
    // other test starts a browser meanwhile (the guard).
    const THRESHOLD: u64 = 10;
    let (mut sb, expires_at, guard) = rig_profile(&rig, &upstream, 35);
    sb.set("CLAUDE_AUTH_REFRESH_THRESHOLD_SECS", THRESHOLD.to_string());
    let due = expires_at - THRESHOLD;
    let (old_access, old_refresh) = stored_tokens(&sb);

    let proxy = ProxyProc::start(&sb, &["proxy", "--profile", "work"], &[]);
    let env = proxy.client_env();
    let first = python(&sb, &py, PY_CREATE, &[], &env);
    py_json(&first);
    assert!(
        now() < due,
        "the machine is too slow for this test: the first request ended after the refresh point"
    );
    drop(guard);
    assert_eq!(upstream.credentials(), [bearer(&old_access)]);
    assert_eq!(rig.stat("refreshGrants"), 0, "refreshed before it was due");

    // Wait for the clock (not for luck) to pass the refresh point.
    let deadline = Instant::now() + Duration::from_secs(30);
    while now() < due {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    upstream.clear();
    rig.admin("delay?ms=300"); // keep the refresh in flight while the others arrive
    let codes = python(&sb, &py, PY_PARALLEL, &["20"], &env);
    let codes: Vec<u16> = serde_json::from_value(py_json(&codes)).unwrap();
    assert_eq!(codes, [200; 20]);

    assert_eq!(rig.stat("refreshGrants"), 1);
    assert_eq!(rig.stat("reuseDetected"), 0);
    let (new_access, new_refresh) = stored_tokens(&sb);
    assert_ne!(new_access, old_access);
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(upstream.credentials(), vec![bearer(&new_access); 20]);
    let (code, stderr) = proxy.stop();
    assert_eq!(code, 0, "{stderr}");
}

// ---------------------------------------------------------------------------
// 5. 401 → one refresh, one retry

#[test]
fn an_upstream_401_causes_one_refresh_and_one_retry() {
    let Some(py) = test_python("refresh_on_401") else {
        return;
    };
    let Some(rig) = Rig::start(&[]) else {
        return skip("refresh_on_401");
    };
    let upstream = Upstream::start();
    let (sb, _, guard) = rig_profile(&rig, &upstream, 3600);
    drop(guard);
    let (old_access, _) = stored_tokens(&sb);
    upstream.reject(&old_access);
    // The second round below comes inside the forced-refresh cooldown of the
    // first; with no cooldown each round of 401s gets its own refresh (that
    // the cooldown holds back-to-back rounds to one grant is oauth_refresh's
    // `forced_refreshes_inside_the_cooldown_make_one_grant`).
    let settings = sb.own_dir().join("config.toml");
    let mut toml = std::fs::read_to_string(&settings).unwrap();
    toml.push_str("\n[refresh]\nforced_cooldown_secs = 0\n");
    write_file(&settings, &toml, 0o600);

    let proxy = ProxyProc::start(&sb, &["proxy", "--profile", "work"], &[]);
    let out = python(&sb, &py, PY_CREATE, &[], &proxy.client_env());
    assert_eq!(py_json(&out)["text"], TEXT);

    assert_eq!(rig.stat("refreshGrants"), 1);
    assert_eq!(rig.stat("reuseDetected"), 0);
    let (new_access, _) = stored_tokens(&sb);
    assert_ne!(new_access, old_access);
    assert_eq!(
        upstream.credentials(),
        [bearer(&old_access), bearer(&new_access)]
    );
    let requests = upstream.requests();
    assert_eq!(
        requests[0].body, requests[1].body,
        "the retry resends the body"
    );

    // Twenty requests rejected at once: still one refresh, one retry each.
    upstream.reject(&new_access);
    upstream.clear();
    rig.admin("delay?ms=300");
    let codes = python(&sb, &py, PY_PARALLEL, &["20"], &proxy.client_env());
    let codes: Vec<u16> = serde_json::from_value(py_json(&codes)).unwrap();
    assert_eq!(codes, [200; 20]);
    assert_eq!(rig.stat("refreshGrants"), 2);
    assert_eq!(rig.stat("reuseDetected"), 0);
    let (newest, _) = stored_tokens(&sb);
    let seen = upstream.credentials();
    assert_eq!(seen.len(), 40, "{seen:?}");
    for (token, want) in [(&new_access, 20), (&newest, 20)] {
        assert_eq!(
            seen.iter().filter(|c| c.as_ref() == Some(token)).count(),
            want
        );
    }

    let (code, stderr) = proxy.stop();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("claude-auth proxy: POST /v1/messages -> 200"))
            .count(),
        21,
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------
// 6. the proxy is no open proxy and needs its key

#[test]
fn proxy_refuses_missing_and_wrong_keys_absolute_targets_and_connect() {
    let upstream = Upstream::start();
    let mut sb = sandbox();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let proxy = ProxyProc::start(&sb, &["proxy", "--upstream", &upstream.url], &[]);
    let hp = proxy.hostport().to_owned();
    let get = |auth: &str| {
        format!("GET /v1/models HTTP/1.1\r\nHost: {hp}\r\n{auth}Connection: close\r\n\r\n")
    };
    let auth_error = |body: &str| {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(v["type"], "error");
        v["error"]["type"].as_str().unwrap().to_owned()
    };

    for auth in [
        String::new(),
        "x-api-key: ca-local-wrong\r\n".to_owned(),
        "Authorization: Bearer ca-local-wrong\r\n".to_owned(),
        // The real credential is not the local key either.
        format!("x-api-key: {API_KEY}\r\n"),
        // A key that is a prefix of the right one.
        format!("x-api-key: {}\r\n", &proxy.key[..proxy.key.len() - 1]),
    ] {
        let (status, body) = raw_http(&hp, &get(&auth));
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(auth_error(&body), "authentication_error");
    }
    let key = format!("x-api-key: {}\r\n", proxy.key);
    let (status, body) = raw_http(
        &hp,
        &format!(
            "GET http://example.com/v1/models HTTP/1.1\r\nHost: example.com\r\n{key}Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(auth_error(&body), "permission_error");
    let (status, body) = raw_http(
        &hp,
        &format!("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n{key}\r\n"),
    );
    // A method the proxy does not serve, not a forbidden target.
    assert_eq!(status, 405, "{body}");
    assert_eq!(auth_error(&body), "invalid_request_error");
    assert!(body.contains("the CONNECT method is refused"), "{body}");
    assert_eq!(upstream.requests().len(), 0, "{:#?}", upstream.requests());

    // The control: with the key, the request goes through.
    let (status, body) = raw_http(&hp, &get(&key));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"][0]["id"],
        upstream::MODEL
    );
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].all("x-api-key"), [API_KEY]);
    assert_eq!(requests[0].all("authorization"), Vec::<&str>::new());
    let (code, stderr) = proxy.stop();
    assert_eq!(code, 0, "{stderr}");
}

// ---------------------------------------------------------------------------
// 7. exec: exit codes, signals, nesting, agent variables

/// Whether `pid` has a handler installed for `sig` (`SigCgt` in /proc).
#[test]
fn the_access_log_escapes_control_and_bidi_characters_the_client_sent() {
    let upstream = Upstream::start();
    let mut sb = sandbox();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let proxy = ProxyProc::start(&sb, &["proxy", "--upstream", &upstream.url], &[]);
    let hp = proxy.hostport().to_owned();
    let mut expected = Vec::new();
    // Without the local key: anyone on the machine can send these. hyper
    // refuses control characters in a target itself (400, before the
    // proxy sees the request); what it lets through is escaped.
    for (path, status, logged) in [
        ("/v1/\u{202e}txt.exe", 401, Some("/v1/\\u{202e}txt.exe")),
        ("/v1/caf\u{e9}\\x", 401, Some("/v1/caf\\u{e9}\\\\x")),
        ("/v1/\u{1b}[31mred", 400, None),
        ("/v1/a\u{7f}", 400, None),
    ] {
        let (got, body) = raw_http(
            &hp,
            &format!("GET {path} HTTP/1.1\r\nHost: {hp}\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(got, status, "{path:?}: {body}");
        if let Some(logged) = logged {
            expected.push(format!("claude-auth proxy: GET {logged} -> {status}"));
        }
    }
    let (code, log) = proxy.stop();
    assert_eq!(code, 0, "{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("claude-auth proxy: GET"))
        .map(|l| l.rsplit_once(" (").unwrap().0)
        .collect();
    assert_eq!(lines, expected, "{log}");
    let raw: Vec<char> = log
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || !c.is_ascii())
        .collect();
    assert!(raw.is_empty(), "raw {raw:?} in the log:\n{log}");
    assert_eq!(upstream.requests().len(), 0);
}

#[test]
fn out_of_file_descriptors_the_proxy_backs_off_and_serves_once_they_free() {
    let upstream = Upstream::start();
    let mut sb = sandbox();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let proxy =
        ProxyProc::start_limited(&sb, &["proxy", "--upstream", &upstream.url, "--quiet"], 48);
    let hp = proxy.hostport().to_owned();
    // More held-open connections than the proxy has descriptors for: those
    // it cannot accept wait in the backlog, and each accept fails (EMFILE).
    let held: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(&hp).unwrap()).collect();
    let before = proxy.cpu_time();
    let hold = Duration::from_secs(2);
    std::thread::sleep(hold);
    let used = proxy.cpu_time() - before;
    // Retrying a failing accept at once spins a core (about `hold` when the
    // machine is idle, 440 ms at a load of 16 on 2 cores); backing off costs
    // next to nothing (10 ms).
    assert!(
        used < Duration::from_millis(150),
        "the proxy used {used:?} of CPU in {hold:?} while out of descriptors"
    );
    drop(held);
    let (status, body) = raw_http(
        &hp,
        &format!(
            "GET /v1/models HTTP/1.1\r\nHost: {hp}\r\nx-api-key: {}\r\nConnection: close\r\n\r\n",
            proxy.key
        ),
    );
    assert_eq!(status, 200, "{body}");
    let (code, log) = proxy.stop();
    assert_eq!(code, 0, "{log}");
}

fn catches(pid: u32, sig: Signal) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (sig as i32 - 1)) != 0)
}

#[test]
fn exec_passes_exit_codes_and_signals_refuses_nesting_and_sets_agent_vars() {
    let mut sb = sandbox();
    sb.set("ANTHROPIC_API_KEY", API_KEY);
    let exec = |args: &[&str], extra: &[(&str, &str)]| {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        run(&sb, &all, extra)
    };

    exec(&["--", "sh", "-c", "exit 7"], &[]).assert_code(7);
    exec(&["--", "sh", "-c", "exit 0"], &[]).assert_code(0);
    // Killed by a signal: 128 + signal.
    exec(&["--", "sh", "-c", "kill -TERM $$"], &[]).assert_code(143);
    exec(&["--", "sh", "-c", "kill -KILL $$"], &[]).assert_code(137);

    // A missing program: 127, as in a shell.
    let missing = exec(&["--", "no-such-program-claude-auth-test"], &[]);
    missing.assert_code(127);
    assert!(missing.stderr.contains("no-such-program-claude-auth-test"));
    exec(&["--", "/nonexistent/dir/prog"], &[]).assert_code(127);

    // Nesting.
    let nested = exec(&["--", "sh", "-c", "exit 0"], &[("CLAUDE_AUTH_EXEC", "x")]);
    nested.assert_code(2);
    assert!(nested.stderr.contains("already inside"), "{nested}");
    let forced = exec(
        &[
            "--force",
            "--",
            "sh",
            "-c",
            "printf %s \"$CLAUDE_AUTH_EXEC\"",
        ],
        &[("CLAUDE_AUTH_EXEC", "x")],
    );
    forced.assert_code(0);
    assert_eq!(forced.stdout, "ANTHROPIC_API_KEY");

    // Agent variables only with --agent-id.
    let show = "printf '%s|%s' \"${AGENT_ID-unset}\" \"${ACTIVE_AUTH_PROVIDER-unset}\"";
    let agent = exec(&["--agent-id", "A1", "--", "sh", "-c", show], &[]);
    agent.assert_code(0);
    assert_eq!(agent.stdout, "A1|anthropic");
    let plain = exec(&["--", "sh", "-c", show], &[]);
    assert_eq!(plain.stdout, "unset|unset");

    // SIGTERM to claude-auth reaches the child, whose exit code comes back.
    let script = "trap 'kill $p; exit 42' TERM; sleep 30 & p=$!; echo ready; wait";
    let mut child = sb
        .command(&["exec", "--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // The forwarder is installed just after the child starts: wait for it.
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !catches(pid, Signal::SIGTERM) {
        assert!(Instant::now() < deadline, "exec never handled SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(42));
    assert!(started.elapsed() < Duration::from_secs(10));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "");
}

// ---------------------------------------------------------------------------
// 8. env formats

fn sh_eval(sb: &Sandbox, extra: &[(&str, &str)], var: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "eval \"$(\"$0\" env --format export)\" && printf %s \"${var}\""
        ))
        .arg(BIN)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", sb.home())
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            sb.var("DBUS_SESSION_BUS_ADDRESS").unwrap(),
        )
        .envs(extra.iter().copied())
        .current_dir(sb.home())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn env_prints_exact_lines_in_every_format() {
    // An API key with every character shells care about.
    let key = "sk-ant-api03-a'b\"c$HOME`x`\\d-e";
    let sb = sandbox();
    let extra = [("ANTHROPIC_API_KEY", key)];
    let q = "'sk-ant-api03-a'\\''b\"c$HOME`x`\\d-e'";
    let cases = [
        (vec!["env"], format!("ANTHROPIC_API_KEY={q}\n")),
        (
            vec!["env", "--format", "env"],
            format!("ANTHROPIC_API_KEY={q}\n"),
        ),
        (
            vec!["env", "--format", "export"],
            format!("export ANTHROPIC_API_KEY={q}\n"),
        ),
        (
            vec!["env", "--format", "json"],
            format!(
                "{{\n  \"ANTHROPIC_API_KEY\": {}\n}}\n",
                serde_json::to_string(key).unwrap()
            ),
        ),
    ];
    for (args, want) in &cases {
        let out = run(&sb, args, &extra);
        out.assert_code(0);
        assert_eq!(out.stdout, *want, "{args:?}");
        assert_eq!(out.stderr, "", "{args:?}");
    }
    let json = run(&sb, &["env", "--format", "json"], &extra);
    assert_eq!(json.json()["ANTHROPIC_API_KEY"], key);
    assert_eq!(sh_eval(&sb, &extra, "ANTHROPIC_API_KEY"), key);
    // A single quote has no escape that shells and dotenv parsers share:
    // dotenv refuses it (tests/sdk_exec.rs has the rest).
    let dotenv = run(&sb, &["env", "--format", "dotenv"], &extra);
    dotenv.assert_code(1);
    assert_eq!(dotenv.stdout, "");
    assert!(
        dotenv
            .stderr
            .contains("the value of ANTHROPIC_API_KEY contains a single quote"),
        "{dotenv}"
    );

    // An OAuth token in a profile that pins a base URL: the profile itself,
    // which the official SDKs load (adding the OAuth beta header), and the
    // token for Claude Code, which reads no profiles.
    let sb = sandbox();
    sb.login(Some("work"), OAUTH_TOKEN);
    let base = "http://127.0.0.1:9/api";
    pin_base_url(&sb, "work", base);
    let t = OAUTH_TOKEN;
    let dir = sb.anthropic_dir().display().to_string();
    let cases = [
        (
            "env",
            format!(
                "ANTHROPIC_PROFILE='work'\nANTHROPIC_CONFIG_DIR='{dir}'\nCLAUDE_CODE_OAUTH_TOKEN='{t}'\nANTHROPIC_BASE_URL='{base}'\n"
            ),
        ),
        (
            "export",
            format!(
                "export ANTHROPIC_PROFILE='work'\nexport ANTHROPIC_CONFIG_DIR='{dir}'\nexport CLAUDE_CODE_OAUTH_TOKEN='{t}'\nexport ANTHROPIC_BASE_URL='{base}'\n"
            ),
        ),
        (
            "dotenv",
            format!(
                "ANTHROPIC_PROFILE='work'\nANTHROPIC_CONFIG_DIR='{dir}'\nCLAUDE_CODE_OAUTH_TOKEN='{t}'\nANTHROPIC_BASE_URL='{base}'\n"
            ),
        ),
        (
            "json",
            format!(
                "{{\n  \"ANTHROPIC_PROFILE\": \"work\",\n  \"ANTHROPIC_CONFIG_DIR\": \"{dir}\",\n  \"CLAUDE_CODE_OAUTH_TOKEN\": \"{t}\",\n  \"ANTHROPIC_BASE_URL\": \"{base}\"\n}}\n"
            ),
        ),
    ];
    for (format, want) in &cases {
        let out = run(&sb, &["env", "--format", format], &[]);
        out.assert_code(0);
        assert_eq!(out.stdout, *want, "{format}");
        assert_eq!(out.stderr, "", "{format}");
    }
    assert_eq!(sh_eval(&sb, &[], "ANTHROPIC_PROFILE"), "work");
    assert_eq!(sh_eval(&sb, &[], "ANTHROPIC_CONFIG_DIR"), dir);
    assert_eq!(sh_eval(&sb, &[], "CLAUDE_CODE_OAUTH_TOKEN"), OAUTH_TOKEN);
    assert_eq!(sh_eval(&sb, &[], "ANTHROPIC_BASE_URL"), base);

    // --raw-token: the token itself, with a note on what it lacks.
    let raw = run(&sb, &["env", "--raw-token"], &[]);
    raw.assert_code(0);
    assert_eq!(
        raw.stdout,
        format!(
            "ANTHROPIC_AUTH_TOKEN='{t}'\nCLAUDE_CODE_OAUTH_TOKEN='{t}'\nANTHROPIC_BASE_URL='{base}'\n"
        )
    );
    assert!(
        raw.stderr
            .starts_with("note: OAuth tokens need the `anthropic-beta: oauth-2025-04-20` header"),
        "{raw}"
    );
    assert!(!raw.stderr.contains(OAUTH_TOKEN));
}

// ---------------------------------------------------------------------------
// 9. no secret in any log

#[test]
fn no_secret_reaches_the_proxy_access_log_or_debug_logs() {
    let Some(py) = test_python("no_secret_in_logs") else {
        return;
    };
    let Some(rig) = Rig::start(&[]) else {
        return skip("no_secret_in_logs");
    };
    let upstream = Upstream::start();
    // Expired: the proxy refreshes at start.
    let (sb, _, guard) = rig_profile(&rig, &upstream, -60);
    drop(guard);
    let mut secrets = Vec::new();
    let (a0, r0) = stored_tokens(&sb);
    secrets.extend([a0.clone(), r0.clone()]);
    let debug = [("RUST_LOG", "debug")];

    let proxy = ProxyProc::start(&sb, &["proxy", "--profile", "work"], &debug);
    secrets.push(proxy.key.clone());
    let (a1, r1) = stored_tokens(&sb);
    assert_ne!(a1, a0, "the proxy refreshed the expired token at start");
    secrets.extend([a1.clone(), r1]);
    let env = proxy.client_env();
    py_json(&python(&sb, &py, PY_CREATE, &[], &env));
    py_json(&python(&sb, &py, PY_STREAM, &[], &env));
    let hp = proxy.hostport().to_owned();
    let (status, _) = raw_http(
        &hp,
        &format!("GET /v1/models?beta=true&key={a1} HTTP/1.1\r\nHost: {hp}\r\nx-api-key: {a1}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 401);
    // An upstream 401: forced refresh and retry, logged too.
    upstream.reject(&a1);
    py_json(&python(&sb, &py, PY_CREATE, &[], &env));
    let (a2, r2) = stored_tokens(&sb);
    assert_ne!(a2, a1);
    secrets.extend([a2, r2]);
    assert_eq!(rig.stat("refreshGrants"), 2);
    let (code, proxy_log) = proxy.stop();
    assert_eq!(code, 0, "{proxy_log}");
    for line in [
        "claude-auth proxy: POST /v1/messages -> 200",
        "claude-auth proxy: GET /v1/models -> 401",
    ] {
        assert!(proxy_log.contains(line), "no {line:?} in:\n{proxy_log}");
    }
    assert!(proxy_log.contains("DEBUG"), "RUST_LOG=debug had no effect");

    // exec --proxy and exec, with debug logs.
    let via_proxy = run(
        &sb,
        &["exec", "--proxy", "--", &py, "-c", PY_CREATE],
        &debug,
    );
    let local_key = child_env(&py_json(&via_proxy))["ANTHROPIC_API_KEY"].clone();
    secrets.push(local_key);
    let plain = run(&sb, &["exec", "--", "sh", "-c", "exit 0"], &debug);
    plain.assert_code(0);
    let env_run = run(&sb, &["env"], &debug);
    env_run.assert_code(0);

    for (what, log) in [
        ("proxy stderr", proxy_log.as_str()),
        ("exec --proxy stderr", via_proxy.stderr.as_str()),
        ("exec stderr", plain.stderr.as_str()),
        ("env stderr", env_run.stderr.as_str()),
    ] {
        for (i, secret) in secrets.iter().enumerate() {
            assert!(
                !log.contains(secret.as_str()),
                "secret #{i} leaked into the {what}:\n{log}"
            );
        }
    }
    assert_eq!(rig.stat("reuseDetected"), 0);
}

// ---------------------------------------------------------------------------
// 9. an outgoing HTTP proxy (HTTP_PROXY / NO_PROXY) for the upstream leg

/// A stand-in for a server the proxy talks to: records each request line
/// and `x-api-key`, and answers every request with a 302 elsewhere.
/// (request line, x-api-key) of each request.
type RequestLines = std::sync::Arc<Mutex<Vec<(String, String)>>>;

fn redirecting_server() -> (String, RequestLines) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let line = head.lines().next().unwrap_or_default().to_owned();
            let key = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("x-api-key")
                        .then(|| v.trim().to_owned())
                })
                .unwrap_or_default();
            record.lock().unwrap().push((line, key));
            let _ = stream.write_all(
                b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/elsewhere\r\ncontent-length: 5\r\nconnection: close\r\n\r\nmoved",
            );
        }
    });
    (url, seen)
}

#[test]
fn an_outgoing_http_proxy_is_used_no_proxy_is_honoured_and_a_redirect_reaches_the_client() {
    let (server, seen) = redirecting_server();
    let sb = sandbox();
    let get = |proxy: &ProxyProc| {
        raw_http(
            proxy.hostport(),
            &format!(
                "GET /v1/models HTTP/1.1\r\nhost: proxy\r\nx-api-key: {}\r\nconnection: close\r\n\r\n",
                proxy.key
            ),
        )
    };

    // HTTP_PROXY applies: the request goes to it, in absolute form, for an
    // upstream only it can reach; its redirect comes back unfollowed.
    let proxy = ProxyProc::start(
        &sb,
        &["proxy", "--upstream", "http://api.example.invalid"],
        &[("ANTHROPIC_API_KEY", API_KEY), ("HTTP_PROXY", &server)],
    );
    assert_eq!(get(&proxy), (302, "moved".to_owned()));
    assert_eq!(proxy.stop().0, 0);
    assert_eq!(
        seen.lock().unwrap().clone(),
        [(
            "GET http://api.example.invalid/v1/models HTTP/1.1".to_owned(),
            API_KEY.to_owned()
        )]
    );

    // NO_PROXY names the upstream: it is reached directly, although
    // HTTP_PROXY leads nowhere.
    let proxy = ProxyProc::start(
        &sb,
        &["proxy", "--upstream", &server],
        &[
            ("ANTHROPIC_API_KEY", API_KEY),
            ("HTTP_PROXY", &common::closed_local_url()),
            ("NO_PROXY", "127.0.0.1"),
        ],
    );
    assert_eq!(get(&proxy), (302, "moved".to_owned()));
    assert_eq!(proxy.stop().0, 0);
    assert_eq!(
        seen.lock().unwrap()[1],
        ("GET /v1/models HTTP/1.1".to_owned(), API_KEY.to_owned())
    );
}
