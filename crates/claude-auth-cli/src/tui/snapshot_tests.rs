//! Every screen drawn with ratatui's `TestBackend` at 80×24 (and wider),
//! compared with the text files in `src/tui/snapshots/`. A mismatch fails
//! with the differing lines; `UPDATE_SNAPSHOTS=1` rewrites the files (then
//! read the diff in git before committing).

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::app::{App, Notice, Screen, Update};
use super::model::fixtures;
use super::screens;
use super::screens::confirm::Confirm;
use super::screens::login::{LoginMethod, LoginScreen, LoginUpdate};
use super::screens::picker::Picker;

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| screens::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        let mut line = String::new();
        for x in 0..width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/tui/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_SNAPSHOTS=1 to write it. The screen:\n{actual}",
            path.display()
        )
    });
    if expected != actual {
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        let mut diff = String::new();
        for i in 0..e.len().max(a.len()) {
            let (el, al) = (e.get(i).copied(), a.get(i).copied());
            if el != al {
                diff.push_str(&format!("line {:>2} - {}\n", i + 1, el.unwrap_or("<none>")));
                diff.push_str(&format!("line {:>2} + {}\n", i + 1, al.unwrap_or("<none>")));
            }
        }
        panic!(
            "snapshot {name} differs (- expected, + drawn; UPDATE_SNAPSHOTS=1 rewrites it):\n{diff}\nThe screen:\n{actual}"
        );
    }
}

fn loaded() -> App {
    let mut app = App::new(fixtures::NOW, false);
    app.on_update(Update::Dashboard(Box::new(fixtures::dashboard())));
    app
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn dashboard() {
    let app = loaded();
    check("dashboard_80x24", &render(&app, 80, 24));
    check("dashboard_120x32", &render(&app, 120, 32));
}

#[test]
fn dashboard_selection_moves_the_details() {
    let mut app = loaded();
    app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    check("dashboard_second_row", &render(&app, 80, 24));
}

#[test]
fn dashboard_while_reading_and_with_nothing() {
    let app = App::new(fixtures::NOW, false);
    check("dashboard_reading", &render(&app, 80, 24));
    let mut app = App::new(fixtures::NOW, false);
    let mut empty = fixtures::dashboard();
    empty.rows.clear();
    empty.usage.clear();
    empty.warnings.clear();
    empty.active = Ok(claude_auth::Provider::Anthropic);
    empty.active_reason = "the default: no provider has a usable login".into();
    for p in &mut empty.providers {
        p.ok = false;
        p.error = Some("no credential found".into());
        p.refresh = None;
    }
    app.on_update(Update::Dashboard(Box::new(empty)));
    check("dashboard_empty", &render(&app, 80, 24));
}

#[test]
fn dashboard_busy_and_notices() {
    let mut app = loaded();
    app.busy = Some("Refreshing Anthropic…".into());
    check("dashboard_busy", &render(&app, 80, 24));
    app.busy = None;
    app.notice = Some(Notice {
        text: "the server rejected this login's refresh token; log in again".into(),
        error: true,
    });
    check("dashboard_error_notice", &render(&app, 80, 24));
}

#[test]
fn help() {
    let mut app = loaded();
    app.on_key(key('?'));
    check("help_80x24", &render(&app, 80, 24));
}

#[test]
fn picker() {
    let mut app = loaded();
    app.on_key(key('l'));
    assert!(matches!(app.screen, Screen::Picker(_)));
    check("picker_80x24", &render(&app, 80, 24));
    check("picker_120x32", &render(&app, 120, 32));
    app.on_key(key('2'));
    check("picker_claude_80x24", &render(&app, 80, 24));
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    app.on_key(key('1'));
    check("picker_openai_80x24", &render(&app, 80, 24));
}

#[test]
fn picker_recommends_the_provider_without_a_login() {
    let mut data = fixtures::dashboard();
    data.providers[1].ok = false;
    data.rows
        .retain(|r| r.provider != claude_auth::Provider::Openai);
    let mut app = App::new(fixtures::NOW, false);
    app.on_update(Update::Dashboard(Box::new(data)));
    app.screen = Screen::Picker(Picker::new(app.data.as_ref()));
    check("picker_recommends_openai", &render(&app, 80, 24));
}

fn login(method: LoginMethod, updates: Vec<LoginUpdate>) -> App {
    let mut app = loaded();
    let mut screen = LoginScreen::new(method);
    for u in updates {
        screen.on_update(u);
    }
    app.screen = Screen::Login(Box::new(screen), Picker::new(app.data.as_ref()));
    app
}

const SECRET_TYPED: &str = "sk-ant-api03-SNAPSHOTSECRETzzzz";

#[test]
fn login_screens() {
    let mut app = login(
        LoginMethod::ClaudeBrowser("claude".into()),
        vec![LoginUpdate::Browser {
            url: "https://login.example/oauth/authorize?code=true&client_id=0000-1111&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A54545%2Fcallback&state=abc".into(),
            manual_url: None,
            opened: Some("xdg-open".into()),
            listening: true,
        }],
    );
    app.on_paste("code#state");
    check("login_browser_80x24", &render(&app, 80, 24));

    let app = login(
        LoginMethod::ChatGptDevice,
        vec![LoginUpdate::Device {
            url: "https://issuer.example/codex/device".into(),
            code: "ABCD-1234".into(),
        }],
    );
    check("login_device_80x24", &render(&app, 80, 24));

    let mut app = login(LoginMethod::OpenaiApiKey, Vec::new());
    app.on_paste(SECRET_TYPED);
    let screen = render(&app, 80, 24);
    assert!(
        !screen.contains("SNAPSHOTSECRET"),
        "a typed key is never drawn:\n{screen}"
    );
    check("login_api_key_80x24", &screen);

    let app = login(
        LoginMethod::ChatGptBrowser,
        vec![LoginUpdate::Finished(Err(
            "cannot listen for the login callback: ports 1455 and 1457 are both in use".into(),
        ))],
    );
    check("login_failed_80x24", &render(&app, 80, 24));

    // A long path wraps (at word boundaries, into more rows than its
    // characters fill): the keys stay in view below it.
    let app = login(
        LoginMethod::ClaudeBrowser("claude".into()),
        vec![LoginUpdate::Finished(Ok(
            "Logged in as alice@example.com, profile work (stored in /home/alice-with-a-long-name/.config/claude-auth/profiles/work-profile-for-the-team/credentials.json); note: the keyring is unavailable: stored in a file (0600) instead".into(),
        ))],
    );
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains(" Enter returns to the dashboard"),
        "the hint is in view:\n{screen}"
    );
    assert!(screen.contains("instead\n"), "the whole message:\n{screen}");
    check("login_done_80x24", &screen);
}

