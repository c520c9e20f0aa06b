//! `?`: every key, in a box over the dashboard.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::widgets::{centered, Theme};

/// The help text (stable: a pty test reads it).
pub const KEYS: &[(&str, &str)] = &[
    ("↑ ↓  k j", "move between logins (or click a row)"),
    ("g G  Home End", "first / last login"),
    (
        "s  Enter",
        "make the selected login's provider (and profile) active",
    ),
    ("r", "refresh the selected login now (the one marked ✓)"),
    ("u", "ask for usage now (also asked in the background)"),
    ("l", "log in: OpenAI, Claude, or a smart selection"),
    ("x", "log out of the selected profile (asks first)"),
    ("p", "preferences: strategy and fallback"),
    ("R  F5", "read everything again"),
    ("Esc", "cancel the running action, or go back"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
];

/// Draw the help box.
pub fn draw(frame: &mut Frame, area: Rect, theme: Theme) {
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| Line::raw(format!(" {k:<14} {what}")))
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " ✓ wins  ~ shadowed  · stored  ✗ error.  Values are masked, never shown.",
        theme.dim(),
    ));
    lines.push(Line::styled(" Esc, q or ? closes this help", theme.dim()));
    let height = lines.len() as u16 + 2;
    let area = centered(area, 78, height);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::ALL).title(" Help ")),
        area,
    );
}
