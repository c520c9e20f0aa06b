//! The TUI's state and what each key does to it, with no terminal: a key
//! changes the state and may ask the worker for something ([`Request`]);
//! the worker's answers ([`Update`]) change the state again. The unit tests
//! drive this directly.

use std::cell::Cell;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::model::{Dashboard, RowState, UsageItem};
use super::screens::confirm::Confirm;
use super::screens::login::{LoginKey, LoginMethod, LoginScreen, LoginUpdate};
use super::screens::picker::{Outcome, Picker};
use super::screens::prefs::{Prefs, PrefsKey, PrefsView};
use claude_auth::Provider;

/// What is on screen above the dashboard.
#[derive(Debug)]
pub enum Screen {
    /// The dashboard alone.
    Dashboard,
    /// The keys.
    Help,
    /// The login picker (1 OpenAI, 2 Claude, 3 smart selection).
    Picker(Picker),
    /// A login in progress (browser, paste, device code, API key); the
    /// picker it came from, to return to.
    Login(Box<LoginScreen>, Picker),
    /// A yes/no question (log out).
    Confirm(Confirm),
    /// Strategy, failover and cost preferences.
    Prefs(Box<Prefs>),
}

/// What the UI asks the worker to do.
#[derive(Debug)]
pub enum Request {
    /// Read the dashboard again.
    Reload,
    /// Ask for every login's usage now (through the usage cache).
    Usage,
    /// Refresh a provider's winning OAuth login now.
    Refresh(Provider),
    /// Make a provider (and a profile) the active one.
    Switch(Provider, Option<String>),
    /// Log out of a provider's profile (or, with `true`, Codex's login).
    Logout(Provider, Option<String>, bool),
    /// Start a login.
    Login(LoginMethod),
    /// What was typed or pasted into a login's field (a code, a URL, a key).
    LoginInput(claude_auth::Secret),
    /// Save selection preferences (each `Some` is a change; `Some(None)`
    /// clears the setting from preferences.json).
    SavePrefs {
        /// The strategy.
        strategy: Option<Option<claude_auth::select::Strategy>>,
        /// Failover.
        failover: Option<Option<bool>>,
        /// The cost preference.
        cost: Option<Option<claude_auth::select::CostPreference>>,
    },
    /// Stop the running action.
    Cancel,
}

/// What the worker tells the UI.
#[derive(Debug)]
pub enum Update {
    /// The dashboard, read again.
    Dashboard(Box<Dashboard>),
    /// Fresh usage.
    Usage(Vec<UsageItem>),
    /// A login's progress.
    Login(LoginUpdate),
    /// An action finished: a line to show, and whether it failed.
    Done {
        /// What happened (or the error).
        message: String,
        /// Whether it failed.
        failed: bool,
    },
}

/// The notice while usage is asked for.
const ASKING_USAGE: &str = "Asking for usage…";

/// A line shown above the footer until the next key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Whether it is an error.
    pub error: bool,
}

/// The whole state.
#[derive(Debug)]
pub struct App {
    /// What the dashboard shows (`None` until first read).
    pub data: Option<Dashboard>,
    /// The selected row.
    pub selected: usize,
    /// What is on screen.
    pub screen: Screen,
    /// Now, Unix seconds (ticks each second: expiry counts down).
    pub now: u64,
    /// Whether to leave.
    pub quit: bool,
    /// The line above the footer.
    pub notice: Option<Notice>,
    /// An action running in the worker (shown with "Esc cancels").
    pub busy: Option<String>,
    /// Colour allowed (`NO_COLOR` unset or empty).
    pub color: bool,
    /// Where the last frame drew the login rows (for mouse clicks): the
    /// first row's area and how many rows were visible from `offset`.
    pub rows_area: Cell<Rect>,
    /// The first visible row.
    pub offset: Cell<usize>,
    /// Where the last frame drew a login's browser URL, to be written
    /// again as one run ([`crate::tui::screens::login::UrlRun`]).
    pub url_run: std::cell::RefCell<Option<crate::tui::screens::login::UrlRun>>,
    /// The latest usage the background refresh sent.
    pub fresh_usage: Option<Vec<UsageItem>>,
    /// Leave when back on the dashboard (`claude-auth login` opened the
    /// picker alone).
    pub picker_only: bool,
}

