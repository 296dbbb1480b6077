//! `neonhub-db check`: the live schema against the one the migrations
//! define (SPEC §12).
//!
//! Both sides are reduced to the same canonical objects (enum types and
//! their values, tables, columns with type, nullability and default,
//! primary and foreign keys with their actions, indexes with columns,
//! `INCLUDE` columns, uniqueness, method, predicate and validity, and on
//! PostgreSQL the change feed's publication and replica identities), each
//! with a one-line definition, and compared by name. Every difference is
//! one [`Drift`]: missing, extra, or different (with both definitions).
//!
//! The expected side is the whole migration list of this build, so a
//! pending migration is drift too (it is listed, and so is each object it
//! would create). Expected beside the model: the migrators' bookkeeping
//! tables (`seaql_migrations`, and `_prisma_migrations` on a database
//! Prisma made). Not compared: column order (Prisma does not fix it),
//! objects outside the current schema, views, functions, sequences, other
//! publications. SQLite has no enum types: there the enum is the column's
//! `CHECK (... IN (...))`; an index's validity is `neonhub-db indexes`'
//! business there (it needs `PRAGMA integrity_check`, a full read).

use std::collections::BTreeMap;
use std::fmt;

use migration::indexes::{IndexDef, all_secondary_indexes};
use migration::m20261202_000001_change_feed::{FULL_IDENTITY, PUBLICATION};
use migration::schema::{
    ColType, ENUMS, TABLES, UNIQUE_INDEXES, enum_values, fk_name, pg_default, pg_type,
    sqlite_default, sqlite_type,
};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, QueryResult, Statement};
use serde::Serialize;

/// Tables that may exist beside the model's: the migrators' bookkeeping.
pub const BOOKKEEPING_TABLES: &[&str] = &["seaql_migrations", "_prisma_migrations"];

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftKind {
    /// The migrations define it; the database lacks it.
    Missing,
    /// The database has it; no migration defines it.
    Extra,
    /// Both have it, defined differently.
    Different,
}

impl fmt::Display for DriftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            DriftKind::Missing => "missing",
            DriftKind::Extra => "extra",
            DriftKind::Different => "different",
        })
    }
}

/// One difference between the live schema and the migrations'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Missing, extra or different.
    pub kind: DriftKind,
    /// `migration`, `enum`, `table`, `column`, `constraint`, `index`,
    /// `publication` or `replica identity`.
    pub object: &'static str,
    /// Its name: `users.email` for a column, `UserRole` for an enum type
    /// (`users.role` on SQLite), the index or constraint name.
    pub name: String,
    /// The migrations' definition, if they define it.
    pub expected: Option<String>,
    /// The database's definition, if it has it.
    pub actual: Option<String>,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<9} {} {}", self.kind, self.object, self.name)?;
        match (&self.expected, &self.actual) {
            (Some(e), Some(a)) => write!(f, ": expected {e}; found {a}"),
            (Some(e), None) if !e.is_empty() => write!(f, ": expected {e}"),
            (None, Some(a)) if !a.is_empty() => write!(f, ": found {a}"),
            _ => Ok(()),
        }
    }
}

/// The result of a check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `postgres` or `sqlite`.
    pub backend: &'static str,
    /// How many objects the migrations define (what was compared).
    pub objects_checked: usize,
    /// Every difference, sorted by object and name.
    pub drift: Vec<Drift>,
}

impl CheckReport {
    /// No difference at all.
    pub fn is_clean(&self) -> bool {
        self.drift.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.drift {
            writeln!(f, "{d}")?;
        }
        if self.is_clean() {
            writeln!(
                f,
                "{}: the schema matches the migrations ({} objects checked)",
                self.backend, self.objects_checked
            )
        } else {
            writeln!(
                f,
                "{}: {} difference(s) from the migrations ({} objects checked)",
                self.backend,
                self.drift.len(),
                self.objects_checked
            )
        }
    }
}

/// One schema object: its kind, name, table (if it belongs to one) and
/// canonical definition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Obj {
    object: &'static str,
    name: String,
    table: Option<String>,
    def: String,
}

