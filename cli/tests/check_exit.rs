//! `neonhub-db check`'s exit codes, through the binary: 0 clean, 1 drift,
//! 2 when it cannot connect.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::PathBuf;
use std::process::{Command, Output};

use sea_orm::{ConnectionTrait, Database};

fn neonhub_db(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neonhub-db"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run neonhub-db")
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("neonhub_check_{}_{name}", std::process::id()))
}

#[tokio::test]
async fn exit_codes_say_clean_drift_or_cannot_connect() {
    let file = temp_path("exit.db");
    let json = temp_path("drift.json");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let up = neonhub_db(&url, &["migrate", "up"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );

    let clean = neonhub_db(&url, &["check"]);
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert_eq!(clean.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("the schema matches the migrations"),
        "{stdout}"
    );

    let conn = Database::connect(url.as_str()).await.unwrap();
    conn.execute_unprepared(r#"DROP INDEX "leads_score_idx""#)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let drift = neonhub_db(&url, &["check", "--json", json.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(drift.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("missing   index leads_score_idx"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["backend"], "sqlite");
    assert_eq!(report["drift"][0]["kind"], "missing");
    assert_eq!(report["drift"][0]["name"], "leads_score_idx");
    assert_eq!(report["drift"][0]["actual"], serde_json::Value::Null);

    // Nothing listens on port 1.
    let refused = neonhub_db("postgres://postgres@127.0.0.1:1/neonhub", &["check"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    for path in [&file, &json] {
        let _ = std::fs::remove_file(path);
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}
