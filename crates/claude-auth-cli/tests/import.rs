//! `claude-auth import`: the real binary over real files (and, for the
//! keyring guide's entries, the real Secret Service of `scripts/test`, the
//! entries written by Python's `keyring` exactly as the guide's code does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::{mode, now, require_secret_service, run_python, test_python, write_file, Sandbox};
use serde_json::{json, Value};

const SEED_ACCESS: &str = "sk-ant-oat01-SeedAccessT0kenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const SEED_REFRESH: &str = "sk-ant-ort01-Tz5Nc8Kd2QwXr7Lm4Vb9Jh3Fs6Gp1Ey0";
const ENV_ACCESS: &str = "sk-ant-oat01-EnvAccessT0kenBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const CC_ACCESS: &str = "sk-ant-oat01-ClaudeCodeT0kenCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
const GUIDE_ACCESS: &str = "sk-ant-oat01-GuideAccessT0kenDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD";
const GUIDE_REFRESH: &str = "sk-ant-ort01-GuideRefreshT0kenEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE";
const OPENAI_KEY: &str = "sk-proj-ImportedFromCodex0123456789abcdef";

/// Every file under `dir`: bytes, mode and mtime (nanoseconds).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32, i128)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.insert(path.clone(), (Vec::new(), meta.mode(), 0));
                stack.push(path);
            } else {
                let mtime =
                    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
                out.insert(
                    path.clone(),
                    (std::fs::read(&path).unwrap(), meta.mode(), mtime),
                );
            }
        }
    }
    out
}

fn codex_path(sb: &Sandbox) -> PathBuf {
    sb.home().join(".codex").join("auth.json")
}

fn write_codex_key(sb: &Sandbox) {
    let doc = json!({"auth_mode": "apikey", "OPENAI_API_KEY": OPENAI_KEY});
    write_file(&codex_path(sb), &doc.to_string(), 0o600);
}

/// The item of `source` in `import --json` output.
fn item<'a>(report: &'a Value, source: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"] == source)
        .unwrap_or_else(|| panic!("no {source} in {report:#}"))
}

fn actions(report: &Value) -> Vec<(String, String, Value)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["source"].as_str().unwrap().to_owned(),
                i["action"].as_str().unwrap().to_owned(),
                i["profile"].clone(),
            )
        })
        .collect()
}

/// A sandbox with the seed library's file and the guide's variables.
fn seeded() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.write_seed(&sb.seed_path(), SEED_ACCESS, now() + 3600);
    sb.set("CLAUDE_ACCESS_TOKEN", ENV_ACCESS);
    sb
}

#[test]
fn import_twice_is_idempotent() {
    let sb = seeded();
    write_codex_key(&sb);
    sb.write_claude_code(CC_ACCESS, (now() + 3600) * 1000, 0o600);
    let first = sb.run(&["import"]);
    first.assert_code(0);
    assert_eq!(
        first.stderr,
        "✓ Imported. See `claude-auth profile list`.\n"
    );
    let after_first = snapshot(sb.home());

    let second = sb.run(&["import"]);
    second.assert_code(0);
    assert_eq!(second.stderr, "Nothing changed.\n");
    let lines = second.stdout_lines();
    assert!(
        lines.contains(
            &format!(
        "claude-oauth-auth file ({}): already imported as claude-oauth-auth; nothing changed",
        sb.seed_path().display()
    )
            .as_str()
        ),
        "{second}"
    );
    assert!(lines.contains(&"CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN (environment variables CLAUDE_ACCESS_TOKEN / CLAUDE_REFRESH_TOKEN): already imported as claude-env; nothing changed"), "{second}");
    assert_eq!(
        snapshot(sb.home()),
        after_first,
        "the second run wrote something"
    );

    let json = sb.run(&["import", "--json"]);
    json.assert_code(0);
    let report = json.json();
    assert_eq!(report["changed"], false);
    assert_eq!(item(&report, "seed-file")["action"], "already-imported");
    // Live tools' logins are read in place, not copied.
    assert_eq!(item(&report, "codex")["action"], "in-place");
    assert_eq!(item(&report, "claude-code")["action"], "in-place");
    assert!(item(&report, "codex")["detail"]
        .as_str()
        .unwrap()
        .contains("two copies of one login log each other out"));
    assert!(!sb.own_dir().join("openai").exists());
    assert!(!sb.credentials_path("claude-code").exists());
}

