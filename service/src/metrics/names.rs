//! Every metric name the service exports, declared once. All start with
//! `neonhub_`; labels come only from fixed sets: `operation`
//! ([`crate::metrics::Operation`]), `table` ([`crate::metrics::TABLES`]),
//! `query` ([`crate::QueryName`]), `outcome`
//! ([`crate::cache::Outcome`]), `state` (`idle`, `in_use`), `target`
//! (`primary`, `replica`), `reason` (`behind`, `down`, `error`), `replica`
//! (`0` to `15`, at most [`crate::replica::MAX_REPLICAS`]).

/// Counter, by `operation` and `table`: SQL statements run.
pub const DB_STATEMENTS_TOTAL: &str = "neonhub_db_statements_total";
/// Counter, by `operation` and `table`: statements that failed.
pub const DB_STATEMENT_ERRORS_TOTAL: &str = "neonhub_db_statement_errors_total";
/// Histogram (seconds), by `operation` and `table`: statement duration.
pub const DB_STATEMENT_DURATION_SECONDS: &str = "neonhub_db_statement_duration_seconds";
/// Counter, by `operation` and `table`: statements over the slow threshold.
pub const DB_SLOW_STATEMENTS_TOTAL: &str = "neonhub_db_slow_statements_total";
/// Counter, by `query` and `outcome`: repository calls of the dashboard queries.
pub const REPOSITORY_CALLS_TOTAL: &str = "neonhub_repository_calls_total";
/// Counter, by `query`: repository calls that returned an error.
pub const REPOSITORY_ERRORS_TOTAL: &str = "neonhub_repository_errors_total";
/// Histogram (seconds), by `query` and `outcome`: repository call duration.
pub const REPOSITORY_CALL_DURATION_SECONDS: &str = "neonhub_repository_call_duration_seconds";
/// Counter: calls served from the cache.
pub const CACHE_HITS_TOTAL: &str = "neonhub_cache_hits_total";
/// Counter: calls that loaded from the database.
pub const CACHE_MISSES_TOTAL: &str = "neonhub_cache_misses_total";
/// Counter: calls that waited for another caller's load of the same key.
pub const CACHE_COALESCED_WAITS_TOTAL: &str = "neonhub_cache_coalesced_waits_total";
/// Counter: entries found expired.
pub const CACHE_EXPIRATIONS_TOTAL: &str = "neonhub_cache_expirations_total";
/// Counter: entries removed by invalidation.
pub const CACHE_INVALIDATIONS_TOTAL: &str = "neonhub_cache_invalidations_total";
/// Counter: calls that skipped the cache.
pub const CACHE_BYPASSES_TOTAL: &str = "neonhub_cache_bypasses_total";
/// Gauge: entries in the cache.
pub const CACHE_ENTRIES: &str = "neonhub_cache_entries";
/// Gauge: approximate bytes in the cache.
pub const CACHE_WEIGHT_BYTES: &str = "neonhub_cache_weight_bytes";
/// Gauge: the cache's weight bound.
pub const CACHE_CAPACITY_BYTES: &str = "neonhub_cache_capacity_bytes";
/// Gauge, by `state` (`idle`, `in_use`): pooled connections.
pub const DB_POOL_CONNECTIONS: &str = "neonhub_db_pool_connections";
/// Gauge: the pool's size limit.
pub const DB_POOL_MAX_CONNECTIONS: &str = "neonhub_db_pool_max_connections";
/// Gauge: 1 while the fail-fast circuit is open (the database refuses or
/// does not answer; calls fail at once), else 0.
pub const DB_CIRCUIT_OPEN: &str = "neonhub_db_circuit_open";
/// Counter: times the fail-fast circuit opened.
pub const DB_CIRCUIT_OPENS_TOTAL: &str = "neonhub_db_circuit_opens_total";

/// Gauge: 1 while this handle's change feed streams (PostgreSQL) or polls
/// (SQLite), else 0.
pub const FEED_UP: &str = "neonhub_feed_up";
/// Gauge: 1 while the handle runs without a change feed (TTL-only).
pub const FEED_TTL_ONLY: &str = "neonhub_feed_ttl_only";
/// Counter: times the change feed lost continuity (each cleared the cache).
pub const FEED_GAPS_TOTAL: &str = "neonhub_feed_gaps_total";
/// Counter, by `table`: row changes received from the change feed.
pub const FEED_EVENTS_TOTAL: &str = "neonhub_feed_events_total";
/// Histogram (seconds): from a change's commit on the server to its
/// invalidation applied in this handle.
pub const FEED_LAG_SECONDS: &str = "neonhub_feed_lag_seconds";

