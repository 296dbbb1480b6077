//! The secondary indexes: their definitions (one list, used by the
//! migrations and by `neonhub-db bench` to drop and restore them) and the
//! production-safe way of building them.
//!
//! On PostgreSQL every index is built with `CREATE INDEX CONCURRENTLY`,
//! outside a transaction, on one pooled connection with a short
//! `lock_timeout`. Before building, the catalogue is asked what exists
//! under the name: a valid index with the same table, key columns and
//! uniqueness is kept (re-running is a no-op); an INVALID one (left by an
//! interrupted or failed concurrent build, which a plain `IF NOT EXISTS`
//! would silently keep) or one with another definition is dropped
//! concurrently and rebuilt. A build that hits the lock timeout is retried.
//!
//! On SQLite the same check runs against `pragma_index_list` /
//! `pragma_index_info`, and indexes are built with plain `CREATE INDEX`.

use std::time::Duration;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseExecutor, DbErr, Statement, sqlx,
};

use crate::schema::{column_list, ident};

/// One secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    /// Its name (Prisma's convention `<table>_<col>_<col>_idx`).
    pub name: &'static str,
    /// The table.
    pub table: &'static str,
    /// Key columns, in order.
    pub columns: &'static [&'static str],
    /// Non-key columns stored in the index so that a query reading only
    /// these and the key columns never visits the table (PostgreSQL
    /// `INCLUDE`; SQLite has no `INCLUDE`, so there they are appended to
    /// the key, which covers the same queries).
    pub include: &'static [&'static str],
}

impl IndexDef {
    /// The columns of the index on `backend`, in order: on PostgreSQL the
    /// key columns (the `INCLUDE` list is separate), on SQLite the key
    /// columns followed by the included ones.
    pub fn backend_columns(&self, backend: DatabaseBackend) -> Vec<&'static str> {
        let mut columns = self.columns.to_vec();
        if backend != DatabaseBackend::Postgres {
            columns.extend_from_slice(self.include);
        }
        columns
    }

    /// `(<columns>)` and, on PostgreSQL, ` INCLUDE (<columns>)`.
    fn columns_sql(&self, backend: DatabaseBackend) -> String {
        let mut sql = format!("({})", column_list(&self.backend_columns(backend)));
        if backend == DatabaseBackend::Postgres && !self.include.is_empty() {
            sql.push_str(&format!(" INCLUDE ({})", column_list(self.include)));
        }
        sql
    }

    /// `CREATE INDEX` for the backend (`CONCURRENTLY` on PostgreSQL).
    pub fn create_sql(&self, backend: DatabaseBackend) -> String {
        let concurrently = if backend == DatabaseBackend::Postgres {
            " CONCURRENTLY"
        } else {
            ""
        };
        format!(
            "CREATE INDEX{concurrently} IF NOT EXISTS {} ON {}{}",
            ident(self.name),
            ident(self.table),
            self.columns_sql(backend)
        )
    }

    /// Plain `CREATE INDEX IF NOT EXISTS` (no `CONCURRENTLY`): faster, but
    /// blocks writes to the table while it builds. For databases nobody
    /// else uses (seeding, benchmarks).
    pub fn create_sql_blocking(&self, backend: DatabaseBackend) -> String {
        format!(
            "CREATE INDEX IF NOT EXISTS {} ON {}{}",
            ident(self.name),
            ident(self.table),
            self.columns_sql(backend)
        )
    }

    /// `DROP INDEX` for the backend (`CONCURRENTLY` on PostgreSQL).
    pub fn drop_sql(&self, backend: DatabaseBackend) -> String {
        let concurrently = if backend == DatabaseBackend::Postgres {
            " CONCURRENTLY"
        } else {
            ""
        };
        format!("DROP INDEX{concurrently} IF EXISTS {}", ident(self.name))
    }
}

const fn idx(
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
) -> IndexDef {
    IndexDef {
        name,
        table,
        columns,
        include: &[],
    }
}

const fn covering(
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
    include: &'static [&'static str],
) -> IndexDef {
    IndexDef {
        name,
        table,
        columns,
        include,
    }
}

