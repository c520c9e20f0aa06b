//! A budget as people write it, parsed and checked: a token count
//! (`200000`, `200k`, `2M`, optionally per a rolling period: `500k/5h`) or
//! a share of a subscription window (`20%5h`, `10%7d`; for a ChatGPT login
//! also `20%primary` or `20%secondary`, the names PROTOCOL.md gives its
//! windows). Errors name what was given, the rule and an example.

use std::fmt;

/// Which subscription window a share is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowRef {
    /// The 5-hour window (Anthropic's `five_hour`, usually ChatGPT's primary).
    FiveHours,
    /// The 7-day window (Anthropic's `seven_day`, usually ChatGPT's secondary).
    SevenDays,
    /// ChatGPT's `primary` window, whatever its length.
    Primary,
    /// ChatGPT's `secondary` window, whatever its length.
    Secondary,
}

impl WindowRef {
    /// As written in a budget: `5h`, `7d`, `primary`, `secondary`.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowRef::FiveHours => "5h",
            WindowRef::SevenDays => "7d",
            WindowRef::Primary => "primary",
            WindowRef::Secondary => "secondary",
        }
    }

    /// The part of an environment variable's name for it
    /// (`CLAUDE_AUTH_WINDOW_<NAME>_PERCENT`).
    pub fn env_name(self) -> &'static str {
        match self {
            WindowRef::FiveHours => "5H",
            WindowRef::SevenDays => "7D",
            WindowRef::Primary => "PRIMARY",
            WindowRef::Secondary => "SECONDARY",
        }
    }

    /// Whether a vendor's window is this one: `5h` and `7d` match the
    /// window of that label (Anthropic's `five_hour` and `seven_day`, a
    /// ChatGPT window of that length; never a per-model week such as
    /// `7d opus`), `primary` and `secondary` match ChatGPT's ids.
    pub fn matches(self, window: &crate::usage::Window) -> bool {
        match self {
            WindowRef::FiveHours | WindowRef::SevenDays => window.label == self.as_str(),
            WindowRef::Primary | WindowRef::Secondary => window.id == self.as_str(),
        }
    }
}

/// A budget.
#[derive(Clone, Debug, PartialEq)]
pub enum Budget {
    /// At most `tokens` tokens: over an agent's whole session, or over any
    /// `per` seconds (a rolling period) when set.
    Tokens {
        /// The tokens.
        tokens: u64,
        /// The rolling period, seconds.
        per: Option<u64>,
    },
    /// At most `percent` of a subscription window.
    Share {
        /// 0 < percent ≤ 100.
        percent: f64,
        /// Which window.
        window: WindowRef,
    },
}

/// The examples every error ends with.
const EXAMPLES: &str =
    "write a token count (200000, 200k, 2M, or per a rolling period: 500k/5h) or a share of a window (20%5h, 10%7d)";

impl Budget {
    /// Parse a budget, `what` naming where it came from in errors
    /// (`--budget`, `config.toml ([profiles.work] budget)`).
    ///
    /// ```
    /// use claude_auth::budgets::{Budget, WindowRef};
    /// assert_eq!(Budget::parse("200k", "--budget").unwrap(), Budget::Tokens { tokens: 200_000, per: None });
    /// assert_eq!(Budget::parse("1.5M/7d", "--budget").unwrap(), Budget::Tokens { tokens: 1_500_000, per: Some(604_800) });
    /// assert_eq!(Budget::parse("20%5h", "--budget").unwrap(), Budget::Share { percent: 20.0, window: WindowRef::FiveHours });
    /// assert!(Budget::parse("20%", "--budget").unwrap_err().contains("which window"));
    /// ```
    pub fn parse(text: &str, what: &str) -> Result<Budget, String> {
        let text = text.trim();
        let shown = crate::usage::clean_text(text);
        let bad = |why: &str| format!("{what} {shown:?}: {why}; {EXAMPLES}");
        if text.is_empty() {
            return Err(bad("is empty"));
        }
        if let Some((percent, window)) = text.split_once('%') {
            let percent: f64 = percent
                .trim()
                .parse()
                .map_err(|_| bad("the share before % is not a number"))?;
            if !(percent > 0.0 && percent <= 100.0 && percent.is_finite()) {
                return Err(bad("the share must be more than 0 % and at most 100 %"));
            }
            let window =
                match window.trim() {
                    "5h" => WindowRef::FiveHours,
                    "7d" => WindowRef::SevenDays,
                    "primary" => WindowRef::Primary,
                    "secondary" => WindowRef::Secondary,
                    "" => return Err(bad("a share needs to say of which window (5h or 7d)")),
                    _ => return Err(bad(
                        "the window must be 5h or 7d (or primary or secondary for a ChatGPT login)",
                    )),
                };
            return Ok(Budget::Share { percent, window });
        }
        let (count, per) = match text.split_once('/') {
            Some((count, per)) => (count, Some(parse_period(per.trim()).map_err(|w| bad(&w))?)),
            None => (text, None),
        };
        let tokens = parse_count(count.trim()).map_err(|w| bad(&w))?;
        Ok(Budget::Tokens { tokens, per })
    }

    /// Parse a token count alone (`--budget-tokens`): digits, or with `k`/`M`.
    pub fn parse_tokens(text: &str, what: &str) -> Result<Budget, String> {
        let shown = crate::usage::clean_text(text.trim());
        parse_count(text.trim())
            .map(|tokens| Budget::Tokens { tokens, per: None })
            .map_err(|why| {
                format!("{what} {shown:?}: {why}; write a number of tokens (200000, 200k, 2M)")
            })
    }
}

/// `200000`, `200_000`, `200k`, `1.5M`: a positive whole number of tokens.
fn parse_count(text: &str) -> Result<u64, String> {
    let (number, scale) = match text.as_bytes().last() {
        Some(b'k' | b'K') => (&text[..text.len() - 1], 1_000.0),
        Some(b'm' | b'M') => (&text[..text.len() - 1], 1_000_000.0),
        _ => (text, 1.0),
    };
    let number = number.replace('_', "");
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("is not a number of tokens".into());
    }
    let value: f64 = number
        .parse()
        .map_err(|_| "is not a number of tokens".to_string())?;
    let tokens = (value * scale).round();
    if !(1.0..=1e15).contains(&tokens) {
        return Err("must be at least 1 token (and less than 10^15)".into());
    }
    Ok(tokens as u64)
}

/// `5h`, `30m`, `7d`: a rolling period in seconds.
fn parse_period(text: &str) -> Result<u64, String> {
    let unit = match text.as_bytes().last() {
        Some(b'm') => 60,
        Some(b'h') => 3600,
        Some(b'd') => 86_400,
        _ => return Err("the period after / must be minutes, hours or days (30m, 5h, 7d)".into()),
    };
    let n: u64 = text[..text.len() - 1]
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "the period after / must be a whole positive number (5h)".to_string())?;
    n.checked_mul(unit)
        .filter(|s| *s <= 366 * 86_400)
        .ok_or_else(|| "the period after / must be at most a year".to_string())
}

impl fmt::Display for Budget {
    /// The canonical form: `200000`, `500000/5h`, `20%5h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Tokens { tokens, per: None } => write!(f, "{tokens}"),
            Budget::Tokens {
                tokens,
                per: Some(per),
            } => write!(f, "{tokens}/{}", crate::usage::window_label(*per)),
            Budget::Share { percent, window } => write!(f, "{percent}%{}", window.as_str()),
        }
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
