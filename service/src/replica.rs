//! Read replicas with read-your-writes (SPEC §11).
//!
//! `NEONHUB_REPLICA_URLS` (or [`Config::with_replica`](crate::Config::with_replica))
//! names PostgreSQL streaming standbys. Each gets a pool of its own. The
//! eight dashboard queries may read from a replica; everything else (every
//! write, every transaction, `get`-style repository reads, statements
//! sent to [`NeonDb::connection`](crate::NeonDb::connection)) goes to the
//! primary.
//!
//! **Positions.** Every replica's replay position
//! (`pg_last_wal_replay_lsn()`) is read in the background every
//! `NEONHUB_REPLICA_POLL_MS`. A handle keeps two floors, WAL positions a
//! read must have been replayed to:
//!
//! - the *write floor*: this handle's own writes (and transactions), and
//!   every token it [waited for](crate::NeonDb::wait_for);
//! - the *invalidation floor*: every invalidation its cache applied (the
//!   change feed's commits, its own writes, [`NeonDb::invalidate`](crate::NeonDb::invalidate),
//!   clears).
//!
//! A write returns without an extra round trip: it only marks the floor
//! *unresolved* and wakes the background task, which reads the primary's
//! WAL insert position (at or past the commit of every write that has
//! returned) and raises the floor to it. While a floor is unresolved,
//! reads that need it go to the primary. The change feed knows each
//! commit's position and raises the invalidation floor directly.
//!
//! **Routing.** A cache miss goes to a replica (round robin among those
//! that qualify) that is up and whose last read replay position is at or
//! past both floors; an uncached read ([`NeonDb::uncached`](crate::NeonDb::uncached),
//! or with the cache off) needs only the write floor; a read bound to a
//! token ([`NeonDb::after`](crate::NeonDb::after)) also needs the token,
//! and waits up to `NEONHUB_REPLICA_WAIT_MS` for a replica to replay past
//! it. Otherwise the read goes to the primary: a *fallback*, counted by
//! reason (`behind`, `down`, `error`).
//!
//! **Caching.** A result loaded from a replica is stored only if that
//! replica's position (as read before the query was sent; replay only
//! moves forward, so the query saw at least that much) covers the
//! invalidation floor when the result is stored and no invalidation of
//! unknown position arrived while it loaded. Together with the routing
//! rule, a cached result is never older than the last invalidation the
//! handle applied.
//!
//! **Faults.** A replica whose poll or read fails is taken out at once
//! (a failed read is retried on the primary: the caller sees no error) and
//! polled back in; its idle connections are pinged before their next use.
//! A server that is not in recovery (a promoted standby, a wrong URL) is
//! never read from.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::DatabaseUrl;
use crate::feed::Token;
use crate::metrics::names;

/// At most this many replicas (the `replica` metric label's fixed set is
/// `0` to `15`).
pub const MAX_REPLICAS: usize = 16;

/// A WAL position that reads must have been replayed to, with events
/// whose position is not known yet.
#[derive(Debug, Default)]
pub(crate) struct Floor {
    at: AtomicU64,
    /// Events of unknown position so far.
    unknown: AtomicU64,
    /// `unknown` as of the last resolution.
    resolved: AtomicU64,
}

impl Floor {
    /// An event at `lsn`.
    pub(crate) fn raise(&self, lsn: u64) {
        self.at.fetch_max(lsn, Ordering::SeqCst);
    }

    /// An event whose position is not known: reads needing this floor go
    /// to the primary until a position read after it resolves it.
    pub(crate) fn mark_unknown(&self) {
        self.unknown.fetch_add(1, Ordering::SeqCst);
    }

    /// Events of unknown position so far (see [`Floor::resolve`]).
    pub(crate) fn unknown(&self) -> u64 {
        self.unknown.load(Ordering::SeqCst)
    }

    /// The first `upto` unknown events (counted before `lsn` was read
    /// from the primary) are at or before `lsn`. With no new unknown
    /// event the floor stays where it is: raising it to the primary's
    /// position anyway would send every read to the primary whenever a
    /// replica trails the primary at all, whatever the handle wrote.
    /// (One task resolves a floor, so the check and the raise do not race
    /// with another resolution.)
    pub(crate) fn resolve(&self, upto: u64, lsn: u64) {
        if upto > self.resolved.load(Ordering::SeqCst) {
            self.raise(lsn);
            self.resolved.fetch_max(upto, Ordering::SeqCst);
        }
    }

