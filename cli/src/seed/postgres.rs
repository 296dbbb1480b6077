//! Loading into PostgreSQL: one transaction per table, `COPY ... FROM STDIN
//! (FREEZE)`, tables in parallel.
//!
//! Per table, on a connection of its own:
//!
//! ```text
//! BEGIN
//! SET LOCAL statement_timeout = 0, maintenance_work_mem = '512MB', ...
//! LOCK TABLE <table> IN ACCESS EXCLUSIVE MODE
//! -- still empty? (else AlreadySeeded)
//! DROP INDEX <the table's secondary indexes that exist>
//! TRUNCATE <table>                 -- empty already; makes COPY FREEZE legal
//! COPY <table> (...) FROM STDIN WITH (FREEZE)
//! CREATE INDEX <the dropped ones>  -- plain, sorted builds
//! COMMIT
//! VACUUM (ANALYZE) <table>         -- statistics; the pages are frozen already
//! ```
//!
//! and when every table is loaded, `VACUUM` of the three tables that could
//! not be frozen.
//!
//! Loading into an index-free table and building each index once, sorted,
//! is several times faster than maintaining the indexes row by row. FREEZE
//! writes the rows frozen and all-visible, so index-only scans work at once
//! and autovacuum finds nothing to do after seeding; the three tables other
//! tables reference (users, agents, campaigns) cannot be truncated alone,
//! so they load unfrozen and the final `VACUUM` sets their visibility map.
//! Because the whole sequence is one transaction, a failure (or a killed
//! process) rolls the table back to empty *with* its indexes: no index is
//! ever lost.
//!
//! Up to [`PARALLEL`] tables load at once. When the role is a superuser the
//! loads run with `session_replication_role = replica`, which skips the
//! per-row foreign-key triggers (the generator only writes ids of rows
//! that exist, and the tests check every foreign key afterwards); then no
//! table waits for another and the biggest start first. Otherwise children
//! wait for their parents' commit, the longest chain first. The constraints
//! stay in place either way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use sea_orm::sqlx::{self, Connection as _, PgConnection, PgPool};
use service::NeonDb;
use tokio::task::JoinSet;

use super::pipeline::{self, Msg};
use super::plan::{Plan, Table};
use super::progress::Bars;
use super::sink::CopySink;
use super::{Loaded, SeedError, TableReport};

/// Tables loading at once. Each load keeps one server process busy
/// (parsing, JSONB, index builds) and one generator thread.
pub(crate) const PARALLEL: usize = 3;

/// COPY data is sent in chunks of about this many bytes.
const CHUNK_BYTES: usize = 1 << 20;

