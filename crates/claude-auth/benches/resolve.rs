//! In-process cost of resolution: what `token` and `status` do once per
//! process, and what a long-running program pays per request through
//! [`CredentialCache`].
//!
//! Everything reads a temp HOME holding one valid spec profile (an OAuth
//! token in `credentials/default.json` and `configs/default.json`), through
//! an [`Env`] built from scratch: nothing of the real user's is read.
//!
//! ```sh
//! cargo bench -p claude-auth --bench resolve
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use claude_auth::credential::{now_unix, Identity};
use claude_auth::store::profile_files::ProfileFiles;
use claude_auth::store::CredentialStore;
use claude_auth::{
    Credential, CredentialCache, Env, Provider, ResolveOptions, Resolver, Secret, StatusReport,
    TokenSet,
};
use criterion::{criterion_group, criterion_main, Criterion};

/// A temp HOME with the spec profile `default` in `~/.config/anthropic`.
fn home_with_profile() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let files = ProfileFiles::new(home.path().join(".config").join("anthropic"));
    let set = TokenSet {
        access_token: Secret::new("sk-ant-oat01-BENCHbenchBENCHbenchBENCHbenchBENCHbench"),
        refresh_token: Some(Secret::new("sk-ant-ort01-BENCHbenchBENCHbenchBENCHbench")),
        expires_at: Some(now_unix() + 30 * 24 * 3600),
        scopes: vec!["user:inference".into(), "user:profile".into()],
        identity: Identity {
            email: Some("bench@example.com".into()),
            organization_uuid: Some("org-bench".into()),
            ..Identity::default()
        },
        provider: Provider::Anthropic,
        client_id: Some("bench-client".into()),
        id_token: None,
    };
    files.save("default", &Credential::OAuth(set)).unwrap();
    home
}

/// The environment `claude-auth` sees in a clean shell, with HOME moved.
fn env_for(home: &Path) -> Env {
    Env::empty()
        .with("HOME", home.display().to_string())
        .with("PATH", "/usr/bin:/bin")
        .with("LANG", "C.UTF-8")
}

fn benches(c: &mut Criterion) {
    let home = home_with_profile();
    let env = env_for(home.path());

    // Sanity: the profile wins, so every bench measures the real path.
    let resolver = Resolver::new(env.clone()).unwrap();
    let winner = resolver.resolve(&ResolveOptions::default());
    assert!(winner.credential().is_ok(), "bench profile did not resolve");

    let default_opts = ResolveOptions::default();
    c.bench_function("resolve/default", |b| {
        b.iter(|| black_box(resolver.resolve(black_box(&default_opts))));
    });

    let status_opts = ResolveOptions {
        examine_all: true,
        ..ResolveOptions::default()
    };
    c.bench_function("resolve/examine_all", |b| {
        b.iter(|| black_box(resolver.resolve(black_box(&status_opts))));
    });

    c.bench_function("resolve/examine_all+status_report", |b| {
        b.iter(|| {
            let resolution = resolver.resolve(black_box(&status_opts));
            black_box(StatusReport::from_resolution(&resolution))
        });
    });

    c.bench_function("resolver_new+resolve/default", |b| {
        b.iter(|| {
            let resolver = Resolver::new(black_box(env.clone())).unwrap();
            black_box(resolver.resolve(&default_opts).credential().is_ok())
        });
    });

    let cache = CredentialCache::new(Resolver::new(env.clone()).unwrap(), default_opts.clone());
    cache.get().unwrap();
    c.bench_function("cache/get (hit)", |b| {
        b.iter(|| black_box(cache.get().unwrap()));
    });
}

criterion_group! {
    name = resolve;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = benches
}
criterion_main!(resolve);
