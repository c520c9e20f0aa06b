//! Token budgets for agents and profiles, enforced at the proxy.
//!
//! A budget is a token count (`exec --budget-tokens 200000`, or per a
//! rolling period: `500k/5h`) or a share of a subscription window
//! (`--budget 20%5h`), given to an agent (`exec --agent-id ID --budget…`,
//! kept in its session row) or to a profile (`[profiles.<name>] budget` in
//! the settings, for every request through a proxy with that login). The
//! proxy checks it before forwarding each request ([`book`]) and answers a
//! request past it with a 429 in the vendor's error shape ([`refusal`]);
//! tokens are counted as responses stream, and a response in flight is
//! never cut. A share of a window is turned into tokens by an estimate from
//! the ledger ([`estimate`]). The agent's environment says what it has
//! ([`agent_env`]).
//!
//! Layout: [`spec`] (parsing), [`book`] (counting and checking),
//! [`estimate`] (a window's size in tokens), [`refusal`] (the 429),
//! [`agent_env`] (the child's variables).

pub mod agent_env;
pub mod book;
pub mod estimate;
pub mod refusal;
pub mod spec;

pub use book::{BookConfig, BudgetBook, Charge, ProfileBudget, DEFAULT_REFRESH};
pub use refusal::{Holder, Refusal};
pub use spec::{Budget, WindowRef};
