//! Monitoring (SPEC §6): every SQL statement timed and counted by operation
//! and table (SeaORM's metric callback), every dashboard-query call timed
//! with its query name and cache outcome, slow statements logged and
//! counted, an in-process [`MetricsSnapshot`], and Prometheus exposition.
//!
//! Metric names live in [`names`]. The slow-statement threshold is applied
//! in [`Metrics::record_statement`], the one place statements are seen.
//! Logged SQL is the statement text with placeholders; bound values (which
//! hold e-mails and other personal data) are never logged or labelled.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::cache::{CacheStats, Outcome};
use crate::queries::QueryName;

pub mod histogram;
pub mod names;

use histogram::Histogram;

/// The statement kinds statements are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `SELECT` (and `WITH ... SELECT`).
    Select,
    /// `INSERT`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// Anything else (DDL, `BEGIN`, `EXPLAIN`, ...).
    Other,
}

impl Operation {
    /// All five, in label order.
    pub const ALL: [Operation; 5] = [
        Operation::Select,
        Operation::Insert,
        Operation::Update,
        Operation::Delete,
        Operation::Other,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Select => "SELECT",
            Operation::Insert => "INSERT",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Other => "OTHER",
        }
    }

    /// The kind of a SQL text.
    pub fn of(sql: &str) -> Operation {
        let first = sql
            .trim_start()
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or("");
        match first.to_ascii_uppercase().as_str() {
            "SELECT" | "WITH" => Operation::Select,
            "INSERT" => Operation::Insert,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            _ => Operation::Other,
        }
    }
}

/// The `table` label values: the schema's tables, the migrator's, `other`.
pub const TABLES: &[&str] = &[
    "users",
    "accounts",
    "sessions",
    "verification_tokens",
    "campaigns",
    "agents",
    "agent_executions",
    "analytics",
    "ab_tests",
    "contents",
    "leads",
    "trends",
    "design_templates",
    "seaql_migrations",
];

/// The table a statement reads or writes first (after FROM, INTO, UPDATE
/// or JOIN), or `other`.
pub fn table_of(sql: &str) -> &'static str {
    let mut words = sql.split(|c: char| c.is_whitespace() || c == '(' || c == ',');
    while let Some(word) = words.next() {
        if ["FROM", "INTO", "UPDATE", "JOIN"]
            .iter()
            .any(|k| word.eq_ignore_ascii_case(k))
        {
            let Some(next) = words.by_ref().find(|w| !w.is_empty()) else {
                break;
            };
            let name = next.trim_matches(|c| c == '"' || c == '`' || c == ')');
            let name = name.rsplit('.').next().unwrap_or(name).trim_matches('"');
            if let Some(t) = TABLES.iter().find(|t| **t == name) {
                return t;
            }
        }
    }
    "other"
}

/// The SQL text with whitespace collapsed and placeholder lists shortened
/// (`$1, $2, $3` → `$?...`), so statements differing only in arity group.
pub fn normalize(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len().min(512));
    let mut chars = sql.chars().peekable();
    let mut last_space = false;
    let mut last_placeholder = false;
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) || c == '?' {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            if last_placeholder {
                // `?, ?` → drop the separator already written and this one.
                while out.ends_with(' ') || out.ends_with(',') {
                    out.pop();
                }
                if !out.ends_with("...") {
                    out.push_str("...");
                }
            } else {
                out.push_str("$?");
            }
            last_placeholder = true;
            last_space = false;
            continue;
        }
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        if c != ',' {
            last_placeholder = false;
        }
        last_space = false;
        out.push(c);
    }
    if out.len() > 500 {
        let mut cut = 500;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out.trim().to_owned()
}

#[derive(Default)]
struct StatementStats {
    count: u64,
    max: Duration,
}

/// Distinct normalized statements tracked for the snapshot; more are
/// counted under `(other statements)`.
const MAX_TRACKED_STATEMENTS: usize = 1000;

