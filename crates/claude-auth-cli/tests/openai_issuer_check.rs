//! The loopback ChatGPT issuer (`tests/openai_issuer`) does what its header
//! promises: PKCE-checked authorize and form code exchange, JSON refresh
//! with rotation and reuse detection, and the device-code endpoints. Plain
//! HTTP over loopback, no browser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod openai_issuer;

use openai_issuer::{claims, http, s256, OpenaiIssuer, AUTH_CLAIM, CLIENT_ID};
use serde_json::{json, Value};

const VERIFIER: &str = "verifier-0123456789-0123456789-0123456789-abcdef";

fn authorize_url(issuer: &OpenaiIssuer, port: u16, challenge: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair(
            "redirect_uri",
            &format!("http://localhost:{port}/auth/callback"),
        )
        .append_pair("scope", "openid profile email offline_access")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "st-1")
        .finish();
    format!("{}/oauth/authorize?{query}", issuer.url)
}

fn code_of(location: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    let pairs: std::collections::BTreeMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "st-1");
    pairs["code"].clone()
}

fn exchange(issuer: &OpenaiIssuer, code: &str, port: u16, verifier: &str) -> (u16, Value) {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair(
            "redirect_uri",
            &format!("http://localhost:{port}/auth/callback"),
        )
        .append_pair("client_id", CLIENT_ID)
        .append_pair("code_verifier", verifier)
        .finish();
    let (status, _, body) = http(&issuer.url, "POST", "/oauth/token", Some(&form));
    (status, serde_json::from_str(&body).unwrap())
}

fn refresh(issuer: &OpenaiIssuer, rt: &str) -> (u16, Value) {
    let (status, body) = issuer.post_json(
        "/oauth/token",
        &json!({"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": rt}),
    );
    (status, serde_json::from_str(&body).unwrap())
}

#[test]
fn code_flow_checks_pkce_and_mints_claims() {
    let issuer = OpenaiIssuer::start();
    let location = issuer.approve_without_browser(&authorize_url(&issuer, 1455, &s256(VERIFIER)));
    assert!(
        location.starts_with("http://localhost:1455/auth/callback?"),
        "{location}"
    );
    let code = code_of(&location);
    // A wrong verifier does not burn the code; JSON is refused.
    assert_eq!(
        exchange(
            &issuer,
            &code,
            1455,
            "wrong-verifier-0123456789-0123456789-012"
        )
        .0,
        400
    );
    assert_eq!(exchange(&issuer, &code, 1457, VERIFIER).0, 400);
    let (status, tokens) = exchange(&issuer, &code, 1455, VERIFIER);
    assert_eq!(status, 200, "{tokens}");
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["email"], "user@example.com");
    assert_eq!(id[AUTH_CLAIM]["chatgpt_plan_type"], "plus");
    assert_eq!(
        id[AUTH_CLAIM]["chatgpt_account_id"],
        "0f7a3c1e-5b2d-4e8a-9c61-2d4b8e7f1a90"
    );
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert!(access["exp"].as_i64().unwrap() > openai_issuer::now());
    // The code is single use.
    assert_eq!(exchange(&issuer, &code, 1455, VERIFIER).0, 400);
    assert_eq!(issuer.stats().code_exchanges, 1);
    let encodings: Vec<_> = issuer
        .token_requests()
        .iter()
        .map(|r| r.encoding.clone())
        .collect();
    assert_eq!(encodings, ["form"; 4]);
}

#[test]
fn authorize_refuses_other_ports_and_plain_pkce() {
    let issuer = OpenaiIssuer::start();
    let (status, _, body) = http(
        &issuer.url,
        "GET",
        authorize_url(&issuer, 1456, &s256(VERIFIER)).trim_start_matches(&issuer.url),
        None,
    );
    assert_eq!(status, 400);
    assert!(body.contains("redirect_uri is not allowed"), "{body}");
    let (status, _, body) = http(
        &issuer.url,
        "GET",
        authorize_url(&issuer, 1455, "short").trim_start_matches(&issuer.url),
        None,
    );
    assert_eq!(status, 400);
    assert!(body.contains("PKCE"), "{body}");
}

#[test]
fn refresh_rotates_and_detects_reuse() {
    let issuer = OpenaiIssuer::start();
    let first = issuer.mint_default();
    let (status, second) = refresh(&issuer, &first.refresh_token);
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt2, first.refresh_token);
    assert!(issuer.is_live(rt2) && !issuer.is_live(&first.refresh_token));
    let (status, body) = refresh(&issuer, &first.refresh_token);
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("refresh_token_reused"))
    );
    // A refresh sent as a form is refused.
    let form = format!("grant_type=refresh_token&client_id={CLIENT_ID}&refresh_token={rt2}");
    assert_eq!(
        http(&issuer.url, "POST", "/oauth/token", Some(&form)).0,
        400
    );
    issuer.invalidate_all();
    let (status, body) = refresh(&issuer, rt2);
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("refresh_token_invalidated"))
    );
    let stats = issuer.stats();
    assert_eq!(
        (stats.refreshes, stats.reuses, stats.failed_token_requests),
        (1, 1, 3)
    );
}

#[test]
fn device_code_pending_until_approved() {
    let issuer = OpenaiIssuer::start();
    let (status, body) = issuer.post_json(
        "/api/accounts/deviceauth/usercode",
        &json!({"client_id": CLIENT_ID}),
    );
    assert_eq!(status, 200, "{body}");
    let start: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(start["interval"], 1);
    let poll = json!({"device_auth_id": start["device_auth_id"], "user_code": start["user_code"]});
    assert_eq!(
        issuer.post_json("/api/accounts/deviceauth/token", &poll).0,
        403
    );
    assert!(issuer.approve_device(start["user_code"].as_str().unwrap()));
    let (status, body) = issuer.post_json("/api/accounts/deviceauth/token", &poll);
    assert_eq!(status, 200, "{body}");
    let done: Value = serde_json::from_str(&body).unwrap();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", done["authorization_code"].as_str().unwrap())
        .append_pair(
            "redirect_uri",
            &format!("{}/deviceauth/callback", issuer.url),
        )
        .append_pair("client_id", CLIENT_ID)
        .append_pair("code_verifier", done["code_verifier"].as_str().unwrap())
        .finish();
    let (status, _, body) = http(&issuer.url, "POST", "/oauth/token", Some(&form));
    assert_eq!(status, 200, "{body}");
    assert_eq!(issuer.stats().device_polls, 2);
}
