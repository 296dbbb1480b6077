//! The operator's commands on real databases: `check` (schema drift) and
//! `indexes` (index health and repair), SPEC §12.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeSet;

use api_tests::{Backend, both_backends, postgres_only};
use cli::check::{self, DriftKind};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

const PRISMA_FIXTURE: &str = include_str!("../fixtures/prisma_pre_index.sql");

async fn exec(conn: &impl ConnectionTrait, sql: &str) {
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

/// `(kind, object, name)` of every difference.
fn drift_set(report: &check::CheckReport) -> BTreeSet<(DriftKind, &'static str, String)> {
    report
        .drift
        .iter()
        .map(|d| (d.kind, d.object, d.name.clone()))
        .collect()
}

/// Rewrites one table's `CREATE TABLE` text in SQLite's schema, as an
/// operator editing a default or a CHECK list by hand would end up with.
async fn sqlite_edit_table_sql(conn: &DatabaseConnection, table: &str, from: &str, to: &str) {
    let txn = conn.begin().await.unwrap();
    let version: i64 = txn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "PRAGMA schema_version",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    exec(&txn, "PRAGMA writable_schema = ON").await;
    let changed = txn
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Sqlite,
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = ? AND instr(sql, ?) > 0",
            [from.into(), to.into(), table.into(), from.into()],
        ))
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 1, "{table}'s SQL contains {from}");
    exec(&txn, &format!("PRAGMA schema_version = {}", version + 1)).await;
    exec(&txn, "PRAGMA writable_schema = OFF").await;
    txn.commit().await.unwrap();
}

