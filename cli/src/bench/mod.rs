//! `neonhub-db bench`: the performance report's table, measured on the
//! user's own database (SPEC §8, §9).
//!
//! 1. Seeds the database if it is empty (`--scale`, `--seed`), and first
//!    rebuilds any secondary index a previous, killed run left dropped.
//! 2. Per query: p50 / p95 through the service with the indexes (cache
//!    bypassed), from the cache (hits), and — after dropping the secondary
//!    indexes by the migration's own definitions — without them. The
//!    indexes are rebuilt afterwards even on error or Ctrl-C.
//! 3. The same uncached calls against the statement run directly (the
//!    repository layer's overhead) and through the cache layer as misses
//!    (the cache layer's overhead).
//! 4. The dashboard workload of SPEC §9 with shadow reads.
//! 5. Throughput with 1, 4, 16 and 64 concurrent clients (no shadows).
//! 6. 64 concurrent misses of one key, and the statements they ran.
//! 7. Eight concurrent read-modify-write transactions on one row:
//!    commits per second, and failures by kind.
//! 8. PostgreSQL with the change feed up: the workload over two instances
//!    (stale reads after awaiting tokens, hit efficiency), the feed's lag
//!    to the other instance, write latency with a handle's feed on and off
//!    ([`feed`]).
//! 9. The covering indexes' write cost: inserts into their tables with
//!    them, without them (dropped), and again after the rebuild.

pub mod calls;
pub mod feed;
pub mod floor;
pub mod invalidation;
pub mod latency;
pub mod transactions;
pub mod workload;
pub mod zipf;

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use migration::indexes::{COVERING_INDEXES, IndexDef, all_secondary_indexes};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde::Serialize;
use service::prelude::*;
use service::{NeonDb, NewExecution, NewLead, QueryName};
use tokio::sync::watch;

use crate::seed::{Scale, SeedArgs};
use calls::{Call, Draw, Pools};
use latency::{Latency, time};
use zipf::Rng;

/// Arguments of `neonhub-db bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Scale to seed an empty database with (an existing database is used
    /// as it is).
    #[arg(long, value_enum, default_value_t = Scale::Tiny)]
    pub scale: Scale,
    /// Seed of the data and of the call sequences.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write the SPEC §8 JSON report here.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Calls per query and mode (SPEC: at least 200).
    #[arg(long, default_value_t = 200)]
    pub calls: usize,
    /// Calls of the dashboard workload (SPEC: 50,000).
    #[arg(long, default_value_t = 50_000)]
    pub workload_calls: u64,
    /// Seconds each concurrency level runs, per series (cache on, cache
    /// off, the read mix, hits, pgbench).
    #[arg(long, default_value_t = 10.0)]
    pub concurrency_seconds: f64,
    /// Calls per query and way in the floor phase (service, raw sqlx,
    /// pgbench), fixed parameters.
    #[arg(long, default_value_t = 1000)]
    pub floor_calls: usize,
    /// Skip the no-index phase (it drops and rebuilds every secondary
    /// index) and the write-cost phase (it drops and rebuilds the covering
    /// indexes).
    #[arg(long)]
    pub skip_no_index: bool,
    /// Measure the schema as it is: do not first rebuild secondary
    /// indexes that are missing (as a killed run leaves them). With
    /// `--skip-no-index`, for measuring a database without an index.
    #[arg(long)]
    pub as_is: bool,
    /// Compare this run with a saved one (`compare`'s verdicts); exit 3
    /// when a query is slower beyond the noise and beyond `--fail-over`.
    #[arg(long, value_name = "BASELINE.json")]
    pub compare: Option<std::path::PathBuf>,
    /// With `--compare`: the p50 ratio over which a slower query fails.
    #[arg(long, default_value_t = crate::compare::DEFAULT_FAIL_OVER)]
    pub fail_over: f64,
    /// Also save the JSON report in this directory, named by start time
    /// and commit (a history of runs).
    #[arg(long, value_name = "DIR")]
    pub history: Option<std::path::PathBuf>,
    /// No progress bars (they are also off when stderr is not a terminal).
    #[arg(long)]
    pub quiet: bool,
    /// Also write a self-contained HTML report here (charts of this run,
    /// against the baseline with `--compare`, the trend with `--history`).
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

impl Default for BenchArgs {
    fn default() -> Self {
        Self {
            scale: Scale::Tiny,
            seed: 42,
            json: None,
            calls: 200,
            workload_calls: 50_000,
            concurrency_seconds: 10.0,
            floor_calls: 1000,
            skip_no_index: false,
            as_is: false,
            compare: None,
            fail_over: crate::compare::DEFAULT_FAIL_OVER,
            history: None,
            quiet: false,
            html: None,
        }
    }
}

/// One query's row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct QueryReport {
    /// Query name (SPEC §8).
    pub name: &'static str,
    /// Without secondary indexes (cache bypassed).
    pub no_index: Latency,
    /// With the indexes (cache bypassed).
    pub indexed: Latency,
    /// Cache hits.
    pub cached: Latency,
    /// no_index.p50 / indexed.p50.
    pub index_speedup: f64,
    /// indexed.p50 / cached.p50.
    pub cache_speedup: f64,
    /// The same statement run directly (no repository layer).
    pub direct: Latency,
    /// indexed.p50 / direct.p50 − 1: the repository layer's cost.
    pub repository_overhead: f64,
    /// Misses through the cache layer.
    pub cache_miss: Latency,
    /// cache_miss.p50 / indexed.p50 − 1: what the cache layer adds to a miss.
    pub cache_layer_overhead: f64,
}

