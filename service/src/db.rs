//! The handle applications share: one connection pool per [`NeonDb`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnectionMetadata;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    TransactionSession, TransactionTrait,
};

use crate::cache::{CacheStats, QueryCache};
use crate::change::Change;
use crate::config::{Config, DatabaseUrl, FeedMode};
use crate::error::{Error, Result};
use crate::feed::{Feed, FeedKind, FeedStatus, Token};
use crate::metrics::{Metrics, MetricsSnapshot, names};
use crate::pool::{Conn, Health, ProbeTarget, TxConn};
use crate::queries::{DashboardQuery, Query};
use crate::replica::{Choice, Fallback, Floor, ReadRoute, ReplicaStatus, Replicas, RoutingStats};
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
    /// Reads through this clone see every commit up to this position
    /// ([`NeonDb::after`]); 0: no bound.
    after: u64,
}

struct Inner {
    conn: Conn,
    config: Config,
    cache: Arc<QueryCache>,
    metrics: Arc<Metrics>,
    feed: Feed,
    /// Streaming standbys for dashboard reads ([`crate::replica`]).
    replicas: Option<Arc<Replicas>>,
    /// This handle's own writes and the tokens it waited for.
    writes: Arc<Floor>,
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
    /// PostgreSQL: one direct connection is made first, within the connect
    /// timeout, so that an unreachable or silent server fails here at once
    /// (`Unavailable`) instead of after the pool's acquire timeout; the
    /// pool then opens connections as calls need them.
    ///
    /// SQLite is opened for concurrent use: WAL journal (readers never wait
    /// for the writer), `synchronous = NORMAL`, foreign keys on, a busy
    /// timeout for other processes' writers, a pool of readers and one
    /// writer connection that every write and transaction queues for
    /// ([`crate::pool`]). Use a file: every connection to `sqlite::memory:`
    /// is a database of its own, so an in-memory database gets a single
    /// connection for everything.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad settings; [`Error::Unavailable`] if the
    /// database cannot be reached.
    pub async fn connect(config: Config) -> Result<Self> {
        config.validate()?;
        let unavailable = |e: sea_orm::DbErr| match Error::from(e) {
            Error::Database(e) => Error::Unavailable(e),
            other => other,
        };
        // The recorder first, so the handles below register with it.
        crate::metrics::install_prometheus(config.metrics_addr);
        let metrics = Arc::new(Metrics::new(config.slow_query_threshold));
        let conn = if config.database_url.is_postgres() {
            let target = ProbeTarget {
                options: config
                    .database_url
                    .expose()
                    .parse::<PgConnectOptions>()
                    .map_err(|e| {
                        Error::invalid(
                            "DATABASE_URL",
                            format!("{} is not a PostgreSQL URL: {e}", config.database_url),
                        )
                    })?,
                connect_timeout: config.connect_timeout,
            };
            crate::pool::probe_once(&target)
                .await
                .map_err(unavailable)?;
            let losses = Arc::new(crate::pool::LossClock::default());
            let mut options = pool_options(&config, &config.database_url, config.max_connections);
            options
                .connect_lazy(true)
                .map_sqlx_postgres_before_acquire(ping_after_loss(losses.clone()));
            if let Some(timeout) = config.statement_timeout {
                options.statement_timeout(timeout);
            }
            let health = Arc::new(Health::new(Some(target), losses.clone()));
            postgres_conn(&config, options, losses, &metrics, health)
                .await
                .map_err(unavailable)?
        } else {
            let url = config.database_url.expose();
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let readers = if in_memory { 1 } else { config.max_connections };
            let mut read = Database::connect(sqlite_options(&config, readers, in_memory))
                .await
                .map_err(unavailable)?;
            watch_statements(&mut read, &metrics);
            let write = if in_memory {
                None
            } else {
                let mut w = Database::connect(sqlite_options(&config, 1, true))
                    .await
                    .map_err(unavailable)?;
                watch_statements(&mut w, &metrics);
                Some(w)
            };
            Conn::new(read, write, Arc::new(Health::new(None, Arc::default())))
        };
        let cache = Arc::new(QueryCache::new(config.cache.clone()));
        metrics::gauge!(names::DB_POOL_MAX_CONNECTIONS).set(f64::from(conn.capacity()));
        metrics::gauge!(names::CACHE_CAPACITY_BYTES).set(config.cache.capacity_bytes as f64);
        metrics::gauge!(names::DB_CIRCUIT_OPEN).set(0.0);
        let writes = Arc::new(Floor::default());
        let replicas = if config.replica_urls.is_empty() {
            None
        } else {
            Some(
                Replicas::start(
                    &config,
                    conn.reader().clone(),
                    [writes.clone(), cache.invalidation_floor().clone()],
                    &metrics,
                )
                .await?,
            )
        };
        let feed = start_feed(&config, &conn, &cache).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn,
                config,
                cache,
                metrics,
                feed,
                replicas,
                writes,
            }),
            bypass: false,
            after: 0,
        })
    }

    /// A clone of this handle whose dashboard queries skip the cache (the
    /// per-call bypass): `db.uncached().users().by_role(..)`.
    pub fn uncached(&self) -> NeonDb {
        NeonDb {
            inner: self.inner.clone(),
            bypass: true,
            after: self.after,
        }
    }

    /// A clone of this handle whose dashboard queries see every commit up
    /// to `token` (read-your-writes across instances, without waiting
    /// first): a cached result serves only once the change feed has
    /// applied the token; until then the read goes to a replica that has
    /// replayed past it, waiting up to `NEONHUB_REPLICA_WAIT_MS` for one,
    /// else to the primary (and is not cached). Without replicas, until
    /// the feed applied it, reads go to the primary.
    pub fn after(&self, token: Token) -> NeonDb {
        NeonDb {
            inner: self.inner.clone(),
            bypass: self.bypass,
            after: self.after.max(token.0),
        }
    }

    /// The replicas' positions, lag and reads (empty without replicas).
    pub fn replicas(&self) -> Vec<ReplicaStatus> {
        self.inner
            .replicas
            .as_ref()
            .map(|r| r.status())
            .unwrap_or_default()
    }

    /// Where this handle's dashboard reads went (zeros without replicas).
    pub fn routing(&self) -> RoutingStats {
        self.inner
            .replicas
            .as_ref()
            .map(|r| r.stats())
            .unwrap_or_default()
    }

    /// Where a dashboard read through this handle that misses the cache
    /// would go now, decided as a real read decides it but without
    /// waiting for a token and without counting: a diagnostic (and what
    /// the replica benchmark times). `None` without replicas.
    pub fn read_route(&self) -> Option<ReadRoute> {
        let replicas = self.inner.replicas.as_ref()?;
        let caching = self.inner.cache.serves(self.bypasses());
        Some(match replicas.choose(self.need(caching)) {
            Choice::Replica(replica, _) => ReadRoute::Replica(replica.index()),
            Choice::Primary(reason) => ReadRoute::Primary(reason),
        })
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
        let (size, idle) = self.inner.conn.pool_counts();
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
        metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "in_use")
            .set(f64::from(size.saturating_sub(idle)));
    }

    /// The SeaORM connection (a pool), for statements of your own. On
    /// SQLite this is the readers' pool: writes sent here wait for the
    /// write lock (busy timeout) like another process's would.
    pub fn connection(&self) -> &DatabaseConnection {
        self.inner.conn.reader()
    }

    /// The connections the repositories use: the pool through the
    /// fail-fast circuit, and on SQLite the one writer.
    pub fn conn(&self) -> &Conn {
        &self.inner.conn
    }

    /// Whether the fail-fast circuit is open (calls fail at once with
    /// [`Error::Unavailable`] while the server is probed).
    pub fn is_unavailable(&self) -> bool {
        self.inner.conn.health().is_open()
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
            Ok(inner) => {
                // The feed first: its task must not poll a closed pool.
                drop(inner.feed);
                if let Some(replicas) = &inner.replicas {
                    replicas.close().await;
                }
                inner.conn.close().await.map_err(Error::from)
            }
            Err(_) => Ok(()),
        }
    }

    /// Runs a validated dashboard query through the cache, timed.
    pub(crate) async fn read<Q: DashboardQuery>(&self, query: &Q) -> Result<Arc<Q::Output>> {
        let started = Instant::now();
        let bypass = self.bypasses();
        let result = self
            .inner
            .cache
            .get_or_load_at(query, bypass, |caching| self.load(query, caching))
            .await;
        match result {
            Ok((value, outcome)) => {
                self.inner
                    .metrics
                    .record_call(Q::NAME, outcome, started.elapsed(), true);
                Ok(value)
            }
            Err(e) => {
                let outcome = if bypass || !self.inner.cache.is_enabled() {
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

    /// Whether reads through this clone skip the cache: asked to, or bound
    /// to a token the feed has not applied (cached results may predate it).
    fn bypasses(&self) -> bool {
        self.bypass || (self.after > 0 && !self.feed_applied(self.after))
    }

    /// Whether the change feed has applied every commit up to `lsn`.
    fn feed_applied(&self, lsn: u64) -> bool {
        let feed = &self.inner.feed;
        matches!(feed.kind(), FeedKind::Postgres)
            && feed.shared().is_up()
            && feed.shared().applied() >= lsn
    }

    /// Loads `query` from the database: a replica that has replayed far
    /// enough, else the primary ([`crate::replica`]). Returns the
    /// replica's position with the result (`None`: from the primary).
    /// `caching`: the result may be stored, so it must also cover the
    /// cache's invalidations.
    async fn load<Q: DashboardQuery>(
        &self,
        query: &Q,
        caching: bool,
    ) -> Result<(Q::Output, Option<u64>)> {
        let conn = &self.inner.conn;
        let Some(replicas) = &self.inner.replicas else {
            return Ok((query.run(conn).await?, None));
        };
        let fallback = match self.route(replicas, caching).await {
            Choice::Replica(replica, at) => match query.run(replica.conn()).await {
                Ok(value) => {
                    replicas.count_replica(replica);
                    return Ok((value, Some(at)));
                }
                Err(e) => {
                    replicas.failed(replica, &e);
                    Fallback::Error
                }
            },
            Choice::Primary(reason) => reason,
        };
        replicas.count_primary(Some(fallback));
        Ok((query.run(conn).await?, None))
    }

    /// Where a read goes: the position it must see is this handle's own
    /// writes and waited-for tokens, this clone's token, and when the
    /// result may be cached the cache's invalidations.
    async fn route<'r>(&self, replicas: &'r Replicas, caching: bool) -> Choice<'r> {
        if self.after > 0 {
            replicas.choose_waiting(|| self.need(caching)).await
        } else {
            replicas.choose(self.need(caching))
        }
    }

    /// The position a read must see (`None`: one is not known yet).
    fn need(&self, caching: bool) -> Option<u64> {
        let mut need = self.inner.writes.get()?.max(self.after);
        if caching {
            need = need.max(self.inner.cache.invalidation_floor().get()?);
        }
        Some(need)
    }

    /// What the change feed is doing ([`crate::feed`]).
    pub fn feed_status(&self) -> FeedStatus {
        self.inner.feed.status()
    }

    /// A consistency token: a position at or past the commit of every
    /// write that has returned (on any handle, any writer). Hand it to
    /// another instance and [`NeonDb::wait_for`] it there for
    /// read-your-writes across instances. On SQLite positions carry no
    /// information (the token is `0/0`; waiting means one full poll).
    ///
    /// # Errors
    /// The database's error (PostgreSQL asks the server).
    pub async fn token(&self) -> Result<Token> {
        match self.backend() {
            DatabaseBackend::Postgres => crate::feed::postgres::current_position(&self.inner.conn)
                .await
                .map(Token),
            _ => Ok(Token::default()),
        }
    }

    /// Returns once this handle's cache reflects every commit up to
    /// `token`: its change feed has applied them (PostgreSQL), or has
    /// polled once after this call began (SQLite). Immediately if it
    /// already has, or when the cache is off.
    ///
    /// # Errors
    /// [`Error::Timeout`] with [`TimeoutKind::ChangeFeed`](crate::error::TimeoutKind)
    /// after `timeout` (the feed is down or lagging; the cache has been
    /// told nothing wrong, reads may just not see the write yet);
    /// [`Error::Invalid`] on a handle without a feed (TTL-only: nothing
    /// to wait for could make its cache fresh).
    pub async fn wait_for(&self, token: Token, timeout: Duration) -> Result<()> {
        let feed = &self.inner.feed;
        // From here on this handle's reads must see the token, cached or
        // not, whichever server they go to.
        let bound = |result: Result<()>| {
            if result.is_ok() {
                self.inner.writes.raise(token.0);
            }
            result
        };
        if !self.inner.cache.is_enabled() {
            return bound(Ok(()));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let reached = match feed.kind() {
            FeedKind::None if feed.status().ttl_only => {
                return Err(Error::invalid(
                    "NEONHUB_CHANGE_FEED",
                    "this handle runs TTL-only (no change feed), so no wait makes its cache \
                     fresh; enable logical decoding on the server or read uncached",
                ));
            }
            FeedKind::None => true,
            FeedKind::Postgres => {
                let target = token.0;
                if feed.shared().applied() >= target && feed.shared().is_up() {
                    true
                } else {
                    // A sync message the stream delivers after everything
                    // committed before it; waiting for it bounds the wait
                    // by the feed's lag, not by other traffic.
                    let sync = tokio::time::timeout_at(
                        deadline,
                        crate::feed::postgres::sync_point(&self.inner.conn),
                    )
                    .await
                    .map_err(|_| feed_timeout(timeout, "emitting the sync message"))??;
                    let target = target.max(sync);
                    feed.wait_until(|s| s.is_up() && s.applied() >= target, deadline)
                        .await
                }
            }
            FeedKind::Sqlite => {
                let target = feed.shared().polls() + 2;
                feed.wait_until(|s| s.is_up() && s.polls() >= target, deadline)
                    .await
            }
        };
        if reached {
            bound(Ok(()))
        } else {
            Err(feed_timeout(
                timeout,
                "the change feed had not applied the position",
            ))
        }
    }

    /// Reports this handle's committed writes: to the cache, and to the
    /// replica routing (reads must now see a position not read yet).
    pub(crate) fn apply_changes(&self, changes: &[Change]) {
        if let Some(replicas) = &self.inner.replicas {
            self.inner.writes.mark_unknown();
            self.inner.cache.apply_changes(changes);
            replicas.kick();
        } else {
            self.inner.cache.apply_changes(changes);
        }
    }

    /// The invalidation entry point for changes made elsewhere (another
    /// instance, a PostgreSQL `LISTEN`/`NOTIFY` channel, a migration):
    /// removes every cached result `changes` can affect. Writes through
    /// this handle call it themselves.
    pub fn invalidate(&self, changes: &[Change]) {
        self.inner.cache.apply_changes(changes);
        if let Some(replicas) = &self.inner.replicas {
            replicas.kick();
        }
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
                match db.warm_one(&query).await {
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
    async fn warm_one(&self, query: &Query) -> Result<()> {
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

    fn repo(&self) -> Repo<'_, Conn> {
        Repo::new(&self.inner.conn, self, None)
    }

    /// Users.
    pub fn users(&self) -> Users<'_, Conn> {
        Users(self.repo())
    }

    /// Campaigns.
    pub fn campaigns(&self) -> Campaigns<'_, Conn> {
        Campaigns(self.repo())
    }

    /// AI agents.
    pub fn agents(&self) -> Agents<'_, Conn> {
        Agents(self.repo())
    }

    /// Agent executions.
    pub fn executions(&self) -> Executions<'_, Conn> {
        Executions(self.repo())
    }

    /// Analytics rows.
    pub fn analytics(&self) -> AnalyticsRepo<'_, Conn> {
        AnalyticsRepo(self.repo())
    }

    /// Content.
    pub fn contents(&self) -> Contents<'_, Conn> {
        Contents(self.repo())
    }

    /// Leads.
    pub fn leads(&self) -> Leads<'_, Conn> {
        Leads(self.repo())
    }

    /// Trends.
    pub fn trends(&self) -> Trends<'_, Conn> {
        Trends(self.repo())
    }

    /// A/B tests.
    pub fn ab_tests(&self) -> AbTests<'_, Conn> {
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

