//! `neonhub-db seed --scale tiny|small|large [--seed N]`: fills an empty
//! database with deterministic, realistically skewed data (SPEC §8, §9).
//!
//! * **Deterministic.** Every value comes from ChaCha8 streams keyed by the
//!   seed (one stream per table), through sampling code written out in
//!   `seed::rng` rather than `rand`'s own, and "now" is fixed at
//!   2026-11-01T00:00:00Z with rows spread over the two years before it.
//!   The same seed gives the same rows on every run and on both backends.
//! * **Realistic.** Zipf(s = 1.1) activity per user (who owns campaigns,
//!   executions, analytics), per campaign (its analytics and executions)
//!   and per agent; weighted enum values (most executions COMPLETED, some
//!   FAILED, ...); NULLs where the schema allows them; JSON payloads of a
//!   few hundred bytes; more rows recently than two years ago; cuid-style
//!   ids that grow with the creation time, as Prisma's do.
//! * **Fast.** Rows are generated on blocking threads and streamed to the
//!   database while they are produced. PostgreSQL: one transaction per
//!   table that locks it, drops its secondary indexes, `COPY ... FROM STDIN
//!   (FREEZE)`s the rows, rebuilds the indexes and commits, then `VACUUM
//!   (ANALYZE)`; up to three tables at once (as a superuser without the
//!   per-row foreign-key triggers and biggest first, else parents before
//!   children). A failure rolls the table back *with* its indexes, so no
//!   index is ever lost, even if the process dies. SQLite: the same per
//!   table, with multi-row INSERTs on one connection, then `ANALYZE`.
//!   Measured on the 2-core development machine, shared with other jobs:
//!   `large` into PostgreSQL in 136–175 s, `small` in 13–18 s, `tiny` in
//!   about a second.
//!
//! Seeding refuses a database that already holds rows
//! ([`SeedError::AlreadySeeded`]) and applies pending migrations first.

mod generate;
mod pipeline;
mod plan;
mod postgres;
mod progress;
mod rng;
mod sink;
mod sqlite;
mod text;
mod vocab;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use migration::Migrator;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};
use sea_orm_migration::MigratorTrait;
use service::NeonDb;

pub use plan::TABLE_NAMES;

/// Arguments of `neonhub-db seed`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// How much data (SPEC §9): tiny (seconds), small (under a minute),
    /// large (minutes; about 11 million rows).
    #[arg(long, value_enum, default_value_t = Scale::Tiny)]
    pub scale: Scale,
    /// Seed of the random generator: the same seed gives the same rows.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl Default for SeedArgs {
    fn default() -> Self {
        Self {
            scale: Scale::Tiny,
            seed: 42,
        }
    }
}

/// The data sizes of SPEC §9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Scale {
    /// 200 users, 2k campaigns, 5k executions, 10k analytics, 2k each of
    /// contents, leads and trends, 50 agents.
    #[default]
    Tiny,
    /// 10k users, 100k campaigns, 200k executions, 500k analytics, 100k
    /// each of contents, leads and trends, 500 agents.
    Small,
    /// 100k users, 1M campaigns, 2M executions, 5M analytics, 1M each of
    /// contents, leads and trends, 500 agents.
    Large,
}

impl Scale {
    /// The row count of every table at this scale.
    pub fn counts(self) -> Counts {
        match self {
            Scale::Tiny => Counts {
                users: 200,
                accounts: 120,
                sessions: 200,
                verification_tokens: 20,
                campaigns: 2_000,
                agents: 50,
                agent_executions: 5_000,
                analytics: 10_000,
                ab_tests: 40,
                contents: 2_000,
                leads: 2_000,
                trends: 2_000,
                design_templates: 50,
            },
            Scale::Small => Counts {
                users: 10_000,
                accounts: 6_000,
                sessions: 10_000,
                verification_tokens: 500,
                campaigns: 100_000,
                agents: 500,
                agent_executions: 200_000,
                analytics: 500_000,
                ab_tests: 2_000,
                contents: 100_000,
                leads: 100_000,
                trends: 100_000,
                design_templates: 500,
            },
            Scale::Large => Counts {
                users: 100_000,
                accounts: 60_000,
                sessions: 100_000,
                verification_tokens: 5_000,
                campaigns: 1_000_000,
                agents: 500,
                agent_executions: 2_000_000,
                analytics: 5_000_000,
                ab_tests: 20_000,
                contents: 1_000_000,
                leads: 1_000_000,
                trends: 1_000_000,
                design_templates: 1_000,
            },
        }
    }