/// Throughput at one concurrency level.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Concurrent clients.
    pub clients: usize,
    /// Calls completed per second.
    pub calls_per_s: f64,
    /// Median call latency.
    pub p50_ms: f64,
    /// 99th percentile call latency.
    pub p99_ms: f64,
}

/// The throughput phase: calls/s and latency per client count for each
/// load, and the targets' ratios.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scaling {
    /// SPEC §9's mix (5% writes), cache on.
    pub cache_on: Vec<Throughput>,
    /// The same mix, every read bypassing the cache.
    pub cache_off: Vec<Throughput>,
    /// The floor phase's fixed read mix (the eight queries, equal weight),
    /// cache bypassed.
    pub read_mix: Vec<Throughput>,
    /// The same statements by `pgbench -M prepared` (PostgreSQL with
    /// pgbench installed).
    pub pgbench: Vec<Throughput>,
    /// Reads only, every one a hit (500 hot keys of the workload, cached
    /// first): the hit path's own scaling.
    pub hits: Vec<Throughput>,
    /// Why `pgbench` is empty, if it is.
    pub pgbench_skipped: Option<String>,
    /// cache_on / cache_off calls/s at 16 clients (target ≥ 3).
    pub cache_on_vs_off_16: f64,
    /// read_mix / pgbench calls/s at 16 clients (target ≥ 0.8).
    pub read_mix_vs_pgbench_16: Option<f64>,
    /// Per series: whether calls/s never fell from 1 to 16 clients, and
    /// calls/s at 64 / the series' peak (target ≥ 0.9).
    pub shape: Vec<Shape>,
}

/// Whether a series scales.
#[derive(Debug, Clone, Serialize)]
pub struct Shape {
    /// `cache_on`, `cache_off`, `read_mix` or `pgbench`.
    pub series: &'static str,
    /// calls/s at 1 ≤ 4 ≤ 16 clients.
    pub non_decreasing_to_16: bool,
    /// calls/s at 64 clients / the highest of any level.
    pub at_64_vs_peak: f64,
}

impl Scaling {
    fn summarize(&mut self) {
        let at = |s: &[Throughput], c: usize| {
            s.iter()
                .find(|t| t.clients == c)
                .map_or(0.0, |t| t.calls_per_s)
        };
        self.cache_on_vs_off_16 = ratio(at(&self.cache_on, 16), at(&self.cache_off, 16));
        self.read_mix_vs_pgbench_16 = (!self.pgbench.is_empty())
            .then(|| ratio(at(&self.read_mix, 16), at(&self.pgbench, 16)));
        self.shape = [
            ("cache_on", &self.cache_on),
            ("cache_off", &self.cache_off),
            ("read_mix", &self.read_mix),
            ("pgbench", &self.pgbench),
            ("hits", &self.hits),
        ]
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(series, s)| {
            let to_16: Vec<f64> = s
                .iter()
                .filter(|t| t.clients <= 16)
                .map(|t| t.calls_per_s)
                .collect();
            let peak = s.iter().map(|t| t.calls_per_s).fold(0.0, f64::max);
            Shape {
                series,
                non_decreasing_to_16: to_16.windows(2).all(|w| w[1] >= w[0]),
                at_64_vs_peak: ratio(at(s, 64), peak),
            }
        })
        .collect();
    }
}

/// The coalescing check.
#[derive(Debug, Clone, Serialize)]
pub struct Coalescing {
    /// Concurrent callers of one uncached key.
    pub concurrent_misses: usize,
    /// Statements they ran.
    pub statements: u64,
}

/// The whole report (SPEC §8's JSON, with more fields).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `postgres` or `sqlite`.
    pub backend: &'static str,
    /// The scale seeded, or the nearest for an existing database.
    pub scale: String,
    /// Rows per table when measured.
    pub rows: Vec<(String, u64)>,
    /// Per query.
    pub queries: Vec<QueryReport>,
    /// The dashboard workload.
    pub workload: workload::WorkloadReport,
    /// Throughput per client count (cache on; `scaling.cache_on`).
    pub concurrency: Vec<Throughput>,
    /// The throughput phase in full: cache on and off, the fixed read
    /// mix through the service and through pgbench, and the ratios.
    pub scaling: Scaling,
    /// Per query, the service against raw sqlx and pgbench on the same
    /// statements.
    pub floor: floor::Floor,
    /// One write's invalidation and a hit with 100,000 entries cached.
    pub invalidation: invalidation::InvalidationReport,
    /// The coalescing check.
    pub coalescing: Coalescing,
    /// Contended write transactions.
    pub transactions: transactions::TransactionReport,
    /// The change feed across two instances (PostgreSQL with the feed up).
    pub feed: Option<feed::FeedReport>,
    /// Why the feed phase did not run, if it did not.
    pub feed_skipped: Option<String>,
    /// What the covering indexes cost a write: insert latency into their
    /// tables with and without them (empty with `--skip-no-index`).
    pub index_write_cost: Vec<IndexWriteCost>,
    /// Seconds seeding took (0 if the database was not empty).
    pub seed_seconds: f64,
    /// Seconds the whole run took.
    pub total_seconds: f64,
    /// When it ran (UTC, RFC 3339).
    pub started_at: String,
    /// Where it ran (`compare` refuses runs of different machines).
    pub machine: Machine,
    /// The commit of the working directory it ran in, if it is a git
    /// checkout (`git rev-parse --short HEAD`; `-dirty` with changes).
    pub git_commit: Option<String>,
    /// `neonhub-db` version.
    pub version: &'static str,
}

