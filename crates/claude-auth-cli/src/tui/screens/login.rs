//! A login in progress: the browser URL (opened, or to copy), the paste
//! field for a code or the URL the browser ended on, the device code for
//! ChatGPT, the API-key field. Every typed or pasted value is masked (•);
//! Enter sends it, Esc cancels, and the outcome (or the error) is shown in
//! place until a key is pressed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::Request;
use crate::tui::widgets::{centered, Theme};
use claude_auth::Secret;

/// The ways to log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginMethod {
    /// Anthropic's browser OAuth with PKCE, with this provider preset
    /// (`claude`: Pro/Max, `console`: the Developer Platform).
    ClaudeBrowser(String),
    /// ChatGPT in the browser (PKCE).
    ChatGptBrowser,
    /// ChatGPT with a device code.
    ChatGptDevice,
    /// An Anthropic API key, pasted.
    AnthropicApiKey,
    /// An OpenAI API key, pasted.
    OpenaiApiKey,
}

impl LoginMethod {
    /// The box's title.
    pub fn title(&self) -> &'static str {
        match self {
            LoginMethod::ClaudeBrowser(p) if p == "claude" => " Claude Pro/Max login ",
            LoginMethod::ClaudeBrowser(_) => " Claude Console login ",
            LoginMethod::ChatGptBrowser => " ChatGPT login ",
            LoginMethod::ChatGptDevice => " ChatGPT device code ",
            LoginMethod::AnthropicApiKey => " Anthropic API key ",
            LoginMethod::OpenaiApiKey => " OpenAI API key ",
        }
    }

    fn api_key(&self) -> bool {
        matches!(
            self,
            LoginMethod::AnthropicApiKey | LoginMethod::OpenaiApiKey
        )
    }

    fn takes_input(&self) -> bool {
        !matches!(self, LoginMethod::ChatGptDevice)
    }
}

/// A login's progress, from the worker.
#[derive(Debug)]
pub enum LoginUpdate {
    /// The URL to open; `opened` names how the browser was opened.
    Browser {
        /// The authorize URL.
        url: String,
        /// A URL for another machine (paste the code it shows), when any.
        manual_url: Option<String>,
        /// How the browser was opened, or `None` when it could not be.
        opened: Option<String>,
        /// Whether the callback listens (false: only a paste completes it).
        listening: bool,
    },
    /// The device code and where to enter it.
    Device {
        /// The page.
        url: String,
        /// The code.
        code: String,
    },
    /// A paste was ignored, or a poll is retried: why.
    Note(String),
    /// The code arrived; exchanging it (or the key is being stored).
    Exchanging,
    /// The end: what was stored, or the error.
    Finished(Result<String, String>),
}

/// Where the login is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Starting (or waiting for the API key).
    Starting,
    /// Waiting for the browser, a paste or the approval.
    Waiting,
    /// Exchanging the code or storing.
    Exchanging,
    /// Logged in: what was stored.
    Done(String),
    /// Failed or cancelled: why.
    Failed(String),
}

/// The login screen's state.
#[derive(Debug)]
pub struct LoginScreen {
    /// The method.
    pub method: LoginMethod,
    /// Where it is.
    pub phase: Phase,
    /// The browser URL.
    pub url: Option<String>,
    /// The URL for another machine.
    pub manual_url: Option<String>,
    /// How the browser was opened (`None`: it was not).
    pub opened: Option<String>,
    /// The device code.
    pub device_code: Option<String>,
    /// The latest note (an ignored paste, a retried poll).
    pub note: Option<String>,
    /// What is typed so far (never drawn: masked).
    pub input: Secret,
}

/// What a key did to the login screen.
#[derive(Debug)]
pub enum LoginKey {
    /// Stay, sending these.
    Stay(Vec<Request>),
    /// Leave (cancelled or finished), sending these.
    Leave(Vec<Request>),
}

impl LoginScreen {
    /// A login just started.
    pub fn new(method: LoginMethod) -> LoginScreen {
        LoginScreen {
            method,
            phase: Phase::Starting,
            url: None,
            manual_url: None,
            opened: None,
            device_code: None,
            note: None,
            input: Secret::new(String::new()),
        }
    }