    /// `tiny`, `small` or `large`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Small => "small",
            Scale::Large => "large",
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rows per table. The tables SPEC §9 sizes have its counts; accounts,
/// sessions, verification tokens, A/B tests and design templates get small
/// proportional ones (60% of users have an OAuth account, one session per
/// user on average, one A/B test per 50 campaigns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Counts {
    /// `users`.
    pub users: u64,
    /// `accounts`.
    pub accounts: u64,
    /// `sessions`.
    pub sessions: u64,
    /// `verification_tokens`.
    pub verification_tokens: u64,
    /// `campaigns`.
    pub campaigns: u64,
    /// `agents`.
    pub agents: u64,
    /// `agent_executions`.
    pub agent_executions: u64,
    /// `analytics`.
    pub analytics: u64,
    /// `ab_tests`.
    pub ab_tests: u64,
    /// `contents`.
    pub contents: u64,
    /// `leads`.
    pub leads: u64,
    /// `trends`.
    pub trends: u64,
    /// `design_templates`.
    pub design_templates: u64,
}

impl Counts {
    /// The count of a table by its database name (`"agent_executions"`).
    pub fn get(&self, table: &str) -> Option<u64> {
        self.iter().find(|(t, _)| *t == table).map(|(_, n)| n)
    }

    /// `(table, rows)` for every table, parents before children (the
    /// schema's order).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        plan::Table::ALL
            .iter()
            .map(move |t| (t.name(), t.count(self)))
    }

    /// Rows in all tables together.
    pub fn total(&self) -> u64 {
        self.iter().map(|(_, n)| n).sum()
    }
}

/// What one table's load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    /// The table.
    pub table: &'static str,
    /// Rows written.
    pub rows: u64,
    /// Time spent writing the rows.
    pub load: Duration,
    /// Time spent rebuilding the table's secondary indexes.
    pub indexes: Duration,
    /// Lock to commit: load, indexes and statistics.
    pub elapsed: Duration,
}

/// What `seed` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// The scale seeded.
    pub scale: Scale,
    /// The seed used.
    pub seed: u64,
    /// `postgres` or `sqlite`.
    pub backend: &'static str,
    /// Every table, in the schema's order.
    pub tables: Vec<TableReport>,
    /// Migrations applied before seeding (empty if the schema was current).
    pub migrations_applied: Vec<String>,
    /// The pass after every table is loaded: `VACUUM` of the tables that
    /// could not be loaded frozen on PostgreSQL, `ANALYZE` on SQLite.
    pub finish: Duration,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl SeedReport {
    /// Rows written into `table`, if it is a table of the schema.
    pub fn rows(&self, table: &str) -> Option<u64> {
        self.tables
            .iter()
            .find(|t| t.table == table)
            .map(|t| t.rows)
    }

    /// Rows written in all.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seeded {} scale (seed {}) into {} in {:.1} s: {} rows",
            self.scale,
            self.seed,
            self.backend,
            self.elapsed.as_secs_f64(),
            self.total_rows()
        )?;
        writeln!(
            f,
            "  {:<20} {:>10} {:>9} {:>9} {:>12}",
            "table", "rows", "load s", "index s", "rows/s"
        )?;
        for t in &self.tables {
            let secs = t.load.as_secs_f64();
            let rate = if secs > 0.0 {
                t.rows as f64 / secs
            } else {
                0.0
            };
            writeln!(
                f,
                "  {:<20} {:>10} {:>9.2} {:>9.2} {:>12.0}",
                t.table,
                t.rows,
                secs,
                t.indexes.as_secs_f64(),
                rate
            )?;
        }
        writeln!(
            f,
            "  final pass ({}): {:.2} s",
            if self.backend == "postgres" {
                "VACUUM users, agents, campaigns"
            } else {
                "ANALYZE"
            },
            self.finish.as_secs_f64()
        )
    }
}

