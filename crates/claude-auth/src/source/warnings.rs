//! The warnings resolution adds to its record: shadowing (an API key over a
//! subscription login), expiry without a refresh, a keyring fallback, loose
//! permissions on other tools' files, and SDKs that would read another dir.

use crate::config::locations::{python_sdk_config_dir, seed_auth_file};
use crate::credential::Credential;
use crate::secure_file::mode_of;
use crate::source::{Found, Outcome, Resolution, Resolver, SourceId, Warning};
use crate::store::StorageKind;

impl Resolver {
    pub(super) fn add_warnings(&self, r: &mut Resolution) {
        let mut warnings = std::mem::take(&mut r.warnings);
        self.collect_warnings(r, &mut warnings);
        r.warnings = warnings;
    }

    fn collect_warnings(&self, r: &Resolution, out: &mut Vec<Warning>) {
        let env = &self.env;
        if env.is_set("ANTHROPIC_API_KEY") && env.is_set("ANTHROPIC_AUTH_TOKEN") {
            out.push(Warning {
                code: "both-env-credentials",
                message: "ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN are both set; the API key wins. Unset the one you do not mean".into(),
            });
        }
        if env
            .get("ANTHROPIC_API_KEY")
            .is_some_and(|k| k.starts_with("sk-ant-oat"))
        {
            out.push(Warning {
                code: "oauth-token-in-api-key-variable",
                message: "ANTHROPIC_API_KEY holds an OAuth access token (sk-ant-oat…), which the API rejects as an x-api-key; put it in ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN".into(),
            });
        }
        if let Some(winner) = r.winner() {
            let winner_id = winner.id;
            let env_winner = matches!(
                winner_id,
                SourceId::AnthropicApiKey | SourceId::AnthropicAuthToken
            );
            for report in r.reports.iter().filter(|x| !x.winner) {
                let Some(found) = report.found() else {
                    continue;
                };
                let subscription = found
                    .credential
                    .as_ref()
                    .and_then(Credential::token_set)
                    .is_some_and(|s| {
                        s.identity.subscription_type.is_some() || report.id == SourceId::ClaudeCode
                    });
                if env_winner && subscription {
                    out.push(Warning {
                        code: "api-key-shadows-subscription",
                        message: format!(
                            "{} shadows your Claude subscription login ({}): requests are billed to that key's API account, not your subscription. Unset {} to use the subscription",
                            winner_id.label(),
                            found.location,
                            winner_id.label()
                        ),
                    });
                } else if env_winner && found.profile.is_some() {
                    out.push(Warning {
                        code: "env-shadows-profile",
                        message: format!(
                            "{} shadows profile {:?}; unset it to use the profile",
                            winner_id.label(),
                            found.profile.as_deref().unwrap_or_default()
                        ),
                    });
                }
            }
            if let Some(Found {
                credential: Some(cred),
                ..
            }) = winner.found()
            {
                if cred.is_expired_at(r.now) && !cred.can_refresh() {
                    out.push(Warning {
                        code: "expired-no-refresh",
                        message: format!(
                            "the winning credential ({}) has expired and cannot be refreshed; log in again: claude-auth login",
                            winner_id.label()
                        ),
                    });
                }
            }
        }
        // A profile meant for the keyring whose credential sits in a file:
        // the fallback is never silent.
        for report in &r.reports {
            let Some(found) = report.found() else {
                continue;
            };
            let (Some(profile), Some(StorageKind::File)) = (&found.profile, found.storage) else {
                continue;
            };
            let intended = self
                .settings
                .profiles
                .get(profile)
                .and_then(|p| p.storage)
                .unwrap_or(self.settings.storage);
            if intended == StorageKind::Keyring {
                out.push(Warning {
                    code: "keyring-fallback",
                    message: format!(
                        "profile {profile:?} is set to use the keyring, but its credential is in a file ({}) because the keyring was unavailable when it was stored; run `claude-auth login --profile {profile} --storage keyring` once the keyring works",
                        found.location
                    ),
                });
            }
        }
        // Another tool's files read leniently: say when others can read them.
        let loose = [self.claude_code.path(), seed_auth_file(env).path];
        for path in loose {
            if let Some(mode) = mode_of(&path) {
                if mode & 0o077 != 0 {
                    out.push(Warning {
                        code: "unsafe-permissions",
                        message: format!(
                            "{} is accessible by group or others (mode {mode:04o}); run `chmod 600 {}`",
                            path.display(),
                            path.display()
                        ),
                    });
                }
            }
        }
        for report in &r.reports {
            if let Outcome::Error(m) = &report.outcome {
                if m.contains("chmod 600") && !out.iter().any(|w| w.message == *m) {
                    out.push(Warning {
                        code: "unsafe-permissions",
                        message: m.clone(),
                    });
                }
            }
        }
        let py = python_sdk_config_dir(env);
        if py != self.config_dir.path && self.config_dir.path.join("configs").is_dir() {
            out.push(Warning {
                code: "python-sdk-config-dir",
                message: format!(
                    "profiles are in {} (XDG_CONFIG_HOME), but the official Python SDK reads {}; set ANTHROPIC_CONFIG_DIR={} so every SDK agrees",
                    self.config_dir.path.display(),
                    py.display(),
                    self.config_dir.path.display()
                ),
            });
        }
    }
}
