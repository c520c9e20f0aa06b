use super::*;

#[test]
fn codex_home_from_the_variable_else_dot_codex_in_home() {
    let env = Env::empty().with("HOME", "/home/me");
    let located = codex_home_located(&env);
    assert_eq!(located.path, PathBuf::from("/home/me/.codex"));
    assert_eq!(located.origin, "default");

    let env = env.with("CODEX_HOME", "/srv/codex");
    let located = codex_home_located(&env);
    assert_eq!(located.path, PathBuf::from("/srv/codex"));
    assert_eq!(located.origin, "CODEX_HOME");
    assert_eq!(codex_home(&env), PathBuf::from("/srv/codex"));
}

#[test]
fn an_empty_codex_home_counts_as_unset() {
    let env = Env::empty().with("HOME", "/home/me").with("CODEX_HOME", "");
    assert_eq!(codex_home(&env), PathBuf::from("/home/me/.codex"));
}

#[test]
fn files_in_codex_home() {
    let home = Path::new("/srv/codex");
    assert_eq!(auth_json_path(home), PathBuf::from("/srv/codex/auth.json"));
    assert_eq!(
        config_toml_path(home),
        PathBuf::from("/srv/codex/config.toml")
    );
    assert_eq!(auth_lock_path(home), PathBuf::from("/srv/codex/auth.lock"));
    assert_eq!(
        auth_json_lock_path(home),
        PathBuf::from("/srv/codex/auth.json.lock")
    );
}

// Digests computed independently: `printf %s PATH | sha256sum`.
#[test]
fn keyring_account_is_cli_and_16_hex_digits_of_sha256() {
    // 8a5edab282632443219e051e4ade2d1d5bbc671c781051bf1437897cbdfea0f1
    assert_eq!(keyring_account(Path::new("/")), "cli|8a5edab282632443");
    // 7616cc814b62d7d6f437afe9920b6a66f25ffce8371ebc0dd070d5c997d024fd
    assert_eq!(
        keyring_account_for_canonical("/home/me/.codex"),
        "cli|7616cc814b62d7d6"
    );
}

#[test]
fn keyring_account_hashes_a_missing_home_as_given() {
    // 238e89a1ce9c50eab4eadec3538a684e50a61115461d1340dd3b86730ec3a4f5
    assert_eq!(
        keyring_account(Path::new("/nonexistent/claude-auth-codex-home")),
        "cli|238e89a1ce9c50ea"
    );
}

#[cfg(unix)]
#[test]
fn keyring_account_canonicalises_a_symlinked_home() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let canonical = real.canonicalize().unwrap();
    let expected = keyring_account_for_canonical(&canonical.to_string_lossy());
    assert_eq!(keyring_account(&link), expected);
    assert_eq!(keyring_account(&real.join("..").join("real")), expected);
}

#[cfg(unix)]
#[test]
fn credentials_store_from_config_toml() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assert_eq!(credentials_store(home).unwrap(), CredentialsStore::File);
    let config = config_toml_path(home);
    let cases = [
        ("model = \"o3\"\n", CredentialsStore::File),
        (
            "cli_auth_credentials_store = \"file\"\n",
            CredentialsStore::File,
        ),
        (
            "cli_auth_credentials_store = \"keyring\"\n",
            CredentialsStore::Keyring,
        ),
        (
            "cli_auth_credentials_store = \"auto\"\n[profiles.x]\nmodel = \"y\"\n",
            CredentialsStore::Auto,
        ),
        (
            "cli_auth_credentials_store = \"vault\"\n",
            CredentialsStore::Other("vault".into()),
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&config, text).unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(credentials_store(home).unwrap(), expected, "{text}");
    }
    std::fs::write(&config, "cli_auth_credentials_store = 1\n").unwrap();
    let err = credentials_store(home).unwrap_err().to_string();
    assert!(
        err.contains("config.toml (cli_auth_credentials_store): must be a string"),
        "{err}"
    );
    std::fs::write(&config, "cli_auth_credentials_store = \n").unwrap();
    let err = credentials_store(home).unwrap_err().to_string();
    assert!(err.contains("config.toml is not valid: not TOML"), "{err}");
    // Others may not write a file that decides where the login is.
    std::fs::write(&config, "cli_auth_credentials_store = \"file\"\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert!(matches!(
        credentials_store(home).unwrap_err(),
        Error::WritableConfig { .. }
    ));
}
