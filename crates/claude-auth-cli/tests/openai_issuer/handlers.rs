//! The issuer's endpoints (see the module header in `mod.rs`).

use std::collections::BTreeMap;
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::{
    jwt, lock, now, s256, Account, Device, Minted, PendingCode, RevokeRequest, Rt, Shared, State,
    TokenRequest, Txn, AUTH_CLAIM,
};

type Body = BoxBody<Bytes, Infallible>;

/// The largest request body read.
const MAX_BODY: usize = 64 * 1024;

fn respond(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body)).boxed())
        .unwrap()
}

fn json_response(status: u16, body: &Value) -> Response<Body> {
    respond(status, "application/json", body.to_string())
}

fn redirect(to: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", to)
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::new()).boxed())
        .unwrap()
}

fn error_page(why: &str) -> Response<Body> {
    let why = html_escape(why);
    respond(
        400,
        "text/html; charset=utf-8",
        format!("<!doctype html><title>Error</title><p id=\"rig-error\">{why}</p>"),
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fresh(state: &mut State, prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    state.counter += 1;
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(state.counter);
    format!("{prefix}{:016x}{:04}", hasher.finish(), state.counter)
}

/// Mint a token set for `account`; its refresh token is live.
pub(super) fn mint(state: &mut State, issuer: &str, account: &Account) -> Minted {
    let now = now();
    let auth = json!({
        "chatgpt_account_id": account.account_id,
        "chatgpt_plan_type": account.plan_type,
        "chatgpt_user_id": account.user_id,
        "user_id": account.user_id,
    });
    let id_token = jwt(&json!({
        "iss": issuer,
        "aud": [state.config.client_id],
        "sub": account.user_id,
        "email": account.email,
        "email_verified": true,
        "iat": now,
        "exp": now + 3600,
        AUTH_CLAIM: auth,
    }));
    let jti = fresh(state, "jti-");
    let access_token = jwt(&json!({
        "iss": issuer,
        "aud": ["https://api.openai.com/v1"],
        "client_id": state.config.client_id,
        "sub": account.user_id,
        "iat": now,
        "exp": now + state.config.access_ttl,
        "jti": jti,
        "scp": ["openid", "profile", "email", "offline_access"],
        AUTH_CLAIM: auth,
        "https://api.openai.com/profile": {"email": account.email, "email_verified": true},
    }));
    let refresh_token = fresh(state, "rt_");
    state
        .refresh_tokens
        .insert(refresh_token.clone(), (Rt::Live, account.clone()));
    Minted {
        id_token,
        access_token,
        refresh_token,
    }
}

fn query_map(query: Option<&str>) -> BTreeMap<String, String> {
    url_pairs(query.unwrap_or("").as_bytes())
}

fn url_pairs(bytes: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn with_params(base: &str, params: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{base}?{query}")
}

pub(super) async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return json_response(413, &json!({"error": "request_too_large"})),
    };
    match (method.as_str(), path.as_str()) {
        ("GET", "/oauth/authorize") => authorize(shared, query.as_deref()),
        ("POST", "/oauth/authorize/decision") => decision(shared, &url_pairs(&body)),
        ("GET", p) if p.starts_with("/oauth/txn/") && p.ends_with("/abort") => {
            let txn = p
                .trim_start_matches("/oauth/txn/")
                .trim_end_matches("/abort");
            abort(shared, txn)
        }
        ("POST", "/oauth/token") => token(shared, &content_type, &body).await,
        ("POST", "/oauth/revoke") => revoke(shared, &content_type, &user_agent, &body),
        ("POST", "/api/accounts/deviceauth/usercode") => usercode(shared, &body),
        ("POST", "/api/accounts/deviceauth/token") => device_poll(shared, &body),
        _ => json_response(404, &json!({"error": "not_found"})),
    }
}

fn authorize(shared: &Shared, query: Option<&str>) -> Response<Body> {
    let q = query_map(query);
    let mut state = lock(&shared.state);
    state.authorize_queries.push(q.clone());
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("response_type") != "code" {
        return error_page("response_type must be code");
    }
    if get("client_id") != state.config.client_id {
        return error_page("unknown client_id");
    }
    let redirect_uri = get("redirect_uri");
    let allowed = state
        .config
        .redirect_ports
        .iter()
        .any(|port| redirect_uri == format!("http://localhost:{port}/auth/callback"));
    if !allowed {
        return error_page("redirect_uri is not allowed for this client");
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return error_page("scope must include openid");
    }
    if get("state").is_empty() {
        return error_page("state is required");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 {
        return error_page("PKCE with code_challenge_method=S256 is required");
    }
    let txn = Txn {
        redirect_uri: redirect_uri.to_owned(),
        state: get("state").to_owned(),
        challenge: get("code_challenge").to_owned(),
        client_id: get("client_id").to_owned(),
    };
    if state.config.auto_approve {
        return approve(&mut state, txn);
    }
    let id = fresh(&mut state, "txn");
    state.txns.insert(id.clone(), txn);
    let email = html_escape(&state.config.account.email);
    respond(
        200,
        "text/html; charset=utf-8",
        format!(
            "<!doctype html><title>Sign in to Codex</title>\
             <p>Signed in as {email}. Allow Codex to use your ChatGPT account?</p>\
             <form method=\"post\" action=\"/oauth/authorize/decision\">\
             <input type=\"hidden\" name=\"prompt\" value=\"consent\">\
             <input type=\"hidden\" name=\"txn\" value=\"{id}\">\
             <button type=\"submit\">Continue</button></form>\
             <a href=\"/oauth/txn/{id}/abort\">Cancel</a>"
        ),
    )
}

fn approve(state: &mut State, txn: Txn) -> Response<Body> {
    let code = fresh(state, "ac_");
    state.codes.insert(
        code.clone(),
        PendingCode {
            client_id: txn.client_id,
            redirect_uri: txn.redirect_uri.clone(),
            challenge: txn.challenge,
        },
    );
    redirect(&with_params(
        &txn.redirect_uri,
        &[
            ("code", &code),
            ("scope", "openid profile email offline_access"),
            ("state", &txn.state),
        ],
    ))
}

fn decision(shared: &Shared, form: &BTreeMap<String, String>) -> Response<Body> {
    let mut state = lock(&shared.state);
    let txn = form.get("txn").and_then(|id| state.txns.remove(id));
    match txn {
        Some(txn) => approve(&mut state, txn),
        None => error_page("unknown or used consent transaction"),
    }
}

fn abort(shared: &Shared, id: &str) -> Response<Body> {
    let mut state = lock(&shared.state);
    match state.txns.remove(id) {
        Some(txn) => redirect(&with_params(
            &txn.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
                ("state", &txn.state),
            ],
        )),
        None => error_page("unknown or used consent transaction"),
    }
}

fn encoding_of(content_type: &str) -> String {
    let media = content_type.split(';').next().unwrap_or("").trim();
    match media {
        "application/x-www-form-urlencoded" => "form".to_owned(),
        "application/json" => "json".to_owned(),
        "" => "none".to_owned(),
        other => other.to_owned(),
    }
}

async fn token(shared: &Shared, content_type: &str, body: &[u8]) -> Response<Body> {
    let encoding = encoding_of(content_type);
    let fields: BTreeMap<String, String> = match encoding.as_str() {
        "form" => url_pairs(body),
        "json" => match serde_json::from_slice::<Map<String, Value>>(body) {
            Ok(map) => map
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
            Err(_) => BTreeMap::new(),
        },
        _ => BTreeMap::new(),
    };
    let grant_type = fields.get("grant_type").cloned().unwrap_or_default();
    if grant_type == "refresh_token" {
        let delay = lock(&shared.state).refresh_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    let mut state = lock(&shared.state);
    let (status, answer) = if !state.fail_next.is_empty() {
        let (status, body) = state.fail_next.remove(0);
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    } else {
        match (grant_type.as_str(), encoding.as_str()) {
            ("authorization_code", "form") => code_exchange(&mut state, &shared.url, &fields),
            ("refresh_token", "json") => refresh(&mut state, &shared.url, &fields),
            ("authorization_code", _) | ("refresh_token", _) => (
                400,
                json!({"error": "invalid_request",
                       "error_description": format!("{grant_type} must be sent as {}",
                           if grant_type == "refresh_token" { "JSON" } else { "a form" })}),
            ),
            _ => (400, json!({"error": "unsupported_grant_type"})),
        }
    };
    if status >= 400 {
        state.stats.failed_token_requests += 1;
    }
    state.requests.push(TokenRequest {
        grant_type,
        encoding,
        status,
        fields: fields.keys().cloned().collect(),
    });
    json_response(status, &answer)
}

fn code_exchange(
    state: &mut State,
    issuer: &str,
    fields: &BTreeMap<String, String>,
) -> (u16, Value) {
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    let invalid = |why: &str| {
        (
            400,
            json!({"error": "invalid_grant", "error_description": why}),
        )
    };
    let Some(pending) = state.codes.get(get("code")) else {
        return invalid("unknown or used authorization code");
    };
    if pending.client_id != get("client_id") {
        return invalid("client_id does not match the authorization");
    }
    if pending.redirect_uri != get("redirect_uri") {
        return invalid("redirect_uri does not match the authorization");
    }
    if s256(get("code_verifier")) != pending.challenge {
        return invalid("code_verifier does not match the code_challenge");
    }
    state.codes.remove(get("code"));
    state.stats.code_exchanges += 1;
    let account = state.config.account.clone();
    let minted = mint(state, issuer, &account);
    (
        200,
        json!({
            "id_token": minted.id_token,
            "access_token": minted.access_token,
            "refresh_token": minted.refresh_token,
        }),
    )
}

fn refresh(state: &mut State, issuer: &str, fields: &BTreeMap<String, String>) -> (u16, Value) {
    let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != state.config.client_id {
        return (
            401,
            json!({"error": {"code": "invalid_client", "message": "unknown client"}}),
        );
    }
    let presented = get("refresh_token").to_owned();
    let code = |code: &str, message: &str| {
        (
            401,
            json!({"error": {"code": code, "message": message, "type": "invalid_request_error"}}),
        )
    };
    match state.refresh_tokens.get(&presented).cloned() {
        Some((Rt::Live, account)) => {
            state
                .refresh_tokens
                .insert(presented, (Rt::Rotated, account.clone()));
            state.stats.refreshes += 1;
            let minted = mint(state, issuer, &account);
            (
                200,
                json!({
                    "id_token": minted.id_token,
                    "access_token": minted.access_token,
                    "refresh_token": minted.refresh_token,
                }),
            )
        }
        Some((Rt::Rotated, _)) => {
            state.stats.reuses += 1;
            code(
                "refresh_token_reused",
                "Your refresh token has already been used to generate a new access token. Please try signing in again.",
            )
        }
        Some((Rt::Invalidated, _)) | None => code(
            "refresh_token_invalidated",
            "Your refresh token has been invalidated. Please try signing in again.",
        ),
    }
}

/// `/oauth/revoke`, in the shape Codex 0.171.0 uses it (JSON `{token,
/// token_type_hint, client_id}`); answers as RFC 7009 says (200 for an
/// unknown token too).
fn revoke(shared: &Shared, content_type: &str, user_agent: &str, body: &[u8]) -> Response<Body> {
    let mut state = lock(&shared.state);
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (status, answer) = if !state.fail_next_revokes.is_empty() {
        let (status, body) = state.fail_next_revokes.remove(0);
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    } else if encoding_of(content_type) != "json" || !parsed.is_object() {
        (
            400,
            json!({"error": "invalid_request", "error_description": "send JSON"}),
        )
    } else if parsed["client_id"] != state.config.client_id.as_str() {
        (401, json!({"error": "invalid_client"}))
    } else {
        let token = parsed["token"].as_str().unwrap_or("");
        if let Some((rt, _)) = state.refresh_tokens.get_mut(token) {
            if *rt != Rt::Invalidated {
                *rt = Rt::Invalidated;
                state.stats.revocations += 1;
            }
        }
        (200, json!({}))
    };
    state.revokes.push(RevokeRequest {
        body: parsed,
        content_type: content_type.to_owned(),
        user_agent: user_agent.to_owned(),
        status,
    });
    json_response(status, &answer)
}

fn json_fields(body: &[u8]) -> Map<String, Value> {
    serde_json::from_slice(body).unwrap_or_default()
}

fn usercode(shared: &Shared, body: &[u8]) -> Response<Body> {
    let fields = json_fields(body);
    let mut state = lock(&shared.state);
    if fields.get("client_id").and_then(Value::as_str) != Some(state.config.client_id.as_str()) {
        return json_response(400, &json!({"error": "invalid_client"}));
    }
    let id = fresh(&mut state, "deviceauth_");
    let n = state.counter;
    let seq = state.stats.device_codes;
    let user_code = format!("{:04X}-{:04}", (n * 7919) % 0xFFFF, n % 10_000);
    state.devices.insert(
        id.clone(),
        Device {
            seq,
            user_code: user_code.clone(),
            polls: 0,
            decision: None,
            issued: None,
        },
    );
    state.stats.device_codes += 1;
    let interval = if state.config.device_interval_as_string {
        Value::String(state.config.device_interval.to_string())
    } else {
        Value::from(state.config.device_interval)
    };
    json_response(
        200,
        &json!({"device_auth_id": id, "user_code": user_code, "interval": interval}),
    )
}

fn device_poll(shared: &Shared, body: &[u8]) -> Response<Body> {
    let fields = json_fields(body);
    let id = fields
        .get("device_auth_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    let user_code = fields
        .get("user_code")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut state = lock(&shared.state);
    state.stats.device_polls += 1;
    let pending_status = state.config.device_pending_status;
    let auto_after = state.config.device_auto_approve_after;
    let issuer = shared.url.clone();
    let Some(device) = state.devices.get_mut(id) else {
        return json_response(400, &json!({"error": "unknown device_auth_id"}));
    };
    if device.user_code != user_code {
        return json_response(400, &json!({"error": "user_code does not match"}));
    }
    if device.decision.is_none() && auto_after.is_some_and(|n| device.polls >= n) {
        device.decision = Some(true);
    }
    match device.decision {
        None => {
            device.polls += 1;
            json_response(
                pending_status,
                &json!({"error": {"code": "deviceauth_authorization_pending", "message": "pending"}}),
            )
        }
        Some(false) => json_response(400, &json!({"error": "access_denied"})),
        Some(true) => {
            let issued = match &device.issued {
                Some(issued) => issued.clone(),
                None => {
                    let verifier = format!("dv{}", id.trim_start_matches("deviceauth_").repeat(3));
                    let challenge = s256(&verifier);
                    let issued = (String::new(), verifier, challenge);
                    device.issued = Some(issued.clone());
                    issued
                }
            };
            let (mut code, verifier, challenge) = issued;
            if code.is_empty() {
                code = fresh(&mut state, "ac_");
                let client_id = state.config.client_id.clone();
                state.codes.insert(
                    code.clone(),
                    PendingCode {
                        client_id,
                        redirect_uri: format!("{issuer}/deviceauth/callback"),
                        challenge: challenge.clone(),
                    },
                );
                if let Some(device) = state.devices.get_mut(id) {
                    device.issued = Some((code.clone(), verifier.clone(), challenge.clone()));
                }
            }
            json_response(
                200,
                &json!({"authorization_code": code, "code_challenge": challenge, "code_verifier": verifier}),
            )
        }
    }
}
