//! What the budget tests share: a running `claude-auth proxy` (its
//! printed variables parsed, its stderr in a file) and a raw HTTP/1.1
//! client, so the exact bytes of a refusal are what is asserted.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Stdio};
use std::time::Duration;

use crate::common::Sandbox;

/// A running `claude-auth proxy`; killed on drop unless stopped.
pub struct Proxy {
    child: Option<Child>,
    _stdout: BufReader<ChildStdout>,
    /// What it printed: `ANTHROPIC_BASE_URL`/`ANTHROPIC_API_KEY` or the
    /// OpenAI pair.
    pub vars: BTreeMap<String, String>,
    stderr_path: PathBuf,
}

impl Proxy {
    /// `claude-auth <args>` (a `proxy` command), with `extra` variables.
    pub fn start(sb: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> Proxy {
        let stderr_path = sb.root().join(format!(
            "proxy-{}.stderr",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut child = sb
            .command(args)
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut vars = BTreeMap::new();
        for _ in 0..2 {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let parsed = line
                .strip_prefix("export ")
                .and_then(|l| l.trim_end().split_once("='"))
                .and_then(|(k, v)| Some((k.to_owned(), v.strip_suffix('\'')?.to_owned())));
            let Some((k, v)) = parsed else {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "proxy printed {line:?}; stderr:\n{}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            };
            vars.insert(k, v);
        }
        Proxy {
            child: Some(child),
            _stdout: stdout,
            vars,
            stderr_path,
        }
    }

    /// `127.0.0.1:port`.
    pub fn hostport(&self) -> String {
        let url = self
            .vars
            .get("ANTHROPIC_BASE_URL")
            .or_else(|| self.vars.get("OPENAI_BASE_URL"))
            .unwrap();
        url.trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned()
    }

    /// Its local key.
    pub fn key(&self) -> &str {
        self.vars
            .get("ANTHROPIC_API_KEY")
            .or_else(|| self.vars.get("OPENAI_API_KEY"))
            .unwrap()
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGTERM, wait (its ledger writer writes what is left): its stderr.
    pub fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        child.wait().unwrap();
        self.stderr()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One response: status, headers (lower-case names), body (de-chunked).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `POST path` with `key` as `x-api-key` (Anthropic) or a bearer token
/// (paths under `/v1/chat` and `/backend-api`), `Connection: close`.
pub fn post(hostport: &str, path: &str, key: &str, body: &str) -> Answer {
    let auth = if path.starts_with("/v1/messages") {
        format!("x-api-key: {key}")
    } else {
        format!("authorization: Bearer {key}")
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {hostport}\r\n{auth}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(hostport).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Answer {
    let raw = String::from_utf8_lossy(raw);
    let (head, body) = raw.split_once("\r\n\r\n").expect("a whole response");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v == "chunked");
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        loop {
            let (size, after) = rest.split_once("\r\n").unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.push_str(&after[..n]);
            rest = &after[n + 2..];
        }
        out
    } else {
        body.to_owned()
    };
    Answer {
        status: status.parse().unwrap(),
        headers,
        body,
    }
}
