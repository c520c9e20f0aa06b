//! Opening the user's browser, the platform's way.
//!
//! `$BROWSER` first (a `:`-separated list of commands, `%s` replaced by the
//! URL, else the URL appended), then WSL (`wslview`, else Windows' `cmd.exe
//! /c start`), macOS `open`, Windows `start`, and `xdg-open` / `gio open`
//! elsewhere. The child runs detached with no stdio and is reaped on a
//! thread; failure to open is not an error (the URL is always printed too).

use std::process::{Command, Stdio};

use crate::config::env::Env;

fn spawn(program: &str, args: &[String]) -> bool {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(mut child) => {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            true
        }
        Err(_) => false,
    }
}

fn is_wsl(env: &Env) -> bool {
    env.is_set("WSL_DISTRO_NAME")
        || crate::secure_file::read_optional_limited(
            std::path::Path::new("/proc/sys/kernel/osrelease"),
            crate::secure_file::ReadPolicy::Lenient,
            4 << 10,
        )
        .ok()
        .flatten()
        .is_some_and(|v| {
            String::from_utf8_lossy(&v)
                .to_lowercase()
                .contains("microsoft")
        })
}

/// Open `url`; returns the command used, or `None` when nothing worked.
pub fn open(url: &str, env: &Env) -> Option<String> {
    if let Some(browsers) = env.get("BROWSER") {
        for entry in browsers.split(':').filter(|e| !e.trim().is_empty()) {
            let mut words: Vec<String> = entry.split_whitespace().map(str::to_owned).collect();
            if words.is_empty() {
                continue;
            }
            let program = words.remove(0);
            let mut args: Vec<String> = words.iter().map(|w| w.replace("%s", url)).collect();
            if !entry.contains("%s") {
                args.push(url.to_owned());
            }
            if spawn(&program, &args) {
                return Some(format!("$BROWSER ({program})"));
            }
        }
    }
    let candidates: Vec<(&str, Vec<String>)> = if cfg!(target_os = "macos") {
        vec![("open", vec![url.to_owned()])]
    } else if cfg!(windows) {
        vec![(
            "cmd",
            vec![
                "/C".into(),
                "start".into(),
                String::new(),
                url.replace('&', "^&"),
            ],
        )]
    } else if is_wsl(env) {
        vec![
            ("wslview", vec![url.to_owned()]),
            (
                "cmd.exe",
                vec![
                    "/c".into(),
                    "start".into(),
                    String::new(),
                    url.replace('&', "^&"),
                ],
            ),
        ]
    } else {
        vec![
            ("xdg-open", vec![url.to_owned()]),
            ("gio", vec!["open".into(), url.to_owned()]),
        ]
    };
    for (program, args) in candidates {
        if spawn(program, &args) {
            return Some(program.to_owned());
        }
    }
    None
}
