//! The ids of the resolution chain's sources, apart from the chain itself:
//! the settings parse and order them (`sources`, `disabled_sources`)
//! and the chain walks them, so both depend on this small module and
//! neither on the other.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Every source the chain knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceId {
    /// A credential or profile given in code or on the command line.
    Explicit,
    /// `ANTHROPIC_API_KEY`.
    AnthropicApiKey,
    /// `ANTHROPIC_AUTH_TOKEN`.
    AnthropicAuthToken,
    /// `ANTHROPIC_PROFILE`.
    AnthropicProfile,
    /// Workload identity federation from the environment.
    WorkloadIdentity,
    /// The active profile on disk.
    ActiveProfile,
    /// `CLAUDE_CODE_OAUTH_TOKEN`.
    ClaudeCodeOauthToken,
    /// `CLAUDE_ACCESS_TOKEN` / `CLAUDE_REFRESH_TOKEN` (the seed's CI fallback).
    SeedEnv,
    /// The configured external command.
    ExternalCommand,
    /// Claude Code's credential file.
    ClaudeCode,
    /// The seed library's `auth.json` / `CLAUDE_AUTH_FILE`.
    SeedFile,
    /// `OPENAI_API_KEY` (the OpenAI chain).
    OpenaiApiKey,
    /// `CODEX_API_KEY` (the OpenAI chain).
    CodexApiKey,
    /// claude-auth's own OpenAI login: `--profile`, else the active OpenAI
    /// profile (the OpenAI chain).
    OpenaiProfile,
    /// Codex's login: `$CODEX_HOME/auth.json`, or Codex's keyring entry
    /// (the OpenAI chain).
    Codex,
    /// The configured OpenAI external command (`[openai] external_command`;
    /// the OpenAI chain).
    OpenaiExternalCommand,
}

/// The OpenAI chain, in its fixed order (`disabled_sources` may switch off
/// any but `explicit`).
pub const OPENAI_CHAIN: [SourceId; 6] = [
    SourceId::Explicit,
    SourceId::OpenaiApiKey,
    SourceId::CodexApiKey,
    SourceId::OpenaiProfile,
    SourceId::Codex,
    SourceId::OpenaiExternalCommand,
];

/// The spec's tiers, whose order is fixed.
pub const SPEC_TIERS: [SourceId; 6] = [
    SourceId::Explicit,
    SourceId::AnthropicApiKey,
    SourceId::AnthropicAuthToken,
    SourceId::AnthropicProfile,
    SourceId::WorkloadIdentity,
    SourceId::ActiveProfile,
];

impl SourceId {
    /// The stable id (settings, JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceId::Explicit => "explicit",
            SourceId::AnthropicApiKey => "anthropic-api-key",
            SourceId::AnthropicAuthToken => "anthropic-auth-token",
            SourceId::AnthropicProfile => "anthropic-profile",
            SourceId::WorkloadIdentity => "workload-identity",
            SourceId::ActiveProfile => "active-profile",
            SourceId::ClaudeCodeOauthToken => "claude-code-oauth-token",
            SourceId::SeedEnv => "seed-env",
            SourceId::ExternalCommand => "external-command",
            SourceId::ClaudeCode => "claude-code",
            SourceId::SeedFile => "seed-file",
            SourceId::OpenaiApiKey => "openai-api-key",
            SourceId::CodexApiKey => "codex-api-key",
            SourceId::OpenaiProfile => "openai-profile",
            SourceId::Codex => "codex",
            SourceId::OpenaiExternalCommand => "openai-external-command",
        }
    }

    /// What it is, for humans.
    pub fn label(self) -> &'static str {
        match self {
            SourceId::Explicit => "explicit (--profile or code)",
            SourceId::AnthropicApiKey => "ANTHROPIC_API_KEY",
            SourceId::AnthropicAuthToken => "ANTHROPIC_AUTH_TOKEN",
            SourceId::AnthropicProfile => "ANTHROPIC_PROFILE",
            SourceId::WorkloadIdentity => "workload identity federation",
            SourceId::ActiveProfile => "active profile",
            SourceId::ClaudeCodeOauthToken => "CLAUDE_CODE_OAUTH_TOKEN",
            SourceId::SeedEnv => "CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN",
            SourceId::ExternalCommand => "external command",
            SourceId::ClaudeCode => "Claude Code login",
            SourceId::SeedFile => "claude-oauth-auth file",
            SourceId::OpenaiApiKey => "OPENAI_API_KEY",
            SourceId::CodexApiKey => "CODEX_API_KEY",
            SourceId::OpenaiProfile => "OpenAI profile",
            SourceId::Codex => "Codex login",
            SourceId::OpenaiExternalCommand => "OpenAI external command",
        }
    }

    /// Whether this source belongs to the OpenAI chain only (`explicit` is
    /// in both chains).
    pub fn is_openai(self) -> bool {
        matches!(
            self,
            SourceId::OpenaiApiKey
                | SourceId::CodexApiKey
                | SourceId::OpenaiProfile
                | SourceId::Codex
                | SourceId::OpenaiExternalCommand
        )
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceId {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let all = [
            SourceId::ClaudeCodeOauthToken,
            SourceId::SeedEnv,
            SourceId::ExternalCommand,
            SourceId::ClaudeCode,
            SourceId::SeedFile,
            SourceId::OpenaiApiKey,
            SourceId::CodexApiKey,
            SourceId::OpenaiProfile,
            SourceId::Codex,
            SourceId::OpenaiExternalCommand,
        ];
        if let Some(id) = all.iter().find(|id| id.as_str() == s) {
            return Ok(*id);
        }
        if let Some(id) = SPEC_TIERS.iter().find(|id| id.as_str() == s) {
            return Err(format!("{id} is one of the spec's tiers: its place is fixed and it cannot be reordered or disabled"));
        }
        Err(format!(
            "unknown source {s:?}; known: {}",
            all.iter()
                .map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}