/// Insert latency into one table with and without the migration's
/// covering indexes on it.
#[derive(Debug, Clone, Serialize)]
pub struct IndexWriteCost {
    /// The table.
    pub table: &'static str,
    /// The indexes dropped for the `without` rounds.
    pub indexes: Vec<&'static str>,
    /// With every index: a round before the drop and one after the
    /// rebuild, pooled.
    pub with_index: Latency,
    /// Without those indexes.
    pub without_index: Latency,
    /// with_index.p50 / without_index.p50.
    pub p50_ratio: f64,
}

/// Inserts per round of the write-cost phase.
const WRITE_COST_INSERTS: usize = 300;

/// One round: `n` inserts into `table` through the service, timed.
async fn insert_round(
    db: &NeonDb,
    pools: &Pools,
    table: &str,
    round: usize,
    n: usize,
) -> Result<Vec<std::time::Duration>, BenchError> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        match table {
            "leads" => {
                db.leads()
                    .create(NewLead {
                        email: format!(
                            "bench-write-cost-{round}-{i}-{}@example.com",
                            std::process::id()
                        ),
                        score: Some((i % 100) as f64 / 10.0),
                        ..NewLead::default()
                    })
                    .await?;
            }
            _ => {
                let agent = &pools.agents[i % pools.agents.len()];
                db.executions()
                    .start(NewExecution::new(agent.clone(), "bench write cost"))
                    .await?;
            }
        }
        samples.push(started.elapsed());
    }
    Ok(samples)
}

/// Measures every covering index's write cost: a round with it, a round
/// without (dropped), a round after the rebuild. Rebuilds on error and on
/// Ctrl-C too.
async fn index_write_cost(
    db: &NeonDb,
    pools: &Pools,
    control: &Control,
) -> Result<Vec<IndexWriteCost>, BenchError> {
    let mut tables: Vec<&'static str> = COVERING_INDEXES.iter().map(|d| d.table).collect();
    tables.dedup();
    let mut out = Vec::new();
    for (t, table) in tables.into_iter().enumerate() {
        let indexes: Vec<&'static str> = COVERING_INDEXES
            .iter()
            .filter(|d| d.table == table)
            .map(|d| d.name)
            .collect();
        let mut with = insert_round(db, pools, table, 3 * t, WRITE_COST_INSERTS).await?;
        let without = async {
            for name in &indexes {
                exec(db, &format!("DROP INDEX IF EXISTS \"{name}\"")).await?;
            }
            insert_round(db, pools, table, 3 * t + 1, WRITE_COST_INSERTS).await
        };
        let outcome = tokio::select! {
            r = without => Some(r),
            () = control.interrupted() => None,
        };
        restore_indexes(db).await?;
        let without = match outcome {
            Some(r) => r?,
            None => return Err(BenchError::Interrupted),
        };
        with.extend(insert_round(db, pools, table, 3 * t + 2, WRITE_COST_INSERTS).await?);
        let (with_index, without_index) = (Latency::of(with), Latency::of(without));
        eprintln!(
            "  insert into {table}: p50 {:.3} ms with {}, {:.3} ms without",
            with_index.p50_ms,
            indexes.join(", "),
            without_index.p50_ms
        );
        out.push(IndexWriteCost {
            table,
            indexes,
            p50_ratio: ratio(with_index.p50_ms, without_index.p50_ms),
            with_index,
            without_index,
        });
    }
    Ok(out)
}

/// The machine a run ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Host name.
    pub hostname: String,
    /// CPUs available to the process.
    pub cpus: usize,
    /// `linux`, `macos`, ...
    pub os: &'static str,
    /// `x86_64`, `aarch64`, ...
    pub arch: &'static str,
}

impl Machine {
    /// This machine.
    pub fn current() -> Self {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        Self {
            hostname,
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        }
    }
}

/// The working directory's commit, if it is a git checkout.
pub fn git_commit() -> Option<String> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = run(&["rev-parse", "--short", "HEAD"]).filter(|c| !c.is_empty())?;
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

/// Saves `report` in `dir` as `<started_at>-<commit>.json`.
fn write_history(
    dir: &std::path::Path,
    report: &BenchReport,
) -> Result<std::path::PathBuf, BenchError> {
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| BenchError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let stamp: String = report
        .started_at
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!(
        "{stamp}-{}-{}.json",
        report.git_commit.as_deref().unwrap_or("nocommit"),
        report.scale
    );
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(report).unwrap_or_default();
    std::fs::write(&path, text).map_err(io(&path))?;
    Ok(path)
}

/// Why a benchmark stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Seeding failed.
    #[error(transparent)]
    Seed(#[from] crate::seed::SeedError),
    /// A call failed.
    #[error(transparent)]
    Service(#[from] service::Error),
    /// A statement failed.
    #[error(transparent)]
    Database(#[from] sea_orm::DbErr),
    /// Interrupted (Ctrl-C); the indexes were rebuilt first.
    #[error("interrupted; every index was rebuilt before stopping")]
    Interrupted,
    /// The database has too little data to draw parameters from.
    #[error(
        "the database has no users, agents or campaigns to benchmark with; run with an empty database to seed it"
    )]
    NoData,
    /// Writing the JSON report failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Outside control of a run: an interrupt switch and the current phase.
#[derive(Clone)]
pub struct Control {
    interrupt: Arc<watch::Sender<bool>>,
    phase: Arc<watch::Sender<&'static str>>,
}

impl Default for Control {
    fn default() -> Self {
        Self {
            interrupt: Arc::new(watch::channel(false).0),
            phase: Arc::new(watch::channel("start").0),
        }
    }
}

impl Control {
    /// Interrupts the run (as Ctrl-C does): it rebuilds the indexes if it
    /// dropped them and returns [`BenchError::Interrupted`].
    pub fn interrupt(&self) {
        self.interrupt.send_replace(true);
    }

    /// Watches the phase (`"seed"`, `"latency"`, `"no_index"`,
    /// `"restore_indexes"`, `"workload"`, `"concurrency"`, `"coalescing"`,
    /// `"transactions"`, `"done"`).
    pub fn phase(&self) -> watch::Receiver<&'static str> {
        self.phase.subscribe()
    }

    fn enter(&self, phase: &'static str) {
        self.phase.send_replace(phase);
        tracing::info!(phase, "bench");
    }

    async fn interrupted(&self) {
        let mut rx = self.interrupt.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }
}