/// The 33 indexes of the performance report (SPEC §3), in its order.
pub const REPORT_INDEXES: &[IndexDef] = &[
    idx("users_role_createdAt_idx", "users", &["role", "createdAt"]),
    idx("users_emailVerified_idx", "users", &["emailVerified"]),
    idx(
        "campaigns_userId_status_createdAt_idx",
        "campaigns",
        &["userId", "status", "createdAt"],
    ),
    idx(
        "campaigns_status_type_idx",
        "campaigns",
        &["status", "type"],
    ),
    idx(
        "campaigns_startDate_endDate_idx",
        "campaigns",
        &["startDate", "endDate"],
    ),
    idx(
        "campaigns_type_createdAt_idx",
        "campaigns",
        &["type", "createdAt"],
    ),
    idx("campaigns_budget_idx", "campaigns", &["budget"]),
    idx("campaigns_updatedAt_idx", "campaigns", &["updatedAt"]),
    idx(
        "agent_executions_agentId_status_startedAt_idx",
        "agent_executions",
        &["agentId", "status", "startedAt"],
    ),
    idx(
        "agent_executions_campaignId_status_idx",
        "agent_executions",
        &["campaignId", "status"],
    ),
    idx(
        "agent_executions_userId_startedAt_idx",
        "agent_executions",
        &["userId", "startedAt"],
    ),
    idx(
        "agent_executions_status_startedAt_idx",
        "agent_executions",
        &["status", "startedAt"],
    ),
    idx(
        "agent_executions_performance_idx",
        "agent_executions",
        &["performance"],
    ),
    idx(
        "agent_executions_task_agentId_idx",
        "agent_executions",
        &["task", "agentId"],
    ),
    idx(
        "agent_executions_completedAt_idx",
        "agent_executions",
        &["completedAt"],
    ),
    idx(
        "analytics_campaignId_type_date_idx",
        "analytics",
        &["campaignId", "type", "date"],
    ),
    idx(
        "analytics_userId_type_date_idx",
        "analytics",
        &["userId", "type", "date"],
    ),
    idx(
        "analytics_type_period_date_idx",
        "analytics",
        &["type", "period", "date"],
    ),
    idx("analytics_date_idx", "analytics", &["date"]),
    idx(
        "contents_platform_status_createdAt_idx",
        "contents",
        &["platform", "status", "createdAt"],
    ),
    idx("contents_type_status_idx", "contents", &["type", "status"]),
    idx(
        "contents_status_updatedAt_idx",
        "contents",
        &["status", "updatedAt"],
    ),
    idx("leads_email_idx", "leads", &["email"]),
    idx("leads_status_score_idx", "leads", &["status", "score"]),
    idx(
        "leads_source_createdAt_idx",
        "leads",
        &["source", "createdAt"],
    ),
    idx("leads_score_idx", "leads", &["score"]),
    idx("leads_createdAt_idx", "leads", &["createdAt"]),
    idx(
        "trends_platform_score_detectedAt_idx",
        "trends",
        &["platform", "score", "detectedAt"],
    ),
    idx(
        "trends_keyword_platform_idx",
        "trends",
        &["keyword", "platform"],
    ),
    idx("trends_score_volume_idx", "trends", &["score", "volume"]),
    idx(
        "trends_category_score_idx",
        "trends",
        &["category", "score"],
    ),
    idx("trends_growth_idx", "trends", &["growth"]),
    idx("trends_detectedAt_idx", "trends", &["detectedAt"]),
];

/// Indexes for the foreign-key columns that no report index leads with,
/// so that deleting a parent row never scans the child table.
pub const FOREIGN_KEY_INDEXES: &[IndexDef] = &[
    idx("campaigns_userId2_idx", "campaigns", &["userId2"]),
    idx("accounts_userId_idx", "accounts", &["userId"]),
    idx("sessions_userId_idx", "sessions", &["userId"]),
    idx("ab_tests_campaignId_idx", "ab_tests", &["campaignId"]),
];

/// Indexes beyond the report's, each paying for its write cost by a
/// benchmark (README, "Extra indexes"):
/// * agent performance's aggregate reads an agent's executions in a
///   start-time range: through (agentId, status, startedAt) it cannot
///   narrow on `startedAt` (status comes first) and visits the table for
///   every row; this index narrows on the range and answers from the
///   index alone;
/// * high-value leads orders by score, then `createdAt`, then `id`:
///   through (score) it sorts every lead tied at the top scores; this
///   index yields them in order, so the statement stops at its limit.
pub const COVERING_INDEXES: &[IndexDef] = &[
    covering(
        "agent_executions_agentId_startedAt_idx",
        "agent_executions",
        &["agentId", "startedAt"],
        &["status", "performance", "completedAt"],
    ),
    idx(
        "leads_score_createdAt_id_idx",
        "leads",
        &["score", "createdAt", "id"],
    ),
];

