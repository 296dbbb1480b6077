//! The migration crate on real databases: round trip, the index catalogue
//! of SPEC §3, PostgreSQL types identical to Prisma's, adoption of a
//! Prisma-made database with data, and repair of INVALID indexes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::{BTreeMap, BTreeSet};

use api_tests::catalog::{self, IndexInfo};
use api_tests::{TestDb, both_backends, postgres_only};
use migration::Migrator;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use sea_orm_migration::{MigratorTrait, SchemaManager};

/// SPEC §2 + §3 and the README's extra indexes, written out independently
/// of the migration code: `name: table(columns) [unique | include(columns)]`.
const EXPECTED_INDEXES: &str = "
users_role_createdAt_idx: users(role, createdAt)
users_emailVerified_idx: users(emailVerified)
campaigns_userId_status_createdAt_idx: campaigns(userId, status, createdAt)
campaigns_status_type_idx: campaigns(status, type)
campaigns_startDate_endDate_idx: campaigns(startDate, endDate)
campaigns_type_createdAt_idx: campaigns(type, createdAt)
campaigns_budget_idx: campaigns(budget)
campaigns_updatedAt_idx: campaigns(updatedAt)
agent_executions_agentId_status_startedAt_idx: agent_executions(agentId, status, startedAt)
agent_executions_campaignId_status_idx: agent_executions(campaignId, status)
agent_executions_userId_startedAt_idx: agent_executions(userId, startedAt)
agent_executions_status_startedAt_idx: agent_executions(status, startedAt)
agent_executions_performance_idx: agent_executions(performance)
agent_executions_task_agentId_idx: agent_executions(task, agentId)
agent_executions_completedAt_idx: agent_executions(completedAt)
analytics_campaignId_type_date_idx: analytics(campaignId, type, date)
analytics_userId_type_date_idx: analytics(userId, type, date)
analytics_type_period_date_idx: analytics(type, period, date)
analytics_date_idx: analytics(date)
contents_platform_status_createdAt_idx: contents(platform, status, createdAt)
contents_type_status_idx: contents(type, status)
contents_status_updatedAt_idx: contents(status, updatedAt)
leads_email_idx: leads(email)
leads_status_score_idx: leads(status, score)
leads_source_createdAt_idx: leads(source, createdAt)
leads_score_idx: leads(score)
leads_createdAt_idx: leads(createdAt)
trends_platform_score_detectedAt_idx: trends(platform, score, detectedAt)
trends_keyword_platform_idx: trends(keyword, platform)
trends_score_volume_idx: trends(score, volume)
trends_category_score_idx: trends(category, score)
trends_growth_idx: trends(growth)
trends_detectedAt_idx: trends(detectedAt)
users_email_key: users(email) unique
accounts_provider_providerAccountId_key: accounts(provider, providerAccountId) unique
sessions_sessionToken_key: sessions(sessionToken) unique
verification_tokens_token_key: verification_tokens(token) unique
verification_tokens_identifier_token_key: verification_tokens(identifier, token) unique
campaigns_userId2_idx: campaigns(userId2)
accounts_userId_idx: accounts(userId)
sessions_userId_idx: sessions(userId)
ab_tests_campaignId_idx: ab_tests(campaignId)
agent_executions_agentId_startedAt_idx: agent_executions(agentId, startedAt) include(status, performance, completedAt)
leads_score_createdAt_id_idx: leads(score, createdAt, id)
";

const EXPECTED_TABLES: &[&str] = &[
    "ab_tests",
    "accounts",
    "agent_executions",
    "agents",
    "analytics",
    "campaigns",
    "contents",
    "design_templates",
    "leads",
    "sessions",
    "trends",
    "users",
    "verification_tokens",
];

const MIGRATION_NAMES: &[&str] = &[
    "m20261125_000001_create_schema",
    "m20261125_000002_report_indexes",
    "m20261125_000003_foreign_key_indexes",
    "m20261202_000001_change_feed",
    "m20261202_000002_covering_indexes",
];

const PRISMA_FIXTURE: &str = include_str!("../fixtures/prisma_pre_index.sql");
const SAMPLE_ROWS: &str = include_str!("../fixtures/sample_rows.sql");

/// The expected catalogue on `backend`: SQLite has no `INCLUDE`, so there
/// the included columns follow the key columns.
fn expected_indexes(backend: api_tests::Backend) -> BTreeMap<String, IndexInfo> {
    let list = |s: &str| -> Vec<String> { s.split(", ").map(str::to_owned).collect() };
    EXPECTED_INDEXES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, rest) = line.split_once(": ").expect("name: table(cols)");
            let (table, rest) = rest.split_once('(').expect("table(");
            let (cols, flags) = rest.split_once(')').expect(")");
            let flags = flags.trim();
            let mut columns = list(cols);
            let mut include = flags
                .strip_prefix("include(")
                .and_then(|r| r.strip_suffix(')'))
                .map(list)
                .unwrap_or_default();
            if backend == api_tests::Backend::Sqlite {
                columns.append(&mut include);
            }
            let info = IndexInfo {
                table: table.to_owned(),
                columns,
                include,
                unique: flags == "unique",
                valid: true,
            };
            (name.to_owned(), info)
        })
        .collect()
}

