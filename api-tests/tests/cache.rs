//! The query cache on both backends: hits run no SQL, TTLs, invalidation
//! after every kind of write (and only then), transactions, coalescing,
//! failed loads, the weight bound, and statistics.
//!
//! These count exact hits, misses and statements of one handle, so they
//! run with the change feed off: on PostgreSQL the feed also delivers the
//! handle's own commits a few milliseconds later, and that second,
//! asynchronous invalidation (correct, but a timing-dependent extra miss)
//! would make the counts racy. `feed.rs` tests the feed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;
use std::time::Duration;

use api_tests::{TestDb, both_backends};
use entity::Timestamp;
use entity::enums::*;
use sea_orm::ConnectionTrait;
use service::cache::ManualClock;
use service::prelude::*;
use service::{
    Completion, Config, FeedMode, LeadUpdate, NeonDb, NewAgent, NewAnalytics, NewCampaign,
    NewContent, NewExecution, NewLead, NewTrend, NewUser, QueryName,
};

async fn handle(db: &TestDb) -> NeonDb {
    db.migrate().await;
    db.service_with(no_feed()).await
}

/// Settings without the change feed (see the module docs).
fn no_feed() -> Config {
    Config::new("").with_change_feed(FeedMode::Off)
}

/// Statements the handle ran during `f`.
macro_rules! statements {
    ($neon:expr, $body:expr) => {{
        let before = $neon.metrics().statements_total();
        let out = $body;
        (out, $neon.metrics().statements_total() - before)
    }};
}

async fn user(neon: &NeonDb, email: &str, role: UserRole) -> entity::user::Model {
    let mut u = NewUser::new(email);
    u.role = role;
    neon.users().create(u).await.unwrap()
}