type Objects = BTreeMap<(&'static str, String), Obj>;

fn put(map: &mut Objects, object: &'static str, name: String, table: Option<&str>, def: String) {
    map.insert(
        (object, name.clone()),
        Obj {
            object,
            name,
            table: table.map(str::to_owned),
            def,
        },
    );
}

/// Compares the database behind `conn` with the migrations.
///
/// # Errors
/// A catalogue query failed.
pub async fn run<C: ConnectionTrait>(conn: &C) -> Result<CheckReport, DbErr> {
    let backend = conn.get_database_backend();
    let expected = expected_objects(backend);
    let actual = match backend {
        DatabaseBackend::Postgres => postgres_objects(conn).await?,
        _ => sqlite_objects(conn).await?,
    };
    let mut drift = diff(&expected, &actual);
    for m in pending_migrations(conn).await? {
        drift.insert(
            0,
            Drift {
                kind: DriftKind::Missing,
                object: "migration",
                name: m,
                expected: Some("applied".to_owned()),
                actual: Some("pending (run `neonhub-db migrate up`)".to_owned()),
            },
        );
    }
    Ok(CheckReport {
        backend: backend_name(backend),
        objects_checked: expected.len(),
        drift,
    })
}

fn backend_name(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "postgres",
        DatabaseBackend::MySql => "mysql",
        _ => "sqlite",
    }
}

/// The migrations that are defined but not applied. A database without
/// the migrator's table has all of them pending.
async fn pending_migrations<C: ConnectionTrait>(conn: &C) -> Result<Vec<String>, DbErr> {
    let has_table = match conn.get_database_backend() {
        DatabaseBackend::Postgres => !rows(
            conn,
            "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'seaql_migrations'",
        )
        .await?
        .is_empty(),
        _ => !rows(
            conn,
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
        )
        .await?
        .is_empty(),
    };
    let applied: Vec<String> = if has_table {
        rows(conn, "SELECT version FROM seaql_migrations")
            .await?
            .iter()
            .map(|r| r.try_get_by_index(0))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    Ok(Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|n| !applied.contains(n))
        .collect())
}

/// Missing, extra and different objects. Objects of a missing or extra
/// table are not listed one by one: the table's line says it all.
fn diff(expected: &Objects, actual: &Objects) -> Vec<Drift> {
    let table_absent_on = |side: &Objects, table: &Option<String>| {
        table
            .as_ref()
            .is_some_and(|t| !side.contains_key(&("table", t.clone())))
    };
    let mut out = Vec::new();
    for (key, e) in expected {
        match actual.get(key) {
            None if table_absent_on(actual, &e.table) => {}
            None => out.push(Drift {
                kind: DriftKind::Missing,
                object: e.object,
                name: e.name.clone(),
                expected: Some(e.def.clone()),
                actual: None,
            }),
            Some(a) if a.def != e.def => out.push(Drift {
                kind: DriftKind::Different,
                object: e.object,
                name: e.name.clone(),
                expected: Some(e.def.clone()),
                actual: Some(a.def.clone()),
            }),
            Some(_) => {}
        }
    }
    for (key, a) in actual {
        if !expected.contains_key(key) && !table_absent_on(expected, &a.table) {
            out.push(Drift {
                kind: DriftKind::Extra,
                object: a.object,
                name: a.name.clone(),
                expected: None,
                actual: Some(a.def.clone()),
            });
        }
    }
    out.sort_by(|a, b| (a.object, &a.name, a.kind).cmp(&(b.object, &b.name, b.kind)));
    out
}

// ---------------------------------------------------------------------------
// Canonical definitions, shared by both sides.

fn column_def(ty: &str, not_null: bool, default: Option<&str>) -> String {
    let mut def = ty.to_owned();
    if not_null {
        def.push_str(" NOT NULL");
    }
    if let Some(d) = default {
        def.push_str(" DEFAULT ");
        def.push_str(d);
    }
    def
}

fn primary_key_def(columns: &[String]) -> String {
    format!("PRIMARY KEY ({})", columns.join(", "))
}

fn foreign_key_def(column: &str, references: &str, on_update: &str, on_delete: &str) -> String {
    format!(
        "FOREIGN KEY ({column}) REFERENCES {references}(id) ON UPDATE {on_update} ON DELETE {on_delete}"
    )
}