#[test]
fn confirm_logout() {
    let mut app = loaded();
    app.on_key(key('x'));
    assert!(matches!(app.screen, Screen::Confirm(Confirm { .. })));
    check("confirm_logout_80x24", &render(&app, 80, 24));
}

#[test]
fn no_colour_changes_no_text() {
    // The marks are symbols: the text is the same with and without colour.
    let mut coloured = loaded();
    coloured.color = true;
    assert_eq!(render(&coloured, 80, 24), render(&loaded(), 80, 24));
}

#[test]
fn preferences() {
    use super::screens::prefs::{Prefs, PrefsView};
    use claude_auth::select::Strategy;
    let mut app = loaded();
    let view = PrefsView {
        strategy: Some(Strategy::SubscriptionFirst),
        failover: None,
        cost: None,
        effective: [
            "subscription-first (from ~/.config/claude-auth/preferences.json)".into(),
            "true (from config.toml (selection.failover))".into(),
            "any (from default)".into(),
        ],
        fallback: "anthropic-subscription, anthropic-api-key, openai".into(),
        error: None,
    };
    app.screen = Screen::Prefs(Box::new(Prefs::new(view)));
    check("preferences_80x24", &render(&app, 80, 24));
    // → changes the strategy; Enter asks to save only what changed.
    app.on_key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
    match app
        .on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        .as_slice()
    {
        [super::app::Request::SavePrefs {
            strategy: Some(Some(Strategy::Cheapest)),
            failover: None,
            cost: None,
        }] => {}
        other => panic!("{other:?}"),
    }
    assert!(matches!(app.screen, Screen::Dashboard));
    assert_eq!(app.busy.as_deref(), Some("Saving preferences…"));
}

#[test]
fn tiny_terminals_draw_without_panicking() {
    let mut screens = vec![loaded(), App::new(fixtures::NOW, false)];
    let mut with = |screen: Screen| {
        let mut app = loaded();
        app.screen = screen;
        screens.push(app);
    };
    with(Screen::Help);
    with(Screen::Picker(Picker::new(Some(&fixtures::dashboard()))));
    with(Screen::Login(
        Box::new(LoginScreen::new(LoginMethod::OpenaiApiKey)),
        Picker::new(None),
    ));
    with(Screen::Confirm(
        Confirm::logout(fixtures::dashboard().rows.first()).unwrap(),
    ));
    for app in &screens {
        for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (60, 15)] {
            render(app, w, h);
        }
    }
}
