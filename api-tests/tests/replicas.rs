//! Read replicas (SPEC §11) on a real primary and streaming standby:
//! private clusters (`initdb`, `pg_basebackup -R`, `pg_ctl` as the
//! `postgres` user) on loopback ports of their own, stopped at the end
//! also when a test fails (`Cluster`'s `Drop`).
//!
//! Asserted: reads go to the replica when it has replayed far enough;
//! with replay paused, a write followed by a read through the same handle
//! returns the write (from the primary), and the cache stores nothing
//! older than it; a token from another handle is honoured; reads return
//! to the replica after replay resumes; a stopped standby means reads
//! fall back to the primary with no error, and come back when it does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::{Duration, Instant};

use api_tests::cluster::Cluster;
use api_tests::high_value_ids;
use sea_orm::ConnectionTrait;
use service::prelude::*;
use service::{Config, FeedMode, NeonDb, NewLead, RoutingStats};

const WAIT: Duration = Duration::from_secs(20);

/// A primary with the schema, and a standby of it.
async fn primary_and_standby() -> (Cluster, Cluster, String) {
    let primary = Cluster::start();
    primary.psql("postgres", "CREATE DATABASE neonhub");
    let url = primary.url("neonhub");
    {
        use sea_orm_migration::MigratorTrait;
        let admin = api_tests::connect(&url).await.unwrap();
        migration::Migrator::up(&admin, None).await.unwrap();
        admin.close().await.unwrap();
    }
    let standby = primary.standby();
    (primary, standby, url)
}

async fn handle(url: &str, standby: &Cluster) -> NeonDb {
    let config = Config::new(url.to_owned())
        .with_change_feed(FeedMode::On)
        .with_connect_timeout(Duration::from_secs(1))
        .with_replica(standby.url("neonhub"))
        .with_replica_wait(Duration::from_millis(200));
    let db = NeonDb::connect(config).await.unwrap();
    until(|| db.replicas()[0].up, "the replica to come up", &db).await;
    db
}

