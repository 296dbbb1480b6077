//! The entities against the real schema on both backends: every column of
//! every table written and read back unchanged (enums, JSON, millisecond
//! UTC timestamps, `Vec<Platform>` / `Vec<String>` lists), and rows that
//! Prisma wrote read correctly.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use api_tests::{both_backends, postgres_only};
use chrono::{TimeZone, Utc};
use entity::enums::*;
use entity::{DbList, Timestamp};
use entity::{
    ab_test, account, agent, agent_execution, analytics, campaign, content, design_template, lead,
    session, trend, user, verification_token,
};
use migration::Migrator;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryTrait,
};
use sea_orm_migration::MigratorTrait;
use serde_json::json;

fn ts(y: i32, m: u32, d: u32, ms: i64) -> Timestamp {
    let base = Utc
        .with_ymd_and_hms(y, m, d, 12, 30, 15)
        .single()
        .expect("valid date");
    Timestamp::from(base + chrono::Duration::milliseconds(ms))
}

/// Inserts `model` through the service's per-backend binding, reads it back
/// by primary key, and asserts the round trip changed nothing.
macro_rules! round_trip {
    ($conn:expr, $module:ident, $model:expr, $id:expr) => {{
        let model: $module::Model = $model;
        let am = model.clone().into_active_model().reset_all();
        service::sql::execute($conn, &$module::Entity::insert(am).into_query())
            .await
            .unwrap_or_else(|e| panic!("insert into {}: {e}", stringify!($module)));
        let back = $module::Entity::find_by_id($id)
            .one($conn)
            .await
            .unwrap_or_else(|e| panic!("select from {}: {e}", stringify!($module)))
            .expect("row exists");
        assert_eq!(back, model, "{} round trip", stringify!($module));
    }};
}

