//! A proxy for the tests that need one with just an API key behind it.

use std::net::{Ipv4Addr, SocketAddr};

use claude_auth::proxy::{start, ProxyConfig, ProxyHandle};
use claude_auth::{AuthManager, Env, ManagerOptions, Resolver, Secret, Settings};

/// A proxy on loopback in front of `upstream` (a base URL), sending
/// `api_key` (its only credential: `ANTHROPIC_API_KEY`, with `HOME` a
/// directory that holds nothing), asking clients for `local_key`, its
/// access log off; `adjust` changes the rest.
pub async fn api_key_proxy(
    api_key: &str,
    upstream: String,
    local_key: Option<&str>,
    adjust: impl FnOnce(&mut ProxyConfig),
) -> ProxyHandle {
    let home = std::env::temp_dir().join(format!("claude-auth-proxy-test-{}", std::process::id()));
    let env = Env::empty()
        .with("HOME", home.display().to_string())
        .with("ANTHROPIC_API_KEY", api_key);
    let manager = AuthManager::new(
        Resolver::with_settings(env, Settings::default()),
        ManagerOptions::default(),
    )
    .unwrap();
    let mut config = ProxyConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        upstream,
        local_key.map(|k| Secret::new(k.to_owned())),
    );
    config.access_log = false;
    adjust(&mut config);
    start(manager, config).await.unwrap()
}
