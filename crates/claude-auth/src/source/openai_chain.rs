//! The OpenAI chain, beside Anthropic's: explicit (a credential given in
//! code), `OPENAI_API_KEY`, `CODEX_API_KEY`, claude-auth's own OpenAI
//! profile, Codex's login; in that fixed order (`disabled_sources` may
//! switch off all but explicit). Its record and warnings are what `status`
//! prints for OpenAI.

use crate::credential::{now_unix, Credential, Provider};
use crate::source::{
    ActiveProfile, Found, Outcome, Resolution, ResolveOptions, Resolver, SourceId, Warning,
    OPENAI_CHAIN,
};
use crate::store::profile_files::DEFAULT_PROFILE;

impl Resolver {
    /// The OpenAI profile in effect, and why: `--profile`, else the active
    /// OpenAI profile's pointer, else `default`.
    pub fn openai_active_profile(&self, explicit: Option<&str>) -> crate::Result<ActiveProfile> {
        if let Some(p) = explicit {
            return Ok(ActiveProfile {
                name: p.to_owned(),
                origin: "--profile".into(),
            });
        }
        let profiles = self.openai_profiles();
        Ok(match profiles.active()? {
            Some(name) => ActiveProfile {
                name,
                origin: profiles.active_path().display().to_string(),
            },
            None => ActiveProfile {
                name: DEFAULT_PROFILE.into(),
                origin: "default".into(),
            },
        })
    }

    /// Walk the OpenAI chain.
    pub(super) fn resolve_openai(&self, options: &ResolveOptions) -> Resolution {
        let now = now_unix();
        let mut warnings = Vec::new();
        let active_profile = match self.openai_active_profile(options.explicit_profile.as_deref()) {
            Ok(a) => a,
            Err(e) => {
                warnings.push(Warning {
                    code: "bad-openai-active-profile",
                    message: e.to_string(),
                });
                ActiveProfile {
                    name: DEFAULT_PROFILE.into(),
                    origin: "default".into(),
                }
            }
        };
        let order = OPENAI_CHAIN
            .iter()
            .copied()
            .filter(|id| *id == SourceId::Explicit || !self.settings().disabled.contains(id))
            .collect();
        let (reports, error) = self.walk(order, options);
        let mut resolution = Resolution {
            reports,
            error,
            warnings,
            config_dir: self.config_dir.clone(),
            active_profile,
            settings_path: self.settings().path.clone().filter(|p| p.exists()),
            now,
            provider: Provider::Openai,
            codex_home: Some(self.codex_home().clone()),
        };
        let mut warnings = std::mem::take(&mut resolution.warnings);
        openai_warnings(self, &resolution, &mut warnings);
        resolution.warnings = warnings;
        resolution
    }
}

fn is_chatgpt(found: &Found) -> bool {
    matches!(&found.credential, Some(Credential::OAuth(_)))
}

fn openai_warnings(r: &Resolver, res: &Resolution, out: &mut Vec<Warning>) {
    let env = r.env();
    if env.is_set("OPENAI_API_KEY") && env.is_set("CODEX_API_KEY") {
        out.push(Warning {
            code: "both-openai-env-keys",
            message: "OPENAI_API_KEY and CODEX_API_KEY are both set; OPENAI_API_KEY wins. Unset the one you do not mean".into(),
        });
    }
    if let Some(winner) = res.winner() {
        let env_winner = matches!(winner.id, SourceId::OpenaiApiKey | SourceId::CodexApiKey);
        let label = winner.id.label();
        for report in res.reports.iter().filter(|x| !x.winner) {
            let Some(found) = report.found() else {
                continue;
            };
            if env_winner && is_chatgpt(found) {
                out.push(Warning {
                    code: "openai-api-key-shadows-chatgpt",
                    message: format!(
                        "{label} shadows your ChatGPT login ({}): requests are billed to that key's API account, not your ChatGPT plan. Unset {label} to use the ChatGPT login",
                        found.location
                    ),
                });
            } else if env_winner && found.profile.is_some() {
                out.push(Warning {
                    code: "env-shadows-profile",
                    message: format!(
                        "{label} shadows OpenAI profile {:?}; unset it to use the profile",
                        found.profile.as_deref().unwrap_or_default()
                    ),
                });
            }
        }
        if let Some(Found {
            credential: Some(cred),
            backing,
            ..
        }) = winner.found()
        {
            if cred.is_expired_at(res.now) && !cred.can_refresh() {
                out.push(Warning {
                    code: "expired-no-refresh",
                    message: format!(
                        "the winning OpenAI credential ({label}) has expired and cannot be refreshed; log in again: {}",
                        backing.login_command_for(&crate::credential::Provider::Openai)
                    ),
                });
            }
        }
    }
    for report in &res.reports {
        if let Outcome::Error(m) = &report.outcome {
            if m.contains("chmod 600") && !out.iter().any(|w| w.message == *m) {
                out.push(Warning {
                    code: "unsafe-permissions",
                    message: m.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
#[path = "openai_chain_tests.rs"]
mod tests;