    /// The floor, or `None` while an event's position is unknown.
    pub(crate) fn get(&self) -> Option<u64> {
        let unknown = self.unknown.load(Ordering::SeqCst);
        if self.resolved.load(Ordering::SeqCst) < unknown {
            None
        } else {
            Some(self.at.load(Ordering::SeqCst))
        }
    }

    /// The highest known position (unknown events aside).
    pub(crate) fn known(&self) -> u64 {
        self.at.load(Ordering::SeqCst)
    }
}

/// Why a read that could have used a replica went to the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// No replica that is up had replayed far enough.
    Behind,
    /// No replica was up.
    Down,
    /// The replica's read failed; it was retried on the primary.
    Error,
}

impl Fallback {
    /// The `reason` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Fallback::Behind => "behind",
            Fallback::Down => "down",
            Fallback::Error => "error",
        }
    }
}

/// One standby.
pub(crate) struct Replica {
    index: usize,
    label: &'static str,
    url: DatabaseUrl,
    /// Its reads on leased connections, as the primary's statements
    /// ([`crate::lease`]); its position polls on the SeaORM pool
    /// ([`crate::pool::Conn::reader`]).
    statements: crate::pool::Conn,
    up: AtomicBool,
    /// Not in recovery: never read from.
    not_standby: AtomicBool,
    position: AtomicU64,
    lag_bytes: AtomicU64,
    lag_micros: AtomicU64,
    reads: AtomicU64,
    losses: Arc<crate::pool::LossClock>,
}

impl Replica {
    /// Where its reads run.
    pub(crate) fn conn(&self) -> &crate::pool::Conn {
        &self.statements
    }

    /// Its place in `NEONHUB_REPLICA_URLS`.
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}

/// What a replica is doing ([`NeonDb::replicas`](crate::NeonDb::replicas)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// The URL, password redacted.
    pub url: String,
    /// Answering its polls as a standby.
    pub up: bool,
    /// Last replay position read.
    pub position: Token,
    /// Bytes of WAL the primary had written that it had not replayed.
    pub lag_bytes: u64,
    /// How long ago the primary had written the oldest WAL it had not
    /// replayed (0 when caught up).
    pub lag: Duration,
    /// Dashboard reads it served.
    pub reads: u64,
}

/// Where a handle's dashboard reads went ([`NeonDb::routing`](crate::NeonDb::routing)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoutingStats {
    /// Reads sent to the primary.
    pub primary_reads: u64,
    /// Reads served by a replica.
    pub replica_reads: u64,
    /// Fallbacks: no replica had replayed far enough.
    pub fallbacks_behind: u64,
    /// Fallbacks: no replica was up.
    pub fallbacks_down: u64,
    /// Fallbacks: a replica's read failed and was retried on the primary.
    pub fallbacks_error: u64,
}

/// Where a read would go ([`NeonDb::read_route`](crate::NeonDb::read_route)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadRoute {
    /// The replica at this place in `NEONHUB_REPLICA_URLS`.
    Replica(usize),
    /// The primary, and why.
    Primary(Fallback),
}

/// Where one read goes.
pub(crate) enum Choice<'a> {
    /// This replica, which had replayed to the position given.
    Replica(&'a Replica, u64),
    /// The primary, and why.
    Primary(Fallback),
}

/// A handle's replicas and the tasks that track them.
pub(crate) struct Replicas {
    list: Vec<Arc<Replica>>,
    next: AtomicUsize,
    /// Wakes the primary-position task (a write made a floor unresolved).
    kick: Arc<Notify>,
    /// Bumped after every replica poll, for token waits.
    polled: watch::Sender<u64>,
    wait: Duration,
    primary_reads: AtomicU64,
    fallbacks: [AtomicU64; 3],
    /// `neonhub_db_reads_total` for `primary`, `replica`, and
    /// `neonhub_replica_fallbacks_total` by reason: registered once, so a
    /// routed read does no registry lookup.
    read_counters: [metrics::Counter; 2],
    fallback_counters: [metrics::Counter; 3],
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for task in self.tasks.get_mut().map(std::mem::take).unwrap_or_default() {
            task.abort();
        }
    }
}