#[test]
fn the_imported_profiles_work_through_token() {
    let sb = seeded();
    sb.run(&["import"]).assert_code(0);
    let seed = sb.run(&["token", "--profile", "claude-oauth-auth"]);
    seed.assert_code(0);
    assert_eq!(seed.stdout, format!("{SEED_ACCESS}\n"));
    // The copy keeps the refresh token, for the Claude client.
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(sb.credentials_path("claude-oauth-auth")).unwrap(),
    )
    .unwrap();
    assert_eq!(creds["refresh_token"], SEED_REFRESH);
    assert_eq!(mode(&sb.credentials_path("claude-oauth-auth")), 0o600);
    assert_eq!(mode(&sb.anthropic_dir().join("credentials")), 0o700);
    assert_eq!(mode(&sb.own_dir().join("imported.json")), 0o600);
    let env = sb.run(&["token", "--profile", "claude-env"]);
    env.assert_code(0);
    assert_eq!(env.stdout, format!("{ENV_ACCESS}\n"));
    // The record holds fingerprints, never a token.
    let record = std::fs::read_to_string(sb.own_dir().join("imported.json")).unwrap();
    for secret in [SEED_ACCESS, SEED_REFRESH, ENV_ACCESS] {
        assert!(!record.contains(secret));
    }
}

#[test]
fn a_corrupt_source_is_reported_and_untouched_even_with_move() {
    let sb = Sandbox::new();
    write_file(&sb.seed_path(), "{\"access_token\": ", 0o600);
    write_file(&codex_path(&sb), "{\"auth_mode\": \"apikey\"}", 0o600);
    let guide = sb.home().join(".config/claude-bedrock-cursor/config.toml");
    write_file(&guide, "[oauth\napi_base = 1", 0o600);
    // An mtime in the past, so a rewrite within the same second would show.
    for p in [sb.seed_path(), codex_path(&sb), guide.clone()] {
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
            .unwrap();
    }
    let before = snapshot(sb.home());
    let run = sb.run(&["import", "--move"]);
    run.assert_code(1);
    let lines = run.stdout_lines();
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "claude-oauth-auth file ({}): ",
            sb.seed_path().display()
        )) && l.contains("not JSON")
            && l.ends_with("Nothing was changed; fix or remove the file")),
        "{run}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Codex login (")
            && l.contains("OPENAI_API_KEY is empty")
            && l.ends_with("Nothing was changed; fix or remove the file")),
        "{run}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("keyring guide's config.toml (")
                && l.contains("not TOML: invalid table header; expected")
                && l.ends_with("Nothing was changed; fix or remove the file")),
        "{run}"
    );
    assert!(
        run.stderr.contains("some sources could not be imported"),
        "{run}"
    );
    let after = snapshot(sb.home());
    for p in [sb.seed_path(), codex_path(&sb), guide] {
        assert_eq!(after.get(&p), before.get(&p), "{} was touched", p.display());
    }
    assert!(!sb.own_dir().join("import-backups").exists());
    let json = sb.run(&["import", "--json"]).json();
    assert_eq!(item(&json, "seed-file")["action"], "error");
}

#[test]
fn dry_run_writes_nothing_and_prints_the_plan() {
    let sb = seeded();
    write_codex_key(&sb);
    let before = snapshot(sb.home());
    let dry = sb.run(&["import", "--dry-run", "--json"]);
    dry.assert_code(0);
    assert_eq!(snapshot(sb.home()), before, "--dry-run wrote something");
    let plan = dry.json();
    assert_eq!(plan["dryRun"], true);
    let human = sb.run(&["import", "--dry-run"]);
    assert_eq!(snapshot(sb.home()), before);
    assert!(
        human
            .stdout
            .contains("would import as profile claude-oauth-auth"),
        "{human}"
    );
    assert_eq!(
        human.stderr,
        "Dry run: nothing was written. Run without --dry-run to do the above.\n"
    );

    let real = sb.run(&["import", "--json"]);
    real.assert_code(0);
    assert_eq!(
        actions(&plan),
        actions(&real.json()),
        "the dry run's plan is what a run does"
    );

    let moving = snapshot(sb.home());
    let dry_move = sb.run(&["import", "--dry-run", "--move", "--json"]);
    dry_move.assert_code(0);
    assert_eq!(
        snapshot(sb.home()),
        moving,
        "--dry-run --move wrote something"
    );
    let plan = dry_move.json();
    assert_eq!(item(&plan, "codex")["action"], "moved");
    assert_eq!(item(&plan, "codex")["profile"], "codex");
    let real = sb.run(&["import", "--move", "--json"]);
    real.assert_code(0);
    assert_eq!(actions(&plan), actions(&real.json()));
}

