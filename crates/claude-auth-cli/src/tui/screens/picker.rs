//! The login picker: 1 OpenAI, 2 Claude, 3 smart selection, each with a
//! line saying what login it has now (plan, account), unavailable options
//! dimmed, and a recommendation; then the provider's ways to log in
//! (browser, device code, API key). Number keys or arrows and Enter; Esc
//! goes back a step.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::login::LoginMethod;
use crate::tui::model::{Dashboard, RowState};
use crate::tui::widgets::{centered, wrapped_height, Theme};
use claude_auth::Provider;

/// One line of the first step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// `OpenAI`, `Claude`, `Smart selection`.
    pub label: &'static str,
    /// What the provider has now, or what the smart selection would do.
    pub detail: String,
    /// Whether it can be chosen.
    pub available: bool,
}

/// Where the picker is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// 1 OpenAI, 2 Claude, 3 smart selection.
    Provider,
    /// That provider's ways to log in.
    Method(Provider),
}

/// The picker's state.
#[derive(Clone, Debug)]
pub struct Picker {
    /// Where it is.
    pub step: Step,
    /// The highlighted line (0-based).
    pub selected: usize,
    /// The three choices.
    pub choices: Vec<Choice>,
    /// The recommended provider, when one can be recommended.
    pub recommended: Option<Provider>,
    /// Why.
    pub reason: String,
}

/// What a key did.
#[derive(Debug)]
pub enum Outcome {
    /// Still picking.
    Stay,
    /// Left the picker.
    Back,
    /// Start this login.
    Start(LoginMethod),
}

/// What `provider` has now, in a few words (`max · alice@example.com`).
fn current(data: Option<&Dashboard>, provider: &Provider) -> (bool, String) {
    let Some(d) = data else {
        return (false, "reading…".into());
    };
    let usable = d.providers.iter().any(|p| &p.provider == provider && p.ok);
    let winner = d
        .rows
        .iter()
        .find(|r| &r.provider == provider && r.state == RowState::Wins);
    let text = match winner {
        Some(r) => {
            let mut parts = Vec::new();
            parts.push(r.kind.clone().unwrap_or_else(|| "login".into()));
            if let Some(p) = &r.plan {
                parts.push(format!("plan {p}"));
            }
            if let Some(a) = &r.account {
                parts.push(a.clone());
            }
            parts.push(format!("from {}", r.source));
            let now = format!("now: {}", parts.join(" · "));
            if usable {
                now
            } else {
                format!("{now} (not usable)")
            }
        }
        None => "no login yet".into(),
    };
    (usable, text)
}

/// The three methods of a provider: label and method.
pub fn methods(provider: &Provider) -> Vec<(&'static str, LoginMethod)> {
    match provider {
        Provider::Openai => vec![
            (
                "ChatGPT in the browser (Plus, Pro, Team)",
                LoginMethod::ChatGptBrowser,
            ),
            (
                "ChatGPT with a device code (no browser here)",
                LoginMethod::ChatGptDevice,
            ),
            ("OpenAI API key (paste it)", LoginMethod::OpenaiApiKey),
        ],
        Provider::Anthropic => vec![
            (
                "Claude Pro/Max subscription in the browser",
                LoginMethod::ClaudeBrowser("claude".into()),
            ),
            (
                "Claude Developer Platform (Console) in the browser",
                LoginMethod::ClaudeBrowser("console".into()),
            ),
            ("Anthropic API key (paste it)", LoginMethod::AnthropicApiKey),
        ],
    }
}

impl Picker {
    /// The picker for what the dashboard shows.
    pub fn new(data: Option<&Dashboard>) -> Picker {
        let (openai_ok, openai) = current(data, &Provider::Openai);
        let (claude_ok, claude) = current(data, &Provider::Anthropic);
        let (recommended, reason) = match (claude_ok, openai_ok) {
            (false, _) => (
                Some(Provider::Anthropic),
                "you have no usable Claude login".to_owned(),
            ),
            (true, false) => (
                Some(Provider::Openai),
                "you have no usable OpenAI login".to_owned(),
            ),
            (true, true) => (None, "both providers have a usable login".to_owned()),
        };
        let smart = match &recommended {
            Some(p) => format!("→ {} ({reason})", label(p)),
            None => format!("nothing to recommend: {reason}"),
        };
        Picker {
            step: Step::Provider,
            selected: match recommended {
                Some(Provider::Openai) => 0,
                _ => 1,
            },
            choices: vec![
                Choice {
                    label: "OpenAI",
                    detail: openai,
                    available: true,
                },
                Choice {
                    label: "Claude",
                    detail: claude,
                    available: true,
                },
                Choice {
                    label: "Smart selection",
                    detail: smart,
                    available: recommended.is_some(),
                },
            ],
            recommended,
            reason,
        }
    }