/// Primary WAL positions sampled over time, for lag in seconds.
type Samples = Arc<Mutex<VecDeque<(Instant, u64)>>>;

/// The samples kept: one per poll in which the primary wrote WAL, so at
/// the default poll 60 s of history; a replica further behind reads as
/// that old.
const MAX_SAMPLES: usize = 6000;

impl Replicas {
    /// Pools for `urls` (opened lazily: a replica that is down at start is
    /// just down) and the tracking tasks.
    pub(crate) async fn start(
        config: &crate::Config,
        primary: DatabaseConnection,
        floors: [Arc<Floor>; 2],
        metrics: &Arc<crate::metrics::Metrics>,
    ) -> crate::Result<Arc<Self>> {
        let mut list = Vec::with_capacity(config.replica_urls.len());
        for (i, url) in config.replica_urls.iter().enumerate() {
            let losses = Arc::new(crate::pool::LossClock::default());
            let mut options = crate::db::pool_options(config, url, config.max_connections);
            options
                .connect_lazy(true)
                .connect_timeout(config.connect_timeout)
                .map_sqlx_postgres_before_acquire(crate::db::ping_after_loss(losses.clone()));
            if let Some(timeout) = config.statement_timeout {
                options.statement_timeout(timeout);
            }
            // No circuit of its own: a failed replica read falls back to
            // the primary, and the poller takes the replica out.
            let health = Arc::new(crate::pool::Health::new(None, losses.clone()));
            let statements =
                crate::db::postgres_conn(config, options, losses.clone(), metrics, health).await?;
            list.push(Arc::new(Replica {
                index: i,
                label: LABELS[i],
                url: url.clone(),
                statements,
                up: AtomicBool::new(false),
                not_standby: AtomicBool::new(false),
                position: AtomicU64::new(0),
                lag_bytes: AtomicU64::new(0),
                lag_micros: AtomicU64::new(0),
                reads: AtomicU64::new(0),
                losses,
            }));
        }
        let replicas = Arc::new(Self {
            list,
            next: AtomicUsize::new(0),
            kick: Arc::new(Notify::new()),
            polled: watch::channel(0).0,
            wait: config.replica_wait,
            primary_reads: AtomicU64::new(0),
            fallbacks: Default::default(),
            read_counters: ["primary", "replica"]
                .map(|target| metrics::counter!(names::DB_READS_TOTAL, "target" => target)),
            fallback_counters: [Fallback::Behind, Fallback::Down, Fallback::Error].map(|reason| {
                metrics::counter!(names::REPLICA_FALLBACKS_TOTAL, "reason" => reason.as_str())
            }),
            tasks: Mutex::new(Vec::new()),
        });
        let samples: Samples = Arc::default();
        let mut tasks = vec![tokio::spawn(track_primary(
            primary,
            floors,
            samples.clone(),
            replicas.kick.clone(),
            config.replica_poll,
            config.connect_timeout,
        ))];
        for replica in &replicas.list {
            tasks.push(tokio::spawn(track_replica(
                replica.clone(),
                samples.clone(),
                replicas.polled.clone(),
                config.replica_poll,
                config.connect_timeout,
            )));
        }
        *replicas.tasks.lock().unwrap_or_else(|p| p.into_inner()) = tasks;
        Ok(replicas)
    }

    /// A floor became unresolved: read the primary's position now.
    pub(crate) fn kick(&self) {
        self.kick.notify_one();
    }