/// An index as one line: `[UNIQUE ]INDEX ON t (a, b DESC) [INCLUDE (c)]
/// [USING m] [WHERE p] [INVALID]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IndexShape {
    pub table: String,
    pub columns: Vec<String>,
    pub include: Vec<String>,
    pub unique: bool,
    /// `btree` unless said otherwise.
    pub method: Option<String>,
    pub predicate: Option<String>,
    pub valid: bool,
}

impl IndexShape {
    pub(crate) fn def(&self) -> String {
        let mut s = format!(
            "{}INDEX ON {} ({})",
            if self.unique { "UNIQUE " } else { "" },
            self.table,
            self.columns.join(", ")
        );
        if !self.include.is_empty() {
            s.push_str(&format!(" INCLUDE ({})", self.include.join(", ")));
        }
        if let Some(m) = self.method.as_deref().filter(|m| *m != "btree") {
            s.push_str(&format!(" USING {m}"));
        }
        if let Some(p) = &self.predicate {
            s.push_str(&format!(" WHERE {p}"));
        }
        if !self.valid {
            s.push_str(" INVALID");
        }
        s
    }

    /// What `def` should look like on `backend`.
    pub(crate) fn of(def: &IndexDef, backend: DatabaseBackend) -> Self {
        let owned = |v: &[&str]| v.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        IndexShape {
            table: def.table.to_owned(),
            columns: owned(&def.backend_columns(backend)),
            include: if backend == DatabaseBackend::Postgres {
                owned(def.include)
            } else {
                Vec::new()
            },
            unique: false,
            method: None,
            predicate: None,
            valid: true,
        }
    }
}

/// Every index the migrations define, by name, as it should look on
/// `backend`: the unique keys of the schema and the secondary indexes.
/// Shared with `indexes`.
pub(crate) fn expected_index_shapes(backend: DatabaseBackend) -> BTreeMap<String, IndexShape> {
    let mut out = BTreeMap::new();
    for (name, table, columns) in UNIQUE_INDEXES {
        let shape = IndexShape {
            table: (*table).to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            unique: true,
            valid: true,
            ..IndexShape::default()
        };
        out.insert((*name).to_owned(), shape);
    }
    for def in all_secondary_indexes() {
        out.insert(def.name.to_owned(), IndexShape::of(def, backend));
    }
    out
}

/// How PostgreSQL's `format_type` prints a model type.
fn pg_format_type(ty: ColType) -> String {
    match ty {
        ColType::Text => "text".to_owned(),
        ColType::Int => "integer".to_owned(),
        ColType::Float => "double precision".to_owned(),
        ColType::Bool => "boolean".to_owned(),
        ColType::Timestamp => "timestamp(3) without time zone".to_owned(),
        ColType::Json => "jsonb".to_owned(),
        ColType::TextList => "text[]".to_owned(),
        // format_type quotes mixed-case names, as the DDL does.
        ColType::Enum(_) | ColType::EnumList(_) => pg_type(ty),
    }
}

/// `'USER'::"UserRole"` → `'USER'`: PostgreSQL prints a literal default
/// with a cast to the column's type, which the model does not write.
fn strip_cast(expr: &str) -> &str {
    match expr.rfind("::") {
        Some(i) if !expr[i..].contains('\'') => &expr[..i],
        _ => expr,
    }
}

/// `(expr)` → `expr`, once: SQLite keeps a default's parentheses or not
/// depending on how it was written.
fn strip_parens(expr: &str) -> &str {
    expr.strip_prefix('(')
        .and_then(|e| e.strip_suffix(')'))
        .unwrap_or(expr)
}

