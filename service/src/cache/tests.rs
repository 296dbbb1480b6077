//! The dependency index against the precise check, on random keys, results
//! and changes (no database: results are built in Rust):
//!
//! * whenever [`invalidate::affected`] says a change can alter an entry,
//!   one of the change's probes is among the entry's tags;
//! * [`QueryCache::apply`] removes exactly the entries the precise check
//!   names, and keeps every other;
//! * a load that overlapped a change stores its result unless the change
//!   affects it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use entity::enums::*;
use entity::{DbList, Json, Timestamp};

use super::*;
use crate::change::*;
use crate::queries::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    fn id(&mut self, prefix: &str, n: usize) -> String {
        format!("{prefix}{}", self.below(n))
    }
    fn opt_id(&mut self, prefix: &str, n: usize) -> Option<String> {
        self.chance(70).then(|| self.id(prefix, n))
    }
    fn ts(&mut self) -> Timestamp {
        Timestamp::from_timestamp_millis(1_700_000_000_000 + self.below(12) as i64 * 3_600_000)
            .unwrap()
    }
    fn score(&mut self) -> f64 {
        self.below(11) as f64
    }
}

fn user(r: &mut Rng) -> entity::user::Model {
    entity::user::Model {
        id: r.id("u", 8),
        email: "e@x.io".into(),
        name: None,
        role: r.pick(UserRole::ALL),
        avatar: None,
        email_verified: None,
        created_at: r.ts(),
        updated_at: r.ts(),
    }
}

fn campaign(r: &mut Rng) -> entity::campaign::Model {
    entity::campaign::Model {
        id: r.id("c", 8),
        name: "c".into(),
        description: None,
        r#type: r.pick(CampaignType::ALL),
        status: r.pick(CampaignStatus::ALL),
        budget: None,
        start_date: None,
        end_date: None,
        target_audience: None,
        platforms: DbList::default(),
        metrics: None,
        settings: None,
        created_at: r.ts(),
        updated_at: r.ts(),
        user_id: r.id("u", 8),
        user_id2: r.opt_id("u", 8),
    }
}

fn execution(r: &mut Rng) -> entity::agent_execution::Model {
    entity::agent_execution::Model {
        id: r.id("e", 8),
        agent_id: r.id("a", 3),
        campaign_id: r.opt_id("c", 8),
        user_id: r.opt_id("u", 8),
        task: "t".into(),
        payload: None,
        result: None,
        status: ExecutionStatus::Completed,
        performance: None,
        error: None,
        started_at: r.ts(),
        completed_at: None,
        metadata: None,
    }
}

fn analytics(r: &mut Rng) -> entity::analytics::Model {
    entity::analytics::Model {
        id: r.id("an", 8),
        campaign_id: r.opt_id("c", 8),
        user_id: r.opt_id("u", 8),
        r#type: r.pick(&AnalyticsType::ALL[..3]),
        data: Json::default(),
        period: r
            .chance(70)
            .then(|| r.pick(&["daily", "weekly"]).to_owned()),
        date: r.ts(),
        metadata: None,
    }
}

fn content(r: &mut Rng) -> entity::content::Model {
    entity::content::Model {
        id: r.id("co", 8),
        title: "t".into(),
        r#type: r.pick(ContentType::ALL),
        platform: r.pick(&Platform::ALL[..3]),
        content: Json::default(),
        status: r.pick(ContentStatus::ALL),
        performance: None,
        metadata: None,
        created_at: r.ts(),
        updated_at: r.ts(),
    }
}

fn lead(r: &mut Rng) -> entity::lead::Model {
    entity::lead::Model {
        id: r.id("l", 8),
        email: "l@x.io".into(),
        name: None,
        company: None,
        position: None,
        phone: None,
        source: None,
        status: LeadStatus::New,
        score: r.chance(80).then(|| r.score()),
        tags: DbList::default(),
        metadata: None,
        created_at: r.ts(),
        updated_at: r.ts(),
    }
}

fn trend(r: &mut Rng) -> entity::trend::Model {
    entity::trend::Model {
        id: r.id("t", 8),
        keyword: "k".into(),
        platform: r.pick(&Platform::ALL[..3]),
        category: None,
        score: r.score(),
        volume: None,
        growth: None,
        data: Json::default(),
        detected_at: r.ts(),
    }
}

fn list<T>(r: &mut Rng, make: impl Fn(&mut Rng) -> T) -> Vec<T> {
    (0..r.below(5)).map(|_| make(r)).collect()
}

fn range(r: &mut Rng) -> (Option<Timestamp>, Option<Timestamp>) {
    let (a, b) = (r.ts(), r.ts());
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (r.chance(60).then_some(lo), r.chance(60).then_some(hi))
}

type AnyValue = Arc<dyn Any + Send + Sync>;

