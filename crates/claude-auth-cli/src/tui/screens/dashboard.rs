//! The dashboard: the active provider, every login (the winner marked ✓,
//! kind, account, plan, expiry counting down), the selected login's
//! details and refresh health, usage bars with pace, running agents, and
//! the warnings `status` gives. Usable at 80×24; the panels' titles and the
//! table's column names are stable (a pty test reads them).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row as TableRow, Table, TableState};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::model::{AgentLine, Agents, Dashboard, Row, RowState};
use crate::tui::widgets::{coarse, expiry, pace_style, truncate, window_line, Theme};

/// The keys, as the footer lists them.
pub const FOOTER: &str =
    " q quit  ? help  s switch  r refresh  u usage  l log in  x log out  p prefs";

/// The mark of a row's standing: a symbol, so it reads without colour.
pub fn mark(state: &RowState) -> &'static str {
    match state {
        RowState::Wins => "✓",
        RowState::Shadowed => "~",
        RowState::Stored => "·",
        RowState::Error(_) => "✗",
    }
}

fn state_word(state: &RowState) -> String {
    match state {
        RowState::Wins => "wins".into(),
        RowState::Shadowed => "shadowed by a source above".into(),
        RowState::Stored => "stored, not selected".into(),
        RowState::Error(e) => format!("error: {e}"),
    }
}

fn section(title: &str) -> Block<'_> {
    Block::new()
        .borders(Borders::TOP)
        .title(format!(" {title} "))
}

/// Draw the dashboard over the whole `area`.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = Theme { color: app.color };
    let Some(data) = &app.data else {
        let [title, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        frame.render_widget(Paragraph::new(" claude-auth"), title);
        frame.render_widget(Paragraph::new(" Reading your logins…"), body);
        return;
    };
    let warnings = warning_lines(data);
    let rows = data.rows.len().clamp(1, 8) as u16;
    let agents_height = match &data.agents {
        Agents::Running(list) => list.len().clamp(1, 3) as u16 + 1,
        Agents::Error(_) => 2,
    };
    let width = usize::from(area.width.max(1));
    let wrapped: usize = warnings
        .iter()
        .map(|w| (w.chars().count() + 3).div_ceil(width))
        .sum();
    let warn_height = if warnings.is_empty() {
        0
    } else {
        wrapped.min(4) as u16 + 1
    };
    let [title, logins, details, usage, agents, warn_area, notice, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(rows + 2),
        Constraint::Length(2),
        Constraint::Min(2),
        Constraint::Length(agents_height),
        Constraint::Length(warn_height),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(title_line(data, theme, title.width)), title);
    draw_logins(frame, logins, app, data, theme);
    frame.render_widget(Paragraph::new(detail_lines(app, data, theme)), details);
    draw_usage(frame, usage, app, data, theme);
    let agent_lines: Vec<Line> = match &data.agents {
        Agents::Running(list) if list.is_empty() => vec![Line::styled(
            " No running agents (claude-auth exec --agent-id ID starts one)",
            theme.dim(),
        )],
        Agents::Running(list) => list.iter().map(agent_line).collect(),
        Agents::Error(e) => vec![Line::styled(format!(" {e}"), theme.error())],
    };
    frame.render_widget(Paragraph::new(agent_lines).block(section("Agents")), agents);
    if !warnings.is_empty() {
        let lines: Vec<Line> = warnings
            .iter()
            .map(|w| {
                Line::from(vec![
                    Span::styled(" ! ", theme.warn()),
                    Span::raw(w.clone()),
                ])
            })
            .collect();
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(section("Warnings")),
            warn_area,
        );
    }
    frame.render_widget(Paragraph::new(notice_line(app, theme)), notice);
    frame.render_widget(Paragraph::new(Line::styled(FOOTER, theme.dim())), footer);
}

fn agent_line(a: &AgentLine) -> Line<'static> {
    let tokens = if a.tokens >= 10_000 {
        format!("{:.1}k", a.tokens as f64 / 1000.0)
    } else {
        a.tokens.to_string()
    };
    Line::raw(format!(
        " {:<12} {:<9} {:<13} {:>5}  {:>4} req {:>6} tok  budget {}",
        truncate(&a.id, 12),
        a.provider,
        truncate(a.login.as_deref().unwrap_or("-"), 13),
        coarse(a.running_secs),
        a.requests,
        tokens,
        a.budget.as_deref().unwrap_or("none")
    ))
}

