//! A login in progress: the browser URL (opened, or to copy), the paste
//! field for a code or the URL the browser ended on, the device code for
//! ChatGPT, the API-key field. Every typed or pasted value is masked (•);
//! Enter sends it, Esc cancels, and the outcome (or the error) is shown in
//! place until a key is pressed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::Request;
use crate::tui::widgets::{centered, wrapped_height, Theme};
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

/// Draw the login box.
pub fn draw(frame: &mut Frame, area: Rect, login: &LoginScreen, theme: Theme) {
    let mut lines: Vec<Line> = Vec::new();
    let field = |lines: &mut Vec<Line>, label: &str| {
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(" {label}")));
        lines.push(Line::styled(
            format!(" > {}█", masked_field(&login.input)),
            theme.bold(),
        ));
    };
    match (&login.method, &login.phase) {
        (_, Phase::Done(m)) => {
            lines.push(Line::styled(format!(" ✓ {m}"), theme.ok()));
            lines.push(Line::raw(""));
            lines.push(Line::styled(" Enter returns to the dashboard", theme.dim()));
        }
        (_, Phase::Failed(e)) => {
            lines.push(Line::styled(format!(" ✗ {e}"), theme.error()));
            lines.push(Line::raw(""));
            lines.push(Line::styled(" Enter returns to the picker", theme.dim()));
        }
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
            lines.push(Line::styled(
                format!(" {}", login.url.as_deref().unwrap_or("")),
                theme.bold(),
            ));
            lines.push(Line::styled(
                " To copy it: select it with the mouse (hold Shift in most terminals).",
                theme.dim(),
            ));
            if let Some(manual) = &login.manual_url {
                lines.push(Line::raw(
                    " On another machine (SSH)? Open this URL there and paste the code shown:",
                ));
                lines.push(Line::styled(format!(" {manual}"), theme.bold()));
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
    if !login.finished() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            " Enter sends · Ctrl-U clears · Esc cancels",
            theme.dim(),
        ));
    }
    // Full width and no side borders: a long URL wraps at the screen's
    // edge with no box characters in it, so it can be selected and copied.
    let area = centered(area, area.width, wrapped_height(&lines, area.width) + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::new()
                .borders(Borders::TOP | Borders::BOTTOM)
                .title(login.method.title()),
        ),
        area,
    );
}
