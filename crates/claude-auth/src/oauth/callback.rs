//! The loopback callback server (RFC 8252).
//!
//! Bound to loopback only, on an OS-assigned port unless one is given (for
//! SSH forwarding); serves only the callback path (everything else is 404);
//! compares `state` in constant time; reports `error`/`error_description`;
//! accepts exactly one valid callback, after which the owner drops the server
//! and the listener closes.
//!
//! It cannot be held: each connection gets [`HEAD_TIMEOUT`] to send a request
//! head of at most [`MAX_HEAD`] bytes, connections are served concurrently,
//! and when [`MAX_CONNECTIONS`] are waiting for their head the oldest is
//! dropped for the newcomer, so idle sockets only ever push each other out.
//! Junk gets a 400, and wrong-state callbacks are counted: only the first is
//! reported as an event, [`CallbackServer::ignored`] has the total.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::oauth::pkce::constant_time_eq;
use crate::secret::Secret;

/// How long a connection may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest request head read (a callback URL is a few hundred bytes).
pub const MAX_HEAD: usize = 8 * 1024;
/// Connections waiting for their head at once; the oldest goes first.
pub const MAX_CONNECTIONS: usize = 64;
/// How long writing the (small) answer may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// What arrived at the callback.
#[derive(Debug)]
pub enum CallbackEvent {
    /// A valid authorization code.
    Code(Secret),
    /// The server reported an error (`access_denied`, …).
    Denied {
        /// `error`.
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
    /// The first request that was ignored (wrong state, missing code); the
    /// reason. Later ones are only counted ([`CallbackServer::ignored`]).
    Ignored(String),
}

/// A running callback server. Dropping it closes the listener.
pub struct CallbackServer {
    /// The port it listens on.
    pub port: u16,
    /// `http://<host>:<port><path>`.
    pub redirect_uri: String,
    events: mpsc::UnboundedReceiver<CallbackEvent>,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let mut waiting = self.shared.lock_waiting();
        for (_, cancel) in waiting.drain(..) {
            cancel.notify_one();
        }
    }
}

struct Shared {
    path: String,
    state: Secret,
    done: Mutex<bool>,
    events: mpsc::UnboundedSender<CallbackEvent>,
    ignored: AtomicUsize,
    /// Connections still waiting for their request head, oldest first.
    waiting: Mutex<VecDeque<(u64, Arc<Notify>)>>,
}

impl Shared {
    fn lock_waiting(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, Arc<Notify>)>> {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ignore(&self, why: &str) {
        if self.ignored.fetch_add(1, Ordering::Relaxed) == 0 {
            let _ = self.events.send(CallbackEvent::Ignored(why.to_owned()));
        }
    }
}

/// A parsed request head: what the callback looks at.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// The method.
    pub method: &'a str,
    /// The path, before any `?`.
    pub path: &'a str,
    /// The query, after the `?` (empty when none).
    pub query: &'a str,
}

/// Parse an HTTP/1 request head (`METHOD SP origin-form SP HTTP/1.x CRLF …`).
/// Only the request line matters; header lines must be `name: value`.
pub fn parse_request_head(head: &[u8]) -> std::result::Result<RequestHead<'_>, &'static str> {
    let text = std::str::from_utf8(head).map_err(|_| "not UTF-8")?;
    let mut lines = text.split("\r\n");
    let line = lines.next().ok_or("empty")?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a request line");
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err("bad method");
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err("bad version");
    }
    if !target.starts_with('/') || target.bytes().any(|b| b.is_ascii_control() || b >= 0x7f) {
        return Err("bad target");
    }
    for header in lines.take_while(|l| !l.is_empty()) {
        let Some((name, _)) = header.split_once(':') else {
            return Err("bad header line");
        };
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err("bad header name");
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(RequestHead {
        method,
        path,
        query,
    })
}

const PAGE_STYLE: &str =
    "font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;line-height:1.5";

fn page(status: u16, title: &str, body: &str) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        410 => "Gone",
        _ => "Request Header Fields Too Large",
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body style=\"{PAGE_STYLE}\"><h1>{title}</h1><p>{body}</p></body></html>"
    );
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncache-control: no-store\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{html}",
        html.len()
    )
    .into_bytes()
}

