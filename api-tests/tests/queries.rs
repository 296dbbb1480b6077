//! The eight dashboard queries of SPEC §4 against an oracle, on both
//! backends.
//!
//! Each test seeds a few hundred rows (mostly with controlled ids and
//! timestamps, some through the service's own writes) with deliberate ties
//! (equal `createdAt` / `score` / `date`), NULLs and every enum value,
//! computes the expected answer in Rust from the same rows, and compares
//! every optional-filter combination and limit (1, 1000, the default)
//! exactly, ordering and tie-breaks (`id` descending last) included.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::collections::BTreeMap;

use api_tests::both_backends;
use chrono::NaiveDate;
use entity::enums::*;
use entity::{DbList, Timestamp};
use entity::{agent, agent_execution, analytics, campaign, content, lead, trend, user};
use serde_json::json;
use service::queries::{
    CampaignAnalytics, CampaignsByUserAndStatus, ContentByPlatformAndStatus, HighValueLeads,
    TrendingKeywords, UsersByRole,
};
use service::{
    AnalyticsRepository, CampaignRepository, Completion, ContentRepository, ExecutionRepository,
    LeadRepository, NewAnalytics, NewContent, NewExecution, NewLead, NewTrend, NewUser,
    TrendRepository, UserRepository,
};
use support::{Rng, all, at, base, close, insert, instants, plus, same};

/// Limits every list query is checked with; `None` is the default.
const LIMITS: [Option<u64>; 4] = [None, Some(1), Some(7), Some(1000)];

fn take<T>(mut rows: Vec<T>, limit: Option<u64>, default: u64) -> Vec<T> {
    rows.truncate(limit.unwrap_or(default) as usize);
    rows
}

/// Whether two neighbours of `rows` tie on `key`: the data exercises the
/// tie-break.
fn has_tie<T, K: PartialEq>(rows: &[T], key: impl Fn(&T) -> K) -> bool {
    rows.windows(2).any(|w| key(&w[0]) == key(&w[1]))
}

fn sorted_by_id<T: Clone>(rows: &[T], id: impl Fn(&T) -> &str) -> Vec<T> {
    let mut v = rows.to_vec();
    v.sort_by(|a, b| id(a).cmp(id(b)));
    v
}

fn user_model(i: usize, id: String, role: UserRole, created_at: Timestamp) -> user::Model {
    user::Model {
        id,
        email: format!("user{i}@example.com"),
        name: (!i.is_multiple_of(5)).then(|| format!("User {i}")),
        role,
        avatar: None,
        email_verified: i.is_multiple_of(3).then_some(created_at),
        created_at,
        updated_at: created_at,
    }
}

fn agent_model(id: &str) -> agent::Model {
    agent::Model {
        id: id.to_owned(),
        name: format!("agent {id}"),
        r#type: AgentType::Content,
        status: AgentStatus::Active,
        capabilities: None,
        settings: None,
        version: "1.0.0".to_owned(),
        created_at: base(),
        updated_at: base(),
    }
}

