//! The connections behind a handle, and the fail-fast circuit in front of
//! them (SPEC §13).
//!
//! * [`Conn`] is what repositories run on outside a transaction: the pool
//!   (PostgreSQL), or on SQLite a pool of readers plus **one writer
//!   connection** that every write and every transaction uses. SQLite has
//!   one writer at a time anyway; queueing writes in-process (on the
//!   writer's pool) replaces busy-waiting on the file lock, and
//!   transactions begin `IMMEDIATE`, so a transaction that reads and then
//!   writes never fails with "database is locked" when it upgrades its
//!   lock. (Another process's writer still waits up to the busy timeout.)
//! * [`TxConn`] is a transaction. On PostgreSQL a statement that fails
//!   aborts the transaction, and `COMMIT` of an aborted transaction is a
//!   silent `ROLLBACK`; `TxConn` remembers the first failure, and
//!   [`TxConn::commit`] rolls back and returns it instead.
//! * [`Health`] is the circuit. Every statement on PostgreSQL runs through
//!   [`Health::guard`]: while the circuit is open the call fails at once
//!   with [`crate::Error::Unavailable`], without waiting for the pool
//!   (whose connect loop would retry a refused server until the acquire
//!   timeout). A connection-class failure, or a call still waiting after
//!   [`PROBE_AFTER`], makes the circuit *suspect*: one probe connects
//!   directly with the connect timeout. If the probe fails, the circuit
//!   opens, calls waiting in the pool fail at once, and the probe retries
//!   with backoff (at most [`MAX_PROBE_INTERVAL`] apart) until a connection
//!   succeeds, which closes it. A probe that succeeds leaves the circuit
//!   closed: a single terminated backend or an exhausted pool on a healthy
//!   server does not fail other calls (pool exhaustion still waits up to
//!   the acquire timeout).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::Connection as _;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    ExecResult, IsolationLevel, QueryResult, RuntimeErr, SqliteTransactionMode, Statement,
    TransactionError, TransactionOptions, TransactionSession, TransactionTrait,
};
use tokio::sync::watch;

use crate::error::{Class, classify};
use crate::lease::Leases;
use crate::metrics::names;

/// A call still waiting this long makes the circuit suspect (one probe).
pub const PROBE_AFTER: Duration = Duration::from_millis(100);
/// Longest pause between probes while the circuit is open.
pub const MAX_PROBE_INTERVAL: Duration = Duration::from_millis(200);
/// Suspicion from slow calls probes at most this often while closed.
const SUSPECT_INTERVAL: Duration = Duration::from_millis(500);

/// Where the circuit's probe connects.
#[derive(Clone)]
pub(crate) struct ProbeTarget {
    pub(crate) options: sea_orm::sqlx::postgres::PgConnectOptions,
    pub(crate) connect_timeout: Duration,
}

/// When this handle last saw the server drop connections: a call that
/// failed with a connection error, or its change feed's stream lost. A
/// pooled connection that went idle before that moment may be dead, so
/// it is pinged before it is handed out (see
/// [`crate::db::PING_IF_IDLE_FOR`] for connections idle long anyway).
#[derive(Debug)]
pub struct LossClock {
    base: Instant,
    /// Nanoseconds after `base` of the last loss, plus one; 0: never.
    last: std::sync::atomic::AtomicU64,
}

impl Default for LossClock {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            last: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl LossClock {
    /// A loss now.
    pub fn mark(&self) {
        let at = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        self.last.fetch_max(at + 1, Ordering::AcqRel);
    }

    /// Whether a loss was seen within the last `window` (as long as a
    /// connection has been idle).
    pub fn lost_within(&self, window: Duration) -> bool {
        match self.last.load(Ordering::Acquire) {
            0 => false,
            at => {
                let since = self
                    .base
                    .elapsed()
                    .saturating_sub(Duration::from_nanos(at - 1));
                since <= window
            }
        }
    }
}

/// The fail-fast circuit of one handle (see the module documentation).
pub struct Health {
    open: AtomicBool,
    probing: AtomicBool,
    state: watch::Sender<bool>,
    last_suspect: Mutex<Option<Instant>>,
    opened_at: Mutex<Option<Instant>>,
    target: Option<ProbeTarget>,
    losses: Arc<LossClock>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

fn conn_err(message: String) -> DbErr {
    DbErr::Conn(RuntimeErr::Internal(message))
}

impl Health {
    /// A circuit; `None`: nothing to probe (SQLite), it never opens.
    pub(crate) fn new(target: Option<ProbeTarget>, losses: Arc<LossClock>) -> Self {
        Self {
            open: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            state: watch::channel(false).0,
            last_suspect: Mutex::new(None),
            opened_at: Mutex::new(None),
            target,
            losses,
        }
    }

