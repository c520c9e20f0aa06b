//! The Models API's types: `GET /v1/models` pages and their entries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One model of `GET /v1/models`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The model id to put in requests.
    pub id: String,
    /// A human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// RFC 3339 release time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Other fields (`type`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A page of models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelPage {
    /// The models, newest first.
    #[serde(default)]
    pub data: Vec<ModelInfo>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// The first id of this page.
    #[serde(default)]
    pub first_id: Option<String>,
    /// The last id (pass it as `after_id` for the next page).
    #[serde(default)]
    pub last_id: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Paging for `GET /v1/models`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListModels {
    /// Page size (the API's default is 20, its maximum 1000).
    pub limit: Option<u32>,
    /// Models after this id.
    pub after_id: Option<String>,
    /// Models before this id.
    pub before_id: Option<String>,
}

impl ListModels {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(limit) = self.limit {
            q.push(("limit", limit.to_string()));
        }
        if let Some(a) = &self.after_id {
            q.push(("after_id", a.clone()));
        }
        if let Some(b) = &self.before_id {
            q.push(("before_id", b.clone()));
        }
        q
    }
}