/// Counter, by `target` (`primary`, `replica`): dashboard reads sent to
/// the database by a handle with replicas ([`crate::replica`]).
pub const DB_READS_TOTAL: &str = "neonhub_db_reads_total";
/// Counter, by `reason` (`behind`, `down`, `error`): reads that went to
/// the primary instead of a replica.
pub const REPLICA_FALLBACKS_TOTAL: &str = "neonhub_replica_fallbacks_total";
/// Gauge, by `replica` (its place in `NEONHUB_REPLICA_URLS`, `0` to `15`):
/// 1 while it answers as a standby, else 0.
pub const REPLICA_UP: &str = "neonhub_replica_up";
/// Gauge, by `replica`: bytes of WAL the primary wrote that it has not
/// replayed.
pub const REPLICA_LAG_BYTES: &str = "neonhub_replica_lag_bytes";
/// Gauge, by `replica`: age of the oldest WAL the primary wrote that it
/// has not replayed (0 when caught up).
pub const REPLICA_LAG_SECONDS: &str = "neonhub_replica_lag_seconds";

/// Buckets of change-feed lag, seconds (500 µs to 30 s).
pub const FEED_LAG_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets of statement durations, seconds (100 µs to 10 s).
pub const STATEMENT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Buckets of repository call durations, seconds (1 µs for cache hits to 5 s).
pub const REPOSITORY_BUCKETS: &[f64] = &[
    0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
    0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Registers the HELP text of every metric with the installed recorder.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        DB_STATEMENTS_TOTAL,
        "SQL statements run, by operation and table."
    );
    describe_counter!(
        DB_STATEMENT_ERRORS_TOTAL,
        "SQL statements that failed, by operation and table."
    );
    describe_histogram!(
        DB_STATEMENT_DURATION_SECONDS,
        Unit::Seconds,
        "SQL statement duration, by operation and table."
    );
    describe_counter!(
        DB_SLOW_STATEMENTS_TOTAL,
        "SQL statements slower than NEONHUB_SLOW_QUERY_MS, by operation and table."
    );
    describe_counter!(
        REPOSITORY_CALLS_TOTAL,
        "Dashboard query calls, by query and cache outcome."
    );
    describe_counter!(
        REPOSITORY_ERRORS_TOTAL,
        "Dashboard query calls that returned an error, by query."
    );
    describe_histogram!(
        REPOSITORY_CALL_DURATION_SECONDS,
        Unit::Seconds,
        "Dashboard query call duration, by query and cache outcome."
    );
    describe_counter!(CACHE_HITS_TOTAL, "Query cache hits.");
    describe_counter!(
        CACHE_MISSES_TOTAL,
        "Query cache misses (loads from the database)."
    );
    describe_counter!(
        CACHE_COALESCED_WAITS_TOTAL,
        "Calls that waited for a concurrent load of the same key."
    );
    describe_counter!(
        CACHE_EXPIRATIONS_TOTAL,
        "Query cache entries found expired."
    );
    describe_counter!(
        CACHE_INVALIDATIONS_TOTAL,
        "Query cache entries removed because a write could affect them."
    );
    describe_counter!(CACHE_BYPASSES_TOTAL, "Calls that skipped the query cache.");
    describe_gauge!(CACHE_ENTRIES, "Entries in the query cache.");
    describe_gauge!(
        CACHE_WEIGHT_BYTES,
        Unit::Bytes,
        "Approximate bytes held by the query cache."
    );
    describe_gauge!(
        CACHE_CAPACITY_BYTES,
        Unit::Bytes,
        "The query cache's weight bound."
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Pooled database connections, by state (idle, in_use)."
    );
    describe_gauge!(DB_POOL_MAX_CONNECTIONS, "The database pool's size limit.");
    describe_gauge!(
        DB_CIRCUIT_OPEN,
        "1 while the database is unreachable and calls fail fast, else 0."
    );
    describe_counter!(
        DB_CIRCUIT_OPENS_TOTAL,
        "Times the fail-fast circuit opened (the database stopped accepting connections)."
    );
    describe_gauge!(
        FEED_UP,
        "1 while the change feed streams every writer's commits to this handle's cache, else 0."
    );
    describe_gauge!(
        FEED_TTL_ONLY,
        "1 while the handle runs without a change feed: cached results live until their TTL."
    );
    describe_counter!(
        FEED_GAPS_TOTAL,
        "Times the change feed lost continuity; each cleared the cache."
    );
    describe_counter!(
        FEED_EVENTS_TOTAL,
        "Row changes received from the change feed, by table."
    );
    describe_counter!(
        DB_READS_TOTAL,
        "Dashboard reads sent to the database with replicas configured, by target (primary, replica)."
    );
    describe_counter!(
        REPLICA_FALLBACKS_TOTAL,
        "Reads that went to the primary instead of a replica, by reason (behind, down, error)."
    );
    describe_gauge!(
        REPLICA_UP,
        "1 while the replica answers as a standby, else 0, by replica (its place in NEONHUB_REPLICA_URLS)."
    );
    describe_gauge!(
        REPLICA_LAG_BYTES,
        Unit::Bytes,
        "WAL the primary wrote that the replica has not replayed, by replica."
    );
    describe_gauge!(
        REPLICA_LAG_SECONDS,
        Unit::Seconds,
        "Age of the oldest WAL the primary wrote that the replica has not replayed, by replica."
    );
    describe_histogram!(
        FEED_LAG_SECONDS,
        Unit::Seconds,
        "Change feed lag: from a change's commit on the server to its invalidation here."
    );
}
