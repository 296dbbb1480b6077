//! The handle applications share: one connection pool per [`NeonDb`].

use std::sync::{Arc, Mutex};
use std::time::Instant;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    TransactionTrait,
};

use crate::cache::{CacheStats, QueryCache};
use crate::change::Change;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::{Metrics, MetricsSnapshot, names};
use crate::queries::{DashboardQuery, Query};
use crate::repo::{
    AbTests, Agents, AnalyticsRepo, Campaigns, Contents, Executions, Leads, Repo, Trends, Users,
};

/// A connection pool, its query cache and its metrics. `Clone + Send +
/// Sync`; a clone is a reference count, so share it freely across tasks.
#[derive(Clone)]
pub struct NeonDb {
    inner: Arc<Inner>,
    /// Calls through this clone skip the cache ([`NeonDb::uncached`]).
    bypass: bool,
}

struct Inner {
    conn: DatabaseConnection,
    config: Config,
    cache: QueryCache,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for NeonDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeonDb")
            .field("backend", &self.backend())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl NeonDb {
    /// Opens the pool described by `config`.
    ///
    /// SQLite is opened for concurrent use: WAL journal (readers never wait
    /// for the writer), `synchronous = NORMAL`, foreign keys on, and a busy
    /// timeout so writers queue instead of failing. Use a file: every
    /// connection to `sqlite::memory:` would be a database of its own.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad settings; [`Error::Unavailable`] if the
    /// database cannot be reached.
    pub async fn connect(config: Config) -> Result<Self> {
        config.validate()?;
        let mut options = ConnectOptions::new(config.database_url.expose().to_owned());
        options
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_timeout(config.connect_timeout)
            .idle_timeout(config.idle_timeout)
            .sqlx_logging(false);
        if let Some(timeout) = config.statement_timeout
            && config.database_url.is_postgres()
        {
            options.statement_timeout(timeout);
        }
        let busy = config.sqlite_busy_timeout;
        options.map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(busy)
        });
        let mut conn = Database::connect(options)
            .await
            .map_err(|e| match Error::from(e) {
                Error::Database(e) => Error::Unavailable(e),
                other => other,
            })?;
        // The recorder first, so the handles below register with it.
        crate::metrics::install_prometheus(config.metrics_addr);
        let metrics = Arc::new(Metrics::new(config.slow_query_threshold));
        // Right after connecting: every later clone of `conn` reports.
        let sink = metrics.clone();
        conn.set_metric_callback(move |info| {
            sink.record_statement(&info.statement.sql, info.elapsed, info.failed);
        });
        let cache = QueryCache::new(config.cache.clone());
        metrics::gauge!(names::DB_POOL_MAX_CONNECTIONS).set(f64::from(config.max_connections));
        metrics::gauge!(names::CACHE_CAPACITY_BYTES).set(config.cache.capacity_bytes as f64);
        Ok(Self {
            inner: Arc::new(Inner {
                conn,
                config,
                cache,
                metrics,
            }),
            bypass: false,
        })
    }

    /// A clone of this handle whose dashboard queries skip the cache (the
    /// per-call bypass): `db.uncached().users().by_role(..)`.
    pub fn uncached(&self) -> NeonDb {
        NeonDb {
            inner: self.inner.clone(),
            bypass: true,
        }
    }

    /// The query cache: statistics, the switch, clearing.
    pub fn cache(&self) -> &QueryCache {
        &self.inner.cache
    }

    /// Statement and call metrics of this handle.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The in-process snapshot (the original `getQueryMetrics()`).
    pub fn metrics_snapshot(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot(self.inner.cache.stats())
    }

    /// Refreshes the cache and pool gauges and renders every metric in the
    /// Prometheus text format, for an application's own `/metrics` route.
    /// `None` if another `metrics` recorder was installed before this crate's.
    pub fn render_metrics(&self) -> Option<String> {
        self.update_gauges();
        crate::metrics::render()
    }

    fn update_gauges(&self) {
        let stats: CacheStats = self.inner.cache.stats();
        metrics::gauge!(names::CACHE_ENTRIES).set(stats.entries as f64);
        metrics::gauge!(names::CACHE_WEIGHT_BYTES).set(stats.weight as f64);
        metrics::gauge!(names::CACHE_CAPACITY_BYTES).set(stats.capacity as f64);
        metrics::counter!(names::CACHE_HITS_TOTAL).absolute(stats.hits);
        metrics::counter!(names::CACHE_MISSES_TOTAL).absolute(stats.misses);
        metrics::counter!(names::CACHE_COALESCED_WAITS_TOTAL).absolute(stats.coalesced);
        metrics::counter!(names::CACHE_EXPIRATIONS_TOTAL).absolute(stats.expirations);
        metrics::counter!(names::CACHE_INVALIDATIONS_TOTAL).absolute(stats.invalidations);
        metrics::counter!(names::CACHE_BYPASSES_TOTAL).absolute(stats.bypasses);
        let (size, idle) = match self.backend() {
            DatabaseBackend::Postgres => {
                let pool = self.inner.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.inner.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
        metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "in_use")
            .set(f64::from(size.saturating_sub(idle)));
    }

    /// The SeaORM connection (a pool), for statements of your own.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.inner.conn
    }

    /// PostgreSQL or SQLite.
    pub fn backend(&self) -> DatabaseBackend {
        self.inner.conn.get_database_backend()
    }

    /// The settings this handle was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Closes the pool once the last clone is gone; waits for connections
    /// in use to be returned.
    ///
    /// # Errors
    /// The database's error while closing.
    pub async fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner.conn.close().await.map_err(Error::from),
            Err(_) => Ok(()),
        }
    }

    /// Runs a validated dashboard query through the cache, timed.
    pub(crate) async fn read<Q: DashboardQuery>(&self, query: &Q) -> Result<Arc<Q::Output>> {
        let started = Instant::now();
        let conn = &self.inner.conn;
        let result = self
            .inner
            .cache
            .get_or_load(query, self.bypass, || async {
                query.run(conn).await.map_err(Error::from)
            })
            .await;
        match result {
            Ok((value, outcome)) => {
                self.inner
                    .metrics
                    .record_call(Q::NAME, outcome, started.elapsed(), true);
                Ok(value)
            }
            Err(e) => {
                let outcome = if self.bypass || !self.inner.cache.is_enabled() {
                    crate::cache::Outcome::Bypass
                } else {
                    crate::cache::Outcome::Miss
                };
                self.inner
                    .metrics
                    .record_call(Q::NAME, outcome, started.elapsed(), false);
                Err(e)
            }
        }
    }

    /// Reports committed changes to the cache.
    pub(crate) fn apply_changes(&self, changes: &[Change]) {
        self.inner.cache.apply_changes(changes);
    }

    /// The invalidation entry point for changes made elsewhere (another
    /// instance, a PostgreSQL `LISTEN`/`NOTIFY` channel, a migration):
    /// removes every cached result `changes` can affect. Writes through
    /// this handle call it themselves.
    pub fn invalidate(&self, changes: &[Change]) {
        self.apply_changes(changes);
    }

    /// Pre-loads `queries` into the cache in the background, one at a time
    /// (so start-up never stampedes the database), without blocking the
    /// caller. A caller asking for a key while it loads waits for that load
    /// instead of running its own. The task's result counts what loaded.
    pub fn warm(&self, queries: Vec<Query>) -> tokio::task::JoinHandle<WarmReport> {
        let db = self.clone();
        tokio::spawn(async move {
            let mut report = WarmReport::default();
            for query in queries {
                match db.load(&query).await {
                    Ok(()) => report.loaded += 1,
                    Err(e) => {
                        tracing::warn!(query = query.name().as_str(), error = %e, "cache warming failed");
                        report.failed += 1;
                    }
                }
            }
            report
        })
    }

    /// Runs any query through the cache, discarding the result.
    async fn load(&self, query: &Query) -> Result<()> {
        query.validate()?;
        match query {
            Query::UsersByRole(q) => self.read(q).await.map(drop),
            Query::CampaignsByUserAndStatus(q) => self.read(q).await.map(drop),
            Query::AgentPerformance(q) => self.read(q).await.map(drop),
            Query::CampaignAnalytics(q) => self.read(q).await.map(drop),
            Query::AnalyticsTimeSeries(q) => self.read(q).await.map(drop),
            Query::HighValueLeads(q) => self.read(q).await.map(drop),
            Query::TrendingKeywords(q) => self.read(q).await.map(drop),
            Query::ContentByPlatformAndStatus(q) => self.read(q).await.map(drop),
        }
    }

    fn repo(&self) -> Repo<'_, DatabaseConnection> {
        Repo::new(&self.inner.conn, self, None)
    }

    /// Users.
    pub fn users(&self) -> Users<'_, DatabaseConnection> {
        Users(self.repo())
    }

    /// Campaigns.
    pub fn campaigns(&self) -> Campaigns<'_, DatabaseConnection> {
        Campaigns(self.repo())
    }

    /// AI agents.
    pub fn agents(&self) -> Agents<'_, DatabaseConnection> {
        Agents(self.repo())
    }

    /// Agent executions.
    pub fn executions(&self) -> Executions<'_, DatabaseConnection> {
        Executions(self.repo())
    }

    /// Analytics rows.
    pub fn analytics(&self) -> AnalyticsRepo<'_, DatabaseConnection> {
        AnalyticsRepo(self.repo())
    }

    /// Content.
    pub fn contents(&self) -> Contents<'_, DatabaseConnection> {
        Contents(self.repo())
    }

    /// Leads.
    pub fn leads(&self) -> Leads<'_, DatabaseConnection> {
        Leads(self.repo())
    }

    /// Trends.
    pub fn trends(&self) -> Trends<'_, DatabaseConnection> {
        Trends(self.repo())
    }

    /// A/B tests.
    pub fn ab_tests(&self) -> AbTests<'_, DatabaseConnection> {
        AbTests(self.repo())
    }

    /// Begins a transaction. Repositories taken from it ([`Tx::users`], ...)
    /// run inside it; dashboard queries inside it read the database
    /// directly (they must see the transaction's own writes). What the
    /// writes changed is reported when [`Tx::commit`] succeeds; dropping
    /// the `Tx` or calling [`Tx::rollback`] rolls back and reports nothing.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if no connection can be had.
    pub async fn begin(&self) -> Result<Tx> {
        let txn = self.inner.conn.begin().await?;
        Ok(Tx {
            txn,
            db: self.clone(),
            pending: Mutex::new(Vec::new()),
        })
    }
}