fn enum_def(values: &[impl AsRef<str>]) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", v.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The objects the migrations define on `backend`.
fn expected_objects(backend: DatabaseBackend) -> Objects {
    let pg = backend == DatabaseBackend::Postgres;
    let mut map = Objects::new();
    if pg {
        for (name, values) in ENUMS {
            put(&mut map, "enum", (*name).to_owned(), None, enum_def(values));
        }
    }
    for table in TABLES {
        put(
            &mut map,
            "table",
            table.name.to_owned(),
            None,
            String::new(),
        );
        for c in table.columns {
            let (ty, default) = if pg {
                (pg_format_type(c.ty), c.default.map(pg_default))
            } else {
                (
                    sqlite_type(c.ty).to_owned(),
                    c.default.map(|d| strip_parens(sqlite_default(d))),
                )
            };
            put(
                &mut map,
                "column",
                format!("{}.{}", table.name, c.name),
                Some(table.name),
                column_def(&ty, c.not_null, default),
            );
            if let (false, ColType::Enum(e)) = (pg, c.ty) {
                put(
                    &mut map,
                    "enum",
                    format!("{}.{}", table.name, c.name),
                    Some(table.name),
                    enum_def(enum_values(e)),
                );
            }
        }
        if let Some(pk) = table.primary_key {
            put(
                &mut map,
                "constraint",
                format!("{}_pkey", table.name),
                Some(table.name),
                primary_key_def(&[pk.to_owned()]),
            );
        }
        for fk in table.foreign_keys {
            put(
                &mut map,
                "constraint",
                fk_name(table.name, fk.column),
                Some(table.name),
                foreign_key_def(fk.column, fk.references, "CASCADE", fk.on_delete.sql()),
            );
        }
        if pg {
            let identity = if FULL_IDENTITY.contains(&table.name) {
                "FULL"
            } else {
                "DEFAULT"
            };
            put(
                &mut map,
                "replica identity",
                table.name.to_owned(),
                Some(table.name),
                identity.to_owned(),
            );
        }
    }
    for (name, shape) in expected_index_shapes(backend) {
        let table = TABLES.iter().map(|t| t.name).find(|t| *t == shape.table);
        put(&mut map, "index", name, table, shape.def());
    }
    if pg {
        let mut tables: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        tables.sort_unstable();
        put(
            &mut map,
            "publication",
            PUBLICATION.to_owned(),
            None,
            format!("FOR TABLE {}", tables.join(", ")),
        );
    }
    map
}

// ---------------------------------------------------------------------------
// The live side.

pub(crate) async fn rows<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
) -> Result<Vec<QueryResult>, DbErr> {
    conn.query_all_raw(Statement::from_string(
        conn.get_database_backend(),
        sql.to_owned(),
    ))
    .await
}

pub(crate) async fn rows_with<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<QueryResult>, DbErr> {
    conn.query_all_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        values,
    ))
    .await
}

pub(crate) fn col<T: sea_orm::TryGetable>(row: &QueryResult, i: usize) -> Result<T, DbErr> {
    row.try_get_by_index(i)
}

fn is_bookkeeping(table: &str) -> bool {
    BOOKKEEPING_TABLES.contains(&table)
}

const PG_SCHEMA: &str = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())";

/// Every index of the current schema except primary keys, as the
/// catalogue describes it: `(name, shape)`. Shared with `indexes`.
pub(crate) const PG_INDEXES: &str = "\
SELECT c.relname::text, t.relname::text, i.indisunique, i.indisvalid, am.amname::text, \
  pg_get_expr(i.indpred, i.indrelid), \
  ARRAY(SELECT CASE WHEN k.attnum = 0 THEN pg_get_indexdef(i.indexrelid, k.ord::int, true) \
                    ELSE a.attname::text END \
               || CASE WHEN pg_index_column_has_property(i.indexrelid, k.ord::int, 'desc') \
                       THEN ' DESC' ELSE '' END \
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
        WHERE k.ord <= i.indnkeyatts ORDER BY k.ord), \
  ARRAY(SELECT a.attname::text \
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
        WHERE k.ord > i.indnkeyatts ORDER BY k.ord), \
  i.indisprimary, c.oid::int8 \
FROM pg_index i \
JOIN pg_class c ON c.oid = i.indexrelid \
JOIN pg_class t ON t.oid = i.indrelid \
JOIN pg_am am ON am.oid = c.relam \
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
ORDER BY t.relname, c.relname";

/// One row of [`PG_INDEXES`].
pub(crate) struct PgIndexRow {
    pub name: String,
    pub shape: IndexShape,
    pub primary: bool,
    pub oid: i64,
}