/// Per-handle monitoring state.
pub struct Metrics {
    slow_threshold: Duration,
    by_operation: [Histogram; 5],
    errors_by_operation: [AtomicU64; 5],
    slow_total: AtomicU64,
    statements: Mutex<HashMap<String, StatementStats>>,
    calls: Vec<Histogram>,
    call_errors: [AtomicU64; 8],
    call_counters: Vec<metrics::Counter>,
    call_histograms: Vec<metrics::Histogram>,
    call_error_counters: Vec<metrics::Counter>,
}

fn call_index(query: QueryName, outcome: Outcome) -> usize {
    query as usize * 4 + outcome as usize
}

impl Metrics {
    /// Monitoring with the given slow-statement threshold. Registers its
    /// metric handles with the recorder installed now (install one first:
    /// [`install_prometheus`]).
    pub fn new(slow_threshold: Duration) -> Self {
        let mut call_counters = Vec::with_capacity(32);
        let mut call_histograms = Vec::with_capacity(32);
        for q in QueryName::ALL {
            for o in Outcome::ALL {
                call_counters.push(metrics::counter!(names::REPOSITORY_CALLS_TOTAL, "query" => q.as_str(), "outcome" => o.as_str()));
                call_histograms.push(metrics::histogram!(names::REPOSITORY_CALL_DURATION_SECONDS, "query" => q.as_str(), "outcome" => o.as_str()));
            }
        }
        Self {
            slow_threshold,
            by_operation: Default::default(),
            errors_by_operation: Default::default(),
            slow_total: AtomicU64::new(0),
            statements: Mutex::new(HashMap::new()),
            calls: (0..32).map(|_| Histogram::default()).collect(),
            call_errors: Default::default(),
            call_counters,
            call_histograms,
            call_error_counters: QueryName::ALL
                .iter()
                .map(|q| metrics::counter!(names::REPOSITORY_ERRORS_TOTAL, "query" => q.as_str()))
                .collect(),
        }
    }

    /// The slow-statement threshold.
    pub fn slow_threshold(&self) -> Duration {
        self.slow_threshold
    }

    /// Records one SQL statement (SeaORM's metric callback calls this).
    pub fn record_statement(&self, sql: &str, elapsed: Duration, failed: bool) {
        let op = Operation::of(sql);
        let table = table_of(sql);
        self.by_operation[op as usize].record(elapsed);
        let labels = [("operation", op.as_str()), ("table", table)];
        metrics::counter!(names::DB_STATEMENTS_TOTAL, &labels).increment(1);
        metrics::histogram!(names::DB_STATEMENT_DURATION_SECONDS, &labels)
            .record(elapsed.as_secs_f64());
        if failed {
            self.errors_by_operation[op as usize].fetch_add(1, Ordering::Relaxed);
            metrics::counter!(names::DB_STATEMENT_ERRORS_TOTAL, &labels).increment(1);
        }
        if elapsed >= self.slow_threshold {
            self.slow_total.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(names::DB_SLOW_STATEMENTS_TOTAL, &labels).increment(1);
            tracing::warn!(
                target: "neonhub::slow_statement",
                sql = %sql,
                duration_ms = elapsed.as_secs_f64() * 1000.0,
                operation = op.as_str(),
                table,
                "slow statement"
            );
        }
        let key = normalize(sql);
        let mut map = match self.statements.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let key = if map.len() >= MAX_TRACKED_STATEMENTS && !map.contains_key(&key) {
            "(other statements)".to_owned()
        } else {
            key
        };
        let entry = map.entry(key).or_default();
        entry.count += 1;
        entry.max = entry.max.max(elapsed);
    }

    /// Records one dashboard-query call.
    pub fn record_call(&self, query: QueryName, outcome: Outcome, elapsed: Duration, ok: bool) {
        let i = call_index(query, outcome);
        self.calls[i].record(elapsed);
        self.call_counters[i].increment(1);
        self.call_histograms[i].record(elapsed.as_secs_f64());
        if !ok {
            self.call_errors[query as usize].fetch_add(1, Ordering::Relaxed);
            self.call_error_counters[query as usize].increment(1);
        }
    }

    /// Statements run so far (every backend, every operation).
    pub fn statements_total(&self) -> u64 {
        self.by_operation.iter().map(Histogram::count).sum()
    }