async fn exec(db: &NeonDb, sql: &str) -> Result<(), sea_orm::DbErr> {
    db.connection().execute_unprepared(sql).await.map(drop)
}

/// Rebuilds every missing secondary index from the migration's definitions
/// (plain builds: the benchmark owns the database), then refreshes the
/// planner's statistics.
///
/// # Errors
/// The database's error.
pub async fn restore_indexes(db: &NeonDb) -> Result<(), sea_orm::DbErr> {
    restore_indexes_with(db, &ProgressBar::hidden()).await
}

/// [`restore_indexes`], advancing `bar` by one per index.
async fn restore_indexes_with(db: &NeonDb, bar: &ProgressBar) -> Result<(), sea_orm::DbErr> {
    let defs: Vec<IndexDef> = all_secondary_indexes().copied().collect();
    bar.set_length(defs.len() as u64);
    for def in &defs {
        bar.set_message(def.name);
        exec(db, &def.create_sql_blocking(db.backend())).await?;
        bar.inc(1);
    }
    bar.set_message("ANALYZE");
    let analyzed = exec(db, "ANALYZE").await;
    bar.finish_and_clear();
    analyzed
}

/// A progress bar for one phase, with an ETA, on stderr; hidden with
/// `--quiet`, and by indicatif when stderr is not a terminal.
pub fn phase_bar(quiet: bool, len: u64, name: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>18} {bar:28.cyan/blue} {pos:>7}/{len:<7} {elapsed:>4} ETA {eta:>4} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(name.to_owned());
    bar
}

async fn drop_indexes(db: &NeonDb) -> Result<(), sea_orm::DbErr> {
    for def in all_secondary_indexes() {
        exec(db, &format!("DROP INDEX IF EXISTS \"{}\"", def.name)).await?;
    }
    exec(db, "ANALYZE").await
}

