//! Workload identity federation in the manager: a jwt-bearer exchange at
//! the token endpoint, with the exchanged token cached as the SDKs do (an
//! `oidc_federation` profile's credentials file, under the same lock file as
//! a refresh; federation from the environment in memory only).

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::provider::Encoding;
use crate::credential::{now_unix, Credential, TokenSet};
use crate::engine::lock::FileLock;
use crate::engine::manager::{AuthError, AuthManager, Obtained, Provenance};
use crate::error::Error;
use crate::oauth::token_client::{Endpoint, Grant};
use crate::secret::Secret;
use crate::source::backing::lock_path_beside;
use crate::source::{Federation, Found};
use crate::store::profile_files::ProfileFiles;

impl AuthManager {
    /// A token from workload identity federation. For an `oidc_federation`
    /// profile the exchanged token is cached in the profile's credentials
    /// file, as the SDKs do: a cached token more than [`Self::margin`] (30 s)
    /// from expiry that is not the `rejected` one is used without an
    /// exchange, and across processes the exchange runs under the same lock
    /// file as a refresh, re-reading the cache once it is held. Federation
    /// from the environment is cached in memory only, as in the SDKs.
    pub(crate) async fn federation(
        &self,
        fed: &Federation,
        found: &Found,
        provenance: &Arc<Provenance>,
        rejected: Option<&Secret>,
    ) -> Result<Obtained, AuthError> {
        let exchange = |cache| self.exchange_federation(fed, found, provenance, cache);
        let Some(path) = fed.token_cache.clone() else {
            return exchange(None).await;
        };
        let margin = self.margin(&found.backing);
        // `Err` when the file is there but refused (a symlink, loose
        // permissions, not JSON, another `type`): then it is left alone.
        let cached = || -> Result<Option<Credential>, ()> {
            let (token, expires_at) = match ProfileFiles::read_token_cache(&path) {
                Ok(Some(found)) => found,
                Ok(None) => return Ok(None),
                Err(e) => {
                    tracing::warn!("not using or replacing the cached federation token: {e}");
                    return Err(());
                }
            };
            let mut set = TokenSet::access_only(token, crate::credential::Provider::Anthropic);
            set.expires_at = Some(expires_at);
            let usable = rejected.is_none_or(|r| *r != set.access_token)
                && expires_at > now_unix().saturating_add(margin);
            Ok(usable.then_some(Credential::OAuth(set)))
        };
        match cached() {
            Ok(Some(c)) => return Ok(self.hand_out(c, found, provenance, false)),
            Ok(None) => {}
            Err(()) => return exchange(None).await,
        }
        let lock_path: PathBuf = lock_path_beside(&path);
        let timeout = self.inner.options.lock_timeout;
        let guard = tokio::task::spawn_blocking(move || FileLock::acquire(&lock_path, timeout))
            .await
            .map_err(|e| Error::Unsupported(format!("lock task failed: {e}")))?;
        let _guard = match guard {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::warn!("exchanging without the cross-process lock: {e}");
                None
            }
        };
        // Another process may have exchanged while we waited.
        match cached() {
            Ok(Some(c)) => Ok(self.hand_out(c, found, provenance, true)),
            Ok(None) => exchange(Some(&path)).await,
            Err(()) => exchange(None).await,
        }
    }

    async fn exchange_federation(
        &self,
        fed: &Federation,
        found: &Found,
        provenance: &Arc<Provenance>,
        cache: Option<&std::path::Path>,
    ) -> Result<Obtained, AuthError> {
        let assertion = match (&fed.identity_token_file, &fed.identity_token) {
            (Some(path), _) => {
                // Re-read on every exchange: the platform rotates it.
                let bytes = crate::secure_file::read_required(
                    path,
                    crate::secure_file::ReadPolicy::Lenient,
                    crate::secure_file::MAX_IDENTITY_TOKEN_BYTES,
                )?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Error::parse(path, "the identity token file is not UTF-8 text"))?;
                Secret::token(text.trim(), "the identity token")
                    .map_err(|m| Error::parse(path, m))?
            }
            (None, Some(t)) => t.clone(),
            (None, None) => return Err(Error::Unsupported(
                "workload identity needs ANTHROPIC_IDENTITY_TOKEN_FILE or ANTHROPIC_IDENTITY_TOKEN"
                    .into(),
            )
            .into()),
        };
        if assertion.len() > 16 * 1024 {
            return Err(Error::Unsupported(
                "the identity token is over 16 KiB; refusing to send it".into(),
            )
            .into());
        }
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            "federation_rule_id".to_owned(),
            fed.federation_rule_id.clone(),
        );
        if let Some(v) = &fed.organization_id {
            fields.insert("organization_id".into(), v.clone());
        }
        if let Some(v) = &fed.service_account_id {
            fields.insert("service_account_id".into(), v.clone());
        }
        if let Some(v) = &fed.workspace_id {
            fields.insert("workspace_id".into(), v.clone());
        }
        if let Some(v) = &fed.scope {
            fields.insert("scope".into(), v.clone());
        }
        let endpoint = Endpoint {
            url: format!(
                "{}/v1/oauth/token",
                provenance.base_url.trim_end_matches('/')
            ),
            encoding: Encoding::Json,
            client_id: None,
            client_secret: None,
            headers: [(
                "anthropic-beta".to_owned(),
                format!(
                    "{},oidc-federation-2026-04-01",
                    crate::doors::wire::OAUTH_BETA
                ),
            )]
            .into(),
        };
        let response = self
            .client()?
            .request(&endpoint, &Grant::JwtBearer { assertion, fields })
            .await?;
        let set = response.into_token_set(crate::credential::Provider::Anthropic, None, None);
        if let (Some(path), Some(expires_at)) = (cache, set.expires_at) {
            // Best effort, as in the SDKs: the token is good without the cache.
            if let Err(e) = ProfileFiles::write_token_cache(path, &set.access_token, expires_at) {
                tracing::warn!("could not cache the federation token: {e}");
            }
        }
        Ok(self.hand_out(Credential::OAuth(set), found, provenance, true))
    }
}