    /// The snapshot; `cache` comes from the handle's cache.
    pub fn snapshot(&self, cache: CacheStats) -> MetricsSnapshot {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let operations = Operation::ALL
            .iter()
            .map(|op| {
                let h = &self.by_operation[*op as usize];
                OperationStats {
                    operation: op.as_str(),
                    count: h.count(),
                    errors: self.errors_by_operation[*op as usize].load(Ordering::Relaxed),
                    mean_ms: ms(h.mean()),
                    p50_ms: ms(h.quantile(0.50)),
                    p95_ms: ms(h.quantile(0.95)),
                    p99_ms: ms(h.quantile(0.99)),
                }
            })
            .collect();
        let queries = QueryName::ALL
            .iter()
            .map(|q| {
                let per = |o: Outcome| self.calls[call_index(*q, o)].count();
                let all: Vec<&Histogram> = Outcome::ALL
                    .iter()
                    .map(|o| &self.calls[call_index(*q, *o)])
                    .collect();
                let calls: u64 = all.iter().map(|h| h.count()).sum();
                let mean = if calls == 0 {
                    0.0
                } else {
                    all.iter()
                        .map(|h| ms(h.mean()) * h.count() as f64)
                        .sum::<f64>()
                        / calls as f64
                };
                QueryStats {
                    query: q.as_str(),
                    calls,
                    hits: per(Outcome::Hit),
                    misses: per(Outcome::Miss),
                    coalesced: per(Outcome::Coalesced),
                    bypasses: per(Outcome::Bypass),
                    errors: self.call_errors[*q as usize].load(Ordering::Relaxed),
                    mean_ms: mean,
                    miss_p50_ms: ms(self.calls[call_index(*q, Outcome::Miss)].quantile(0.5)),
                    miss_p95_ms: ms(self.calls[call_index(*q, Outcome::Miss)].quantile(0.95)),
                    hit_p50_ms: ms(self.calls[call_index(*q, Outcome::Hit)].quantile(0.5)),
                }
            })
            .collect();
        let mut slowest: Vec<SlowStatement> = match self.statements.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        }
        .iter()
        .map(|(sql, s)| SlowStatement {
            sql: sql.clone(),
            count: s.count,
            max_ms: ms(s.max),
        })
        .collect();
        slowest.sort_by(|a, b| b.max_ms.total_cmp(&a.max_ms));
        slowest.truncate(10);
        MetricsSnapshot {
            statements_total: self.statements_total(),
            statement_errors: self
                .errors_by_operation
                .iter()
                .map(|e| e.load(Ordering::Relaxed))
                .sum(),
            slow_statements: self.slow_total.load(Ordering::Relaxed),
            slow_threshold_ms: ms(self.slow_threshold),
            operations,
            queries,
            cache,
            slowest,
        }
    }
}

/// Statement statistics of one operation.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct OperationStats {
    pub operation: &'static str,
    pub count: u64,
    pub errors: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// Call statistics of one dashboard query.
#[derive(Debug, Clone, Serialize)]
#[allow(missing_docs)]
pub struct QueryStats {
    pub query: &'static str,
    pub calls: u64,
    pub hits: u64,
    pub misses: u64,
    pub coalesced: u64,
    pub bypasses: u64,
    pub errors: u64,
    pub mean_ms: f64,
    pub miss_p50_ms: f64,
    pub miss_p95_ms: f64,
    pub hit_p50_ms: f64,
}

/// One normalized statement and its worst time.
#[derive(Debug, Clone, Serialize)]
pub struct SlowStatement {
    /// Normalized SQL (placeholders, never values).
    pub sql: String,
    /// How often it ran.
    pub count: u64,
    /// Its longest run.
    pub max_ms: f64,
}

/// The successor of the original client's `getQueryMetrics()`.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsSnapshot {
    /// Statements run.
    pub statements_total: u64,
    /// Statements that failed.
    pub statement_errors: u64,
    /// Statements over the slow threshold.
    pub slow_statements: u64,
    /// The threshold.
    pub slow_threshold_ms: f64,
    /// Per operation: count, errors, mean, p50, p95, p99.
    pub operations: Vec<OperationStats>,
    /// Per dashboard query: calls by outcome, errors, latencies.
    pub queries: Vec<QueryStats>,
    /// The cache's statistics (hit rate among them).
    pub cache: CacheStats,
    /// The ten statements with the longest single run.
    pub slowest: Vec<SlowStatement>,
}

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

