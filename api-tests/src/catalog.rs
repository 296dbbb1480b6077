//! Reads the database catalogue, independently of the migration code, so
//! that tests compare what the database really holds with what SPEC says.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

/// A secondary or unique index as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// The table.
    pub table: String,
    /// Key columns in order (on SQLite, which has no `INCLUDE`: every
    /// column).
    pub columns: Vec<String>,
    /// PostgreSQL: the `INCLUDE` columns in order (empty on SQLite).
    pub include: Vec<String>,
    /// UNIQUE.
    pub unique: bool,
    /// Usable (always true on SQLite; `indisvalid` on PostgreSQL).
    pub valid: bool,
}

async fn rows(conn: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    conn.query_all_raw(Statement::from_string(
        conn.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap_or_else(|e| panic!("catalogue query failed: {e}\n{sql}"))
}

fn get<T: sea_orm::TryGetable>(row: &sea_orm::QueryResult, i: usize) -> T {
    row.try_get_by_index(i)
        .unwrap_or_else(|e| panic!("catalogue column {i}: {e:?}"))
}

/// User tables (not the migrator's bookkeeping), sorted.
pub async fn tables(conn: &DatabaseConnection) -> Vec<String> {
    let sql = match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
             AND tablename <> 'seaql_migrations' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> 'seaql_migrations' ORDER BY 1"
        }
    };
    rows(conn, sql).await.iter().map(|r| get(r, 0)).collect()
}

/// Column names of a table, in table order.
pub async fn columns(conn: &DatabaseConnection, table: &str) -> Vec<String> {
    let sql = match conn.get_database_backend() {
        DatabaseBackend::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name = '{table}' ORDER BY ordinal_position"
        ),
        _ => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
    };
    rows(conn, &sql).await.iter().map(|r| get(r, 0)).collect()
}

/// Every index except primary keys (and SQLite's automatic ones), by name.
pub async fn indexes(conn: &DatabaseConnection) -> BTreeMap<String, IndexInfo> {
    let mut out = BTreeMap::new();
    match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            let sql = "SELECT c.relname::text, t.relname::text, i.indisunique, i.indisvalid, \
                 ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) \
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n \
                       WHERE k.o <= i.indnkeyatts ORDER BY k.o), \
                 ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) \
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n \
                       WHERE k.o > i.indnkeyatts ORDER BY k.o) \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_class t ON t.oid = i.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = current_schema() AND NOT i.indisprimary";
            for r in rows(conn, sql).await {
                out.insert(
                    get(&r, 0),
                    IndexInfo {
                        table: get(&r, 1),
                        unique: get(&r, 2),
                        valid: get(&r, 3),
                        columns: get(&r, 4),
                        include: get(&r, 5),
                    },
                );
            }
        }
        _ => {
            let sql = "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' \
                       AND name NOT LIKE 'sqlite_autoindex_%'";
            for r in rows(conn, sql).await {
                let name: String = get(&r, 0);
                let table: String = get(&r, 1);
                let unique = rows(
                    conn,
                    &format!(
                        "SELECT \"unique\" FROM pragma_index_list('{table}') WHERE name = '{name}'"
                    ),
                )
                .await
                .first()
                .map(|r| get::<i64>(r, 0) != 0)
                .unwrap_or(false);
                let columns = rows(
                    conn,
                    &format!("SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"),
                )
                .await
                .iter()
                .map(|r| get(r, 0))
                .collect();
                out.insert(
                    name,
                    IndexInfo {
                        table,
                        columns,
                        include: Vec::new(),
                        unique,
                        valid: true,
                    },
                );
            }
        }
    }
    out
}

/// Foreign keys as `(table, column, referenced table, ON DELETE action)`,
/// sorted; actions in PostgreSQL's words (`CASCADE`, `SET NULL`, `RESTRICT`).
pub async fn foreign_keys(conn: &DatabaseConnection) -> Vec<(String, String, String, String)> {
    let mut out: Vec<(String, String, String, String)> = Vec::new();
    match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            let sql = "SELECT t.relname::text, a.attname::text, r.relname::text, \
                 CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' \
                 WHEN 'r' THEN 'RESTRICT' WHEN 'a' THEN 'NO ACTION' ELSE 'SET DEFAULT' END \
                 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
                 JOIN pg_class r ON r.oid = c.confrelid \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE c.contype = 'f' AND n.nspname = current_schema()";
            for r in rows(conn, sql).await {
                out.push((get(&r, 0), get(&r, 1), get(&r, 2), get(&r, 3)));
            }
        }
        _ => {
            for table in tables(conn).await {
                let sql = format!(
                    "SELECT \"from\", \"table\", on_delete FROM pragma_foreign_key_list('{table}')"
                );
                for r in rows(conn, &sql).await {
                    out.push((table.clone(), get(&r, 0), get(&r, 1), get(&r, 2)));
                }
            }
        }
    }
    out.sort();
    out
}

/// PostgreSQL: every column as `table.column type [NOT NULL] [DEFAULT expr]`,
/// with the type as `format_type` prints it (`timestamp(3) without time
/// zone`, `"Platform"[]`).
pub async fn pg_column_definitions(conn: &DatabaseConnection) -> Vec<String> {
    let sql = "SELECT c.relname::text || '.' || a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod) \
         || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END \
         || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped \
         AND c.relname <> 'seaql_migrations' ORDER BY c.relname, a.attnum";
    rows(conn, sql).await.iter().map(|r| get(r, 0)).collect()
}

/// PostgreSQL: enum types and their values in order.
pub async fn pg_enum_types(conn: &DatabaseConnection) -> BTreeMap<String, Vec<String>> {
    let sql = "SELECT t.typname::text, e.enumlabel::text FROM pg_type t \
         JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname = current_schema() ORDER BY t.typname, e.enumsortorder";
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows(conn, sql).await {
        out.entry(get(&r, 0)).or_default().push(get(&r, 1));
    }
    out
}

/// PostgreSQL: every constraint as `table name definition`, sorted.
pub async fn pg_constraints(conn: &DatabaseConnection) -> Vec<String> {
    let sql = "SELECT t.relname::text || ' ' || c.conname::text || ' ' || pg_get_constraintdef(c.oid) \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND t.relname <> 'seaql_migrations' ORDER BY 1";
    rows(conn, sql).await.iter().map(|r| get(r, 0)).collect()
}

/// PostgreSQL: a checksum of every row of `table` (its text form, in id
/// order), to prove a migration changed no data.
pub async fn pg_table_checksum(conn: &DatabaseConnection, table: &str) -> (i64, String) {
    let order = if table == "verification_tokens" {
        "token"
    } else {
        "id"
    };
    let sql = format!(
        "SELECT count(*), COALESCE(md5(string_agg(t::text, '|' ORDER BY t.\"{order}\")), '') FROM \"{table}\" t"
    );
    let r = rows(conn, &sql).await;
    (get(&r[0], 0), get(&r[0], 1))
}
