//! Unit tests of the wire conventions.

use std::time::Duration;

use hyper::header::{HeaderMap, HeaderValue};

use super::*;
use crate::credential::{Credential, Identity, Provider, TokenSet};
use crate::secret::Secret;

fn oauth(workspace: Option<&str>) -> Credential {
    let mut set = TokenSet::access_only(Secret::new("sk-ant-oat01-t"), Provider::Anthropic);
    set.identity = Identity {
        workspace_id: workspace.map(str::to_owned),
        ..Identity::default()
    };
    Credential::OAuth(set)
}

fn applied(headers: &mut HeaderMap, credential: &Credential) {
    let auth = auth_value(credential).unwrap();
    apply_credential(headers, credential, auth).unwrap();
}

#[test]
fn each_kind_of_credential_gets_its_one_header() {
    let mut h = HeaderMap::new();
    applied(&mut h, &Credential::anthropic_api_key("sk-ant-api03-k"));
    assert_eq!(h["x-api-key"], "sk-ant-api03-k");
    assert!(h["x-api-key"].is_sensitive());
    assert_eq!(h.len(), 1);

    let mut h = HeaderMap::new();
    applied(&mut h, &oauth(None));
    assert_eq!(h["authorization"], "Bearer sk-ant-oat01-t");
    assert!(h["authorization"].is_sensitive());
    assert_eq!(h["anthropic-beta"], OAUTH_BETA);
    assert_eq!(h.len(), 2);
}

#[test]
fn an_oauth_login_adds_its_workspace_unless_the_caller_named_one() {
    let mut h = HeaderMap::new();
    applied(&mut h, &oauth(Some("wrkspc_1")));
    assert_eq!(h["anthropic-workspace-id"], "wrkspc_1");

    let mut h = HeaderMap::new();
    h.insert(
        "anthropic-workspace-id",
        HeaderValue::from_static("wrkspc_mine"),
    );
    applied(&mut h, &oauth(Some("wrkspc_1")));
    assert_eq!(h["anthropic-workspace-id"], "wrkspc_mine");

    let mut h = HeaderMap::new();
    let bad = oauth(Some("wrk\nspc"));
    let err = apply_credential(&mut h, &bad, auth_value(&bad).unwrap()).unwrap_err();
    assert_eq!(err.what, "workspace id");
}

#[test]
fn a_token_a_header_cannot_carry_is_refused_by_what_it_is() {
    let key = Credential::anthropic_api_key("sk-ant-api03-\nk");
    assert_eq!(auth_value(&key).unwrap_err().what, "API key");
    let token = Credential::OAuth(TokenSet::access_only(
        Secret::new("sk-ant-oat01-\u{7f}"),
        Provider::Anthropic,
    ));
    let err = auth_value(&token).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the token contains characters an HTTP header cannot carry"
    );
    assert!(!format!("{err:?}").contains("sk-ant"));
}

#[test]
fn the_oauth_beta_is_merged_into_the_callers_betas_once() {
    let merged = |values: &[&'static str]| {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("anthropic-beta", HeaderValue::from_static(v));
        }
        merge_oauth_beta(&mut h).unwrap();
        assert_eq!(h.get_all("anthropic-beta").iter().count(), 1);
        h["anthropic-beta"].to_str().unwrap().to_owned()
    };
    assert_eq!(merged(&[]), OAUTH_BETA);
    assert_eq!(
        merged(&["tools-2024, oauth-2025-04-20"]),
        "tools-2024,oauth-2025-04-20"
    );
    assert_eq!(merged(&["a,b", " b , c", ""]), "a,b,c,oauth-2025-04-20");
    assert_eq!(merged(&[" , "]), OAUTH_BETA);
}

#[test]
fn betas_merge_without_duplicates_in_order() {
    assert_eq!(
        merge_betas(["oauth-2025-04-20", "a, oauth-2025-04-20", " b ,a", ""]).as_deref(),
        Some("oauth-2025-04-20,a,b")
    );
    assert_eq!(merge_betas(Vec::<&str>::new()), None);
}

