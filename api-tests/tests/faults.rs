//! Faults (SPEC §13): a server stopped under load and started again on a
//! private cluster, a backend terminated inside a transaction or during a
//! call, pool exhaustion, a server that accepts TCP and never answers,
//! statement timeouts, serialization failures and deadlocks, and SQLite
//! read-modify-write transactions from many tasks. Every fault must come
//! back as its typed error, fast where SPEC says so, and leave no cached
//! result older than an acknowledged write.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use api_tests::cluster::Cluster;
use api_tests::{TestDb, both_backends, postgres_only};
use entity::enums::UserRole;
use sea_orm::{ConnectionTrait, IsolationLevel, TransactionSession, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use service::prelude::*;
use service::{Config, Error, LeadUpdate, NeonDb, NewLead, NewUser};

/// Calls that start while the server is down must fail at least this fast
/// (the pool's acquire timeout, which they used to wait, is 5 s).
const FAIL_FAST_BOUND: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Ok,
    Unavailable,
    Other,
}

#[derive(Debug, Clone)]
struct Sample {
    task: usize,
    started: Instant,
    elapsed: Duration,
    kind: Kind,
    error: Option<String>,
}

fn kind_of<T>(r: &Result<T, Error>) -> (Kind, Option<String>) {
    match r {
        Ok(_) => (Kind::Ok, None),
        Err(Error::Unavailable(e)) => (Kind::Unavailable, Some(e.to_string())),
        Err(e) => (Kind::Other, Some(format!("{e:?}"))),
    }
}

