//! The in-process query cache (SPEC §5).
//!
//! * Bounded by weight: the approximate bytes of each cached result
//!   ([`size::ApproxBytes`]), default 64 MiB, in a quick_cache.
//! * A TTL per query family ([`CacheConfig::ttls`]); quick_cache has no TTL,
//!   so every entry carries its deadline and an expired entry is a miss.
//! * Keys are typed ([`Query`]); values are shared (`Arc`): a hit copies
//!   no rows.
//! * Concurrent misses for one key run one statement: the first caller
//!   holds quick_cache's placeholder guard while it loads, the others wait
//!   for its value. A loader that fails drops the guard without a value and
//!   the next waiter loads (the key is not poisoned).
//! * Invalidation in O(affected): every stored entry is indexed under its
//!   dependency tags ([`invalidate::tags_of`]); a change
//!   ([`RowChange`], through [`QueryCache::apply`], the one entry point
//!   that writes, the change feed and [`crate::NeonDb::invalidate`] feed)
//!   probes only the tags it can touch ([`invalidate::probes_of`]), and
//!   the precise check ([`invalidate::affected`]) decides for each
//!   candidate. No lock is held across that work that hits or unrelated
//!   loads wait for: hits take no lock of this module at all.
//! * A load that overlapped a change stores its result only if that change
//!   cannot affect it: changes are appended to a short log with sequence
//!   numbers, and a loader checks the changes since it began against its
//!   result, under the log's read lock, right before inserting. Appends
//!   take the write lock, so either the check sees the change or the
//!   change's probe sees the stored entry. A load older than the log
//!   (more than [`LOG_CAPACITY`] changes ago) does not store.
//! * Hits can be suspended ([`QueryCache::suspend_hits`]): while the change
//!   feed is down, hits are served only until its grace ends.
//! * Per-call bypass, a global switch, and statistics.

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, Weighter};
use serde::Serialize;

use crate::change::{Change, RowChange};
use crate::error::Result;
use crate::queries::{DashboardQuery, Query, QueryName};
use crate::replica::Floor;

pub mod invalidate;
pub mod size;
#[cfg(test)]
mod tests;

use invalidate::Tag;
use size::ApproxBytes;

/// A monotonic clock, injectable so tests can move time.
pub trait Clock: Send + Sync + 'static {
    /// Time since an arbitrary fixed origin.
    fn now(&self) -> Duration;
}

/// The real monotonic clock.
#[derive(Debug)]
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        Self(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(
            u64::try_from(by.as_nanos()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

/// Cache settings.
#[derive(Clone)]
pub struct CacheConfig {
    /// The global switch.
    pub enabled: bool,
    /// Weight bound in approximate bytes.
    pub capacity_bytes: u64,
    /// TTL per query, in the order of [`QueryName::ALL`].
    pub ttls: [Duration; 8],
    /// The clock TTLs are measured on.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CacheConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheConfig")
            .field("enabled", &self.enabled)
            .field("capacity_bytes", &self.capacity_bytes)
            .field("ttls", &self.ttls)
            .finish_non_exhaustive()
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            capacity_bytes: 64 * 1024 * 1024,
            ttls: QueryName::ALL.map(default_ttl),
            clock: Arc::new(SystemClock::default()),
        }
    }
}

impl CacheConfig {
    /// The TTL of one query family.
    pub fn ttl(&self, name: QueryName) -> Duration {
        self.ttls[name as usize]
    }

    /// Sets the TTL of one query family.
    pub fn set_ttl(&mut self, name: QueryName, ttl: Duration) {
        self.ttls[name as usize] = ttl;
    }
}

/// The default TTLs of SPEC §4, from the original client.
pub const fn default_ttl(name: QueryName) -> Duration {
    let minutes = match name {
        QueryName::AgentPerformance => 10,
        QueryName::HighValueLeads => 15,
        QueryName::TrendingKeywords => 3,
        QueryName::UsersByRole
        | QueryName::CampaignsByUserAndStatus
        | QueryName::CampaignAnalytics
        | QueryName::AnalyticsTimeSeries
        | QueryName::ContentByPlatformAndStatus => 5,
    };
    Duration::from_secs(minutes * 60)
}

/// How a call was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// From the cache.
    Hit,
    /// Loaded from the database (and cached).
    Miss,
    /// Waited for another caller's load of the same key.
    Coalesced,
    /// The cache was skipped (per call, switched off, or in a transaction).
    Bypass,
}

impl Outcome {
    /// All four, in label order.
    pub const ALL: [Outcome; 4] = [
        Outcome::Hit,
        Outcome::Miss,
        Outcome::Coalesced,
        Outcome::Bypass,
    ];

