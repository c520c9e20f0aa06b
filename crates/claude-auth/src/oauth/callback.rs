//! The loopback callback server (RFC 8252).
//!
//! Bound to loopback only, on an OS-assigned port unless one is given (for
//! SSH forwarding); serves only the callback path (everything else is 404);
//! compares `state` in constant time; reports `error`/`error_description`;
//! accepts exactly one valid callback, after which the owner drops the server
//! and the listener closes. Slow clients time out, junk gets a 400, and
//! concurrent connections are bounded, so none of them hangs or crashes it.

use std::convert::Infallible;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::oauth::pkce::constant_time_eq;
use crate::secret::Secret;

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
    /// A request that was ignored (wrong state, missing code); the reason.
    Ignored(String),
}

/// A running callback server. Dropping it closes the listener.
pub struct CallbackServer {
    /// The port it listens on.
    pub port: u16,
    /// `http://<host>:<port><path>`.
    pub redirect_uri: String,
    events: mpsc::UnboundedReceiver<CallbackEvent>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Shared {
    path: String,
    state: Secret,
    done: Mutex<bool>,
    events: mpsc::UnboundedSender<CallbackEvent>,
}

const PAGE_STYLE: &str =
    "font-family:system-ui,sans-serif;max-width:32em;margin:4em auto;line-height:1.5";

fn page(status: StatusCode, title: &str, body: &str) -> Response<Full<Bytes>> {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body style=\"{PAGE_STYLE}\"><h1>{title}</h1><p>{body}</p></body></html>"
    );
    let mut resp = Response::new(Full::new(Bytes::from(html)));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        "cache-control",
        hyper::header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        "connection",
        hyper::header::HeaderValue::from_static("close"),
    );
    resp
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

fn handle(shared: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != hyper::Method::GET || req.uri().path() != shared.path {
        return page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This server only answers the login callback.",
        );
    }
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
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
        let _ = shared.events.send(CallbackEvent::Ignored(
            "a callback with a missing or wrong state".into(),
        ));
        return page(
            StatusCode::BAD_REQUEST,
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
            StatusCode::GONE,
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
            error: crate::oauth::token_client::sanitize(&error),
            description: description.map(|d| crate::oauth::token_client::sanitize(&d)),
        });
        return page(
            StatusCode::OK,
            "Login failed",
            &format!("The server said: {shown}. You can close this tab."),
        );
    }
    match get("code").filter(|c| !c.is_empty()) {
        Some(code) => {
            *done = true;
            let _ = shared.events.send(CallbackEvent::Code(Secret::new(code)));
            page(
                StatusCode::OK,
                "Login complete",
                "You can close this tab and return to the terminal.",
            )
        }
        None => {
            let _ = shared
                .events
                .send(CallbackEvent::Ignored("a callback without a code".into()));
            page(
                StatusCode::BAD_REQUEST,
                "Login not completed",
                "The callback carried no authorization code.",
            )
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let limit = Arc::new(Semaphore::new(32));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            drop(stream); // over the limit: refuse rather than queue
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let resp = handle(&shared, &req);
                async move { Ok::<_, Infallible>(resp) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
            drop(permit);
        });
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
            tasks,
        })
    }

    /// The next event (a code, a denial, or an ignored request).
    pub async fn next_event(&mut self) -> Option<CallbackEvent> {
        self.events.recv().await
    }
}