/// A random key and a random result for it.
fn entry(r: &mut Rng) -> (Query, AnyValue) {
    let limit = r.below(4) as u64 + 1;
    match r.below(8) {
        0 => (
            Query::UsersByRole(UsersByRole::new(r.pick(UserRole::ALL), Some(limit)).unwrap()),
            Arc::new(list(r, user)),
        ),
        1 => {
            let q = CampaignsByUserAndStatus::new(
                &r.id("u", 8),
                r.chance(50).then(|| r.pick(CampaignStatus::ALL)),
                Some(limit),
            )
            .unwrap();
            let v: Vec<CampaignWithAnalytics> = list(r, |r| CampaignWithAnalytics {
                campaign: campaign(r),
                latest_analytics: r.chance(60).then(|| analytics(r)),
            });
            (Query::CampaignsByUserAndStatus(q), Arc::new(v))
        }
        2 => {
            let (from, to) = range(r);
            let q = AgentPerformance::new(&r.id("a", 3), from, to).unwrap();
            let v = AgentPerformanceReport {
                total: 0,
                by_status: Vec::new(),
                success_rate: None,
                avg_duration_ms: None,
                p95_duration_ms: None,
                avg_performance: None,
                recent_completed: list(r, execution),
            };
            (Query::AgentPerformance(q), Arc::new(v))
        }
        3 => {
            let q = CampaignAnalytics::new(
                &r.id("c", 8),
                r.chance(50).then(|| r.pick(&AnalyticsType::ALL[..3])),
                r.chance(50).then_some("daily"),
                Some(limit),
            )
            .unwrap();
            (Query::CampaignAnalytics(q), Arc::new(list(r, analytics)))
        }
        4 => {
            let (a, b) = (r.ts(), r.ts());
            let (from, to) = if a <= b { (a, b) } else { (b, a) };
            let q = AnalyticsTimeSeries::new(
                r.pick(&AnalyticsType::ALL[..3]),
                r.pick(&["daily", "weekly"]),
                from,
                to,
            )
            .unwrap();
            (
                Query::AnalyticsTimeSeries(q),
                Arc::new(Vec::<DayCount>::new()),
            )
        }
        5 => (
            Query::HighValueLeads(HighValueLeads::new(Some(r.score()), Some(limit)).unwrap()),
            Arc::new(list(r, lead)),
        ),
        6 => (
            Query::TrendingKeywords(
                TrendingKeywords::new(
                    r.chance(50).then(|| r.pick(&Platform::ALL[..3])),
                    Some(r.score()),
                    Some(limit),
                )
                .unwrap(),
            ),
            Arc::new(list(r, trend)),
        ),
        _ => (
            Query::ContentByPlatformAndStatus(
                ContentByPlatformAndStatus::new(
                    r.pick(&Platform::ALL[..3]),
                    r.chance(50).then(|| r.pick(ContentStatus::ALL)),
                    Some(limit),
                )
                .unwrap(),
            ),
            Arc::new(list(r, content)),
        ),
    }
}

fn old<K>(r: &mut Rng, known: impl FnOnce(&mut Rng) -> K) -> Old<K> {
    match r.below(3) {
        0 => Old::Same,
        1 => Old::Known(known(r)),
        _ => Old::Unknown,
    }
}

/// A random change, complete or partial.
fn change(r: &mut Rng) -> RowChange {
    let kind = r.pick(&[
        ChangeKind::Inserted,
        ChangeKind::Updated,
        ChangeKind::Deleted,
    ]);
    let know = r.chance(85) && kind != ChangeKind::Deleted;
    let row = match r.below(8) {
        0 => {
            let u = user(r);
            Row::User {
                id: u.id,
                new: know.then_some(UserKey {
                    role: u.role,
                    created_at: u.created_at,
                }),
            }
        }
        1 => {
            let c = campaign(r);
            Row::Campaign {
                id: c.id,
                new: know.then_some(CampaignKey {
                    user_id: c.user_id,
                    status: c.status,
                    created_at: c.created_at,
                }),
            }
        }
        2 => {
            let e = execution(r);
            let key = |e: &entity::agent_execution::Model| ExecutionKey {
                agent_id: e.agent_id.clone(),
                started_at: e.started_at,
            };
            Row::Execution {
                id: e.id.clone(),
                new: know.then(|| key(&e)),
                old: old(r, |r| key(&execution(r))),
            }
        }
        3 => {
            let a = analytics(r);
            let key = |a: &entity::analytics::Model| AnalyticsKey {
                campaign_id: a.campaign_id.clone(),
                r#type: a.r#type,
                period: a.period.clone(),
                date: a.date,
            };
            Row::Analytics {
                id: a.id.clone(),
                new: know.then(|| key(&a)),
                old: old(r, |r| key(&analytics(r))),
            }
        }
        4 => {
            let c = content(r);
            Row::Content {
                id: c.id,
                new: know.then_some(ContentKey {
                    platform: c.platform,
                    status: c.status,
                    created_at: c.created_at,
                }),
            }
        }
        5 => {
            let l = lead(r);
            Row::Lead {
                id: l.id,
                new: know.then_some(LeadKey {
                    score: l.score,
                    created_at: l.created_at,
                }),
            }
        }
        6 => {
            let t = trend(r);
            Row::Trend {
                id: t.id,
                new: know.then_some(TrendKey {
                    platform: t.platform,
                    score: t.score,
                    detected_at: t.detected_at,
                }),
            }
        }
        _ => Row::Unknown(r.pick(&[
            Table::Users,
            Table::Campaigns,
            Table::AgentExecutions,
            Table::Analytics,
            Table::Contents,
            Table::Leads,
            Table::Trends,
        ])),
    };
    RowChange { kind, row }
}

