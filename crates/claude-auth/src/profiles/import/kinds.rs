//! The sources `import` looks at and each one's rule: copied (an abandoned
//! format), read in place (a live tool's login), or only reported.

use serde::Serialize;

/// A place `import` looks, in the order it looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportSource {
    /// The seed library's (`claude-oauth-auth`) `auth.json`.
    SeedFile,
    /// The keyring guide's entries (service `claude-bedrock-cursor`).
    GuideKeyring,
    /// The keyring guide's `config.toml`.
    GuideConfig,
    /// `CLAUDE_ACCESS_TOKEN` / `CLAUDE_REFRESH_TOKEN`.
    SeedEnv,
    /// Claude Code's `.credentials.json`.
    ClaudeCode,
    /// Codex's `$CODEX_HOME/auth.json`.
    Codex,
}

/// What `import` does with a source's credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportRule {
    /// An abandoned format: copied into a profile (the source stays unless
    /// `--move`).
    Copy,
    /// A live tool's login: read in place by the chain, not copied;
    /// `--move` takes it over.
    InPlace,
    /// Holds no credential: reported only.
    Report,
}

impl ImportSource {
    /// Every source, in the order `import` looks.
    pub const ALL: [ImportSource; 6] = [
        ImportSource::SeedFile,
        ImportSource::GuideKeyring,
        ImportSource::GuideConfig,
        ImportSource::SeedEnv,
        ImportSource::ClaudeCode,
        ImportSource::Codex,
    ];

    /// Its id (as in `--json`).
    pub fn id(self) -> &'static str {
        match self {
            ImportSource::SeedFile => "seed-file",
            ImportSource::GuideKeyring => "guide-keyring",
            ImportSource::GuideConfig => "guide-config",
            ImportSource::SeedEnv => "seed-env",
            ImportSource::ClaudeCode => "claude-code",
            ImportSource::Codex => "codex",
        }
    }

    /// For humans.
    pub fn label(self) -> &'static str {
        match self {
            ImportSource::SeedFile => "claude-oauth-auth file",
            ImportSource::GuideKeyring => "keyring guide's entries",
            ImportSource::GuideConfig => "keyring guide's config.toml",
            ImportSource::SeedEnv => "CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN",
            ImportSource::ClaudeCode => "Claude Code login",
            ImportSource::Codex => "Codex login",
        }
    }

    /// Its rule.
    pub fn rule(self) -> ImportRule {
        match self {
            ImportSource::SeedFile | ImportSource::GuideKeyring | ImportSource::SeedEnv => {
                ImportRule::Copy
            }
            ImportSource::ClaudeCode | ImportSource::Codex => ImportRule::InPlace,
            ImportSource::GuideConfig => ImportRule::Report,
        }
    }

    /// The profile name its credential gets (then `-2`, `-3`, … when that
    /// profile holds another credential).
    pub fn profile_base(self) -> &'static str {
        match self {
            ImportSource::SeedFile => "claude-oauth-auth",
            ImportSource::GuideKeyring | ImportSource::GuideConfig => "claude-bedrock-cursor",
            ImportSource::SeedEnv => "claude-env",
            ImportSource::ClaudeCode => "claude-code",
            ImportSource::Codex => "codex",
        }
    }

    /// Why a copy would hurt, for a live tool's login.
    pub(super) fn in_place_reason(self) -> &'static str {
        match self {
            ImportSource::ClaudeCode => "read in place by the chain (source claude-code); not copied: Claude Code refreshes its own copy, and a refresh token rotates, so two copies of one login log each other out at the next refresh; `claude-auth import --move` takes it over (Claude Code is then logged out)",
            _ => "read in place by the OpenAI chain (source codex); not copied: Codex refreshes its own copy, and a refresh token rotates, so two copies of one login log each other out at the next refresh; `claude-auth import --move` takes it over (Codex is then logged out)",
        }
    }
}
