//! `import`: turn the credentials people already have into our profiles,
//! idempotently, without ever logging another tool out behind its back.
//!
//! A refresh token rotates: two live copies of one login (ours, and a tool
//! that still refreshes its own) log each other out at the next refresh. So
//! each source has a rule ([`ImportRule`]):
//!
//! - formats nothing maintained writes any more (the seed library's
//!   `auth.json`, the keyring guide's entries, the guide's
//!   `CLAUDE_ACCESS_TOKEN`/`CLAUDE_REFRESH_TOKEN`) are **copied** into a
//!   profile; the source stays unless `--move`;
//! - a login another live tool still uses (Claude Code's, Codex's
//!   `auth.json`) is **not copied**: the chain already reads it in place;
//!   `--move` takes it over;
//! - the guide's `config.toml` holds no credential: reported, never touched.
//!
//! `--move` goes backup → profile → source removed, in that order, under
//! the source's lock where it has one, so an interruption loses nothing. A
//! source that cannot be parsed is reported and never touched. What was
//! imported is recorded (`<own config dir>/imported.json`: fingerprints,
//! never tokens), so a second run says "already imported as …" even after
//! the profile's token rotated, and changes nothing.

mod kinds;
mod record;
mod sources;

use std::path::PathBuf;

use serde::Serialize;

use crate::config::locations::own_config_dir;
use crate::credential::{now_unix, Credential, Provider};
use crate::error::Error;
use crate::secure_file;
use crate::store::StorageKind;

use super::{NewLogin, ProfileError, Profiles};
use record::Record;
use sources::{State, Taken};

pub use kinds::{ImportRule, ImportSource};
pub use sources::{GUIDE_ACCOUNTS, GUIDE_SERVICE};

/// What `import` did (or, with `--dry-run`, would do) with one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportAction {
    /// Nothing there.
    NotFound,
    /// It could not be looked at (no keyring here).
    NotChecked,
    /// It cannot be parsed: reported, untouched.
    Error,
    /// It holds no credential: reported, untouched.
    NoCredential,
    /// A live tool's login, read in place and not copied.
    InPlace,
    /// Copied into a profile.
    Imported,
    /// Already in a profile: nothing to do.
    AlreadyImported,
    /// Backed up, in a profile, and removed from where it was.
    Moved,
    /// Writing failed (the message says what); the source is untouched.
    Failed,
}

/// One source's line of the report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportItem {
    /// Which source.
    pub source: ImportSource,
    /// Its rule.
    pub rule: ImportRule,
    /// Where it is (a path, keyring entries, variables).
    pub location: String,
    /// What was (or would be) done.
    pub action: ImportAction,
    /// The profile it is (or would be) in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `anthropic` or `openai`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The credential's masked value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masked: Option<String>,
    /// Where the source was backed up (`--move`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
    /// What was removed (`--move`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// One line for humans (never a secret).
    pub detail: String,
}

/// What [`Profiles::import`] is asked to do.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    /// Plan only: write nothing.
    pub dry_run: bool,
    /// Take sources over: back up, import, then remove the source.
    pub move_sources: bool,
}

/// What [`Profiles::import`] did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Nothing was written.
    pub dry_run: bool,
    /// `--move` was asked for.
    #[serde(rename = "move")]
    pub move_sources: bool,
    /// Whether anything was (or, in a dry run, would be) written or removed.
    pub changed: bool,
    /// One line per source, in the order they were looked at.
    pub items: Vec<ImportItem>,
}

impl ImportReport {
    /// Whether a source could not be parsed or a write failed.
    pub fn has_errors(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.action, ImportAction::Error | ImportAction::Failed))
    }
}

/// Where a credential goes.
enum Target {
    /// Already in this profile.
    Existing(String),
    /// A new profile of this name.
    New(String),
}