fn percentile(mut v: Vec<Duration>, q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// Stops the server under 16 tasks of mixed reads and writes, keeps them
/// calling through the outage, starts it again: every error is
/// `Unavailable` and fast, every acknowledged write survives, every task
/// recovers within 2 s of the server being ready, and the cache agrees
/// with the database afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_stopped_under_load_fails_fast_and_recovers() {
    let mut cluster = Cluster::start();
    cluster.psql("postgres", "CREATE DATABASE neonhub");
    let url = cluster.url("neonhub");
    let admin = api_tests::connect(&url).await.unwrap();
    migration::Migrator::up(&admin, None).await.unwrap();
    let db = NeonDb::connect(
        Config::new(url.clone())
            .with_max_connections(8)
            .with_connect_timeout(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    let mut owner = NewUser::new("owner@x.io");
    owner.role = UserRole::Admin;
    db.users().create(owner).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(std::sync::Mutex::new(Vec::<(String, f64)>::new()));
    let mut tasks = Vec::new();
    for task in 0..16usize {
        let (db, stop, acked) = (db.clone(), stop.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let started = Instant::now();
                let (kind, error) = match (task as u64 + n) % 4 {
                    0 => kind_of(&db.leads().high_value(None, None).await),
                    1 => kind_of(&db.uncached().users().by_role(UserRole::Admin, None).await),
                    _ => {
                        let score = ((task as u64 * 1000 + n) % 100) as f64 / 10.0;
                        let r = db
                            .leads()
                            .create(NewLead {
                                email: format!("t{task}n{n}@x.io"),
                                score: Some(score),
                                ..NewLead::default()
                            })
                            .await;
                        if let Ok(lead) = &r {
                            acked.lock().unwrap().push((lead.id.clone(), score));
                        }
                        kind_of(&r)
                    }
                };
                samples.push(Sample {
                    task,
                    started,
                    elapsed: started.elapsed(),
                    kind,
                    error,
                });
                if kind != Kind::Ok {
                    // A real caller backs off a little before retrying.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            samples
        }));
    }

    tokio::time::sleep(Duration::from_millis(800)).await;
    let stop_began = Instant::now();
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();
    let server_down = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut cluster = tokio::task::spawn_blocking(move || {
        let mut c = cluster;
        c.start_again();
        c
    })
    .await
    .unwrap();
    let ready = Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::Relaxed);

    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.expect("no task panicked"));
    }

    // Every error is Unavailable.
    let others: Vec<&str> = samples
        .iter()
        .filter(|s| s.kind == Kind::Other)
        .filter_map(|s| s.error.as_deref())
        .collect();
    assert!(
        others.is_empty(),
        "{} errors other than Unavailable: {:?}",
        others.len(),
        &others[..others.len().min(5)]
    );
    // The outage was seen, and calls started while the server was down
    // failed fast.
    let down: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.started >= server_down && s.started < ready)
        .collect();
    let down_errors: Vec<Duration> = down
        .iter()
        .filter(|s| s.kind == Kind::Unavailable)
        .map(|s| s.elapsed)
        .collect();
    assert!(
        down_errors.len() > 16,
        "the outage produced {} errors",
        down_errors.len()
    );
    let slow: Vec<&&Sample> = down
        .iter()
        .filter(|s| s.kind == Kind::Unavailable && s.elapsed > FAIL_FAST_BOUND)
        .collect();
    assert!(
        slow.is_empty(),
        "calls during the outage waited over {FAIL_FAST_BOUND:?}: {:?}",
        &slow[..slow.len().min(5)]
    );
    // Errors of calls in flight when the stop began.
    let at_stop: Vec<Duration> = samples
        .iter()
        .filter(|s| s.kind == Kind::Unavailable && s.started < server_down)
        .map(|s| (s.started + s.elapsed).saturating_duration_since(stop_began))
        .collect();
    // Every task recovers within 2 s of the server being ready.
    let mut worst_recovery = Duration::ZERO;
    for task in 0..16 {
        let first_ok = samples
            .iter()
            .filter(|s| s.task == task && s.kind == Kind::Ok && s.started >= ready)
            .map(|s| (s.started + s.elapsed).duration_since(ready))
            .min()
            .unwrap_or_else(|| panic!("task {task} never succeeded after the restart"));
        worst_recovery = worst_recovery.max(first_ok);
    }
    assert!(
        worst_recovery <= Duration::from_secs(2),
        "slowest task recovered {worst_recovery:?} after the server was ready"
    );
    // No acknowledged write was lost.
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    for (id, score) in &acked {
        let lead = db
            .leads()
            .get(id)
            .await
            .unwrap_or_else(|e| panic!("acknowledged lead {id} lost: {e}"));
        assert_eq!(lead.score, Some(*score));
    }
    // No cached result older than an acknowledged write.
    let cached = db.leads().high_value(None, Some(1000)).await.unwrap();
    let fresh = db
        .uncached()
        .leads()
        .high_value(None, Some(1000))
        .await
        .unwrap();
    assert_eq!(cached, fresh, "the cache serves what the database holds");
    eprintln!(
        "outage: {} calls while down, errors p50 {:?} max {:?}; calls in flight at the stop failed within {:?} of it; slowest recovery {:?} after ready; {} writes acknowledged, 0 lost",
        down.len(),
        percentile(down_errors.clone(), 0.5),
        percentile(down_errors, 1.0),
        percentile(at_stop, 1.0),
        worst_recovery,
        acked.len()
    );
    cluster.stop();
}

