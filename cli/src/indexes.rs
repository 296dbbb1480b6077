//! `neonhub-db indexes [--repair] [--json FILE]`: the health of every
//! index (SPEC §12).
//!
//! Per index: table, key and INCLUDE columns, size, scans since the
//! statistics were last reset, valid or not, unused (no scan, not unique,
//! not backing a constraint), redundant (its key columns are a leading
//! prefix of another index's on the same table), and whether the
//! migrations own it. Then every foreign-key column that no valid index
//! leads.
//!
//! `--repair` rebuilds the migrations' own indexes that are missing,
//! INVALID or defined differently, with the migrations' definitions
//! (concurrently, under their lock timeout, on PostgreSQL:
//! [`migration::repair_indexes`]); on SQLite it also runs `REINDEX` on
//! every index that `PRAGMA integrity_check` finds inconsistent with its
//! table (REINDEX rebuilds from the table and drops nothing). It never
//! drops or rebuilds a PostgreSQL index the migrations do not own: such an
//! index is reported, and the operator decides.
//!
//! SQLite keeps no usage statistics and no sizes per index without the
//! `dbstat` table: scans, size and unused are `null` there, and the report
//! says so.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr};
use serde::Serialize;

use crate::check::{self, IndexShape, col, rows, rows_with};

/// One index's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexHealth {
    /// The index name.
    pub name: String,
    /// Its table.
    pub table: String,
    /// Key columns, in order (`DESC` where descending).
    pub columns: Vec<String>,
    /// INCLUDE columns (PostgreSQL).
    pub include: Vec<String>,
    /// A unique index (primary keys included).
    pub unique: bool,
    /// The table's primary key (owned by the schema migration).
    pub primary_key: bool,
    /// It backs a primary-key, unique or exclusion constraint.
    pub backs_constraint: bool,
    /// The migrations define it (by name).
    pub owned: bool,
    /// Owned and defined as the migrations define it; `None` when not
    /// owned.
    pub as_defined: Option<bool>,
    /// Usable by the planner: PostgreSQL's `indisvalid`; on SQLite,
    /// consistent with its table by `PRAGMA integrity_check`.
    pub valid: bool,
    /// Size on disk in bytes (PostgreSQL).
    pub size_bytes: Option<i64>,
    /// Index scans since the statistics reset (PostgreSQL).
    pub scans: Option<i64>,
    /// No scan since the reset, not unique and backing no constraint;
    /// `None` where usage is unknown (SQLite).
    pub unused: Option<bool>,
    /// The index whose leading key columns this one's key columns are.
    pub redundant_with: Option<String>,
}

/// A foreign-key column that no valid index leads: deletes of the
/// referenced row scan the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnindexedForeignKey {
    /// The referencing table.
    pub table: String,
    /// The referencing column.
    pub column: String,
    /// The referenced table.
    pub references: String,
}

/// The result of `indexes`.
#[derive(Debug, Clone, Serialize)]
pub struct IndexReport {
    /// `postgres` or `sqlite`.
    pub backend: &'static str,
    /// When PostgreSQL's statistics were last reset (scans count from
    /// here); `None` if never or unknown.
    pub stats_reset: Option<String>,
    /// Whether scans and unused are known on this backend.
    pub usage_known: bool,
    /// Every index of the schema, by table and name (bookkeeping tables
    /// left out).
    pub indexes: Vec<IndexHealth>,
    /// Foreign-key columns that no valid index leads.
    pub unindexed_foreign_keys: Vec<UnindexedForeignKey>,
    /// Indexes the migrations define that the database lacks. `--repair`
    /// rebuilds those of applied migrations; those of pending ones are
    /// `migrate up`'s (`check` names the pending migration).
    pub missing: Vec<String>,
    /// What `--repair` rebuilt (empty without it).
    pub repaired: Vec<String>,
}

impl IndexReport {
    /// Nothing INVALID, differing or missing.
    pub fn is_healthy(&self) -> bool {
        self.broken().next().is_none() && self.missing.is_empty()
    }

