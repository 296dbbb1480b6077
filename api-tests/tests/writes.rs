//! Writes through the service on both backends: bad input (SPEC §7) is
//! rejected with the right error and changes no row; multi-row writes and
//! transactions are all or nothing; batches larger than one statement can
//! bind are chunked; hostile strings are data; constraint violations,
//! missing rows, `updatedAt` and the execution life cycle behave.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use api_tests::both_backends;
use entity::enums::*;
use entity::{Timestamp, agent, analytics, campaign, lead, user};
use sea_orm::Iterable;
use serde_json::json;
use service::error::ConflictKind;
use service::validate::{MAX_BATCH, MAX_SERIES_DAYS, MAX_TEXT_LEN};
use service::{
    AbTestRepository, AbTestUpdate, AgentRepository, AgentUpdate, AnalyticsRepository,
    AnalyticsUpdate, CampaignRepository, CampaignUpdate, Completion, ContentRepository,
    ContentUpdate, Error, ExecutionRepository, LeadRepository, LeadUpdate, NeonDb, NewAbTest,
    NewAgent, NewAnalytics, NewCampaign, NewContent, NewExecution, NewLead, NewTrend, NewUser,
    TrendRepository, TrendUpdate, UserRepository, UserUpdate,
};
use support::{Snapshot, all, at, count, plus};

/// One row in every table the service writes, made through the service.
struct Fixture {
    user: user::Model,
    campaign: campaign::Model,
    agent: agent::Model,
    execution: String,
    analytics: String,
    content: String,
    lead: String,
    trend: String,
    ab_test: String,
}

async fn fixture(neon: &NeonDb) -> Fixture {
    let user = neon
        .users()
        .create(NewUser::new("owner@example.com"))
        .await
        .unwrap();
    let mut c = NewCampaign::new(&user.id, "spring", CampaignType::Email);
    c.start_date = Some(at(0));
    c.end_date = Some(at(86_400_000));
    let campaign = neon.campaigns().create(c).await.unwrap();
    let agent = neon
        .agents()
        .create(NewAgent::new("writer", AgentType::Content))
        .await
        .unwrap();
    let mut e = NewExecution::new(&agent.id, "write");
    e.started_at = Some(at(0));
    let execution = neon.executions().start(e).await.unwrap().id;
    let mut a = NewAnalytics::new(AnalyticsType::Clicks, json!({"n": 1}));
    a.campaign_id = Some(campaign.id.clone());
    a.period = Some("daily".into());
    let analytics = neon.analytics().create(a).await.unwrap().id;
    let content = neon
        .contents()
        .create(NewContent::new(
            "post",
            ContentType::Post,
            Platform::Instagram,
            json!({}),
        ))
        .await
        .unwrap()
        .id;
    let lead = neon
        .leads()
        .create(NewLead {
            email: "lead@example.com".into(),
            score: Some(8.0),
            ..NewLead::default()
        })
        .await
        .unwrap()
        .id;
    let trend = neon
        .trends()
        .create(NewTrend::new("ai", Platform::Tiktok, 9.0))
        .await
        .unwrap()
        .id;
    let ab_test = neon
        .ab_tests()
        .create(NewAbTest::new(
            &campaign.id,
            "subject line",
            json!({"a": 1, "b": 2}),
        ))
        .await
        .unwrap()
        .id;
    Fixture {
        user,
        campaign,
        agent,
        execution,
        analytics,
        content,
        lead,
        trend,
        ab_test,
    }
}

/// Runs a call that must fail with `Error::Invalid { field: $field, .. }`
/// and change no row.
macro_rules! rejects {
    ($db:expr, $n:ident, $field:expr, $call:expr) => {{
        let before = Snapshot::take(&$db.conn).await;
        let result = $call.await.map(|_| ());
        match result {
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(
                    field,
                    $field,
                    "{}: wrong field (reason: {reason})",
                    stringify!($call)
                );
                assert!(!reason.is_empty(), "{}: empty reason", stringify!($call));
            }
            other => panic!(
                "{}: expected Invalid {{ field: {:?} }}, got {other:?}",
                stringify!($call),
                $field
            ),
        }
        assert!(
            Snapshot::take(&$db.conn).await == before,
            "{} changed rows",
            stringify!($call)
        );
        $n += 1;
    }};
}

/// Runs a call that must fail with `Error::NotFound` for `$id`.
macro_rules! not_found {
    ($entity:expr, $id:expr, $call:expr) => {{
        match $call.await {
            Err(Error::NotFound { entity, id }) => {
                assert_eq!(entity, $entity, "{}", stringify!($call));
                assert_eq!(id, $id, "{}", stringify!($call));
            }
            other => panic!("{}: expected NotFound, got {other:?}", stringify!($call)),
        }
    }};
}

fn is_conflict(result: Result<impl std::fmt::Debug, Error>, kind: ConflictKind) -> bool {
    match result {
        Err(Error::Conflict { kind: k, message }) => {
            assert!(!message.is_empty());
            k == kind
        }
        other => panic!("expected Conflict({kind:?}), got {other:?}"),
    }
}

/// Asserts a call fails with `Error::Conflict { kind: $kind }`.
macro_rules! conflict {
    ($kind:expr, $call:expr) => {{
        match $call.await {
            Err(Error::Conflict { kind, message }) => {
                assert_eq!(kind, $kind, "{}: {message}", stringify!($call));
                assert!(!message.is_empty());
            }
            other => panic!(
                "{}: expected Conflict({:?}), got {other:?}",
                stringify!($call),
                $kind
            ),
        }
    }};
}

fn analytics_batch(n: usize, user_id: Option<&str>) -> Vec<NewAnalytics> {
    (0..n)
        .map(|i| {
            let mut a = NewAnalytics::new(
                AnalyticsType::ALL[i % AnalyticsType::ALL.len()],
                json!({"i": i}),
            );
            a.user_id = user_id.map(str::to_owned);
            a.period = Some(if i % 2 == 0 { "daily" } else { "weekly" }.to_owned());
            a.date = Some(at(i as i64 * 1000));
            a
        })
        .collect()
}

/// Strings that break naive SQL, JSON, array literals or byte handling.
fn hostile_strings() -> Vec<String> {
    vec![
        "O'Brien".into(),
        "\"double\" 'single' `back`".into(),
        "'; DROP TABLE leads; --".into(),
        "Robert'); DROP TABLE users;--".into(),
        "back\\slash \\' \\\" \\\\ \\0 \\n".into(),
        "100% _under_ [br] {a,b} (p)".into(),
        "$1 ? ?1 :name @p1".into(),
        "emoji 🚀👩‍👩‍👧‍👦🇪🇺".into(),
        "RTL مرحبا بالعالم \u{202E}txet\u{202C} עברית".into(),
        "zero\u{200B}width\u{FEFF}bom\u{2028}sep".into(),
        "combining e\u{0301} ß ǅ İ ﬃ 中文".into(),
        "line\nbreak\r\n\ttab".into(),
        "{\"json\": [1, \"x\"]}".into(),
        "NULL".into(),
        "null".into(),
        "\u{1}\u{7f}control".into(),
        "   padded   ".into(),
        "ab'🚀\\\"".repeat(60 * 1024 / 9),
    ]
}

fn big_text(bytes: usize) -> String {
    // 4-byte characters so that a byte limit is not a character limit.
    let mut s = "🚀".repeat(bytes / 4);
    s.push_str(&"x".repeat(bytes % 4));
    assert_eq!(s.len(), bytes);
    s
}