postgres_only! {
    /// A backend terminated inside a transaction: commit fails as
    /// Unavailable, nothing is visible, and the cache does not serve the
    /// row as it was (the outcome of a commit on a lost connection is
    /// unknown, so the transaction's changes are invalidated anyway).
    async fn backend_terminated_inside_a_transaction(db) {
        db.migrate().await;
        let neon = db.service().await;
        let lead = neon.leads().create(NewLead { email: "a@x.io".into(), score: Some(9.0), ..NewLead::default() }).await.unwrap();
        let before = neon.leads().high_value(None, None).await.unwrap();
        let tx = neon.begin().await.unwrap();
        tx.leads().update(&lead.id, LeadUpdate { score: Some(Some(1.0)), ..LeadUpdate::default() }).await.unwrap();
        let pid: i32 = tx.connection().query_one_raw(sea_orm::Statement::from_string(db.db_backend(), "SELECT pg_backend_pid() AS pid")).await.unwrap().unwrap().try_get("", "pid").unwrap();
        db.conn.execute_unprepared(&format!("SELECT pg_terminate_backend({pid})")).await.unwrap();
        let err = tx.commit().await.expect_err("the transaction's backend is gone");
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        let stored = neon.uncached().leads().get(&lead.id).await.unwrap();
        assert_eq!(stored.score, Some(9.0), "nothing was committed");
        assert_eq!(neon.leads().high_value(None, None).await.unwrap(), before);
        assert_eq!(*neon.leads().high_value(None, None).await.unwrap(), *neon.uncached().leads().high_value(None, None).await.unwrap());
    }

    /// A statement whose backend is terminated while it runs is
    /// Unavailable, not a generic database error, and the pool recovers.
    async fn backend_terminated_during_a_call(db) {
        db.migrate().await;
        let neon = db.service().await;
        let conn = neon.conn().clone();
        let call = tokio::spawn(async move {
            conn.execute_unprepared("SELECT pg_sleep(5)").await
        });
        let admin = db.conn.clone();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let n = admin.query_one_raw(sea_orm::Statement::from_string(db.db_backend(),
                "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'"))
                .await.unwrap().unwrap().try_get::<i64>("", "n").unwrap();
            if n > 0 { break; }
            assert!(Instant::now() < deadline, "the call never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        admin.execute_unprepared("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(5)'").await.unwrap();
        let err = Error::from(call.await.unwrap().expect_err("terminated"));
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        assert!(err.is_transient());
        neon.uncached().users().by_role(UserRole::Admin, None).await.expect("the pool replaced the connection");
        assert!(!neon.is_unavailable(), "one terminated backend does not open the circuit");
    }

    /// `statement_timeout` cancels a statement: a Timeout, and the pool is
    /// usable afterwards.
    async fn statement_timeout_is_its_own_kind(db) {
        db.migrate().await;
        let neon = db.service_with(Config::new(db.url.clone()).with_statement_timeout(Some(Duration::from_millis(50)))).await;
        let err = Error::from(neon.conn().execute_unprepared("SELECT pg_sleep(2)").await.expect_err("cancelled"));
        assert!(matches!(err, Error::Timeout { kind: service::error::TimeoutKind::Statement, .. }), "{err:?}");
        neon.uncached().users().by_role(UserRole::Admin, None).await.expect("pool usable after a timeout");
    }

    /// Serialization failures and deadlocks are a retryable kind.
    async fn serialization_failures_and_deadlocks_are_retryable(db) {
        db.migrate().await;
        let neon = db.service().await;
        let a = neon.leads().create(NewLead { email: "a@x.io".into(), score: Some(1.0), ..NewLead::default() }).await.unwrap();
        let b = neon.leads().create(NewLead { email: "b@x.io".into(), score: Some(1.0), ..NewLead::default() }).await.unwrap();
        // Serialization: both read, both write, the second commit fails.
        let t1 = neon.conn().begin_with_config(Some(IsolationLevel::Serializable), None).await.unwrap();
        let t2 = neon.conn().begin_with_config(Some(IsolationLevel::Serializable), None).await.unwrap();
        let sel = "SELECT SUM(score) FROM leads";
        t1.execute_unprepared(sel).await.unwrap();
        t2.execute_unprepared(sel).await.unwrap();
        t1.execute_unprepared(&format!("UPDATE leads SET score = 2 WHERE id = '{}'", a.id)).await.unwrap();
        t2.execute_unprepared(&format!("UPDATE leads SET score = 3 WHERE id = '{}'", b.id)).await.unwrap();
        t1.commit().await.unwrap();
        let err = Error::from(t2.commit().await.expect_err("serialization failure"));
        assert!(matches!(err, Error::Retry { kind: service::error::RetryKind::Serialization, .. }), "{err:?}");
        // Deadlock: opposite lock order.
        let t1 = neon.conn().begin().await.unwrap();
        let t2 = neon.conn().begin().await.unwrap();
        t1.execute_unprepared(&format!("UPDATE leads SET score = 4 WHERE id = '{}'", a.id)).await.unwrap();
        t2.execute_unprepared(&format!("UPDATE leads SET score = 5 WHERE id = '{}'", b.id)).await.unwrap();
        let sql1 = format!("UPDATE leads SET score = 6 WHERE id = '{}'", b.id);
        let sql2 = format!("UPDATE leads SET score = 7 WHERE id = '{}'", a.id);
        let (r1, r2) = tokio::join!(t1.execute_unprepared(&sql1), t2.execute_unprepared(&sql2));
        let errors: Vec<Error> = [r1.err(), r2.err()].into_iter().flatten().map(Error::from).collect();
        assert_eq!(errors.len(), 1, "exactly one side is chosen as the deadlock victim: {errors:?}");
        assert!(matches!(errors[0], Error::Retry { kind: service::error::RetryKind::Deadlock, .. }), "{:?}", errors[0]);
        let _ = t1.rollback().await;
        let _ = t2.rollback().await;
    }
}

/// A server that accepts TCP connections and never answers: `connect`
/// gives up after its connect timeout, not the pool's acquire timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_honours_the_connect_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket); // accepted, never answered
        }
    });
    let started = Instant::now();
    let result = NeonDb::connect(
        Config::new(format!("postgres://postgres@127.0.0.1:{port}/x"))
            .with_connect_timeout(Duration::from_millis(300)),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "connect waited {elapsed:?} (connect timeout 300 ms, acquire timeout 5 s)"
    );
    held.abort();
}