/// ` claude-auth  Active provider: NAME (why)`; the reason is shortened
/// with `…` to fit `width`, and left out when too little of it would.
fn title_line(data: &Dashboard, theme: Theme, width: u16) -> Line<'static> {
    match &data.active {
        Ok(p) => {
            let mut spans = vec![
                Span::styled(" claude-auth", theme.bold()),
                Span::raw("  Active provider: "),
                Span::styled(p.display_name(), theme.bold()),
            ];
            let used: usize = spans.iter().map(Span::width).sum();
            // " (" and ")" around the reason.
            let room = usize::from(width).saturating_sub(used + 3);
            if let Some(reason) = shorten(&data.active_reason, room) {
                spans.push(Span::styled(format!(" ({reason})"), theme.dim()));
            }
            Line::from(spans)
        }
        Err(e) => Line::from(vec![
            Span::styled(" claude-auth", theme.bold()),
            Span::raw("  Active provider: "),
            Span::styled(format!("unknown: {e}"), theme.error()),
        ]),
    }
}

/// `text` in at most `room` characters: whole, else cut after its last
/// clause (`;`) or word that fits, with `…`; `None` when not even a word
/// fits.
fn shorten(text: &str, room: usize) -> Option<String> {
    if text.chars().count() <= room {
        return Some(text.to_owned());
    }
    let fits = |end: usize| text[..end].chars().count() < room;
    let cut = text
        .rmatch_indices("; ")
        .map(|(i, _)| i)
        .find(|&i| fits(i))
        .or_else(|| text.rmatch_indices(' ').map(|(i, _)| i).find(|&i| fits(i)))?;
    Some(format!("{}…", text[..cut].trim_end_matches([',', ';'])))
}

fn draw_logins(frame: &mut Frame, area: Rect, app: &App, data: &Dashboard, theme: Theme) {
    let block = section("Logins");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if data.rows.is_empty() {
        frame.render_widget(Paragraph::new(" No logins found: press l to log in"), inner);
        app.rows_area.set(Rect::default());
        return;
    }
    let header = TableRow::new([
        "", "Provider", "Source", "Kind", "Account", "Plan", "Expires",
    ])
    .style(theme.bold());
    let rows = data.rows.iter().map(|r| table_row(r, app.now, theme));
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Length(9),
            Constraint::Length(18),
            Constraint::Length(7),
            Constraint::Fill(1),
            Constraint::Length(5),
            Constraint::Length(15),
        ],
    )
    .header(header)
    .row_highlight_style(theme.selected())
    .highlight_symbol("> ");
    let mut state = TableState::new()
        .with_offset(app.offset.get())
        .with_selected(Some(app.selected));
    frame.render_stateful_widget(table, inner, &mut state);
    app.offset.set(state.offset());
    app.rows_area.set(Rect {
        y: inner.y + 1,
        height: inner.height.saturating_sub(1),
        ..inner
    });
}

fn table_row(r: &Row, now: u64, theme: Theme) -> TableRow<'static> {
    let style = match r.state {
        RowState::Wins => theme.ok(),
        RowState::Error(_) => theme.error(),
        _ => ratatui::style::Style::new(),
    };
    let exp = if r.kind.is_some() {
        expiry(r.expires_at, r.kind.as_deref(), now)
    } else {
        String::new()
    };
    let expired = r.expires_at.is_some_and(|at| at <= now) && !r.refreshable;
    TableRow::new(vec![
        ratatui::text::Text::styled(mark(&r.state), style),
        ratatui::text::Text::raw(r.provider.display_name()),
        ratatui::text::Text::raw(r.source.clone()),
        ratatui::text::Text::raw(r.kind.clone().unwrap_or_default()),
        ratatui::text::Text::raw(r.account.clone().unwrap_or_default()),
        ratatui::text::Text::raw(r.plan.clone().unwrap_or_default()),
        ratatui::text::Text::styled(
            exp,
            if expired {
                theme.error()
            } else {
                ratatui::style::Style::new()
            },
        ),
    ])
}