async fn count_rows(db: &NeonDb) -> Result<Vec<(String, u64)>, sea_orm::DbErr> {
    let mut out = Vec::new();
    for table in crate::seed::TABLE_NAMES {
        let stmt =
            Statement::from_string(db.backend(), format!(r#"SELECT COUNT(*) FROM "{table}""#));
        let n: i64 = match db.connection().query_one_raw(stmt).await? {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        };
        out.push(((*table).to_owned(), u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}

fn nearest_scale(users: u64) -> String {
    match users {
        0..=1_000 => "tiny",
        1_001..=50_000 => "small",
        _ => "large",
    }
    .to_owned()
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Measures `calls` uncached calls of each query, and the same draws
/// directly and as cache-layer misses (interleaved, so drift hits all
/// three alike).
async fn measure_uncached(
    db: &NeonDb,
    pools: &Pools,
    name: QueryName,
    calls: usize,
    seed: u64,
) -> Result<(Latency, Latency, Latency), BenchError> {
    let mut rng = Rng::new(seed, 100 + name as u64);
    let uncached = db.uncached();
    for _ in 0..5 {
        Call::draw(name, pools, &mut rng, Draw::Uniform)
            .run(&uncached)
            .await?;
    }
    let (mut repo, mut direct, mut miss) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..calls {
        let call = Call::draw(name, pools, &mut rng, Draw::Uniform);
        let order = i % 3;
        for step in 0..3 {
            match (order + step) % 3 {
                0 => repo.push(time(call.run(&uncached)).await?.1),
                1 => direct.push(time(call.run_direct(db)).await?.1),
                _ => {
                    db.cache().clear();
                    miss.push(time(call.run(db)).await?.1);
                }
            }
        }
    }
    Ok((Latency::of(repo), Latency::of(direct), Latency::of(miss)))
}

/// Cache hits: the drawn keys are loaded first, then each is timed from
/// the cache (so a timed hit never follows a database round trip that
/// evicted the CPU caches, which would measure the round trip's wake).
async fn measure_cached(
    db: &NeonDb,
    pools: &Pools,
    name: QueryName,
    calls: usize,
    seed: u64,
) -> Result<Latency, BenchError> {
    let mut rng = Rng::new(seed, 200 + name as u64);
    let mut drawn = Vec::with_capacity(calls);
    for _ in 0..calls {
        let call = Call::draw(name, pools, &mut rng, Draw::Uniform);
        call.run(db).await?;
        drawn.push(call);
    }
    for call in drawn.iter().take(5) {
        call.run(db).await?;
    }
    let mut samples = Vec::with_capacity(calls);
    for call in &drawn {
        samples.push(time(call.run(db)).await?.1);
    }
    Ok(Latency::of(samples))
}

/// Without indexes: 3 warm-up calls decide between `calls` and 30 calls
/// (SPEC §9: 30 where a call takes over 50 ms).
async fn measure_no_index(
    db: &NeonDb,
    pools: &Pools,
    name: QueryName,
    calls: usize,
    seed: u64,
) -> Result<Latency, BenchError> {
    let mut rng = Rng::new(seed, 300 + name as u64);
    let uncached = db.uncached();
    let mut warm = Vec::new();
    for _ in 0..3 {
        warm.push(
            time(Call::draw(name, pools, &mut rng, Draw::Uniform).run(&uncached))
                .await?
                .1,
        );
    }
    warm.sort();
    let n = if warm[1] > Duration::from_millis(50) {
        30.min(calls)
    } else {
        calls
    };
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        samples.push(
            time(Call::draw(name, pools, &mut rng, Draw::Uniform).run(&uncached))
                .await?
                .1,
        );
    }
    Ok(Latency::of(samples))
}

/// What a throughput run's clients call.
#[derive(Clone, Copy)]
enum Load<'a> {
    /// SPEC §9's mix (5% writes), reads through the cache or bypassing it.
    Mix { cache: bool },
    /// The floor phase's fixed read mix, cache bypassed.
    Reads(&'a floor::ReadMix),
    /// Hits only: calls drawn uniformly from these, every one cached
    /// before the clock starts (the hit path's own scaling).
    Hits(&'a [Call]),
}

async fn throughput(
    db: &NeonDb,
    pools: &Arc<Pools>,
    load: Load<'_>,
    clients: usize,
    seconds: f64,
    seed: u64,
) -> Result<Tally, BenchError> {
    let reads: Arc<Vec<Call>> = Arc::new(match load {
        Load::Reads(mix) => mix.calls.iter().map(|(c, _)| c.clone()).collect(),
        Load::Hits(calls) => calls.to_vec(),
        Load::Mix { .. } => Vec::new(),
    });
    let handle = match load {
        Load::Mix { cache: true } | Load::Hits(_) => db.clone(),
        _ => db.uncached(),
    };
    if let Load::Hits(calls) = load {
        for call in calls {
            call.run(&handle).await?;
        }
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (db, pools, reads) = (handle.clone(), pools.clone(), reads.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed, 1000 + c as u64);
            let mut running = Vec::new();
            let mut samples = Vec::with_capacity(4096);
            while Instant::now() < deadline {
                let t = Instant::now();
                if reads.is_empty() {
                    match workload::draw_step(&pools, &mut rng, 0.05) {
                        workload::Step::Read(call) => drop(call.run(&db).await?),
                        workload::Step::Write(w) => {
                            workload::apply(&db, &w, &mut running).await?;
                        }
                    }
                } else {
                    drop(reads[rng.below(reads.len())].run(&db).await?);
                }
                samples.push(t.elapsed());
            }
            Ok::<_, service::Error>(samples)
        }));
    }
    let started = Instant::now();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(
            t.await.map_err(|e| {
                BenchError::Service(service::Error::invalid("task", e.to_string()))
            })??,
        );
    }
    Ok(Tally {
        calls: samples.len() as f64,
        seconds: started.elapsed().as_secs_f64().max(seconds),
        samples,
    })
}

/// Calls, time and latencies of one series at one level, over its rounds.
#[derive(Default)]
struct Tally {
    calls: f64,
    seconds: f64,
    samples: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.calls += other.calls;
        self.seconds += other.seconds;
        self.samples.extend(other.samples);
    }

    fn report(self, clients: usize) -> Throughput {
        let q = floor::Quantiles::of(self.samples);
        Throughput {
            clients,
            calls_per_s: ratio(self.calls, self.seconds),
            p50_ms: q.p50_ms,
            p99_ms: q.p99_ms,
        }
    }
}

/// Hot keys of the hits series.
const HOT_KEYS: usize = 500;

/// Every series of the throughput phase at one client count list.
async fn throughput_phase(
    db: &NeonDb,
    pools: &Arc<Pools>,
    mix: &floor::ReadMix,
    pgbench: Option<&floor::Pgbench>,
    args: &BenchArgs,
) -> Result<Scaling, BenchError> {
    let levels = [1, 4, 16, 64];
    // Hot keys of the dashboard workload, all cached first.
    let mut rng = Rng::new(args.seed, 1500);
    let hot: Vec<Call> = (0..HOT_KEYS)
        .filter_map(|_| match workload::draw_step(pools, &mut rng, 0.0) {
            workload::Step::Read(call) => Some(call),
            workload::Step::Write(_) => None,
        })
        .collect();
    let bar = phase_bar(args.quiet, levels.len() as u64, "throughput");
    let mut out = Scaling::default();
    // Each level runs its series in turns of about 2 s (pgbench counts
    // whole seconds), so that drift on a shared machine hits every
    // series alike and the ratios compare like with like.
    let rounds = (args.concurrency_seconds / 2.0).floor().max(1.0) as usize;
    let slice = args.concurrency_seconds / rounds as f64;
    let loads = [
        ("cache on", Load::Mix { cache: true }),
        ("cache off", Load::Mix { cache: false }),
        ("read mix", Load::Reads(mix)),
        ("hits", Load::Hits(&hot)),
    ];
    for clients in levels {
        db.cache().clear();
        bar.set_message(format!("{clients} clients"));
        let mut tallies: Vec<Tally> = (0..=loads.len()).map(|_| Tally::default()).collect();
        for round in 0..rounds {
            let seed = args.seed.wrapping_add(round as u64);
            for (i, (_, load)) in loads.iter().enumerate() {
                tallies[i].add(throughput(db, pools, *load, clients, slice, seed).await?);
            }
            if let Some(pg) = pgbench.filter(|_| out.pgbench_skipped.is_none()) {
                match pg.read_mix(mix, clients, slice).await {
                    Ok(run) => tallies[loads.len()].add(Tally {
                        calls: run.tps * run.seconds,
                        seconds: run.seconds,
                        samples: run.samples,
                    }),
                    Err(why) => out.pgbench_skipped = Some(why),
                }
            }
        }
        let pg_tally = tallies.pop().unwrap_or_default();
        for ((label, load), tally) in loads.iter().zip(tallies) {
            let t = tally.report(clients);
            bar.suspend(|| {
                eprintln!(
                    "  {label:<9} {clients:>2} clients: {:>10.0} calls/s  p50 {:>8.3} ms  p99 {:>8.3} ms",
                    t.calls_per_s, t.p50_ms, t.p99_ms
                );
            });
            match load {
                Load::Mix { cache: true } => out.cache_on.push(t),
                Load::Mix { cache: false } => out.cache_off.push(t),
                Load::Reads(_) => out.read_mix.push(t),
                Load::Hits(_) => out.hits.push(t),
            }
        }
        if pgbench.is_some() && out.pgbench_skipped.is_none() {
            let t = pg_tally.report(clients);
            bar.suspend(|| {
                eprintln!(
                    "  pgbench   {clients:>2} clients: {:>10.0} calls/s  p50 {:>8.3} ms  p99 {:>8.3} ms",
                    t.calls_per_s, t.p50_ms, t.p99_ms
                );
            });
            out.pgbench.push(t);
        }
        bar.inc(1);
    }
    if out.pgbench_skipped.is_some() {
        out.pgbench.clear();
    }
    bar.finish_and_clear();
    out.summarize();
    Ok(out)
}

async fn coalescing(db: &NeonDb, pools: &Pools) -> Result<Coalescing, BenchError> {
    db.cache().clear();
    let mut rng = Rng::new(7, 7);
    // A one-statement query, so statements run = loads.
    let call = Arc::new(Call::draw(
        QueryName::HighValueLeads,
        pools,
        &mut rng,
        Draw::Zipf,
    ));
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let before = db.metrics().statements_total();
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (db, call, barrier) = (db.clone(), call.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            call.run(&db).await.map(drop)
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| BenchError::Service(service::Error::invalid("task", e.to_string())))??;
    }
    Ok(Coalescing {
        concurrent_misses: 64,
        statements: db.metrics().statements_total() - before,
    })
}