/// Every secondary index the migrations create (not the unique keys).
pub fn all_secondary_indexes() -> impl Iterator<Item = &'static IndexDef> {
    REPORT_INDEXES
        .iter()
        .chain(FOREIGN_KEY_INDEXES)
        .chain(COVERING_INDEXES)
}

/// `lock_timeout` for index DDL on PostgreSQL. A concurrent build waits
/// for running transactions; it must not queue everything behind it.
pub const LOCK_TIMEOUT: &str = "5s";
/// How often a build that hit the lock timeout is tried in all.
pub const BUILD_ATTEMPTS: u32 = 3;

/// What the catalogue holds under an index name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Existing {
    table: String,
    /// Key columns (on SQLite: every column).
    columns: Vec<String>,
    /// `INCLUDE` columns (PostgreSQL).
    include: Vec<String>,
    unique: bool,
    valid: bool,
}

impl Existing {
    fn matches(&self, def: &IndexDef, backend: DatabaseBackend) -> bool {
        let include: &[&str] = if backend == DatabaseBackend::Postgres {
            def.include
        } else {
            &[]
        };
        self.valid
            && !self.unique
            && self.table == def.table
            && self.columns == def.backend_columns(backend)
            && self.include == include
    }
}

/// Creates (or repairs) `defs`; a no-op for those already present and valid.
///
/// # Errors
/// A database error, or on PostgreSQL when called inside a transaction
/// (`CREATE INDEX CONCURRENTLY` cannot run in one).
pub async fn create_indexes(manager: &SchemaManager<'_>, defs: &[IndexDef]) -> Result<(), DbErr> {
    ensure_indexes(manager, defs).await.map(drop)
}

/// Makes every index of `defs` present and valid, as its definition says,
/// and returns the names of those it had to build: missing, INVALID (an
/// interrupted concurrent build, or one PostgreSQL marked invalid later),
/// or with another definition. A no-op (returning nothing) when all are
/// as defined.
///
/// # Errors
/// As [`create_indexes`].
pub async fn ensure_indexes(
    manager: &SchemaManager<'_>,
    defs: &[IndexDef],
) -> Result<Vec<&'static str>, DbErr> {
    match manager.get_database_backend() {
        DatabaseBackend::Postgres => {
            let DatabaseExecutor::Connection(db) = manager.get_connection() else {
                return Err(DbErr::Migration(
                    "index migrations build CONCURRENTLY and must not run inside a transaction"
                        .to_owned(),
                ));
            };
            let pool = db.get_postgres_connection_pool();
            let mut conn = pool.acquire().await.map_err(sqlx_err)?;
            let result = postgres_create(&mut conn, defs).await;
            // Hand the connection back as it was found, or not at all.
            if sqlx::raw_sql("RESET lock_timeout")
                .execute(&mut *conn)
                .await
                .is_err()
            {
                conn.detach();
            }
            result
        }
        _ => {
            let conn = manager.get_connection();
            let mut built = Vec::new();
            for def in defs {
                if let Some(existing) = sqlite_existing(conn, def.name).await? {
                    if existing.matches(def, DatabaseBackend::Sqlite) {
                        continue;
                    }
                    tracing::warn!(
                        index = def.name,
                        ?existing,
                        "rebuilding index with another definition"
                    );
                    conn.execute_unprepared(&def.drop_sql(DatabaseBackend::Sqlite))
                        .await?;
                }
                conn.execute_unprepared(&def.create_sql(DatabaseBackend::Sqlite))
                    .await?;
                built.push(def.name);
            }
            Ok(built)
        }
    }
}

/// Drops `defs` if they exist (concurrently on PostgreSQL).
///
/// # Errors
/// A database error.
pub async fn drop_indexes(manager: &SchemaManager<'_>, defs: &[IndexDef]) -> Result<(), DbErr> {
    let backend = manager.get_database_backend();
    let conn = manager.get_connection();
    for def in defs {
        conn.execute_unprepared(&def.drop_sql(backend)).await?;
    }
    Ok(())
}

fn sqlx_err(e: sqlx::Error) -> DbErr {
    DbErr::Migration(format!("index migration: {e}"))
}

const PG_EXISTING: &str = "\
SELECT t.relname::text, i.indisunique, i.indisvalid, \
  ARRAY(SELECT a.attname::text \
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
        WHERE k.ord <= i.indnkeyatts ORDER BY k.ord), \
  ARRAY(SELECT a.attname::text \
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
        WHERE k.ord > i.indnkeyatts ORDER BY k.ord) \
FROM pg_class c \
JOIN pg_index i ON i.indexrelid = c.oid \
JOIN pg_class t ON t.oid = i.indrelid \
WHERE c.relname = $1 AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())";