async fn round_trip_every_table(conn: &DatabaseConnection) {
    let user_full = user::Model {
        id: "u1".into(),
        email: "ada@example.com".into(),
        name: Some("Ada 'Countess' Lovelace ✓".into()),
        role: UserRole::Admin,
        avatar: Some("https://cdn/x.png".into()),
        email_verified: Some(ts(2025, 1, 2, 678)),
        created_at: ts(2025, 1, 1, 1),
        updated_at: ts(2025, 1, 3, 999),
    };
    round_trip!(conn, user, user_full.clone(), "u1");
    round_trip!(
        conn,
        user,
        user::Model {
            id: "u2".into(),
            email: "b@example.com".into(),
            name: None,
            role: UserRole::Viewer,
            avatar: None,
            email_verified: None,
            created_at: ts(2025, 2, 1, 0),
            updated_at: ts(2025, 2, 1, 0),
        },
        "u2"
    );
    round_trip!(
        conn,
        account,
        account::Model {
            id: "a1".into(),
            user_id: "u1".into(),
            r#type: "oauth".into(),
            provider: "google".into(),
            provider_account_id: "g-1".into(),
            refresh_token: Some("r".into()),
            access_token: None,
            expires_at: Some(1_735_689_600),
            token_type: Some("Bearer".into()),
            scope: None,
            id_token: Some("x".repeat(3000)),
            session_state: None,
        },
        "a1"
    );
    round_trip!(
        conn,
        session,
        session::Model {
            id: "s1".into(),
            session_token: "tok".into(),
            user_id: "u1".into(),
            expires: ts(2026, 1, 1, 5),
        },
        "s1"
    );
    round_trip!(
        conn,
        verification_token,
        verification_token::Model {
            identifier: "ada@example.com".into(),
            token: "vt".into(),
            expires: ts(2026, 1, 1, 0),
        },
        "vt".to_owned()
    );
    round_trip!(
        conn,
        campaign,
        campaign::Model {
            id: "c1".into(),
            name: "Spring".into(),
            description: Some("d".into()),
            r#type: CampaignType::ProductLaunch,
            status: CampaignStatus::Active,
            budget: Some(1500.25),
            start_date: Some(ts(2025, 3, 1, 0)),
            end_date: Some(ts(2025, 4, 1, 0)),
            target_audience: Some(entity::Json(json!({"age": [18, 34], "geo": "EU"}))),
            platforms: DbList(Platform::ALL.to_vec()),
            metrics: Some(entity::Json(json!({"ctr": 0.031}))),
            settings: None,
            created_at: ts(2025, 2, 15, 10),
            updated_at: ts(2025, 2, 16, 11),
            user_id: "u1".into(),
            user_id2: Some("u2".into()),
        },
        "c1"
    );
    round_trip!(
        conn,
        campaign,
        campaign::Model {
            id: "c2".into(),
            name: "Empty".into(),
            description: None,
            r#type: CampaignType::Email,
            status: CampaignStatus::Draft,
            budget: None,
            start_date: None,
            end_date: None,
            target_audience: None,
            platforms: DbList::default(),
            metrics: None,
            settings: None,
            created_at: ts(2025, 2, 20, 0),
            updated_at: ts(2025, 2, 20, 0),
            user_id: "u2".into(),
            user_id2: None,
        },
        "c2"
    );
    round_trip!(
        conn,
        agent,
        agent::Model {
            id: "ag1".into(),
            name: "Writer".into(),
            r#type: AgentType::Insight,
            status: AgentStatus::Maintenance,
            capabilities: Some(entity::Json(json!(["copy", "seo"]))),
            settings: None,
            version: "2.1.0".into(),
            created_at: ts(2025, 1, 1, 0),
            updated_at: ts(2025, 1, 1, 0),
        },
        "ag1"
    );
    round_trip!(
        conn,
        agent_execution,
        agent_execution::Model {
            id: "e1".into(),
            agent_id: "ag1".into(),
            campaign_id: Some("c1".into()),
            user_id: Some("u1".into()),
            task: "write".into(),
            payload: Some(entity::Json(json!({"n": 1}))),
            result: Some(entity::Json(json!({"ok": true}))),
            status: ExecutionStatus::Completed,
            performance: Some(0.93),
            error: None,
            started_at: ts(2025, 3, 2, 0),
            completed_at: Some(ts(2025, 3, 2, 1250)),
            metadata: None,
        },
        "e1"
    );
    round_trip!(
        conn,
        analytics,
        analytics::Model {
            id: "an1".into(),
            campaign_id: Some("c1".into()),
            user_id: None,
            r#type: AnalyticsType::Sentiment,
            data: entity::Json(json!({"value": 1200, "nested": {"k": [1, 2, 3]}})),
            period: Some("daily".into()),
            date: ts(2025, 3, 2, 0),
            metadata: Some(entity::Json(json!(null))),
        },
        "an1"
    );
    round_trip!(
        conn,
        ab_test,
        ab_test::Model {
            id: "ab1".into(),
            campaign_id: "c1".into(),
            name: "Subject".into(),
            description: None,
            status: AbTestStatus::Stopped,
            variants: entity::Json(json!([{"name": "A"}, {"name": "B"}])),
            results: None,
            winner: Some("A".into()),
            confidence: Some(0.95),
            start_date: ts(2025, 3, 1, 0),
            end_date: None,
            settings: None,
        },
        "ab1"
    );
    round_trip!(
        conn,
        content,
        content::Model {
            id: "ct1".into(),
            title: "Hello".into(),
            r#type: ContentType::Reel,
            platform: Platform::MetaAds,
            content: entity::Json(json!({"text": "hi \"there\""})),
            status: ContentStatus::Scheduled,
            performance: None,
            metadata: None,
            created_at: ts(2025, 3, 1, 0),
            updated_at: ts(2025, 3, 1, 0),
        },
        "ct1"
    );
    round_trip!(
        conn,
        lead,
        lead::Model {
            id: "l1".into(),
            email: "lead@example.com".into(),
            name: None,
            company: Some("ACME".into()),
            position: None,
            phone: Some("+1 555".into()),
            source: Some("web".into()),
            status: LeadStatus::Converted,
            score: Some(8.5),
            tags: DbList(vec![
                "vip".into(),
                "q'1".into(),
                "[\"json\"]".into(),
                "ü".into()
            ]),
            metadata: None,
            created_at: ts(2025, 3, 1, 0),
            updated_at: ts(2025, 3, 1, 0),
        },
        "l1"
    );
    round_trip!(
        conn,
        trend,
        trend::Model {
            id: "t1".into(),
            keyword: "ai agents".into(),
            platform: Platform::Tiktok,
            category: Some("tech".into()),
            score: 9.1,
            volume: Some(120_000),
            growth: Some(-0.4),
            data: entity::Json(json!({})),
            detected_at: ts(2025, 3, 1, 0),
        },
        "t1"
    );
    round_trip!(
        conn,
        design_template,
        design_template::Model {
            id: "d1".into(),
            name: "Card".into(),
            category: "social".into(),
            template: entity::Json(json!({"w": 1080})),
            preview: None,
            tags: DbList::default(),
            usage: 3,
            rating: Some(4.5),
            is_active: false,
            created_at: ts(2025, 3, 1, 0),
            updated_at: ts(2025, 3, 1, 0),
        },
        "d1"
    );
}