/// Runs the benchmark.
///
/// # Errors
/// [`BenchError`]; the indexes are in place whatever happens.
pub async fn run(
    db: &NeonDb,
    args: &BenchArgs,
    control: &Control,
) -> Result<BenchReport, BenchError> {
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let backend = match db.backend() {
        DatabaseBackend::Postgres => "postgres",
        _ => "sqlite",
    };
    control.enter("seed");
    let seed_args = SeedArgs {
        scale: args.scale,
        seed: args.seed,
    };
    let (seed_seconds, scale) = match crate::seed::run(db, &seed_args, !args.quiet).await {
        Ok(report) => (report.elapsed.as_secs_f64(), args.scale.as_str().to_owned()),
        Err(crate::seed::SeedError::AlreadySeeded { .. }) => (0.0, String::new()),
        Err(e) => return Err(e.into()),
    };
    // A previous run killed during the no-index phase left them dropped.
    if !args.as_is {
        restore_indexes(db).await?;
    }
    let rows = count_rows(db).await?;
    let scale = if scale.is_empty() {
        nearest_scale(rows.iter().find(|(t, _)| t == "users").map_or(0, |r| r.1))
    } else {
        scale
    };
    let pools = Arc::new(Pools::load(db).await?);
    if !pools.is_usable() {
        return Err(BenchError::NoData);
    }

    control.enter("latency");
    let mut per_query = Vec::new();
    for name in QueryName::ALL {
        let (indexed, direct, cache_miss) =
            measure_uncached(db, &pools, name, args.calls, args.seed).await?;
        let cached = measure_cached(db, &pools, name, args.calls, args.seed).await?;
        eprintln!(
            "  {:<32} indexed p50 {:>9.3} ms   cached p50 {:>9.4} ms",
            name.as_str(),
            indexed.p50_ms,
            cached.p50_ms
        );
        per_query.push((name, indexed, cached, direct, cache_miss));
    }

    let mut no_index = vec![Latency::default(); QueryName::ALL.len()];
    if !args.skip_no_index {
        control.enter("no_index");
        eprintln!("  dropping the secondary indexes (they are rebuilt afterwards, also on Ctrl-C)");
        drop_indexes(db).await?;
        let measured = async {
            let mut out = Vec::new();
            for name in QueryName::ALL {
                let l = measure_no_index(db, &pools, name, args.calls, args.seed).await?;
                eprintln!("  {:<32} no-index p50 {:>9.3} ms", name.as_str(), l.p50_ms);
                out.push(l);
            }
            Ok::<_, BenchError>(out)
        };
        let outcome = tokio::select! {
            r = measured => Some(r),
            () = control.interrupted() => None,
        };
        control.enter("restore_indexes");
        eprintln!("  rebuilding the secondary indexes");
        restore_indexes_with(db, &phase_bar(args.quiet, 0, "rebuilding indexes")).await?;
        match outcome {
            Some(r) => no_index = r?,
            None => return Err(BenchError::Interrupted),
        }
    }

    let queries = per_query
        .into_iter()
        .zip(no_index)
        .map(
            |((name, indexed, cached, direct, cache_miss), no_index)| QueryReport {
                name: name.as_str(),
                index_speedup: ratio(no_index.p50_ms, indexed.p50_ms),
                cache_speedup: ratio(indexed.p50_ms, cached.p50_ms),
                repository_overhead: ratio(indexed.p50_ms, direct.p50_ms) - 1.0,
                cache_layer_overhead: ratio(cache_miss.p50_ms, indexed.p50_ms) - 1.0,
                no_index,
                indexed,
                cached,
                direct,
                cache_miss,
            },
        )
        .collect();

    control.enter("workload");
    db.cache().clear();
    let bar = phase_bar(args.quiet, args.workload_calls, "workload");
    let workload = tokio::select! {
        r = workload::run(db, &pools, args.workload_calls, args.seed, 0.05, &bar) => r?,
        () = control.interrupted() => return Err(BenchError::Interrupted),
    };

    control.enter("floor");
    let mix = floor::ReadMix::record(db, &pools, args.seed).await?;
    let pgbench = floor::Pgbench::find(db);
    let floor = floor::run(db, &mix, &pgbench, args.floor_calls).await?;
    control.enter("concurrency");
    let scaling = throughput_phase(db, &pools, &mix, pgbench.as_ref().ok(), args).await?;
    let scaling = Scaling {
        pgbench_skipped: scaling
            .pgbench_skipped
            .clone()
            .or_else(|| pgbench.as_ref().err().cloned()),
        ..scaling
    };
    let concurrency = scaling.cache_on.clone();
    control.enter("invalidation");
    let invalidation = invalidation::run(args.seed).await?;
    control.enter("coalescing");
    let coalescing = coalescing(db, &pools).await?;
    control.enter("transactions");
    let transactions = match pools.leads.first() {
        Some(lead) => transactions::run(db, lead, args.concurrency_seconds).await,
        None => transactions::TransactionReport::default(),
    };
    eprintln!(
        "  {} tasks read-modify-write: {:.0} commits/s, {} locked, {} other errors",
        transactions.tasks,
        transactions.commits_per_s,
        transactions.locked_errors,
        transactions.other_errors
    );
    control.enter("feed");
    let (feed, feed_skipped) = feed_phase(db, &pools, args, control).await?;
    let index_write_cost = if args.skip_no_index {
        Vec::new()
    } else {
        control.enter("index_write_cost");
        index_write_cost(db, &pools, control).await?
    };
    control.enter("done");
    let report = BenchReport {
        backend,
        scale,
        rows,
        queries,
        workload,
        concurrency,
        scaling,
        floor,
        invalidation,
        coalescing,
        transactions,
        feed,
        feed_skipped,
        index_write_cost,
        seed_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
        started_at,
        machine: Machine::current(),
        git_commit: git_commit(),
        version: env!("CARGO_PKG_VERSION"),
    };
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(path, text).map_err(|source| BenchError::Io {
            path: path.display().to_string(),
            source,
        })?;
    }
    if let Some(dir) = &args.history {
        let path = write_history(dir, &report)?;
        eprintln!("  saved {}", path.display());
    }
    Ok(report)
}

