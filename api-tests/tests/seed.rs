//! `neonhub-db seed` on real databases: deterministic (same seed, same
//! rows; another seed, other rows), the sizes of SPEC §9, refuses a
//! database with data, leaves every index in place and every foreign key
//! satisfied.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;

use api_tests::{TestDb, both_backends, catalog};
use cli::seed::{self, Scale, SeedArgs, SeedError};
use migration::Migrator;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Statement};
use sea_orm_migration::MigratorTrait;

/// Per table: (rows, FNV-1a 64 of every row's JSON in primary-key order).
type Digest = BTreeMap<&'static str, (u64, u64)>;

fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *hash ^= u64::from(b);
        *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// Reads every row of every table through the entities (so both backends
/// decode to the same Rust values) and digests them.
async fn digest(conn: &DatabaseConnection) -> Digest {
    let mut out = Digest::new();
    macro_rules! table {
        ($name:literal, $module:ident, $order:ident) => {{
            let rows = entity::$module::Entity::find()
                .order_by_asc(entity::$module::Column::$order)
                .all(conn)
                .await
                .unwrap_or_else(|e| panic!("reading {}: {e}", $name));
            let mut hash = 0xcbf2_9ce4_8422_2325u64;
            for row in &rows {
                fnv1a(&mut hash, serde_json::to_string(row).unwrap().as_bytes());
                fnv1a(&mut hash, b"\n");
            }
            out.insert($name, (rows.len() as u64, hash));
        }};
    }
    table!("users", user, Id);
    table!("accounts", account, Id);
    table!("sessions", session, Id);
    table!("verification_tokens", verification_token, Token);
    table!("campaigns", campaign, Id);
    table!("agents", agent, Id);
    table!("agent_executions", agent_execution, Id);
    table!("analytics", analytics, Id);
    table!("ab_tests", ab_test, Id);
    table!("contents", content, Id);
    table!("leads", lead, Id);
    table!("trends", trend, Id);
    table!("design_templates", design_template, Id);
    out
}

async fn neon(db: &TestDb) -> service::NeonDb {
    service::NeonDb::connect(service::Config::new(db.url.clone()))
        .await
        .expect("connect")
}

async fn seed(db: &TestDb, seed: u64) -> seed::SeedReport {
    let neon = neon(db).await;
    let report = seed::run(
        &neon,
        &SeedArgs {
            scale: Scale::Tiny,
            seed,
        },
        false,
    )
    .await
    .unwrap_or_else(|e| panic!("seeding: {e}"));
    neon.close().await.expect("close");
    report
}

async fn count(conn: &DatabaseConnection, table: &str) -> i64 {
    conn.query_one_raw(Statement::from_string(
        conn.get_database_backend(),
        format!("SELECT COUNT(*) FROM \"{table}\""),
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index(0)
    .unwrap()
}

async fn counts(conn: &DatabaseConnection) -> BTreeMap<&'static str, i64> {
    let mut out = BTreeMap::new();
    for table in seed::TABLE_NAMES {
        out.insert(table, count(conn, table).await);
    }
    out
}

fn expected_counts() -> BTreeMap<&'static str, (u64, u64)> {
    Scale::Tiny
        .counts()
        .iter()
        .map(|(t, n)| (t, (n, 0)))
        .collect()
}