/// A refused connection at connect time is Unavailable at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_fails_connect_at_once() {
    let port = api_tests::cluster::free_port();
    let started = Instant::now();
    let result = NeonDb::connect(Config::new(format!(
        "postgres://postgres@127.0.0.1:{port}/x"
    )))
    .await;
    assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

both_backends! {
    /// Pool exhaustion on a healthy server: the call waits up to the
    /// acquire timeout, fails Unavailable, the circuit stays closed, and
    /// the next call succeeds once a connection is free.
    async fn pool_exhaustion_is_typed_bounded_and_recovers(db) {
        db.migrate().await;
        let acquire = Duration::from_millis(400);
        let neon = db.service_with(Config::new(db.url.clone()).with_max_connections(1).with_acquire_timeout(acquire)).await;
        // SQLite: the one writer is busy in a transaction. PostgreSQL:
        // statements outside a transaction have a pool of their own (the
        // leases'), so its one connection is kept busy by a long statement.
        let tx = neon.begin().await.unwrap();
        let sleeper = (db.backend == api_tests::Backend::Postgres).then(|| {
            let busy = neon.clone();
            tokio::spawn(async move {
                busy.conn().query_all_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, "SELECT pg_sleep(1.5)")).await.map(drop)
            })
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        let err = neon.leads().create(NewLead { email: "w@x.io".into(), ..NewLead::default() }).await.expect_err("no connection free");
        let waited = started.elapsed();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        assert!(waited >= acquire.mul_f64(0.9), "a healthy server's exhausted pool waits the acquire timeout, waited {waited:?}");
        assert!(waited < Duration::from_secs(3), "bounded by the acquire timeout, waited {waited:?}");
        assert!(!neon.is_unavailable(), "exhaustion does not open the circuit");
        tx.rollback().await.unwrap();
        if let Some(sleeper) = sleeper {
            sleeper.await.unwrap().expect("the long statement completes");
        }
        neon.leads().create(NewLead { email: "w@x.io".into(), ..NewLead::default() }).await.expect("recovered");
    }
}

