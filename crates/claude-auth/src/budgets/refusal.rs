//! The answer to a request whose agent or profile has spent its budget: a
//! 429 in the vendor's own error shape, so the official SDKs raise their
//! usual rate-limit error with our message in it (Anthropic:
//! `{"type":"error","error":{"type":"rate_limit_error","message":…}}`;
//! OpenAI: `{"error":{"message":…,"type":"insufficient_quota","param":null,
//! "code":"insufficient_quota"}}`, the shape of its own "quota exceeded"),
//! with `x-should-retry: false`, which both SDKs honour: retrying cannot
//! help until the budget is raised (or its period moves on).

use crate::credential::Provider;

/// Whose budget was spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// An agent (`exec --agent-id ID --budget…`).
    Agent(String),
    /// A profile (`[profiles.<name>] budget` in the settings).
    Profile(String),
}

/// A request refused for its budget: who, which budget, what was spent.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// Whose budget.
    pub holder: Holder,
    /// The budget as given (`200000`, `20%5h`).
    pub budget: String,
    /// What was spent against it, in words (`200145 tokens`, `the 5h
    /// window is at 52 %`).
    pub spent: String,
    /// The budget in tokens: its count, or a share's estimate (shown).
    pub limit: Option<u64>,
}

impl Refusal {
    /// How to raise the budget.
    pub fn how_to_raise(&self) -> String {
        match &self.holder {
            Holder::Agent(id) => format!(
                "start the agent again with a larger budget (claude-auth exec --agent-id {id} --budget-tokens N, or --budget P%5h)"
            ),
            Holder::Profile(name) => format!(
                "raise or remove `budget` under [profiles.{name}] in claude-auth's config.toml"
            ),
        }
    }

    /// One line: who spent which budget, how much, how to raise it.
    pub fn message(&self) -> String {
        let who = match &self.holder {
            Holder::Agent(id) => format!("agent {id:?}"),
            Holder::Profile(name) => format!("profile {name:?}"),
        };
        let budget = match self.limit {
            Some(limit) if self.budget.contains('%') => {
                format!("{} (≈ {limit} tokens)", self.budget)
            }
            _ => self.budget.clone(),
        };
        format!(
            "claude-auth: {who} has spent its budget of {budget}: {}; {}",
            self.spent,
            self.how_to_raise()
        )
    }

    /// The 429's body in `provider`'s error shape.
    pub fn body(&self, provider: &Provider) -> String {
        let message = self.message();
        match provider {
            Provider::Anthropic => serde_json::json!({
                "type": "error",
                "error": {"type": "rate_limit_error", "message": message},
            }),
            Provider::Openai => serde_json::json!({
                "error": {
                    "message": message,
                    "type": "insufficient_quota",
                    "param": null,
                    "code": "insufficient_quota",
                },
            }),
        }
        .to_string()
    }
}

/// The headers of a refusal besides `content-type: application/json`: the
/// SDKs' own "do not retry" signal.
pub const NO_RETRY: (&str, &str) = ("x-should-retry", "false");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_in_each_vendors_shape() {
        let r = Refusal {
            holder: Holder::Agent("a1".into()),
            budget: "100".into(),
            spent: "120 tokens".into(),
            limit: Some(100),
        };
        let msg = "claude-auth: agent \"a1\" has spent its budget of 100: 120 tokens; start the agent again with a larger budget (claude-auth exec --agent-id a1 --budget-tokens N, or --budget P%5h)";
        assert_eq!(r.message(), msg);
        let a: serde_json::Value = serde_json::from_str(&r.body(&Provider::Anthropic)).unwrap();
        assert_eq!(
            a,
            serde_json::json!({"type":"error","error":{"type":"rate_limit_error","message":msg}})
        );
        let o: serde_json::Value = serde_json::from_str(&r.body(&Provider::Openai)).unwrap();
        assert_eq!(
            o,
            serde_json::json!({"error":{"message":msg,"type":"insufficient_quota","param":null,"code":"insufficient_quota"}})
        );
        let p = Refusal {
            holder: Holder::Profile("work".into()),
            budget: "20%5h".into(),
            spent: "the 5h window is at 21 %".into(),
            limit: None,
        };
        assert_eq!(
            p.message(),
            "claude-auth: profile \"work\" has spent its budget of 20%5h: the 5h window is at 21 %; raise or remove `budget` under [profiles.work] in claude-auth's config.toml"
        );
    }
}
