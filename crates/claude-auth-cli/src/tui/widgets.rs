//! Small drawing helpers every screen shares: colours that vanish under
//! `NO_COLOR` (every meaning is also in a symbol or a word), the usage bar,
//! short time texts, a centred box for the overlays.

use claude_auth::status::relative;
use claude_auth::usage::{PaceState, Window};
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};

/// Styles, in colour or not.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    /// Colour allowed.
    pub color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    /// Good news.
    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }
    /// A warning.
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }
    /// An error.
    pub fn error(self) -> Style {
        self.fg(Color::Red)
    }
    /// Secondary text (and unavailable options).
    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    /// Emphasis.
    pub fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    /// The selected row (reversed: visible without colour).
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

/// `in 7h 12m` / `expired 3m ago` / `never` (an API key).
pub fn expiry(expires_at: Option<u64>, kind: Option<&str>, now: u64) -> String {
    match expires_at {
        Some(at) => {
            let delta = claude_auth::credential::seconds_until(at, now);
            if delta <= 0 {
                format!("expired {} ago", coarse(delta.unsigned_abs()))
            } else {
                relative(delta)
            }
        }
        None if kind == Some("API key") => "never".into(),
        None => "unknown".into(),
    }
}

/// A duration to the minute: `3d 4h`, `2h 5m`, `25m`, `40s`.
pub fn coarse(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

/// A text bar `[████░░░░]` of `width` cells inside the brackets.
pub fn bar(used_percent: f64, width: usize) -> String {
    let filled = ((used_percent.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    let filled = filled.min(width);
    format!("[{}{}]", "█".repeat(filled), "░".repeat(width - filled))
}

/// One window's line: `5h   [████░░░░░░░░] 42%  resets in 2h 3m  under pace`.
pub fn window_line(w: &Window, now: u64, width: usize) -> String {
    let mut line = format!(
        "{:<7} {} {:>3.0}%",
        truncate(&w.label, 7),
        bar(w.used_percent, width),
        w.used_percent
    );
    if let Some(secs) = w.resets_in(now) {
        line.push_str(&format!("  resets {}", relative(secs as i64)));
    }
    if let Some(p) = w.pace(now) {
        line.push_str(&format!("  {}", p.state.label()));
    }
    line
}

/// The style for a window's pace.
pub fn pace_style(theme: Theme, w: &Window, now: u64) -> ratatui::style::Style {
    match w.pace(now).map(|p| p.state) {
        Some(PaceState::Exhausted) => theme.error(),
        Some(PaceState::Ahead) => theme.warn(),
        _ => Style::new(),
    }
}

/// `text` cut to `max` characters, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A box of `width`×`height` centred in `area` (clamped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// How many rows `lines` take wrapped at `width` columns.
pub fn wrapped_height(lines: &[ratatui::text::Line], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(width) as u16)
        .sum()
}
