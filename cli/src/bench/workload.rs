//! The dashboard workload of SPEC §9: a fixed call sequence from a fixed
//! seed, 95% reads uniform over the eight queries with Zipf-drawn
//! parameters, 5% writes on Zipf-drawn targets; every read runs through the
//! cache and then again with the cache bypassed (its shadow).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use entity::enums::{AnalyticsType, CampaignStatus, ExecutionStatus, LeadStatus, Platform};
use serde::Serialize;
use service::prelude::*;
use service::{
    Completion, LeadUpdate, NeonDb, NewAnalytics, NewExecution, NewTrend, Query, QueryName,
};

use super::calls::{Answer, Call, Draw, Pools};
use super::zipf::{Rng, Zipf};

/// SPEC §8's `workload` object.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    /// Calls made (reads and writes; shadows not counted).
    pub calls: u64,
    /// Share of writes.
    pub write_fraction: f64,
    /// Reads served by the cache / reads.
    pub hit_rate: f64,
    /// Reads a perfect cache could have served / reads.
    pub oracle_hit_rate: f64,
    /// hit_rate / oracle_hit_rate.
    pub hit_efficiency: f64,
    /// 1 − statements(cached reads) / statements(shadow reads).
    pub statements_saved: f64,
    /// Cached results that differed from their shadow.
    pub stale_reads: u64,
    /// Stale reads per query, for diagnosis (only queries with any).
    pub stale_by_query: Vec<(String, u64)>,
    /// Reads made.
    pub reads: u64,
    /// Writes made.
    pub writes: u64,
    /// Writes that failed (none expected).
    pub write_errors: u64,
    /// Calls that reached the database: every shadow read, every read the
    /// cache missed, every write.
    pub uncached_calls: u64,
    /// Share of those that returned within 100 ms (the report's KPI:
    /// "> 90% under 100 ms").
    pub uncached_under_100ms: f64,
    /// Calls (reads, shadows, writes) that failed with a timeout.
    pub timeouts: u64,
    /// Calls that failed in any way (timeouts included).
    pub errors: u64,
    /// errors / all calls made, shadows included (the report's "< 0.1%
    /// timeouts" is `timeouts / calls made`).
    pub error_rate: f64,
    /// timeouts / all calls made, shadows included.
    pub timeout_rate: f64,
    /// Entries the cache removed on writes.
    pub invalidations: u64,
    /// Wall time of the pass, seconds.
    pub seconds: f64,
}

/// The report's KPIs, counted as the workload runs.
#[derive(Default)]
struct Kpi {
    calls: u64,
    uncached_calls: u64,
    under_100ms: u64,
    timeouts: u64,
    errors: u64,
}

impl Kpi {
    /// A call that went to the database.
    fn uncached(&mut self, elapsed: Duration, error: Option<&service::Error>) {
        self.calls += 1;
        self.uncached_calls += 1;
        if elapsed < Duration::from_millis(100) {
            self.under_100ms += 1;
        }
        if let Some(e) = error {
            self.failed(e);
        }
    }

    fn failed(&mut self, e: &service::Error) {
        self.errors += 1;
        if matches!(e, service::Error::Timeout { .. }) {
            self.timeouts += 1;
        }
    }
}

/// One step of the sequence.
pub enum Step {
    /// A read.
    Read(Call),
    /// A write.
    Write(Write),
}

/// The writes of SPEC §9, in their shares (fields: the drawn targets).
#[allow(missing_docs)]
pub enum Write {
    /// A new analytics row (40%).
    Analytics {
        campaign: String,
        r#type: AnalyticsType,
        period: &'static str,
    },
    /// Start an execution (half of 30%).
    StartExecution { agent: String, campaign: String },
    /// Complete one started earlier (the other half, when one is running).
    CompleteExecution {
        status: ExecutionStatus,
        performance: f64,
    },
    /// Change a lead's score or status (15%).
    Lead {
        lead: String,
        score: Option<f64>,
        status: Option<LeadStatus>,
    },
    /// A new trend (10%).
    Trend {
        platform: Platform,
        keyword: String,
        score: f64,
    },
    /// Change a campaign's status (5%).
    CampaignStatus {
        campaign: String,
        status: CampaignStatus,
    },
}

