//! `[selection]` in `config.toml`: how a credential is chosen among the
//! usable ones, and whether to fail over to the next on a rejection.
//!
//! ```toml
//! [selection]
//! strategy = "subscription-first"       # prefer-anthropic | prefer-openai | subscription-first | cheapest | fastest | manual
//! subscription_threshold_percent = 80   # subscription-first: a subscription while every window is under this
//! fallback = ["anthropic-subscription", "anthropic-api-key", "openai"]   # empty or absent: failover off
//! failover = true                       # default: true when fallback is set
//! ```
//!
//! Kept in its own module beside [`crate::config::settings`], which parses
//! the rest of the file; every error names the key and the values allowed.

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::select::{ClassOrProvider, Strategy};

/// Default `subscription_threshold_percent`.
pub const DEFAULT_SUBSCRIPTION_THRESHOLD_PERCENT: u8 = 80;

/// `[selection]` as written in the file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct SelectionFile {
    strategy: Option<String>,
    subscription_threshold_percent: Option<i64>,
    fallback: Option<Vec<String>>,
    failover: Option<bool>,
}

/// The `[selection]` table, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectionSettings {
    /// `strategy`, when set.
    pub strategy: Option<Strategy>,
    /// `subscription_threshold_percent`, when set (see
    /// [`SelectionSettings::threshold_percent`]).
    pub subscription_threshold_percent: Option<u8>,
    /// `fallback`: the entries to move through on a rejection, in order
    /// (empty: failover off).
    pub fallback: Vec<ClassOrProvider>,
    /// `failover`, when set (see [`SelectionSettings::failover_enabled`]).
    pub failover: Option<bool>,
}

impl SelectionSettings {
    /// The threshold in percent (default 80).
    pub fn threshold_percent(&self) -> u8 {
        self.subscription_threshold_percent
            .unwrap_or(DEFAULT_SUBSCRIPTION_THRESHOLD_PERCENT)
    }

    /// Whether failover is on in the settings: `failover`, else true when
    /// `fallback` lists anything. Always false without a `fallback` list.
    pub fn failover_enabled(&self) -> bool {
        !self.fallback.is_empty() && self.failover.unwrap_or(true)
    }

    /// Check the table; `setting` names a key for errors
    /// (`/path/config.toml (selection.fallback)`).
    pub(crate) fn from_file(
        file: SelectionFile,
        setting: impl Fn(&str) -> String,
    ) -> Result<SelectionSettings> {
        let bad = |key: &str, message: String| Error::Setting {
            setting: setting(key),
            message,
        };
        let strategy = file
            .strategy
            .map(|s| s.parse::<Strategy>())
            .transpose()
            .map_err(|m| bad("selection.strategy", m))?;
        let threshold = file
            .subscription_threshold_percent
            .map(|t| {
                u8::try_from(t).ok().filter(|t| (1..=100).contains(t)).ok_or_else(|| {
                    bad(
                        "selection.subscription_threshold_percent",
                        format!("{t} is not a percentage from 1 to 100 (default {DEFAULT_SUBSCRIPTION_THRESHOLD_PERCENT})"),
                    )
                })
            })
            .transpose()?;
        let mut fallback: Vec<ClassOrProvider> = Vec::new();
        for entry in file.fallback.unwrap_or_default() {
            let parsed: ClassOrProvider = entry
                .trim()
                .parse()
                .map_err(|m| bad("selection.fallback", m))?;
            if fallback.contains(&parsed) {
                return Err(bad(
                    "selection.fallback",
                    format!("{parsed} is listed twice; list each entry once"),
                ));
            }
            fallback.push(parsed);
        }
        if file.failover == Some(true) && fallback.is_empty() {
            return Err(bad(
                "selection.failover",
                "failover = true needs a fallback list to move through, e.g. fallback = [\"anthropic-subscription\", \"anthropic-api-key\", \"openai\"]".into(),
            ));
        }
        Ok(SelectionSettings {
            strategy,
            subscription_threshold_percent: threshold,
            fallback,
            failover: file.failover,
        })
    }
}

#[cfg(test)]
#[path = "selection_tests.rs"]
mod tests;