both_backends! {
    async fn a_hit_runs_no_sql(db) {
        let neon = handle(&db).await;
        user(&neon, "a@x.io", UserRole::Admin).await;
        let (first, n1) = statements!(neon, neon.users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!(n1, 1, "a miss runs the query");
        let (second, n2) = statements!(neon, neon.users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!(n2, 0, "a hit runs no SQL");
        assert!(Arc::ptr_eq(&first, &second), "a hit shares the cached rows, no copy");
        let stats = neon.cache().stats();
        assert_eq!((stats.hits, stats.misses), (1, 1));
        // Bypass and the global switch both go to the database.
        let (_, n3) = statements!(neon, neon.uncached().users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!(n3, 1);
        neon.cache().set_enabled(false);
        let (_, n4) = statements!(neon, neon.users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!(n4, 1);
        assert_eq!(neon.cache().stats().bypasses, 2);
    }

    async fn entries_expire_after_their_ttl(db) {
        db.migrate().await;
        let clock = Arc::new(ManualClock::default());
        let neon = db
            .service_with(
                no_feed()
                    .with_cache_clock(clock.clone())
                    .with_cache_ttl(QueryName::TrendingKeywords, Duration::from_secs(60)),
            )
            .await;
        neon.trends().create(NewTrend::new("ai", Platform::Tiktok, 9.0)).await.unwrap();
        neon.trends().trending(None, None, None).await.unwrap();
        clock.advance(Duration::from_secs(59));
        let (_, n) = statements!(neon, neon.trends().trending(None, None, None).await.unwrap());
        assert_eq!(n, 0, "fresh at 59 s");
        clock.advance(Duration::from_secs(2));
        let (_, n) = statements!(neon, neon.trends().trending(None, None, None).await.unwrap());
        assert_eq!(n, 1, "expired at 61 s");
        let stats = neon.cache().stats();
        assert_eq!(stats.expirations, 1);
        assert_eq!(stats.misses, 2);
        // Other families keep their own (default, longer) TTL.
        neon.users().by_role(UserRole::User, None).await.unwrap();
        clock.advance(Duration::from_secs(120));
        let (_, n) = statements!(neon, neon.users().by_role(UserRole::User, None).await.unwrap());
        assert_eq!(n, 0, "users_by_role lives 5 minutes");
    }

    async fn every_kind_of_write_invalidates_what_it_changes(db) {
        let neon = handle(&db).await;
        let owner = user(&neon, "owner@x.io", UserRole::Manager).await;
        let other = user(&neon, "other@x.io", UserRole::Manager).await;
        let agent = neon.agents().create(NewAgent::new("w", AgentType::Content)).await.unwrap();
        let camp = neon.campaigns().create(NewCampaign::new(&owner.id, "c", CampaignType::Ads)).await.unwrap();
        let other_camp = neon.campaigns().create(NewCampaign::new(&other.id, "o", CampaignType::Ads)).await.unwrap();
        let from = Timestamp::from(chrono::Utc::now() - chrono::Duration::days(30));
        let to = Timestamp::from(chrono::Utc::now() + chrono::Duration::days(1));
        let daily = Some("daily");

        // Reads through the cache must equal reads that bypass it.
        macro_rules! fresh {
            ($call:ident ( $($arg:expr),* ) on $repo:ident) => {{
                let cached = neon.$repo().$call($($arg),*).await.unwrap();
                let direct = neon.uncached().$repo().$call($($arg),*).await.unwrap();
                assert_eq!(cached, direct, "{} is stale", stringify!($call));
                cached
            }};
        }
        macro_rules! warm_all {
            () => {{
                fresh!(by_role(UserRole::Manager, None) on users);
                fresh!(by_user_and_status(&owner.id, None, None) on campaigns);
                fresh!(by_user_and_status(&other.id, None, None) on campaigns);
                fresh!(agent_performance(&agent.id, None, None) on executions);
                fresh!(campaign_analytics(&camp.id, None, None, None) on analytics);
                fresh!(time_series(AnalyticsType::Reach, "daily", from, to) on analytics);
                fresh!(high_value(None, None) on leads);
                fresh!(trending(Some(Platform::Tiktok), None, None) on trends);
                fresh!(by_platform_and_status(Platform::Linkedin, None, None) on contents);
            }};
        }
        warm_all!();

        // New analytics row for `camp`: its analytics, its owner's list and
        // the series change; the other user's list does not.
        let mut a = NewAnalytics::new(AnalyticsType::Reach, serde_json::json!({"v": 1}));
        a.campaign_id = Some(camp.id.clone());
        a.period = daily.map(str::to_owned);
        neon.analytics().create(a).await.unwrap();
        let (_, n) = statements!(neon, neon.campaigns().by_user_and_status(&other.id, None, None).await.unwrap());
        assert_eq!(n, 0, "the other user's list stayed cached");
        warm_all!();

        // Campaign status change, execution start and complete, lead score,
        // new trend, content and user writes: each read stays fresh.
        neon.campaigns().set_status(&camp.id, CampaignStatus::Active).await.unwrap();
        warm_all!();
        let e = neon.executions().start(NewExecution::new(&agent.id, "t")).await.unwrap();
        warm_all!();
        let mut done = Completion::new(ExecutionStatus::Completed);
        done.performance = Some(0.8);
        neon.executions().complete(&e.id, done).await.unwrap();
        warm_all!();
        let lead = neon.leads().create(NewLead { email: "l@x.io".into(), score: Some(9.0), ..NewLead::default() }).await.unwrap();
        warm_all!();
        neon.leads().update(&lead.id, LeadUpdate { score: Some(Some(3.0)), ..LeadUpdate::default() }).await.unwrap();
        warm_all!();
        neon.trends().create(NewTrend::new("k", Platform::Tiktok, 7.5)).await.unwrap();
        warm_all!();
        neon.contents().create(NewContent::new("t", ContentType::Post, Platform::Linkedin, serde_json::json!({}))).await.unwrap();
        warm_all!();
        user(&neon, "third@x.io", UserRole::Manager).await;
        warm_all!();
        neon.campaigns().delete(&other_camp.id).await.unwrap();
        warm_all!();
        assert!(neon.cache().stats().invalidations > 0);
    }

    async fn unrelated_writes_keep_entries(db) {
        let neon = handle(&db).await;
        let u = user(&neon, "u@x.io", UserRole::Admin).await;
        let agent = neon.agents().create(NewAgent::new("w", AgentType::Ad)).await.unwrap();
        neon.users().by_role(UserRole::Admin, None).await.unwrap();
        neon.trends().trending(Some(Platform::Youtube), None, None).await.unwrap();
        neon.executions().agent_performance(&agent.id, None, None).await.unwrap();
        // A lead below every threshold, a trend on another platform, a
        // viewer: none of these results can change.
        neon.leads().create(NewLead { email: "l@x.io".into(), score: Some(1.0), ..NewLead::default() }).await.unwrap();
        neon.trends().create(NewTrend::new("k", Platform::Tiktok, 9.0)).await.unwrap();
        user(&neon, "v@x.io", UserRole::Viewer).await;
        let mut c = NewCampaign::new(&u.id, "c", CampaignType::Email);
        c.status = CampaignStatus::Active;
        neon.campaigns().create(c).await.unwrap();
        let (_, n) = statements!(neon, {
            neon.users().by_role(UserRole::Admin, None).await.unwrap();
            neon.trends().trending(Some(Platform::Youtube), None, None).await.unwrap();
            neon.executions().agent_performance(&agent.id, None, None).await.unwrap()
        });
        assert_eq!(n, 0, "precise invalidation kept all three");
    }

    async fn transactions_invalidate_at_commit_and_not_on_rollback(db) {
        let neon = handle(&db).await;
        user(&neon, "a@x.io", UserRole::Admin).await;
        let before = neon.users().by_role(UserRole::Admin, None).await.unwrap();

        let tx = neon.begin().await.unwrap();
        let mut u = NewUser::new("b@x.io");
        u.role = UserRole::Admin;
        tx.users().create(u).await.unwrap();
        // Inside the transaction its own write is visible...
        assert_eq!(tx.users().by_role(UserRole::Admin, None).await.unwrap().len(), 2);
        // ...outside, the committed state, still from the cache.
        let (outside, n) = statements!(neon, neon.users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!((outside.len(), n), (1, 0));
        tx.rollback().await.unwrap();
        let (after, n) = statements!(neon, neon.users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!(n, 0, "a rollback leaves the entry valid");
        assert_eq!(after, before);

        let tx = neon.begin().await.unwrap();
        let mut u = NewUser::new("c@x.io");
        u.role = UserRole::Admin;
        tx.users().create(u).await.unwrap();
        tx.commit().await.unwrap();
        let (after, n) = statements!(neon, neon.users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!((after.len(), n), (2, 1), "no stale read after commit");

        // A transaction dropped without commit rolls back and reports nothing.
        {
            let tx = neon.begin().await.unwrap();
            let mut u = NewUser::new("d@x.io");
            u.role = UserRole::Admin;
            tx.users().create(u).await.unwrap();
        }
        let (after, n) = statements!(neon, neon.users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!((after.len(), n), (2, 0));
    }

    async fn concurrent_misses_of_one_key_run_one_statement(db) {
        let neon = handle(&db).await;
        for i in 0..50 {
            neon.leads().create(NewLead { email: format!("l{i}@x.io"), score: Some(f64::from(i % 10)), ..NewLead::default() }).await.unwrap();
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(64));
        let before = neon.metrics().statements_total();
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let neon = neon.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                neon.leads().high_value(Some(5.0), Some(20)).await.unwrap()
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        assert_eq!(neon.metrics().statements_total() - before, 1, "64 concurrent misses, one statement");
        assert!(results.iter().all(|r| Arc::ptr_eq(r, &results[0])));
        let stats = neon.cache().stats();
        assert_eq!(stats.misses, 1);
        assert_eq!(stats.hits + stats.coalesced, 63);
    }

    async fn a_failed_load_does_not_poison_the_key(db) {
        let neon = handle(&db).await;
        user(&neon, "a@x.io", UserRole::Admin).await;
        db.conn.execute_unprepared(r#"ALTER TABLE "users" RENAME TO "users_away""#).await.unwrap();
        let err = neon.users().by_role(UserRole::Admin, None).await.unwrap_err();
        assert!(matches!(err, service::Error::Database(_)), "{err:?}");
        assert_eq!(neon.metrics_snapshot().queries[0].errors, 1);
        db.conn.execute_unprepared(r#"ALTER TABLE "users_away" RENAME TO "users""#).await.unwrap();
        let rows = neon.users().by_role(UserRole::Admin, None).await.unwrap();
        assert_eq!(rows.len(), 1, "the next caller loads");
        let (_, n) = statements!(neon, neon.users().by_role(UserRole::Admin, None).await.unwrap());
        assert_eq!(n, 0, "and its result is cached");
    }

    async fn the_weight_bound_holds(db) {
        db.migrate().await;
        let capacity = 256 * 1024;
        let neon = db.service_with(no_feed().with_cache_capacity_bytes(capacity)).await;
        let big = serde_json::json!({"body": "x".repeat(8 * 1024)});
        for i in 0..40 {
            let mut c = NewContent::new(format!("t{i}"), ContentType::Blog, Platform::ALL[i % 11], big.clone());
            c.status = ContentStatus::ALL[i % 4];
            neon.contents().create(c).await.unwrap();
        }
        let mut distinct = 0;
        for platform in Platform::ALL {
            for status in std::iter::once(None).chain(ContentStatus::ALL.iter().copied().map(Some)) {
                for limit in [5, 10, 50] {
                    neon.contents().by_platform_and_status(*platform, status, Some(limit)).await.unwrap();
                    distinct += 1;
                    let stats = neon.cache().stats();
                    assert!(stats.weight <= capacity, "weight {} over {capacity}", stats.weight);
                }
            }
        }
        let stats = neon.cache().stats();
        assert!(stats.entries < distinct, "{} entries of {distinct} results: some were evicted", stats.entries);
        assert!(stats.weight > capacity / 4, "large results are weighed by their size ({})", stats.weight);
    }

    async fn statistics_add_up(db) {
        let neon = handle(&db).await;
        user(&neon, "a@x.io", UserRole::User).await;
        for _ in 0..5 {
            neon.users().by_role(UserRole::User, None).await.unwrap();
        }
        for _ in 0..3 {
            neon.users().by_role(UserRole::Admin, Some(10)).await.unwrap();
        }
        neon.uncached().users().by_role(UserRole::User, None).await.unwrap();
        let stats = neon.cache().stats();
        assert_eq!((stats.hits, stats.misses, stats.coalesced, stats.bypasses), (6, 2, 0, 1));
        assert_eq!(stats.entries, 2);
        assert!((stats.hit_rate - 0.75).abs() < 1e-9);
        let snap = neon.metrics_snapshot();
        let q = &snap.queries[0];
        assert_eq!(q.query, "users_by_role");
        assert_eq!((q.calls, q.hits, q.misses, q.bypasses), (9, 6, 2, 1));
        assert_eq!(snap.cache.hits, 6);
        let selects = snap.operations.iter().find(|o| o.operation == "SELECT").unwrap();
        assert!(selects.count >= 3);
        assert!(selects.p50_ms <= selects.p95_ms && selects.p95_ms <= selects.p99_ms);
    }

    async fn warming_loads_in_the_background(db) {
        let neon = handle(&db).await;
        user(&neon, "a@x.io", UserRole::Admin).await;
        let keys: Vec<service::Query> = UserRole::ALL
            .iter()
            .map(|r| service::queries::DashboardQuery::key(&service::queries::UsersByRole::new(*r, None).unwrap()))
            .chain(Platform::ALL.iter().map(|p| {
                service::queries::DashboardQuery::key(&service::queries::TrendingKeywords::new(Some(*p), None, None).unwrap())
            }))
            .collect();
        let report = neon.warm(keys.clone()).await.unwrap();
        assert_eq!(report.loaded, keys.len());
        assert!(keys.iter().all(|k| neon.cache().contains(k)));
        let (_, n) = statements!(neon, neon.users().by_role(UserRole::Viewer, None).await.unwrap());
        assert_eq!(n, 0, "warmed");
    }
}