fn feed_timeout(timeout: Duration, what: &str) -> Error {
    Error::Timeout {
        kind: crate::error::TimeoutKind::ChangeFeed,
        message: format!("wait_for: {what} within {timeout:?}"),
        source: None,
    }
}

/// Starts the change feed the mode asks for ([`crate::feed`]).
async fn start_feed(config: &Config, conn: &Conn, cache: &Arc<QueryCache>) -> Result<Feed> {
    if config.change_feed == FeedMode::Off {
        return Ok(Feed::ttl_only());
    }
    let started = match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            crate::feed::postgres::start(
                config,
                conn.reader(),
                cache.clone(),
                conn.health().losses().clone(),
            )
            .await
        }
        // In memory: no other connection can see (or write) it.
        _ => match conn.separate_writer() {
            None => return Ok(Feed::complete()),
            Some(writer) => crate::feed::sqlite::start(writer.clone(), cache.clone()).await,
        },
    };
    match started {
        Ok(feed) => Ok(feed),
        Err(reason) => {
            cache.resume_hits();
            if config.change_feed == FeedMode::On {
                return Err(Error::invalid(
                    "NEONHUB_CHANGE_FEED",
                    format!("is on, but the change feed cannot run: {reason}"),
                ));
            }
            tracing::warn!(
                reason = %reason,
                "change feed unavailable: cached results live until their TTL \
                 (other instances' and other writers' changes are not seen); \
                 set NEONHUB_CHANGE_FEED=off to silence this"
            );
            Ok(Feed::ttl_only())
        }
    }
}

