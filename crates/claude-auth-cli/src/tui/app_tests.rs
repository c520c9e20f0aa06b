use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::tui::model::fixtures;
use crate::tui::screens::login::{LoginMethod, LoginUpdate};

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ch(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn loaded() -> App {
    let mut app = App::new(fixtures::NOW, false);
    app.on_update(Update::Dashboard(Box::new(fixtures::dashboard())));
    app
}

#[test]
fn q_quits_and_cancels_what_runs() {
    let mut app = loaded();
    let requests = app.on_key(ch('q'));
    assert!(app.quit);
    assert!(matches!(requests.as_slice(), [Request::Cancel]));
}

#[test]
fn ctrl_c_quits_from_any_screen() {
    let mut app = loaded();
    app.on_key(ch('?'));
    assert!(matches!(app.screen, Screen::Help));
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
}

#[test]
fn arrows_and_vim_keys_move_within_the_rows() {
    let mut app = loaded();
    let n = app.data.as_ref().map_or(0, |d| d.rows.len());
    assert!(n >= 3);
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.selected, 1);
    app.on_key(ch('j'));
    assert_eq!(app.selected, 2);
    app.on_key(ch('k'));
    assert_eq!(app.selected, 1);
    app.on_key(key(KeyCode::Up));
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.selected, 0, "stops at the first row");
    app.on_key(ch('G'));
    assert_eq!(app.selected, n - 1);
    app.on_key(ch('j'));
    assert_eq!(app.selected, n - 1, "stops at the last row");
    app.on_key(ch('g'));
    assert_eq!(app.selected, 0);
}

#[test]
fn help_opens_with_question_mark_and_closes_with_esc() {
    let mut app = loaded();
    app.on_key(ch('?'));
    assert!(matches!(app.screen, Screen::Help));
    app.on_key(ch('j'));
    assert!(
        matches!(app.screen, Screen::Help),
        "other keys keep it open"
    );
    app.on_key(key(KeyCode::Esc));
    assert!(matches!(app.screen, Screen::Dashboard));
    assert!(!app.quit, "q in the help closes the help only");
    app.on_key(ch('?'));
    app.on_key(ch('q'));
    assert!(!app.quit);
}

#[test]
fn switch_asks_for_the_selected_rows_provider_and_profile() {
    let mut app = loaded();
    let target = app
        .data
        .as_ref()
        .and_then(|d| d.rows.iter().position(|r| r.provider == Provider::Openai))
        .unwrap();
    app.selected = target;
    let requests = app.on_key(ch('s'));
    match requests.as_slice() {
        [Request::Switch(Provider::Openai, profile)] => {
            assert_eq!(profile, &app.data.as_ref().unwrap().rows[target].profile)
        }
        other => panic!("{other:?}"),
    }
    assert!(app.busy.is_some());
    // Busy: another action is refused with a notice, Esc cancels.
    assert!(app.on_key(ch('r')).is_empty());
    assert!(app.notice.as_ref().is_some_and(|n| n.error));
    assert!(matches!(
        app.on_key(key(KeyCode::Esc)).as_slice(),
        [Request::Cancel]
    ));
    app.on_update(Update::Done {
        message: "Switched to OpenAI".into(),
        failed: false,
    });
    assert!(app.busy.is_none());
    assert_eq!(
        app.notice.as_ref().map(|n| n.text.as_str()),
        Some("Switched to OpenAI")
    );
}

#[test]
fn refresh_only_acts_on_a_winning_row() {
    let mut app = loaded();
    let shadowed = app
        .data
        .as_ref()
        .and_then(|d| d.rows.iter().position(|r| r.state != RowState::Wins))
        .unwrap();
    app.selected = shadowed;
    assert!(app.on_key(ch('r')).is_empty());
    assert!(app.notice.as_ref().is_some_and(|n| n.error));
    app.selected = 0;
    assert!(matches!(
        app.on_key(ch('r')).as_slice(),
        [Request::Refresh(Provider::Anthropic)]
    ));
}

#[test]
fn a_click_on_a_row_selects_it() {
    let mut app = loaded();
    app.rows_area.set(Rect::new(0, 3, 80, 4));
    app.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row: 5,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.selected, 2);
    // Outside the rows: nothing changes.
    app.on_mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 10,
        row: 20,
        modifiers: KeyModifiers::NONE,
    });
    assert_eq!(app.selected, 2);
}

#[test]
fn a_reload_clamps_the_selection() {
    let mut app = loaded();
    app.on_update(Update::Usage(Vec::new()));
    app.selected = 3;
    let mut fewer = fixtures::dashboard();
    fewer.rows.truncate(2);
    app.on_update(Update::Dashboard(Box::new(fewer)));
    assert_eq!(app.selected, 1);
}

