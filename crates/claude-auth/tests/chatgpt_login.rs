//! The ChatGPT login of the library (`claude_auth::openai::login`) against
//! the loopback issuer in ChatGPT's shape (the CLI tests' `openai_issuer`):
//! the callback on 1455, else 1457, both busy, the paste flow, and the
//! device code. Real HTTP over loopback; the browser's part (open the URL,
//! accept, follow the redirect) is done with plain requests here, and by
//! headless Chromium in the CLI's `openai_login` tests.
//!
//! The redirect ports are fixed, so every test holds the issuer module's
//! `ports_lock` (shared with every other test process).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../claude-auth-cli/tests/openai_issuer/mod.rs"]
mod openai_issuer;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use claude_auth::openai::chatgpt::ChatGptOAuth;
use claude_auth::openai::login::{
    browser_login, device_login, BrowserEvents, BrowserLogin, ChatGptLoginError, DeviceCode,
    DeviceEvents,
};
use claude_auth::{Credential, Provider};
use openai_issuer::{ports_lock, Config, OpenaiIssuer};
use tokio::io::{AsyncWriteExt, BufReader, DuplexStream};

type NoPaste = BufReader<tokio::io::Empty>;

/// GET `url` (a loopback callback) like a browser following a redirect.
fn follow(url: &str) -> (u16, String) {
    let parsed = url::Url::parse(url).unwrap();
    let port = parsed.port().unwrap();
    let target = format!("{}?{}", parsed.path(), parsed.query().unwrap_or(""));
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw)
}

/// A browser: accept at the issuer, follow the redirect to the callback.
struct Browser {
    issuer: String,
    ignored: Mutex<Vec<String>>,
}

impl BrowserEvents for Browser {
    fn ready(&self, authorize_url: &str, listening: bool) {
        assert!(listening);
        let issuer = self.issuer.clone();
        let url = authorize_url.to_owned();
        std::thread::spawn(move || {
            let location = approve(&issuer, &url);
            let (status, page) = follow(&location);
            assert_eq!(status, 200, "{page}");
        });
    }
    fn ignored(&self, why: &str) {
        self.ignored.lock().unwrap().push(why.to_owned());
    }
    fn exchanging(&self) {}
}

