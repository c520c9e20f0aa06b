//! Provider facts that the credential model needs.
//!
//! Endpoints, scopes and encodings live in provider presets (data, never
//! scattered through code); this module holds only the identifiers that
//! reading other tools' files requires.

/// Claude Code's public OAuth client (no secret). Claude Code's credential
/// file omits the client id in older versions; tokens in it belong to this
/// client.
pub const CLAUDE_CODE_CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

/// The `ant` CLI's OAuth client (Developer Platform login).
pub const ANT_CLI_CLIENT_ID: &str = "41077d10-94b8-4194-be48-d251e9eb21b4";