pub(crate) async fn pg_indexes<C: ConnectionTrait>(conn: &C) -> Result<Vec<PgIndexRow>, DbErr> {
    let mut out = Vec::new();
    for r in rows(conn, PG_INDEXES).await? {
        let table: String = col(&r, 1)?;
        if is_bookkeeping(&table) {
            continue;
        }
        out.push(PgIndexRow {
            name: col(&r, 0)?,
            shape: IndexShape {
                table,
                unique: col(&r, 2)?,
                valid: col(&r, 3)?,
                method: Some(col(&r, 4)?),
                predicate: col(&r, 5)?,
                columns: col(&r, 6)?,
                include: col(&r, 7)?,
            },
            primary: col(&r, 8)?,
            oid: col(&r, 9)?,
        });
    }
    Ok(out)
}

fn pg_action(code: &str) -> &'static str {
    match code {
        "c" => "CASCADE",
        "n" => "SET NULL",
        "r" => "RESTRICT",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
}

async fn postgres_objects<C: ConnectionTrait>(conn: &C) -> Result<Objects, DbErr> {
    let mut map = Objects::new();
    let mut enums: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows(
        conn,
        &format!(
            "SELECT t.typname::text, e.enumlabel::text FROM pg_type t \
             JOIN pg_enum e ON e.enumtypid = t.oid WHERE t.typnamespace = {PG_SCHEMA} \
             ORDER BY t.typname, e.enumsortorder"
        ),
    )
    .await?
    {
        enums.entry(col(&r, 0)?).or_default().push(col(&r, 1)?);
    }
    for (name, values) in enums {
        put(&mut map, "enum", name, None, enum_def(&values));
    }

    for r in rows(
        conn,
        &format!(
            "SELECT relname::text, relreplident::text FROM pg_class \
             WHERE relnamespace = {PG_SCHEMA} AND relkind IN ('r', 'p')"
        ),
    )
    .await?
    {
        let table: String = col(&r, 0)?;
        if is_bookkeeping(&table) {
            continue;
        }
        let identity = match col::<String>(&r, 1)?.as_str() {
            "d" => "DEFAULT",
            "f" => "FULL",
            "i" => "USING INDEX",
            _ => "NOTHING",
        };
        put(
            &mut map,
            "replica identity",
            table.clone(),
            Some(&table),
            identity.to_owned(),
        );
        put(&mut map, "table", table, None, String::new());
    }

    for r in rows(
        conn,
        &format!(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE c.relnamespace = {PG_SCHEMA} AND c.relkind IN ('r', 'p') \
               AND a.attnum > 0 AND NOT a.attisdropped"
        ),
    )
    .await?
    {
        let table: String = col(&r, 0)?;
        if is_bookkeeping(&table) {
            continue;
        }
        let column: String = col(&r, 1)?;
        let ty: String = col(&r, 2)?;
        let default: Option<String> = col(&r, 4)?;
        put(
            &mut map,
            "column",
            format!("{table}.{column}"),
            Some(&table),
            column_def(&ty, col(&r, 3)?, default.as_deref().map(strip_cast)),
        );
    }

    for r in rows(
        conn,
        &format!(
            "SELECT t.relname::text, c.conname::text, c.contype::text, \
               ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) \
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), \
               r.relname::text, c.confupdtype::text, c.confdeltype::text, pg_get_constraintdef(c.oid) \
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
             LEFT JOIN pg_class r ON r.oid = c.confrelid \
             WHERE c.connamespace = {PG_SCHEMA}"
        ),
    )
    .await?
    {
        let table: String = col(&r, 0)?;
        if is_bookkeeping(&table) {
            continue;
        }
        let columns: Vec<String> = col(&r, 3)?;
        let def = match col::<String>(&r, 2)?.as_str() {
            "p" => primary_key_def(&columns),
            "f" if columns.len() == 1 => foreign_key_def(
                &columns[0],
                &col::<Option<String>>(&r, 4)?.unwrap_or_default(),
                pg_action(&col::<String>(&r, 5)?),
                pg_action(&col::<String>(&r, 6)?),
            ),
            _ => col(&r, 7)?,
        };
        put(&mut map, "constraint", col(&r, 1)?, Some(&table), def);
    }

    for index in pg_indexes(conn).await? {
        if !index.primary {
            put(
                &mut map,
                "index",
                index.name,
                Some(&index.shape.table),
                index.shape.def(),
            );
        }
    }

    let mut published: Vec<String> = Vec::new();
    let mut exists = false;
    for r in rows_with(
        conn,
        "SELECT p.pubname::text, pt.tablename::text FROM pg_publication p \
         LEFT JOIN pg_publication_tables pt ON pt.pubname = p.pubname \
         AND pt.schemaname = current_schema() WHERE p.pubname = $1",
        vec![PUBLICATION.into()],
    )
    .await?
    {
        exists = true;
        if let Some(t) = col::<Option<String>>(&r, 1)? {
            published.push(t);
        }
    }
    if exists {
        published.sort();
        put(
            &mut map,
            "publication",
            PUBLICATION.to_owned(),
            None,
            format!("FOR TABLE {}", published.join(", ")),
        );
    }
    Ok(map)
}