both_backends! {
    async fn check_is_clean_on_a_migrated_database(db) {
        let report = check::run(&db.conn).await.expect("check");
        assert!(!report.is_clean(), "an empty database is all drift");
        assert!(
            report.drift.iter().any(|d| d.kind == DriftKind::Missing && d.object == "migration"),
            "pending migrations are named: {report}"
        );
        Migrator::up(&db.conn, None).await.expect("up");
        let report = check::run(&db.conn).await.expect("check");
        assert!(report.is_clean(), "{report}");
        assert!(report.objects_checked > 150, "{} objects", report.objects_checked);
    }

    async fn check_names_a_dropped_index_an_extra_column_a_changed_default_and_an_added_enum_value(db) {
        let conn = &db.conn;
        Migrator::up(conn, None).await.expect("up");
        exec(conn, r#"DROP INDEX "leads_source_createdAt_idx""#).await;
        exec(conn, r#"ALTER TABLE "users" ADD COLUMN "nickname" TEXT"#).await;
        let enum_name = match db.backend {
            Backend::Postgres => {
                exec(conn, r#"ALTER TABLE "agents" ALTER COLUMN "version" SET DEFAULT '2.0.0'"#).await;
                exec(conn, r#"ALTER TYPE "UserRole" ADD VALUE 'OWNER'"#).await;
                "UserRole"
            }
            Backend::Sqlite => {
                // SQLite has no ALTER COLUMN: a default or an enum's CHECK
                // list changes only by rewriting the table's definition.
                sqlite_edit_table_sql(conn, "agents", "DEFAULT '1.0.0'", "DEFAULT '2.0.0'").await;
                sqlite_edit_table_sql(conn, "users", "'ADMIN'", "'ADMIN', 'OWNER'").await;
                "users.role"
            }
        };
        let report = check::run(conn).await.expect("check");
        let expected: BTreeSet<_> = [
            (DriftKind::Missing, "index", "leads_source_createdAt_idx".to_owned()),
            (DriftKind::Extra, "column", "users.nickname".to_owned()),
            (DriftKind::Different, "column", "agents.version".to_owned()),
            (DriftKind::Different, "enum", enum_name.to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(drift_set(&report), expected, "{report}");
        let by_name = |name: &str| report.drift.iter().find(|d| d.name == name).unwrap();
        let version = by_name("agents.version");
        assert!(version.expected.as_deref().unwrap().contains("'1.0.0'"), "{version}");
        assert!(version.actual.as_deref().unwrap().contains("'2.0.0'"), "{version}");
        let role = by_name(enum_name);
        assert!(role.actual.as_deref().unwrap().contains("OWNER"), "{role}");
        assert!(!role.expected.as_deref().unwrap().contains("OWNER"), "{role}");
        let index = by_name("leads_source_createdAt_idx");
        assert!(index.expected.as_deref().unwrap().contains("leads"), "{index}");
        assert_eq!(index.actual, None);
        // Each difference prints on a line of its own, with both sides.
        let text = report.to_string();
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.contains("different column agents.version: expected"), "{text}");

        // Repaired by hand, the check is clean again.
        exec(conn, r#"ALTER TABLE "users" DROP COLUMN "nickname""#).await;
        migration::repair_indexes(conn).await.expect("repair");
        let report = check::run(conn).await.expect("check");
        assert_eq!(report.drift.len(), 2, "{report}");
    }
}

postgres_only! {
    async fn check_is_clean_on_an_adopted_prisma_database(db) {
        let conn = &db.conn;
        exec(conn, PRISMA_FIXTURE).await;
        exec(conn, r#"CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL)"#).await;
        let before = check::run(conn).await.expect("check");
        let missing_indexes = before
            .drift
            .iter()
            .filter(|d| d.kind == DriftKind::Missing && d.object == "index")
            .count();
        assert_eq!(missing_indexes, migration::indexes::all_secondary_indexes().count(), "{before}");
        // Prisma's schema differs only by what the migrations add: the
        // indexes, the publication, and the replica identity the change
        // feed's migration sets.
        let not_missing: BTreeSet<_> = before
            .drift
            .iter()
            .filter(|d| d.kind != DriftKind::Missing)
            .map(|d| (d.kind, d.object, d.name.as_str()))
            .collect();
        assert_eq!(
            not_missing,
            [
                (DriftKind::Different, "replica identity", "agent_executions"),
                (DriftKind::Different, "replica identity", "analytics"),
            ]
            .into_iter()
            .collect(),
            "{before}"
        );
        Migrator::up(conn, None).await.expect("adopt");
        let after = check::run(conn).await.expect("check");
        assert!(after.is_clean(), "{after}");
    }

    async fn check_names_an_invalid_index(db) {
        let conn = &db.conn;
        Migrator::up(conn, None).await.expect("up");
        exec(conn, r#"UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"leads_score_idx"'::regclass"#).await;
        let report = check::run(conn).await.expect("check");
        assert_eq!(
            drift_set(&report),
            [(DriftKind::Different, "index", "leads_score_idx".to_owned())].into_iter().collect(),
            "{report}"
        );
        assert!(report.drift[0].actual.as_deref().unwrap().contains("INVALID"), "{report}");
    }
}

/// Inserts `n` leads with distinct scores and dates.
async fn some_leads(conn: &DatabaseConnection, n: usize) {
    for i in 0..n {
        let sql = format!(
            r#"INSERT INTO "leads" ("id", "email", "score", "createdAt", "updatedAt") VALUES ('l{i}', 'l{i}@x.io', {}, {ts}, {ts})"#,
            (i % 100) as f64 / 10.0,
            ts = match conn.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => format!("now() - interval '{i} minutes'"),
                _ => format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '-{i} minutes')"),
            }
        );
        exec(conn, &sql).await;
    }
}

both_backends! {
    async fn indexes_flags_redundant_unowned_missing_and_unindexed_foreign_keys(db) {
        let conn = &db.conn;
        Migrator::up(conn, None).await.expect("up");
        let report = cli::indexes::run(conn, false).await.expect("indexes");
        assert!(report.is_healthy(), "{report}");
        assert!(report.unindexed_foreign_keys.is_empty(), "{report}");
        assert!(report.indexes.iter().filter(|i| !i.primary_key).all(|i| i.owned), "{report}");
        // The report's (score) is the leading key of the covering index.
        assert_eq!(
            report.get("leads_score_idx").unwrap().redundant_with.as_deref(),
            Some("leads_score_createdAt_id_idx"),
            "{report}"
        );
        assert_eq!(report.get("leads_score_createdAt_id_idx").unwrap().redundant_with, None);
        match db.backend {
            Backend::Postgres => {
                let score = report.get("leads_score_idx").unwrap();
                assert_eq!(score.scans, Some(0));
                assert_eq!(score.unused, Some(true), "no scan on a fresh database");
                assert!(score.size_bytes.unwrap() > 0);
                // Prisma makes unique keys as unique indexes, not
                // constraints; unique ones are never called unused.
                let key = report.get("users_email_key").unwrap();
                assert!(key.unique && key.owned && key.unused == Some(false), "{report}");
                let pkey = report.get("users_pkey").unwrap();
                assert!(pkey.primary_key && pkey.backs_constraint && pkey.owned, "{report}");
            }
            Backend::Sqlite => {
                assert!(!report.usage_known);
                assert!(report.indexes.iter().all(|i| i.scans.is_none() && i.unused.is_none()));
                assert!(report.to_string().contains("unknown"), "the report says so");
            }
        }

        exec(conn, r#"DROP INDEX "accounts_userId_idx""#).await;
        exec(conn, r#"CREATE INDEX "ops_trends_keyword" ON "trends" ("keyword")"#).await;
        let report = cli::indexes::run(conn, false).await.expect("indexes");
        assert!(!report.is_healthy());
        assert_eq!(report.missing, ["accounts_userId_idx"]);
        let fks: Vec<(&str, &str)> = report
            .unindexed_foreign_keys
            .iter()
            .map(|f| (f.table.as_str(), f.column.as_str()))
            .collect();
        assert_eq!(fks, [("accounts", "userId")], "{report}");
        let extra = report.get("ops_trends_keyword").unwrap();
        assert!(!extra.owned && extra.as_defined.is_none());
        assert_eq!(extra.redundant_with.as_deref(), Some("trends_keyword_platform_idx"));

        let repaired = cli::indexes::run(conn, true).await.expect("repair");
        assert_eq!(repaired.repaired, ["accounts_userId_idx"], "{repaired}");
        assert!(repaired.is_healthy(), "{repaired}");
        assert!(repaired.get("ops_trends_keyword").is_some(), "an index it does not own stays");
    }

    async fn indexes_flags_an_invalid_index_and_repair_makes_it_valid(db) {
        let conn = &db.conn;
        Migrator::up(conn, None).await.expect("up");
        some_leads(conn, 50).await;
        exec(conn, r#"CREATE INDEX "ops_leads_company" ON "leads" ("company")"#).await;
        let broken = match db.backend {
            Backend::Postgres => {
                // What an interrupted CREATE/REINDEX CONCURRENTLY leaves.
                for name in ["leads_score_idx", "ops_leads_company"] {
                    exec(conn, &format!(r#"UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"{name}"'::regclass"#)).await;
                }
                vec!["leads_score_idx", "ops_leads_company"]
            }
            Backend::Sqlite => {
                // Two one-column indexes of one table swap their b-trees:
                // each now disagrees with the table, as after corruption.
                let txn = conn.begin().await.unwrap();
                let scalar = async |sql: &str| -> i64 {
                    txn.query_one_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, sql))
                        .await.unwrap().unwrap().try_get_by_index(0).unwrap()
                };
                let root = |name: &str| format!("SELECT rootpage FROM sqlite_master WHERE name = '{name}'");
                let (score_root, created_root) = (scalar(&root("leads_score_idx")).await, scalar(&root("leads_createdAt_idx")).await);
                let version = scalar("PRAGMA schema_version").await;
                exec(&txn, "PRAGMA writable_schema = ON").await;
                exec(&txn, &format!(
                    "UPDATE sqlite_master SET rootpage = CASE name WHEN 'leads_score_idx' THEN {} ELSE {} END \
                     WHERE name IN ('leads_score_idx', 'leads_createdAt_idx')",
                    created_root, score_root
                )).await;
                exec(&txn, &format!("PRAGMA schema_version = {}", version + 1)).await;
                exec(&txn, "PRAGMA writable_schema = OFF").await;
                txn.commit().await.unwrap();
                vec!["leads_createdAt_idx", "leads_score_idx"]
            }
        };
        let report = cli::indexes::run(conn, false).await.expect("indexes");
        let invalid: Vec<&str> = report.indexes.iter().filter(|i| !i.valid).map(|i| i.name.as_str()).collect();
        assert_eq!(invalid, broken, "{report}");
        assert!(!report.is_healthy());
        assert!(report.to_string().contains("INVALID"), "{report}");

        let repaired = cli::indexes::run(conn, true).await.expect("repair");
        let still: Vec<&str> = repaired.indexes.iter().filter(|i| !i.valid).map(|i| i.name.as_str()).collect();
        match db.backend {
            Backend::Postgres => {
                assert_eq!(repaired.repaired, ["leads_score_idx"], "{repaired}");
                // Not owned: reported, never rebuilt or dropped.
                assert_eq!(still, ["ops_leads_company"], "{repaired}");
            }
            Backend::Sqlite => {
                assert_eq!(repaired.repaired, broken, "{repaired}");
                assert!(still.is_empty(), "{repaired}");
                let ok: String = conn
                    .query_one_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Sqlite, "PRAGMA integrity_check"))
                    .await.unwrap().unwrap().try_get_by_index(0).unwrap();
                assert_eq!(ok, "ok");
            }
        }
        let score = repaired.get("leads_score_idx").unwrap();
        assert!(score.valid && score.as_defined == Some(true), "{repaired}");
    }
}

postgres_only! {
    async fn indexes_counts_scans(db) {
        let conn = &db.conn;
        Migrator::up(conn, None).await.expect("up");
        let txn = conn.begin().await.unwrap();
        exec(&txn, "SET LOCAL enable_seqscan = off").await;
        exec(&txn, "SELECT pg_stat_force_next_flush()").await;
        exec(&txn, r#"SELECT "id" FROM "trends" WHERE "keyword" = 'ai' AND "platform" = 'TWITTER'"#).await;
        txn.commit().await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let report = cli::indexes::run(conn, false).await.expect("indexes");
            let i = report.get("trends_keyword_platform_idx").unwrap();
            if i.scans.unwrap() > 0 {
                assert_eq!(i.unused, Some(false));
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no scan counted: {report}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}