#[test]
fn the_picker_leads_to_a_login_and_esc_walks_back() {
    let mut app = loaded();
    app.on_key(ch('l'));
    assert!(matches!(app.screen, Screen::Picker(_)));
    app.on_key(ch('2'));
    let requests = app.on_key(ch('3'));
    assert!(matches!(
        requests.as_slice(),
        [Request::Login(LoginMethod::AnthropicApiKey)]
    ));
    assert!(matches!(app.screen, Screen::Login(..)));
    // Typing goes into the field (q does not quit there).
    for c in "sk-ant-q".chars() {
        assert!(app.on_key(ch(c)).is_empty());
    }
    assert!(!app.quit);
    match app.on_key(key(KeyCode::Enter)).as_slice() {
        [Request::LoginInput(s)] => assert_eq!(s.expose(), "sk-ant-q"),
        other => panic!("{other:?}"),
    }
    // Esc cancels the login and returns to the picker, Esc again to the dashboard.
    assert!(matches!(
        app.on_key(key(KeyCode::Esc)).as_slice(),
        [Request::Cancel]
    ));
    assert!(matches!(app.screen, Screen::Picker(_)));
    app.on_key(key(KeyCode::Esc));
    assert!(
        matches!(app.screen, Screen::Picker(_)),
        "back to the first step"
    );
    app.on_key(key(KeyCode::Esc));
    assert!(matches!(app.screen, Screen::Dashboard));
}

#[test]
fn smart_selection_is_unavailable_when_both_providers_have_a_login() {
    let mut app = loaded();
    app.on_key(ch('l'));
    app.on_key(ch('3'));
    match &app.screen {
        Screen::Picker(p) => {
            assert_eq!(p.step, crate::tui::screens::picker::Step::Provider);
            assert!(!p.choices[2].available);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn smart_selection_picks_the_provider_without_a_login() {
    let mut data = fixtures::dashboard();
    data.providers[1].ok = false;
    let mut app = App::new(fixtures::NOW, false);
    app.on_update(Update::Dashboard(Box::new(data)));
    app.on_key(ch('l'));
    app.on_key(ch('3'));
    match &app.screen {
        Screen::Picker(p) => {
            assert_eq!(
                p.step,
                crate::tui::screens::picker::Step::Method(Provider::Openai)
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        app.on_key(ch('2')).as_slice(),
        [Request::Login(LoginMethod::ChatGptDevice)]
    ));
}

#[test]
fn a_failed_login_shows_its_error_in_place_then_returns_to_the_picker() {
    let mut app = loaded();
    app.on_key(ch('l'));
    app.on_key(ch('1'));
    app.on_key(ch('1'));
    app.on_update(Update::Login(LoginUpdate::Finished(Err("denied".into()))));
    assert!(matches!(app.screen, Screen::Login(..)), "the error stays");
    app.on_key(ch('x'));
    assert!(
        matches!(app.screen, Screen::Login(..)),
        "until Enter or Esc"
    );
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.screen, Screen::Picker(_)));
}

#[test]
fn a_finished_login_returns_to_the_dashboard_with_its_message() {
    let mut app = loaded();
    app.on_key(ch('l'));
    app.on_key(ch('1'));
    app.on_key(ch('1'));
    app.on_update(Update::Login(LoginUpdate::Finished(Ok("Logged in".into()))));
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.screen, Screen::Dashboard));
    assert_eq!(
        app.notice.as_ref().map(|n| n.text.as_str()),
        Some("Logged in")
    );
}

#[test]
fn log_out_asks_first_and_only_for_what_logout_removes() {
    let mut app = loaded();
    // The Claude Code login (row 1) is not logout's to remove.
    app.selected = 1;
    app.on_key(ch('x'));
    assert!(matches!(app.screen, Screen::Dashboard));
    assert!(app.notice.as_ref().is_some_and(|n| n.error));
    // A profile: asks; n keeps it.
    app.selected = 0;
    app.on_key(ch('x'));
    assert!(matches!(app.screen, Screen::Confirm(_)));
    assert!(app.on_key(ch('n')).is_empty());
    assert!(matches!(app.screen, Screen::Dashboard));
    app.on_key(ch('x'));
    match app.on_key(ch('y')).as_slice() {
        [Request::Logout(Provider::Anthropic, Some(p), false)] => assert_eq!(p, "work"),
        other => panic!("{other:?}"),
    }
    // Codex's login can be logged out of too.
    app.on_update(Update::Done {
        message: "ok".into(),
        failed: false,
    });
    app.selected = 3;
    app.on_key(ch('x'));
    assert!(matches!(
        app.on_key(ch('y')).as_slice(),
        [Request::Logout(Provider::Openai, None, true)]
    ));
}

#[test]
fn usage_that_arrives_before_the_dashboard_is_kept() {
    let mut app = App::new(fixtures::NOW, false);
    let fresh = fixtures::dashboard().usage[..1].to_vec();
    app.on_update(Update::Usage(fresh.clone()));
    app.on_update(Update::Dashboard(Box::new(fixtures::dashboard())));
    assert_eq!(app.data.as_ref().unwrap().usage, fresh);
    // u asks again without blocking the other keys.
    assert!(matches!(app.on_key(ch('u')).as_slice(), [Request::Usage]));
    assert!(app.busy.is_none());
    app.on_update(Update::Usage(Vec::new()));
    assert_eq!(
        app.notice.as_ref().map(|n| n.text.as_str()),
        Some("Usage read again")
    );
    assert!(app.data.as_ref().unwrap().usage.is_empty());
}