    fn count(&self) -> usize {
        match &self.step {
            Step::Provider => self.choices.len(),
            Step::Method(p) => methods(p).len(),
        }
    }

    fn choose(&mut self, index: usize) -> Outcome {
        match self.step.clone() {
            Step::Provider => {
                let provider = match index {
                    0 => Provider::Openai,
                    1 => Provider::Anthropic,
                    2 => match &self.recommended {
                        Some(p) => p.clone(),
                        None => return Outcome::Stay,
                    },
                    _ => return Outcome::Stay,
                };
                self.step = Step::Method(provider);
                self.selected = 0;
                Outcome::Stay
            }
            Step::Method(p) => match methods(&p).into_iter().nth(index) {
                Some((_, m)) => Outcome::Start(m),
                None => Outcome::Stay,
            },
        }
    }

    /// A key.
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        let n = self.count();
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Left | KeyCode::Char('h') => {
                if self.step == Step::Provider {
                    return Outcome::Back;
                }
                self.step = Step::Provider;
                self.selected = 0;
                Outcome::Stay
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                Outcome::Stay
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(n.saturating_sub(1));
                Outcome::Stay
            }
            KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => self.choose(self.selected),
            KeyCode::Char(c @ '1'..='9') => {
                let index = usize::from(c as u8 - b'1');
                if index < n {
                    self.selected = index;
                    self.choose(index)
                } else {
                    Outcome::Stay
                }
            }
            _ => Outcome::Stay,
        }
    }
}

/// The provider's name in the picker.
pub fn label(p: &Provider) -> &'static str {
    match p {
        Provider::Anthropic => "Claude",
        Provider::Openai => "OpenAI",
    }
}

/// Draw the picker.
pub fn draw(frame: &mut Frame, area: Rect, picker: &Picker, theme: Theme) {
    let mut lines: Vec<Line> = Vec::new();
    let title = match &picker.step {
        Step::Provider => {
            lines.push(Line::raw(" Where do you want to log in?"));
            lines.push(Line::raw(""));
            for (i, c) in picker.choices.iter().enumerate() {
                let style = if !c.available {
                    theme.dim()
                } else if i == picker.selected {
                    theme.selected()
                } else {
                    ratatui::style::Style::new()
                };
                let pointer = if i == picker.selected { ">" } else { " " };
                lines.push(Line::styled(
                    format!(" {pointer} {}  {}", i + 1, c.label),
                    style,
                ));
                lines.push(Line::styled(format!("      {}", c.detail), theme.dim()));
            }
            lines.push(Line::raw(""));
            lines.push(match &picker.recommended {
                Some(p) => Line::from(vec![
                    Span::styled(" Recommended: ", theme.bold()),
                    Span::raw(format!(
                        "{} {} — {}",
                        match p {
                            Provider::Openai => 1,
                            Provider::Anthropic => 2,
                        },
                        label(p),
                        picker.reason
                    )),
                ]),
                None => Line::styled(
                    format!(" No recommendation: {}", picker.reason),
                    theme.dim(),
                ),
            });
            " Log in "
        }
        Step::Method(p) => {
            lines.push(Line::raw(format!(
                " How do you want to log in to {}?",
                label(p)
            )));
            lines.push(Line::raw(""));
            for (i, (text, _)) in methods(p).iter().enumerate() {
                let style = if i == picker.selected {
                    theme.selected()
                } else {
                    ratatui::style::Style::new()
                };
                let pointer = if i == picker.selected { ">" } else { " " };
                lines.push(Line::styled(format!(" {pointer} {}  {text}", i + 1), style));
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                match p {
                    Provider::Anthropic => " Anthropic's terms: a Pro/Max login is meant for Claude Code and Anthropic's own apps; applications should use an API key or the Console login.",
                    Provider::Openai => " OpenAI's terms: a ChatGPT login is meant for OpenAI's own tools such as Codex; applications should use an API key.",
                },
                theme.dim(),
            ));
            match p {
                Provider::Anthropic => " Log in to Claude ",
                Provider::Openai => " Log in to OpenAI ",
            }
        }
    };
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " 1-3 or ↑↓ and Enter to choose · Esc back",
        theme.dim(),
    ));
    let area = centered(area, 76, wrapped_height(&lines, 74) + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::ALL).title(title)),
        area,
    );
}
