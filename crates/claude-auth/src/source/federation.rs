//! Workload identity federation: its settings (from the environment, tier
//! 4, or an `oidc_federation` profile) and the environment source. The
//! access token comes from a jwt-bearer exchange the engine performs.

use std::path::PathBuf;

use crate::secret::Secret;
use crate::source::{Backing, Found, ResolveOptions, Resolver, Step};

/// Workload identity federation settings (from the environment or a profile).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Federation {
    /// `federation_rule_id`.
    pub federation_rule_id: String,
    /// `organization_id`.
    pub organization_id: Option<String>,
    /// `service_account_id`.
    pub service_account_id: Option<String>,
    /// `workspace_id`.
    pub workspace_id: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// The identity token file (re-read on every exchange), if any.
    pub identity_token_file: Option<PathBuf>,
    /// A literal identity token (`ANTHROPIC_IDENTITY_TOKEN`).
    pub identity_token: Option<Secret>,
    /// Where exchanged tokens are cached: an `oidc_federation` profile's
    /// credentials file (`credentials_path`, else `credentials/<p>.json`),
    /// as the SDKs do; `None` for federation from the environment, which is
    /// cached in memory only.
    pub token_cache: Option<PathBuf>,
}

/// Tier 4: federation from `ANTHROPIC_FEDERATION_RULE_ID`,
/// `ANTHROPIC_ORGANIZATION_ID` and an identity token (file or literal).
pub(super) fn evaluate(r: &Resolver, _: &ResolveOptions) -> Step {
    let env = r.env();
    let rule = env.get("ANTHROPIC_FEDERATION_RULE_ID");
    let org = env.get("ANTHROPIC_ORGANIZATION_ID");
    let file = env.path("ANTHROPIC_IDENTITY_TOKEN_FILE");
    let literal = env.get("ANTHROPIC_IDENTITY_TOKEN");
    match (rule, org) {
        (None, None) => return Step::Skip("ANTHROPIC_FEDERATION_RULE_ID not set".into()),
        (Some(_), None) => {
            return Step::Skip(
                "ANTHROPIC_FEDERATION_RULE_ID is set but ANTHROPIC_ORGANIZATION_ID is not".into(),
            )
        }
        (None, Some(_)) => {
            return Step::Skip(
                "ANTHROPIC_ORGANIZATION_ID is set but ANTHROPIC_FEDERATION_RULE_ID is not".into(),
            )
        }
        _ => {}
    }
    if file.is_none() && literal.is_none() {
        return Step::Skip(
            "ANTHROPIC_FEDERATION_RULE_ID and ANTHROPIC_ORGANIZATION_ID are set but neither ANTHROPIC_IDENTITY_TOKEN_FILE nor ANTHROPIC_IDENTITY_TOKEN".into(),
        );
    }
    let federation = Federation {
        federation_rule_id: rule.unwrap_or_default().to_owned(),
        organization_id: org.map(str::to_owned),
        service_account_id: env.get("ANTHROPIC_SERVICE_ACCOUNT_ID").map(str::to_owned),
        workspace_id: env.get("ANTHROPIC_WORKSPACE_ID").map(str::to_owned),
        scope: env.get("ANTHROPIC_SCOPE").map(str::to_owned),
        identity_token: if file.is_none() {
            literal.map(Secret::new)
        } else {
            None
        },
        identity_token_file: file.clone(),
        token_cache: None,
    };
    let location = match &file {
        Some(f) => format!("identity token file {}", f.display()),
        None => "identity token in ANTHROPIC_IDENTITY_TOKEN".into(),
    };
    Step::Found(Box::new(Found {
        credential: None,
        profile: None,
        location,
        backing: Backing::Federation(Box::new(federation)),
        storage: None,
        base_url: env.get("ANTHROPIC_BASE_URL").map(str::to_owned),
        notes: vec![
            "the access token comes from a jwt-bearer exchange at the token endpoint".into(),
        ],
    }))
}
