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
//! * Invalidation, correct first: every write reports its rows
//!   ([`Change`]) after it commits, through [`QueryCache::apply_changes`],
//!   the one entry point (a cross-instance channel can feed it too). It
//!   bumps an epoch and removes exactly the entries the change can affect
//!   ([`invalidate::affected`]). A load that overlapped a write does not
//!   store its result: the epoch check and the insert run under a lock the
//!   invalidation takes exclusively, so no entry from before a write
//!   survives the write's return.
//! * Per-call bypass, a global switch, and statistics.

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use quick_cache::Weighter;
use quick_cache::sync::Cache;
use serde::Serialize;

use crate::change::Change;
use crate::error::Result;
use crate::queries::{DashboardQuery, Query, QueryName};

pub mod invalidate;
pub mod size;

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
    /// Entries now.
    pub entries: u64,
    /// Approximate bytes now.
    pub weight: u64,
    /// The weight bound.
    pub capacity: u64,
    /// (hits + coalesced) / (hits + coalesced + misses); 0 with no calls.
    pub hit_rate: f64,
}

#[derive(Clone)]
struct Entry {
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
}

/// More changes than this in one report are handled per query family
/// rather than row by row (a large batch insert).
const PRECISE_LIMIT: usize = 256;

/// The query cache of one handle.
pub struct QueryCache {
    entries: Cache<Query, Entry, EntryWeighter>,
    config: CacheConfig,
    enabled: AtomicBool,
    epoch: AtomicU64,
    /// Shared by loaders storing a result, exclusive for invalidation.
    store_lock: RwLock<()>,
    counters: Counters,
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
        Self {
            entries: Cache::with_weighter(
                estimated_items,
                config.capacity_bytes.max(1),
                EntryWeighter,
            ),
            enabled: AtomicBool::new(config.enabled),
            config,
            epoch: AtomicU64::new(0),
            store_lock: RwLock::new(()),
            counters: Counters::default(),
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

    /// Removes every entry.
    pub fn clear(&self) {
        let _exclusive = self.store_lock.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries.clear();
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
            entries: self.entries.len() as u64,
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
        if bypass || !self.is_enabled() {
            bump(&self.counters.bypasses);
            return Ok((Arc::new(load().await?), Outcome::Bypass));
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
        // Any write from here on keeps this call's result out of the cache.
        let start_epoch = self.epoch.load(Ordering::SeqCst);
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
                    let value = Arc::new(load().await?);
                    let weight = value.approx_bytes() as u64;
                    let entry = Entry {
                        value: value.clone(),
                        weight,
                        expires_at: clock.now() + self.config.ttl(Q::NAME),
                    };
                    let _shared = self.store_lock.read().unwrap_or_else(|p| p.into_inner());
                    if self.epoch.load(Ordering::SeqCst) == start_epoch {
                        let _ = guard.insert(entry);
                    } else {
                        drop(guard);
                    }
                    return Ok((value, Outcome::Miss));
                }
            }
        }
    }

    fn expire(&self, key: &Query, seen: &Entry) {
        if self
            .entries
            .remove_if(key, |e| Arc::ptr_eq(&e.value, &seen.value))
            .is_some()
        {
            bump(&self.counters.expirations);
        }
    }

    /// The invalidation entry point: removes every entry `changes` can
    /// affect, and keeps loads that overlapped them from storing.
    pub fn apply_changes(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let _exclusive = self.store_lock.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        if self.entries.is_empty() {
            return;
        }
        let removed = AtomicU64::new(0);
        if changes.len() > PRECISE_LIMIT {
            let families: Vec<QueryName> = families_touched(changes);
            self.entries.retain(|key, _| {
                let keep = !families.contains(&key.name());
                if !keep {
                    removed.fetch_add(1, Ordering::Relaxed);
                }
                keep
            });
        } else {
            self.entries.retain(|key, entry| {
                let hit = changes
                    .iter()
                    .any(|c| invalidate::affected(key, &*entry.value, c));
                if hit {
                    removed.fetch_add(1, Ordering::Relaxed);
                }
                !hit
            });
        }
        self.counters
            .invalidations
            .fetch_add(removed.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// Every query family any of `changes` could affect (coarse fallback).
fn families_touched(changes: &[Change]) -> Vec<QueryName> {
    use QueryName as N;
    let mut out = Vec::new();
    let mut add = |names: &[N]| {
        for n in names {
            if !out.contains(n) {
                out.push(*n);
            }
        }
    };
    for change in changes {
        match change {
            Change::User(..) => add(&[
                N::UsersByRole,
                N::CampaignsByUserAndStatus,
                N::AgentPerformance,
                N::CampaignAnalytics,
            ]),
            Change::Campaign(..) => add(&[
                N::CampaignsByUserAndStatus,
                N::AgentPerformance,
                N::CampaignAnalytics,
            ]),
            Change::Execution(..) => add(&[N::AgentPerformance]),
            Change::Analytics(..) => add(&[
                N::CampaignsByUserAndStatus,
                N::CampaignAnalytics,
                N::AnalyticsTimeSeries,
            ]),
            Change::Content(..) => add(&[N::ContentByPlatformAndStatus]),
            Change::Lead(..) => add(&[N::HighValueLeads]),
            Change::Trend(..) => add(&[N::TrendingKeywords]),
            Change::Agent(..) | Change::AbTest(..) => {}
        }
    }
    out
}
