//! A yes/no question over the dashboard (log out): y confirms, n or Esc
//! goes back.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::model::Row;
use crate::tui::widgets::{centered, wrapped_height, Theme};
use claude_auth::Provider;

/// Log out of one login, once confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm {
    /// Whose.
    pub provider: Provider,
    /// The profile (`None` with `codex`).
    pub profile: Option<String>,
    /// Codex's own login.
    pub codex: bool,
    /// For the question: `Anthropic profile work`.
    pub what: String,
}

impl Confirm {
    /// The logout of `row`, when it is something logout removes: a
    /// profile, or Codex's login (not the environment, not Claude Code's
    /// login, not an external command).
    pub fn logout(row: Option<&Row>) -> Option<Confirm> {
        let row = row?;
        let codex = row.provider == Provider::Openai && row.source == "Codex login";
        if row.profile.is_none() && !codex {
            return None;
        }
        Some(Confirm {
            provider: row.provider.clone(),
            profile: row.profile.clone(),
            codex,
            what: match &row.profile {
                Some(p) => format!("{} profile {p}", row.provider.display_name()),
                None => "Codex's login".into(),
            },
        })
    }
}

/// Draw the question.
pub fn draw(frame: &mut Frame, area: Rect, confirm: &Confirm, theme: Theme) {
    let lines = vec![
        Line::raw(format!(" Log out of {}?", confirm.what)),
        Line::styled(
            " Its stored credentials are removed (and a login revoked at the provider when it can be).",
            theme.dim(),
        ),
        Line::raw(""),
        Line::styled(" y log out · n or Esc keep it", theme.bold()),
    ];
    let area = centered(area, 70, wrapped_height(&lines, 68) + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::ALL).title(" Log out ")),
        area,
    );
}
