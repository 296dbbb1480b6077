//! The change feed (SPEC §10) on real databases: a second handle's
//! writes and plain SQL from another connection (as Prisma or psql would
//! write) reach a handle's cache; rolled-back transactions do not; a
//! batch of 10,000 rows; the feed's connection terminated (a gap: the
//! cache is cleared, the feed comes back, no stale hit); the modes.
//!
//! PostgreSQL needs `wal_level = logical` (`.ci/run` sets it): these tests
//! fail, never skip, without it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Duration;

use api_tests::{TestDb, both_backends, high_value_ids, postgres_only};
use sea_orm::ConnectionTrait;
use service::prelude::*;
use service::{Config, Error, FeedMode, LeadUpdate, NeonDb, NewLead};

const WAIT: Duration = Duration::from_secs(10);

/// A handle on `db` whose feed must run (mode `on`: connect fails if not).
async fn handle(db: &TestDb) -> NeonDb {
    db.service_with(Config::new("").with_change_feed(FeedMode::On))
        .await
}

async fn lead(neon: &NeonDb, email: &str, score: f64) -> entity::lead::Model {
    let input = NewLead {
        email: email.to_owned(),
        score: Some(score),
        ..NewLead::default()
    };
    neon.leads().create(input).await.unwrap()
}

/// Statements `neon` ran during `body`.
macro_rules! statements {
    ($neon:expr, $body:expr) => {{
        let before = $neon.metrics().statements_total();
        let out = $body;
        (out, $neon.metrics().statements_total() - before)
    }};
}

/// Waits until `neon`'s cache reflects everything committed so far.
async fn settle(neon: &NeonDb, writer: &NeonDb) {
    let token = writer.token().await.unwrap();
    neon.wait_for(token, WAIT)
        .await
        .expect("the feed applies the token");
}