#[test]
fn move_backs_up_then_imports_then_removes() {
    let sb = seeded();
    write_codex_key(&sb);
    sb.write_claude_code(CC_ACCESS, (now() + 3600) * 1000, 0o600);
    let seed_bytes = std::fs::read(sb.seed_path()).unwrap();
    let codex_bytes = std::fs::read(codex_path(&sb)).unwrap();
    let cc_bytes = std::fs::read(sb.claude_code_path()).unwrap();
    let run = sb.run(&["import", "--move", "--json"]);
    run.assert_code(0);
    let report = run.json();
    for (source, bytes, path, profile) in [
        (
            "seed-file",
            &seed_bytes,
            sb.seed_path(),
            "claude-oauth-auth",
        ),
        ("codex", &codex_bytes, codex_path(&sb), "codex"),
        (
            "claude-code",
            &cc_bytes,
            sb.claude_code_path(),
            "claude-code",
        ),
    ] {
        let it = item(&report, source);
        assert_eq!(it["action"], "moved", "{it:#}");
        assert_eq!(it["profile"], profile);
        let backup = PathBuf::from(it["backup"].as_str().unwrap());
        assert_eq!(&std::fs::read(&backup).unwrap(), bytes, "{source}'s backup");
        assert_eq!(mode(&backup), 0o600);
        assert_eq!(it["removed"], json!([path.display().to_string()]));
        assert!(!path.exists(), "{} was not removed", path.display());
    }
    assert_eq!(mode(&sb.own_dir().join("import-backups")), 0o700);
    // The environment cannot be removed: copied, and said so.
    let env = item(&report, "seed-env");
    assert_eq!(env["action"], "imported");
    assert!(env["detail"]
        .as_str()
        .unwrap()
        .contains("the variables stay set"));
    // No lock file is left beside the removed seed file.
    assert!(!sb.seed_path().with_file_name("auth.json.lock").exists());

    let seed = sb.run(&["token", "--profile", "claude-oauth-auth"]);
    assert_eq!(seed.stdout, format!("{SEED_ACCESS}\n"));
    let cc = sb.run(&["token", "--profile", "claude-code"]);
    assert_eq!(cc.stdout, format!("{CC_ACCESS}\n"));
    let openai = sb.run(&["token", "--provider", "openai", "--profile", "codex"]);
    openai.assert_code(0);
    assert_eq!(openai.stdout, format!("{OPENAI_KEY}\n"));

    // Moved sources are gone: a second run changes nothing.
    let before = snapshot(sb.home());
    let again = sb.run(&["import", "--move"]);
    again.assert_code(0);
    assert_eq!(again.stderr, "Nothing changed.\n");
    assert_eq!(snapshot(sb.home()), before);
}

#[test]
fn a_profile_holding_another_credential_is_never_overwritten() {
    let sb = seeded();
    sb.login(
        Some("claude-oauth-auth"),
        ENV_ACCESS.replace("Env", "Oth").as_str(),
    );
    let before = std::fs::read(sb.credentials_path("claude-oauth-auth")).unwrap();
    let report = sb.run(&["import", "--json"]).json();
    assert_eq!(item(&report, "seed-file")["profile"], "claude-oauth-auth-2");
    assert_eq!(
        std::fs::read(sb.credentials_path("claude-oauth-auth")).unwrap(),
        before
    );
    let token = sb.run(&["token", "--profile", "claude-oauth-auth-2"]);
    assert_eq!(token.stdout, format!("{SEED_ACCESS}\n"));
}