/// A pooled connection idle at least this long is pinged before it is
/// handed out; a hotter one is not.
///
/// A connection idle for less than this answered a moment ago: sqlx
/// pings every connection when it goes back to its pool (and closes it if
/// that fails), and a leased connection is parked only after a statement
/// succeeded on it ([`crate::lease`]). Pinging it again on every acquire, sqlx's default, cost one
/// round trip per call (issue 10 measured 471 → 353 µs p50 for campaign
/// analytics with raw sqlx). A server that went away within this window
/// costs at most one `Unavailable` per pooled connection, as a server that
/// goes away mid-call does; the fail-fast circuit handles the rest.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// What [`ping_after_loss`]'s check returns.
type PingFuture<'c> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = std::result::Result<bool, sea_orm::sqlx::Error>>
            + Send
            + 'c,
    >,
>;

/// The pool's check before handing out a connection (PostgreSQL): ping
/// it if the handle saw connections lost since it went idle. (Connections
/// idle for [`PING_IF_IDLE_FOR`] are pinged anyway, by the pool options.)
pub(crate) fn ping_after_loss(
    losses: Arc<crate::pool::LossClock>,
) -> impl for<'c> Fn(&'c mut PgConnection, PoolConnectionMetadata) -> PingFuture<'c>
+ Send
+ Sync
+ 'static {
    move |conn, meta| {
        let suspect = losses.lost_within(meta.idle_for);
        Box::pin(async move {
            if suspect {
                use sea_orm::sqlx::Connection as _;
                conn.ping().await?;
            }
            Ok(true)
        })
    }
}