/// What a backend's loader hands back.
struct Loaded {
    tables: Vec<TableReport>,
    finish: Duration,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The database already holds data; seeding only fills an empty one.
    #[error(
        "table {table} already holds {rows} row(s); seed only fills an empty database. \
         Run `neonhub-db migrate fresh` first (it drops every table and recreates the schema)"
    )]
    AlreadySeeded {
        /// The first non-empty table found.
        table: String,
        /// Its row count.
        rows: u64,
    },
    /// Applying pending migrations before seeding failed.
    #[error("applying pending migrations before seeding: {0}")]
    Migration(#[source] DbErr),
    /// A statement failed.
    #[error("seeding: {0}")]
    Database(#[from] DbErr),
    /// Loading a table failed; its transaction was rolled back (its rows
    /// and its indexes are as they were).
    #[error("loading {table}: {source}")]
    Load {
        /// The table.
        table: &'static str,
        /// The driver's error.
        #[source]
        source: sea_orm::sqlx::Error,
    },
    /// Generating a table's rows failed.
    #[error("generating {table}: {reason}")]
    Generate {
        /// The table.
        table: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The database took another number of rows than was sent.
    #[error("loading {table}: sent {expected} rows, the database stored {stored}")]
    RowCount {
        /// The table.
        table: &'static str,
        /// Rows generated.
        expected: u64,
        /// Rows the database reported.
        stored: u64,
    },
    /// A table's load stopped because another table failed.
    #[error("loading {table} was cancelled because another table failed")]
    Cancelled {
        /// The table.
        table: &'static str,
    },
    /// Some tables failed after others had been committed.
    #[error(
        "{source}. Tables already loaded and kept: {}. Every index is in place; run \
         `neonhub-db migrate fresh` before seeding again",
        loaded.join(", ")
    )]
    Partial {
        /// Tables committed before the failure.
        loaded: Vec<&'static str>,
        /// The first failure.
        #[source]
        source: Box<SeedError>,
    },
    /// A background task panicked or was cancelled.
    #[error("a seeding task failed: {0}")]
    Task(String),
    /// Only PostgreSQL and SQLite are supported.
    #[error("seeding supports PostgreSQL and SQLite, not {0:?}")]
    UnsupportedBackend(DatabaseBackend),
}

/// Seeds `db` with `args.scale` rows from `args.seed`, drawing progress
/// bars on stderr if `progress`.
///
/// Applies pending migrations first (so an empty database gets the
/// schema), refuses a database whose tables hold rows, then loads every
/// table (see the module documentation for how) and returns what it did.
///
/// # Errors
/// [`SeedError::AlreadySeeded`] if any table holds rows (nothing is
/// changed); [`SeedError::Migration`] if the schema cannot be brought up to
/// date; a load error otherwise, wrapped in [`SeedError::Partial`] if other
/// tables had been committed by then. Every secondary index is in place
/// whatever the outcome.
pub async fn run(db: &NeonDb, args: &SeedArgs, progress: bool) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let backend = db.backend();
    let backend_name = match backend {
        DatabaseBackend::Postgres => "postgres",
        DatabaseBackend::Sqlite => "sqlite",
        other => return Err(SeedError::UnsupportedBackend(other)),
    };
    let migrations_applied = ensure_schema(db).await?;
    ensure_empty(db).await?;

    let counts = args.scale.counts();
    let seed = args.seed;
    let plan = tokio::task::spawn_blocking(move || plan::Plan::new(seed, counts))
        .await
        .map_err(|e| SeedError::Task(e.to_string()))?;
    let plan = Arc::new(plan);
    let bars = progress::Bars::new(progress, &counts);

    let Loaded { mut tables, finish } = match backend {
        DatabaseBackend::Postgres => postgres::load(db, &plan, &bars).await?,
        _ => sqlite::load(db, &plan, &bars).await?,
    };
    bars.finish();
    tables.sort_by_key(|t| plan::Table::position(t.table));
    let report = SeedReport {
        scale: args.scale,
        seed,
        backend: backend_name,
        tables,
        migrations_applied,
        finish,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        scale = %report.scale,
        seed,
        rows = report.total_rows(),
        secs = report.elapsed.as_secs_f64(),
        "seeded"
    );
    Ok(report)
}

/// Applies pending migrations; returns their names.
async fn ensure_schema(db: &NeonDb) -> Result<Vec<String>, SeedError> {
    let conn = db.connection();
    let pending = Migrator::get_pending_migrations(conn)
        .await
        .map_err(SeedError::Migration)?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = pending.iter().map(|m| m.name().to_owned()).collect();
    tracing::info!(?names, "applying pending migrations before seeding");
    Migrator::up(conn, None)
        .await
        .map_err(SeedError::Migration)?;
    Ok(names)
}

/// Fails with [`SeedError::AlreadySeeded`] for the first table with rows.
async fn ensure_empty(db: &NeonDb) -> Result<(), SeedError> {
    let conn = db.connection();
    let backend = conn.get_database_backend();
    for table in plan::Table::ALL {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM \"{}\" LIMIT 1) AS t",
            table.name()
        );
        let any = conn
            .query_one_raw(Statement::from_string(backend, sql))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if any > 0 {
            return Err(already_seeded(db, table.name()).await);
        }
    }
    Ok(())
}

/// The [`SeedError::AlreadySeeded`] for `table`, with its row count.
async fn already_seeded(db: &NeonDb, table: &str) -> SeedError {
    let conn = db.connection();
    let rows = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) FROM \"{table}\""),
        ))
        .await
        .ok()
        .flatten()
        .and_then(|r| r.try_get_by_index::<i64>(0).ok())
        .unwrap_or(1);
    SeedError::AlreadySeeded {
        table: table.to_owned(),
        rows: u64::try_from(rows).unwrap_or(0),
    }
}
