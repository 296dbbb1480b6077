//! Loading into SQLite: one connection, one transaction per table (parents
//! first), multi-row INSERTs with bound values.
//!
//! Per table: `BEGIN IMMEDIATE`, check it is empty, drop its secondary
//! indexes, insert in batches that stay under SQLite's 32 766 bound
//! parameters, rebuild the indexes, `COMMIT`. A failure rolls the table
//! back with its indexes. `ANALYZE` runs once at the end. Values are stored
//! the way the service stores them: enums as TEXT, lists as JSON text,
//! timestamps as `YYYY-MM-DD HH:MM:SS.SSS`, booleans 0/1.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use sea_orm::sqlx::{self, SqliteConnection};
use service::NeonDb;

use super::pipeline::{self, Msg};
use super::plan::{Plan, Table};
use super::progress::Bars;
use super::sink::SqliteSink;
use super::{Loaded, SeedError, TableReport};

/// SQLite's limit on bound parameters per statement (since 3.32).
const MAX_PARAMS: usize = 32_766;
/// Rows per INSERT at most.
const MAX_BATCH_ROWS: usize = 1_000;

/// Loads every table of `plan`, parents before children, then `ANALYZE`.
pub(crate) async fn load(db: &NeonDb, plan: &Arc<Plan>, bars: &Bars) -> Result<Loaded, SeedError> {
    let pool = db.connection().get_sqlite_connection_pool();
    let mut conn = pool.acquire().await.map_err(|source| SeedError::Load {
        table: "users",
        source,
    })?;
    let cancel = Arc::new(AtomicBool::new(false));
    let mut reports = Vec::new();
    for table in Table::ALL {
        match load_table(&mut conn, plan, table, &bars.bar(table), &cancel).await {
            Ok(report) => reports.push(report),
            Err(e) if reports.is_empty() => return Err(e),
            Err(e) => {
                return Err(SeedError::Partial {
                    loaded: reports.iter().map(|r: &TableReport| r.table).collect(),
                    source: Box::new(e),
                });
            }
        }
    }
    let finish_started = Instant::now();
    sqlx::raw_sql("ANALYZE")
        .execute(&mut *conn)
        .await
        .map_err(|source| SeedError::Load {
            table: "design_templates",
            source,
        })?;
    Ok(Loaded {
        tables: reports,
        finish: finish_started.elapsed(),
    })
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn load_table(
    conn: &mut SqliteConnection,
    plan: &Arc<Plan>,
    table: Table,
    bar: &ProgressBar,
    cancel: &Arc<AtomicBool>,
) -> Result<TableReport, SeedError> {
    let err = |source| SeedError::Load {
        table: table.name(),
        source,
    };
    let started = Instant::now();
    bar.reset_elapsed();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    match load_in(conn, plan, table, bar, cancel).await {
        Ok((rows, load, indexes)) => {
            sqlx::raw_sql("COMMIT")
                .execute(&mut *conn)
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
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            Err(e)
        }
    }
}

async fn load_in(
    conn: &mut SqliteConnection,
    plan: &Arc<Plan>,
    table: Table,
    bar: &ProgressBar,
    cancel: &Arc<AtomicBool>,
) -> Result<(u64, Duration, Duration), SeedError> {
    let name = table.name();
    let err = |source| SeedError::Load {
        table: name,
        source,
    };
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {}",
        quote(name)
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
    let existing: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?")
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

    bar.set_message("loading");
    let load_started = Instant::now();
    let columns = table.columns();
    let batch_rows = (MAX_PARAMS / columns.len().max(1)).clamp(1, MAX_BATCH_ROWS);
    let head = format!(
        "INSERT INTO {} ({}) VALUES ",
        quote(name),
        columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let row_sql = format!("({})", vec!["?"; columns.len()].join(", "));
    let insert_sql = |rows: usize| {
        let mut sql = String::with_capacity(head.len() + rows * (row_sql.len() + 2));
        sql.push_str(&head);
        for k in 0..rows {
            if k > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&row_sql);
        }
        sql
    };
    let full_batch_sql = insert_sql(batch_rows);
    let expected = table.count(&plan.counts);
    let (mut rx, producer) =
        pipeline::spawn(table, plan, SqliteSink::new(batch_rows as u64), cancel);
    let mut stored = 0u64;
    let mut complete = false;
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Chunk(rows, args) => {
                let args = args.map_err(|reason| SeedError::Generate {
                    table: name,
                    reason,
                })?;
                let sql = if rows as usize == batch_rows {
                    full_batch_sql.clone()
                } else {
                    insert_sql(rows as usize)
                };
                let done = sqlx::query_with(sqlx::AssertSqlSafe(sql), args)
                    .execute(&mut *conn)
                    .await
                    .map_err(err)?;
                stored += done.rows_affected();
                bar.inc(rows);
            }
            Msg::Done => {
                complete = true;
                break;
            }
        }
    }
    drop(rx);
    if !complete {
        return Err(match producer.await {
            Err(e) => SeedError::Generate {
                table: name,
                reason: e.to_string(),
            },
            Ok(()) => SeedError::Cancelled { table: name },
        });
    }
    if stored != expected {
        return Err(SeedError::RowCount {
            table: name,
            expected,
            stored,
        });
    }
    let load = load_started.elapsed();

    let index_started = Instant::now();
    for (k, def) in indexes.iter().enumerate() {
        bar.set_message(format!("index {}/{}: {}", k + 1, indexes.len(), def.name));
        sqlx::raw_sql(sqlx::AssertSqlSafe(
            def.create_sql_blocking(sea_orm::DatabaseBackend::Sqlite),
        ))
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    }
    Ok((stored, load, index_started.elapsed()))
}