/// What [`NeonDb::warm`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WarmReport {
    /// Queries loaded (or already cached).
    pub loaded: usize,
    /// Queries that failed (logged at WARN).
    pub failed: usize,
}

/// A database transaction with the repositories bound to it.
pub struct Tx {
    txn: DatabaseTransaction,
    db: NeonDb,
    pending: Mutex<Vec<Change>>,
}

impl Tx {
    fn repo(&self) -> Repo<'_, DatabaseTransaction> {
        Repo::new(&self.txn, &self.db, Some(&self.pending))
    }

    /// The SeaORM transaction, for statements of your own.
    pub fn connection(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Users.
    pub fn users(&self) -> Users<'_, DatabaseTransaction> {
        Users(self.repo())
    }

    /// Campaigns.
    pub fn campaigns(&self) -> Campaigns<'_, DatabaseTransaction> {
        Campaigns(self.repo())
    }

    /// AI agents.
    pub fn agents(&self) -> Agents<'_, DatabaseTransaction> {
        Agents(self.repo())
    }

    /// Agent executions.
    pub fn executions(&self) -> Executions<'_, DatabaseTransaction> {
        Executions(self.repo())
    }

    /// Analytics rows.
    pub fn analytics(&self) -> AnalyticsRepo<'_, DatabaseTransaction> {
        AnalyticsRepo(self.repo())
    }

    /// Content.
    pub fn contents(&self) -> Contents<'_, DatabaseTransaction> {
        Contents(self.repo())
    }

    /// Leads.
    pub fn leads(&self) -> Leads<'_, DatabaseTransaction> {
        Leads(self.repo())
    }

    /// Trends.
    pub fn trends(&self) -> Trends<'_, DatabaseTransaction> {
        Trends(self.repo())
    }

    /// A/B tests.
    pub fn ab_tests(&self) -> AbTests<'_, DatabaseTransaction> {
        AbTests(self.repo())
    }

    /// Commits, then reports what the transaction's writes changed.
    ///
    /// On PostgreSQL a statement that failed inside the transaction aborts
    /// it; `commit` then rolls back and returns that state as
    /// [`Error::Database`] instead of PostgreSQL's silent rollback. (SQLite
    /// keeps a transaction usable after a failed statement, and commits the
    /// writes that succeeded.)
    ///
    /// # Errors
    /// The database's error; then nothing was committed or reported.
    pub async fn commit(self) -> Result<()> {
        let Tx { txn, db, pending } = self;
        // PostgreSQL turns COMMIT of a transaction in which a statement
        // failed into a silent ROLLBACK; ask first, and say so.
        if db.backend() == DatabaseBackend::Postgres {
            use sea_orm::ConnectionTrait;
            if let Err(e) = txn.execute_unprepared("SELECT 1").await {
                // "current transaction is aborted": nothing will be kept.
                let _ = txn.rollback().await;
                return Err(Error::Database(e));
            }
        }
        txn.commit().await?;
        let changes = pending.into_inner().unwrap_or_else(|p| p.into_inner());
        db.apply_changes(&changes);
        Ok(())
    }

    /// Rolls back; nothing is reported.
    ///
    /// # Errors
    /// The database's error.
    pub async fn rollback(self) -> Result<()> {
        self.txn.rollback().await?;
        Ok(())
    }
}
