//! The command line, run as the real executable.

use std::process::Command;

fn missive(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_missive"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn help_explains_every_subcommand() {
    let (ok, text) = missive(&["--help"], &[]);
    assert!(ok);
    for word in ["serve", "migrate", "check-config", "--config"] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
}

#[test]
fn check_config_names_what_is_wrong() {
    let (ok, text) = missive(
        &["check-config"],
        &[("MISSIVE_DELIVERY_TIMEOUT_MS", "soon")],
    );
    assert!(!ok);
    assert!(text.contains("MISSIVE_DELIVERY_TIMEOUT_MS"), "{text}");
    let (ok, text) = missive(
        &["check-config"],
        &[("MISSIVE_URL", "https://misskey.example")],
    );
    assert!(ok, "{text}");
    assert!(text.contains("misskey.example"), "{text}");
}

#[test]
fn migrate_creates_the_database_and_settings_come_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("missive.toml");
    let db = dir.path().join("data/missive.db");
    std::fs::write(
        &config,
        format!("database_url = \"sqlite://{}\"\n", db.display()),
    )
    .unwrap();
    let (ok, text) = missive(&["migrate", "--config", config.to_str().unwrap()], &[]);
    assert!(ok, "{text}");
    assert!(db.exists());
    let (ok, text) = missive(
        &[
            "check-config",
            "--config",
            dir.path().join("missing.toml").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok);
    assert!(text.contains("missing.toml"), "{text}");
}