#[test]
fn backoff_doubles_up_to_its_cap_less_at_most_its_jitter() {
    let b = Backoff {
        base: Duration::from_millis(500),
        max: Duration::from_secs(8),
        jitter: 0.25,
    };
    for (retry, full) in [
        (0, 500),
        (1, 1000),
        (2, 2000),
        (4, 8000),
        (5, 8000),
        (400, 8000),
    ] {
        for _ in 0..50 {
            let d = b.delay(retry).as_millis() as u64;
            assert!(d <= full && d >= full * 3 / 4, "retry {retry}: {d} ms");
        }
    }
    let none = Backoff { jitter: 0.0, ..b };
    assert_eq!(none.delay(1), Duration::from_secs(1));
    let huge = Backoff {
        base: Duration::MAX,
        max: Duration::from_secs(10),
        jitter: 0.5,
    };
    assert!(huge.delay(3) <= Duration::from_secs(10));
}

#[test]
fn retry_after_reads_milliseconds_first_then_seconds() {
    let headers = |pairs: &[(&'static str, &'static str)]| {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    };
    assert_eq!(
        retry_after(&headers(&[
            ("retry-after", "30"),
            ("retry-after-ms", "12.5")
        ])),
        Some(Duration::from_micros(12_500))
    );
    assert_eq!(
        retry_after(&headers(&[("retry-after", " 3 ")])),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        retry_after(&headers(&[("retry-after", "0.5")])),
        Some(Duration::from_millis(500))
    );
    for bad in [
        "soon",
        "-1",
        "NaN",
        "inf",
        "1e300",
        "Wed, 21 Oct 2015 07:28:00 GMT",
    ] {
        assert_eq!(
            retry_after(&headers(&[("retry-after", bad)])),
            None,
            "{bad}"
        );
    }
    assert_eq!(retry_after(&HeaderMap::new()), None);
}

#[test]
fn openai_credentials_go_as_a_bearer_and_a_chatgpt_login_names_its_account() {
    let key = Credential::ApiKey {
        key: Secret::new("sk-proj-k"),
        provider: Provider::Openai,
    };
    let mut h = HeaderMap::new();
    // A client's own account header never goes upstream with an API key.
    h.insert(
        "chatgpt-account-id",
        HeaderValue::from_static("acct-client"),
    );
    applied(&mut h, &key);
    assert_eq!(h["authorization"], "Bearer sk-proj-k");
    assert!(h["authorization"].is_sensitive());
    assert_eq!(h.len(), 1, "{h:?}");

    let mut set = TokenSet::access_only(Secret::new("eyJ.chatgpt.t"), Provider::Openai);
    set.identity.account_uuid = Some("acct-1".into());
    set.identity.workspace_id = Some("wrkspc_not_sent".into());
    let chatgpt = Credential::OAuth(set);
    let mut h = HeaderMap::new();
    h.insert(
        "chatgpt-account-id",
        HeaderValue::from_static("acct-client"),
    );
    applied(&mut h, &chatgpt);
    assert_eq!(h["authorization"], "Bearer eyJ.chatgpt.t");
    assert_eq!(h.get_all("chatgpt-account-id").iter().count(), 1);
    assert_eq!(h["chatgpt-account-id"], "acct-1");
    // No Anthropic header for OpenAI.
    assert_eq!(h.len(), 2, "{h:?}");

    let mut set = TokenSet::access_only(Secret::new("eyJ.chatgpt.t"), Provider::Openai);
    set.identity.account_uuid = Some("acct\n1".into());
    let bad = Credential::OAuth(set);
    let err = apply_credential(&mut HeaderMap::new(), &bad, auth_value(&bad).unwrap()).unwrap_err();
    assert_eq!(err.what, "ChatGPT account id");
}