impl Profiles {
    /// Find the credentials people already have and turn them into
    /// profiles, as the module documentation says. Errors only when the
    /// import record itself cannot be read; every source's trouble is a
    /// line of the report.
    pub fn import(&mut self, options: ImportOptions) -> Result<ImportReport, ProfileError> {
        let own = own_config_dir(self.resolver.env()).path;
        let mut record = Record::load(&own.join("imported.json"))?;
        let mut items = Vec::new();
        for source in ImportSource::ALL {
            let mut item = ImportItem {
                source,
                rule: source.rule(),
                location: sources::location(&self.resolver, source),
                action: ImportAction::NotFound,
                profile: None,
                provider: None,
                masked: None,
                backup: None,
                removed: Vec::new(),
                detail: String::new(),
            };
            match sources::read(&self.resolver, source) {
                State::Absent(why) => item.detail = why,
                State::NotChecked(why) => {
                    item.action = ImportAction::NotChecked;
                    item.detail = why;
                }
                State::Broken(e) => untouched(&mut item, e),
                State::NoCredential(what) => {
                    item.action = ImportAction::NoCredential;
                    item.detail = what;
                }
                State::Found(taken) => {
                    if let Err(e) = self.import_found(&mut item, taken, options, &mut record, &own)
                    {
                        item.action = ImportAction::Failed;
                        item.detail = format!("{e}; the source is untouched");
                    }
                }
            }
            items.push(item);
        }
        let changed = items
            .iter()
            .any(|i| matches!(i.action, ImportAction::Imported | ImportAction::Moved));
        Ok(ImportReport {
            dry_run: options.dry_run,
            move_sources: options.move_sources,
            changed,
            items,
        })
    }

    fn import_found(
        &mut self,
        item: &mut ImportItem,
        taken: Box<Taken>,
        options: ImportOptions,
        record: &mut Record,
        own: &std::path::Path,
    ) -> Result<(), ProfileError> {
        let source = item.source;
        describe(item, &taken.credential);
        if source.rule() == ImportRule::InPlace && !options.move_sources {
            item.action = ImportAction::InPlace;
            item.detail = source.in_place_reason().to_owned();
            return Ok(());
        }
        let target = self.find_target(source, &taken.credential, record)?;
        // The environment cannot be removed: a move is a copy there.
        let moving = options.move_sources && source != ImportSource::SeedEnv;
        if options.dry_run {
            plan(item, &target, moving);
            return Ok(());
        }
        if !moving {
            return self.copy(item, &taken.credential, target, record);
        }
        self.take_over(item, record, own)
    }

    /// Copy (the source stays).
    fn copy(
        &mut self,
        item: &mut ImportItem,
        credential: &Credential,
        target: Target,
        record: &mut Record,
    ) -> Result<(), ProfileError> {
        let source = item.source;
        let name = match target {
            Target::Existing(name) => {
                item.action = ImportAction::AlreadyImported;
                item.detail = format!("already imported as {name}; nothing changed");
                item.profile = Some(name);
                return Ok(());
            }
            Target::New(name) => name,
        };
        let (location, notices) = self.store_imported(credential, &name)?;
        record.add(source.id(), credential, &name)?;
        let stays = match source {
            ImportSource::SeedEnv => "the variables stay set (unset them once you use the profile: the profile's refresh rotates the refresh token they hold)".to_owned(),
            _ => "the source stays (its refresh token stops working once claude-auth refreshes this copy): remove it, or run `claude-auth import --move`".to_owned(),
        };
        item.action = ImportAction::Imported;
        item.detail = format!("imported as profile {name} ({location}){notices}; {stays}");
        item.profile = Some(name);
        Ok(())
    }

    /// Take a source over: under its lock, read it again, back it up, put
    /// it in a profile, then remove it.
    fn take_over(
        &mut self,
        item: &mut ImportItem,
        record: &mut Record,
        own: &std::path::Path,
    ) -> Result<(), ProfileError> {
        let source = item.source;
        let seed_lock = (source == ImportSource::SeedFile).then(|| {
            crate::source::backing::lock_path_beside(
                &crate::config::locations::seed_auth_file(self.resolver.env()).path,
            )
        });
        // The lock file we create beside the seed file goes with the file.
        let created_lock = seed_lock.filter(|l| std::fs::symlink_metadata(l).is_err());
        let lock = self.lock_source(source)?;
        let result = self.take_over_locked(item, record, own);
        drop(lock);
        if let Some(path) = created_lock {
            if item.action == ImportAction::Moved {
                secure_file::remove_if_exists(&path)?;
            }
        }
        result
    }