#[test]
fn the_guide_config_is_reported_and_left_alone() {
    let sb = Sandbox::new();
    let guide = sb.home().join(".config/claude-bedrock-cursor/config.toml");
    write_file(
        &guide,
        "[oauth]\napi_base = \"https://api.claude.ai/v1\"\nauto_refresh = true\n",
        0o644,
    );
    let before = snapshot(sb.home());
    let report = sb.run(&["import", "--move", "--json"]).json();
    let it = item(&report, "guide-config");
    assert_eq!(it["action"], "no-credential");
    assert_eq!(it["rule"], "report");
    assert!(it["detail"]
        .as_str()
        .unwrap()
        .starts_with("holds no credential (its [oauth] settings: api_base, auto_refresh)"));
    assert_eq!(snapshot(sb.home()), before);
}

#[test]
fn the_keyring_guide_entries_are_imported_from_the_secret_service() {
    let mut sb = seeded();
    sb.unset("CLAUDE_ACCESS_TOKEN");
    std::fs::remove_file(sb.seed_path()).unwrap();
    if !require_secret_service() {
        return;
    }
    let Some(python) =
        test_python("the_keyring_guide_entries_are_imported_from_the_secret_service")
    else {
        return;
    };
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .expect("scripts/test exports DBUS_SESSION_BUS_ADDRESS");
    sb.set("DBUS_SESSION_BUS_ADDRESS", &bus);
    let py = |script: &str| {
        let prelude = "import keyring\nfrom keyring.backends.SecretService import Keyring\nkeyring.set_keyring(Keyring())\n";
        let run = run_python(
            &python,
            &sb,
            &[("DBUS_SESSION_BUS_ADDRESS", &bus)],
            &format!("{prelude}{script}"),
        );
        run.assert_code(0);
        run.stdout
    };
    // As the guide's SecureTokenStorage.store_token does.
    py(&format!(
        "keyring.set_password('claude-bedrock-cursor', 'access_token', {GUIDE_ACCESS:?})\n\
         keyring.set_password('claude-bedrock-cursor', 'refresh_token', {GUIDE_REFRESH:?})\n"
    ));

    let first = sb.run(&["import", "--json"]);
    first.assert_code(0);
    let report = first.json();
    let it = item(&report, "guide-keyring");
    assert_eq!(it["action"], "imported", "{it:#}");
    assert_eq!(it["profile"], "claude-bedrock-cursor");
    let token = sb.run(&["token", "--profile", "claude-bedrock-cursor"]);
    token.assert_code(0);
    assert_eq!(token.stdout, format!("{GUIDE_ACCESS}\n"));
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(sb.credentials_path("claude-bedrock-cursor")).unwrap(),
    )
    .unwrap();
    assert_eq!(creds["refresh_token"], GUIDE_REFRESH);

    let before = snapshot(sb.home());
    let second = sb.run(&["import"]);
    second.assert_code(0);
    assert_eq!(second.stderr, "Nothing changed.\n");
    assert_eq!(snapshot(sb.home()), before);
    assert_eq!(
        py("print(keyring.get_password('claude-bedrock-cursor', 'access_token'))"),
        format!("{GUIDE_ACCESS}\n"),
        "the entries stay without --move"
    );

    let moved = sb.run(&["import", "--move", "--json"]).json();
    let it = item(&moved, "guide-keyring");
    assert_eq!(it["action"], "moved", "{it:#}");
    let backup: Value =
        serde_json::from_slice(&std::fs::read(it["backup"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        backup,
        json!({"service": "claude-bedrock-cursor",
               "entries": {"access_token": GUIDE_ACCESS, "refresh_token": GUIDE_REFRESH}})
    );
    assert_eq!(
        py("print(keyring.get_password('claude-bedrock-cursor', 'access_token'), keyring.get_password('claude-bedrock-cursor', 'refresh_token'))"),
        "None None\n"
    );
    let token = sb.run(&["token", "--profile", "claude-bedrock-cursor"]);
    assert_eq!(token.stdout, format!("{GUIDE_ACCESS}\n"));
}
