#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::config::env::Env;
use crate::config::settings::Settings;
use crate::credential::TokenSet;
use crate::secret::Secret;
use crate::source::Resolver;
use crate::store::keyring::{KeyringBackend, MemoryKeyring};

const ACCESS: &str = "sk-ant-oat01-Guide4ccessT0kenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const REFRESH: &str = "sk-ant-ort01-GuideRefreshT0kenBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

fn setup(dir: &Path) -> (Profiles, Arc<MemoryKeyring>) {
    let env = Env::empty()
        .with("HOME", dir.to_string_lossy())
        .with("CODEX_HOME", dir.join("codex").to_string_lossy());
    let keyring = Arc::new(MemoryKeyring::new());
    let r = Resolver::with_settings(env, Settings::default()).with_keyring_backend(keyring.clone());
    (Profiles::new(r), keyring)
}

fn item(report: &ImportReport, source: ImportSource) -> &ImportItem {
    report.items.iter().find(|i| i.source == source).unwrap()
}

fn run(p: &mut Profiles, dry_run: bool, move_sources: bool) -> ImportReport {
    p.import(ImportOptions {
        dry_run,
        move_sources,
    })
    .unwrap()
}

#[test]
fn the_guide_keyring_entries_are_copied_once_then_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut p, keyring) = setup(tmp.path());
    keyring.set(GUIDE_SERVICE, "access_token", ACCESS).unwrap();
    keyring
        .set(GUIDE_SERVICE, "refresh_token", REFRESH)
        .unwrap();

    let first = run(&mut p, false, false);
    let it = item(&first, ImportSource::GuideKeyring);
    assert_eq!(it.action, ImportAction::Imported, "{}", it.detail);
    assert_eq!(it.profile.as_deref(), Some("claude-bedrock-cursor"));
    assert!(first.changed);
    let held = p
        .load_imported(&Provider::Anthropic, "claude-bedrock-cursor")
        .unwrap()
        .unwrap();
    let set = held.token_set().unwrap();
    assert_eq!(set.access_token.expose(), ACCESS);
    assert_eq!(set.refresh_token.as_ref().unwrap().expose(), REFRESH);
    assert!(set.client_id.is_some(), "refreshed by the Claude client");

    let second = run(&mut p, false, false);
    let it = item(&second, ImportSource::GuideKeyring);
    assert_eq!(it.action, ImportAction::AlreadyImported);
    assert_eq!(
        it.detail,
        "already imported as claude-bedrock-cursor; nothing changed"
    );
    assert!(!second.changed);
    assert_eq!(keyring.names().len(), 2, "the entries stay without --move");

    let moved = run(&mut p, false, true);
    let it = item(&moved, ImportSource::GuideKeyring);
    assert_eq!(it.action, ImportAction::Moved, "{}", it.detail);
    assert!(keyring.names().is_empty());
    let backup = std::fs::read_to_string(it.backup.as_ref().unwrap()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&backup).unwrap();
    assert_eq!(doc["service"], GUIDE_SERVICE);
    assert_eq!(doc["entries"]["access_token"], ACCESS);
    assert_eq!(doc["entries"]["refresh_token"], REFRESH);
}

#[test]
fn a_refresh_token_without_an_access_token_is_reported_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut p, keyring) = setup(tmp.path());
    keyring
        .set(GUIDE_SERVICE, "refresh_token", REFRESH)
        .unwrap();
    let report = run(&mut p, false, true);
    let it = item(&report, ImportSource::GuideKeyring);
    assert_eq!(it.action, ImportAction::Error);
    assert!(
        it.detail.contains("\"access_token\" is not"),
        "{}",
        it.detail
    );
    assert!(report.has_errors());
    assert_eq!(
        keyring.text(GUIDE_SERVICE, "refresh_token").as_deref(),
        Some(REFRESH)
    );
}

#[test]
fn an_import_is_recognised_after_the_profile_token_rotated() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut p, keyring) = setup(tmp.path());
    keyring.set(GUIDE_SERVICE, "access_token", ACCESS).unwrap();
    keyring
        .set(GUIDE_SERVICE, "refresh_token", REFRESH)
        .unwrap();
    run(&mut p, false, false);
    // A refresh of the profile rotates both tokens.
    let mut set = TokenSet::access_only(Secret::new(format!("{ACCESS}x")), Provider::Anthropic);
    set.refresh_token = Some(Secret::new(format!("{REFRESH}y")));
    p.resolver()
        .profile_files()
        .write_credentials("claude-bedrock-cursor", &set)
        .unwrap();
    let again = run(&mut p, false, false);
    let it = item(&again, ImportSource::GuideKeyring);
    assert_eq!(it.action, ImportAction::AlreadyImported, "{}", it.detail);
    assert_eq!(it.profile.as_deref(), Some("claude-bedrock-cursor"));
}

#[test]
fn a_name_holding_another_credential_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut p, keyring) = setup(tmp.path());
    let other = TokenSet::access_only(Secret::new(format!("{ACCESS}z")), Provider::Anthropic);
    let login = p.new_login(Some("claude-bedrock-cursor")).unwrap();
    p.store(&login, &Credential::OAuth(other)).unwrap();
    keyring.set(GUIDE_SERVICE, "access_token", ACCESS).unwrap();
    let report = run(&mut p, false, false);
    let it = item(&report, ImportSource::GuideKeyring);
    assert_eq!(it.profile.as_deref(), Some("claude-bedrock-cursor-2"));
    let kept = p
        .load_imported(&Provider::Anthropic, "claude-bedrock-cursor")
        .unwrap()
        .unwrap();
    assert_eq!(kept.secret().expose(), format!("{ACCESS}z"));
}

#[test]
fn same_credential_is_the_token_or_the_refresh_token() {
    let mk = |a: &str, r: Option<&str>| {
        let mut s = TokenSet::access_only(Secret::new(a), Provider::Anthropic);
        s.refresh_token = r.map(Secret::new);
        Credential::OAuth(s)
    };
    assert!(same_credential(&mk("a", None), &mk("a", Some("r"))));
    assert!(same_credential(&mk("a", Some("r")), &mk("b", Some("r"))));
    assert!(!same_credential(&mk("a", Some("r")), &mk("b", Some("s"))));
    assert!(!same_credential(&mk("a", None), &mk("b", None)));
}