    fn take_over_locked(
        &mut self,
        item: &mut ImportItem,
        record: &mut Record,
        own: &std::path::Path,
    ) -> Result<(), ProfileError> {
        let source = item.source;
        let taken = match sources::read(&self.resolver, source) {
            State::Found(taken) => taken,
            State::Broken(e) => {
                untouched(item, e);
                return Ok(());
            }
            _ => {
                item.action = ImportAction::NotFound;
                item.detail = "gone before it could be taken over; nothing changed".into();
                return Ok(());
            }
        };
        describe(item, &taken.credential);
        let target = self.find_target(source, &taken.credential, record)?;
        let backup = write_backup(own, source, &taken.raw)?;
        item.backup = Some(backup.clone());
        let (name, into) = match target {
            Target::Existing(name) => (name.clone(), format!("already in profile {name}")),
            Target::New(name) => {
                let (location, notices) = self.store_imported(&taken.credential, &name)?;
                record.add(source.id(), &taken.credential, &name)?;
                (
                    name.clone(),
                    format!("imported as profile {name} ({location}){notices}"),
                )
            }
        };
        item.profile = Some(name);
        item.removed = self.remove_source(source)?;
        item.action = ImportAction::Moved;
        item.detail = format!(
            "backed up to {}, {into}, then removed {}",
            backup.display(),
            item.removed.join(" and ")
        );
        Ok(())
    }

    /// The lock the source's own tool (or our chain) writes it under.
    fn lock_source(&self, source: ImportSource) -> Result<Option<Box<dyn std::any::Any>>, Error> {
        let env = self.resolver.env();
        Ok(match source {
            ImportSource::SeedFile => {
                let path = crate::config::locations::seed_auth_file(env).path;
                Some(Box::new(crate::engine::lock::FileLock::acquire(
                    &crate::source::backing::lock_path_beside(&path),
                    std::time::Duration::from_secs(30),
                )?))
            }
            ImportSource::Codex => Some(Box::new(crate::openai::codex_lock::CodexLocks::acquire(
                &crate::openai::home::codex_home(env),
                crate::openai::codex_lock::AUTH_LOCK_TIMEOUT,
            )?)),
            ImportSource::ClaudeCode => {
                Some(Box::new(crate::engine::lock::ClaudeCodeLock::acquire(
                    self.resolver.claude_code().config_dir(),
                    crate::engine::lock::ClaudeCodeLockTimings::default(),
                )?))
            }
            _ => None,
        })
    }

    fn remove_source(&self, source: ImportSource) -> Result<Vec<String>, Error> {
        if source == ImportSource::GuideKeyring {
            return sources::delete_guide_keyring(&self.resolver);
        }
        let Some(path) = sources::file_of(&self.resolver, source) else {
            return Ok(Vec::new());
        };
        Ok(if secure_file::remove_if_exists(&path)? {
            vec![path.display().to_string()]
        } else {
            Vec::new()
        })
    }

    /// The profile `credential` is in already (recorded, or found under
    /// the source's names), else the first free name.
    fn find_target(
        &self,
        source: ImportSource,
        credential: &Credential,
        record: &Record,
    ) -> Result<Target, ProfileError> {
        let provider = credential.provider().clone();
        if let Some(name) = record.find(credential) {
            if matches!(self.load_imported(&provider, &name), Ok(Some(_))) {
                return Ok(Target::Existing(name));
            }
        }
        let base = source.profile_base();
        for n in 1..=9 {
            let name = if n == 1 {
                base.to_owned()
            } else {
                format!("{base}-{n}")
            };
            match self.load_imported(&provider, &name) {
                Ok(None) if !self.profile_named(&provider, &name) => return Ok(Target::New(name)),
                Ok(Some(held)) if same_credential(&held, credential) => {
                    return Ok(Target::Existing(name))
                }
                _ => {}
            }
        }
        Err(Error::Setting {
            setting: format!("profiles {base} to {base}-9"),
            message: format!(
                "each holds another credential, so the {} cannot be imported without overwriting one; remove one (`claude-auth logout --profile NAME`) and run `claude-auth import` again",
                source.label()
            ),
        }
        .into())
    }

    /// A profile of this name is known, with or without a credential.
    fn profile_named(&self, provider: &Provider, name: &str) -> bool {
        match provider {
            Provider::Openai => self
                .openai_profiles()
                .list()
                .is_ok_and(|l| l.iter().any(|n| n == name)),
            _ => self.resolver.profile_exists(name),
        }
    }