/// Loads every table of `plan`.
pub(crate) async fn load(db: &NeonDb, plan: &Arc<Plan>, bars: &Bars) -> Result<Loaded, SeedError> {
    let pool = db.connection().get_postgres_connection_pool().clone();
    let skip_fk_triggers = is_superuser(&pool).await?;
    let flush_stats = server_version(&pool).await? >= 150_000;
    // Never more loads than the pool has connections: a load holds its
    // connection for minutes, others would time out waiting for one.
    let parallel = PARALLEL.min(pool.options().get_max_connections().max(1) as usize);
    let cancel = Arc::new(AtomicBool::new(false));
    // Without foreign-key triggers no table waits for another: start the
    // biggest first. With them, a child waits for its parents' commit.
    let independent = skip_fk_triggers;
    let mut pending: Vec<Table> = Table::PRIORITY.to_vec();
    if independent {
        pending.sort_by_key(|t| std::cmp::Reverse(t.count(&plan.counts)));
    }
    let mut done: Vec<Table> = Vec::new();
    let mut reports = Vec::new();
    let mut first_error: Option<SeedError> = None;
    let mut running: JoinSet<Result<TableReport, SeedError>> = JoinSet::new();
    let mut running_tables: Vec<(tokio::task::Id, Table)> = Vec::new();

    loop {
        while first_error.is_none() && running.len() < parallel {
            let Some(pos) = pending
                .iter()
                .position(|t| independent || t.parents().iter().all(|p| done.contains(p)))
            else {
                break;
            };
            let table = pending.remove(pos);
            let handle = running.spawn(load_table(
                pool.clone(),
                Arc::clone(plan),
                table,
                bars.bar(table),
                Arc::clone(&cancel),
                Options {
                    skip_fk_triggers,
                    flush_stats,
                },
            ));
            running_tables.push((handle.id(), table));
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let outcome = match joined {
            Ok((id, result)) => result.map(|r| (id, r)),
            Err(e) => Err(SeedError::Task(e.to_string())),
        };
        match outcome {
            Ok((id, report)) => {
                if let Some(pos) = running_tables.iter().position(|(i, _)| *i == id) {
                    done.push(running_tables.swap_remove(pos).1);
                }
                reports.push(report);
            }
            Err(e) => {
                cancel.store(true, Ordering::Relaxed);
                // Keep the first real failure, not the cancellations it caused.
                let replace = match (&first_error, &e) {
                    (None, _) => true,
                    (Some(SeedError::Cancelled { .. }), SeedError::Cancelled { .. }) => false,
                    (Some(SeedError::Cancelled { .. }), _) => true,
                    _ => false,
                };
                if replace {
                    first_error = Some(e);
                }
            }
        }
    }
    let finish_started = Instant::now();
    if first_error.is_none() {
        vacuum_unfrozen(&pool).await?;
    }
    match first_error {
        None => Ok(Loaded {
            tables: reports,
            finish: finish_started.elapsed(),
        }),
        Some(e) if reports.is_empty() => Err(e),
        Some(e) => Err(SeedError::Partial {
            loaded: reports.iter().map(|r| r.table).collect(),
            source: Box::new(e),
        }),
    }
}

/// Vacuums the tables loaded without FREEZE once no load transaction is
/// running any more (while one is, vacuum cannot mark the new rows visible
/// to all): sets their visibility map and hint bits, so index-only scans
/// work and the first reads write nothing.
async fn vacuum_unfrozen(pool: &PgPool) -> Result<(), SeedError> {
    let mut conn = pool.acquire().await.map_err(|source| SeedError::Load {
        table: "users",
        source,
    })?;
    for table in Table::ALL.into_iter().filter(|t| t.is_referenced()) {
        untimed(&mut conn, &format!("VACUUM {}", quote(table.name())))
            .await
            .map_err(|source| SeedError::Load {
                table: table.name(),
                source,
            })?;
    }
    Ok(())
}

/// Runs `sql` (which may not run in a transaction, like `VACUUM`) with no
/// statement timeout, then restores the session's own; a connection whose
/// settings could not be restored is closed rather than reused.
async fn untimed(
    conn: &mut sqlx::pool::PoolConnection<sqlx::Postgres>,
    sql: &str,
) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("SET statement_timeout = 0")
        .execute(&mut **conn)
        .await?;
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut **conn)
        .await;
    if sqlx::raw_sql("RESET statement_timeout")
        .execute(&mut **conn)
        .await
        .is_err()
    {
        conn.close_on_drop();
    }
    result.map(|_| ())
}

/// Per-server choices of a table's load.
#[derive(Debug, Clone, Copy)]
struct Options {
    /// `session_replication_role = replica` (superusers only).
    skip_fk_triggers: bool,
    /// `pg_stat_force_next_flush()` exists (PostgreSQL 15+).
    flush_stats: bool,
}

async fn server_version(pool: &PgPool) -> Result<i64, SeedError> {
    let version: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(pool)
        .await
        .map_err(|e| SeedError::Load {
            table: "users",
            source: e,
        })?;
    Ok(version.trim().parse().unwrap_or(0))
}