both_backends! {
    async fn users_by_role(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = Rng::new(1);
        let pool = instants(40);
        let perm = rng.permutation(320);
        let mut rows: Vec<user::Model> = (0..320)
            .map(|i| {
                // Every role, USER most common; few distinct instants.
                let role = if i < UserRole::ALL.len() {
                    UserRole::ALL[i]
                } else if rng.chance(40) {
                    UserRole::User
                } else {
                    rng.pick(UserRole::ALL)
                };
                user_model(i, format!("u{:04}", perm[i]), role, rng.pick(&pool))
            })
            .collect();
        insert(&db.conn, rows.clone()).await;
        // Some through the service as well (generated ids, now).
        for (k, role) in UserRole::ALL.iter().enumerate() {
            let mut input = NewUser::new(format!("svc{k}@example.com"));
            input.role = *role;
            input.name = Some(format!("svc {k}"));
            rows.push(neon.users().create(input).await.unwrap());
        }
        assert_eq!(all::<user::Entity>(&db.conn).await, sorted_by_id(&rows, |u| &u.id));

        let mut saw_tie = false;
        for role in UserRole::ALL {
            let mut matching: Vec<user::Model> =
                rows.iter().filter(|u| u.role == *role).cloned().collect();
            matching.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
            saw_tie |= has_tie(&matching, |u| u.created_at);
            for limit in LIMITS {
                let got = neon.users().by_role(*role, limit).await.unwrap();
                let expected = take(matching.clone(), limit, UsersByRole::DEFAULT_LIMIT);
                same(&got, &expected, |u| u.id.clone(), &format!("users_by_role({role}, {limit:?})"));
            }
        }
        assert!(saw_tie, "the data must tie on createdAt");
        assert!(
            rows.iter().filter(|u| u.role == UserRole::User).count() > UsersByRole::DEFAULT_LIMIT as usize,
            "the default limit must cut"
        );
    }

    async fn campaigns_by_user_and_status(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = Rng::new(2);
        let users: Vec<user::Model> = (0..8)
            .map(|i| user_model(i, format!("u{i}"), UserRole::User, base()))
            .collect();
        insert(&db.conn, users.clone()).await;
        let pool = instants(30);
        let perm = rng.permutation(420);
        let campaigns: Vec<campaign::Model> = (0..420)
            .map(|i| {
                // u0 owns ~40% (more than the default limit per status).
                let owner = if rng.chance(40) { 0 } else { 1 + rng.index(6) };
                let created = rng.pick(&pool);
                campaign::Model {
                    id: format!("c{:04}", perm[i]),
                    name: format!("campaign {i}"),
                    description: rng.chance(50).then(|| format!("about {i}")),
                    r#type: if i < CampaignType::ALL.len() {
                        CampaignType::ALL[i]
                    } else {
                        rng.pick(CampaignType::ALL)
                    },
                    status: if i < CampaignStatus::ALL.len() {
                        CampaignStatus::ALL[i]
                    } else {
                        rng.pick(CampaignStatus::ALL)
                    },
                    budget: rng.chance(70).then(|| rng.below(100_000) as f64 / 4.0),
                    start_date: rng.chance(50).then_some(created),
                    end_date: None,
                    target_audience: rng.chance(30).then(|| json!({"age": [18, 34]})).map(entity::Json),
                    platforms: DbList((0..rng.index(3)).map(|_| rng.pick(Platform::ALL)).collect()),
                    metrics: None,
                    settings: None,
                    created_at: created,
                    updated_at: created,
                    user_id: users[owner].id.clone(),
                    user_id2: rng.chance(20).then(|| users[7].id.clone()),
                }
            })
            .collect();
        insert(&db.conn, campaigns.clone()).await;
        let date_pool = instants(20);
        let aperm = rng.permutation(900);
        let analytics_rows: Vec<analytics::Model> = (0..900)
            .map(|i| analytics::Model {
                id: format!("a{:04}", aperm[i]),
                // Skewed: some campaigns have many rows (ties on date), some
                // none; some rows belong to no campaign.
                campaign_id: (!rng.chance(10)).then(|| {
                    let k = if rng.chance(50) { rng.index(20) } else { rng.index(campaigns.len()) };
                    campaigns[k].id.clone()
                }),
                user_id: rng.chance(50).then(|| users[rng.index(users.len())].id.clone()),
                r#type: rng.pick(AnalyticsType::ALL),
                data: entity::Json(json!({"n": i})),
                period: rng.chance(70).then(|| "daily".to_owned()),
                date: rng.pick(&date_pool),
                metadata: None,
            })
            .collect();
        insert(&db.conn, analytics_rows.clone()).await;
        assert_eq!(all::<campaign::Entity>(&db.conn).await, sorted_by_id(&campaigns, |c| &c.id));
        assert_eq!(all::<analytics::Entity>(&db.conn).await, sorted_by_id(&analytics_rows, |a| &a.id));

        let latest = |c: &campaign::Model| -> Option<analytics::Model> {
            analytics_rows
                .iter()
                .filter(|a| a.campaign_id.as_deref() == Some(c.id.as_str()))
                .max_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)))
                .cloned()
        };
        let mut statuses: Vec<Option<CampaignStatus>> = vec![None];
        statuses.extend(CampaignStatus::ALL.iter().copied().map(Some));
        let mut user_ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        user_ids.push("nobody".to_owned());
        let (mut saw_tie, mut saw_latest, mut saw_none) = (false, false, false);
        for uid in &user_ids {
            for status in &statuses {
                let mut matching: Vec<&campaign::Model> = campaigns
                    .iter()
                    .filter(|c| &c.user_id == uid && status.is_none_or(|s| c.status == s))
                    .collect();
                matching.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
                saw_tie |= has_tie(&matching, |c| c.created_at);
                for limit in LIMITS {
                    let got = neon.campaigns().by_user_and_status(uid, *status, limit).await.unwrap();
                    let expected: Vec<(campaign::Model, Option<analytics::Model>)> =
                        take(matching.clone(), limit, CampaignsByUserAndStatus::DEFAULT_LIMIT)
                            .into_iter()
                            .map(|c| (c.clone(), latest(c)))
                            .collect();
                    let got: Vec<(campaign::Model, Option<analytics::Model>)> = got
                        .iter()
                        .map(|r| (r.campaign.clone(), r.latest_analytics.clone()))
                        .collect();
                    saw_latest |= got.iter().any(|(_, a)| a.is_some());
                    saw_none |= got.iter().any(|(_, a)| a.is_none());
                    same(
                        &got,
                        &expected,
                        |(c, a)| format!("{} / {:?}", c.id, a.as_ref().map(|a| &a.id)),
                        &format!("campaigns_by_user_and_status({uid}, {status:?}, {limit:?})"),
                    );
                }
            }
        }
        assert!(saw_tie && saw_latest && saw_none, "the data must exercise ties, analytics and none");
        // Ties on the latest analytics date are broken by id.
        assert!(
            campaigns.iter().any(|c| {
                let mine: Vec<_> = analytics_rows
                    .iter()
                    .filter(|a| a.campaign_id.as_deref() == Some(c.id.as_str()))
                    .collect();
                let max = mine.iter().map(|a| a.date).max();
                mine.iter().filter(|a| Some(a.date) == max).count() > 1
            }),
            "some campaign must have two analytics rows on its latest date"
        );
    }

    async fn agent_performance(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = Rng::new(3);
        insert(&db.conn, vec![agent_model("ag-a"), agent_model("ag-b"), agent_model("ag-idle")]).await;
        // The bounds, at whole seconds (ms = 0).
        let from = at(10 * 60_000);
        let to = at(50 * 60_000);
        let pool: Vec<Timestamp> = instants(70)
            .into_iter()
            .chain([from, to, plus(from, -1), plus(from, 1), plus(to, -1), plus(to, 1)])
            .collect();
        let durations = [0i64, 1, 999, 1000, 1500, 60_000, 61_234, 3_600_000, 40 * 86_400_000 + 1];
        let perm = rng.permutation(500);
        let mut rows: Vec<agent_execution::Model> = (0..500)
            .map(|i| {
                let status = if i < ExecutionStatus::ALL.len() {
                    ExecutionStatus::ALL[i]
                } else {
                    rng.pick(ExecutionStatus::ALL)
                };
                // Rows exactly at and just outside each bound, for every status.
                let started_at = match i % 50 {
                    0 => from,
                    1 => to,
                    2 => plus(from, -1),
                    3 => plus(to, 1),
                    _ => rng.pick(&pool),
                };
                let finished = matches!(
                    status,
                    ExecutionStatus::Completed | ExecutionStatus::Failed | ExecutionStatus::Cancelled
                );
                let completed_at = if (finished && !rng.chance(10)) || (!finished && rng.chance(10)) {
                    let d = if rng.chance(50) { rng.pick(&durations) } else { rng.below(600_000) as i64 };
                    Some(plus(started_at, d))
                } else {
                    None
                };
                agent_execution::Model {
                    id: format!("e{:04}", perm[i]),
                    agent_id: if rng.chance(80) { "ag-a" } else { "ag-b" }.to_owned(),
                    campaign_id: None,
                    user_id: None,
                    task: format!("task {}", i % 7),
                    payload: None,
                    result: None,
                    status,
                    performance: rng.chance(70).then(|| rng.below(10_000) as f64 / 100.0),
                    error: None,
                    started_at,
                    completed_at,
                    metadata: None,
                }
            })
            .collect();
        insert(&db.conn, rows.clone()).await;
        // Some through the service's start / complete, at the bounds too.
        for (k, (start, status)) in [
            (from, ExecutionStatus::Completed),
            (to, ExecutionStatus::Completed),
            (plus(to, 1), ExecutionStatus::Completed),
            (plus(from, -1), ExecutionStatus::Failed),
            (at(20 * 60_000), ExecutionStatus::Cancelled),
        ]
        .into_iter()
        .enumerate()
        {
            let mut input = NewExecution::new("ag-a", format!("service task {k}"));
            input.started_at = Some(start);
            let started = neon.executions().start(input).await.unwrap();
            let mut done = Completion::new(status);
            done.performance = Some(k as f64 + 0.5);
            done.completed_at = Some(plus(start, 1234 * k as i64));
            rows.push(neon.executions().complete(&started.id, done).await.unwrap());
        }
        let mut running = NewExecution::new("ag-a", "still running");
        running.started_at = Some(to);
        rows.push(neon.executions().start(running).await.unwrap());
        assert_eq!(all::<agent_execution::Entity>(&db.conn).await, sorted_by_id(&rows, |e| &e.id));

        let ranges = [
            (None, None),
            (Some(from), None),
            (None, Some(to)),
            (Some(from), Some(to)),
            (Some(from), Some(from)),
            (Some(to), Some(to)),
            (Some(plus(from, 1)), Some(plus(to, -1))),
            (Some(at(-86_400_000)), Some(at(-1))),
        ];
        for agent_id in ["ag-a", "ag-b", "ag-idle"] {
            for (lo, hi) in ranges {
                let ctx = format!("agent_performance({agent_id}, {lo:?}, {hi:?})");
                let got = neon.executions().agent_performance(agent_id, lo, hi).await.unwrap();
                let mine: Vec<&agent_execution::Model> = rows
                    .iter()
                    .filter(|e| {
                        e.agent_id == agent_id
                            && lo.is_none_or(|f| e.started_at >= f)
                            && hi.is_none_or(|t| e.started_at <= t)
                    })
                    .collect();
                let count = |s: ExecutionStatus| mine.iter().filter(|e| e.status == s).count() as u64;
                assert_eq!(got.total, mine.len() as u64, "{ctx}: total");
                let by_status: Vec<(ExecutionStatus, u64)> =
                    got.by_status.iter().map(|s| (s.status, s.count)).collect();
                let expected_by_status: Vec<(ExecutionStatus, u64)> =
                    ExecutionStatus::ALL.iter().map(|s| (*s, count(*s))).collect();
                assert_eq!(by_status, expected_by_status, "{ctx}: counts per status");
                let finished = count(ExecutionStatus::Completed)
                    + count(ExecutionStatus::Failed)
                    + count(ExecutionStatus::Cancelled);
                close(
                    got.success_rate,
                    (finished > 0).then(|| count(ExecutionStatus::Completed) as f64 / finished as f64),
                    &format!("{ctx}: success rate"),
                );
                let mut durs: Vec<i64> = mine
                    .iter()
                    .filter_map(|e| e.completed_at.map(|c| c.timestamp_millis() - e.started_at.timestamp_millis()))
                    .collect();
                durs.sort_unstable();
                close(
                    got.avg_duration_ms,
                    (!durs.is_empty()).then(|| durs.iter().sum::<i64>() as f64 / durs.len() as f64),
                    &format!("{ctx}: average duration"),
                );
                let rank = (95 * durs.len()).div_ceil(100);
                assert_eq!(
                    got.p95_duration_ms,
                    (rank > 0).then(|| durs[rank - 1]),
                    "{ctx}: p95 duration (nearest rank {rank} of {})",
                    durs.len()
                );
                let perfs: Vec<f64> = mine.iter().filter_map(|e| e.performance).collect();
                close(
                    got.avg_performance,
                    (!perfs.is_empty()).then(|| perfs.iter().sum::<f64>() / perfs.len() as f64),
                    &format!("{ctx}: average performance"),
                );
                let mut completed: Vec<agent_execution::Model> = mine
                    .iter()
                    .filter(|e| e.status == ExecutionStatus::Completed)
                    .map(|e| (*e).clone())
                    .collect();
                completed.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| b.id.cmp(&a.id)));
                completed.truncate(20);
                same(&got.recent_completed, &completed, |e| e.id.clone(), &format!("{ctx}: recent"));
                // Independently of the oracle: nothing outside the bounds.
                for e in &got.recent_completed {
                    assert!(lo.is_none_or(|f| e.started_at >= f), "{ctx}: {} before from", e.id);
                    assert!(hi.is_none_or(|t| e.started_at <= t), "{ctx}: {} after to", e.id);
                }
                if agent_id == "ag-a" && lo == Some(from) && hi == Some(to) {
                    assert!(got.total > 100 && durs.len() > 40, "{ctx}: the range must hold data");
                    assert_eq!(got.recent_completed[0].started_at, to, "{ctx}: a row at `to` is included");
                    assert!(has_tie(&completed, |e| e.started_at), "{ctx}: ties on startedAt");
                }
                if lo == Some(from) && hi == Some(from) && agent_id == "ag-a" {
                    assert!(got.total > 0, "{ctx}: rows exactly at `from` are included");
                }
            }
        }
    }

    async fn campaign_analytics(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = Rng::new(4);
        insert(&db.conn, vec![user_model(0, "u0".into(), UserRole::User, base())]).await;
        let campaigns: Vec<campaign::Model> = (0..4)
            .map(|i| campaign::Model {
                id: format!("c{i}"),
                name: format!("campaign {i}"),
                description: None,
                r#type: CampaignType::Ads,
                status: CampaignStatus::Active,
                budget: None,
                start_date: None,
                end_date: None,
                target_audience: None,
                platforms: DbList::default(),
                metrics: None,
                settings: None,
                created_at: base(),
                updated_at: base(),
                user_id: "u0".into(),
                user_id2: None,
            })
            .collect();
        insert(&db.conn, campaigns.clone()).await;
        let periods = [Some("daily"), Some("weekly"), Some("monthly"), None];
        let pool = instants(25);
        let perm = rng.permutation(600);
        let mut rows: Vec<analytics::Model> = (0..600)
            .map(|i| analytics::Model {
                id: format!("a{:04}", perm[i]),
                // c0 holds half the rows: more than the default limit.
                campaign_id: Some(if rng.chance(50) { "c0".to_owned() } else { format!("c{}", 1 + rng.index(3)) }),
                user_id: rng.chance(30).then(|| "u0".to_owned()),
                r#type: if i < AnalyticsType::ALL.len() { AnalyticsType::ALL[i] } else { rng.pick(AnalyticsType::ALL) },
                data: entity::Json(json!({"value": i, "nested": {"k": [1, 2]}})),
                period: rng.pick(&periods).map(str::to_owned),
                date: rng.pick(&pool),
                metadata: rng.chance(20).then(|| json!({"src": "test"})).map(entity::Json),
            })
            .collect();
        insert(&db.conn, rows.clone()).await;
        for (k, date) in pool.iter().take(5).enumerate() {
            let mut input = NewAnalytics::new(AnalyticsType::Reach, json!({"svc": k}));
            input.campaign_id = Some("c1".into());
            input.period = Some("weekly".into());
            input.date = Some(*date);
            rows.push(neon.analytics().create(input).await.unwrap());
        }
        assert_eq!(all::<analytics::Entity>(&db.conn).await, sorted_by_id(&rows, |a| &a.id));

        let mut types: Vec<Option<AnalyticsType>> = vec![None];
        types.extend(AnalyticsType::ALL.iter().copied().map(Some));
        let filter_periods = [None, Some("daily"), Some("weekly"), Some("monthly"), Some("hourly")];
        let mut saw_tie = false;
        for cid in ["c0", "c1", "c2", "c3", "c-none"] {
            for t in &types {
                for p in filter_periods {
                    let mut matching: Vec<analytics::Model> = rows
                        .iter()
                        .filter(|a| {
                            a.campaign_id.as_deref() == Some(cid)
                                && t.is_none_or(|t| a.r#type == t)
                                && p.is_none_or(|p| a.period.as_deref() == Some(p))
                        })
                        .cloned()
                        .collect();
                    matching.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| b.id.cmp(&a.id)));
                    saw_tie |= has_tie(&matching, |a| a.date);
                    for limit in [None, Some(1), Some(1000)] {
                        let got = neon.analytics().campaign_analytics(cid, *t, p, limit).await.unwrap();
                        let expected = take(matching.clone(), limit, CampaignAnalytics::DEFAULT_LIMIT);
                        same(&got, &expected, |a| a.id.clone(), &format!("campaign_analytics({cid}, {t:?}, {p:?}, {limit:?})"));
                    }
                }
            }
        }
        assert!(saw_tie, "the data must tie on date");
        assert!(
            rows.iter().filter(|a| a.campaign_id.as_deref() == Some("c0")).count()
                > CampaignAnalytics::DEFAULT_LIMIT as usize,
            "the default limit must cut"
        );
    }

    async fn analytics_time_series(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = Rng::new(5);
        const DAY: i64 = 86_400_000;
        // Offsets within a day: midnight, the last millisecond, whole
        // seconds and odd milliseconds.
        let offsets = [0, 1, 999, 1000, 6 * 3_600_000, 12 * 3_600_000 + 345, DAY - 1000, DAY - 1];
        let periods = [Some("daily"), Some("weekly"), None];
        let perm = rng.permutation(700);
        let mut rows: Vec<analytics::Model> = (0..700)
            .map(|i| analytics::Model {
                id: format!("t{:04}", perm[i]),
                campaign_id: None,
                user_id: None,
                r#type: if i < AnalyticsType::ALL.len() { AnalyticsType::ALL[i] } else if rng.chance(40) { AnalyticsType::Clicks } else { rng.pick(AnalyticsType::ALL) },
                data: entity::Json(json!({})),
                period: rng.pick(&periods).map(str::to_owned),
                date: at(rng.below(12) as i64 * DAY + rng.pick(&offsets)),
                metadata: None,
            })
            .collect();
        insert(&db.conn, rows.clone()).await;
        // The bounds, at whole seconds; rows exactly at them (written by the
        // service) and one millisecond outside.
        let from = at(3 * DAY + 6 * 3_600_000);
        let to = at(9 * DAY + 18 * 3_600_000 + 30 * 60_000);
        for (k, date) in [from, to, plus(from, -1), plus(to, 1), from, to].into_iter().enumerate() {
            let mut input = NewAnalytics::new(AnalyticsType::Clicks, json!({"k": k}));
            input.period = Some("daily".into());
            input.date = Some(date);
            rows.push(neon.analytics().create(input).await.unwrap());
        }
        assert_eq!(all::<analytics::Entity>(&db.conn).await, sorted_by_id(&rows, |a| &a.id));

        let ranges = [
            (at(-DAY), at(20 * DAY)),
            (from, to),
            (from, from),
            (to, to),
            (plus(from, 1), plus(to, -1)),
            (at(5 * DAY), at(6 * DAY - 1)),
            (at(5 * DAY), at(6 * DAY)),
            (at(30 * DAY), at(31 * DAY)),
        ];
        let mut checked_bounds = false;
        for t in AnalyticsType::ALL {
            for p in ["daily", "weekly", "monthly"] {
                for (lo, hi) in ranges {
                    let got = neon.analytics().time_series(*t, p, lo, hi).await.unwrap();
                    let mut expected: BTreeMap<NaiveDate, u64> = BTreeMap::new();
                    for a in &rows {
                        if a.r#type == *t && a.period.as_deref() == Some(p) && a.date >= lo && a.date <= hi {
                            *expected.entry(a.date.date_naive()).or_default() += 1;
                        }
                    }
                    let got: Vec<(NaiveDate, u64)> = got.iter().map(|d| (d.day, d.count)).collect();
                    let expected: Vec<(NaiveDate, u64)> = expected.into_iter().collect();
                    assert_eq!(got, expected, "time_series({t}, {p}, {lo}, {hi})");
                    if *t == AnalyticsType::Clicks && p == "daily" && lo == from && hi == from {
                        // Two rows exactly at `from`, none 1 ms before.
                        assert_eq!(got, vec![(from.date_naive(), rows.iter().filter(|a| a.r#type == *t && a.period.as_deref() == Some(p) && a.date == from).count() as u64)]);
                        assert!(got[0].1 >= 2);
                        checked_bounds = true;
                    }
                }
            }
        }
        assert!(checked_bounds);
    }

    async fn high_value_leads(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = Rng::new(6);
        let scores = [None, Some(-1.0), Some(0.0), Some(3.5), Some(6.999), Some(7.0), Some(7.0), Some(8.25), Some(9.5), Some(10.0), Some(10.0)];
        let pool = instants(20);
        let perm = rng.permutation(400);
        let mut rows: Vec<lead::Model> = (0..400)
            .map(|i| lead::Model {
                id: format!("l{:04}", perm[i]),
                email: format!("lead{i}@example.com"),
                name: rng.chance(50).then(|| format!("Lead {i}")),
                company: None,
                position: None,
                phone: None,
                source: rng.chance(50).then(|| "web".to_owned()),
                status: if i < LeadStatus::ALL.len() { LeadStatus::ALL[i] } else { rng.pick(LeadStatus::ALL) },
                score: rng.pick(&scores),
                tags: DbList((0..rng.index(3)).map(|k| format!("tag{k}")).collect()),
                metadata: None,
                created_at: rng.pick(&pool),
                updated_at: base(),
            })
            .collect();
        insert(&db.conn, rows.clone()).await;
        for k in 0..4 {
            rows.push(
                neon.leads()
                    .create(NewLead { email: format!("svc{k}@example.com"), score: Some(7.0 + k as f64), ..NewLead::default() })
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(all::<lead::Entity>(&db.conn).await, sorted_by_id(&rows, |l| &l.id));

        let mut saw_tie = false;
        for min in [None, Some(7.0), Some(0.0), Some(-5.0), Some(6.999), Some(10.0), Some(1e9)] {
            let threshold = min.unwrap_or(HighValueLeads::DEFAULT_MIN_SCORE);
            let mut matching: Vec<lead::Model> =
                rows.iter().filter(|l| l.score.is_some_and(|s| s >= threshold)).cloned().collect();
            matching.sort_by(|a, b| {
                b.score
                    .partial_cmp(&a.score)
                    .unwrap()
                    .then_with(|| b.created_at.cmp(&a.created_at))
                    .then_with(|| b.id.cmp(&a.id))
            });
            saw_tie |= has_tie(&matching, |l| (l.score.map(f64::to_bits), l.created_at));
            for limit in LIMITS {
                let got = neon.leads().high_value(min, limit).await.unwrap();
                let expected = take(matching.clone(), limit, HighValueLeads::DEFAULT_LIMIT);
                same(&got, &expected, |l| l.id.clone(), &format!("high_value_leads({min:?}, {limit:?})"));
            }
        }
        assert!(saw_tie, "the data must tie on score and createdAt");
        // A lead scoring exactly the threshold is included.
        let at_seven = neon.leads().high_value(Some(7.0), Some(1000)).await.unwrap();
        assert!(at_seven.iter().any(|l| l.score == Some(7.0)));
        assert!(at_seven.iter().all(|l| l.score.is_some_and(|s| s >= 7.0)));
    }

    async fn trending_keywords(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = Rng::new(7);
        let scores = [0.0, 2.5, 5.0, 5.0, 7.75, 9.0, 9.0, 10.0];
        let pool = instants(15);
        let perm = rng.permutation(450);
        let mut rows: Vec<trend::Model> = (0..450)
            .map(|i| trend::Model {
                id: format!("t{:04}", perm[i]),
                keyword: format!("kw{}", i % 40),
                platform: if i < Platform::ALL.len() { Platform::ALL[i] } else if rng.chance(40) { Platform::Instagram } else { rng.pick(Platform::ALL) },
                category: rng.chance(50).then(|| "tech".to_owned()),
                score: rng.pick(&scores),
                volume: rng.chance(60).then(|| rng.below(10_000) as i32),
                growth: rng.chance(60).then(|| rng.below(1000) as f64 / 10.0 - 50.0),
                data: entity::Json(json!({"i": i})),
                detected_at: rng.pick(&pool),
            })
            .collect();
        insert(&db.conn, rows.clone()).await;
        for (k, p) in [Platform::Tiktok, Platform::Instagram, Platform::MetaAds].into_iter().enumerate() {
            let mut input = NewTrend::new(format!("svc {k}"), p, 9.0);
            input.detected_at = Some(pool[k]);
            rows.push(neon.trends().create(input).await.unwrap());
        }
        assert_eq!(all::<trend::Entity>(&db.conn).await, sorted_by_id(&rows, |t| &t.id));

        let mut platforms: Vec<Option<Platform>> = vec![None];
        platforms.extend(Platform::ALL.iter().copied().map(Some));
        let mut saw_tie = false;
        for platform in &platforms {
            for min in [None, Some(5.0), Some(0.0), Some(9.0), Some(11.0)] {
                let threshold = min.unwrap_or(TrendingKeywords::DEFAULT_MIN_SCORE);
                let mut matching: Vec<trend::Model> = rows
                    .iter()
                    .filter(|t| platform.is_none_or(|p| t.platform == p) && t.score >= threshold)
                    .cloned()
                    .collect();
                matching.sort_by(|a, b| {
                    b.score
                        .partial_cmp(&a.score)
                        .unwrap()
                        .then_with(|| b.detected_at.cmp(&a.detected_at))
                        .then_with(|| b.id.cmp(&a.id))
                });
                saw_tie |= has_tie(&matching, |t| (t.score.to_bits(), t.detected_at));
                for limit in [None, Some(1), Some(1000)] {
                    let got = neon.trends().trending(*platform, min, limit).await.unwrap();
                    let expected = take(matching.clone(), limit, TrendingKeywords::DEFAULT_LIMIT);
                    same(&got, &expected, |t| t.id.clone(), &format!("trending_keywords({platform:?}, {min:?}, {limit:?})"));
                }
            }
        }
        assert!(saw_tie, "the data must tie on score and detectedAt");
    }

    async fn content_by_platform_and_status(db) {
        db.migrate().await;
        let neon = db.service().await;
        let mut rng = Rng::new(8);
        let pool = instants(25);
        let perm = rng.permutation(700);
        let mut rows: Vec<content::Model> = (0..700)
            .map(|i| {
                let created = rng.pick(&pool);
                content::Model {
                    id: format!("k{:04}", perm[i]),
                    title: format!("post {i}"),
                    r#type: if i < ContentType::ALL.len() { ContentType::ALL[i] } else { rng.pick(ContentType::ALL) },
                    platform: if i < Platform::ALL.len() { Platform::ALL[i] } else if rng.chance(40) { Platform::Instagram } else { rng.pick(Platform::ALL) },
                    content: entity::Json(json!({"body": format!("text {i}")})),
                    status: if i < ContentStatus::ALL.len() { ContentStatus::ALL[i] } else { rng.pick(ContentStatus::ALL) },
                    performance: rng.chance(50).then(|| json!({"likes": i})).map(entity::Json),
                    metadata: None,
                    created_at: created,
                    updated_at: created,
                }
            })
            .collect();
        insert(&db.conn, rows.clone()).await;
        for (k, p) in [Platform::Instagram, Platform::Youtube].into_iter().enumerate() {
            let mut input = NewContent::new(format!("svc {k}"), ContentType::Reel, p, json!({"k": k}));
            input.status = ContentStatus::Published;
            rows.push(neon.contents().create(input).await.unwrap());
        }
        assert_eq!(all::<content::Entity>(&db.conn).await, sorted_by_id(&rows, |c| &c.id));

        let mut statuses: Vec<Option<ContentStatus>> = vec![None];
        statuses.extend(ContentStatus::ALL.iter().copied().map(Some));
        let mut saw_tie = false;
        for platform in Platform::ALL {
            for status in &statuses {
                let mut matching: Vec<content::Model> = rows
                    .iter()
                    .filter(|c| c.platform == *platform && status.is_none_or(|s| c.status == s))
                    .cloned()
                    .collect();
                matching.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
                saw_tie |= has_tie(&matching, |c| c.created_at);
                for limit in [None, Some(1), Some(1000)] {
                    let got = neon.contents().by_platform_and_status(*platform, *status, limit).await.unwrap();
                    let expected = take(matching.clone(), limit, ContentByPlatformAndStatus::DEFAULT_LIMIT);
                    same(&got, &expected, |c| c.id.clone(), &format!("content_by_platform_and_status({platform}, {status:?}, {limit:?})"));
                }
            }
        }
        assert!(saw_tie, "the data must tie on createdAt");
        assert!(
            rows.iter().filter(|c| c.platform == Platform::Instagram).count()
                > ContentByPlatformAndStatus::DEFAULT_LIMIT as usize,
            "the default limit must cut"
        );
    }
}