    /// The metrics label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Coalesced => "coalesced",
            Outcome::Bypass => "bypass",
        }
    }
}

/// Cache statistics since the handle was opened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CacheStats {
    /// Calls served from the cache.
    pub hits: u64,
    /// Calls that loaded from the database.
    pub misses: u64,
    /// Calls that waited for another caller's load.
    pub coalesced: u64,
    /// Entries found expired (each then counted as a miss or coalesced).
    pub expirations: u64,
    /// Entries removed because a write could affect them.
    pub invalidations: u64,
    /// Calls that skipped the cache.
    pub bypasses: u64,
    /// Entries evicted to stay within the weight bound.
    pub evictions: u64,
    /// Loads whose result was not stored because a change that overlapped
    /// the load could affect it (or the cache was cleared meanwhile).
    pub stores_skipped: u64,
    /// Entries now.
    pub entries: u64,
    /// Entries in the dependency index now (equal to `entries` but for
    /// the moment of a store or a removal).
    pub indexed: u64,
    /// Approximate bytes now.
    pub weight: u64,
    /// The weight bound.
    pub capacity: u64,
    /// (hits + coalesced) / (hits + coalesced + misses); 0 with no calls.
    pub hit_rate: f64,
}

#[derive(Clone)]
struct Entry {
    /// Unique per stored result, for the dependency index.
    id: u64,
    value: Arc<dyn Any + Send + Sync>,
    weight: u64,
    expires_at: Duration,
}

#[derive(Clone)]
struct EntryWeighter;

impl Weighter<Query, Entry> for EntryWeighter {
    fn weight(&self, _key: &Query, entry: &Entry) -> u64 {
        entry.weight
    }
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
    expirations: AtomicU64,
    invalidations: AtomicU64,
    bypasses: AtomicU64,
    stores_skipped: AtomicU64,
}

/// More changes than this in one report are handled per query family
/// rather than row by row (a large batch insert).
pub const PRECISE_LIMIT: usize = 256;

/// Changes the store guard remembers; a load that began before the oldest
/// of them does not store its result.
pub const LOG_CAPACITY: usize = 4096;

const SHARDS: usize = 64;

