//! The environment a child process needs for a credential, and how to
//! print it for shells, dotenv files and JSON.

use crate::credential::Credential;

/// Every variable through which a credential (or a key that unlocks one) can
/// reach a child; `exec` clears them all before setting the ones it means.
pub const CREDENTIAL_VARS: [&str; 9] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_ACCESS_TOKEN",
    "CLAUDE_REFRESH_TOKEN",
    "ANTHROPIC_PROFILE",
    "ANTHROPIC_IDENTITY_TOKEN",
    "CLAUDE_AUTH_ENCRYPTION_KEY",
    "CLAUDE_AUTH_PASSPHRASE",
];

/// The variables for `credential`: `ANTHROPIC_API_KEY` for keys,
/// `ANTHROPIC_AUTH_TOKEN` for bearer tokens, `ANTHROPIC_AUTH_TOKEN` and
/// `CLAUDE_CODE_OAUTH_TOKEN` for OAuth tokens, plus `ANTHROPIC_BASE_URL` when
/// one is set.
pub fn variables_for(
    credential: &Credential,
    base_url: Option<&str>,
) -> Vec<(&'static str, String)> {
    let secret = credential.secret().expose().to_owned();
    let mut vars = match credential {
        Credential::ApiKey { .. } => vec![("ANTHROPIC_API_KEY", secret)],
        Credential::Bearer { .. } => vec![("ANTHROPIC_AUTH_TOKEN", secret)],
        Credential::OAuth(_) => vec![
            ("ANTHROPIC_AUTH_TOKEN", secret.clone()),
            ("CLAUDE_CODE_OAUTH_TOKEN", secret),
        ],
    };
    if let Some(url) = base_url {
        vars.push(("ANTHROPIC_BASE_URL", url.to_owned()));
    }
    vars
}

/// Output formats for `claude-auth env`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvFormat {
    /// `KEY='value'` (POSIX shell quoting).
    Env,
    /// `export KEY='value'`.
    Export,
    /// `KEY="value"` with dotenv escapes.
    Dotenv,
    /// A JSON object.
    Json,
}

/// Quote for POSIX shells: single quotes, `'` as `'\''`.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

fn dotenv_quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Render variables in a format.
pub fn render(vars: &[(&str, String)], format: EnvFormat) -> String {
    match format {
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default() + "\n"
        }
        _ => vars
            .iter()
            .map(|(k, v)| match format {
                EnvFormat::Export => format!("export {k}={}\n", shell_quote(v)),
                EnvFormat::Dotenv => format!("{k}={}\n", dotenv_quote(v)),
                _ => format!("{k}={}\n", shell_quote(v)),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{Provider, TokenSet};

    #[test]
    fn variables_per_kind() {
        let key = Credential::anthropic_api_key("sk-ant-api03-k");
        assert_eq!(
            variables_for(&key, None),
            [("ANTHROPIC_API_KEY", "sk-ant-api03-k".to_owned())]
        );
        let oauth = Credential::OAuth(TokenSet::access_only(
            "sk-ant-oat01-t".into(),
            Provider::Anthropic,
        ));
        let vars = variables_for(&oauth, Some("http://127.0.0.1:9"));
        assert_eq!(
            vars.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [
                "ANTHROPIC_AUTH_TOKEN",
                "CLAUDE_CODE_OAUTH_TOKEN",
                "ANTHROPIC_BASE_URL"
            ]
        );
    }

    #[test]
    fn quoting_survives_hostile_values() {
        let vars = [("K", "a'b $c \"d\"\n".to_owned())];
        assert_eq!(render(&vars, EnvFormat::Env), "K='a'\\''b $c \"d\"\n'\n");
        assert_eq!(
            render(&vars, EnvFormat::Export),
            "export K='a'\\''b $c \"d\"\n'\n"
        );
        assert_eq!(
            render(&vars, EnvFormat::Dotenv),
            "K=\"a'b \\$c \\\"d\\\"\\n\"\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&vars, EnvFormat::Json)).unwrap();
        assert_eq!(json["K"], "a'b $c \"d\"\n");
    }

    #[test]
    fn shell_quoting_round_trips_through_sh() {
        let value = "it's $HOME `x` \"q\" \\ end";
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", shell_quote(value)))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
    }
}