both_backends! {
    async fn another_handles_writes_and_plain_sql_reach_the_cache(db) {
        db.migrate().await;
        let a = handle(&db).await;
        let b = handle(&db).await;
        assert!(b.feed_status().up, "{:?}", b.feed_status());
        let low = lead(&a, "low@x.io", 5.0).await;
        settle(&b, &a).await;
        assert_eq!(high_value_ids(&b).await, Vec::<String>::new());
        let (_, n) = statements!(b, high_value_ids(&b).await);
        assert_eq!(n, 0, "cached on b");

        // A write through another handle: b's entry goes within the lag,
        // without b being told.
        a.leads().update(&low.id, LeadUpdate { score: Some(Some(9.0)), ..Default::default() }).await.unwrap();
        let started = std::time::Instant::now();
        loop {
            if high_value_ids(&b).await == [low.id.clone()] {
                break;
            }
            assert!(started.elapsed() < WAIT, "b still serves the old result");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // b caches the new result again.
        let (_, n) = statements!(b, high_value_ids(&b).await);
        assert_eq!(n, 0);

        // Plain SQL on another connection (Prisma, psql): both handles.
        assert_eq!(high_value_ids(&a).await, vec![low.id.clone()]);
        db.conn.execute_unprepared(&format!("UPDATE leads SET score = 1.0 WHERE id = '{}'", low.id)).await.unwrap();
        settle(&a, &a).await;
        settle(&b, &a).await;
        assert_eq!(high_value_ids(&a).await, Vec::<String>::new());
        assert_eq!(high_value_ids(&b).await, Vec::<String>::new());

        // Insert and delete from outside.
        db.conn.execute_unprepared(
            "INSERT INTO leads (id, email, score, \"createdAt\", \"updatedAt\") \
             VALUES ('sql-lead', 'sql@x.io', 99.0, '2026-11-30 10:00:00.000', '2026-11-30 10:00:00.000')",
        ).await.unwrap();
        settle(&b, &a).await;
        assert_eq!(high_value_ids(&b).await, ["sql-lead".to_owned()]);
        db.conn.execute_unprepared("DELETE FROM leads WHERE id = 'sql-lead'").await.unwrap();
        settle(&b, &a).await;
        assert_eq!(high_value_ids(&b).await, Vec::<String>::new());
    }

    async fn modes_off_and_auto_and_their_status(db) {
        db.migrate().await;
        let off = db.service_with(Config::new("").with_change_feed(FeedMode::Off)).await;
        let status = off.feed_status();
        assert!(status.ttl_only && !status.up, "{status:?}");
        let token = off.token().await.unwrap();
        let err = off.wait_for(token, Duration::from_millis(100)).await.expect_err("TTL-only");
        assert!(matches!(err, Error::Invalid { field: "NEONHUB_CHANGE_FEED", .. }), "{err:?}");
        // The handle's own writes still invalidate its cache at once.
        let l = lead(&off, "own@x.io", 1.0).await;
        assert!(high_value_ids(&off).await.is_empty());
        off.leads().update(&l.id, LeadUpdate { score: Some(Some(8.0)), ..Default::default() }).await.unwrap();
        assert_eq!(high_value_ids(&off).await, vec![l.id.clone()]);
        let auto = db.service().await;
        assert!(auto.feed_status().up, "auto uses the feed where the server allows it");
        assert!(!auto.feed_status().ttl_only);
    }

    async fn another_process_s_writes_reach_the_cache(db) {
        db.migrate().await;
        let b = handle(&db).await;
        let l = lead(&b, "process@x.io", 1.0).await;
        assert!(high_value_ids(&b).await.is_empty());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_feed_writer"))
            .args([db.url.as_str(), l.id.as_str(), "9.5"])
            .output()
            .expect("run feed_writer");
        assert!(out.status.success(), "feed_writer: {}", String::from_utf8_lossy(&out.stderr));
        let token: service::Token = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        b.wait_for(token, WAIT).await.expect("the other process's write is applied");
        assert_eq!(high_value_ids(&b).await, vec![l.id.clone()], "no stale hit after another process wrote");
    }
}

/// A server restart under two handles: both feeds break (a gap each,
/// the cache cleared), a write lands before they are back, nothing stale
/// is served, and the feeds stream again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_is_a_gap_and_the_feed_comes_back() {
    let mut cluster = api_tests::cluster::Cluster::start();
    cluster.psql("postgres", "CREATE DATABASE neonhub");
    let url = cluster.url("neonhub");
    {
        use sea_orm_migration::MigratorTrait;
        let admin = api_tests::connect(&url).await.unwrap();
        migration::Migrator::up(&admin, None).await.unwrap();
        admin.close().await.unwrap();
    }
    let config = Config::new(url.clone())
        .with_change_feed(FeedMode::On)
        .with_connect_timeout(Duration::from_secs(1));
    let a = NeonDb::connect(config.clone()).await.unwrap();
    let b = NeonDb::connect(config).await.unwrap();
    let l = lead(&a, "restart@x.io", 1.0).await;
    settle(&b, &a).await;
    assert!(high_value_ids(&b).await.is_empty());
    assert!(b.cache().stats().entries > 0);
    let gaps = b.feed_status().gaps;

    cluster.stop();
    let started = std::time::Instant::now();
    while b.feed_status().gaps == gaps || b.feed_status().up {
        assert!(
            started.elapsed() < WAIT,
            "no gap after the server stopped: {:?}",
            b.feed_status()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(b.cache().stats().entries, 0, "the gap cleared the cache");
    cluster.start_again();
    // Another writer commits before the feeds are back.
    let other = api_tests::connect(&url).await.unwrap();
    other
        .execute_unprepared(&format!(
            "UPDATE leads SET score = 50 WHERE id = '{}'",
            l.id
        ))
        .await
        .unwrap();
    // Every read from here on sees it: never the result cached before.
    let started = std::time::Instant::now();
    loop {
        match b.leads().high_value(Some(7.0), None).await {
            Ok(rows) => {
                assert_eq!(
                    rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                    vec![l.id.clone()],
                    "stale after restart"
                );
                if b.feed_status().up {
                    break;
                }
            }
            Err(e) => assert!(e.is_transient(), "{e:?}"),
        }
        assert!(
            started.elapsed() < WAIT,
            "the feed did not come back: {:?}",
            b.feed_status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And it follows changes again.
    a.leads()
        .update(
            &l.id,
            LeadUpdate {
                score: Some(Some(2.0)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    settle(&b, &a).await;
    assert!(high_value_ids(&b).await.is_empty());
    drop((a, b));
}

postgres_only! {
    async fn transactions_batches_and_rollbacks(db) {
        db.migrate().await;
        let a = handle(&db).await;
        let b = handle(&db).await;
        assert!(high_value_ids(&b).await.is_empty());

        // A rolled-back transaction changes nothing and invalidates nothing.
        let before = b.feed_status().events;
        db.conn.execute_unprepared(
            "BEGIN; INSERT INTO leads (id, email, score, \"updatedAt\") VALUES ('rb', 'rb@x.io', 99, now()); ROLLBACK;",
        ).await.unwrap();
        settle(&b, &a).await;
        let (ids, n) = statements!(b, high_value_ids(&b).await);
        assert!(ids.is_empty());
        assert_eq!(n, 0, "still a hit after a rollback");
        assert_eq!(b.feed_status().events, before, "a rollback sends no rows");

        // A multi-row transaction through a's repositories.
        let tx = a.begin().await.unwrap();
        let one = NewLead { email: "t1@x.io".into(), score: Some(8.0), ..NewLead::default() };
        let two = NewLead { email: "t2@x.io".into(), score: Some(9.0), ..NewLead::default() };
        let one = tx.leads().create(one).await.unwrap();
        let two = tx.leads().create(two).await.unwrap();
        tx.commit().await.unwrap();
        settle(&b, &a).await;
        let mut both = vec![one.id.clone(), two.id.clone()];
        both.sort();
        assert_eq!(high_value_ids(&b).await, both);

        // 10,000 rows in one statement.
        db.conn.execute_unprepared(
            "INSERT INTO leads (id, email, score, \"updatedAt\") \
             SELECT 'batch-' || g, 'b' || g || '@x.io', 10 + g % 50, now() FROM generate_series(1, 10000) g",
        ).await.unwrap();
        settle(&b, &a).await;
        let top = b.leads().high_value(Some(7.0), Some(100)).await.unwrap();
        assert!(top.iter().all(|l| l.id.starts_with("batch-")), "the batch's scores (up to 59) lead");
        assert!(b.feed_status().events >= before + 10_002);
    }

    async fn a_terminated_feed_is_a_gap_that_clears_the_cache(db) {
        db.migrate().await;
        let a = handle(&db).await;
        let b = handle(&db).await;
        let l = lead(&a, "gap@x.io", 1.0).await;
        settle(&b, &a).await;
        assert!(high_value_ids(&b).await.is_empty());
        assert!(b.cache().stats().entries > 0);
        let gaps = b.feed_status().gaps;

        let killed = db.conn.execute_unprepared(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
             WHERE database = current_database() AND active_pid IS NOT NULL",
        ).await.unwrap();
        let _ = killed;
        // Written while the feeds are down: must not be missed.
        db.conn.execute_unprepared(&format!("UPDATE leads SET score = 50 WHERE id = '{}'", l.id)).await.unwrap();

        let started = std::time::Instant::now();
        while b.feed_status().gaps == gaps {
            assert!(started.elapsed() < WAIT, "no gap counted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The gap cleared the cache before any further hit.
        assert_eq!(high_value_ids(&b).await, vec![l.id.clone()], "no stale hit after the gap");
        // The feed comes back, and follows changes again.
        while !b.feed_status().up {
            assert!(started.elapsed() < WAIT, "the feed did not come back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(high_value_ids(&b).await, vec![l.id.clone()]);
        a.leads().update(&l.id, LeadUpdate { score: Some(Some(2.0)), ..Default::default() }).await.unwrap();
        settle(&b, &a).await;
        assert!(high_value_ids(&b).await.is_empty());
    }

    async fn mode_on_without_the_publication_fails_connect(db) {
        // No migrations: no publication.
        let err = NeonDb::connect(
            Config::new(db.url.clone()).with_change_feed(FeedMode::On),
        )
        .await
        .expect_err("on requires the feed");
        let msg = err.to_string();
        assert!(matches!(err, Error::Invalid { field: "NEONHUB_CHANGE_FEED", .. }), "{err:?}");
        assert!(msg.contains("neonhub_changes") && msg.contains("migrate"), "{msg}");
        // auto falls back to TTL-only and says so.
        let auto = NeonDb::connect(Config::new(db.url.clone())).await.unwrap();
        assert!(auto.feed_status().ttl_only);
    }

    async fn wait_for_times_out_typed_for_a_position_never_reached(db) {
        db.migrate().await;
        let a = handle(&db).await;
        let far = service::Token(a.token().await.unwrap().0 + (1 << 40));
        let started = std::time::Instant::now();
        let err = a.wait_for(far, Duration::from_millis(300)).await.expect_err("never reached");
        assert!(started.elapsed() < Duration::from_secs(3), "bounded by the timeout");
        assert!(matches!(err, Error::Timeout { kind: service::error::TimeoutKind::ChangeFeed, .. }), "{err:?}");
        assert!(err.is_transient());
        // The token prints and parses as an LSN, for handing across instances.
        let t = a.token().await.unwrap();
        assert_eq!(t.to_string().parse::<service::Token>().unwrap(), t);
    }
}