fn shard_of(x: u64) -> usize {
    // Tags are hashes already; entry ids are sequential.
    (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize % SHARDS
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Registered {
    key: Query,
    tags: Vec<Tag>,
}

/// Stored entries by dependency tag, and each entry's key and tags.
/// Leaf locks only: nothing else is locked while one is held.
struct DepIndex {
    by_tag: Vec<Mutex<HashMap<Tag, HashSet<u64>>>>,
    by_id: Vec<Mutex<HashMap<u64, Registered>>>,
}

impl DepIndex {
    fn new() -> Self {
        Self {
            by_tag: (0..SHARDS).map(|_| Mutex::default()).collect(),
            by_id: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn register(&self, id: u64, key: Query, tags: Vec<Tag>) {
        for t in &tags {
            lock(&self.by_tag[shard_of(*t)])
                .entry(*t)
                .or_default()
                .insert(id);
        }
        lock(&self.by_id[shard_of(id)]).insert(id, Registered { key, tags });
    }

    fn unregister(&self, id: u64) {
        let Some(reg) = lock(&self.by_id[shard_of(id)]).remove(&id) else {
            return;
        };
        for t in reg.tags {
            let mut shard = lock(&self.by_tag[shard_of(t)]);
            if let Some(set) = shard.get_mut(&t) {
                set.remove(&id);
                if set.is_empty() {
                    shard.remove(&t);
                }
            }
        }
    }

    fn candidates(&self, tag: Tag, into: &mut HashSet<u64>) {
        if let Some(set) = lock(&self.by_tag[shard_of(tag)]).get(&tag) {
            into.extend(set.iter().copied());
        }
    }

    fn key_of(&self, id: u64) -> Option<Query> {
        lock(&self.by_id[shard_of(id)])
            .get(&id)
            .map(|r| r.key.clone())
    }

    fn clear(&self) {
        for s in &self.by_tag {
            lock(s).clear();
        }
        for s in &self.by_id {
            lock(s).clear();
        }
    }

    fn len(&self) -> usize {
        self.by_id.iter().map(|s| lock(s).len()).sum()
    }
}

/// Unregisters evicted entries once quick_cache has released its locks.
#[derive(Clone)]
struct Evictions(Arc<DepIndex>, Arc<AtomicU64>);

#[derive(Default)]
struct Evicted {
    index: Option<Arc<DepIndex>>,
    ids: Vec<u64>,
}

impl Drop for Evicted {
    fn drop(&mut self) {
        if let Some(index) = &self.index {
            for id in self.ids.drain(..) {
                index.unregister(id);
            }
        }
    }
}

impl Lifecycle<Query, Entry> for Evictions {
    type RequestState = Evicted;

    fn on_evict(&self, state: &mut Evicted, _key: Query, entry: Entry) {
        state.index.get_or_insert_with(|| self.0.clone());
        state.ids.push(entry.id);
        self.1.fetch_add(1, Ordering::Relaxed);
    }
}

/// What the store guard remembers.
enum Logged {
    Row(RowChange),
    /// Every entry of these families (a large batch).
    Families(Vec<QueryName>),
    /// Everything (the cache was cleared).
    All,
}

impl Logged {
    fn affects(&self, key: &Query, value: &(dyn Any + Send + Sync)) -> bool {
        match self {
            Logged::Row(change) => invalidate::affected(key, value, change),
            Logged::Families(f) => f.contains(&key.name()),
            Logged::All => true,
        }
    }
}

struct ChangeLog {
    /// Sequence number of `items[0]`.
    first: u64,
    items: VecDeque<Logged>,
}

impl ChangeLog {
    fn next(&self) -> u64 {
        self.first + self.items.len() as u64
    }

    fn push(&mut self, item: Logged) {
        if self.items.len() == LOG_CAPACITY {
            self.items.pop_front();
            self.first += 1;
        }
        self.items.push_back(item);
    }
}

/// Hits are served while the clock is before this (nanoseconds on the
/// cache clock); `u64::MAX`: always.
const HITS_ALWAYS: u64 = u64::MAX;

/// The query cache of one handle.
pub struct QueryCache {
    entries: Cache<Query, Entry, EntryWeighter, DefaultHashBuilder, Evictions>,
    index: Arc<DepIndex>,
    config: CacheConfig,
    enabled: AtomicBool,
    log: RwLock<ChangeLog>,
    /// `log.next()`, readable without the lock.
    seq: AtomicU64,
    next_id: AtomicU64,
    hits_until: AtomicU64,
    counters: Counters,
    evictions: Arc<AtomicU64>,
    /// The WAL position of every invalidation applied ([`crate::replica`]).
    invalidations: Arc<Floor>,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl QueryCache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Self {
        // Assume ~8 KiB per result for quick_cache's table sizing.
        let estimated_items = usize::try_from(config.capacity_bytes / 8192)
            .unwrap_or(1024)
            .max(64);
        let index = Arc::new(DepIndex::new());
        let evictions = Arc::new(AtomicU64::new(0));
        Self {
            entries: Cache::with(
                estimated_items,
                config.capacity_bytes.max(1),
                EntryWeighter,
                DefaultHashBuilder::default(),
                Evictions(index.clone(), evictions.clone()),
            ),
            index,
            enabled: AtomicBool::new(config.enabled),
            config,
            log: RwLock::new(ChangeLog {
                first: 0,
                items: VecDeque::new(),
            }),
            seq: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            hits_until: AtomicU64::new(HITS_ALWAYS),
            counters: Counters::default(),
            evictions,
            invalidations: Arc::default(),
        }
    }

    /// Whether the cache is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turns the cache on or off; turning it off empties it.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::SeqCst);
        if !on {
            self.clear();
        }
    }

    /// The settings.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The WAL position every invalidation applied so far is at or
    /// before ([`crate::replica`]).
    pub(crate) fn invalidation_floor(&self) -> &Arc<Floor> {
        &self.invalidations
    }

    /// Removes every entry, and keeps loads in flight from storing.
    pub fn clear(&self) {
        self.invalidations.mark_unknown();
        self.clear_entries();
    }

    /// [`QueryCache::clear`] for a reason at WAL position `lsn` (the
    /// change feed's start).
    pub(crate) fn clear_at(&self, lsn: u64) {
        self.invalidations.raise(lsn);
        self.clear_entries();
    }

    fn clear_entries(&self) {
        let mut log = self.log.write().unwrap_or_else(|p| p.into_inner());
        log.push(Logged::All);
        self.seq.store(log.next(), Ordering::Release);
        // Under the log's write lock: no load stores in between, so no
        // entry can outlive the clear without its tags.
        self.entries.clear();
        self.index.clear();
    }

    /// Serve hits only until `deadline` on the cache clock (the change
    /// feed is down; after its grace, calls go to the database).
    pub fn suspend_hits(&self, deadline: Duration) {
        let nanos = u64::try_from(deadline.as_nanos()).unwrap_or(u64::MAX - 1);
        self.hits_until
            .store(nanos.min(u64::MAX - 1), Ordering::Release);
    }

    /// Serve hits again (the feed is back, or was never needed).
    pub fn resume_hits(&self) {
        self.hits_until.store(HITS_ALWAYS, Ordering::Release);
    }

    /// Whether hits may be served now.
    /// Whether a read (`bypass`: asked to skip the cache) goes through the
    /// cache, so that a miss's result may be stored.
    pub(crate) fn serves(&self, bypass: bool) -> bool {
        !bypass && self.is_enabled() && self.hits_allowed()
    }

    fn hits_allowed(&self) -> bool {
        let until = self.hits_until.load(Ordering::Acquire);
        until == HITS_ALWAYS
            || u64::try_from(self.config.clock.now().as_nanos()).unwrap_or(u64::MAX) < until
    }

    /// The statistics.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        let hits = c.hits.load(Ordering::Relaxed);
        let misses = c.misses.load(Ordering::Relaxed);
        let coalesced = c.coalesced.load(Ordering::Relaxed);
        let served = hits + coalesced;
        CacheStats {
            hits,
            misses,
            coalesced,
            expirations: c.expirations.load(Ordering::Relaxed),
            invalidations: c.invalidations.load(Ordering::Relaxed),
            bypasses: c.bypasses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            stores_skipped: c.stores_skipped.load(Ordering::Relaxed),
            entries: self.entries.len() as u64,
            indexed: self.index.len() as u64,
            weight: self.entries.weight(),
            capacity: self.entries.capacity(),
            hit_rate: if served + misses == 0 {
                0.0
            } else {
                served as f64 / (served + misses) as f64
            },
        }
    }

    /// Whether `query`'s result is cached and fresh (no statistics counted).
    pub fn contains(&self, query: &Query) -> bool {
        self.entries
            .peek(query)
            .is_some_and(|e| e.expires_at > self.config.clock.now())
    }

    /// Serves `query` from the cache or through `load`, storing the result.
    ///
    /// # Errors
    /// What `load` returns; nothing is cached then.
    pub async fn get_or_load<Q, F, Fut>(
        &self,
        query: &Q,
        bypass: bool,
        load: F,
    ) -> Result<(Arc<Q::Output>, Outcome)>
    where
        Q: DashboardQuery,
        Q::Output: ApproxBytes,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Q::Output>>,
    {
        self.get_or_load_at(query, bypass, |_| async { Ok((load().await?, None)) })
            .await
    }

    /// [`QueryCache::get_or_load`] for loads that may come from a replica:
    /// `load(caching)` (`caching`: the result may be stored) returns the
    /// result and the replica's replay position it was read at (`None`:
    /// the primary). A replica's result is stored only if that position
    /// covers every invalidation applied by the time it is stored.
    ///
    /// # Errors
    /// What `load` returns; nothing is cached then.
    pub(crate) async fn get_or_load_at<Q, F, Fut>(
        &self,
        query: &Q,
        bypass: bool,
        load: F,
    ) -> Result<(Arc<Q::Output>, Outcome)>
    where
        Q: DashboardQuery,
        Q::Output: ApproxBytes,
        F: FnOnce(bool) -> Fut,
        Fut: Future<Output = Result<(Q::Output, Option<u64>)>>,
    {
        if !self.serves(bypass) {
            bump(&self.counters.bypasses);
            return Ok((Arc::new(load(false).await?.0), Outcome::Bypass));
        }
        let key = query.key();
        let clock = &self.config.clock;
        if let Some(entry) = self.entries.get(&key) {
            if entry.expires_at > clock.now()
                && let Ok(value) = entry.value.clone().downcast::<Q::Output>()
            {
                bump(&self.counters.hits);
                return Ok((value, Outcome::Hit));
            }
            self.expire(&key, &entry);
        }
        // Changes from here on are checked against this call's result.
        let start = self.seq.load(Ordering::Acquire);
        let unknown_at_start = self.invalidations.unknown();
        loop {
            match self.entries.get_value_or_guard_async(&key).await {
                Ok(entry) => {
                    if entry.expires_at > clock.now()
                        && let Ok(value) = entry.value.clone().downcast::<Q::Output>()
                    {
                        bump(&self.counters.coalesced);
                        return Ok((value, Outcome::Coalesced));
                    }
                    self.expire(&key, &entry);
                }
                Err(guard) => {
                    bump(&self.counters.misses);
                    // On error the guard is dropped unfilled: a waiter loads.
                    let (value, replica_at) = load(true).await?;
                    let value = Arc::new(value);
                    let shared: Arc<dyn Any + Send + Sync> = value.clone();
                    let tags = invalidate::tags_of(&key, &*shared);
                    let entry = Entry {
                        id: self.next_id.fetch_add(1, Ordering::Relaxed),
                        weight: value.approx_bytes() as u64 + 16 * tags.len() as u64,
                        value: shared,
                        expires_at: clock.now() + self.config.ttl(Q::NAME),
                    };
                    let log = self.log.read().unwrap_or_else(|p| p.into_inner());
                    let stale = log.next() != start
                        && (start < log.first
                            || log
                                .items
                                .iter()
                                .skip(usize::try_from(start - log.first).unwrap_or(usize::MAX))
                                .any(|c| c.affects(&key, &*entry.value)));
                    // From a replica: its snapshot must cover every
                    // invalidation so far (the change feed raises the
                    // floor before it logs the change).
                    let behind = replica_at.is_some_and(|at| {
                        self.invalidations.unknown() != unknown_at_start
                            || self.invalidations.known() > at
                    });
                    let stale = stale || behind;
                    if stale || !self.is_enabled() {
                        bump(&self.counters.stores_skipped);
                        drop(guard);
                    } else {
                        let id = entry.id;
                        self.index.register(id, key.clone(), tags);
                        if guard.insert(entry).is_err() {
                            self.index.unregister(id);
                        }
                    }
                    drop(log);
                    return Ok((value, Outcome::Miss));
                }
            }
        }
    }

    fn expire(&self, key: &Query, seen: &Entry) {
        if self.remove_entry(key, seen.id) {
            bump(&self.counters.expirations);
        }
    }

    fn remove_entry(&self, key: &Query, id: u64) -> bool {
        let removed = self.entries.remove_if(key, |e| e.id == id).is_some();
        if removed {
            self.index.unregister(id);
        }
        removed
    }

    /// Reports changes made through the service (the entry point writes
    /// use): see [`QueryCache::apply`].
    pub fn apply_changes(&self, changes: &[Change]) {
        let rows: Vec<RowChange> = changes.iter().filter_map(Change::to_row_change).collect();
        self.apply(rows);
    }

    /// The invalidation entry point: removes every entry the changes can
    /// affect, and keeps loads that overlapped them from storing results
    /// they affect. The work is proportional to the entries the changes
    /// can touch, not to the cache's size.
    pub fn apply(&self, changes: Vec<RowChange>) {
        if changes.is_empty() {
            return;
        }
        self.invalidations.mark_unknown();
        self.apply_entries(changes);
    }

    /// [`QueryCache::apply`] for changes committed at WAL position `lsn`
    /// (the change feed).
    pub(crate) fn apply_at(&self, changes: Vec<RowChange>, lsn: u64) {
        if changes.is_empty() {
            return;
        }
        self.invalidations.raise(lsn);
        self.apply_entries(changes);
    }

    fn apply_entries(&self, changes: Vec<RowChange>) {
        let coarse = changes.len() > PRECISE_LIMIT;
        let families: Vec<QueryName> = if coarse {
            QueryName::ALL
                .into_iter()
                .filter(|n| changes.iter().any(|c| invalidate::reads(*n, c.row.table())))
                .collect()
        } else {
            Vec::new()
        };
        {
            let mut log = self.log.write().unwrap_or_else(|p| p.into_inner());
            if coarse {
                log.push(Logged::Families(families.clone()));
            } else {
                for c in &changes {
                    log.push(Logged::Row(c.clone()));
                }
            }
            self.seq.store(log.next(), Ordering::Release);
        }
        if self.entries.is_empty() {
            return;
        }
        let mut removed = 0u64;
        let mut candidates = HashSet::new();
        if coarse {
            for name in families {
                self.index
                    .candidates(invalidate::family_tag(name), &mut candidates);
            }
            for id in candidates {
                if let Some(key) = self.index.key_of(id)
                    && self.remove_entry(&key, id)
                {
                    removed += 1;
                }
            }
        } else {
            for change in &changes {
                candidates.clear();
                for tag in invalidate::probes_of(change) {
                    self.index.candidates(tag, &mut candidates);
                }
                for &id in &candidates {
                    let Some(key) = self.index.key_of(id) else {
                        continue;
                    };
                    let Some(entry) = self.entries.peek(&key) else {
                        continue;
                    };
                    if entry.id == id
                        && invalidate::affected(&key, &*entry.value, change)
                        && self.remove_entry(&key, id)
                    {
                        removed += 1;
                    }
                }
            }
        }
        self.counters
            .invalidations
            .fetch_add(removed, Ordering::Relaxed);
    }
}