    /// When connections were last lost.
    pub fn losses(&self) -> &Arc<LossClock> {
        &self.losses
    }

    /// Whether calls are failing fast now.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Waits until the circuit is closed (at most `timeout`); whether it is.
    pub async fn wait_closed(&self, timeout: Duration) -> bool {
        let mut rx = self.state.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|open| !*open))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn open_error(&self) -> DbErr {
        let since = self
            .opened_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|t| t.elapsed());
        conn_err(match since {
            Some(d) => format!(
                "the database is not accepting connections (for {} ms); failing fast while it is probed",
                d.as_millis()
            ),
            None => "the database is not accepting connections; failing fast".to_owned(),
        })
    }

    fn set_open(&self, open: bool) {
        if self.open.swap(open, Ordering::AcqRel) == open {
            return;
        }
        *self.opened_at.lock().unwrap_or_else(|p| p.into_inner()) = open.then(Instant::now);
        self.state.send_replace(open);
        metrics::gauge!(names::DB_CIRCUIT_OPEN).set(if open { 1.0 } else { 0.0 });
        if open {
            metrics::counter!(names::DB_CIRCUIT_OPENS_TOTAL).increment(1);
            tracing::warn!(
                "database unreachable: failing calls fast and probing in the background"
            );
        } else {
            // Whatever sat in the pool through the outage is suspect.
            self.losses.mark();
            tracing::info!("database reachable again: circuit closed");
        }
    }

    /// Something looked wrong: probe (once at a time, rate-limited).
    fn suspect(self: &Arc<Self>, forced: bool) {
        let Some(target) = self.target.clone() else {
            return;
        };
        if !forced {
            let mut last = self.last_suspect.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < SUSPECT_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let health = self.clone();
        tokio::spawn(async move {
            let mut pause = Duration::from_millis(10);
            loop {
                match probe(&target).await {
                    Ok(()) => {
                        health.set_open(false);
                        break;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "database probe failed");
                        health.set_open(true);
                    }
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PROBE_INTERVAL);
            }
            health.probing.store(false, Ordering::Release);
        });
    }

    /// Runs one database call through the circuit (see the module
    /// documentation).
    ///
    /// # Errors
    /// The call's error, or a connection error while the circuit is open.
    pub(crate) async fn guard<T>(
        self: &Arc<Self>,
        call: impl Future<Output = Result<T, DbErr>>,
    ) -> Result<T, DbErr> {
        if self.target.is_none() {
            return call.await;
        }
        if self.is_open() {
            return Err(self.open_error());
        }
        let mut state = self.state.subscribe();
        if *state.borrow_and_update() {
            return Err(self.open_error());
        }
        let mut call = std::pin::pin!(call);
        let watchdog = tokio::time::sleep(PROBE_AFTER);
        let mut watchdog = std::pin::pin!(watchdog);
        let mut watching = true;
        loop {
            tokio::select! {
                biased;
                result = &mut call => {
                    if let Err(e) = &result
                        && matches!(classify(e), Class::Connection | Class::PoolTimeout)
                    {
                        if classify(e) == Class::Connection {
                            self.losses.mark();
                        }
                        self.suspect(true);
                    }
                    return result;
                }
                changed = state.changed() => {
                    if changed.is_err() || *state.borrow_and_update() {
                        return Err(self.open_error());
                    }
                }
                () = &mut watchdog, if watching => {
                    watching = false;
                    self.suspect(false);
                }
            }
        }
    }
}