async fn is_superuser(pool: &PgPool) -> Result<bool, SeedError> {
    let superuser: Option<bool> =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .fetch_optional(pool)
            .await
            .map_err(|e| SeedError::Load {
                table: "users",
                source: e,
            })?;
    Ok(superuser.unwrap_or(false))
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn load_table(
    pool: PgPool,
    plan: Arc<Plan>,
    table: Table,
    bar: ProgressBar,
    cancel: Arc<AtomicBool>,
    options: Options,
) -> Result<TableReport, SeedError> {
    let err = |source| SeedError::Load {
        table: table.name(),
        source,
    };
    let started = Instant::now();
    bar.set_message("starting");
    bar.reset_elapsed();
    let mut conn = pool.acquire().await.map_err(err)?;
    let mut tx = conn.begin().await.map_err(err)?;
    let result = load_in(&mut tx, &plan, table, &bar, &cancel, options).await;
    match result {
        Ok((rows, load, indexes)) => {
            tx.commit().await.map_err(err)?;
            // Outside the transaction, so that the counters it resets stay
            // reset: statistics for the planner, and (for frozen tables) a
            // vacuum that finds every page frozen already, costs nothing
            // and leaves autovacuum nothing to do after seeding. Unfrozen
            // tables are vacuumed at the very end (see `load`).
            bar.set_message("analyze");
            let command = if table.is_referenced() {
                "ANALYZE"
            } else {
                "VACUUM (ANALYZE)"
            };
            untimed(&mut conn, &format!("{command} {}", quote(table.name())))
                .await
                .map_err(err)?;
            let elapsed = started.elapsed();
            bar.finish_with_message(format!(
                "done in {:.1}s (indexes {:.1}s)",
                elapsed.as_secs_f64(),
                indexes.as_secs_f64()
            ));
            Ok(TableReport {
                table: table.name(),
                rows,
                load,
                indexes,
                elapsed,
            })
        }
        Err(e) => {
            bar.abandon_with_message("rolled back");
            if tx.rollback().await.is_err() {
                // The server rolls back when the connection goes away.
                conn.close_on_drop();
            }
            Err(e)
        }
    }
}

/// The body of a table's transaction: returns rows, load time, index time.
async fn load_in(
    conn: &mut PgConnection,
    plan: &Arc<Plan>,
    table: Table,
    bar: &ProgressBar,
    cancel: &Arc<AtomicBool>,
    Options {
        skip_fk_triggers,
        flush_stats,
    }: Options,
) -> Result<(u64, Duration, Duration), SeedError> {
    let name = table.name();
    let err = |source| SeedError::Load {
        table: name,
        source,
    };
    let mut settings = String::from(
        "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '60s'; \
         SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '512MB';",
    );
    if skip_fk_triggers {
        settings.push_str(" SET LOCAL session_replication_role = replica;");
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(settings))
        .execute(&mut *conn)
        .await
        .map_err(err)?;

    // Lock the table, then make sure it is still empty.
    let table_sql = quote(name);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "LOCK TABLE {table_sql} IN ACCESS EXCLUSIVE MODE"
    )))
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table_sql}"
    )))
    .fetch_one(&mut *conn)
    .await
    .map_err(err)?;
    if rows > 0 {
        return Err(SeedError::AlreadySeeded {
            table: name.to_owned(),
            rows: rows.unsigned_abs(),
        });
    }

    // The table's secondary indexes that exist now: dropped here, rebuilt
    // before commit.
    let existing: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let indexes: Vec<&migration::indexes::IndexDef> = migration::indexes::all_secondary_indexes()
        .filter(|d| d.table == name && existing.iter().any(|e| e == d.name))
        .collect();
    for def in &indexes {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP INDEX IF EXISTS {}",
            quote(def.name)
        )))
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    }
    // COPY FREEZE needs the table truncated in this transaction. A table
    // other tables reference cannot be truncated alone (and truncating its
    // children too would lock them against loading in parallel), so those
    // three load unfrozen and are vacuumed after commit.
    let freeze = !table.is_referenced();
    if freeze {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("TRUNCATE {table_sql}")))
            .execute(&mut *conn)
            .await
            .map_err(err)?;
    }

    // Stream the rows.
    bar.set_message("loading");
    let load_started = Instant::now();
    let expected = table.count(&plan.counts);
    let columns = table
        .columns()
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    let statement = format!(
        "COPY {table_sql} ({columns}) FROM STDIN{}",
        if freeze { " WITH (FREEZE)" } else { "" }
    );
    let (mut rx, producer) = pipeline::spawn(table, plan, CopySink::new(CHUNK_BYTES), cancel);
    let mut copy = conn.copy_in_raw(&statement).await.map_err(err)?;
    let mut complete = false;
    let mut send_error = None;
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Chunk(rows, data) => {
                if let Err(e) = copy.send(data).await {
                    send_error = Some(e);
                    break;
                }
                bar.inc(rows);
            }
            Msg::Done => {
                complete = true;
                break;
            }
        }
    }
    drop(rx);
    let produced = producer.await;
    if let Some(e) = send_error {
        let _ = copy.abort("seed: sending failed").await;
        return Err(err(e));
    }
    if !complete {
        let _ = copy.abort("seed: cancelled").await;
        return Err(match produced {
            Err(e) => SeedError::Generate {
                table: name,
                reason: e.to_string(),
            },
            Ok(()) => SeedError::Cancelled { table: name },
        });
    }
    let stored = copy.finish().await.map_err(err)?;
    if stored != expected {
        return Err(SeedError::RowCount {
            table: name,
            expected,
            stored,
        });
    }
    let load = load_started.elapsed();

    // Rebuild the indexes (sorted, one pass each), then statistics.
    let index_started = Instant::now();
    for (k, def) in indexes.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(SeedError::Cancelled { table: name });
        }
        bar.set_message(format!("index {}/{}: {}", k + 1, indexes.len(), def.name));
        sqlx::raw_sql(sqlx::AssertSqlSafe(
            def.create_sql_blocking(sea_orm::DatabaseBackend::Postgres),
        ))
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    }
    let indexes_time = index_started.elapsed();
    if flush_stats {
        // The TRUNCATE's statistics must reach shared memory before a
        // later table's, or they would zero its live-row count.
        sqlx::raw_sql("SELECT pg_stat_force_next_flush()")
            .execute(&mut *conn)
            .await
            .map_err(err)?;
    }
    bar.set_message("commit");
    Ok((stored, load, indexes_time))
}