    fn load_imported(&self, provider: &Provider, name: &str) -> Result<Option<Credential>, Error> {
        match provider {
            Provider::Openai => self.openai_profiles().load(name),
            _ => Ok(self
                .resolver
                .load_profile(name)?
                .and_then(|found| found.credential)),
        }
    }

    /// Store `credential` as profile `name` the way a login would: the
    /// profile's (or default) storage, the visible keyring fallback.
    /// Returns where it went and the notices, as one text.
    fn store_imported(
        &mut self,
        credential: &Credential,
        name: &str,
    ) -> Result<(String, String), ProfileError> {
        let mut notices = Vec::new();
        let location = match credential.provider() {
            Provider::Openai => {
                let profiles = self.openai_profiles();
                let wanted = self.resolver.settings().storage;
                let kind = match profiles.save(name, credential, wanted) {
                    Ok(()) => wanted,
                    Err(e) if wanted == StorageKind::Keyring => {
                        notices.push(super::LoginNotice::KeyringFallback {
                            reason: e.to_string(),
                        });
                        profiles.save(name, credential, StorageKind::File)?;
                        StorageKind::File
                    }
                    Err(e) => return Err(e.into()),
                };
                if profiles.active()?.is_none() {
                    profiles.set_active(name)?;
                }
                profiles.store(kind)?.location(name)
            }
            _ => {
                let login = NewLogin {
                    profile: name.to_owned(),
                    named: false,
                    storage: None,
                    fallback: true,
                };
                let stored = self.store(&login, credential)?;
                notices = stored.notices;
                stored.location
            }
        };
        let notices: String = notices.iter().map(|n| format!(" (note: {n})")).collect();
        Ok((location, notices))
    }
}

/// A source that cannot be parsed: reported, never touched.
fn untouched(item: &mut ImportItem, error: String) {
    item.action = ImportAction::Error;
    item.detail = if error.contains("Nothing was changed") {
        error
    } else {
        format!("{error}; left untouched")
    };
}

fn describe(item: &mut ImportItem, credential: &Credential) {
    item.provider = Some(credential.provider().as_str().to_owned());
    item.masked = Some(credential.secret().masked());
}

/// The dry run's line: what a real run would do.
fn plan(item: &mut ImportItem, target: &Target, moving: bool) {
    let (name, new) = match target {
        Target::Existing(name) => (name.clone(), false),
        Target::New(name) => (name.clone(), true),
    };
    item.profile = Some(name.clone());
    item.action = match (moving, new) {
        (true, _) => ImportAction::Moved,
        (false, true) => ImportAction::Imported,
        (false, false) => ImportAction::AlreadyImported,
    };
    item.detail = match (moving, new) {
        (false, true) => format!("would import as profile {name}"),
        (false, false) => format!("already imported as {name}; nothing to do"),
        (true, true) => format!("would back it up, import it as profile {name}, then remove it"),
        (true, false) => format!("already imported as {name}; would back it up, then remove it"),
    };
}

/// Whether two credentials are the same login: the same token or key, or
/// the same refresh token.
fn same_credential(a: &Credential, b: &Credential) -> bool {
    if a.secret().expose() == b.secret().expose() {
        return true;
    }
    match (a.token_set(), b.token_set()) {
        (Some(x), Some(y)) => match (&x.refresh_token, &y.refresh_token) {
            (Some(p), Some(q)) => p.expose() == q.expose(),
            _ => false,
        },
        _ => false,
    }
}

/// Back the source's bytes up to `<own>/import-backups/<source>-<now>.bak`
/// (0600 in 0700), never over an earlier backup.
fn write_backup(own: &std::path::Path, source: ImportSource, raw: &[u8]) -> Result<PathBuf, Error> {
    let dir = own.join("import-backups");
    let now = now_unix();
    for n in 0..100u32 {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let path = dir.join(format!("{}-{now}{suffix}.bak", source.id()));
        if std::fs::symlink_metadata(&path).is_err() {
            secure_file::write_atomic_strict(&path, raw, 0o600)?;
            return Ok(path);
        }
    }
    Err(Error::Setting {
        setting: dir.display().to_string(),
        message: "holds 100 backups made this second; try again".into(),
    })
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
