//! The work the UI must never wait for, on other threads: reading the
//! dashboard (files, the keyring, an external command), asking for usage
//! (the network, through the usage cache, at the cache's pace), and the
//! actions (switch, refresh, log out, log in). Requests come in over one
//! channel and results go back over another; a long action runs on its own
//! thread with a cancel signal, so Esc stops it and the dispatcher stays
//! free.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use claude_auth::{Env, ManagerOptions, Provider, Providers};
use tokio::sync::watch;

use super::app::{Request, Update};
use super::model::{self, UsageItem};
use crate::GlobalArgs;

/// The UI's end of the worker.
pub struct Worker {
    /// Where requests go.
    pub requests: Sender<Request>,
    /// Where results come from.
    pub updates: Receiver<Update>,
}

/// Both providers for this process, with `--profile` applied to Anthropic
/// (as `status` does); read anew for every request so a setting or a login
/// changed elsewhere shows up.
pub fn providers(global: &GlobalArgs) -> Result<Providers, String> {
    let providers = Providers::new(Env::from_process()).map_err(|e| e.to_string())?;
    let manager = ManagerOptions {
        resolve: crate::commands::options(global, false),
        ..ManagerOptions::default()
    };
    Ok(providers.with_options(&Provider::Anthropic, manager))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("could not start the async runtime: {e}"))
}

/// Start the dispatcher and the usage refresher.
pub fn start(global: &GlobalArgs, with_usage: bool) -> Worker {
    let (requests, inbox) = mpsc::channel::<Request>();
    let (outbox, updates) = mpsc::channel::<Update>();
    let (usage_now, usage_inbox) = mpsc::channel::<()>();
    let usage_out = outbox.clone();
    let usage_global = global.clone();
    if with_usage {
        thread::spawn(move || usage_loop(&usage_global, &usage_inbox, &usage_out));
    }
    let global = global.clone();
    thread::spawn(move || dispatch(&global, &inbox, &outbox, &usage_now));
    Worker { requests, updates }
}

/// Ask for usage now, then again each time the cache's TTL passes (or when
/// the UI asks). Ends when the UI is gone.
fn usage_loop(global: &GlobalArgs, asked: &Receiver<()>, out: &Sender<Update>) {
    let Ok(rt) = runtime() else { return };
    loop {
        let mut ttl = claude_auth::usage::fetch::DEFAULT_TTL;
        let providers = providers(global);
        if providers.is_err() && out.send(Update::Usage(Vec::new())).is_err() {
            return;
        }
        if let Ok(providers) = providers {
            ttl = Duration::from_secs(
                providers
                    .resolver(&Provider::Anthropic)
                    .settings()
                    .usage_ttl_secs
                    .max(5),
            );
            let items = rt
                .block_on(providers.usage(None))
                .into_iter()
                .map(|u| UsageItem {
                    provider: u.provider,
                    login: u.login,
                    report: u.report,
                })
                .collect();
            if out.send(Update::Usage(items)).is_err() {
                return;
            }
        }
        match asked.recv_timeout(ttl) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn reload(global: &GlobalArgs, out: &Sender<Update>) {
    let update = match providers(global) {
        Ok(p) => Update::Dashboard(Box::new(model::load(&p))),
        Err(e) => Update::Done {
            message: e,
            failed: true,
        },
    };
    let _ = out.send(update);
}

fn dispatch(
    global: &GlobalArgs,
    inbox: &Receiver<Request>,
    out: &Sender<Update>,
    usage: &Sender<()>,
) {
    reload(global, out);
    let mut cancel: Option<watch::Sender<bool>> = None;
    let mut login_input: Option<tokio::sync::mpsc::UnboundedSender<claude_auth::Secret>> = None;
    while let Ok(request) = inbox.recv() {
        match request {
            Request::LoginInput(secret) => {
                if let Some(tx) = &login_input {
                    let _ = tx.send(secret);
                }
            }
            Request::Login(method) => {
                if let Some(c) = cancel.take() {
                    let _ = c.send(true);
                }
                let (tx, rx) = watch::channel(false);
                cancel = Some(tx);
                let (input_tx, input_rx) = tokio::sync::mpsc::unbounded_channel();
                login_input = Some(input_tx);
                let global = global.clone();
                let out = out.clone();
                let usage = usage.clone();
                thread::spawn(move || {
                    let done = super::login_flow::run(&global, method, rx, input_rx, &out);
                    let _ = out.send(done);
                    reload(&global, &out);
                    let _ = usage.send(());
                });
            }
            Request::Reload => reload(global, out),
            Request::Usage => {
                let _ = usage.send(());
            }
            Request::Cancel => {
                if let Some(c) = cancel.take() {
                    let _ = c.send(true);
                }
            }
            action => {
                let (tx, rx) = watch::channel(false);
                cancel = Some(tx);
                let global = global.clone();
                let out = out.clone();
                let usage = usage.clone();
                thread::spawn(move || {
                    let done = super::actions::run(&global, action, rx, &out);
                    let _ = out.send(done);
                    reload(&global, &out);
                    let _ = usage.send(());
                });
            }
        }
    }
}
