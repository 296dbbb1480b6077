//! One write's invalidation, and a hit, with 100,000 entries cached (no
//! database: a cache of its own, filled with built results).
//!
//! The cache holds 50,000 `campaign_analytics` results (one per campaign,
//! two analytics rows each) and 50,000 `campaigns_by_user_and_status`
//! results (one per user, one campaign each, with its latest analytics).
//! Each timed write is a new analytics row for a random campaign, reported
//! through [`QueryCache::apply_changes`] as a service write does: it must
//! remove that campaign's `campaign_analytics` entry and the entry of the
//! user who owns it, and nothing else. The removed entries are loaded
//! again (untimed) so every write meets a full cache.

use std::time::Instant;

use entity::analytics;
use entity::campaign;
use entity::enums::{AnalyticsType, CampaignStatus};
use entity::{Json, Timestamp};
use serde::Serialize;
use service::cache::{CacheConfig, QueryCache};
use service::queries::{CampaignAnalytics, CampaignWithAnalytics, CampaignsByUserAndStatus};
use service::{Change, ChangeKind};

use super::floor::Quantiles;
use super::zipf::Rng;

/// Entries cached when measuring.
pub const ENTRIES: usize = 100_000;

/// Timed writes and timed hits.
const SAMPLES: usize = 2_000;

/// The invalidation phase's report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InvalidationReport {
    /// Entries cached when each write was applied.
    pub entries: u64,
    /// One write's invalidation (target ≤ 10 µs p50), milliseconds.
    pub invalidation: Quantiles,
    /// Entries each write removed (2 expected: the campaign's analytics
    /// and its owner's campaign list).
    pub removed_per_write: f64,
    /// A hit at that size (target ≤ 1 µs p50), milliseconds.
    pub hit: Quantiles,
}

fn analytics_row(id: String, campaign: &str, user: &str) -> analytics::Model {
    analytics::Model {
        id,
        campaign_id: Some(campaign.to_owned()),
        user_id: Some(user.to_owned()),
        r#type: AnalyticsType::Engagement,
        data: Json(serde_json::json!({"clicks": 12, "views": 340})),
        period: Some("daily".to_owned()),
        date: Timestamp::now(),
        metadata: None,
    }
}

fn campaign_row(i: usize) -> campaign::Model {
    let now = Timestamp::now();
    campaign::Model {
        id: format!("camp{i}"),
        name: format!("Campaign {i}"),
        description: None,
        r#type: entity::enums::CampaignType::Email,
        status: CampaignStatus::Active,
        user_id: format!("user{i}"),
        budget: None,
        start_date: None,
        end_date: None,
        target_audience: None,
        platforms: Default::default(),
        metrics: None,
        settings: None,
        created_at: now,
        updated_at: now,
        user_id2: None,
    }
}

fn keys(i: usize) -> (CampaignAnalytics, CampaignsByUserAndStatus) {
    let a = CampaignAnalytics::new(&format!("camp{i}"), None, None, None);
    let c = CampaignsByUserAndStatus::new(&format!("user{i}"), None, None);
    match (a, c) {
        (Ok(a), Ok(c)) => (a, c),
        (Err(e), _) | (_, Err(e)) => unreachable!("built keys are valid: {e}"),
    }
}

async fn load(cache: &QueryCache, i: usize) -> service::Result<()> {
    let (a, c) = keys(i);
    let campaign = format!("camp{i}");
    let user = format!("user{i}");
    cache
        .get_or_load(&a, false, || async {
            Ok((0..2)
                .map(|j| analytics_row(format!("an{i}_{j}"), &campaign, &user))
                .collect::<Vec<_>>())
        })
        .await?;
    cache
        .get_or_load(&c, false, || async {
            Ok(vec![CampaignWithAnalytics {
                campaign: campaign_row(i),
                latest_analytics: Some(analytics_row(format!("an{i}_0"), &campaign, &user)),
            }])
        })
        .await?;
    Ok(())
}

/// Runs the phase.
///
/// # Errors
/// A load's error (none expected: the loads are built in Rust).
pub async fn run(seed: u64) -> service::Result<InvalidationReport> {
    let cache = QueryCache::new(CacheConfig {
        capacity_bytes: 4 << 30,
        ..CacheConfig::default()
    });
    let pairs = ENTRIES / 2;
    for i in 0..pairs {
        load(&cache, i).await?;
    }
    let entries = cache.stats().entries;
    let mut rng = Rng::new(seed, 900);
    let (mut writes, mut removed) = (Vec::with_capacity(SAMPLES), 0u64);
    for n in 0..SAMPLES {
        let i = rng.below(pairs);
        let change = Change::Analytics(
            ChangeKind::Inserted,
            analytics_row(format!("new{n}"), &format!("camp{i}"), &format!("user{i}")),
        );
        let before = cache.stats().invalidations;
        let t = Instant::now();
        cache.apply_changes(std::slice::from_ref(&change));
        writes.push(t.elapsed());
        removed += cache.stats().invalidations - before;
        load(&cache, i).await?;
    }
    let mut hits = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let (a, _) = keys(rng.below(pairs));
        let t = Instant::now();
        let (_, outcome) = cache
            .get_or_load(&a, false, || async {
                Err(service::Error::invalid("bench", "a cached key missed"))
            })
            .await?;
        hits.push(t.elapsed());
        debug_assert_eq!(outcome, service::Outcome::Hit);
    }
    let report = InvalidationReport {
        entries,
        invalidation: Quantiles::of(writes),
        removed_per_write: removed as f64 / SAMPLES as f64,
        hit: Quantiles::of(hits),
    };
    let us = |q: &Quantiles| q.p50_ms * 1000.0;
    eprintln!(
        "  {} entries: one write's invalidation p50 {:.2} µs ({:.2} entries removed), a hit p50 {:.2} µs",
        report.entries,
        us(&report.invalidation),
        report.removed_per_write,
        us(&report.hit),
    );
    Ok(report)
}