/// `issuer.approve_without_browser` from another thread (the issuer's
/// handle stays with the test).
fn approve(issuer: &str, authorize_url: &str) -> String {
    let path = authorize_url.strip_prefix(issuer).unwrap();
    let (status, _, body) = openai_issuer::http(issuer, "GET", path, None);
    assert_eq!(status, 200, "{body}");
    let txn = body
        .split("name=\"txn\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let (status, headers, _) = openai_issuer::http(
        issuer,
        "POST",
        "/oauth/authorize/decision",
        Some(&format!("prompt=consent&txn={txn}")),
    );
    assert_eq!(status, 302);
    headers
        .into_iter()
        .find(|(k, _)| k == "location")
        .unwrap()
        .1
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn request(issuer: &OpenaiIssuer) -> BrowserLogin {
    BrowserLogin::new(
        ChatGptOAuth::with_issuer(&issuer.url),
        Duration::from_secs(30),
    )
}

fn redirect_uris(issuer: &OpenaiIssuer) -> Vec<String> {
    issuer
        .authorize_queries()
        .iter()
        .map(|q| q["redirect_uri"].clone())
        .collect()
}

/// Occupy a loopback port (v4 and, when it can, v6) for the test.
fn occupy(port: u16) -> Vec<TcpListener> {
    let mut held = vec![TcpListener::bind(("127.0.0.1", port)).expect("port free for the test")];
    if let Ok(v6) = TcpListener::bind(("::1", port)) {
        held.push(v6);
    }
    held
}

fn assert_logged_in(login: &claude_auth::openai::login::ChatGptLogin) {
    let Credential::OAuth(set) = login.credential() else {
        panic!("not OAuth")
    };
    assert_eq!(set.provider, Provider::Openai);
    assert_eq!(set.identity.email.as_deref(), Some("user@example.com"));
    assert_eq!(set.identity.subscription_type.as_deref(), Some("plus"));
    assert_eq!(
        set.identity.account_uuid.as_deref(),
        Some("0f7a3c1e-5b2d-4e8a-9c61-2d4b8e7f1a90")
    );
    assert!(set.expires_at.unwrap() > openai_issuer::now() as u64);
}

#[test]
fn browser_login_on_1455() {
    let _ports = ports_lock();
    let issuer = OpenaiIssuer::start();
    let events = Browser {
        issuer: issuer.url.clone(),
        ignored: Mutex::default(),
    };
    let login = rt()
        .block_on(browser_login::<NoPaste>(&request(&issuer), &events, None))
        .unwrap();
    assert_logged_in(&login);
    assert_eq!(
        redirect_uris(&issuer),
        ["http://localhost:1455/auth/callback"]
    );
    let q = &issuer.authorize_queries()[0];
    assert_eq!(q["id_token_add_organizations"], "true");
    assert_eq!(q["codex_cli_simplified_flow"], "true");
    assert_eq!(issuer.stats().code_exchanges, 1);
    assert_eq!(issuer.token_requests()[0].encoding, "form");
    // The listener is closed once the code arrived.
    assert!(TcpListener::bind(("127.0.0.1", 1455)).is_ok());
}

#[test]
fn browser_login_falls_back_to_1457() {
    let _ports = ports_lock();
    let _busy = occupy(1455);
    let issuer = OpenaiIssuer::start();
    let events = Browser {
        issuer: issuer.url.clone(),
        ignored: Mutex::default(),
    };
    let login = rt()
        .block_on(browser_login::<NoPaste>(&request(&issuer), &events, None))
        .unwrap();
    assert_logged_in(&login);
    assert_eq!(
        redirect_uris(&issuer),
        ["http://localhost:1457/auth/callback"]
    );
}

#[test]
fn both_ports_busy_is_a_clear_error_before_anything_is_sent() {
    let _ports = ports_lock();
    let _busy = (occupy(1455), occupy(1457));
    let issuer = OpenaiIssuer::start();
    let events = Browser {
        issuer: issuer.url.clone(),
        ignored: Mutex::default(),
    };
    let err = rt()
        .block_on(browser_login::<NoPaste>(&request(&issuer), &events, None))
        .unwrap_err();
    assert!(
        matches!(err, ChatGptLoginError::PortsBusy { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "cannot listen for the login callback: ports 1455 and 1457 are both in use (the ChatGPT issuer accepts only these); close the program using them (another login in progress?), or log in with --device-code"
    );
    assert!(issuer.authorize_queries().is_empty());
}

/// Paste events: approve at the issuer and paste the redirected URL (first
/// a wrong-state one) instead of following it.
struct Paster {
    issuer: String,
    paste: Mutex<Option<tokio::io::WriteHalf<DuplexStream>>>,
    listening: Mutex<Option<bool>>,
    ignored: Mutex<Vec<String>>,
    handle: tokio::runtime::Handle,
}

impl BrowserEvents for Paster {
    fn ready(&self, authorize_url: &str, listening: bool) {
        *self.listening.lock().unwrap() = Some(listening);
        let mut writer = self.paste.lock().unwrap().take().unwrap();
        let issuer = self.issuer.clone();
        let url = authorize_url.to_owned();
        self.handle.spawn(async move {
            let location = tokio::task::spawn_blocking(move || approve(&issuer, &url))
                .await
                .unwrap();
            let wrong = url::Url::parse(&location).unwrap();
            let mut wrong = wrong.clone();
            let pairs: Vec<(String, String)> = wrong.query_pairs().into_owned().collect();
            wrong
                .query_pairs_mut()
                .clear()
                .extend_pairs(pairs.iter().map(|(k, v)| {
                    (
                        k.as_str(),
                        if k == "state" {
                            "other-state"
                        } else {
                            v.as_str()
                        },
                    )
                }));
            writer
                .write_all(format!("{wrong}\n{location}\n").as_bytes())
                .await
                .unwrap();
            writer.flush().await.unwrap();
            // Keep the pipe open: EOF must not end the login.
            tokio::time::sleep(Duration::from_secs(20)).await;
            drop(writer);
        });
    }
    fn ignored(&self, why: &str) {
        self.ignored.lock().unwrap().push(why.to_owned());
    }
    fn exchanging(&self) {}
}

fn paste_login(
    issuer: &OpenaiIssuer,
) -> (
    Paster,
    Result<claude_auth::openai::login::ChatGptLogin, ChatGptLoginError>,
) {
    let rt = rt();
    let (reader, writer) = tokio::io::duplex(4096);
    let (read_half, _unused) = tokio::io::split(reader);
    let (_unused_read, write_half) = tokio::io::split(writer);
    let events = Paster {
        issuer: issuer.url.clone(),
        paste: Mutex::new(Some(write_half)),
        listening: Mutex::default(),
        ignored: Mutex::default(),
        handle: rt.handle().clone(),
    };
    let mut request = request(issuer);
    request.paste_when_busy = true;
    let result = rt.block_on(browser_login(
        &request,
        &events,
        Some(BufReader::new(read_half)),
    ));
    (events, result)
}

#[test]
fn paste_flow_takes_the_redirected_url_and_ignores_another_logins() {
    let _ports = ports_lock();
    let issuer = OpenaiIssuer::start();
    let (events, result) = paste_login(&issuer);
    assert_logged_in(&result.unwrap());
    assert_eq!(*events.listening.lock().unwrap(), Some(true));
    assert_eq!(
        *events.ignored.lock().unwrap(),
        ["the pasted code belongs to another login (wrong state); paste the URL from this login"]
    );
    assert_eq!(issuer.stats().code_exchanges, 1);
}

#[test]
fn paste_flow_works_with_both_ports_busy() {
    let _ports = ports_lock();
    let _busy = (occupy(1455), occupy(1457));
    let issuer = OpenaiIssuer::start();
    let (events, result) = paste_login(&issuer);
    assert_logged_in(&result.unwrap());
    assert_eq!(*events.listening.lock().unwrap(), Some(false));
    assert_eq!(
        redirect_uris(&issuer),
        ["http://localhost:1455/auth/callback"]
    );
}

#[derive(Default)]
struct Device {
    codes: Mutex<Vec<DeviceCode>>,
}

impl DeviceEvents for Device {
    fn code(&self, code: &DeviceCode) {
        self.codes.lock().unwrap().push(code.clone());
    }
    fn retrying(&self, why: &str) {
        panic!("unexpected retry: {why}");
    }
}

#[test]
fn device_code_polls_at_the_interval_until_approved() {
    let issuer = OpenaiIssuer::start_with(Config {
        device_auto_approve_after: Some(2),
        ..Config::default()
    });
    let events = Device::default();
    let started = Instant::now();
    let login = rt()
        .block_on(device_login(
            &ChatGptOAuth::with_issuer(&issuer.url),
            &events,
            Duration::from_secs(60),
        ))
        .unwrap();
    let took = started.elapsed();
    assert_logged_in(&login);
    let codes = events.codes.lock().unwrap();
    assert_eq!(codes.len(), 1);
    assert_eq!(
        codes[0].verification_url,
        format!("{}/codex/device", issuer.url)
    );
    assert_eq!(codes[0].interval, Duration::from_secs(1));
    assert_eq!(issuer.user_codes(), [codes[0].user_code.clone()]);
    // Two pending polls, then the approved one; one interval before each.
    assert_eq!(issuer.stats().device_polls, 3);
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert_eq!(issuer.stats().code_exchanges, 1);
}

#[test]
fn device_code_pending_404_and_string_interval() {
    let issuer = OpenaiIssuer::start_with(Config {
        device_pending_status: 404,
        device_interval_as_string: true,
        device_auto_approve_after: Some(1),
        ..Config::default()
    });
    let login = rt()
        .block_on(device_login(
            &ChatGptOAuth::with_issuer(&issuer.url),
            &Device::default(),
            Duration::from_secs(60),
        ))
        .unwrap();
    assert_logged_in(&login);
    assert_eq!(issuer.stats().device_polls, 2);
}

#[test]
fn device_code_denied_and_timed_out() {
    let issuer = OpenaiIssuer::start();
    let oauth = ChatGptOAuth::with_issuer(&issuer.url);
    // Nobody approves: the wait ends.
    let err = rt()
        .block_on(device_login(
            &oauth,
            &Device::default(),
            Duration::from_millis(2500),
        ))
        .unwrap_err();
    assert!(matches!(err, ChatGptLoginError::Timeout(2)), "{err:?}");
    assert_eq!(issuer.stats().code_exchanges, 0);

    let login = std::thread::spawn({
        let oauth = oauth.clone();
        move || {
            rt().block_on(device_login(
                &oauth,
                &Device::default(),
                Duration::from_secs(30),
            ))
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let user_code = loop {
        match issuer.user_codes().as_slice() {
            [_, second] => break second.clone(),
            _ => assert!(Instant::now() < deadline, "no second user code"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(issuer.deny_device(&user_code));
    let err = login.join().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}/api/accounts/deviceauth/token answered HTTP 400: access_denied",
            issuer.url
        )
    );
}