    /// Indexes that are INVALID or, when owned, defined differently.
    pub fn broken(&self) -> impl Iterator<Item = &IndexHealth> {
        self.indexes
            .iter()
            .filter(|i| !i.valid || i.as_defined == Some(false))
    }

    /// The index of this name.
    pub fn get(&self, name: &str) -> Option<&IndexHealth> {
        self.indexes.iter().find(|i| i.name == name)
    }
}

fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl fmt::Display for IndexReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = |v: Vec<usize>, min: usize| v.into_iter().max().unwrap_or(0).max(min);
        let name_w = width(self.indexes.iter().map(|i| i.name.len()).collect(), 5);
        let table_w = width(self.indexes.iter().map(|i| i.table.len()).collect(), 5);
        writeln!(
            f,
            "{:<name_w$}  {:<table_w$}  {:>9}  {:>9}  {:<7}  columns; notes",
            "index", "table", "size", "scans", "valid"
        )?;
        for i in &self.indexes {
            let mut notes = Vec::new();
            if i.primary_key {
                notes.push("primary key".to_owned());
            } else if i.unique {
                notes.push("unique".to_owned());
            }
            if !i.owned {
                notes.push("not owned".to_owned());
            }
            if i.as_defined == Some(false) {
                notes.push("differs from its migration".to_owned());
            }
            if i.unused == Some(true) {
                notes.push("unused".to_owned());
            }
            if let Some(other) = &i.redundant_with {
                notes.push(format!("redundant with {other}"));
            }
            let mut columns = format!("({})", i.columns.join(", "));
            if !i.include.is_empty() {
                columns.push_str(&format!(" INCLUDE ({})", i.include.join(", ")));
            }
            writeln!(
                f,
                "{:<name_w$}  {:<table_w$}  {:>9}  {:>9}  {:<7}  {columns}{}{}",
                i.name,
                i.table,
                i.size_bytes.map_or("-".to_owned(), human_bytes),
                i.scans.map_or("-".to_owned(), |s| s.to_string()),
                if i.valid { "yes" } else { "INVALID" },
                if notes.is_empty() { "" } else { "; " },
                notes.join(", ")
            )?;
        }
        for fk in &self.unindexed_foreign_keys {
            writeln!(
                f,
                "foreign key {}.{} -> {} has no index leading with it",
                fk.table, fk.column, fk.references
            )?;
        }
        if !self.usage_known {
            writeln!(
                f,
                "{}: scans, sizes and unused are unknown (SQLite keeps no index statistics)",
                self.backend
            )?;
        } else if let Some(reset) = &self.stats_reset {
            writeln!(f, "scans count since the statistics reset at {reset}")?;
        } else {
            writeln!(
                f,
                "scans count since the statistics were created (never reset)"
            )?;
        }
        for name in &self.missing {
            writeln!(f, "missing {name} (defined by the migrations)")?;
        }
        for name in &self.repaired {
            writeln!(f, "repaired {name}")?;
        }
        let broken = self.broken().count();
        writeln!(
            f,
            "{}: {} indexes, {} broken, {} missing, {} unindexed foreign keys",
            self.backend,
            self.indexes.len(),
            broken,
            self.missing.len(),
            self.unindexed_foreign_keys.len()
        )
    }
}

/// Reads the health of every index; with `repair`, first rebuilds what is
/// broken (see the module docs) and reports what it rebuilt.
///
/// # Errors
/// A database error, or an index that cannot be rebuilt.
pub async fn run(conn: &DatabaseConnection, repair: bool) -> Result<IndexReport, DbErr> {
    let mut repaired = Vec::new();
    if repair {
        repaired.extend(
            migration::repair_indexes(conn)
                .await?
                .into_iter()
                .map(str::to_owned),
        );
        if conn.get_database_backend() == DatabaseBackend::Sqlite {
            for name in sqlite_inconsistent_indexes(conn).await? {
                conn.execute_unprepared(&format!("REINDEX \"{}\"", name.replace('"', "\"\"")))
                    .await?;
                if !repaired.contains(&name) {
                    repaired.push(name);
                }
            }
        }
    }
    let mut report = match conn.get_database_backend() {
        DatabaseBackend::Postgres => postgres(conn).await?,
        _ => sqlite(conn).await?,
    };
    report.repaired = repaired;
    Ok(report)
}