async fn applied(conn: &DatabaseConnection) -> Vec<String> {
    Migrator::get_applied_migrations(conn)
        .await
        .expect("applied migrations")
        .iter()
        .map(|m| m.name().to_owned())
        .collect()
}

async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

async fn pg_enum_type_count(conn: &DatabaseConnection) -> usize {
    catalog::pg_enum_types(conn).await.len()
}

both_backends! {
    async fn repair_rebuilds_indexes_of_applied_migrations_only(db) {
        let conn = &db.conn;
        assert!(migration::repair_indexes(conn).await.unwrap().is_empty(), "nothing applied, nothing to check");
        Migrator::up(conn, Some(2)).await.expect("schema and report indexes");
        assert!(migration::repair_indexes(conn).await.unwrap().is_empty(), "all present");
        exec(conn, r#"DROP INDEX "leads_score_idx""#).await;
        assert_eq!(migration::repair_indexes(conn).await.unwrap(), ["leads_score_idx"]);
        let indexes = catalog::indexes(conn).await;
        assert!(indexes["leads_score_idx"].valid);
        assert!(!indexes.contains_key("accounts_userId_idx"), "a pending migration's index is left to up");
        Migrator::up(conn, None).await.expect("the rest");
        assert_eq!(catalog::indexes(conn).await, expected_indexes(db.backend));
    }

    async fn migration_round_trip(db) {
        let conn = &db.conn;
        assert!(catalog::tables(conn).await.is_empty(), "fresh database is empty");

        Migrator::up(conn, None).await.expect("up");
        assert_eq!(catalog::tables(conn).await, EXPECTED_TABLES);
        for table in EXPECTED_TABLES {
            assert!(!catalog::columns(conn, table).await.is_empty(), "{table} has columns");
        }
        assert_eq!(catalog::columns(conn, "accounts").await, [
            "id", "userId", "type", "provider", "providerAccountId", "refresh_token",
            "access_token", "expires_at", "token_type", "scope", "id_token", "session_state",
        ]);
        let indexes = catalog::indexes(conn).await;
        assert_eq!(indexes.len(), 44);
        assert_eq!(applied(conn).await, MIGRATION_NAMES);

        Migrator::down(conn, None).await.expect("down to nothing");
        assert!(catalog::tables(conn).await.is_empty(), "down leaves no table");
        assert!(catalog::indexes(conn).await.is_empty(), "down leaves no index");
        if db.backend == api_tests::Backend::Postgres {
            assert_eq!(pg_enum_type_count(conn).await, 0, "down leaves no enum type");
        }
        assert!(applied(conn).await.is_empty());

        Migrator::up(conn, None).await.expect("up again");
        assert_eq!(catalog::indexes(conn).await, indexes);
        assert_eq!(applied(conn).await, MIGRATION_NAMES);

        Migrator::reset(conn).await.expect("reset");
        assert!(catalog::tables(conn).await.is_empty(), "reset leaves no table");
        if db.backend == api_tests::Backend::Postgres {
            assert_eq!(pg_enum_type_count(conn).await, 0, "reset leaves no enum type");
        }
    }

    async fn index_catalogue_matches_spec_exactly(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        let actual = catalog::indexes(&db.conn).await;
        let expected = expected_indexes(db.backend);
        assert_eq!(expected.len(), 44, "SPEC: 33 report + 5 unique + 4 foreign-key indexes, and 2 covering");
        for (name, want) in &expected {
            assert_eq!(actual.get(name), Some(want), "index {name}");
        }
        let extra: Vec<_> = actual.keys().filter(|k| !expected.contains_key(*k)).collect();
        assert!(extra.is_empty(), "indexes not in SPEC: {extra:?}");
    }

    async fn every_foreign_key_column_leads_an_index(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        let fks = catalog::foreign_keys(&db.conn).await;
        assert_eq!(fks.len(), 10, "the Prisma model has 10 relations: {fks:?}");
        let leading: BTreeSet<(String, String)> = catalog::indexes(&db.conn)
            .await
            .into_values()
            .map(|i| (i.table, i.columns[0].clone()))
            .collect();
        for (table, column, _, _) in &fks {
            assert!(
                leading.contains(&(table.clone(), column.clone())),
                "foreign key {table}.{column} leads no index"
            );
        }
    }

    async fn foreign_keys_have_prismas_referential_actions(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        let fks: Vec<String> = catalog::foreign_keys(&db.conn)
            .await
            .into_iter()
            .map(|(t, c, r, d)| format!("{t}.{c} -> {r} {d}"))
            .collect();
        assert_eq!(fks, [
            "ab_tests.campaignId -> campaigns RESTRICT",
            "accounts.userId -> users CASCADE",
            "agent_executions.agentId -> agents RESTRICT",
            "agent_executions.campaignId -> campaigns SET NULL",
            "agent_executions.userId -> users SET NULL",
            "analytics.campaignId -> campaigns SET NULL",
            "analytics.userId -> users SET NULL",
            "campaigns.userId -> users RESTRICT",
            "campaigns.userId2 -> users SET NULL",
            "sessions.userId -> users CASCADE",
        ]);
    }

    async fn up_twice_is_a_no_op(db) {
        let conn = &db.conn;
        Migrator::up(conn, None).await.expect("up");
        let before = index_identities(conn).await;
        Migrator::up(conn, None).await.expect("second up");
        // Run the index migrations' own code again too: nothing is rebuilt.
        let manager = SchemaManager::new(conn);
        migration::indexes::create_indexes(&manager, migration::indexes::REPORT_INDEXES)
            .await
            .expect("re-run report indexes");
        migration::indexes::create_indexes(&manager, migration::indexes::FOREIGN_KEY_INDEXES)
            .await
            .expect("re-run fk indexes");
        migration::indexes::create_indexes(&manager, migration::indexes::COVERING_INDEXES)
            .await
            .expect("re-run covering indexes");
        assert_eq!(index_identities(conn).await, before, "no index was rebuilt");
        assert_eq!(applied(conn).await, MIGRATION_NAMES);
    }

    async fn index_with_another_definition_is_rebuilt(db) {
        let conn = &db.conn;
        Migrator::up(conn, Some(1)).await.expect("schema only");
        // Someone created an index under a name the migration owns, on the
        // wrong columns.
        exec(conn, r#"CREATE INDEX "leads_score_idx" ON "leads"("createdAt")"#).await;
        Migrator::up(conn, None).await.expect("up");
        let indexes = catalog::indexes(conn).await;
        assert_eq!(indexes["leads_score_idx"].columns, ["score"]);
    }
}

/// Something that changes when an index is rebuilt: its OID on PostgreSQL,
/// its root page on SQLite.
async fn index_identities(conn: &DatabaseConnection) -> Vec<(String, i64)> {
    let sql = match conn.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT c.relname::text, c.oid::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'i' AND n.nspname = current_schema() ORDER BY 1"
        }
        _ => "SELECT name, rootpage FROM sqlite_master WHERE type = 'index' ORDER BY 1",
    };
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .expect("index identities")
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).expect("name"),
                r.try_get_by_index(1).expect("id"),
            )
        })
        .collect()
}