fn builder() -> PrometheusBuilder {
    let builder = PrometheusBuilder::new();
    let builder = builder
        .set_buckets_for_metric(
            Matcher::Full(names::DB_STATEMENT_DURATION_SECONDS.to_owned()),
            names::STATEMENT_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(names::REPOSITORY_CALL_DURATION_SECONDS.to_owned()),
                names::REPOSITORY_BUCKETS,
            )
        })
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(names::FEED_LAG_SECONDS.to_owned()),
                names::FEED_LAG_BUCKETS,
            )
        });
    builder.unwrap_or_else(|_| PrometheusBuilder::new())
}

/// Installs the Prometheus recorder as the process's global `metrics`
/// recorder (once; later calls return the same handle), optionally with an
/// HTTP listener serving `/metrics` on `listen` (needs a tokio runtime).
/// Returns `None` if another recorder was installed first: metrics then go
/// to that recorder, and [`render`] has nothing to render.
pub fn install_prometheus(listen: Option<SocketAddr>) -> Option<PrometheusHandle> {
    PROMETHEUS
        .get_or_init(|| {
            let builder = match listen {
                Some(addr) => builder().with_http_listener(addr),
                None => builder(),
            };
            let result = if listen.is_some() {
                builder.build().map(|(recorder, exporter)| {
                    let handle = recorder.handle();
                    if let Ok(rt) = tokio::runtime::Handle::try_current() {
                        rt.spawn(async move {
                            if let Err(e) = exporter.await {
                                tracing::error!("metrics listener stopped: {e:?}");
                            }
                        });
                    }
                    (recorder, handle)
                })
            } else {
                let recorder = builder.build_recorder();
                let handle = recorder.handle();
                Ok((recorder, handle))
            };
            match result {
                Ok((recorder, handle)) => match metrics::set_global_recorder(recorder) {
                    Ok(()) => {
                        names::describe();
                        Some(handle)
                    }
                    Err(_) => None,
                },
                Err(e) => {
                    tracing::error!("cannot build the Prometheus exporter: {e}");
                    None
                }
            }
        })
        .clone()
}

/// The Prometheus exposition of every metric, for an application's own
/// `/metrics` route; `None` if this crate's recorder is not the installed
/// one. Prefer [`crate::NeonDb::render_metrics`], which refreshes the
/// cache and pool gauges first.
pub fn render() -> Option<String> {
    PROMETHEUS
        .get()
        .and_then(|h| h.as_ref())
        .map(PrometheusHandle::render)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statements() {
        assert_eq!(Operation::of("  select 1"), Operation::Select);
        assert_eq!(
            Operation::of("WITH e AS (SELECT 1) SELECT * FROM e"),
            Operation::Select
        );
        assert_eq!(
            Operation::of("INSERT INTO \"leads\" VALUES ($1)"),
            Operation::Insert
        );
        assert_eq!(Operation::of("BEGIN"), Operation::Other);
        assert_eq!(
            table_of(r#"SELECT "users"."id" FROM "users" WHERE "role" = $1"#),
            "users"
        );
        assert_eq!(
            table_of(r#"INSERT INTO "agent_executions" ("id") VALUES ($1)"#),
            "agent_executions"
        );
        assert_eq!(table_of(r#"UPDATE "leads" SET "score" = $1"#), "leads");
        assert_eq!(
            table_of(r#"SELECT * FROM (SELECT * FROM "analytics") AS "latest""#),
            "analytics"
        );
        assert_eq!(table_of("SELECT 1"), "other");
        assert_eq!(table_of("select * from public.trends"), "trends");
    }

    #[test]
    fn normalizes_placeholder_lists() {
        assert_eq!(
            normalize("SELECT *\n  FROM t WHERE id IN ($1, $2, $3) AND x = $4"),
            "SELECT * FROM t WHERE id IN ($?...) AND x = $?"
        );
        assert_eq!(normalize("a IN (?, ?, ?)"), "a IN ($?...)");
    }
}