/// One direct connection attempt, bounded by the connect timeout.
async fn probe(target: &ProbeTarget) -> Result<(), String> {
    match tokio::time::timeout(
        target.connect_timeout,
        sea_orm::sqlx::postgres::PgConnection::connect_with(&target.options),
    )
    .await
    {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within the connect timeout ({} ms)",
            target.connect_timeout.as_millis()
        )),
    }
}

/// Connects once, directly, within `timeout` (used by `connect` before
/// the pool exists, so that an unreachable or silent server fails fast).
///
/// # Errors
/// The reason, as a connection error.
pub(crate) async fn probe_once(target: &ProbeTarget) -> Result<(), DbErr> {
    probe(target).await.map_err(conn_err)
}

/// Whether a statement writes (and so, on SQLite, goes to the writer).
fn is_write(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    !(first.eq_ignore_ascii_case("SELECT")
        || first.eq_ignore_ascii_case("WITH")
        || first.eq_ignore_ascii_case("EXPLAIN")
        || first.eq_ignore_ascii_case("VALUES"))
}

struct ConnInner {
    read: DatabaseConnection,
    /// SQLite: the one writer connection (a pool of one).
    write: Option<DatabaseConnection>,
    /// PostgreSQL: where statements outside a transaction run
    /// ([`crate::lease`]).
    leases: Option<Leases>,
    health: Arc<Health>,
}

/// The handle's connections outside a transaction (see the module
/// documentation). Cheap to clone.
#[derive(Clone)]
pub struct Conn(Arc<ConnInner>);

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("backend", &self.0.read.get_database_backend())
            .field("separate_writer", &self.0.write.is_some())
            .finish()
    }
}

impl Conn {
    pub(crate) fn new(
        read: DatabaseConnection,
        write: Option<DatabaseConnection>,
        health: Arc<Health>,
    ) -> Self {
        Self(Arc::new(ConnInner {
            read,
            write,
            leases: None,
            health,
        }))
    }

    /// PostgreSQL: statements outside a transaction run on `leases`.
    pub(crate) fn with_leases(
        read: DatabaseConnection,
        leases: Leases,
        health: Arc<Health>,
    ) -> Self {
        Self(Arc::new(ConnInner {
            read,
            write: None,
            leases: Some(leases),
            health,
        }))
    }

    /// Connections the handle's pools may open in all (PostgreSQL: the
    /// leases' pool and SeaORM's; SQLite: the readers and the writer).
    pub(crate) fn capacity(&self) -> u32 {
        let max = |p: &DatabaseConnection| match p.get_database_backend() {
            DatabaseBackend::Postgres => p
                .get_postgres_connection_pool()
                .options()
                .get_max_connections(),
            _ => p
                .get_sqlite_connection_pool()
                .options()
                .get_max_connections(),
        };
        max(&self.0.read)
            + self.0.write.as_ref().map_or(0, max)
            + self.0.leases.as_ref().map_or(0, Leases::max_connections)
    }

    /// Connections open and idle, over every pool of the handle.
    pub(crate) fn pool_counts(&self) -> (u32, usize) {
        let mut pools = vec![&self.0.read];
        pools.extend(self.0.write.as_ref());
        let (mut size, mut idle) = (0, 0);
        for p in pools {
            let (s, i) = match p.get_database_backend() {
                DatabaseBackend::Postgres => {
                    let pool = p.get_postgres_connection_pool();
                    (pool.size(), pool.num_idle())
                }
                _ => {
                    let pool = p.get_sqlite_connection_pool();
                    (pool.size(), pool.num_idle())
                }
            };
            size += s;
            idle += i;
        }
        if let Some(l) = &self.0.leases {
            let (s, i) = l.counts();
            size += s;
            idle += i;
        }
        (size, idle)
    }

    /// The reading pool (PostgreSQL: the only pool).
    pub fn reader(&self) -> &DatabaseConnection {
        &self.0.read
    }

    /// Where writes and transactions go: SQLite's writer, else the pool.
    pub fn writer(&self) -> &DatabaseConnection {
        self.0.write.as_ref().unwrap_or(&self.0.read)
    }

    /// SQLite's writer connection, when it is not the readers' pool (an
    /// in-memory database has one connection for everything).
    pub(crate) fn separate_writer(&self) -> Option<&DatabaseConnection> {
        self.0.write.as_ref()
    }