fn detail_lines(app: &App, data: &Dashboard, theme: Theme) -> Vec<Line<'static>> {
    let Some(r) = app.selected_row() else {
        return Vec::new();
    };
    let mut first = format!(
        " {} {} · {}",
        r.provider.display_name(),
        r.source,
        state_word(&r.state)
    );
    if let Some(m) = &r.masked {
        first.push_str(&format!(" · {m}"));
    }
    if r.kind.is_some() && r.expires_at.is_some() {
        first.push_str(if r.refreshable {
            " · refreshable"
        } else {
            " · not refreshable"
        });
    }
    let refresh = data
        .providers
        .iter()
        .find(|p| p.provider == r.provider)
        .and_then(|p| p.refresh.as_ref())
        .filter(|_| r.state == RowState::Wins);
    let second = match refresh {
        Some(h) => {
            let mut parts = Vec::new();
            if let Some(at) = &h.last_refresh_at {
                parts.push(format!("last refreshed {at}"));
            }
            if let Some(e) = &h.last_error {
                parts.push(format!("last error: {e}"));
            }
            if parts.is_empty() {
                parts.push("no refresh yet".into());
            }
            Line::styled(
                format!(" Refresh: {}", parts.join("; ")),
                if h.last_error.is_some() {
                    theme.warn()
                } else {
                    theme.dim()
                },
            )
        }
        None => Line::styled(
            format!(
                " Stored in: {}",
                r.location.clone().unwrap_or_else(|| "—".into())
            ),
            theme.dim(),
        ),
    };
    vec![Line::raw(first), second]
}

/// The warnings panel: each provider's problem (not usable, with the
/// hint) and what `status` warns about.
pub fn warning_lines(data: &Dashboard) -> Vec<String> {
    let mut out = Vec::new();
    for p in &data.providers {
        if !p.ok {
            let mut line = format!(
                "{}: {}",
                p.provider.display_name(),
                p.error.as_deref().unwrap_or("no usable login")
            );
            if let Some(h) = &p.hint {
                line.push_str(&format!(" → {h}"));
            }
            out.push(line);
        }
    }
    out.extend(data.warnings.iter().cloned());
    out
}

fn draw_usage(frame: &mut Frame, area: Rect, app: &App, data: &Dashboard, theme: Theme) {
    let block = section("Usage");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::new();
    if data.usage.is_empty() {
        lines.push(Line::styled(
            " Nothing known yet (asked in the background; u asks now)",
            theme.dim(),
        ));
    }
    let bar = if inner.width >= 100 { 30 } else { 14 };
    for u in &data.usage {
        let mut head = format!(" {} {}", u.provider.display_name(), u.login);
        if let Some(plan) = &u.report.plan {
            head.push_str(&format!(" ({plan})"));
        }
        match (&u.report.snapshot, &u.report.error) {
            (Some(snap), err) => {
                if let Some(age) = u.report.age_secs {
                    head.push_str(&format!(
                        " · {} old",
                        claude_auth::status::relative(age as i64).trim_start_matches("in ")
                    ));
                }
                if let Some(e) = err {
                    head.push_str(&format!(" · {e}"));
                }
                lines.push(Line::styled(
                    truncate(&head, inner.width as usize),
                    theme.bold(),
                ));
                for w in &snap.windows {
                    lines.push(Line::styled(
                        format!("   {}", window_line(w, app.now, bar)),
                        pace_style(theme, w, app.now),
                    ));
                }
                for l in &snap.api_limits {
                    if let (Some(left), Some(limit)) = (l.remaining, l.limit) {
                        lines.push(Line::raw(format!("   {} {left} of {limit} left", l.name)));
                    }
                }
            }
            (None, err) => lines.push(Line::raw(format!(
                "{head}: {}",
                err.as_deref().unwrap_or("nothing known yet")
            ))),
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn notice_line(app: &App, theme: Theme) -> Line<'static> {
    if let Some(busy) = &app.busy {
        return Line::from(vec![
            Span::styled(format!(" … {busy}"), theme.bold()),
            Span::styled("  (Esc cancels)", theme.dim()),
        ]);
    }
    match &app.notice {
        Some(n) if n.error => Line::styled(format!(" ✗ {}", n.text), theme.error()),
        Some(n) => Line::styled(format!(" ✓ {}", n.text), theme.ok()),
        None => Line::raw(""),
    }
}