/// Fills `owned`, `as_defined` and `redundant_with`, sorts, and returns
/// the names of the migrations' indexes that are not there.
fn finish(
    indexes: &mut [IndexHealth],
    shapes: &[IndexShape],
    backend: DatabaseBackend,
) -> Vec<String> {
    let defs = check::expected_index_shapes(backend);
    let missing = defs
        .keys()
        .filter(|name| !indexes.iter().any(|i| &i.name == *name))
        .cloned()
        .collect();
    for (i, shape) in indexes.iter_mut().zip(shapes) {
        if i.primary_key {
            i.owned = true;
        } else if let Some(expected) = defs.get(&i.name) {
            i.owned = true;
            // Validity is reported on its own; btree is the default method.
            let mut live = shape.clone();
            live.valid = true;
            live.method = live.method.filter(|m| m != "btree");
            i.as_defined = Some(*expected == live);
        }
    }
    struct Candidate {
        name: String,
        table: String,
        columns: Vec<String>,
        unique: bool,
        owned: bool,
        plain: bool,
    }
    let is_plain =
        |s: &IndexShape| s.predicate.is_none() && s.method.as_deref().is_none_or(|m| m == "btree");
    let candidates: Vec<Candidate> = indexes
        .iter()
        .zip(shapes)
        .filter(|(i, _)| i.valid)
        .map(|(i, s)| Candidate {
            name: i.name.clone(),
            table: i.table.clone(),
            columns: i.columns.clone(),
            unique: i.unique,
            owned: i.owned,
            plain: is_plain(s),
        })
        .collect();
    for (i, shape) in indexes.iter_mut().zip(shapes) {
        if i.unique || !is_plain(shape) || !i.valid {
            continue;
        }
        let n = i.columns.len();
        i.redundant_with = candidates
            .iter()
            .filter(|o| {
                o.name != i.name
                    && o.table == i.table
                    && o.plain
                    && o.columns.len() >= n
                    && o.columns[..n] == i.columns[..]
                    // Of two identical indexes one is redundant: not the
                    // unique one, not the one the migrations own, else the
                    // later name.
                    && (o.columns.len() > n
                        || (o.unique, o.owned, std::cmp::Reverse(&o.name))
                            > (false, i.owned, std::cmp::Reverse(&i.name)))
            })
            .map(|o| o.name.clone())
            .next();
    }
    indexes.sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    missing
}

/// Foreign-key columns that no valid index's first key column is.
fn unindexed(
    foreign_keys: Vec<UnindexedForeignKey>,
    indexes: &[IndexHealth],
) -> Vec<UnindexedForeignKey> {
    let leading: BTreeSet<(&str, &str)> = indexes
        .iter()
        .filter(|i| i.valid)
        .filter_map(|i| i.columns.first().map(|c| (i.table.as_str(), c.as_str())))
        .collect();
    let mut out: Vec<_> = foreign_keys
        .into_iter()
        .filter(|fk| !leading.contains(&(fk.table.as_str(), fk.column.as_str())))
        .collect();
    out.sort_by(|a, b| (&a.table, &a.column).cmp(&(&b.table, &b.column)));
    out
}

const PG_USAGE: &str = "\
SELECT c.oid::int8, pg_relation_size(c.oid)::int8, COALESCE(s.idx_scan, 0)::int8, \
  EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid AND k.contype IN ('p', 'u', 'x')) \
FROM pg_class c LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid \
WHERE c.relkind = 'i' \
  AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())";