/// Draws one step.
pub fn draw_step(pools: &Pools, rng: &mut Rng, write_fraction: f64) -> Step {
    if !rng.chance(write_fraction) {
        let name = QueryName::ALL[rng.below(QueryName::ALL.len())];
        return Step::Read(Call::draw(name, pools, rng, Draw::Zipf));
    }
    let small = |rng: &mut Rng, items: &[usize]| items[Zipf::new(items.len(), 1.1).sample(rng)];
    let u = rng.unit();
    Step::Write(if u < 0.40 {
        Write::Analytics {
            campaign: pools.hot_campaign(rng).to_owned(),
            r#type: AnalyticsType::ALL[small(rng, &[0, 1, 2, 3, 4, 5, 6, 7])],
            period: ["daily", "weekly", "monthly"][small(rng, &[0, 1, 2])],
        }
    } else if u < 0.70 {
        if rng.chance(0.5) {
            Write::StartExecution {
                agent: pools.hot_agent(rng).to_owned(),
                campaign: pools.hot_campaign(rng).to_owned(),
            }
        } else {
            let status = if rng.chance(0.85) {
                ExecutionStatus::Completed
            } else {
                ExecutionStatus::Failed
            };
            Write::CompleteExecution {
                status,
                performance: (rng.unit() * 100.0).round() / 100.0,
            }
        }
    } else if u < 0.85 {
        match pools.hot_lead(rng).map(str::to_owned) {
            Some(lead) => {
                let score = rng.chance(0.5).then(|| (rng.unit() * 100.0).round() / 10.0);
                let status = score
                    .is_none()
                    .then(|| LeadStatus::ALL[rng.below(LeadStatus::ALL.len())]);
                Write::Lead {
                    lead,
                    score,
                    status,
                }
            }
            None => Write::Trend {
                platform: Platform::ALL[0],
                keyword: "fallback".into(),
                score: 5.0,
            },
        }
    } else if u < 0.95 {
        let platform = Platform::ALL[small(rng, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])];
        Write::Trend {
            platform,
            keyword: format!("bench keyword {}", rng.below(5000)),
            score: (rng.unit() * 100.0).round() / 10.0,
        }
    } else {
        Write::CampaignStatus {
            campaign: pools.hot_campaign(rng).to_owned(),
            status: CampaignStatus::ALL[rng.below(CampaignStatus::ALL.len())],
        }
    })
}

