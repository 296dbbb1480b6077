//! Statements outside a transaction on PostgreSQL, without sqlx's
//! round trip on release.
//!
//! sqlx (0.9) pings every connection it gets back (`return_to_pool`: a
//! `Sync` and its `ReadyForQuery`), in a task spawned when the
//! `PoolConnection` drops, so that a connection left mid-protocol by a
//! cancelled future never reaches the next caller. For a statement that
//! ran to completion that is one wasted round trip per statement, paid
//! in server CPU as well as latency, and the connection is not reusable
//! until the ping answers (so a lone caller's next statement takes
//! another connection). Issue 10 measured the service at 2–2.5× `pgbench
//! -M prepared` per call; this is most of the gap.
//!
//! [`Leases`] keeps connections checked out of a pool of its own between
//! statements:
//!
//! * A statement takes a permit (at most `max_connections` at once, the
//!   wait bounded by the acquire timeout), then the connection parked
//!   most recently (warm: its backend's caches are hot), else one from
//!   the pool.
//! * A statement that **succeeded** (every row read, so the connection
//!   is at `ReadyForQuery`) parks its connection again at once, with no
//!   round trip.
//! * Anything else, any error or a future dropped mid-statement (a
//!   caller's timeout), drops the connection back into the sqlx pool,
//!   whose release ping repairs or discards it: the unsafe cases keep
//!   sqlx's protection.
//! * A parked connection idle for [`PING_IF_IDLE_FOR`], or parked before
//!   the handle last saw connections lost, is pinged before use, as the
//!   pool does for its own idle connections; one idle past the idle
//!   timeout goes back to the pool, which closes it.
//!
//! The pool is the leases' alone (transactions and
//! [`crate::NeonDb::connection`] keep SeaORM's pool): a connection parked
//! here is invisible to the pool, so another user of it could wait for
//! a connection that is only parked. A handle can therefore hold up to
//! `max_connections` connections in each of the two pools.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, Connection as _, PgPool, Postgres};
use sea_orm::{ConnAcquireErr, DbErr, ExecResult, QueryResult, RuntimeErr, Statement, Values};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::db::PING_IF_IDLE_FOR;
use crate::metrics::Metrics;
use crate::pool::LossClock;

struct Parked {
    conn: PoolConnection<Postgres>,
    since: Instant,
}

/// Connections kept between statements (see the module documentation).
pub(crate) struct Leases {
    pool: PgPool,
    permits: Arc<Semaphore>,
    parked: Mutex<Vec<Parked>>,
    losses: Arc<LossClock>,
    acquire_timeout: Duration,
    idle_timeout: Option<Duration>,
    metrics: Arc<Metrics>,
}

/// One statement's connection: parked again by [`Lease::park`], else
/// dropped into the pool (which pings it) when the lease drops.
struct Lease<'a> {
    conn: Option<PoolConnection<Postgres>>,
    home: &'a Leases,
    // Released after `conn` is parked (fields drop in order).
    _permit: OwnedSemaphorePermit,
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut PoolConnection<Postgres> {
        // Taken only by `park`, which consumes the lease.
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("a lease holds its connection until parked"))
    }

    fn park(mut self) {
        if let Some(conn) = self.conn.take() {
            self.home.lock().push(Parked {
                conn,
                since: Instant::now(),
            });
        }
    }
}

fn acquire_err(e: sqlx::Error) -> DbErr {
    match e {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(other))),
    }
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}

fn query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

impl Leases {
    pub(crate) fn new(
        pool: PgPool,
        max: u32,
        acquire_timeout: Duration,
        idle_timeout: Option<Duration>,
        losses: Arc<LossClock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            pool,
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            parked: Mutex::new(Vec::new()),
            losses,
            acquire_timeout,
            idle_timeout,
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Parked>> {
        self.parked.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn acquire(&self) -> Result<Lease<'_>, DbErr> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let permit = match tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned())
            .await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
            Err(_) => return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
        };
        loop {
            let parked = self.lock().pop();
            let Some(Parked { mut conn, since }) = parked else {
                let conn = match tokio::time::timeout_at(deadline, self.pool.acquire()).await {
                    Ok(r) => r.map_err(acquire_err)?,
                    Err(_) => return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
                };
                return Ok(Lease {
                    conn: Some(conn),
                    home: self,
                    _permit: permit,
                });
            };
            let idle = since.elapsed();
            if self.idle_timeout.is_some_and(|t| idle >= t) {
                // Back to the pool, whose reaper closes it.
                drop(conn);
                continue;
            }
            if (idle >= PING_IF_IDLE_FOR || self.losses.lost_within(idle))
                && conn.ping().await.is_err()
            {
                // Dead: the pool's release check discards it.
                drop(conn);
                continue;
            }
            return Ok(Lease {
                conn: Some(conn),
                home: self,
                _permit: permit,
            });
        }
    }

    /// Every row of `stmt`, read to the end (so the connection is at
    /// `ReadyForQuery` when it is parked).
    async fn fetch(&self, stmt: Statement) -> Result<Vec<PgRow>, DbErr> {
        let mut lease = self.acquire().await?;
        let started = Instant::now();
        let result = query(&stmt).fetch_all(&mut **lease.conn()).await;
        self.metrics
            .record_statement(&stmt.sql, started.elapsed(), result.is_err());
        let rows = result.map_err(query_err)?;
        lease.park();
        Ok(rows)
    }

    /// Every row of `stmt`.
    pub(crate) async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        Ok(self
            .fetch(stmt)
            .await?
            .into_iter()
            .map(QueryResult::from)
            .collect())
    }

    /// The first row of `stmt`, if any.
    pub(crate) async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        Ok(self
            .fetch(stmt)
            .await?
            .into_iter()
            .next()
            .map(QueryResult::from))
    }

    /// Runs a statement for its effect.
    pub(crate) async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut lease = self.acquire().await?;
        let started = Instant::now();
        let result = query(&stmt).execute(&mut **lease.conn()).await;
        self.metrics
            .record_statement(&stmt.sql, started.elapsed(), result.is_err());
        let done = result.map_err(exec_err)?;
        lease.park();
        Ok(done.into())
    }

    /// The most connections the leases' pool opens.
    pub(crate) fn max_connections(&self) -> u32 {
        self.pool.options().get_max_connections()
    }

    /// Connections open in the leases' pool, and how many are idle (parked
    /// or in the pool).
    pub(crate) fn counts(&self) -> (u32, usize) {
        (self.pool.size(), self.lock().len() + self.pool.num_idle())
    }

    /// Returns every parked connection and closes the pool (waiting for
    /// statements in flight).
    pub(crate) async fn close(&self) {
        let parked: Vec<Parked> = std::mem::take(&mut *self.lock());
        drop(parked);
        self.pool.close().await;
    }
}