both_backends! {
    async fn bad_input_is_rejected_and_changes_nothing(db) {
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let mut n = 0usize;
        let t1 = at(1_000);
        let t2 = at(2_000);
        let nan = f64::NAN;
        let inf = f64::INFINITY;

        // Ids.
        rejects!(db, n, "id", neon.users().get(""));
        rejects!(db, n, "id", neon.users().get("has space"));
        rejects!(db, n, "id", neon.campaigns().get("tab\there"));
        rejects!(db, n, "id", neon.leads().delete(&"x".repeat(65)));
        rejects!(db, n, "id", neon.users().update("", UserUpdate { name: Some(Some("x".into())), ..Default::default() }));
        rejects!(db, n, "id", neon.executions().complete(" ", Completion::new(ExecutionStatus::Completed)));
        rejects!(db, n, "user_id", neon.campaigns().by_user_and_status("", None, None));
        rejects!(db, n, "campaign_id", neon.analytics().campaign_analytics(" ", None, None, None));
        rejects!(db, n, "agent_id", neon.executions().agent_performance("", None, None));
        rejects!(db, n, "agent_id", neon.executions().start(NewExecution::new("", "task")));
        rejects!(db, n, "campaign_id", neon.executions().start(NewExecution { campaign_id: Some(String::new()), ..NewExecution::new(&f.agent.id, "task") }));
        rejects!(db, n, "user_id", neon.campaigns().create(NewCampaign::new("", "name", CampaignType::Ads)));
        rejects!(db, n, "campaign_id", neon.ab_tests().create(NewAbTest::new("a\nb", "t", json!({}))));

        // Limits.
        rejects!(db, n, "limit", neon.users().by_role(UserRole::Admin, Some(0)));
        rejects!(db, n, "limit", neon.leads().high_value(None, Some(1001)));
        rejects!(db, n, "limit", neon.trends().trending(None, None, Some(0)));
        rejects!(db, n, "limit", neon.trends().trending(Some(Platform::Tiktok), None, Some(1001)));
        rejects!(db, n, "limit", neon.contents().by_platform_and_status(Platform::Instagram, None, Some(1001)));
        rejects!(db, n, "limit", neon.campaigns().by_user_and_status(&f.user.id, None, Some(1001)));
        rejects!(db, n, "limit", neon.analytics().campaign_analytics(&f.campaign.id, None, None, Some(0)));

        // Inverted and oversized date ranges.
        rejects!(db, n, "from", neon.executions().agent_performance(&f.agent.id, Some(t2), Some(t1)));
        rejects!(db, n, "from", neon.analytics().time_series(AnalyticsType::Clicks, "daily", t2, t1));
        rejects!(db, n, "to", neon.analytics().time_series(AnalyticsType::Clicks, "daily", at(0), at((MAX_SERIES_DAYS + 1) * 86_400_000)));
        rejects!(db, n, "end_date", neon.campaigns().create(NewCampaign { start_date: Some(t2), end_date: Some(t1), ..NewCampaign::new(&f.user.id, "c", CampaignType::Ads) }));
        rejects!(db, n, "end_date", neon.campaigns().update(&f.campaign.id, CampaignUpdate { start_date: Some(Some(t2)), end_date: Some(Some(t1)), ..Default::default() }));
        rejects!(db, n, "end_date", neon.ab_tests().create(NewAbTest { start_date: Some(t2), end_date: Some(t1), ..NewAbTest::new(&f.campaign.id, "t", json!({})) }));

        // Numbers.
        rejects!(db, n, "score", neon.leads().create(NewLead { email: "n@example.com".into(), score: Some(nan), ..NewLead::default() }));
        rejects!(db, n, "score", neon.leads().update(&f.lead, LeadUpdate { score: Some(Some(inf)), ..Default::default() }));
        rejects!(db, n, "score", neon.trends().create(NewTrend::new("k", Platform::Tiktok, inf)));
        rejects!(db, n, "score", neon.trends().update(&f.trend, TrendUpdate { score: Some(nan), ..Default::default() }));
        rejects!(db, n, "growth", neon.trends().create(NewTrend { growth: Some(-inf), ..NewTrend::new("k", Platform::Tiktok, 1.0) }));
        rejects!(db, n, "budget", neon.campaigns().create(NewCampaign { budget: Some(nan), ..NewCampaign::new(&f.user.id, "c", CampaignType::Ads) }));
        rejects!(db, n, "budget", neon.campaigns().create(NewCampaign { budget: Some(inf), ..NewCampaign::new(&f.user.id, "c", CampaignType::Ads) }));
        rejects!(db, n, "budget", neon.campaigns().create(NewCampaign { budget: Some(-0.01), ..NewCampaign::new(&f.user.id, "c", CampaignType::Ads) }));
        rejects!(db, n, "budget", neon.campaigns().update(&f.campaign.id, CampaignUpdate { budget: Some(Some(-1.0)), ..Default::default() }));
        rejects!(db, n, "performance", neon.executions().complete(&f.execution, Completion { performance: Some(nan), ..Completion::new(ExecutionStatus::Completed) }));
        rejects!(db, n, "confidence", neon.ab_tests().update(&f.ab_test, AbTestUpdate { confidence: Some(Some(nan)), ..Default::default() }));
        rejects!(db, n, "min_score", neon.leads().high_value(Some(nan), None));
        rejects!(db, n, "min_score", neon.trends().trending(None, Some(-inf), None));

        // Oversized batches: nothing of them is written.
        rejects!(db, n, "analytics", neon.analytics().create_many(analytics_batch(MAX_BATCH + 1, None)));
        rejects!(db, n, "leads", neon.leads().create_many((0..=MAX_BATCH).map(|i| NewLead { email: format!("b{i}@example.com"), ..NewLead::default() }).collect()));
        rejects!(db, n, "trends", neon.trends().create_many((0..=MAX_BATCH).map(|i| NewTrend::new(format!("k{i}"), Platform::Email, 1.0)).collect()));
        rejects!(db, n, "analytics", neon.campaigns().create_with_analytics(NewCampaign::new(&f.user.id, "batch", CampaignType::Ads), analytics_batch(MAX_BATCH + 1, None)));

        // Text: blank, NUL, too long, JSON with NUL.
        rejects!(db, n, "name", neon.campaigns().create(NewCampaign::new(&f.user.id, "   ", CampaignType::Ads)));
        rejects!(db, n, "name", neon.agents().create(NewAgent::new("", AgentType::Ad)));
        rejects!(db, n, "name", neon.agents().update(&f.agent.id, AgentUpdate { name: Some("\t\n".into()), ..Default::default() }));
        rejects!(db, n, "version", neon.agents().create(NewAgent { version: " ".into(), ..NewAgent::new("a", AgentType::Ad) }));
        rejects!(db, n, "title", neon.contents().create(NewContent::new("", ContentType::Post, Platform::Email, json!({}))));
        rejects!(db, n, "keyword", neon.trends().create(NewTrend::new(" ", Platform::Email, 1.0)));
        rejects!(db, n, "task", neon.executions().start(NewExecution::new(&f.agent.id, "")));
        rejects!(db, n, "name", neon.ab_tests().create(NewAbTest::new(&f.campaign.id, "", json!({}))));
        rejects!(db, n, "period", neon.analytics().create(NewAnalytics { period: Some(String::new()), ..NewAnalytics::new(AnalyticsType::Reach, json!({})) }));
        rejects!(db, n, "period", neon.analytics().campaign_analytics(&f.campaign.id, None, Some(" "), None));
        rejects!(db, n, "period", neon.analytics().time_series(AnalyticsType::Clicks, "", t1, t2));
        rejects!(db, n, "name", neon.leads().create(NewLead { email: "z@example.com".into(), name: Some("a\0b".into()), ..NewLead::default() }));
        rejects!(db, n, "name", neon.users().create(NewUser { name: Some("nul\0".into()), ..NewUser::new("nul@example.com") }));
        rejects!(db, n, "content", neon.contents().create(NewContent::new("t", ContentType::Post, Platform::Email, json!({"t": "a\u{0}b"}))));
        rejects!(db, n, "description", neon.campaigns().create(NewCampaign { description: Some(big_text(MAX_TEXT_LEN + 1)), ..NewCampaign::new(&f.user.id, "c", CampaignType::Ads) }));
        rejects!(db, n, "title", neon.contents().update(&f.content, ContentUpdate { title: Some(big_text(MAX_TEXT_LEN + 4)), ..Default::default() }));
        rejects!(db, n, "metadata", neon.leads().create(NewLead { email: "j@example.com".into(), metadata: Some(json!({"big": "x".repeat(1024 * 1024)})), ..NewLead::default() }));
        rejects!(db, n, "tags", neon.leads().create(NewLead { email: "t@example.com".into(), tags: (0..1001).map(|i| i.to_string()).collect(), ..NewLead::default() }));
        rejects!(db, n, "tags", neon.leads().update(&f.lead, LeadUpdate { tags: Some(vec!["ok".into(), "bad\0".into()]), ..Default::default() }));

        // E-mail addresses.
        for bad in ["no-at-sign", "a@b@c.com", "@example.com", "name@", "a b@example.com", "tab\t@x.com", ""] {
            rejects!(db, n, "email", neon.users().create(NewUser::new(bad)));
        }
        rejects!(db, n, "email", neon.users().create(NewUser::new(format!("{}@example.com", "a".repeat(320)))));
        rejects!(db, n, "email", neon.users().update(&f.user.id, UserUpdate { email: Some("bad".into()), ..Default::default() }));
        rejects!(db, n, "email", neon.leads().create(NewLead::default()));

        // Completion: only a final status.
        rejects!(db, n, "status", neon.executions().complete(&f.execution, Completion::new(ExecutionStatus::Running)));
        rejects!(db, n, "status", neon.executions().complete(&f.execution, Completion::new(ExecutionStatus::Pending)));

        // Empty updates where the repository refuses them.
        rejects!(db, n, "update", neon.analytics().update(&f.analytics, AnalyticsUpdate::default()));
        rejects!(db, n, "update", neon.trends().update(&f.trend, TrendUpdate::default()));
        rejects!(db, n, "update", neon.ab_tests().update(&f.ab_test, AbTestUpdate::default()));

        // Unknown enum strings: the message lists every valid value.
        match service::validate::enum_value::<UserRole>("role", "SUPERUSER") {
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(field, "role");
                assert!(reason.contains("SUPERUSER"), "{reason}");
                for v in UserRole::VALUES {
                    assert!(reason.contains(v), "{reason} lacks {v}");
                }
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        for (bad, valid) in [("active", CampaignStatus::VALUES), ("", CampaignStatus::VALUES)] {
            match service::validate::enum_value::<CampaignStatus>("status", bad) {
                Err(Error::Invalid { field, reason }) => {
                    assert_eq!(field, "status");
                    assert!(valid.iter().all(|v| reason.contains(v)), "{reason}");
                }
                other => panic!("expected Invalid, got {other:?}"),
            }
        }
        assert_eq!(service::validate::enum_value::<Platform>("platform", "GOOGLE_ADS").unwrap(), Platform::GoogleAds);
        n += 3;
        assert!(n >= 20, "{n} cases");
        // The boundaries themselves are accepted.
        let before = Snapshot::take(&db.conn).await;
        neon.analytics().time_series(AnalyticsType::Clicks, "daily", at(0), at(MAX_SERIES_DAYS * 86_400_000)).await.unwrap();
        neon.users().by_role(UserRole::Admin, Some(1)).await.unwrap();
        neon.users().by_role(UserRole::Admin, Some(1000)).await.unwrap();
        neon.executions().agent_performance(&f.agent.id, Some(t1), Some(t1)).await.unwrap();
        neon.leads().high_value(Some(-0.0), None).await.unwrap();
        assert!(Snapshot::take(&db.conn).await == before);
        eprintln!("{n} bad-input cases rejected");
        // The fixture is still intact and usable.
        assert_eq!(neon.users().get(&f.user.id).await.unwrap(), f.user);
    }

    /// JSON and timestamps at the edges of what both backends store:
    /// nesting past 64 levels and years outside 0001..=9999 are refused
    /// before any SQL (for writes and for query bounds); a literal
    /// backslash-u0000 is text, not NUL; what is accepted reads back; and a
    /// row another writer stored with a document nested far deeper than
    /// serde_json's limit does not break the queries that return it.
    async fn json_and_timestamps_at_the_edges(db) {
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let mut n = 0usize;
        fn nested(depth: usize) -> serde_json::Value {
            let mut v = json!("leaf");
            for _ in 1..depth {
                v = json!([v]);
            }
            v
        }
        let lead = |metadata| NewLead { email: "deep@example.com".into(), score: Some(9.9), metadata: Some(metadata), ..NewLead::default() };
        rejects!(db, n, "metadata", neon.leads().create(lead(nested(65))));
        rejects!(db, n, "metadata", neon.leads().create(lead(nested(200))));
        rejects!(db, n, "metadata", neon.leads().update(&f.lead, LeadUpdate { metadata: Some(Some(nested(1_000))), ..Default::default() }));
        rejects!(db, n, "metadata", neon.leads().create(lead(json!({"a\u{0}b": 1}))));
        // Accepted at the bound, and equal when read back.
        let ok = neon.leads().create(lead(nested(64))).await.unwrap();
        assert_eq!(neon.uncached().leads().get(&ok.id).await.unwrap().metadata, Some(entity::Json(nested(64))));
        // A backslash followed by u0000 is four characters of text.
        let literal = json!({"path": "C:\\u0000dir", "k\\u0000": true});
        let saved = neon.leads().create(NewLead { email: "lit@example.com".into(), metadata: Some(literal.clone()), ..NewLead::default() }).await.unwrap();
        assert_eq!(neon.uncached().leads().get(&saved.id).await.unwrap().metadata, Some(entity::Json(literal)));

        // Another writer (Prisma, psql) stores a document 200 levels deep.
        let deep_text = nested(200).to_string();
        let cast = if db.backend == api_tests::Backend::Postgres { "::jsonb" } else { "" };
        let ts = if db.backend == api_tests::Backend::Postgres { "now()" } else { "'2025-03-10 00:00:00.000'" };
        sea_orm::ConnectionTrait::execute_unprepared(&db.conn, &format!(
            r#"INSERT INTO "leads" ("id", "email", "status", "score", "metadata", "createdAt", "updatedAt") VALUES ('deep-foreign', 'x@example.com', 'NEW', 9.95, '{deep_text}'{cast}, {ts}, {ts})"#
        )).await.unwrap();
        let top = neon.leads().high_value(Some(9.9), None).await.expect("a deep document does not poison the query");
        let row = top.iter().find(|l| l.id == "deep-foreign").expect("the deep row is listed");
        assert_eq!(row.metadata.as_ref().map(|m| m.to_string()), Some(deep_text));

        // Timestamps: one range on both backends, for writes and bounds.
        use chrono::TimeZone;
        let year = |y: i32| Timestamp::from(chrono::Utc.with_ymd_and_hms(y, 6, 1, 0, 0, 0).single().unwrap());
        for bad in [year(0), year(-4714), year(-5000), year(10_000)] {
            rejects!(db, n, "started_at", neon.executions().start(NewExecution { started_at: Some(bad), ..NewExecution::new(&f.agent.id, "t") }));
            rejects!(db, n, "date", neon.analytics().create(NewAnalytics { date: Some(bad), ..NewAnalytics::new(AnalyticsType::Reach, json!({})) }));
            rejects!(db, n, "date", neon.analytics().update(&f.analytics, AnalyticsUpdate { date: Some(bad), ..Default::default() }));
            rejects!(db, n, "detected_at", neon.trends().create(NewTrend { detected_at: Some(bad), ..NewTrend::new("k", Platform::Email, 1.0) }));
            rejects!(db, n, "email_verified", neon.users().create(NewUser { email_verified: Some(bad), ..NewUser::new("y@example.com") }));
            rejects!(db, n, "end_date", neon.campaigns().update(&f.campaign.id, CampaignUpdate { end_date: Some(Some(bad)), ..Default::default() }));
            rejects!(db, n, "completed_at", neon.executions().complete(&f.execution, Completion { completed_at: Some(bad), ..Completion::new(ExecutionStatus::Completed) }));
            let statements = neon.metrics().statements_total();
            rejects!(db, n, "from", neon.executions().agent_performance(&f.agent.id, Some(bad), None));
            rejects!(db, n, "from", neon.executions().agent_performance(&f.agent.id, None, Some(bad)));
            rejects!(db, n, "from", neon.analytics().time_series(AnalyticsType::Clicks, "daily", bad, bad));
            assert_eq!(neon.metrics().statements_total(), statements, "bounds are refused before any SQL");
        }
        // The edges of the range are accepted, and sort right on both
        // backends (SQLite compares the text form).
        let first = Timestamp::from(chrono::Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).single().unwrap());
        let last = Timestamp::from(chrono::Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single().unwrap());
        for date in [first, year(2025), last] {
            neon.analytics().create(NewAnalytics { campaign_id: Some(f.campaign.id.clone()), date: Some(date), ..NewAnalytics::new(AnalyticsType::Reach, json!({})) }).await.unwrap();
        }
        let rows = neon.uncached().analytics().campaign_analytics(&f.campaign.id, Some(AnalyticsType::Reach), None, None).await.unwrap();
        let dates: Vec<Timestamp> = rows.iter().map(|r| r.date).filter(|d| [first, last].contains(d) || *d == year(2025)).collect();
        assert_eq!(dates, vec![last, year(2025), first], "newest first across the whole range");
        eprintln!("{n} edge cases rejected");
    }

    async fn empty_updates_are_rejected_everywhere(db) {
        // SPEC §7: bad input changes nothing. An update that names no field
        // is refused (as analytics, trends and A/B tests do) and must not
        // touch the row, not even `updatedAt`.
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut failures = Vec::new();
        macro_rules! empty_update {
            ($call:expr) => {{
                let before = Snapshot::take(&db.conn).await;
                let result = $call.await.map(|_| ());
                let changed = Snapshot::take(&db.conn).await != before;
                if !matches!(result, Err(Error::Invalid { field: "update", .. })) || changed {
                    failures.push(format!("{}: {result:?}, rows changed: {changed}", stringify!($call)));
                }
            }};
        }
        empty_update!(neon.users().update(&f.user.id, UserUpdate::default()));
        empty_update!(neon.campaigns().update(&f.campaign.id, CampaignUpdate::default()));
        empty_update!(neon.agents().update(&f.agent.id, AgentUpdate::default()));
        empty_update!(neon.contents().update(&f.content, ContentUpdate::default()));
        empty_update!(neon.leads().update(&f.lead, LeadUpdate::default()));
        empty_update!(neon.analytics().update(&f.analytics, AnalyticsUpdate::default()));
        empty_update!(neon.trends().update(&f.trend, TrendUpdate::default()));
        empty_update!(neon.ab_tests().update(&f.ab_test, AbTestUpdate::default()));
        assert!(failures.is_empty(), "empty updates accepted:\n{}", failures.join("\n"));
    }

    async fn updates_cannot_invert_stored_date_ranges(db) {
        // A campaign created with [start, end] cannot be updated to end
        // before its start by changing only one of them (create refuses the
        // same dates); likewise an A/B test's end before its start.
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let start = f.campaign.start_date.unwrap();
        let end = f.campaign.end_date.unwrap();
        let ab = neon.ab_tests().get(&f.ab_test).await.unwrap();
        let mut failures = Vec::new();
        macro_rules! inverted {
            ($call:expr) => {{
                let before = Snapshot::take(&db.conn).await;
                let result = $call.await.map(|_| ());
                let changed = Snapshot::take(&db.conn).await != before;
                if !matches!(result, Err(Error::Invalid { field: "end_date", .. })) || changed {
                    failures.push(format!("{}: {result:?}, rows changed: {changed}", stringify!($call)));
                }
            }};
        }
        inverted!(neon.campaigns().update(&f.campaign.id, CampaignUpdate { end_date: Some(Some(plus(start, -1))), ..Default::default() }));
        inverted!(neon.campaigns().update(&f.campaign.id, CampaignUpdate { start_date: Some(Some(plus(end, 1))), ..Default::default() }));
        inverted!(neon.ab_tests().update(&f.ab_test, AbTestUpdate { end_date: Some(Some(plus(ab.start_date, -1))), ..Default::default() }));
        assert!(failures.is_empty(), "inverted ranges accepted:\n{}", failures.join("\n"));
        // Moving both consistently is fine.
        let c = neon.campaigns().update(&f.campaign.id, CampaignUpdate { start_date: Some(Some(plus(end, 1))), end_date: Some(Some(plus(end, 2))), ..Default::default() }).await.unwrap();
        assert_eq!((c.start_date, c.end_date), (Some(plus(end, 1)), Some(plus(end, 2))));
    }

    async fn long_text_in_indexed_columns(db) {
        // Free text up to 64 KiB is accepted by validation. In columns that
        // are part of an index (leads.source, trends.keyword,
        // trends.category) a long value that does not compress must still
        // be stored, or be refused with a clear Invalid error, never an
        // opaque database error.
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = support::Rng::new(99);
        let long: String = (0..12_000)
            .map(|_| char::from_u32(0x4E00 + rng.below(0x5000) as u32).unwrap())
            .collect();
        assert!(long.len() <= MAX_TEXT_LEN);
        let mut failures = Vec::new();
        let lead = neon.leads().create(NewLead { email: "long@example.com".into(), source: Some(long.clone()), ..NewLead::default() }).await;
        match lead {
            Ok(l) => assert_eq!(neon.leads().get(&l.id).await.unwrap().source.as_deref(), Some(long.as_str())),
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "source"),
            Err(e) => failures.push(format!("lead source: {e}")),
        }
        let trend = neon.trends().create(NewTrend::new(long.clone(), Platform::Email, 1.0)).await;
        match trend {
            Ok(t) => assert_eq!(neon.trends().get(&t.id).await.unwrap().keyword, long),
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "keyword"),
            Err(e) => failures.push(format!("trend keyword: {e}")),
        }
        let trend = neon.trends().create(NewTrend { category: Some(long.clone()), ..NewTrend::new("k", Platform::Email, 1.0) }).await;
        match trend {
            Ok(t) => assert_eq!(neon.trends().get(&t.id).await.unwrap().category.as_deref(), Some(long.as_str())),
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "category"),
            Err(e) => failures.push(format!("trend category: {e}")),
        }
        assert!(failures.is_empty(), "long text in indexed columns:\n{}", failures.join("\n"));
    }

    async fn create_with_analytics_is_all_or_nothing(db) {
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let columns = analytics::Column::iter().count();
        let per = service::repo::write::rows_per_statement(db.db_backend(), columns);
        // More rows than one statement holds; the bad row is in the second
        // statement, so the first has run when the failure comes.
        let n = per + 17;
        let mut rows = analytics_batch(n, Some(&f.user.id));
        rows[per + 5].user_id = Some("nosuchuser".into());
        let before = Snapshot::take(&db.conn).await;
        let result = neon
            .campaigns()
            .create_with_analytics(NewCampaign::new(&f.user.id, "atomic", CampaignType::Ads), rows.clone())
            .await;
        assert!(is_conflict(result, ConflictKind::ForeignKey));
        assert!(Snapshot::take(&db.conn).await == before, "a failed create_with_analytics left rows");
        // A campaign whose owner does not exist: nothing either.
        let result = neon
            .campaigns()
            .create_with_analytics(NewCampaign::new("nosuchuser", "orphan", CampaignType::Ads), analytics_batch(3, None))
            .await;
        assert!(is_conflict(result, ConflictKind::ForeignKey));
        assert!(Snapshot::take(&db.conn).await == before, "a failed create_with_analytics left rows");
        // Fixed, the same batch goes in whole.
        rows[per + 5].user_id = Some(f.user.id.clone());
        let (c, created) = neon
            .campaigns()
            .create_with_analytics(NewCampaign::new(&f.user.id, "atomic", CampaignType::Ads), rows)
            .await
            .unwrap();
        assert_eq!(created.len(), n);
        assert_eq!(neon.campaigns().get(&c.id).await.unwrap(), c);
        let mut stored: Vec<analytics::Model> = all::<analytics::Entity>(&db.conn)
            .await
            .into_iter()
            .filter(|a| a.campaign_id.as_deref() == Some(c.id.as_str()))
            .collect();
        let mut created = created;
        created.sort_by(|a, b| a.id.cmp(&b.id));
        stored.sort_by(|a, b| a.id.cmp(&b.id));
        assert!(stored == created, "stored analytics differ from the returned ones");
    }

    async fn create_many_is_all_or_nothing(db) {
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let per = service::repo::write::rows_per_statement(db.db_backend(), analytics::Column::iter().count());
        let mut rows = analytics_batch(per + 3, Some(&f.user.id));
        let last = rows.len() - 1;
        rows[last].campaign_id = Some("nosuchcampaign".into());
        let before = Snapshot::take(&db.conn).await;
        assert!(is_conflict(neon.analytics().create_many(rows).await, ConflictKind::ForeignKey));
        assert!(Snapshot::take(&db.conn).await == before, "a failed create_many left rows");
        // An empty batch is fine and writes nothing.
        assert!(neon.analytics().create_many(Vec::new()).await.unwrap().is_empty());
        assert!(neon.leads().create_many(Vec::new()).await.unwrap().is_empty());
        assert!(Snapshot::take(&db.conn).await == before);
    }

    async fn transactions_commit_or_leave_nothing(db) {
        db.migrate().await;
        let neon = db.service().await;
        let before = Snapshot::take(&db.conn).await;

        // Dropped: nothing stays, though the transaction saw its own writes.
        let tx = neon.begin().await.unwrap();
        let u = tx.users().create(NewUser { role: UserRole::Manager, ..NewUser::new("drop@example.com") }).await.unwrap();
        let c = tx.campaigns().create(NewCampaign::new(&u.id, "in tx", CampaignType::Email)).await.unwrap();
        assert_eq!(tx.users().get(&u.id).await.unwrap(), u);
        assert_eq!(tx.users().by_role(UserRole::Manager, None).await.unwrap().as_slice(), std::slice::from_ref(&u));
        let listed = tx.campaigns().by_user_and_status(&u.id, None, None).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].campaign, c);
        drop(tx);
        not_found!("user", u.id.as_str(), neon.users().get(&u.id));
        not_found!("campaign", c.id.as_str(), neon.campaigns().get(&c.id));
        assert!(neon.users().by_role(UserRole::Manager, None).await.unwrap().is_empty());
        assert!(Snapshot::take(&db.conn).await == before, "a dropped transaction left rows");

        // Rolled back.
        let tx = neon.begin().await.unwrap();
        let u = tx.users().create(NewUser::new("rollback@example.com")).await.unwrap();
        tx.leads().create_many((0..5).map(|i| NewLead { email: format!("r{i}@example.com"), ..NewLead::default() }).collect()).await.unwrap();
        tx.rollback().await.unwrap();
        not_found!("user", u.id.as_str(), neon.users().get(&u.id));
        assert!(Snapshot::take(&db.conn).await == before, "a rolled-back transaction left rows");

        // Committed: everything stays.
        let tx = neon.begin().await.unwrap();
        let u = tx.users().create(NewUser { role: UserRole::Manager, ..NewUser::new("commit@example.com") }).await.unwrap();
        let c = tx.campaigns().create(NewCampaign::new(&u.id, "kept", CampaignType::Email)).await.unwrap();
        let leads = tx.leads().create_many((0..5).map(|i| NewLead { email: format!("c{i}@example.com"), score: Some(9.0), ..NewLead::default() }).collect()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(neon.users().get(&u.id).await.unwrap(), u);
        assert_eq!(neon.campaigns().get(&c.id).await.unwrap(), c);
        assert_eq!(neon.users().by_role(UserRole::Manager, None).await.unwrap().as_slice(), std::slice::from_ref(&u));
        assert_eq!(neon.leads().high_value(None, None).await.unwrap().len(), leads.len());
        assert_eq!(count(&db.conn, "leads").await, 5);
    }

    async fn failed_nested_write_keeps_the_transaction_usable(db) {
        // create_with_analytics inside a Tx runs in a savepoint: its failure
        // undoes only its own rows, and the outer transaction commits what
        // it wrote before.
        db.migrate().await;
        let neon = db.service().await;
        let tx = neon.begin().await.unwrap();
        let u = tx.users().create(NewUser::new("outer@example.com")).await.unwrap();
        let mut rows = analytics_batch(10, Some(&u.id));
        rows[7].user_id = Some("nosuchuser".into());
        let result = tx
            .campaigns()
            .create_with_analytics(NewCampaign::new(&u.id, "nested", CampaignType::Ads), rows)
            .await;
        assert!(is_conflict(result, ConflictKind::ForeignKey));
        let c = tx.campaigns().create(NewCampaign::new(&u.id, "after", CampaignType::Ads)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(neon.users().get(&u.id).await.unwrap(), u);
        assert_eq!(all::<campaign::Entity>(&db.conn).await, vec![c]);
        assert_eq!(count(&db.conn, "analytics").await, 0);
    }

    async fn batches_larger_than_one_statement(db) {
        db.migrate().await;
        let neon = db.service().await;
        let backend = db.db_backend();
        let u = neon.users().create(NewUser::new("batch@example.com")).await.unwrap();

        let per = service::repo::write::rows_per_statement(backend, analytics::Column::iter().count());
        assert!(per < MAX_BATCH, "{per} rows per statement: the batch must need several");
        let created = neon.analytics().create_many(analytics_batch(MAX_BATCH, Some(&u.id))).await.unwrap();
        assert_eq!(created.len(), MAX_BATCH);
        let mut created = created;
        created.sort_by(|a, b| a.id.cmp(&b.id));
        let stored = all::<analytics::Entity>(&db.conn).await;
        assert_eq!(stored.len(), MAX_BATCH);
        assert!(stored == created, "stored analytics differ from the returned ones");

        let per = service::repo::write::rows_per_statement(backend, lead::Column::iter().count());
        assert!(per < MAX_BATCH);
        let leads: Vec<NewLead> = (0..MAX_BATCH)
            .map(|i| NewLead {
                email: format!("lead{i}@example.com"),
                score: Some((i % 11) as f64),
                tags: (0..i % 4).map(|k| format!("t{k}'{i}")).collect(),
                ..NewLead::default()
            })
            .collect();
        let mut created = neon.leads().create_many(leads).await.unwrap();
        created.sort_by(|a, b| a.id.cmp(&b.id));
        let stored = all::<lead::Entity>(&db.conn).await;
        assert_eq!(stored.len(), MAX_BATCH);
        assert!(stored == created, "stored leads differ from the returned ones");
        assert_eq!(count(&db.conn, "leads").await, MAX_BATCH as i64);
    }

    async fn hostile_strings_round_trip(db) {
        db.migrate().await;
        let neon = db.service().await;
        let owner = neon.users().create(NewUser::new("o'brien+tag@exa'mple.com")).await.unwrap();
        assert_eq!(neon.users().get(&owner.id).await.unwrap().email, "o'brien+tag@exa'mple.com");
        let agent = neon.agents().create(NewAgent::new("'; DROP TABLE agents; --", AgentType::Ad)).await.unwrap();
        assert_eq!(neon.agents().get(&agent.id).await.unwrap(), agent);
        let strings = hostile_strings();
        let campaign = neon.campaigns().create(NewCampaign::new(&owner.id, "host", CampaignType::Ads)).await.unwrap();
        for (i, s) in strings.iter().enumerate() {
            let ctx = format!("string {i} ({} bytes)", s.len());
            // Required, non-blank fields take the string where it is not blank.
            let required = if s.trim().is_empty() { format!("x{s}") } else { s.clone() };
            // Indexed text columns take at most MAX_INDEXED_TEXT_LEN bytes
            // (PostgreSQL's B-tree entry limit); longer is a clear Invalid.
            let fits = s.len() <= service::validate::MAX_INDEXED_TEXT_LEN;
            let indexed = if fits { s.clone() } else { format!("long {i}") };
            let required_indexed = if fits { required.clone() } else { format!("long {i}") };
            if !fits {
                let err = neon.leads().create(NewLead { email: format!("long{i}@example.com"), source: Some(s.clone()), ..NewLead::default() }).await.unwrap_err();
                assert!(matches!(err, service::Error::Invalid { field: "source", .. }), "{ctx}: {err:?}");
                let err = neon.trends().create(NewTrend::new(s.clone(), Platform::Linkedin, 1.0)).await.unwrap_err();
                assert!(matches!(err, service::Error::Invalid { field: "keyword", .. }), "{ctx}: {err:?}");
            }

            let u = neon.users().create(NewUser { name: Some(s.clone()), avatar: Some(s.clone()), role: UserRole::Viewer, ..NewUser::new(format!("h{i}@example.com")) }).await.unwrap();
            assert_eq!(u.name.as_deref(), Some(s.as_str()), "{ctx}");
            assert_eq!(neon.users().get(&u.id).await.unwrap(), u, "{ctx}");
            assert!(neon.users().by_role(UserRole::Viewer, Some(1000)).await.unwrap().contains(&u), "{ctx}");

            let c = neon.campaigns().create(NewCampaign { description: Some(s.clone()), metrics: Some(json!({ s.clone(): s })), ..NewCampaign::new(&owner.id, required.clone(), CampaignType::Content) }).await.unwrap();
            assert_eq!(neon.campaigns().get(&c.id).await.unwrap(), c, "{ctx}");
            assert!(neon.campaigns().by_user_and_status(&owner.id, None, Some(1000)).await.unwrap().iter().any(|r| r.campaign == c), "{ctx}");

            let l = neon.leads().create(NewLead {
                email: format!("lead{i}@example.com"),
                name: Some(s.clone()),
                company: Some(s.clone()),
                position: Some(s.clone()),
                phone: Some(s.clone()),
                source: Some(indexed.clone()),
                score: Some(100.0 + i as f64),
                tags: vec![s.clone(), "plain".into(), s.clone()],
                metadata: Some(json!({"note": s, "list": [s, s]})),
                ..NewLead::default()
            }).await.unwrap();
            assert_eq!(neon.leads().get(&l.id).await.unwrap(), l, "{ctx}");
            let top = neon.leads().high_value(Some(100.0 + i as f64), Some(1)).await.unwrap();
            assert_eq!(top.as_slice(), std::slice::from_ref(&l), "{ctx}");

            let k = neon.contents().create(NewContent::new(required.clone(), ContentType::Blog, Platform::Website, json!({"body": s}))).await.unwrap();
            assert_eq!(neon.contents().get(&k.id).await.unwrap(), k, "{ctx}");
            assert_eq!(neon.contents().by_platform_and_status(Platform::Website, Some(ContentStatus::Draft), Some(1)).await.unwrap().as_slice(), std::slice::from_ref(&k), "{ctx}");

            let t = neon.trends().create(NewTrend { category: Some(indexed.clone()), ..NewTrend::new(required_indexed.clone(), Platform::Linkedin, 100.0 + i as f64) }).await.unwrap();
            assert_eq!(neon.trends().get(&t.id).await.unwrap(), t, "{ctx}");
            assert_eq!(neon.trends().trending(Some(Platform::Linkedin), None, Some(1)).await.unwrap().as_slice(), std::slice::from_ref(&t), "{ctx}");

            let mut e = NewExecution::new(&agent.id, required_indexed.clone());
            e.campaign_id = Some(campaign.id.clone());
            let e = neon.executions().start(e).await.unwrap();
            let done = neon.executions().complete(&e.id, Completion { error: Some(s.clone()), result: Some(json!([s])), ..Completion::new(ExecutionStatus::Failed) }).await.unwrap();
            assert_eq!(neon.executions().get(&e.id).await.unwrap(), done, "{ctx}");
            assert_eq!(done.error.as_deref(), Some(s.as_str()), "{ctx}");

            let ab = neon.ab_tests().create(NewAbTest { description: Some(s.clone()), ..NewAbTest::new(&campaign.id, required.clone(), json!({ s.clone(): 1 })) }).await.unwrap();
            let ab2 = neon.ab_tests().update(&ab.id, AbTestUpdate { winner: Some(Some(s.clone())), ..Default::default() }).await.unwrap();
            assert_eq!(neon.ab_tests().get(&ab.id).await.unwrap(), ab2, "{ctx}");

            // As a filter value: the period of an analytics row (at most 64
            // bytes) must match exactly itself and nothing else.
            if !s.trim().is_empty() && s.len() <= 64 {
                let mut a = NewAnalytics::new(AnalyticsType::Sentiment, json!({"s": s}));
                a.campaign_id = Some(campaign.id.clone());
                a.period = Some(s.clone());
                a.date = Some(at(i as i64 * 1000));
                let a = neon.analytics().create(a).await.unwrap();
                assert_eq!(neon.analytics().get(&a.id).await.unwrap(), a, "{ctx}");
                let got = neon.analytics().campaign_analytics(&campaign.id, None, Some(s), Some(1000)).await.unwrap();
                assert_eq!(got.as_slice(), std::slice::from_ref(&a), "{ctx}");
                let series = neon.analytics().time_series(AnalyticsType::Sentiment, s, at(0), at(86_400_000)).await.unwrap();
                assert_eq!(series.iter().map(|d| d.count).sum::<u64>(), 1, "{ctx}");
            }
        }
        // Nothing was dropped or truncated.
        let n = strings.len() as i64;
        assert_eq!(count(&db.conn, "leads").await, n);
        assert_eq!(count(&db.conn, "users").await, n + 1);
        assert_eq!(count(&db.conn, "contents").await, n);
        assert_eq!(count(&db.conn, "trends").await, n);
        assert_eq!(count(&db.conn, "agents").await, 1);
        assert_eq!(count(&db.conn, "agent_executions").await, n);
        assert_eq!(count(&db.conn, "ab_tests").await, n);
    }

    async fn hostile_tags_round_trip(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut tags = hostile_strings();
        tags.extend(["".into(), " ".into(), "a,b".into(), "{}".into(), "{\"a\"}".into(), "[\"x\"]".into(), "\\".into(), "\"".into(), "'".into()]);
        let l = neon.leads().create(NewLead { email: "tags@example.com".into(), score: Some(9.0), tags: tags.clone(), ..NewLead::default() }).await.unwrap();
        assert_eq!(l.tags.0, tags);
        let back = neon.leads().get(&l.id).await.unwrap();
        assert_eq!(back.tags.0, tags);
        assert_eq!(back, l);
        assert_eq!(neon.leads().high_value(None, None).await.unwrap().as_slice(), std::slice::from_ref(&l));
        // Updated to the reverse, then to one empty string, then to none.
        for next in [tags.iter().rev().cloned().collect::<Vec<_>>(), vec![String::new()], Vec::new()] {
            let updated = neon.leads().update(&l.id, LeadUpdate { tags: Some(next.clone()), ..Default::default() }).await.unwrap();
            assert_eq!(updated.tags.0, next);
            assert_eq!(neon.leads().get(&l.id).await.unwrap(), updated);
        }
        // Batched, each row with its own list.
        let batch: Vec<NewLead> = tags
            .iter()
            .enumerate()
            .map(|(i, t)| NewLead { email: format!("b{i}@example.com"), tags: vec![t.clone(); i % 3], ..NewLead::default() })
            .collect();
        let created = neon.leads().create_many(batch).await.unwrap();
        for (i, c) in created.iter().enumerate() {
            assert_eq!(c.tags.0, vec![tags[i].clone(); i % 3]);
            assert_eq!(&neon.leads().get(&c.id).await.unwrap(), c);
        }
        // Campaign platforms: every value, repeated, and none.
        let u = neon.users().create(NewUser::new("p@example.com")).await.unwrap();
        for platforms in [Platform::ALL.to_vec(), vec![Platform::MetaAds, Platform::MetaAds], Vec::new()] {
            let c = neon.campaigns().create(NewCampaign { platforms: platforms.clone(), ..NewCampaign::new(&u.id, "p", CampaignType::Ads) }).await.unwrap();
            assert_eq!(neon.campaigns().get(&c.id).await.unwrap().platforms.0, platforms);
        }
    }

    async fn text_length_limits(db) {
        db.migrate().await;
        let neon = db.service().await;
        let exactly = big_text(MAX_TEXT_LEN);
        let l = neon.leads().create(NewLead { email: "big@example.com".into(), name: Some(exactly.clone()), ..NewLead::default() }).await.unwrap();
        assert_eq!(neon.leads().get(&l.id).await.unwrap().name.as_deref(), Some(exactly.as_str()));
        let before = Snapshot::take(&db.conn).await;
        let mut n = 0usize;
        rejects!(db, n, "name", neon.leads().create(NewLead { email: "big2@example.com".into(), name: Some(big_text(MAX_TEXT_LEN + 1)), ..NewLead::default() }));
        rejects!(db, n, "company", neon.leads().update(&l.id, LeadUpdate { company: Some(Some(big_text(MAX_TEXT_LEN + 1))), ..Default::default() }));
        rejects!(db, n, "keyword", neon.trends().create(NewTrend::new(big_text(MAX_TEXT_LEN + 1), Platform::Email, 1.0)));
        rejects!(db, n, "error", neon.executions().complete("someid", Completion { error: Some("\0".into()), ..Completion::new(ExecutionStatus::Failed) }));
        assert_eq!(n, 4);
        assert!(Snapshot::take(&db.conn).await == before);
    }

    async fn unique_conflicts(db) {
        db.migrate().await;
        let neon = db.service().await;
        let _f = fixture(&neon).await;
        let before = Snapshot::take(&db.conn).await;
        conflict!(ConflictKind::Unique, neon.users().create(NewUser::new("owner@example.com")));
        assert!(Snapshot::take(&db.conn).await == before, "a refused create changed rows");
        let other = neon.users().create(NewUser::new("other@example.com")).await.unwrap();
        let after_create = Snapshot::take(&db.conn).await;
        conflict!(ConflictKind::Unique, neon.users().update(&other.id, UserUpdate { email: Some("owner@example.com".into()), ..Default::default() }));
        assert!(Snapshot::take(&db.conn).await == after_create, "a refused update changed rows");
        neon.users().delete(&other.id).await.unwrap();
        assert!(Snapshot::take(&db.conn).await == before);
        // The address is free again once its owner is gone.
        let again = neon.users().create(NewUser::new("other@example.com")).await.unwrap();
        assert_eq!(neon.users().get(&again.id).await.unwrap(), again);
    }

    async fn foreign_key_conflicts(db) {
        // A write whose parent is missing, and a delete of a parent that is
        // still referenced (ON DELETE RESTRICT), are both
        // `Conflict { kind: ForeignKey }` and change nothing.
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let before = Snapshot::take(&db.conn).await;
        let mut failures = Vec::new();
        macro_rules! fk {
            ($call:expr) => {{
                let result = $call.await.map(|_| ());
                if !matches!(result, Err(Error::Conflict { kind: ConflictKind::ForeignKey, .. })) {
                    failures.push(format!("{}: {result:?}", stringify!($call)));
                }
                if Snapshot::take(&db.conn).await != before {
                    failures.push(format!("{}: changed rows", stringify!($call)));
                }
            }};
        }
        fk!(neon.campaigns().create(NewCampaign::new("nosuchuser", "c", CampaignType::Ads)));
        fk!(neon.campaigns().update(&f.campaign.id, CampaignUpdate { user_id2: Some(Some("nosuchuser".into())), ..Default::default() }));
        fk!(neon.executions().start(NewExecution::new("nosuchagent", "t")));
        fk!(neon.ab_tests().create(NewAbTest::new("nosuchcampaign", "t", json!({}))));
        fk!(neon.analytics().create(NewAnalytics { campaign_id: Some("nosuchcampaign".into()), ..NewAnalytics::new(AnalyticsType::Reach, json!({})) }));
        fk!(neon.users().delete(&f.user.id));
        fk!(neon.campaigns().delete(&f.campaign.id));
        fk!(neon.agents().delete(&f.agent.id));
        assert!(failures.is_empty(), "foreign-key violations not reported as Conflict(ForeignKey):\n{}", failures.join("\n"));
    }

    async fn failed_write_inside_tx_keeps_or_reports(db) {
        // A constraint error inside a transaction: either the transaction
        // goes on (earlier writes commit), or commit reports an error.
        // `commit()` returning Ok must mean the writes that returned Ok are
        // stored.
        db.migrate().await;
        let neon = db.service().await;
        let tx = neon.begin().await.unwrap();
        let u = tx.users().create(NewUser::new("kept@example.com")).await.unwrap();
        let refused = tx.campaigns().create(NewCampaign::new("nosuchuser", "c", CampaignType::Ads)).await;
        assert!(matches!(refused, Err(Error::Conflict { kind: ConflictKind::ForeignKey, .. })), "{refused:?}");
        let read = tx.users().get(&u.id).await;
        let committed = tx.commit().await;
        let stored = neon.users().get(&u.id).await;
        match committed {
            Ok(()) => assert!(
                stored.as_ref().is_ok_and(|s| *s == u),
                "commit() returned Ok but the user written before the refused write is gone: {stored:?} (read inside the transaction after the error: {read:?})"
            ),
            Err(e) => assert!(matches!(stored, Err(Error::NotFound { .. })), "commit failed ({e}) but: {stored:?}"),
        }
    }

    async fn missing_ids_are_notfound(db) {
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let before = Snapshot::take(&db.conn).await;
        let id = "cmissing0000000000000000000000";
        not_found!("user", id, neon.users().get(id));
        not_found!("user", id, neon.users().update(id, UserUpdate { name: Some(None), ..Default::default() }));
        not_found!("user", id, neon.users().delete(id));
        not_found!("campaign", id, neon.campaigns().get(id));
        not_found!("campaign", id, neon.campaigns().update(id, CampaignUpdate { name: Some("n".into()), ..Default::default() }));
        not_found!("campaign", id, neon.campaigns().set_status(id, CampaignStatus::Paused));
        not_found!("campaign", id, neon.campaigns().delete(id));
        not_found!("agent", id, neon.agents().get(id));
        not_found!("agent", id, neon.agents().update(id, AgentUpdate { status: Some(AgentStatus::Inactive), ..Default::default() }));
        not_found!("agent", id, neon.agents().delete(id));
        not_found!("agent execution", id, neon.executions().get(id));
        not_found!("agent execution", id, neon.executions().complete(id, Completion::new(ExecutionStatus::Completed)));
        not_found!("agent execution", id, neon.executions().delete(id));
        not_found!("analytics", id, neon.analytics().get(id));
        not_found!("analytics", id, neon.analytics().update(id, AnalyticsUpdate { period: Some(None), ..Default::default() }));
        not_found!("analytics", id, neon.analytics().delete(id));
        not_found!("content", id, neon.contents().get(id));
        not_found!("content", id, neon.contents().update(id, ContentUpdate { status: Some(ContentStatus::Archived), ..Default::default() }));
        not_found!("content", id, neon.contents().delete(id));
        not_found!("lead", id, neon.leads().get(id));
        not_found!("lead", id, neon.leads().update(id, LeadUpdate { score: Some(None), ..Default::default() }));
        not_found!("lead", id, neon.leads().delete(id));
        not_found!("trend", id, neon.trends().get(id));
        not_found!("trend", id, neon.trends().update(id, TrendUpdate { score: Some(1.0), ..Default::default() }));
        not_found!("trend", id, neon.trends().delete(id));
        not_found!("ab test", id, neon.ab_tests().get(id));
        not_found!("ab test", id, neon.ab_tests().update(id, AbTestUpdate { status: Some(AbTestStatus::Stopped), ..Default::default() }));
        not_found!("ab test", id, neon.ab_tests().delete(id));
        assert!(Snapshot::take(&db.conn).await == before);
        // Deleting returns the row, and then it is gone.
        let deleted = neon.trends().delete(&f.trend).await.unwrap();
        assert_eq!(deleted.id, f.trend);
        not_found!("trend", f.trend.as_str(), neon.trends().get(&f.trend));
    }

    async fn updated_at_moves_and_created_at_stays(db) {
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let pause = || tokio::time::sleep(std::time::Duration::from_millis(5));
        pause().await;

        let u = neon.users().update(&f.user.id, UserUpdate { name: Some(Some("New".into())), ..Default::default() }).await.unwrap();
        assert!(u.updated_at > f.user.updated_at && u.created_at == f.user.created_at);
        assert_eq!(u.name.as_deref(), Some("New"));
        assert_eq!(u.email, f.user.email);
        assert_eq!(neon.users().get(&u.id).await.unwrap(), u);

        let c = neon.campaigns().set_status(&f.campaign.id, CampaignStatus::Active).await.unwrap();
        assert!(c.updated_at > f.campaign.updated_at && c.created_at == f.campaign.created_at);
        assert_eq!(c.status, CampaignStatus::Active);
        assert_eq!(c.name, f.campaign.name);
        assert_eq!(neon.campaigns().get(&c.id).await.unwrap(), c);
        pause().await;
        let c2 = neon.campaigns().update(&c.id, CampaignUpdate { budget: Some(Some(12.5)), description: Some(None), ..Default::default() }).await.unwrap();
        assert!(c2.updated_at > c.updated_at && c2.created_at == c.created_at);
        assert_eq!((c2.budget, c2.status), (Some(12.5), CampaignStatus::Active));

        let a = neon.agents().update(&f.agent.id, AgentUpdate { version: Some("2.0".into()), ..Default::default() }).await.unwrap();
        assert!(a.updated_at > f.agent.updated_at && a.created_at == f.agent.created_at);
        assert_eq!(neon.agents().get(&a.id).await.unwrap(), a);

        let k0 = neon.contents().get(&f.content).await.unwrap();
        let k = neon.contents().update(&f.content, ContentUpdate { status: Some(ContentStatus::Published), performance: Some(Some(json!({"likes": 3}))), ..Default::default() }).await.unwrap();
        assert!(k.updated_at > k0.updated_at && k.created_at == k0.created_at);
        assert_eq!(neon.contents().get(&k.id).await.unwrap(), k);

        let l0 = neon.leads().get(&f.lead).await.unwrap();
        let l = neon.leads().update(&f.lead, LeadUpdate { status: Some(LeadStatus::Qualified), score: Some(None), ..Default::default() }).await.unwrap();
        assert!(l.updated_at > l0.updated_at && l.created_at == l0.created_at);
        assert_eq!((l.status, l.score), (LeadStatus::Qualified, None));
        assert_eq!(neon.leads().get(&l.id).await.unwrap(), l);
        // The lead left the high-value list with its score.
        assert!(neon.leads().high_value(Some(0.0), None).await.unwrap().is_empty());
    }

    async fn execution_start_and_complete(db) {
        db.migrate().await;
        let neon = db.service().await;
        let f = fixture(&neon).await;
        let mut input = NewExecution::new(&f.agent.id, "summarize");
        input.campaign_id = Some(f.campaign.id.clone());
        input.user_id = Some(f.user.id.clone());
        input.payload = Some(json!({"len": 3}));
        input.started_at = Some(at(5_000));
        let started = neon.executions().start(input).await.unwrap();
        assert_eq!(started.status, ExecutionStatus::Running);
        assert_eq!((started.completed_at, started.performance), (None, None));
        assert_eq!(started.started_at, at(5_000));
        assert_eq!(neon.executions().get(&started.id).await.unwrap(), started);

        // Completing before the start is refused.
        let before = Snapshot::take(&db.conn).await;
        let mut n = 0usize;
        rejects!(db, n, "completed_at", neon.executions().complete(&started.id, Completion { completed_at: Some(at(4_999)), ..Completion::new(ExecutionStatus::Completed) }));

        let done_at = at(7_250);
        let done = neon
            .executions()
            .complete(&started.id, Completion { result: Some(json!({"ok": true})), performance: Some(0.87), completed_at: Some(done_at), ..Completion::new(ExecutionStatus::Completed) })
            .await
            .unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed);
        assert_eq!(done.completed_at, Some(done_at));
        assert_eq!(done.performance, Some(0.87));
        assert_eq!(done.result, Some(json!({"ok": true})).map(entity::Json));
        assert_eq!((&done.task, done.started_at, &done.payload), (&started.task, started.started_at, &started.payload));
        assert_eq!(neon.executions().get(&started.id).await.unwrap(), done);
        assert!(Snapshot::take(&db.conn).await != before);

        // A second completion is refused and changes nothing.
        for status in [ExecutionStatus::Completed, ExecutionStatus::Failed, ExecutionStatus::Cancelled] {
            rejects!(db, n, "id", neon.executions().complete(&started.id, Completion { performance: Some(0.1), ..Completion::new(status) }));
        }
        assert_eq!(n, 4);
        let report = neon.executions().agent_performance(&f.agent.id, Some(at(5_000)), Some(at(5_000))).await.unwrap();
        assert_eq!(report.total, 1);
        assert_eq!(report.p95_duration_ms, Some(2_250));
        assert_eq!(report.recent_completed.as_slice(), std::slice::from_ref(&done));

        // Completion time defaults to now, never before the start.
        let other = neon.executions().start(NewExecution::new(&f.agent.id, "now")).await.unwrap();
        let t0 = Timestamp::now();
        let cancelled = neon.executions().complete(&other.id, Completion::new(ExecutionStatus::Cancelled)).await.unwrap();
        let completed_at = cancelled.completed_at.unwrap();
        assert!(completed_at >= other.started_at && completed_at >= t0 && completed_at <= Timestamp::now());
        assert_eq!(cancelled.status, ExecutionStatus::Cancelled);
        let deleted = neon.executions().delete(&other.id).await.unwrap();
        assert_eq!(deleted, cancelled);
        // Touching nothing else.
        assert_eq!(neon.agents().get(&f.agent.id).await.unwrap(), f.agent);
    }
}