    /// Where a read that must see `need` goes (`None`: a position it must
    /// see is not known yet).
    pub(crate) fn choose(&self, need: Option<u64>) -> Choice<'_> {
        let mut any_up = false;
        let n = self.list.len();
        let start = if n > 1 {
            self.next.fetch_add(1, Ordering::Relaxed) % n
        } else {
            0
        };
        for i in 0..n {
            let r = &self.list[(start + i) % n];
            if !r.up.load(Ordering::Acquire) {
                continue;
            }
            any_up = true;
            let at = r.position.load(Ordering::Acquire);
            if need.is_some_and(|need| at >= need) {
                return Choice::Replica(r, at);
            }
        }
        Choice::Primary(if any_up {
            Fallback::Behind
        } else {
            Fallback::Down
        })
    }

    /// Like [`Replicas::choose`], waiting up to the configured bound for a
    /// replica to replay far enough (reads bound to a token).
    pub(crate) async fn choose_waiting(&self, need: impl Fn() -> Option<u64>) -> Choice<'_> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let mut polled = self.polled.subscribe();
        loop {
            polled.mark_unchanged();
            match self.choose(need()) {
                Choice::Primary(Fallback::Behind) if tokio::time::Instant::now() < deadline => {
                    if tokio::time::timeout_at(deadline, polled.changed())
                        .await
                        .is_err()
                    {
                        return self.choose(need());
                    }
                }
                choice => return choice,
            }
        }
    }

    /// A read went to the primary.
    pub(crate) fn count_primary(&self, fallback: Option<Fallback>) {
        self.primary_reads.fetch_add(1, Ordering::Relaxed);
        self.read_counters[0].increment(1);
        if let Some(reason) = fallback {
            let i = match reason {
                Fallback::Behind => 0,
                Fallback::Down => 1,
                Fallback::Error => 2,
            };
            self.fallbacks[i].fetch_add(1, Ordering::Relaxed);
            self.fallback_counters[i].increment(1);
        }
    }

    /// A replica served a read.
    pub(crate) fn count_replica(&self, replica: &Replica) {
        replica.reads.fetch_add(1, Ordering::Relaxed);
        self.read_counters[1].increment(1);
    }

    /// A replica's read failed: out until a poll finds it answering (a
    /// connection-class failure also makes its idle connections suspect).
    pub(crate) fn failed(&self, replica: &Replica, error: &DbErr) {
        if crate::error::classify(error) == crate::error::Class::Connection {
            replica.losses.mark();
            if replica.up.swap(false, Ordering::AcqRel) {
                metrics::gauge!(names::REPLICA_UP, "replica" => replica.label).set(0.0);
                tracing::warn!(replica = %replica.url, error = %error,
                    "replica read failed; reading from the primary until it answers");
            }
        } else {
            tracing::debug!(replica = %replica.url, error = %error,
                "replica read failed; retried on the primary");
        }
    }

    pub(crate) fn status(&self) -> Vec<ReplicaStatus> {
        self.list
            .iter()
            .map(|r| ReplicaStatus {
                url: r.url.redacted(),
                up: r.up.load(Ordering::Acquire),
                position: Token(r.position.load(Ordering::Acquire)),
                lag_bytes: r.lag_bytes.load(Ordering::Relaxed),
                lag: Duration::from_micros(r.lag_micros.load(Ordering::Relaxed)),
                reads: r.reads.load(Ordering::Relaxed),
            })
            .collect()
    }

    pub(crate) fn stats(&self) -> RoutingStats {
        let f = |i: usize| self.fallbacks[i].load(Ordering::Relaxed);
        RoutingStats {
            primary_reads: self.primary_reads.load(Ordering::Relaxed),
            replica_reads: self
                .list
                .iter()
                .map(|r| r.reads.load(Ordering::Relaxed))
                .sum(),
            fallbacks_behind: f(0),
            fallbacks_down: f(1),
            fallbacks_error: f(2),
        }
    }

    /// Closes the replicas' pools.
    pub(crate) async fn close(&self) {
        for task in self
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
        {
            task.abort();
        }
        for r in &self.list {
            let _ = r.statements.close().await;
        }
    }
}

/// The `replica` label values.
const LABELS: [&str; MAX_REPLICAS] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
];

/// Runs `sql` (one row of text columns) within `timeout`.
async fn texts(
    conn: &DatabaseConnection,
    sql: &str,
    timeout: Duration,
) -> Result<Vec<Option<String>>, String> {
    let stmt = Statement::from_string(DatabaseBackend::Postgres, sql.to_owned());
    let row = tokio::time::timeout(timeout, conn.query_one_raw(stmt))
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no row".to_owned())?;
    let mut out = Vec::new();
    let mut i = 0;
    while let Ok(v) = row.try_get_by_index::<Option<String>>(i) {
        out.push(v);
        i += 1;
    }
    Ok(out)
}

fn lsn(text: Option<&Option<String>>) -> Option<u64> {
    text.and_then(Option::as_deref)
        .and_then(|t| t.parse::<Token>().ok())
        .map(|t| t.0)
}