const PG_FOREIGN_KEYS: &str = "\
SELECT t.relname::text, a.attname::text, r.relname::text \
FROM pg_constraint k \
JOIN pg_class t ON t.oid = k.conrelid \
JOIN pg_class r ON r.oid = k.confrelid \
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
WHERE k.contype = 'f' \
  AND t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())";

async fn postgres(conn: &DatabaseConnection) -> Result<IndexReport, DbErr> {
    let mut usage: BTreeMap<i64, (i64, i64, bool)> = BTreeMap::new();
    for r in rows(conn, PG_USAGE).await? {
        usage.insert(col(&r, 0)?, (col(&r, 1)?, col(&r, 2)?, col(&r, 3)?));
    }
    let mut indexes = Vec::new();
    let mut shapes = Vec::new();
    for row in check::pg_indexes(conn).await? {
        let (size, scans, backs_constraint) = usage.get(&row.oid).copied().unwrap_or_default();
        let s = &row.shape;
        indexes.push(IndexHealth {
            name: row.name,
            table: s.table.clone(),
            columns: s.columns.clone(),
            include: s.include.clone(),
            unique: s.unique,
            primary_key: row.primary,
            backs_constraint,
            owned: false,
            as_defined: None,
            valid: s.valid,
            size_bytes: Some(size),
            scans: Some(scans),
            unused: Some(scans == 0 && !s.unique && !backs_constraint),
            redundant_with: None,
        });
        shapes.push(row.shape);
    }
    let missing = finish(&mut indexes, &shapes, DatabaseBackend::Postgres);
    let mut foreign_keys = Vec::new();
    for r in rows(conn, PG_FOREIGN_KEYS).await? {
        let table: String = col(&r, 0)?;
        if check::BOOKKEEPING_TABLES.contains(&table.as_str()) {
            continue;
        }
        foreign_keys.push(UnindexedForeignKey {
            table,
            column: col(&r, 1)?,
            references: col(&r, 2)?,
        });
    }
    let stats_reset: Option<String> = rows(
        conn,
        "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()",
    )
    .await?
    .first()
    .map(|r| col::<Option<String>>(r, 0))
    .transpose()?
    .flatten();
    Ok(IndexReport {
        backend: "postgres",
        stats_reset,
        usage_known: true,
        unindexed_foreign_keys: unindexed(foreign_keys, &indexes),
        indexes,
        missing,
        repaired: Vec::new(),
    })
}

/// Index names that `PRAGMA integrity_check` reports as inconsistent with
/// their table (`row N missing from index X`, `wrong # of entries in index
/// X`, `non-unique entry in index X`).
async fn sqlite_inconsistent_indexes(conn: &DatabaseConnection) -> Result<BTreeSet<String>, DbErr> {
    let mut names = BTreeSet::new();
    // Up to 10,000 messages: enough to name every broken index.
    for r in rows(conn, "PRAGMA integrity_check(10000)").await? {
        let line: String = col(&r, 0)?;
        if let Some((_, rest)) = line.split_once(" index ")
            && let Some(name) = rest.split_whitespace().next()
        {
            names.insert(name.to_owned());
        }
    }
    Ok(names)
}