    /// Whether it ended with a stored login.
    pub fn finished_ok(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    fn finished(&self) -> bool {
        matches!(self.phase, Phase::Done(_) | Phase::Failed(_))
    }

    fn accepting(&self) -> bool {
        self.method.takes_input()
            && match self.phase {
                Phase::Starting => self.method.api_key(),
                Phase::Waiting => true,
                _ => false,
            }
    }

    /// Text pasted (bracketed paste): added to the field, line ends dropped.
    pub fn on_paste(&mut self, text: &str) {
        if self.accepting() {
            let clean: String = text.chars().filter(|c| !c.is_control()).collect();
            self.input = Secret::new(format!("{}{clean}", self.input.expose()));
        }
    }

    /// A key.
    pub fn on_key(&mut self, key: KeyEvent) -> LoginKey {
        if self.finished() {
            return match key.code {
                KeyCode::Enter | KeyCode::Esc | KeyCode::Char('q' | ' ') => {
                    LoginKey::Leave(Vec::new())
                }
                _ => LoginKey::Stay(Vec::new()),
            };
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => LoginKey::Leave(vec![Request::Cancel]),
            KeyCode::Char('u') if ctrl => {
                self.input = Secret::new(String::new());
                LoginKey::Stay(Vec::new())
            }
            KeyCode::Char(c) if !ctrl && self.accepting() => {
                self.input = Secret::new(format!("{}{c}", self.input.expose()));
                LoginKey::Stay(Vec::new())
            }
            KeyCode::Backspace if self.accepting() => {
                let mut s = self.input.expose().to_owned();
                s.pop();
                self.input = Secret::new(s);
                LoginKey::Stay(Vec::new())
            }
            KeyCode::Enter if self.accepting() && !self.input.expose().trim().is_empty() => {
                let value = std::mem::replace(&mut self.input, Secret::new(String::new()));
                self.note = None;
                if self.method.api_key() {
                    self.phase = Phase::Exchanging;
                }
                LoginKey::Stay(vec![Request::LoginInput(value)])
            }
            _ => LoginKey::Stay(Vec::new()),
        }
    }

    /// What the worker said.
    pub fn on_update(&mut self, update: LoginUpdate) {
        match update {
            LoginUpdate::Browser {
                url,
                manual_url,
                opened,
                listening,
            } => {
                self.url = Some(url);
                self.manual_url = manual_url;
                self.opened = opened;
                if !listening {
                    self.note = Some(
                        "the callback ports are in use: paste the URL the browser ends on".into(),
                    );
                }
                self.phase = Phase::Waiting;
            }
            LoginUpdate::Device { url, code } => {
                self.url = Some(url);
                self.device_code = Some(code);
                self.phase = Phase::Waiting;
            }
            LoginUpdate::Note(n) => {
                if self.method.api_key() {
                    self.phase = Phase::Starting;
                }
                self.note = Some(n);
            }
            LoginUpdate::Exchanging => self.phase = Phase::Exchanging,
            LoginUpdate::Finished(Ok(m)) => self.phase = Phase::Done(m),
            LoginUpdate::Finished(Err(e)) => self.phase = Phase::Failed(e),
        }
    }
}

/// The field, masked: `••••••••  (8 characters)`.
pub fn masked_field(input: &Secret) -> String {
    let n = input.expose().chars().count();
    if n == 0 {
        return String::new();
    }
    format!("{}  ({n} characters)", "•".repeat(n.min(32)))
}

/// A piece of the login box: text that wraps, or a URL drawn on rows of
/// its own, cut at the box's edge with nothing beside it.
enum Piece {
    Text(Vec<Line<'static>>),
    Url(String),
}

impl Piece {
    fn rows(&self, width: u16) -> u16 {
        let rows = match self {
            Piece::Text(lines) => Paragraph::new(lines.clone())
                .wrap(Wrap { trim: false })
                .line_count(width),
            Piece::Url(url) => url.chars().count().div_ceil(usize::from(width.max(1))),
        };
        u16::try_from(rows).unwrap_or(u16::MAX)
    }
}

/// A URL on screen: where its rows start (column 0) and the text, for the
/// terminal to be given it again as one run (see [`crate::tui`]'s loop):
/// the rows then wrap as one line, which a mouse selection copies whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlRun {
    /// Its first row.
    pub row: u16,
    /// The URL.
    pub url: String,
}

/// Draw the login box; returns the browser URL's place when it is drawn
/// whole.
pub fn draw(frame: &mut Frame, area: Rect, login: &LoginScreen, theme: Theme) -> Option<UrlRun> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut lines: Vec<Line<'static>> = Vec::new();
    let field = |lines: &mut Vec<Line<'static>>, label: &str| {
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(" {label}")));
        lines.push(Line::styled(
            format!(" > {}█", masked_field(&login.input)),
            theme.bold(),
        ));
    };
    let url = |pieces: &mut Vec<Piece>, lines: &mut Vec<Line<'static>>, url: &str| {
        pieces.push(Piece::Text(std::mem::take(lines)));
        pieces.push(Piece::Url(url.to_owned()));
    };
    match (&login.method, &login.phase) {
        (_, Phase::Done(m)) => lines.push(Line::styled(format!(" ✓ {m}"), theme.ok())),
        (_, Phase::Failed(e)) => lines.push(Line::styled(format!(" ✗ {e}"), theme.error())),
        (m, Phase::Starting | Phase::Exchanging) if m.api_key() => {
            lines.push(Line::raw(
                " Paste the API key (it is masked, never shown) and press Enter.",
            ));
            field(&mut lines, "API key:");
            if login.phase == Phase::Exchanging {
                lines.push(Line::styled(" … checking and storing it", theme.bold()));
            }
        }
        (_, Phase::Starting) => lines.push(Line::raw(" … starting the login")),
        (_, Phase::Exchanging) => lines.push(Line::styled(
            " … exchanging the code for tokens",
            theme.bold(),
        )),
        (LoginMethod::ChatGptDevice, Phase::Waiting) => {
            lines.push(Line::raw(" Open this page in any browser:"));
            lines.push(Line::styled(
                format!("   {}", login.url.as_deref().unwrap_or("")),
                theme.bold(),
            ));
            lines.push(Line::raw(" and enter the code:"));
            lines.push(Line::styled(
                format!("   {}", login.device_code.as_deref().unwrap_or("")),
                theme.bold(),
            ));
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                " … waiting for the approval (at most 15 minutes)",
                theme.dim(),
            ));
        }
        (_, Phase::Waiting) => {
            lines.push(Line::raw(match &login.opened {
                Some(how) => format!(" Opened your browser ({how}). If it did not open, visit:"),
                None => " Could not open a browser. Visit:".to_owned(),
            }));
            url(&mut pieces, &mut lines, login.url.as_deref().unwrap_or(""));
            lines.push(Line::styled(
                " To copy it: select it with the mouse (hold Shift in most terminals).",
                theme.dim(),
            ));
            if let Some(manual) = &login.manual_url {
                lines.push(Line::raw(
                    " On another machine (SSH)? Open this URL there and paste the code shown:",
                ));
                url(&mut pieces, &mut lines, manual);
            }
            field(
                &mut lines,
                "Paste the code, or the URL the browser ended on:",
            );
            lines.push(Line::styled(" … waiting for the browser", theme.dim()));
        }
    }
    if let Some(n) = &login.note {
        lines.push(Line::styled(format!(" ! {n}"), theme.warn()));
    }
    pieces.push(Piece::Text(lines));
    // The keys: always in view, below whatever the text takes.
    let hint = match &login.phase {
        Phase::Done(_) => " Enter returns to the dashboard",
        Phase::Failed(_) => " Enter returns to the picker",
        _ => " Enter sends · Ctrl-U clears · Esc cancels",
    };
    let width = area.width;
    let body: u16 = pieces
        .iter()
        .map(|p| p.rows(width))
        .fold(0, u16::saturating_add);
    // Full width and no side borders: nothing but the URL is on its rows.
    let area = centered(area, width, body.saturating_add(4));
    frame.render_widget(Clear, area);
    let block = Block::new()
        .borders(Borders::TOP | Borders::BOTTOM)
        .title(login.method.title());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [mut room, _, keys] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(Line::styled(hint, theme.dim())), keys);
    let mut run = None;
    for piece in &pieces {
        let rows = piece.rows(width).min(room.height);
        let here = Rect {
            height: rows,
            ..room
        };
        match piece {
            Piece::Text(lines) => frame.render_widget(
                Paragraph::new(lines.clone()).wrap(Wrap { trim: false }),
                here,
            ),
            Piece::Url(url) => {
                let chunks: Vec<Line> = url
                    .chars()
                    .collect::<Vec<char>>()
                    .chunks(usize::from(width.max(1)))
                    .map(|c| Line::styled(c.iter().collect::<String>(), theme.bold()))
                    .collect();
                frame.render_widget(Paragraph::new(chunks), here);
                if rows == piece.rows(width) && run.is_none() && !url.is_empty() {
                    run = Some(UrlRun {
                        row: here.y,
                        url: url.clone(),
                    });
                }
            }
        }
        room.y += rows;
        room.height -= rows;
    }
    run
}