/// Phase 8 ([`feed`]): its report, or why it was not measured.
async fn feed_phase(
    db: &NeonDb,
    pools: &Pools,
    args: &BenchArgs,
    control: &Control,
) -> Result<(Option<feed::FeedReport>, Option<String>), BenchError> {
    if db.backend() != DatabaseBackend::Postgres {
        let why = "SQLite: the feed is a local poller, there is no second instance to measure";
        return Ok((None, Some(why.to_owned())));
    }
    let calls = (args.workload_calls / 2).max(1);
    let bar = phase_bar(args.quiet, calls, "feed workload");
    let measured = tokio::select! {
        r = feed::run(db.config(), pools, calls, args.seed, &bar) => r,
        () = control.interrupted() => return Err(BenchError::Interrupted),
    };
    match measured {
        Ok(report) => {
            eprintln!(
                "  two instances: {} stale reads after tokens, hit efficiency {:.3}, lag p50 {:.2} ms p99 {:.2} ms, write p50 feed on/off {:.3}",
                report.workload.stale_reads,
                report.workload.hit_efficiency,
                report.lag.p50_ms,
                report.lag.p99_ms,
                report.write_p50_ratio
            );
            Ok((Some(report), None))
        }
        // The server cannot run the feed: say why, report the rest.
        Err(service::Error::Invalid {
            field: "NEONHUB_CHANGE_FEED",
            reason,
        }) => {
            eprintln!("  change feed: not measured ({reason})");
            Ok((None, Some(reason)))
        }
        Err(e) => Err(e.into()),
    }
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: u64 = self.rows.iter().map(|r| r.1).sum();
        writeln!(
            f,
            "neonhub-db bench: {} ({} scale, {rows} rows), {}",
            self.backend, self.scale, self.started_at
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<31} {:>19} {:>19} {:>19} {:>9} {:>9}",
            "query (p50 / p95 ms)", "no index", "indexed", "cached", "index×", "cache×"
        )?;
        let pair = |l: &Latency| {
            if l.calls == 0 {
                "-".to_owned()
            } else {
                format!("{:.3} / {:.3}", l.p50_ms, l.p95_ms)
            }
        };
        let cached = |l: &Latency| format!("{:.4} / {:.4}", l.p50_ms, l.p95_ms);
        for q in &self.queries {
            writeln!(
                f,
                "{:<31} {:>19} {:>19} {:>19} {:>9.1} {:>9.0}",
                q.name,
                pair(&q.no_index),
                pair(&q.indexed),
                cached(&q.cached),
                q.index_speedup,
                q.cache_speedup
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<31} {:>19} {:>19}",
            "layer overhead on p50", "repository", "cache (miss)"
        )?;
        for q in &self.queries {
            writeln!(
                f,
                "{:<31} {:>18.1}% {:>18.1}%",
                q.name,
                q.repository_overhead * 100.0,
                q.cache_layer_overhead * 100.0
            )?;
        }
        let w = &self.workload;
        writeln!(f)?;
        writeln!(
            f,
            "dashboard workload: {} calls ({} reads, {} writes) in {:.1} s",
            w.calls, w.reads, w.writes, w.seconds
        )?;
        writeln!(
            f,
            "  hit rate {:.3}   oracle {:.3}   efficiency {:.3}   statements saved {:.3}   stale reads {}",
            w.hit_rate, w.oracle_hit_rate, w.hit_efficiency, w.statements_saved, w.stale_reads
        )?;
        writeln!(
            f,
            "  uncached calls under 100 ms {:.2}% of {}   errors {} ({:.3}%)   timeouts {} ({:.3}%)",
            w.uncached_under_100ms * 100.0,
            w.uncached_calls,
            w.errors,
            w.error_rate * 100.0,
            w.timeouts,
            w.timeout_rate * 100.0
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<31} {:>19} {:>19} {:>19} {:>10} {:>10}",
            "floor (p50 ms, fixed params)", "service", "raw sqlx", "pgbench", "÷ sqlx", "÷ pgbench"
        )?;
        for q in &self.floor.queries {
            writeln!(
                f,
                "{:<31} {:>19.3} {:>19.3} {:>19} {:>10.2} {:>10}",
                q.name,
                q.service.p50_ms,
                q.sqlx.p50_ms,
                q.pgbench
                    .map_or_else(|| "-".to_owned(), |p| format!("{:.3}", p.p50_ms)),
                q.service_vs_sqlx,
                q.service_vs_pgbench
                    .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
            )?;
        }
        writeln!(
            f,
            "  median service / sqlx {:.2}, service / pgbench {}",
            self.floor.median_vs_sqlx,
            self.floor
                .median_vs_pgbench
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"))
        )?;
        if let Some(why) = &self.floor.pgbench_skipped {
            writeln!(f, "  pgbench: not measured ({why})")?;
        }
        let sc = &self.scaling;
        writeln!(f, "throughput (calls/s, p50 / p99 ms):")?;
        for (label, series) in [
            ("cache on", &sc.cache_on),
            ("cache off", &sc.cache_off),
            ("read mix", &sc.read_mix),
            ("pgbench", &sc.pgbench),
            ("hits", &sc.hits),
        ] {
            if series.is_empty() {
                continue;
            }
            write!(f, "  {label:<10}")?;
            for t in series {
                write!(
                    f,
                    "  {}: {:.0} ({:.2} / {:.2})",
                    t.clients, t.calls_per_s, t.p50_ms, t.p99_ms
                )?;
            }
            writeln!(f)?;
        }
        write!(
            f,
            "  cache on / off at 16 clients {:.2}x",
            sc.cache_on_vs_off_16
        )?;
        if let Some(r) = sc.read_mix_vs_pgbench_16 {
            write!(f, "; read mix / pgbench at 16 clients {r:.2}x")?;
        }
        writeln!(f)?;
        for s in &sc.shape {
            writeln!(
                f,
                "  {:<10} non-decreasing 1→16: {}   64 clients / peak {:.2}",
                s.series, s.non_decreasing_to_16, s.at_64_vs_peak
            )?;
        }
        let inv = &self.invalidation;
        writeln!(
            f,
            "invalidation with {} entries cached: one write p50 {:.2} µs (p99 {:.2}, {:.2} removed), a hit p50 {:.2} µs",
            inv.entries,
            inv.invalidation.p50_ms * 1000.0,
            inv.invalidation.p99_ms * 1000.0,
            inv.removed_per_write,
            inv.hit.p50_ms * 1000.0
        )?;
        writeln!(
            f,
            "coalescing: {} concurrent misses of one key ran {} statement(s)",
            self.coalescing.concurrent_misses, self.coalescing.statements
        )?;
        let t = &self.transactions;
        writeln!(
            f,
            "transactions: {} tasks, read-modify-write on one row: {:.0} commits/s, {} \"locked\" errors, {} other errors",
            t.tasks, t.commits_per_s, t.locked_errors, t.other_errors
        )?;
        match (&self.feed, &self.feed_skipped) {
            (Some(feed), _) => {
                let w = &feed.workload;
                writeln!(
                    f,
                    "change feed, {} instances: {} calls, stale reads after awaiting tokens {}, hit efficiency {:.3} (rate {:.3} / oracle {:.3})",
                    feed.instances,
                    w.calls,
                    w.stale_reads,
                    w.hit_efficiency,
                    w.hit_rate,
                    w.oracle_hit_rate
                )?;
                writeln!(
                    f,
                    "  lag to the other instance: p50 {:.2} ms, p99 {:.2} ms ({} writes); write p50 feed on {:.3} ms / off {:.3} ms = {:.3}x",
                    feed.lag.p50_ms,
                    feed.lag.p99_ms,
                    feed.lag.samples,
                    feed.write_feed_on.p50_ms,
                    feed.write_feed_off.p50_ms,
                    feed.write_p50_ratio
                )?;
            }
            (None, Some(why)) => writeln!(f, "change feed: not measured ({why})")?,
            (None, None) => {}
        }
        for c in &self.index_write_cost {
            writeln!(
                f,
                "write cost of {}: insert into {} p50 {:.3} ms with, {:.3} ms without = {:.3}x",
                c.indexes.join(", "),
                c.table,
                c.with_index.p50_ms,
                c.without_index.p50_ms,
                c.p50_ratio
            )?;
        }
        write!(
            f,
            "total {:.1} s (seeding {:.1} s)",
            self.total_seconds, self.seed_seconds
        )
    }
}