/// Pool settings shared by every pool of a handle (`url`: the primary's
/// or a replica's).
pub(crate) fn pool_options(config: &Config, url: &DatabaseUrl, max: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.expose().to_owned());
    options
        .max_connections(max)
        .min_connections(config.min_connections.min(max))
        .acquire_timeout(config.acquire_timeout)
        .idle_timeout(config.idle_timeout)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false);
    options
}

/// A SQLite pool of `max` connections; `pinned`: never closed while the
/// handle lives (the writer, and an in-memory database's one connection).
fn sqlite_options(config: &Config, max: u32, pinned: bool) -> ConnectOptions {
    let mut options = pool_options(config, &config.database_url, max);
    if pinned {
        options
            .min_connections(max)
            .max_lifetime(None)
            .idle_timeout(None);
    }
    let busy = config.sqlite_busy_timeout;
    options.map_sqlx_sqlite_opts(move |o| {
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(busy)
    });
    options
}

/// A PostgreSQL [`Conn`] from `options`: SeaORM's pool (transactions,
/// [`NeonDb::connection`]) and the leases' pool of the same settings for
/// every other statement ([`crate::lease`]), both timed into `metrics`.
pub(crate) async fn postgres_conn(
    config: &Config,
    options: ConnectOptions,
    losses: Arc<crate::pool::LossClock>,
    metrics: &Arc<Metrics>,
    health: Arc<Health>,
) -> std::result::Result<Conn, sea_orm::DbErr> {
    let leases_pool = Database::connect(options.clone())
        .await?
        .get_postgres_connection_pool()
        .clone();
    let leases = crate::lease::Leases::new(
        leases_pool,
        config.max_connections,
        config.acquire_timeout,
        config.idle_timeout,
        losses,
        metrics.clone(),
    );
    let mut read = Database::connect(options).await?;
    watch_statements(&mut read, metrics);
    Ok(Conn::with_leases(read, leases, health))
}