/// One row of [`PG_EXISTING`]: table, unique, valid, key columns,
/// INCLUDE columns.
type PgExistingRow = (String, bool, bool, Vec<String>, Vec<String>);

async fn postgres_existing(
    conn: &mut sqlx::PgConnection,
    name: &str,
) -> Result<Option<Existing>, DbErr> {
    let row: Option<PgExistingRow> = sqlx::query_as(PG_EXISTING)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(sqlx_err)?;
    Ok(
        row.map(|(table, unique, valid, columns, include)| Existing {
            table,
            columns,
            include,
            unique,
            valid,
        }),
    )
}

fn is_lock_timeout(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "55P03")
}

async fn postgres_create(
    conn: &mut sqlx::PgConnection,
    defs: &[IndexDef],
) -> Result<Vec<&'static str>, DbErr> {
    let mut built = Vec::new();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET lock_timeout = '{LOCK_TIMEOUT}'"
    )))
    .execute(&mut *conn)
    .await
    .map_err(sqlx_err)?;
    for def in defs {
        let mut attempt = 1;
        loop {
            if let Some(existing) = postgres_existing(conn, def.name).await? {
                if existing.matches(def, DatabaseBackend::Postgres) {
                    break;
                }
                tracing::warn!(
                    index = def.name,
                    valid = existing.valid,
                    "index exists but is invalid or differs from its definition; rebuilding"
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(def.drop_sql(DatabaseBackend::Postgres)))
                    .execute(&mut *conn)
                    .await
                    .map_err(sqlx_err)?;
            }
            match sqlx::raw_sql(sqlx::AssertSqlSafe(
                def.create_sql(DatabaseBackend::Postgres),
            ))
            .execute(&mut *conn)
            .await
            {
                Ok(_) => {
                    built.push(def.name);
                    break;
                }
                Err(e) if is_lock_timeout(&e) && attempt < BUILD_ATTEMPTS => {
                    tracing::warn!(
                        index = def.name,
                        attempt,
                        "lock timeout building index; retrying"
                    );
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(DbErr::Migration(format!(
                        "building index {}: {e}. A failed concurrent build leaves an INVALID \
                         index behind; re-running `migrate up` drops and rebuilds it.",
                        def.name
                    )));
                }
            }
        }
    }
    Ok(built)
}

async fn sqlite_existing<C: ConnectionTrait>(
    conn: &C,
    name: &str,
) -> Result<Option<Existing>, DbErr> {
    let backend = DatabaseBackend::Sqlite;
    let Some(row) = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?",
            [name.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let table: String = row.try_get_by_index(0)?;
    let unique = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT \"unique\" FROM pragma_index_list(?) WHERE name = ?",
            [table.clone().into(), name.into()],
        ))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0)
        != 0;
    let columns = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
            [name.into()],
        ))
        .await?
        .into_iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Existing {
        table,
        columns,
        include: Vec::new(),
        unique,
        valid: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_follow_prisma_convention_and_are_unique() {
        let mut seen = HashSet::new();
        for def in all_secondary_indexes() {
            let expected = format!("{}_{}_idx", def.table, def.columns.join("_"));
            assert_eq!(def.name, expected);
            assert!(
                def.name.len() <= 63,
                "{} exceeds PostgreSQL's name limit",
                def.name
            );
            assert!(seen.insert(def.name), "duplicate {}", def.name);
        }
        assert_eq!(REPORT_INDEXES.len(), 33);
        assert_eq!(FOREIGN_KEY_INDEXES.len(), 4);
    }

    #[test]
    fn covering_columns_per_backend() {
        let def = &COVERING_INDEXES[0];
        assert_eq!(
            def.create_sql(DatabaseBackend::Postgres),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"agent_executions_agentId_startedAt_idx\" \
             ON \"agent_executions\"(\"agentId\", \"startedAt\") \
             INCLUDE (\"status\", \"performance\", \"completedAt\")"
        );
        assert_eq!(
            def.create_sql(DatabaseBackend::Sqlite),
            "CREATE INDEX IF NOT EXISTS \"agent_executions_agentId_startedAt_idx\" \
             ON \"agent_executions\"(\"agentId\", \"startedAt\", \"status\", \"performance\", \"completedAt\")"
        );
    }

    #[test]
    fn postgres_builds_concurrently() {
        let sql = REPORT_INDEXES[0].create_sql(DatabaseBackend::Postgres);
        assert_eq!(
            sql,
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"users_role_createdAt_idx\" ON \"users\"(\"role\", \"createdAt\")"
        );
    }
}