both_backends! {
    async fn every_column_of_every_table_round_trips(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        round_trip_every_table(&db.conn).await;
    }

    async fn timestamps_sort_chronologically(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        // Across the text form's edge cases: whole seconds, .001, .999.
        let times = [ts(2025, 1, 1, 0), ts(2025, 1, 1, 1), ts(2025, 1, 1, 999), ts(2025, 1, 1, 1000), ts(2024, 12, 31, 0)];
        for (i, t) in times.iter().enumerate() {
            let am = lead::Model {
                id: format!("l{i}"), email: "x@y".into(), name: None, company: None, position: None, phone: None,
                source: None, status: LeadStatus::New, score: None, tags: DbList::default(), metadata: None,
                created_at: *t, updated_at: *t,
            }.into_active_model().reset_all();
            service::sql::execute(&db.conn, &lead::Entity::insert(am).into_query()).await.expect("insert");
        }
        use sea_orm::{QueryOrder, QuerySelect};
        let ordered: Vec<Timestamp> = lead::Entity::find()
            .order_by_asc(lead::Column::CreatedAt)
            .select_only()
            .column(lead::Column::CreatedAt)
            .into_tuple()
            .all(&db.conn)
            .await
            .expect("select");
        let mut expected = times.to_vec();
        expected.sort();
        assert_eq!(ordered, expected);
    }

    async fn database_defaults_fill_omitted_columns(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        db.conn.execute_unprepared(
            r#"INSERT INTO "agents" ("id", "name", "type", "updatedAt") VALUES ('ag', 'n', 'AD', '2025-01-01 00:00:00.000')"#,
        ).await.expect("insert with defaults");
        let agent = agent::Entity::find_by_id("ag").one(&db.conn).await.expect("select").expect("row");
        assert_eq!(agent.status, AgentStatus::Active);
        assert_eq!(agent.version, "1.0.0");
        let age = Utc::now() - agent.created_at.as_datetime();
        assert!(age.num_seconds().abs() < 300, "createdAt defaults to now (UTC), got {}", agent.created_at);
    }

    async fn unknown_enum_values_are_refused_by_the_database(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        let res = db.conn.execute_unprepared(
            r#"INSERT INTO "agents" ("id", "name", "type", "updatedAt") VALUES ('ag', 'n', 'ROBOT', '2025-01-01 00:00:00.000')"#,
        ).await;
        assert!(res.is_err(), "an enum column takes only its values on both backends");
    }
}

postgres_only! {
    async fn reads_rows_prisma_wrote(db) {
        db.conn.execute_unprepared(include_str!("../fixtures/prisma_pre_index.sql")).await.expect("fixture");
        db.conn.execute_unprepared(include_str!("../fixtures/sample_rows.sql")).await.expect("rows");
        let campaigns = campaign::Entity::find().all(&db.conn).await.expect("campaigns");
        let spring = campaigns.iter().find(|c| c.id == "ckcamp000000000000000001").expect("spring");
        assert_eq!(spring.platforms.0, [Platform::Tiktok, Platform::Instagram]);
        assert_eq!(spring.target_audience, Some(json!({"age": [18, 34]})).map(entity::Json));
        let launch = campaigns.iter().find(|c| c.id == "ckcamp000000000000000002").expect("launch");
        assert!(launch.platforms.is_empty(), "Prisma's NULL list reads as empty");
        let lead = lead::Entity::find_by_id("cklead000000000000000001").one(&db.conn).await.expect("lead").expect("row");
        assert_eq!(lead.tags.0, ["vip", "q'1"]);
        let user = user::Entity::find_by_id("ckuser000000000000000001").one(&db.conn).await.expect("user").expect("row");
        assert_eq!(user.email_verified.map(|t| t.to_string()).as_deref(), Some("2025-01-02T03:04:05.678Z"));
        assert_eq!(account::Entity::find().all(&db.conn).await.expect("accounts").len(), 1);
        assert_eq!(session::Entity::find().all(&db.conn).await.expect("sessions").len(), 1);
        assert_eq!(verification_token::Entity::find().all(&db.conn).await.expect("tokens").len(), 1);
        assert_eq!(agent::Entity::find().all(&db.conn).await.expect("agents").len(), 1);
        assert_eq!(agent_execution::Entity::find().all(&db.conn).await.expect("executions").len(), 2);
        assert_eq!(analytics::Entity::find().all(&db.conn).await.expect("analytics").len(), 1);
        assert_eq!(ab_test::Entity::find().all(&db.conn).await.expect("ab tests").len(), 1);
        assert_eq!(content::Entity::find().all(&db.conn).await.expect("contents").len(), 1);
        assert_eq!(trend::Entity::find().all(&db.conn).await.expect("trends").len(), 1);
        assert_eq!(design_template::Entity::find().all(&db.conn).await.expect("templates").len(), 1);
    }

    async fn timestamps_ignore_the_session_time_zone(db) {
        Migrator::up(&db.conn, None).await.expect("up");
        let url = format!("{}{}options=-c%20TimeZone%3DAsia%2FTokyo", db.url, if db.url.contains('?') { "&" } else { "?" });
        let tokyo = api_tests::connect(&url).await.expect("connect with TimeZone=Asia/Tokyo");
        round_trip_every_table(&tokyo).await;
        let raw: String = tokyo
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                r#"SELECT "createdAt"::text FROM "users" WHERE "id" = 'u1'"#,
            ))
            .await.expect("query").expect("row")
            .try_get_by_index(0).expect("text");
        assert_eq!(raw, "2025-01-01 12:30:15.001", "stored as the UTC wall clock");
        let _ = tokyo.close().await;
    }
}