#[test]
fn every_affected_entry_is_found_by_a_probe() {
    let mut r = Rng(7);
    let mut affected_pairs = 0;
    for _ in 0..200_000 {
        let (key, value) = entry(&mut r);
        let c = change(&mut r);
        if invalidate::affected(&key, &*value, &c) {
            affected_pairs += 1;
            let tags = invalidate::tags_of(&key, &*value);
            let probes = invalidate::probes_of(&c);
            assert!(
                probes.iter().any(|p| tags.contains(p)),
                "no probe of {c:?} reaches {key:?} holding {value:?}"
            );
        }
    }
    assert!(affected_pairs > 10_000, "{affected_pairs}");
}

async fn store(cache: &QueryCache, key: &Query, value: &AnyValue) {
    macro_rules! put {
        ($q:expr, $t:ty) => {{
            let v = value.clone().downcast::<$t>().unwrap();
            let _ = cache
                .get_or_load($q, false, || async move { Ok((*v).clone()) })
                .await
                .unwrap();
        }};
    }
    match key {
        Query::UsersByRole(q) => put!(q, Vec<entity::user::Model>),
        Query::CampaignsByUserAndStatus(q) => put!(q, Vec<CampaignWithAnalytics>),
        Query::AgentPerformance(q) => put!(q, AgentPerformanceReport),
        Query::CampaignAnalytics(q) => put!(q, Vec<entity::analytics::Model>),
        Query::AnalyticsTimeSeries(q) => put!(q, Vec<DayCount>),
        Query::HighValueLeads(q) => put!(q, Vec<entity::lead::Model>),
        Query::TrendingKeywords(q) => put!(q, Vec<entity::trend::Model>),
        Query::ContentByPlatformAndStatus(q) => put!(q, Vec<entity::content::Model>),
    }
}

#[tokio::test]
async fn apply_removes_exactly_what_the_precise_check_names() {
    let mut r = Rng(11);
    for round in 0..300 {
        let cache = QueryCache::new(CacheConfig::default());
        let mut stored: Vec<(Query, AnyValue)> = Vec::new();
        for _ in 0..60 {
            let (key, value) = entry(&mut r);
            if stored.iter().any(|(k, _)| *k == key) {
                continue;
            }
            store(&cache, &key, &value).await;
            stored.push((key, value));
        }
        let changes: Vec<RowChange> = (0..1 + r.below(3)).map(|_| change(&mut r)).collect();
        let expected_gone: Vec<bool> = stored
            .iter()
            .map(|(k, v)| changes.iter().any(|c| invalidate::affected(k, &**v, c)))
            .collect();
        cache.apply(changes.clone());
        for ((key, _), gone) in stored.iter().zip(expected_gone) {
            assert_eq!(
                cache.contains(key),
                !gone,
                "round {round}: {key:?} after {changes:?}"
            );
        }
        let stats = cache.stats();
        assert_eq!(
            stats.entries, stats.indexed,
            "every entry indexed, no leftovers"
        );
    }
}

#[tokio::test]
async fn overlapping_loads_store_unless_the_change_affects_them() {
    let cache = QueryCache::new(CacheConfig::default());
    let q = HighValueLeads::new(Some(5.0), Some(10)).unwrap();
    let held = entity::lead::Model {
        score: Some(9.0),
        ..lead(&mut Rng(1))
    };
    // An unrelated change (a trend) lands while the load runs: stored.
    let rows = vec![held.clone()];
    let (_, outcome) = cache
        .get_or_load(&q, false, || async {
            cache.apply(vec![RowChange {
                kind: ChangeKind::Inserted,
                row: Row::Trend {
                    id: "t1".into(),
                    new: None,
                },
            }]);
            Ok(rows.clone())
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Miss);
    assert!(
        cache.contains(&q.key()),
        "an unrelated change keeps the result"
    );
    cache.clear();
    // A change to the held lead lands while the load runs: not stored.
    let (_, _) = cache
        .get_or_load(&q, false, || async {
            cache.apply(vec![RowChange {
                kind: ChangeKind::Updated,
                row: Row::Lead {
                    id: held.id.clone(),
                    new: Some(LeadKey {
                        score: Some(1.0),
                        created_at: held.created_at,
                    }),
                },
            }]);
            Ok(rows.clone())
        })
        .await
        .unwrap();
    assert!(
        !cache.contains(&q.key()),
        "a result the change affects is not stored"
    );
    assert_eq!(cache.stats().stores_skipped, 1);
}