/// Loads the Prisma-made, index-less schema into a fresh database.
async fn prisma_database() -> TestDb {
    let db = TestDb::create(api_tests::Backend::Postgres).await;
    exec(&db.conn, PRISMA_FIXTURE).await;
    db
}

postgres_only! {
    async fn migrate_up_rebuilds_an_index_that_went_invalid_after_it_was_applied(db) {
        let conn = &db.conn;
        let neon = db.service().await;
        cli::migrate::run(&neon, cli::migrate::Action::Up { num: None }).await.expect("up");
        assert_eq!(catalog::indexes(conn).await, expected_indexes(db.backend));
        // A failed REINDEX CONCURRENTLY leaves an index INVALID long after
        // its migration was applied; mark one so, as PostgreSQL would.
        exec(conn, r#"UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"leads_score_idx"'::regclass"#).await;
        assert!(!catalog::indexes(conn).await["leads_score_idx"].valid);
        assert!(Migrator::get_pending_migrations(conn).await.unwrap().is_empty());
        Migrator::up(conn, None).await.expect("SeaORM's up");
        assert!(!catalog::indexes(conn).await["leads_score_idx"].valid, "nothing pending: plain up keeps it INVALID");

        cli::migrate::run(&neon, cli::migrate::Action::Up { num: None }).await.expect("neonhub-db migrate up");
        assert_eq!(catalog::indexes(conn).await, expected_indexes(db.backend), "rebuilt, valid, same definition");
        assert!(migration::repair_indexes(conn).await.unwrap().is_empty(), "a second check rebuilds nothing");
    }

    async fn postgres_schema_is_identical_to_prismas(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        let prisma = prisma_database().await;
        // Same columns, types, nullability and defaults.
        assert_eq!(
            catalog::pg_column_definitions(&db.conn).await,
            catalog::pg_column_definitions(&prisma.conn).await
        );
        // Same enum types and values, in order.
        let enums = catalog::pg_enum_types(&db.conn).await;
        assert_eq!(enums.len(), 12);
        assert_eq!(enums, catalog::pg_enum_types(&prisma.conn).await);
        // Same primary and foreign keys, by name and definition.
        assert_eq!(
            catalog::pg_constraints(&db.conn).await,
            catalog::pg_constraints(&prisma.conn).await
        );
        // Same unique keys; the migration adds only the named secondary indexes.
        let ours = catalog::indexes(&db.conn).await;
        let theirs = catalog::indexes(&prisma.conn).await;
        assert_eq!(theirs.len(), 5);
        for (name, info) in &theirs {
            assert_eq!(ours.get(name), Some(info), "unique key {name}");
        }
        drop_test_db(prisma).await;
    }

    async fn postgres_column_types_follow_spec(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        let defs = catalog::pg_column_definitions(&db.conn).await;
        for expected in [
            "users.id text NOT NULL",
            "users.role \"UserRole\" NOT NULL DEFAULT 'USER'::\"UserRole\"",
            "users.emailVerified timestamp(3) without time zone",
            "users.createdAt timestamp(3) without time zone NOT NULL DEFAULT CURRENT_TIMESTAMP",
            "users.updatedAt timestamp(3) without time zone NOT NULL",
            "accounts.refresh_token text",
            "accounts.expires_at integer",
            "campaigns.budget double precision",
            "campaigns.targetAudience jsonb",
            "campaigns.platforms \"Platform\"[]",
            "leads.tags text[]",
            "agents.version text NOT NULL DEFAULT '1.0.0'::text",
            "design_templates.usage integer NOT NULL DEFAULT 0",
            "design_templates.isActive boolean NOT NULL DEFAULT true",
            "analytics.data jsonb NOT NULL",
            "trends.score double precision NOT NULL",
        ] {
            assert!(defs.iter().any(|d| d == expected), "missing column definition: {expected}");
        }
        assert_eq!(defs.len(), 128, "column count of the Prisma model");
    }

    async fn adopts_a_prisma_database_with_data_and_repairs_invalid_index(db) {
        let conn = &db.conn;
        exec(conn, PRISMA_FIXTURE).await;
        exec(conn, SAMPLE_ROWS).await;
        // A failed concurrent unique build (duplicate e-mails) leaves an
        // INVALID index under a name the migration owns.
        let failed = conn
            .execute_unprepared(r#"CREATE UNIQUE INDEX CONCURRENTLY "leads_email_idx" ON "leads"("email")"#)
            .await;
        assert!(failed.is_err(), "duplicate e-mails make the unique build fail");
        let before_indexes = catalog::indexes(conn).await;
        assert!(!before_indexes["leads_email_idx"].valid, "left INVALID");

        let mut checksums = Vec::new();
        for table in EXPECTED_TABLES {
            let sum = catalog::pg_table_checksum(conn, table).await;
            assert!(sum.0 > 0, "{table} has rows");
            checksums.push(sum);
        }
        let schema_before = catalog::pg_column_definitions(conn).await;
        let constraints_before = catalog::pg_constraints(conn).await;

        Migrator::up(conn, None).await.expect("up on a Prisma-made database");

        let after: Vec<_> = {
            let mut v = Vec::new();
            for table in EXPECTED_TABLES {
                v.push(catalog::pg_table_checksum(conn, table).await);
            }
            v
        };
        assert_eq!(after, checksums, "no row changed");
        assert_eq!(catalog::pg_column_definitions(conn).await, schema_before, "no column changed");
        assert_eq!(catalog::pg_constraints(conn).await, constraints_before, "no constraint changed");
        let indexes = catalog::indexes(conn).await;
        assert_eq!(indexes, expected_indexes(db.backend), "every index present, valid and as SPEC names it");
        assert_eq!(applied(conn).await, MIGRATION_NAMES);
    }

    async fn refuses_to_adopt_a_table_of_another_shape(db) {
        let conn = &db.conn;
        exec(conn, r#"CREATE TABLE "users" ("id" TEXT PRIMARY KEY, "mail" TEXT)"#).await;
        let err = Migrator::up(conn, None).await.expect_err("a foreign users table is refused");
        let msg = err.to_string();
        assert!(msg.contains("users.email"), "{msg}");
        // The schema migration ran in a transaction: nothing was left behind.
        assert_eq!(catalog::tables(conn).await, ["users"]);
        assert_eq!(pg_enum_type_count(conn).await, 0);
        assert!(applied(conn).await.is_empty());
    }
}

async fn drop_test_db(db: TestDb) {
    let name = db.url.rsplit('/').next().unwrap_or_default().to_owned();
    let _ = db.conn.close().await;
    let admin = api_tests::connect(&api_tests::test_server_url())
        .await
        .expect("admin");
    exec(
        &admin,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
}