/// Times every statement of `conn` (SeaORM's metric callback); set right
/// after connecting, so that every clone of `conn` reports.
pub(crate) fn watch_statements(conn: &mut DatabaseConnection, metrics: &Arc<Metrics>) {
    let sink = metrics.clone();
    conn.set_metric_callback(move |info| {
        sink.record_statement(&info.statement.sql, info.elapsed, info.failed);
    });
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
    txn: TxConn,
    db: NeonDb,
    pending: Mutex<Vec<Change>>,
}

impl Tx {
    fn repo(&self) -> Repo<'_, TxConn> {
        Repo::new(&self.txn, &self.db, Some(&self.pending))
    }

    /// The transaction, for statements of your own (a SeaORM
    /// `ConnectionTrait`; a failure there also makes [`Tx::commit`] roll
    /// back on PostgreSQL).
    pub fn connection(&self) -> &TxConn {
        &self.txn
    }

    /// Users.
    pub fn users(&self) -> Users<'_, TxConn> {
        Users(self.repo())
    }

    /// Campaigns.
    pub fn campaigns(&self) -> Campaigns<'_, TxConn> {
        Campaigns(self.repo())
    }

    /// AI agents.
    pub fn agents(&self) -> Agents<'_, TxConn> {
        Agents(self.repo())
    }

    /// Agent executions.
    pub fn executions(&self) -> Executions<'_, TxConn> {
        Executions(self.repo())
    }

    /// Analytics rows.
    pub fn analytics(&self) -> AnalyticsRepo<'_, TxConn> {
        AnalyticsRepo(self.repo())
    }

    /// Content.
    pub fn contents(&self) -> Contents<'_, TxConn> {
        Contents(self.repo())
    }

    /// Leads.
    pub fn leads(&self) -> Leads<'_, TxConn> {
        Leads(self.repo())
    }

    /// Trends.
    pub fn trends(&self) -> Trends<'_, TxConn> {
        Trends(self.repo())
    }

    /// A/B tests.
    pub fn ab_tests(&self) -> AbTests<'_, TxConn> {
        AbTests(self.repo())
    }

    /// Commits, then reports what the transaction's writes changed.
    ///
    /// On PostgreSQL a statement that failed inside the transaction aborts
    /// it; `commit` then rolls back and returns that statement's error
    /// (classified as the statement's call was) instead of PostgreSQL's
    /// silent rollback. (SQLite keeps a transaction usable after a failed
    /// statement, and commits the writes that succeeded.)
    ///
    /// # Errors
    /// The database's error; then nothing was committed or reported. A
    /// connection lost during the commit is [`Error::Unavailable`]: the
    /// server may or may not have committed, so the transaction's changes
    /// are reported to the cache anyway (an extra invalidation costs only a
    /// cache hit; a missing one would serve stale data).
    pub async fn commit(self) -> Result<()> {
        let Tx { txn, db, pending } = self;
        let changes = pending.into_inner().unwrap_or_else(|p| p.into_inner());
        match txn.commit().await {
            Ok(()) => {
                db.apply_changes(&changes);
                Ok(())
            }
            Err(e) => {
                let error = Error::from(e);
                if matches!(error, Error::Unavailable(_)) {
                    db.apply_changes(&changes);
                }
                Err(error)
            }
        }
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