both_backends! {
    async fn seed_is_deterministic_and_sized(db) {
        let report = seed(&db, 42).await;
        assert!(
            !report.migrations_applied.is_empty(),
            "a database without the schema is migrated first"
        );
        let tiny = Scale::Tiny.counts();
        for (table, n) in tiny.iter() {
            assert_eq!(report.rows(table), Some(n), "{table} in the report");
        }
        assert_eq!(report.total_rows(), tiny.total());
        assert_eq!((tiny.users, tiny.campaigns, tiny.agent_executions, tiny.analytics), (200, 2_000, 5_000, 10_000));
        assert_eq!((tiny.contents, tiny.leads, tiny.trends, tiny.agents), (2_000, 2_000, 2_000, 50));

        let first = digest(&db.conn).await;
        let sizes: BTreeMap<_, _> = first.iter().map(|(t, (n, _))| (*t, (*n, 0))).collect();
        assert_eq!(sizes, expected_counts(), "row counts are the tiny scale's");

        // The same seed into another fresh database of the same backend.
        let backend = db.backend;
        api_tests::with_db(backend, move |other| async move {
            seed(&other, 42).await;
            let second = digest(&other.conn).await;
            assert_eq!(second, first, "same seed, same rows");

            // Another seed: every table's rows differ. (`fresh` on one
            // connection: on SQLite sea-orm-migration turns foreign keys
            // off with a PRAGMA, which only holds for that connection.)
            let mut options = sea_orm::ConnectOptions::new(other.url.clone());
            options.max_connections(1).sqlx_logging(false);
            let single = sea_orm::Database::connect(options).await.expect("connect");
            Migrator::fresh(&single).await.expect("fresh");
            single.close().await.expect("close");
            seed(&other, 43).await;
            let third = digest(&other.conn).await;
            for (table, (n, hash)) in &third {
                let (n1, hash1) = first[table];
                assert_eq!(*n, n1, "{table}: same size");
                assert_ne!(*hash, hash1, "{table}: another seed gives other rows");
            }
        })
        .await;
    }

    async fn seed_refuses_a_database_with_rows(db) {
        seed(&db, 7).await;
        let before = counts(&db.conn).await;
        let neon = neon(&db).await;
        let err = seed::run(&neon, &SeedArgs::default(), false)
            .await
            .expect_err("a seeded database is refused");
        match &err {
            SeedError::AlreadySeeded { table, rows } => {
                assert_eq!(table, "users");
                assert_eq!(*rows, 200);
            }
            other => panic!("expected AlreadySeeded, got {other:?}"),
        }
        assert!(err.to_string().contains("neonhub-db migrate fresh"), "{err}");
        assert_eq!(counts(&db.conn).await, before, "nothing changed");
    }

    async fn seed_refuses_a_single_row_anywhere(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        db.conn
            .execute_unprepared(
                "INSERT INTO trends (id, keyword, platform, score, data, \"detectedAt\") \
                 VALUES ('t1', 'kw', 'TIKTOK', 1.5, '{}', '2026-01-01 00:00:00.000')",
            )
            .await
            .expect("insert");
        let neon = neon(&db).await;
        let err = seed::run(&neon, &SeedArgs::default(), false)
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, SeedError::AlreadySeeded { table, rows: 1 } if table == "trends"),
            "{err:?}"
        );
        let after = counts(&db.conn).await;
        for (table, n) in after {
            assert_eq!(n, i64::from(table == "trends"), "{table} unchanged");
        }
    }

    async fn a_failed_load_rolls_back_with_its_indexes(db) {
        // Make loading `leads` fail part-way: some generated scores are
        // above 9.
        Migrator::up(&db.conn, None).await.expect("up");
        let inject = match db.backend {
            api_tests::Backend::Postgres => {
                "ALTER TABLE leads ADD CONSTRAINT seed_test_fail CHECK (score IS NULL OR score <= 9.0)"
            }
            api_tests::Backend::Sqlite => {
                "CREATE TRIGGER seed_test_fail BEFORE INSERT ON leads WHEN NEW.score > 9.0 \
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            }
        };
        db.conn.execute_unprepared(inject).await.expect("inject");
        let neon = neon(&db).await;
        let err = seed::run(&neon, &SeedArgs::default(), false)
            .await
            .expect_err("leads cannot load");
        let root = match &err {
            SeedError::Partial { loaded, source } => {
                assert!(!loaded.contains(&"leads"), "{loaded:?}");
                assert!(err.to_string().contains("migrate fresh"), "{err}");
                source.as_ref()
            }
            other => other,
        };
        assert!(
            matches!(root, SeedError::Load { table: "leads", .. }),
            "the failure names leads: {err:?}"
        );
        assert_eq!(count(&db.conn, "leads").await, 0, "leads rolled back");
        let indexes = catalog::indexes(&db.conn).await;
        for def in migration::indexes::all_secondary_indexes() {
            assert!(
                indexes.get(def.name).is_some_and(|i| i.valid),
                "index {} survives the failed load",
                def.name
            );
        }
    }

    async fn seed_keeps_every_index_and_foreign_key(db) {
        seed(&db, 42).await;
        let indexes = catalog::indexes(&db.conn).await;
        let mut secondary = 0;
        for def in migration::indexes::all_secondary_indexes() {
            let info = indexes
                .get(def.name)
                .unwrap_or_else(|| panic!("index {} is missing after seeding", def.name));
            assert_eq!(info.table, def.table, "{}", def.name);
            assert_eq!(info.columns, def.backend_columns(db.conn.get_database_backend()), "{}", def.name);
            assert!(!info.unique && info.valid, "{}", def.name);
            secondary += 1;
        }
        assert!(secondary >= 37, "SPEC §3's 37 secondary indexes at least");
        for (name, _, _) in migration::schema::UNIQUE_INDEXES {
            assert!(indexes.contains_key(*name), "unique index {name}");
        }

        // Every foreign key value points at an existing row (on PostgreSQL
        // the load skips the per-row triggers as a superuser, so check).
        for table in migration::schema::TABLES {
            for fk in table.foreign_keys {
                let sql = format!(
                    "SELECT COUNT(*) FROM \"{t}\" c WHERE c.\"{col}\" IS NOT NULL AND NOT EXISTS \
                     (SELECT 1 FROM \"{p}\" p WHERE p.\"id\" = c.\"{col}\")",
                    t = table.name,
                    col = fk.column,
                    p = fk.references
                );
                let orphans: i64 = db
                    .conn
                    .query_one_raw(Statement::from_string(db.db_backend(), sql))
                    .await
                    .unwrap()
                    .unwrap()
                    .try_get_by_index(0)
                    .unwrap();
                assert_eq!(orphans, 0, "{}.{} -> {}", table.name, fk.column, fk.references);
            }
        }

        // Realistic shape: skewed owners, mostly completed executions,
        // NULLs where allowed, scores in range.
        let q = |sql: &str| {
            let conn = db.conn.clone();
            let sql = sql.to_owned();
            async move {
                conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
                    .await
                    .unwrap()
                    .unwrap()
                    .try_get_by_index::<i64>(0)
                    .unwrap()
            }
        };
        let top_owner = q("SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM campaigns GROUP BY \"userId\") t").await;
        assert!(top_owner > 100, "the busiest user owns {top_owner} of 2000 campaigns (Zipf)");
        let completed = q("SELECT COUNT(*) FROM agent_executions WHERE status = 'COMPLETED'").await;
        let failed = q("SELECT COUNT(*) FROM agent_executions WHERE status = 'FAILED'").await;
        assert!(completed > 3_500 && failed > 100 && failed < completed / 4, "{completed} / {failed}");
        let bad_durations = q(
            "SELECT COUNT(*) FROM agent_executions WHERE status IN ('COMPLETED', 'FAILED') \
             AND (\"completedAt\" IS NULL OR \"completedAt\" < \"startedAt\")",
        )
        .await;
        assert_eq!(bad_durations, 0);
        let null_scores = q("SELECT COUNT(*) FROM leads WHERE score IS NULL").await;
        assert!((50..400).contains(&null_scores), "{null_scores} leads without a score");
        let out_of_range = q(
            "SELECT COUNT(*) FROM leads WHERE score < 0 OR score > 10",
        )
        .await + q("SELECT COUNT(*) FROM trends WHERE score < 0 OR score > 10").await;
        assert_eq!(out_of_range, 0);
        let periods = q(
            "SELECT COUNT(*) FROM analytics WHERE period IS NOT NULL \
             AND period NOT IN ('daily', 'weekly', 'monthly')",
        )
        .await;
        assert_eq!(periods, 0);
        let null_periods = q("SELECT COUNT(*) FROM analytics WHERE period IS NULL").await;
        assert!(null_periods > 0);
        let distinct_emails = q("SELECT COUNT(DISTINCT email) FROM users").await;
        assert_eq!(distinct_emails, 200);
    }
}