/// The values of `CHECK ("column" IN ('A', 'B'))` in a table's SQL.
fn sqlite_check_values(table_sql: &str, column: &str) -> Option<Vec<String>> {
    let start = format!("CHECK (\"{column}\" IN (");
    let rest = &table_sql[table_sql.find(&start)? + start.len()..];
    let list = &rest[..rest.find("))")?];
    Some(
        list.split(',')
            .map(|v| v.trim().trim_matches('\'').to_owned())
            .collect(),
    )
}

/// One SQLite index: `(name, shape)`, from `pragma_index_list` and
/// `pragma_index_xinfo`. Shared with `indexes`.
pub(crate) async fn sqlite_indexes<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<(String, IndexShape)>, DbErr> {
    let mut out = Vec::new();
    for r in rows(
        conn,
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' \
         AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY tbl_name, name",
    )
    .await?
    {
        let name: String = col(&r, 0)?;
        let table: String = col(&r, 1)?;
        if is_bookkeeping(&table) {
            continue;
        }
        let sql: Option<String> = col(&r, 2)?;
        let unique = rows_with(
            conn,
            "SELECT \"unique\" FROM pragma_index_list(?) WHERE name = ?",
            vec![table.clone().into(), name.clone().into()],
        )
        .await?
        .first()
        .map(|r| col::<i64>(r, 0))
        .transpose()?
        .unwrap_or(0)
            != 0;
        let mut columns = Vec::new();
        for c in rows_with(
            conn,
            "SELECT name, \"desc\" FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno",
            vec![name.clone().into()],
        )
        .await?
        {
            let column: Option<String> = col(&c, 0)?;
            let mut column = column.unwrap_or_else(|| "<expression>".to_owned());
            if col::<i64>(&c, 1)? != 0 {
                column.push_str(" DESC");
            }
            columns.push(column);
        }
        let predicate = sql
            .as_deref()
            .and_then(|s| s.split_once(" WHERE "))
            .map(|(_, p)| p.trim().to_owned());
        out.push((
            name,
            IndexShape {
                table,
                columns,
                include: Vec::new(),
                unique,
                method: None,
                predicate,
                valid: true,
            },
        ));
    }
    Ok(out)
}