postgres_only! {
    /// A statement cancelled mid-flight (its future dropped by a caller's
    /// timeout) must not leave its connection for the next statement with
    /// the cancelled one's rows or state: the one connection of the
    /// statements' pool answers the next statement with its own result.
    async fn cancelled_statement_does_not_poison_the_connection(db) {
        db.migrate().await;
        let neon = db.service_with(Config::new(db.url.clone()).with_max_connections(1)).await;
        let stmt = |sql: &str| sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql.to_owned());
        for round in 0..5 {
            let slow = neon.conn().query_all_raw(stmt("SELECT pg_sleep(0.3), 7 AS n FROM generate_series(1, 3)"));
            assert!(tokio::time::timeout(Duration::from_millis(50), slow).await.is_err(), "round {round}: the slow statement is cancelled");
            let started = Instant::now();
            let rows = neon.conn().query_all_raw(stmt(&format!("SELECT {round} + 40 AS n"))).await.unwrap();
            let n: i32 = rows[0].try_get_by_index(0).unwrap();
            assert_eq!((rows.len(), n), (1, round + 40), "round {round}: the next statement's own result");
            assert!(started.elapsed() < Duration::from_secs(2), "round {round}: waited {:?}", started.elapsed());
        }
        // Statements that completed keep working on the same connection.
        for i in 0..20 {
            let rows = neon.conn().query_all_raw(stmt(&format!("SELECT {i} AS n"))).await.unwrap();
            assert_eq!(rows[0].try_get_by_index::<i32>(0).unwrap(), i);
        }
        let err = neon.conn().query_all_raw(stmt("SELECT 1/0")).await.expect_err("division by zero");
        assert!(err.to_string().contains("division by zero"), "{err}");
        let rows = neon.conn().query_all_raw(stmt("SELECT 5 AS n")).await.unwrap();
        assert_eq!(rows[0].try_get_by_index::<i32>(0).unwrap(), 5, "after an error, the next result is its own");
    }
}

/// SQLite: eight tasks doing begin / get / update / commit on one row
/// queue for the writer instead of failing with "database is locked", and
/// no update is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_read_modify_write_transactions_queue() {
    api_tests::with_db(api_tests::Backend::Sqlite, |db: TestDb| async move {
        db.migrate().await;
        let neon = db
            .service_with(Config::new(db.url.clone()).with_max_connections(8))
            .await;
        let lead = neon
            .leads()
            .create(NewLead {
                email: "c@x.io".into(),
                score: Some(0.0),
                ..NewLead::default()
            })
            .await
            .unwrap();
        const TASKS: usize = 8;
        const ROUNDS: usize = 25;
        let mut handles = Vec::new();
        for _ in 0..TASKS {
            let (neon, id) = (neon.clone(), lead.id.clone());
            handles.push(tokio::spawn(async move {
                let mut failures = Vec::new();
                for _ in 0..ROUNDS {
                    let attempt = async {
                        let tx = neon.begin().await?;
                        let current = tx.leads().get(&id).await?;
                        let next = current.score.unwrap_or(0.0) + 1.0;
                        tx.leads()
                            .update(
                                &id,
                                LeadUpdate {
                                    score: Some(Some(next)),
                                    ..LeadUpdate::default()
                                },
                            )
                            .await?;
                        tx.commit().await
                    };
                    if let Err(e) = attempt.await {
                        failures.push(e.to_string());
                    }
                }
                failures
            }));
        }
        let mut failures = Vec::new();
        for h in handles {
            failures.extend(h.await.unwrap());
        }
        assert!(
            failures.is_empty(),
            "{} of {} transactions failed: {:?}",
            failures.len(),
            TASKS * ROUNDS,
            &failures[..failures.len().min(3)]
        );
        let stored = neon.uncached().leads().get(&lead.id).await.unwrap();
        assert_eq!(
            stored.score,
            Some((TASKS * ROUNDS) as f64),
            "no lost update"
        );
    })
    .await;
}
