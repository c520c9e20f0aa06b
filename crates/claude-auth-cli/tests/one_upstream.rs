#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One resolution, one upstream: whatever wins, `chat` and the proxy (here
//! behind `exec --proxy`) send to the same host, by one rule: the profile's
//! `base_url`, else `ANTHROPIC_BASE_URL`, else the default. A Claude Code
//! login (or `CLAUDE_CODE_OAUTH_TOKEN`) pins no base URL of its own, which
//! is where the two used to part: `chat` honoured `ANTHROPIC_BASE_URL`, the
//! proxy went to the default.

mod common;
mod upstream;

use common::{now, Sandbox, BIN};
use upstream::Upstream;

const OAUTH_TOKEN: &str = "sk-ant-oat01-Hq3Wz8Lm2Rk6Vn9Xc4Jt7Bd1Fs5Gp0Ya-one-upstream";

/// `chat` directly, then `chat` as the child of `exec --proxy` (so through
/// the proxy): both reach `up`, each with the winning OAuth token.
fn chat_and_proxy_reach(sb: &Sandbox, up: &Upstream) {
    let direct = sb.run(&["chat", "hi"]);
    direct.assert_code(0);
    assert_eq!(direct.stdout, "Hello world\n");
    let proxied = sb.run(&["exec", "--proxy", "--", BIN, "chat", "hi"]);
    proxied.assert_code(0);
    assert_eq!(proxied.stdout, "Hello world\n");
    let requests = up.requests();
    let messages: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/v1/messages"))
        .collect();
    assert_eq!(
        messages.len(),
        2,
        "chat and the proxy both reach the ANTHROPIC_BASE_URL upstream: {requests:?}"
    );
    for request in messages {
        assert_eq!(request.credential().as_deref(), Some(OAUTH_TOKEN));
    }
}

#[test]
fn a_claude_code_winner_with_anthropic_base_url_sends_chat_and_proxy_to_the_same_host() {
    let up = Upstream::start();
    let mut sb = Sandbox::new();
    sb.write_claude_code(OAUTH_TOKEN, (now() + 8 * 3600) * 1000, 0o600);
    sb.set("ANTHROPIC_BASE_URL", &up.url);
    let status = sb.run(&["status", "--json"]).json();
    assert_eq!(status["winner"], "claude-code");
    chat_and_proxy_reach(&sb, &up);
}

#[test]
fn a_claude_code_oauth_token_winner_with_anthropic_base_url_sends_chat_and_proxy_to_the_same_host()
{
    let up = Upstream::start();
    let mut sb = Sandbox::new();
    sb.set("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN);
    sb.set("ANTHROPIC_BASE_URL", &up.url);
    chat_and_proxy_reach(&sb, &up);
}