/// Executes a write. `running` holds executions started and not completed.
///
/// # Errors
/// The service's error.
pub async fn apply(db: &NeonDb, write: &Write, running: &mut Vec<String>) -> service::Result<()> {
    match write {
        Write::Analytics {
            campaign,
            r#type,
            period,
        } => {
            let mut a =
                NewAnalytics::new(*r#type, serde_json::json!({"value": 1, "source": "bench"}));
            a.campaign_id = Some(campaign.clone());
            a.period = Some((*period).to_owned());
            db.analytics().create(a).await?;
        }
        Write::StartExecution { agent, campaign } => {
            let mut e = NewExecution::new(agent.clone(), "bench task");
            e.campaign_id = Some(campaign.clone());
            running.push(db.executions().start(e).await?.id);
        }
        Write::CompleteExecution {
            status,
            performance,
        } => {
            if let Some(id) = running.pop() {
                let mut c = Completion::new(*status);
                c.performance = Some(*performance);
                db.executions().complete(&id, c).await?;
            }
        }
        Write::Lead {
            lead,
            score,
            status,
        } => {
            let update = LeadUpdate {
                score: score.map(Some),
                status: *status,
                ..LeadUpdate::default()
            };
            db.leads().update(lead, update).await?;
        }
        Write::Trend {
            platform,
            keyword,
            score,
        } => {
            db.trends()
                .create(NewTrend::new(keyword.clone(), *platform, *score))
                .await?;
        }
        Write::CampaignStatus { campaign, status } => {
            db.campaigns().set_status(campaign, *status).await?;
        }
    }
    Ok(())
}

/// Runs the workload with shadow reads on `db` (one client).
///
/// # Errors
/// A read's error (writes' errors are counted, not fatal).
pub async fn run(
    db: &NeonDb,
    pools: &Pools,
    calls: u64,
    seed: u64,
    write_fraction: f64,
    progress: &indicatif::ProgressBar,
) -> service::Result<WorkloadReport> {
    run_on(
        std::slice::from_ref(db),
        pools,
        calls,
        seed,
        write_fraction,
        progress,
    )
    .await
    .map(|(report, _)| report)
}

/// The workload over several handles, as several instances of one
/// application: writes take turns between them, and so do reads (each
/// shadowed on its own handle, each handle compared with a perfect cache of
/// its own). With more than one handle, after every write each other
/// handle waits for the write's token ([`NeonDb::wait_for`]) before its
/// next read, as an application giving its users read-your-writes across
/// instances would; the time from the write's return (through taking its
/// token) to the other handle's feed having applied it is returned as a
/// lag sample.
///
/// # Errors
/// A token or a wait that failed (the calls' own errors are counted, not
/// fatal).
pub async fn run_on(
    dbs: &[NeonDb],
    pools: &Pools,
    calls: u64,
    seed: u64,
    write_fraction: f64,
    progress: &indicatif::ProgressBar,
) -> service::Result<(WorkloadReport, Vec<Duration>)> {
    let mut rng = Rng::new(seed, 9);
    let shadows: Vec<NeonDb> = dbs.iter().map(NeonDb::uncached).collect();
    let ttls = dbs[0].cache().config().ttls;
    let invalidations_before: u64 = dbs.iter().map(|d| d.cache().stats().invalidations).sum();
    let started = Instant::now();
    let mut running = Vec::new();
    let (mut reads, mut writes, mut write_errors, mut hits, mut stale) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut cached_statements, mut shadow_statements) = (0u64, 0u64);
    let mut oracle_hits = 0u64;
    let mut stale_by: std::collections::BTreeMap<&'static str, u64> =
        std::collections::BTreeMap::new();
    // Per handle and key: when a perfect cache last loaded it, and the
    // last true result.
    let mut oracles: Vec<HashMap<Query, (Instant, Answer)>> = vec![HashMap::new(); dbs.len()];
    let mut lags = Vec::new();
    let mut kpi = Kpi::default();
    for _ in 0..calls {
        progress.inc(1);
        match draw_step(pools, &mut rng, write_fraction) {
            Step::Write(w) => {
                let writer = &dbs[writes as usize % dbs.len()];
                writes += 1;
                let t0 = Instant::now();
                let written = apply(writer, &w, &mut running).await;
                kpi.uncached(t0.elapsed(), written.as_ref().err());
                if let Err(e) = written {
                    tracing::warn!(error = %e, "workload write failed");
                    write_errors += 1;
                }
                if dbs.len() > 1 {
                    // From the write's return (its commit acknowledged),
                    // through taking its token, to the others having it.
                    let acknowledged = Instant::now();
                    let token = writer.token().await?;
                    for other in dbs.iter().filter(|d| !std::ptr::eq(*d, writer)) {
                        other.wait_for(token, Duration::from_secs(10)).await?;
                        lags.push(acknowledged.elapsed());
                    }
                }
            }
            Step::Read(call) => {
                let i = reads as usize % dbs.len();
                let (db, shadow_db, oracle) = (&dbs[i], &shadows[i], &mut oracles[i]);
                let metrics = db.metrics();
                reads += 1;
                let hits_before = db.cache().stats().hits;
                let s0 = metrics.statements_total();
                let t0 = Instant::now();
                let cached = call.run(db).await;
                let cached_elapsed = t0.elapsed();
                let s1 = metrics.statements_total();
                let t1 = Instant::now();
                let shadow = call.run(shadow_db).await;
                kpi.uncached(t1.elapsed(), shadow.as_ref().err());
                let s2 = metrics.statements_total();
                cached_statements += s1 - s0;
                shadow_statements += s2 - s1;
                let hit = db.cache().stats().hits > hits_before;
                if hit {
                    hits += 1;
                    kpi.calls += 1;
                    if let Err(e) = &cached {
                        kpi.failed(e);
                    }
                } else {
                    kpi.uncached(cached_elapsed, cached.as_ref().err());
                }
                // A failed read is counted above and compared with nothing.
                let (Ok(cached), Ok(shadow)) = (cached, shadow) else {
                    tracing::warn!(query = call.0.name().as_str(), "workload read failed");
                    continue;
                };
                if cached != shadow {
                    stale += 1;
                    *stale_by.entry(call.0.name().as_str()).or_insert(0u64) += 1;
                    if stale_by.len() == 1 && stale == 1 {
                        tracing::warn!(
                            query = call.0.name().as_str(),
                            "stale read: {cached:?} != {shadow:?}"
                        );
                    }
                }
                let now = Instant::now();
                let ttl: Duration = ttls[call.0.name() as usize];
                match oracle.get_mut(&call.0) {
                    Some((loaded, last))
                        if now.duration_since(*loaded) < ttl && *last == shadow =>
                    {
                        oracle_hits += 1;
                    }
                    Some((loaded, last)) => {
                        *loaded = now;
                        *last = shadow;
                    }
                    None => {
                        oracle.insert(call.0.clone(), (now, shadow));
                    }
                }
            }
        }
    }
    progress.finish_and_clear();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let hit_rate = ratio(hits, reads);
    let oracle_hit_rate = ratio(oracle_hits, reads);
    let report = WorkloadReport {
        calls,
        write_fraction,
        hit_rate,
        oracle_hit_rate,
        hit_efficiency: if oracle_hit_rate > 0.0 {
            hit_rate / oracle_hit_rate
        } else {
            0.0
        },
        statements_saved: if shadow_statements == 0 {
            0.0
        } else {
            1.0 - ratio(cached_statements, shadow_statements)
        },
        stale_reads: stale,
        stale_by_query: stale_by
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        reads,
        writes,
        write_errors,
        uncached_calls: kpi.uncached_calls,
        uncached_under_100ms: ratio(kpi.under_100ms, kpi.uncached_calls),
        timeouts: kpi.timeouts,
        errors: kpi.errors,
        error_rate: ratio(kpi.errors, kpi.calls),
        timeout_rate: ratio(kpi.timeouts, kpi.calls),
        invalidations: dbs
            .iter()
            .map(|d| d.cache().stats().invalidations)
            .sum::<u64>()
            - invalidations_before,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((report, lags))
}