async fn sqlite(conn: &DatabaseConnection) -> Result<IndexReport, DbErr> {
    let inconsistent = sqlite_inconsistent_indexes(conn).await?;
    let mut indexes = Vec::new();
    let mut shapes = Vec::new();
    for (name, shape) in check::sqlite_indexes(conn).await? {
        indexes.push(IndexHealth {
            valid: !inconsistent.contains(&name),
            name,
            table: shape.table.clone(),
            columns: shape.columns.clone(),
            include: Vec::new(),
            unique: shape.unique,
            primary_key: false,
            // SQLite backs UNIQUE and PRIMARY KEY constraints with
            // `sqlite_autoindex_*` indexes, which are not listed.
            backs_constraint: false,
            owned: false,
            as_defined: None,
            size_bytes: None,
            scans: None,
            unused: None,
            redundant_with: None,
        });
        shapes.push(shape);
    }
    let missing = finish(&mut indexes, &shapes, DatabaseBackend::Sqlite);
    let mut foreign_keys = Vec::new();
    for t in rows(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .await?
    {
        let table: String = col(&t, 0)?;
        if check::BOOKKEEPING_TABLES.contains(&table.as_str()) {
            continue;
        }
        for fk in rows_with(
            conn,
            "SELECT \"from\", \"table\" FROM pragma_foreign_key_list(?) WHERE seq = 0",
            vec![table.clone().into()],
        )
        .await?
        {
            foreign_keys.push(UnindexedForeignKey {
                table: table.clone(),
                column: col(&fk, 0)?,
                references: col(&fk, 1)?,
            });
        }
    }
    Ok(IndexReport {
        backend: "sqlite",
        stats_reset: None,
        usage_known: false,
        unindexed_foreign_keys: unindexed(foreign_keys, &indexes),
        indexes,
        missing,
        repaired: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(name: &str, table: &str, columns: &[&str], unique: bool) -> IndexHealth {
        IndexHealth {
            name: name.to_owned(),
            table: table.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            include: Vec::new(),
            unique,
            primary_key: false,
            backs_constraint: false,
            owned: false,
            as_defined: None,
            valid: true,
            size_bytes: None,
            scans: None,
            unused: None,
            redundant_with: None,
        }
    }

    fn shape(h: &IndexHealth) -> IndexShape {
        IndexShape {
            table: h.table.clone(),
            columns: h.columns.clone(),
            unique: h.unique,
            valid: true,
            ..IndexShape::default()
        }
    }

    #[test]
    fn a_leading_prefix_is_redundant_and_uniques_never_are() {
        let mut v = vec![
            health("a_score", "leads", &["score"], false),
            health("b_score_created", "leads", &["score", "createdAt"], false),
            health("c_created", "leads", &["createdAt"], false),
            health("d_email_unique", "leads", &["email"], true),
            health("e_email", "leads", &["email"], false),
            health("f_score_other_table", "trends", &["score"], false),
            health("g_created_twin", "leads", &["createdAt"], false),
        ];
        let shapes: Vec<_> = v.iter().map(shape).collect();
        finish(&mut v, &shapes, DatabaseBackend::Postgres);
        let by = |n: &str| {
            v.iter()
                .find(|i| i.name == n)
                .unwrap()
                .redundant_with
                .clone()
        };
        assert_eq!(by("a_score").as_deref(), Some("b_score_created"));
        assert_eq!(by("b_score_created"), None);
        assert_eq!(by("d_email_unique"), None);
        assert_eq!(by("e_email").as_deref(), Some("d_email_unique"));
        assert_eq!(by("f_score_other_table"), None);
        assert_eq!(by("c_created"), None, "the first of two twins stays");
        assert_eq!(by("g_created_twin").as_deref(), Some("c_created"));
    }

    #[test]
    fn foreign_keys_need_a_valid_leading_index() {
        let mut idx = vec![
            health("x", "accounts", &["userId", "provider"], false),
            health("y", "sessions", &["expires", "userId"], false),
            health("z", "ab_tests", &["campaignId"], false),
        ];
        idx[2].valid = false;
        let fk = |t: &str| UnindexedForeignKey {
            table: t.to_owned(),
            column: if t == "ab_tests" {
                "campaignId"
            } else {
                "userId"
            }
            .to_owned(),
            references: "users".to_owned(),
        };
        let left = unindexed(vec![fk("accounts"), fk("sessions"), fk("ab_tests")], &idx);
        let tables: Vec<_> = left.iter().map(|f| f.table.as_str()).collect();
        assert_eq!(tables, ["ab_tests", "sessions"]);
    }

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(8192), "8.0 kB");
        assert_eq!(human_bytes(3 * 1024 * 1024 + 512 * 1024), "3.5 MB");
    }
}