/// The primary's positions: resolves the floors (insert position) and
/// samples the write position for lag.
async fn track_primary(
    primary: DatabaseConnection,
    floors: [Arc<Floor>; 2],
    samples: Samples,
    kick: Arc<Notify>,
    every: Duration,
    timeout: Duration,
) {
    loop {
        let pending = [floors[0].unknown(), floors[1].unknown()];
        match texts(
            &primary,
            "SELECT pg_current_wal_insert_lsn()::text, pg_current_wal_lsn()::text",
            timeout,
        )
        .await
        {
            Ok(row) => {
                if let (Some(insert), Some(written)) = (lsn(row.first()), lsn(row.get(1))) {
                    for (floor, upto) in floors.iter().zip(pending) {
                        floor.resolve(upto, insert);
                    }
                    let mut s = samples.lock().unwrap_or_else(|p| p.into_inner());
                    if s.back().is_none_or(|&(_, last)| written > last) {
                        if s.len() == MAX_SAMPLES {
                            s.pop_front();
                        }
                        s.push_back((Instant::now(), written));
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "replica tracking: primary position unread"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = kick.notified() => {}
        }
    }
}

/// One replica's replay position, lag and health.
async fn track_replica(
    replica: Arc<Replica>,
    samples: Samples,
    polled: watch::Sender<u64>,
    every: Duration,
    timeout: Duration,
) {
    let label = replica.label;
    loop {
        let answer = texts(
            replica.statements.reader(),
            "SELECT pg_last_wal_replay_lsn()::text, pg_is_in_recovery()::text",
            timeout,
        )
        .await;
        match answer {
            Ok(row) if row.get(1).and_then(|v| v.as_deref()) == Some("true") => {
                let at = lsn(row.first()).unwrap_or(0);
                replica.position.fetch_max(at, Ordering::AcqRel);
                let (lag_bytes, lag) = {
                    let s = samples.lock().unwrap_or_else(|p| p.into_inner());
                    let latest = s.back().map_or(0, |&(_, l)| l);
                    let lag = s
                        .iter()
                        .find(|&&(_, l)| l > at)
                        .map_or(Duration::ZERO, |&(t, _)| t.elapsed());
                    (latest.saturating_sub(at), lag)
                };
                replica.lag_bytes.store(lag_bytes, Ordering::Relaxed);
                replica
                    .lag_micros
                    .store(lag.as_micros() as u64, Ordering::Relaxed);
                metrics::gauge!(names::REPLICA_LAG_BYTES, "replica" => label).set(lag_bytes as f64);
                metrics::gauge!(names::REPLICA_LAG_SECONDS, "replica" => label)
                    .set(lag.as_secs_f64());
                if replica.not_standby.swap(false, Ordering::AcqRel) {
                    tracing::info!(replica = %replica.url, "replica is a standby again");
                }
                if !replica.up.swap(true, Ordering::AcqRel) {
                    tracing::info!(replica = %replica.url, position = %Token(at), "replica up");
                }
                metrics::gauge!(names::REPLICA_UP, "replica" => label).set(1.0);
            }
            Ok(_) => {
                replica.up.store(false, Ordering::Release);
                metrics::gauge!(names::REPLICA_UP, "replica" => label).set(0.0);
                if !replica.not_standby.swap(true, Ordering::AcqRel) {
                    tracing::warn!(replica = %replica.url,
                        "replica is not in recovery (promoted, or not a standby): not read from");
                }
            }
            Err(e) => {
                if replica.up.swap(false, Ordering::AcqRel) {
                    replica.losses.mark();
                    tracing::warn!(replica = %replica.url, error = %e,
                        "replica stopped answering; reads go elsewhere until it does");
                }
                metrics::gauge!(names::REPLICA_UP, "replica" => label).set(0.0);
            }
        }
        polled.send_modify(|n| *n += 1);
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_with_an_unresolved_event_has_no_value_until_resolved() {
        let f = Floor::default();
        f.raise(10);
        assert_eq!(f.get(), Some(10));
        f.mark_unknown();
        assert_eq!(f.get(), None);
        let upto = f.unknown();
        f.mark_unknown(); // after the position was read: still open
        f.resolve(upto, 20);
        assert_eq!(f.get(), None);
        f.resolve(f.unknown(), 15);
        assert_eq!(f.get(), Some(20), "never lowered");
        f.resolve(f.unknown(), 99);
        assert_eq!(f.get(), Some(20), "nothing new to resolve: not raised");
    }
}