    /// The circuit.
    pub fn health(&self) -> &Arc<Health> {
        &self.0.health
    }

    fn route(&self, sql: &str) -> &DatabaseConnection {
        match &self.0.write {
            Some(w) if is_write(sql) => w,
            _ => &self.0.read,
        }
    }

    async fn begin_opts(&self, options: TransactionOptions) -> Result<TxConn, DbErr> {
        let writer = self.writer();
        let options = if writer.get_database_backend() == DatabaseBackend::Sqlite {
            TransactionOptions {
                sqlite_transaction_mode: Some(
                    options
                        .sqlite_transaction_mode
                        .unwrap_or(SqliteTransactionMode::Immediate),
                ),
                ..options
            }
        } else {
            options
        };
        let txn = self
            .0
            .health
            .guard(writer.begin_with_options(options))
            .await?;
        Ok(TxConn::new(txn, self.0.health.clone()))
    }

    /// Closes the pools.
    ///
    /// # Errors
    /// The database's error while closing.
    pub(crate) async fn close(&self) -> Result<(), DbErr> {
        if let Some(l) = &self.0.leases {
            l.close().await;
        }
        if let Some(w) = &self.0.write {
            w.clone().close().await?;
        }
        self.0.read.clone().close().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Conn {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.0.read.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        if let Some(l) = &self.0.leases {
            return self.0.health.guard(l.execute(stmt)).await;
        }
        let conn = self.route(&stmt.sql);
        self.0.health.guard(conn.execute_raw(stmt)).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let conn = self.route(sql);
        self.0.health.guard(conn.execute_unprepared(sql)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        if let Some(l) = &self.0.leases {
            return self.0.health.guard(l.query_one(stmt)).await;
        }
        let conn = self.route(&stmt.sql);
        self.0.health.guard(conn.query_one_raw(stmt)).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        if let Some(l) = &self.0.leases {
            return self.0.health.guard(l.query_all(stmt)).await;
        }
        let conn = self.route(&stmt.sql);
        self.0.health.guard(conn.query_all_raw(stmt)).await
    }
}

type Callback<'c, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>;

async fn run_in<T, E, F>(tx: TxConn, callback: F) -> Result<T, TransactionError<E>>
where
    F: for<'c> FnOnce(&'c TxConn) -> Callback<'c, T, E> + Send,
    T: Send,
    E: std::fmt::Display + std::fmt::Debug + Send,
{
    let out = callback(&tx).await;
    match out {
        Ok(v) => {
            tx.commit().await.map_err(TransactionError::Connection)?;
            Ok(v)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(TransactionError::Transaction(e))
        }
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Conn {
    type Transaction = TxConn;

    async fn begin(&self) -> Result<TxConn, DbErr> {
        self.begin_opts(TransactionOptions::default()).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<TxConn, DbErr> {
        self.begin_opts(TransactionOptions {
            isolation_level,
            access_mode,
            sqlite_transaction_mode: None,
        })
        .await
    }

    async fn begin_with_options(&self, options: TransactionOptions) -> Result<TxConn, DbErr> {
        self.begin_opts(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c TxConn) -> Callback<'c, T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let tx = self.begin().await.map_err(TransactionError::Connection)?;
        run_in(tx, callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c TxConn) -> Callback<'c, T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let tx = self
            .begin_with_config(isolation_level, access_mode)
            .await
            .map_err(TransactionError::Connection)?;
        run_in(tx, callback).await
    }
}

/// A transaction (or a savepoint inside one) run through the circuit,
/// remembering its first failed statement (see the module documentation).
pub struct TxConn {
    txn: DatabaseTransaction,
    health: Arc<Health>,
    /// PostgreSQL: the first statement failure; the transaction is aborted.
    failed: Arc<Mutex<Option<DbErr>>>,
    /// The enclosing transaction's flag, for a savepoint whose release
    /// fails (the whole transaction is then aborted).
    parent: Option<Arc<Mutex<Option<DbErr>>>>,
}

impl std::fmt::Debug for TxConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxConn").finish_non_exhaustive()
    }
}

impl TxConn {
    fn new(txn: DatabaseTransaction, health: Arc<Health>) -> Self {
        Self {
            txn,
            health,
            failed: Arc::default(),
            parent: None,
        }
    }

    /// The SeaORM transaction underneath (statements run on it directly
    /// bypass the failure tracking and the circuit).
    pub fn inner(&self) -> &DatabaseTransaction {
        &self.txn
    }

    fn note<T>(&self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        if let Err(e) = &result
            && self.txn.get_database_backend() == DatabaseBackend::Postgres
        {
            let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            if failed.is_none() {
                *failed = Some(e.clone());
            }
        }
        result
    }

    /// The first failure of a statement in this transaction, if any
    /// (PostgreSQL; SQLite keeps a transaction usable after a failure).
    pub fn failure(&self) -> Option<DbErr> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn nested(&self, options: TransactionOptions) -> Result<TxConn, DbErr> {
        let txn = self.note(
            self.health
                .guard(self.txn.begin_with_options(options))
                .await,
        )?;
        Ok(Self {
            txn,
            health: self.health.clone(),
            failed: Arc::default(),
            parent: Some(self.failed.clone()),
        })
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for TxConn {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.note(self.health.guard(self.txn.execute_raw(stmt)).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.note(self.health.guard(self.txn.execute_unprepared(sql)).await)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.note(self.health.guard(self.txn.query_one_raw(stmt)).await)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.note(self.health.guard(self.txn.query_all_raw(stmt)).await)
    }
}

#[async_trait::async_trait]
impl TransactionSession for TxConn {
    /// Commits, unless a statement failed on PostgreSQL: then rolls back
    /// and returns that failure (PostgreSQL would turn the `COMMIT` into a
    /// silent `ROLLBACK`).
    async fn commit(self) -> Result<(), DbErr> {
        let failure = self.failure();
        let Self {
            txn,
            health,
            parent,
            ..
        } = self;
        if let Some(e) = failure {
            let _ = txn.rollback().await;
            return Err(e);
        }
        let result = health.guard(txn.commit()).await;
        if let (Err(e), Some(parent)) = (&result, parent) {
            let mut p = parent.lock().unwrap_or_else(|p| p.into_inner());
            if p.is_none() {
                *p = Some(e.clone());
            }
        }
        result
    }

    async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

#[async_trait::async_trait]
impl TransactionTrait for TxConn {
    type Transaction = TxConn;

    async fn begin(&self) -> Result<TxConn, DbErr> {
        self.nested(TransactionOptions::default()).await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<TxConn, DbErr> {
        self.nested(TransactionOptions {
            isolation_level,
            access_mode,
            sqlite_transaction_mode: None,
        })
        .await
    }

    async fn begin_with_options(&self, options: TransactionOptions) -> Result<TxConn, DbErr> {
        self.nested(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c TxConn) -> Callback<'c, T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let tx = self.begin().await.map_err(TransactionError::Connection)?;
        run_in(tx, callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(&'c TxConn) -> Callback<'c, T, E> + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        let tx = self
            .begin_with_config(isolation_level, access_mode)
            .await
            .map_err(TransactionError::Connection)?;
        run_in(tx, callback).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_told_from_reads() {
        for sql in [
            "SELECT 1",
            "  with e AS (SELECT 1) SELECT * FROM e",
            "EXPLAIN QUERY PLAN SELECT 1",
        ] {
            assert!(!is_write(sql), "{sql}");
        }
        for sql in [
            "INSERT INTO \"leads\" VALUES (?)",
            "UPDATE \"leads\" SET x = 1 RETURNING *",
            "DELETE FROM t",
            "CREATE INDEX i ON t(x)",
            "PRAGMA optimize",
        ] {
            assert!(is_write(sql), "{sql}");
        }
    }

    #[test]
    fn a_loss_is_within_windows_that_reach_back_to_it() {
        let clock = LossClock::default();
        assert!(!clock.lost_within(Duration::from_secs(3600)), "never lost");
        clock.mark();
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            clock.lost_within(Duration::from_secs(1)),
            "idle since before the loss"
        );
        assert!(
            !clock.lost_within(Duration::from_millis(5)),
            "went idle after the loss"
        );
    }
}