fn escape(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(200)
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn handle(shared: &Shared, req: &RequestHead<'_>) -> Vec<u8> {
    if req.method != "GET" || req.path != shared.path {
        return page(
            404,
            "Not found",
            "This server only answers the login callback.",
        );
    }
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let state_ok = get("state").is_some_and(|s| constant_time_eq(&s, shared.state.expose()));
    if !state_ok {
        shared.ignore("a callback with a missing or wrong state");
        return page(
            400,
            "Login not completed",
            "This callback does not belong to the login in progress (wrong state). Start the login again from your terminal if needed.",
        );
    }
    let mut done = shared
        .done
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *done {
        return page(
            410,
            "Already done",
            "This login has already been completed.",
        );
    }
    if let Some(error) = get("error") {
        *done = true;
        let description = get("error_description");
        let shown = format!(
            "{}{}",
            escape(&error),
            description
                .as_deref()
                .map(|d| format!(": {}", escape(d)))
                .unwrap_or_default()
        );
        let _ = shared.events.send(CallbackEvent::Denied {
            error: crate::redact::sanitize(&error),
            description: description.map(|d| crate::redact::sanitize(&d)),
        });
        return page(
            200,
            "Login failed",
            &format!("The server said: {shown}. You can close this tab."),
        );
    }
    match get("code").filter(|c| !c.is_empty()) {
        Some(code) => {
            *done = true;
            let _ = shared.events.send(CallbackEvent::Code(Secret::new(code)));
            page(
                200,
                "Login complete",
                "You can close this tab and return to the terminal.",
            )
        }
        None => {
            shared.ignore("a callback without a code");
            page(
                400,
                "Login not completed",
                "The callback carried no authorization code.",
            )
        }
    }
}

/// Why no complete head arrived.
enum HeadError {
    TooLarge,
    Closed,
}

/// Read up to the blank line that ends a request head.
async fn read_head(stream: &mut TcpStream) -> std::result::Result<Vec<u8>, HeadError> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| HeadError::Closed)?;
        if n == 0 {
            return Err(HeadError::Closed);
        }
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(from + end + 2);
            return Ok(head);
        }
        if head.len() > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>, id: u64, cancel: Arc<Notify>) {
    let head = tokio::select! {
        () = cancel.notified() => return,
        head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)) => head,
    };
    shared.lock_waiting().retain(|(i, _)| *i != id);
    let answer = match head {
        Ok(Ok(head)) => match parse_request_head(&head) {
            Ok(req) => handle(&shared, &req),
            Err(_) => page(400, "Bad request", "This is not an HTTP request."),
        },
        Ok(Err(HeadError::TooLarge)) => {
            page(431, "Request too large", "The request head is too large.")
        }
        Ok(Err(HeadError::Closed)) => return,
        Err(_) => page(408, "Request timeout", "No request arrived in time."),
    };
    let write = async {
        stream.write_all(&answer).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write).await;
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: back off, do not spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        next_id += 1;
        let cancel = Arc::new(Notify::new());
        {
            let mut waiting = shared.lock_waiting();
            while waiting.len() >= MAX_CONNECTIONS {
                if let Some((_, oldest)) = waiting.pop_front() {
                    oldest.notify_one();
                }
            }
            waiting.push_back((next_id, Arc::clone(&cancel)));
        }
        tokio::spawn(serve(stream, Arc::clone(&shared), next_id, cancel));
    }
}

impl CallbackServer {
    /// Listen on loopback. `host` is `localhost` or `127.0.0.1`; with
    /// `localhost` it also listens on `[::1]` when it can, since browsers may
    /// resolve `localhost` to either.
    pub async fn start(
        host: &str,
        path: &str,
        port: Option<u16>,
        state: Secret,
    ) -> Result<CallbackServer> {
        let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port.unwrap_or(0))))
            .await
            .map_err(|e| {
                Error::Unsupported(format!(
                    "could not listen on 127.0.0.1:{} for the login callback: {e}{}",
                    port.unwrap_or(0),
                    if port.is_some() {
                        " (is --callback-port in use?)"
                    } else {
                        ""
                    }
                ))
            })?;
        let port = v4
            .local_addr()
            .map_err(|e| Error::Unsupported(format!("callback listener: {e}")))?
            .port();
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            path: path.to_owned(),
            state,
            done: Mutex::new(false),
            events: tx,
            ignored: AtomicUsize::new(0),
            waiting: Mutex::new(VecDeque::new()),
        });
        let mut tasks = vec![tokio::spawn(accept_loop(v4, Arc::clone(&shared)))];
        if host == "localhost" {
            if let Ok(v6) = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
                tasks.push(tokio::spawn(accept_loop(v6, Arc::clone(&shared))));
            }
        }
        tracing::debug!(port, "login callback listening");
        Ok(CallbackServer {
            port,
            redirect_uri: format!("http://{host}:{port}{path}"),
            events: rx,
            shared,
            tasks,
        })
    }

    /// The next event (a code, a denial, or an ignored request).
    pub async fn next_event(&mut self) -> Option<CallbackEvent> {
        self.events.recv().await
    }

    /// How many requests were ignored (wrong state, missing code) so far.
    pub fn ignored(&self) -> usize {
        self.shared.ignored.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
#[path = "callback_tests.rs"]
mod tests;