impl App {
    /// A fresh state at `now`.
    pub fn new(now: u64, color: bool) -> App {
        App {
            data: None,
            selected: 0,
            screen: Screen::Dashboard,
            now,
            quit: false,
            notice: None,
            busy: None,
            color,
            rows_area: Cell::new(Rect::default()),
            offset: Cell::new(0),
            url_run: std::cell::RefCell::new(None),
            picker_only: false,
            fresh_usage: None,
        }
    }

    fn row_count(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.rows.len())
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&super::model::Row> {
        self.data.as_ref()?.rows.get(self.selected)
    }

    fn move_by(&mut self, delta: isize) {
        let n = self.row_count();
        if n == 0 {
            self.selected = 0;
            return;
        }
        let to = (self.selected as isize + delta).clamp(0, n as isize - 1);
        self.selected = to as usize;
    }

    /// A key. Returns what to ask the worker.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let requests = self.route_key(key);
        if self.picker_only && matches!(self.screen, Screen::Dashboard) {
            self.quit = true;
        }
        requests
    }

    fn route_key(&mut self, key: KeyEvent) -> Vec<Request> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            self.quit = true;
            return vec![Request::Cancel];
        }
        match std::mem::replace(&mut self.screen, Screen::Dashboard) {
            Screen::Dashboard => self.dashboard_key(key),
            Screen::Help => {
                if !matches!(
                    key.code,
                    KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter
                ) {
                    self.screen = Screen::Help;
                }
                Vec::new()
            }
            Screen::Picker(picker) => self.picker_key(picker, key),
            Screen::Login(login, picker) => self.login_key(*login, picker, key),
            Screen::Confirm(confirm) => self.confirm_key(confirm, key),
            Screen::Prefs(mut prefs) => match prefs.on_key(key) {
                PrefsKey::Stay => {
                    self.screen = Screen::Prefs(prefs);
                    Vec::new()
                }
                PrefsKey::Back => Vec::new(),
                PrefsKey::Save(request) => {
                    self.busy = Some("Saving preferences…".into());
                    vec![request]
                }
            },
        }
    }

    fn dashboard_key(&mut self, key: KeyEvent) -> Vec<Request> {
        self.notice = None;
        match key.code {
            KeyCode::Char('q') => {
                self.quit = true;
                vec![Request::Cancel]
            }
            KeyCode::Esc if self.busy.is_some() => vec![Request::Cancel],
            KeyCode::Up | KeyCode::Char('k') => {
                self.move_by(-1);
                Vec::new()
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.move_by(1);
                Vec::new()
            }
            KeyCode::Home | KeyCode::Char('g') => {
                self.selected = 0;
                Vec::new()
            }
            KeyCode::End | KeyCode::Char('G') => {
                self.selected = self.row_count().saturating_sub(1);
                Vec::new()
            }
            KeyCode::PageUp => {
                self.move_by(-5);
                Vec::new()
            }
            KeyCode::PageDown => {
                self.move_by(5);
                Vec::new()
            }
            KeyCode::Char('?') => {
                self.screen = Screen::Help;
                Vec::new()
            }
            KeyCode::Char('p') if self.busy.is_none() => {
                self.screen = Screen::Prefs(Box::new(Prefs::new(PrefsView::load())));
                Vec::new()
            }
            KeyCode::Char('l') if self.busy.is_none() => {
                self.screen = Screen::Picker(Picker::new(self.data.as_ref()));
                Vec::new()
            }
            KeyCode::Char('u') => {
                self.notice = Some(Notice {
                    text: ASKING_USAGE.into(),
                    error: false,
                });
                vec![Request::Usage]
            }
            KeyCode::F(5) | KeyCode::Char('R') => vec![Request::Reload],
            _ if self.busy.is_some() => {
                self.notice = Some(Notice {
                    text: "Busy: wait for it, or press Esc to cancel".into(),
                    error: true,
                });
                Vec::new()
            }
            KeyCode::Char('s') | KeyCode::Enter => self.switch_selected(),
            KeyCode::Char('r') => self.refresh_selected(),
            KeyCode::Char('x') | KeyCode::Delete => {
                if let Some(c) = Confirm::logout(self.selected_row()) {
                    self.screen = Screen::Confirm(c);
                } else {
                    self.notice = Some(Notice {
                        text: "Log out removes a stored profile or Codex's login: select one"
                            .into(),
                        error: true,
                    });
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn switch_selected(&mut self) -> Vec<Request> {
        let Some(row) = self.selected_row() else {
            return Vec::new();
        };
        let (provider, profile) = (row.provider.clone(), row.profile.clone());
        self.busy = Some(format!("Switching to {}…", provider.display_name()));
        vec![Request::Switch(provider, profile)]
    }

    fn refresh_selected(&mut self) -> Vec<Request> {
        let Some(row) = self.selected_row() else {
            return Vec::new();
        };
        if row.state != RowState::Wins {
            self.notice = Some(Notice {
                text: "Refresh acts on the login that wins: select a row marked ✓".into(),
                error: true,
            });
            return Vec::new();
        }
        let provider = row.provider.clone();
        self.busy = Some(format!("Refreshing {}…", provider.display_name()));
        vec![Request::Refresh(provider)]
    }

    fn picker_key(&mut self, mut picker: Picker, key: KeyEvent) -> Vec<Request> {
        match picker.on_key(key) {
            Outcome::Stay => {
                self.screen = Screen::Picker(picker);
                Vec::new()
            }
            Outcome::Back => Vec::new(),
            Outcome::Start(method) => {
                self.screen = Screen::Login(Box::new(LoginScreen::new(method.clone())), picker);
                vec![Request::Login(method)]
            }
        }
    }

    fn login_key(&mut self, mut login: LoginScreen, picker: Picker, key: KeyEvent) -> Vec<Request> {
        match login.on_key(key) {
            LoginKey::Stay(requests) => {
                self.screen = Screen::Login(Box::new(login), picker);
                requests
            }
            LoginKey::Leave(requests) if login.finished_ok() => {
                if let super::screens::login::Phase::Done(m) = &login.phase {
                    self.notice = Some(Notice {
                        text: m.clone(),
                        error: false,
                    });
                }
                requests
            }
            // Failed or cancelled: back where the user was, the picker.
            LoginKey::Leave(requests) => {
                self.screen = Screen::Picker(picker);
                requests
            }
        }
    }

    fn confirm_key(&mut self, confirm: Confirm, key: KeyEvent) -> Vec<Request> {
        match key.code {
            KeyCode::Char('y' | 'Y') => {
                self.busy = Some(format!("Logging out of {}…", confirm.what));
                vec![Request::Logout(
                    confirm.provider,
                    confirm.profile,
                    confirm.codex,
                )]
            }
            KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => Vec::new(),
            _ => {
                self.screen = Screen::Confirm(confirm);
                Vec::new()
            }
        }
    }

    /// Text pasted (bracketed paste): into a login's field, if one is open.
    pub fn on_paste(&mut self, text: &str) {
        if let Screen::Login(login, _) = &mut self.screen {
            login.on_paste(text);
        }
    }

    /// A mouse event: a left click on a login row selects it.
    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        if !matches!(self.screen, Screen::Dashboard) {
            return;
        }
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                let area = self.rows_area.get();
                if mouse.column >= area.x
                    && mouse.column < area.x + area.width
                    && mouse.row >= area.y
                    && mouse.row < area.y + area.height
                {
                    let index = self.offset.get() + usize::from(mouse.row - area.y);
                    if index < self.row_count() {
                        self.selected = index;
                    }
                }
            }
            MouseEventKind::ScrollUp => self.move_by(-1),
            MouseEventKind::ScrollDown => self.move_by(1),
            _ => {}
        }
    }

    /// What the worker sent.
    pub fn on_update(&mut self, update: Update) {
        match update {
            Update::Dashboard(data) => {
                let mut data = *data;
                // The usage asked in the background beats the cache's copy
                // read with the dashboard (it may even have come first).
                if let Some(fresh) = &self.fresh_usage {
                    data.usage = fresh.clone();
                }
                self.data = Some(data);
                self.selected = self.selected.min(self.row_count().saturating_sub(1));
                // The picker's lines follow what was just read.
                if let Screen::Picker(p) = &mut self.screen {
                    if p.step == super::screens::picker::Step::Provider {
                        *p = Picker::new(self.data.as_ref());
                    }
                }
            }
            Update::Usage(items) => {
                if self.notice.as_ref().is_some_and(|n| n.text == ASKING_USAGE) {
                    self.notice = Some(Notice {
                        text: "Usage read again".into(),
                        error: false,
                    });
                }
                if let Some(d) = &mut self.data {
                    d.usage = items.clone();
                }
                self.fresh_usage = Some(items);
            }
            Update::Login(update) => {
                if let Screen::Login(login, _) = &mut self.screen {
                    login.on_update(update);
                }
            }
            Update::Done { message, failed } => {
                self.busy = None;
                self.notice = Some(Notice {
                    text: message,
                    error: failed,
                });
            }
        }
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
