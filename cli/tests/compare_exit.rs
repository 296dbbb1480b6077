//! `neonhub-db compare` and `bench --compare` through the binary: a run
//! compared with itself is "same" everywhere (exit 0); a run with an index
//! dropped by hand is a regression of that query (exit 3); `--history`
//! keeps the runs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::path::Path;

use sea_orm::{ConnectionTrait, Database};
use support::{Dir, neonhub_db, text};

fn quick_bench<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--database-url",
        url,
        "bench",
        "--calls",
        "150",
        "--workload-calls",
        "200",
        "--concurrency-seconds",
        "0.05",
        "--skip-no-index",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn same_against_itself_and_a_dropped_index_is_a_regression() {
    let dir = Dir::new("neonhub_compare");
    let db = dir.0.join("bench.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let (a, history) = (dir.0.join("a.json"), dir.0.join("history"));

    let first = neonhub_db(&quick_bench(
        &url,
        &["--json", path(&a), "--history", path(&history)],
    ));
    assert!(first.status.success(), "{}", text(&first));
    let saved: Vec<_> = std::fs::read_dir(&history).unwrap().collect();
    assert_eq!(saved.len(), 1, "one run in the history");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&a).unwrap()).unwrap();
    assert!(report["machine"]["cpus"].as_u64().unwrap() >= 1);
    assert_eq!(
        report["queries"][0]["indexed"]["samples_ms"]
            .as_array()
            .unwrap()
            .len(),
        150
    );

    let itself = neonhub_db(&["compare", path(&a), path(&a)]);
    let out = text(&itself);
    assert_eq!(itself.status.code(), Some(0), "{out}");
    let stdout = String::from_utf8_lossy(&itself.stdout);
    // Rows carry their interval in brackets; the summary line does not.
    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains(" [")).collect();
    assert!(rows.len() >= 8 * 4, "every query in four modes: {out}");
    assert!(rows.iter().all(|l| l.ends_with("same")), "{out}");
    assert!(
        stdout.contains("0 faster") && stdout.contains("0 slower"),
        "{out}"
    );

    // campaigns_by_user_and_status has no other index on userId.
    let conn = Database::connect(url.as_str()).await.unwrap();
    conn.execute_unprepared(r#"DROP INDEX "campaigns_userId_status_createdAt_idx""#)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let second = neonhub_db(&quick_bench(
        &url,
        &[
            "--as-is",
            "--compare",
            path(&a),
            "--history",
            path(&history),
        ],
    ));
    let out = text(&second);
    assert_eq!(second.status.code(), Some(3), "{out}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    // Its calls through the service, direct or as misses: whichever modes
    // the interval convicts.
    assert!(
        stderr.contains("regression: campaigns_by_user_and_status "),
        "{out}"
    );
    assert_eq!(std::fs::read_dir(&history).unwrap().count(), 2);

    // A file that is not a report is refused with exit 2.
    std::fs::write(dir.0.join("junk.json"), "{}").unwrap();
    let junk = neonhub_db(&["compare", path(&a), path(&dir.0.join("junk.json"))]);
    assert_eq!(junk.status.code(), Some(2), "{}", text(&junk));
}
