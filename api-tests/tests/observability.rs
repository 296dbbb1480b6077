//! Monitoring on both backends: the slow-statement log shows SQL but never
//! bound values, no password reaches Debug output, errors or logs, and the
//! Prometheus exposition carries every metric (written to
//! `target/tmp/neonhub-metrics.prom` for `promtool check metrics` in CI).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use api_tests::{TestDb, both_backends};
use entity::enums::UserRole;
use service::prelude::*;
use service::{Config, NeonDb, NewUser};

/// Everything any test in this binary logged.
fn log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || Writer(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        buffer
    })
    .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&log().lock().unwrap()).into_owned()
}

async fn slow_handle(db: &TestDb) -> NeonDb {
    log();
    db.migrate().await;
    db.service_with(Config::new("").with_slow_query_threshold(Duration::ZERO))
        .await
}

both_backends! {
    async fn slow_log_has_sql_but_no_bound_values(db) {
        let neon = slow_handle(&db).await;
        let marker = format!("private.person+{}@example.com", std::process::id() ^ 0x5eed);
        let mut input = NewUser::new(&marker);
        input.role = UserRole::Viewer;
        input.name = Some("Secret Name 7f3a".to_owned());
        neon.users().create(input).await.unwrap();
        neon.users().by_role(UserRole::Viewer, Some(7)).await.unwrap();
        let text = logged();
        assert!(text.contains("slow statement"), "threshold 0 logs every statement");
        assert!(text.contains(r#"INSERT INTO "users""#), "the SQL text is logged");
        assert!(text.contains(r#"FROM "users""#));
        assert!(!text.contains(&marker), "a bound e-mail leaked into the log");
        assert!(!text.contains("Secret Name 7f3a"), "a bound name leaked into the log");
        let snap = neon.metrics_snapshot();
        assert!(snap.slow_statements >= 2);
        assert!(snap.slowest.iter().any(|s| s.sql.contains(r#"INSERT INTO "users""#)));
        assert!(snap.slowest.iter().all(|s| !s.sql.contains(&marker)));
    }

    async fn exposition_carries_every_metric(db) {
        let neon = slow_handle(&db).await;
        neon.users().create(NewUser::new("m@example.com")).await.unwrap();
        neon.users().by_role(UserRole::User, None).await.unwrap();
        neon.users().by_role(UserRole::User, None).await.unwrap();
        neon.uncached().users().by_role(UserRole::User, None).await.unwrap();
        let text = neon.render_metrics().expect("the crate's recorder is installed");
        for name in [
            "neonhub_db_statements_total",
            "neonhub_db_statement_duration_seconds_bucket",
            "neonhub_db_slow_statements_total",
            "neonhub_repository_calls_total",
            "neonhub_repository_call_duration_seconds_bucket",
            "neonhub_cache_hits_total",
            "neonhub_cache_misses_total",
            "neonhub_cache_entries",
            "neonhub_cache_weight_bytes",
            "neonhub_db_pool_connections",
            "neonhub_db_circuit_open",
        ] {
            assert!(text.contains(name), "{name} missing from the exposition");
        }
        assert!(text.contains(r#"outcome="hit""#) && text.contains(r#"outcome="bypass""#));
        assert!(text.contains(r#"operation="INSERT",table="users""#));
        assert!(text.contains("# HELP neonhub_db_statements_total"));
        assert!(text.contains("# TYPE neonhub_repository_call_duration_seconds histogram"));
        assert!(!text.lines().any(|l| l.starts_with("neonhub") && !l.contains("neonhub_")), "prefix");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("neonhub-metrics.prom");
        std::fs::write(&path, &text).unwrap();
    }
}

#[tokio::test]
async fn passwords_appear_in_no_debug_output_error_or_log() {
    log();
    let secret = "hunter2-Zq9";
    let config = Config::new(format!("postgres://neonhub:{secret}@127.0.0.1:1/neonhub"))
        .with_connect_timeout(Duration::from_millis(300))
        .with_acquire_timeout(Duration::from_millis(300));
    assert!(!format!("{config:?}").contains(secret));
    let err = NeonDb::connect(config)
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, service::Error::Unavailable(_)), "{err:?}");
    assert!(!format!("{err}").contains(secret));
    assert!(!format!("{err:?}").contains(secret));
    let with_env = Config::from_lookup(|k| {
        (k == "DATABASE_URL").then(|| format!("postgres://u:{secret}@db:5432/x"))
    })
    .unwrap();
    assert!(!format!("{with_env:?}").contains(secret));
    assert!(!logged().contains(secret), "the password reached the log");
}
