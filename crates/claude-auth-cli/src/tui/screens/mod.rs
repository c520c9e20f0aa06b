//! One module per screen; [`draw`] puts the dashboard down and the current
//! overlay (help, picker, login, confirmation, preferences) over it, so
//! leaving an overlay returns to where the user was.

pub mod confirm;
pub mod dashboard;
pub mod help;
pub mod login;
pub mod picker;
pub mod prefs;

use ratatui::Frame;

use super::app::{App, Screen};
use super::widgets::Theme;

/// Draw the whole frame.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let theme = Theme { color: app.color };
    dashboard::draw(frame, area, app);
    let mut url_run = None;
    match &app.screen {
        Screen::Dashboard => {}
        Screen::Help => help::draw(frame, area, theme),
        Screen::Picker(p) => picker::draw(frame, area, p, theme),
        Screen::Login(l, _) => url_run = login::draw(frame, area, l, theme),
        Screen::Confirm(c) => confirm::draw(frame, area, c, theme),
        Screen::Prefs(p) => prefs::draw(frame, area, p, theme),
    }
    app.url_run.replace(url_run);
}