async fn sqlite_objects<C: ConnectionTrait>(conn: &C) -> Result<Objects, DbErr> {
    let mut map = Objects::new();
    let tables = rows(
        conn,
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .await?;
    for t in tables {
        let table: String = col(&t, 0)?;
        if is_bookkeeping(&table) {
            continue;
        }
        let sql: String = col::<Option<String>>(&t, 1)?.unwrap_or_default();
        let model = TABLES.iter().find(|m| m.name == table);
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in rows_with(
            conn,
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)",
            vec![table.clone().into()],
        )
        .await?
        {
            let column: String = col(&c, 0)?;
            let ty: String = col(&c, 1)?;
            let default: Option<String> = col(&c, 3)?;
            put(
                &mut map,
                "column",
                format!("{table}.{column}"),
                Some(&table),
                column_def(
                    &ty.to_uppercase(),
                    col::<i64>(&c, 2)? != 0,
                    default.as_deref().map(strip_parens),
                ),
            );
            let pk_pos: i64 = col(&c, 4)?;
            if pk_pos > 0 {
                pk.push((pk_pos, column.clone()));
            }
            // Enum columns of the model: their CHECK list is the enum.
            let enum_col = model
                .and_then(|m| m.columns.iter().find(|mc| mc.name == column))
                .is_some_and(|mc| matches!(mc.ty, ColType::Enum(_)));
            if enum_col && let Some(values) = sqlite_check_values(&sql, &column) {
                put(
                    &mut map,
                    "enum",
                    format!("{table}.{column}"),
                    Some(&table),
                    enum_def(&values),
                );
            }
        }
        if !pk.is_empty() {
            pk.sort();
            let cols: Vec<String> = pk.into_iter().map(|(_, c)| c).collect();
            put(
                &mut map,
                "constraint",
                format!("{table}_pkey"),
                Some(&table),
                primary_key_def(&cols),
            );
        }
        for f in rows_with(
            conn,
            "SELECT \"from\", \"table\", on_update, on_delete FROM pragma_foreign_key_list(?)",
            vec![table.clone().into()],
        )
        .await?
        {
            let from: String = col(&f, 0)?;
            put(
                &mut map,
                "constraint",
                fk_name(&table, &from),
                Some(&table),
                foreign_key_def(
                    &from,
                    &col::<String>(&f, 1)?,
                    &col::<String>(&f, 2)?,
                    &col::<String>(&f, 3)?,
                ),
            );
        }
        put(&mut map, "table", table, None, String::new());
    }
    for (name, shape) in sqlite_indexes(conn).await? {
        put(
            &mut map,
            "index",
            name,
            Some(&shape.table.clone()),
            shape.def(),
        );
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_and_parentheses_are_normalised() {
        assert_eq!(strip_cast("'USER'::\"UserRole\""), "'USER'");
        assert_eq!(strip_cast("'1.0.0'::text"), "'1.0.0'");
        assert_eq!(strip_cast("'a::b'"), "'a::b'");
        assert_eq!(strip_cast("CURRENT_TIMESTAMP"), "CURRENT_TIMESTAMP");
        assert_eq!(strip_parens("(strftime('%s'))"), "strftime('%s')");
        assert_eq!(strip_parens("0"), "0");
    }

    #[test]
    fn reads_sqlite_enum_checks() {
        let sql = r#"CREATE TABLE "users" ("role" TEXT NOT NULL DEFAULT 'USER' CHECK ("role" IN ('ADMIN', 'USER')))"#;
        assert_eq!(
            sqlite_check_values(sql, "role"),
            Some(vec!["ADMIN".to_owned(), "USER".to_owned()])
        );
        assert_eq!(sqlite_check_values(sql, "status"), None);
    }

    #[test]
    fn diff_names_missing_extra_and_different() {
        let mut e = Objects::new();
        let mut a = Objects::new();
        put(&mut e, "table", "t".into(), None, String::new());
        put(&mut a, "table", "t".into(), None, String::new());
        put(&mut e, "column", "t.a".into(), Some("t"), "text".into());
        put(&mut a, "column", "t.a".into(), Some("t"), "integer".into());
        put(
            &mut e,
            "index",
            "t_b_idx".into(),
            Some("t"),
            "INDEX ON t (b)".into(),
        );
        put(&mut a, "column", "t.z".into(), Some("t"), "text".into());
        // A table missing altogether is one line, not one per column.
        put(&mut e, "table", "gone".into(), None, String::new());
        put(
            &mut e,
            "column",
            "gone.x".into(),
            Some("gone"),
            "text".into(),
        );
        let d = diff(&e, &a);
        let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "different column t.a: expected text; found integer",
                "extra     column t.z: found text",
                "missing   index t_b_idx: expected INDEX ON t (b)",
                "missing   table gone",
            ]
        );
    }

    #[test]
    fn expected_objects_cover_the_model() {
        let pg = expected_objects(DatabaseBackend::Postgres);
        assert_eq!(
            pg[&("column", "users.role".to_owned())].def,
            "\"UserRole\" NOT NULL DEFAULT 'USER'"
        );
        assert_eq!(
            pg[&("index", "agent_executions_agentId_startedAt_idx".to_owned())].def,
            "INDEX ON agent_executions (agentId, startedAt) INCLUDE (status, performance, completedAt)"
        );
        let sqlite = expected_objects(DatabaseBackend::Sqlite);
        assert_eq!(
            sqlite[&("index", "agent_executions_agentId_startedAt_idx".to_owned())].def,
            "INDEX ON agent_executions (agentId, startedAt, status, performance, completedAt)"
        );
        assert!(sqlite.contains_key(&("enum", "users.role".to_owned())));
    }
}
