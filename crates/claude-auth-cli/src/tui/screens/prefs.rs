//! `p`: the selection preferences (strategy, failover, cost), each with the
//! value in effect and where it comes from, changed with ←→ and saved with
//! Enter through the library's preference functions
//! (`claude_auth::select::preferences`), never by writing the file here.
//! The fallback list lives in config.toml and is shown, not edited.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::Request;
use crate::tui::widgets::{centered, wrapped_height, Theme};
use claude_auth::select::{CostPreference, Strategy};

/// What the file holds and what is in effect (read when the screen opens).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrefsView {
    /// preferences.json's strategy (`None`: not set there).
    pub strategy: Option<Strategy>,
    /// preferences.json's failover.
    pub failover: Option<bool>,
    /// preferences.json's cost preference.
    pub cost: Option<CostPreference>,
    /// Each setting in effect, `value (from where)`: strategy, failover, cost.
    pub effective: [String; 3],
    /// The fallback list in effect, for humans (empty: none).
    pub fallback: String,
    /// Why the settings could not be read, when they could not.
    pub error: Option<String>,
}

impl PrefsView {
    /// Read them for this process's environment.
    pub fn load() -> PrefsView {
        PrefsView::load_from(&claude_auth::Env::from_process())
    }

    /// Read them for `env`.
    pub fn load_from(env: &claude_auth::Env) -> PrefsView {
        use claude_auth::select::preferences::{effective, path, Preferences};
        let mut view = PrefsView::default();
        let settings = match claude_auth::Settings::load(env) {
            Ok(s) => s,
            Err(e) => {
                view.error = Some(e.to_string());
                return view;
            }
        };
        match Preferences::load(&path(env)) {
            Ok(p) => {
                view.strategy = p.strategy;
                view.failover = p.failover;
                view.cost = p.cost;
            }
            Err(e) => view.error = Some(e.to_string()),
        }
        match effective(env, &settings, None, None, None) {
            Ok(e) => {
                view.effective = [
                    e.strategy.describe(),
                    e.failover.describe(),
                    e.cost.describe(),
                ];
                view.fallback = e
                    .fallback
                    .value
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
            }
            Err(e) => view.error = Some(e.to_string()),
        }
        view
    }
}

/// The screen's state: the values being edited.
#[derive(Clone, Debug, PartialEq)]
pub struct Prefs {
    /// What was read.
    pub view: PrefsView,
    /// The highlighted setting: 0 strategy, 1 failover, 2 cost.
    pub selected: usize,
    /// The strategy to save (`None`: clear it from the file).
    pub strategy: Option<Strategy>,
    /// Failover to save.
    pub failover: Option<bool>,
    /// Cost preference to save.
    pub cost: Option<CostPreference>,
}

/// What a key did.
#[derive(Debug)]
pub enum PrefsKey {
    /// Still editing.
    Stay,
    /// Closed without saving.
    Back,
    /// Save these.
    Save(Request),
}

fn cycle<T: Copy + PartialEq>(all: &[Option<T>], now: Option<T>, forward: bool) -> Option<T> {
    let i = all.iter().position(|x| *x == now).unwrap_or(0);
    let n = all.len();
    all[if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }]
}

impl Prefs {
    /// The screen for `view`.
    pub fn new(view: PrefsView) -> Prefs {
        Prefs {
            selected: 0,
            strategy: view.strategy,
            failover: view.failover,
            cost: view.cost,
            view,
        }
    }

    /// A key.
    pub fn on_key(&mut self, key: KeyEvent) -> PrefsKey {
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => PrefsKey::Back,
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                PrefsKey::Stay
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(2);
                PrefsKey::Stay
            }
            KeyCode::Left | KeyCode::Char('h') => {
                self.change(false);
                PrefsKey::Stay
            }
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => {
                self.change(true);
                PrefsKey::Stay
            }
            KeyCode::Enter if self.view.error.is_none() => PrefsKey::Save(Request::SavePrefs {
                strategy: (self.strategy != self.view.strategy).then_some(self.strategy),
                failover: (self.failover != self.view.failover).then_some(self.failover),
                cost: (self.cost != self.view.cost).then_some(self.cost),
            }),
            _ => PrefsKey::Stay,
        }
    }

    fn change(&mut self, forward: bool) {
        match self.selected {
            0 => {
                let mut all = vec![None];
                all.extend(Strategy::ALL.map(Some));
                self.strategy = cycle(&all, self.strategy, forward);
            }
            1 => self.failover = cycle(&[None, Some(true), Some(false)], self.failover, forward),
            _ => {
                self.cost = cycle(
                    &[
                        None,
                        Some(CostPreference::Any),
                        Some(CostPreference::SubscriptionOnly),
                    ],
                    self.cost,
                    forward,
                )
            }
        }
    }
}

fn shown<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "not set".to_owned(), |v| v.to_string())
}

/// Draw the preferences box.
pub fn draw(frame: &mut Frame, area: Rect, prefs: &Prefs, theme: Theme) {
    let mut lines = vec![
        Line::raw(" Saved in claude-auth's preferences.json:"),
        Line::raw(""),
    ];
    let failover = prefs.failover.map(|f| if f { "on" } else { "off" });
    let rows = [
        ("Strategy", shown(prefs.strategy)),
        ("Failover", shown(failover)),
        ("Cost", shown(prefs.cost)),
    ];
    for (i, (label, value)) in rows.iter().enumerate() {
        let style = if i == prefs.selected {
            theme.selected()
        } else {
            ratatui::style::Style::new()
        };
        let pointer = if i == prefs.selected { ">" } else { " " };
        lines.push(Line::styled(
            format!(" {pointer} {label:<9} ‹ {value} ›"),
            style,
        ));
        lines.push(Line::styled(
            format!("     in effect: {}", prefs.view.effective[i]),
            theme.dim(),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!(
        " Fallback list (config.toml [selection] fallback): {}",
        if prefs.view.fallback.is_empty() {
            "none, so failover stays off"
        } else {
            &prefs.view.fallback
        }
    )));
    if let Some(e) = &prefs.view.error {
        lines.push(Line::styled(format!(" ✗ {e}"), theme.error()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " ↑↓ choose · ←→ change · Enter saves · Esc leaves unsaved",
        theme.dim(),
    ));
    let area = centered(area, 78, wrapped_height(&lines, 76) + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::ALL).title(" Preferences ")),
        area,
    );
}