async fn until(mut ok: impl FnMut() -> bool, what: &str, db: &NeonDb) {
    let started = Instant::now();
    while !ok() {
        assert!(
            started.elapsed() < WAIT,
            "waited {WAIT:?} for {what}: {:?}",
            db.replicas()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the replica has replayed everything committed so far.
async fn caught_up(db: &NeonDb) {
    let token = db.token().await.unwrap();
    until(
        || db.replicas()[0].position >= token,
        "the replica to replay",
        db,
    )
    .await;
}

/// `(rows, reads that went to the replica, reads that went to the primary)`
/// during `body`.
macro_rules! routed {
    ($db:expr, $body:expr) => {{
        let before: RoutingStats = $db.routing();
        let out = $body;
        let after = $db.routing();
        (
            out,
            after.replica_reads - before.replica_reads,
            after.primary_reads - before.primary_reads,
        )
    }};
}

async fn insert_lead(conn: &sea_orm::DatabaseConnection, id: &str, score: f64) {
    conn.execute_unprepared(&format!(
        "INSERT INTO leads (id, email, score, \"updatedAt\") VALUES ('{id}', '{id}@x.io', {score}, now())"
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_use_the_replica_and_never_miss_the_callers_writes() {
    let (primary, standby, url) = primary_and_standby().await;
    let db = handle(&url, &standby).await;
    let other = api_tests::connect(&url).await.unwrap();

    // Caught up: reads, cached or not, go to the replica.
    insert_lead(&other, "first", 9.0).await;
    caught_up(&db).await;
    db.wait_for(db.token().await.unwrap(), WAIT).await.unwrap();
    caught_up(&db).await;
    let (ids, replica, primary_reads) = routed!(db, high_value_ids(&db).await);
    assert_eq!(ids, vec!["first".to_owned()]);
    assert_eq!(
        (replica, primary_reads),
        (1, 0),
        "a cache miss read the replica"
    );
    let (ids, replica, _) = routed!(db, high_value_ids(&db.uncached()).await);
    assert_eq!(ids, vec!["first".to_owned()]);
    assert_eq!(replica, 1, "an uncached read read the replica");

    // Replay paused: the standby stops at what it has.
    standby.psql("neonhub", "SELECT pg_wal_replay_pause()");
    standby.wait_for(
        "neonhub",
        "SELECT pg_get_wal_replay_pause_state()",
        "paused",
        WAIT,
    );
    // Another writer's commit, with no token: an uncached read may still
    // go to the replica (it covers everything this handle wrote or was
    // told about), which really is behind.
    insert_lead(&other, "by_other", 9.5).await;
    let (ids, replica, _) = routed!(db, high_value_ids(&db.uncached()).await);
    assert_eq!(
        (ids, replica),
        (vec!["first".to_owned()], 1),
        "the paused replica served the uncached read"
    );
    // A cache miss must also cover the invalidation the feed applied for
    // that commit: the primary.
    db.wait_for(db.token().await.unwrap(), WAIT).await.unwrap();
    // (wait_for raised the handle's floor: every read now needs the
    // primary while replay is paused.)
    let (ids, replica, primary_reads) = routed!(db, high_value_ids(&db).await);
    assert_eq!(ids, vec!["by_other".to_owned(), "first".to_owned()]);
    assert_eq!((replica, primary_reads), (0, 1));

    // The handle's own write, then a read through it: the write is there,
    // from the primary, cached or not, and what the cache keeps has it.
    let own = db
        .leads()
        .create(NewLead {
            email: "own@x.io".into(),
            score: Some(8.0),
            ..NewLead::default()
        })
        .await
        .unwrap();
    let mut want = vec!["by_other".to_owned(), "first".to_owned(), own.id.clone()];
    want.sort();
    let (ids, replica, primary_reads) = routed!(db, high_value_ids(&db).await);
    assert_eq!(ids, want, "read-your-writes through the cache");
    assert_eq!((replica, primary_reads), (0, 1));
    let (ids, replica, _) = routed!(db, high_value_ids(&db.uncached()).await);
    assert_eq!(
        (ids, replica),
        (want.clone(), 0),
        "read-your-writes uncached"
    );
    // The feed echoes the write (one more invalidation); after it, the
    // result cached is at least as new as the write.
    db.wait_for(db.token().await.unwrap(), WAIT).await.unwrap();
    let (ids, replica, _) = routed!(db, high_value_ids(&db).await);
    assert_eq!((ids, replica), (want.clone(), 0));
    let (ids, replica, primary_reads) = routed!(db, high_value_ids(&db).await);
    assert_eq!(ids, want, "the cached result has the write");
    assert_eq!((replica, primary_reads), (0, 0), "a hit");
    assert!(db.routing().fallbacks_behind >= 3, "{:?}", db.routing());

    // A token from another handle (another instance) is honoured, though
    // that handle's replica is behind and it has no cached result.
    let b = handle(&url, &standby).await;
    let (ids, replica, _) = routed!(b, high_value_ids(&b.uncached()).await);
    assert_eq!(
        (ids, replica),
        (vec!["first".to_owned()], 1),
        "without the token: the paused replica: {:?} {:?}",
        b.routing(),
        b.replicas()
    );
    let token = db.token().await.unwrap();
    let (ids, replica, primary_reads) = routed!(b, high_value_ids(&b.after(token)).await);
    assert_eq!(ids, want, "with the token: the write");
    assert_eq!((replica, primary_reads), (0, 1));

    // Replay resumes: once it has caught up, reads go back to the replica.
    standby.psql("neonhub", "SELECT pg_wal_replay_resume()");
    caught_up(&db).await;
    let (ids, replica, _) = routed!(db, high_value_ids(&db.uncached()).await);
    assert_eq!((ids, replica), (want.clone(), 1));
    // (Through b's cache this may be a hit: once b's feed applied the
    // token, the read above was cached. Uncached, it must be routed.)
    assert_eq!(high_value_ids(&b.after(token)).await, want);
    let (ids, replica, _) = routed!(b, high_value_ids(&b.uncached().after(token)).await);
    assert_eq!(
        (ids, replica),
        (want.clone(), 1),
        "the token is covered now"
    );
    db.cache().clear();
    // The clear's position is read from the primary in the background.
    tokio::time::sleep(Duration::from_millis(100)).await;
    caught_up(&db).await;
    let (ids, replica, primary_reads) = routed!(db, high_value_ids(&db).await);
    assert_eq!(ids, want);
    assert_eq!(
        (replica, primary_reads),
        (1, 0),
        "a cache miss on the replica again"
    );
    drop((db, b, other, standby, primary));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_standby_means_reads_fall_back_without_errors() {
    let (primary, mut standby, url) = primary_and_standby().await;
    let db = handle(&url, &standby).await;
    let other = api_tests::connect(&url).await.unwrap();
    insert_lead(&other, "one", 9.0).await;
    caught_up(&db).await;
    let (ids, replica, _) = routed!(db, high_value_ids(&db.uncached()).await);
    assert_eq!((ids, replica), (vec!["one".to_owned()], 1));

    standby.stop();
    // Every read succeeds, from the primary, while the replica is down.
    for _ in 0..20 {
        let (ids, replica, primary_reads) = routed!(db, high_value_ids(&db.uncached()).await);
        assert_eq!(ids, vec!["one".to_owned()]);
        assert_eq!((replica, primary_reads), (0, 1));
    }
    until(|| !db.replicas()[0].up, "the replica to be taken out", &db).await;
    let stats = db.routing();
    assert!(
        stats.fallbacks_down + stats.fallbacks_error >= 20,
        "{stats:?}"
    );

    // Back: probed in, and read from again.
    standby.start_again();
    until(
        || db.replicas()[0].up,
        "the replica to be probed back in",
        &db,
    )
    .await;
    caught_up(&db).await;
    let (ids, replica, _) = routed!(db, high_value_ids(&db.uncached()).await);
    assert_eq!((ids, replica), (vec!["one".to_owned()], 1));
    let metrics = db.render_metrics().unwrap_or_default();
    assert!(
        metrics.contains("neonhub_replica_up{replica=\"0\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("neonhub_replica_lag_bytes{replica=\"0\"}"));
    drop((db, other, standby, primary));
}
