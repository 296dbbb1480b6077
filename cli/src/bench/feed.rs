//! The change feed across instances (SPEC §10, issue benchmarks), on
//! PostgreSQL with logical decoding:
//!
//! Two fresh handles (instances) with their feeds on; the bench handle
//! may have connected before the migrations created the publication.
//!
//! 1. The dashboard workload over the two handles: writes
//!    alternate between them, reads too, each shadowed; after every write
//!    the other handle waits for its token. Stale reads (a cached result
//!    that differs from its shadow after the wait) must be 0; hit
//!    efficiency is against a perfect cache per instance.
//! 2. Lag: from each write's return (its commit acknowledged) to the other
//!    handle's feed having applied it. An upper bound of the feed's own
//!    lag: it includes taking the token (one query) and, when the feed has
//!    not applied it yet, the wait's sync message.
//! 3. Write latency with a handle's feed on and off: the same lead updates
//!    through two fresh handles, one with its feed on and one with it off,
//!    in alternating rounds (the bench handle's own slot streams
//!    throughout, so this measures what one more streaming handle costs).

use std::time::{Duration, Instant};

use serde::Serialize;
use service::prelude::*;
use service::{Config, FeedMode, LeadUpdate, NeonDb};

use super::calls::Pools;
use super::latency::{Latency, nearest_rank_ms};
use super::workload::{self, WorkloadReport};

/// Rounds of the write-latency comparison, and writes per round and mode.
const ROUNDS: usize = 6;
const WRITES_PER_ROUND: usize = 50;

/// Lag from a write's return to another instance having applied it.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Lag {
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile (nearest rank), milliseconds.
    pub p99_ms: f64,
    /// Samples.
    pub samples: usize,
}

impl Lag {
    fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        Self {
            p50_ms: nearest_rank_ms(&samples, 0.50),
            p99_ms: nearest_rank_ms(&samples, 0.99),
            samples: samples.len(),
        }
    }
}

/// What the phase measured.
#[derive(Debug, Clone, Serialize)]
pub struct FeedReport {
    /// Handles (instances) of the workload.
    pub instances: usize,
    /// The two-instance dashboard workload.
    pub workload: WorkloadReport,
    /// Commit-to-applied lag on the other instance.
    pub lag: Lag,
    /// Lead updates through a handle whose feed is on.
    pub write_feed_on: Latency,
    /// The same through a handle whose feed is off.
    pub write_feed_off: Latency,
    /// write_feed_on.p50 / write_feed_off.p50.
    pub write_p50_ratio: f64,
}

/// Runs the phase with two fresh handles of `config` (feed on: connecting
/// fails with the reason if the server cannot run it); `calls` calls of
/// the two-instance workload.
///
/// # Errors
/// A connect's, call's, token's or wait's error.
pub async fn run(
    config: &Config,
    pools: &Pools,
    calls: u64,
    seed: u64,
    progress: &indicatif::ProgressBar,
) -> service::Result<FeedReport> {
    let config = config.clone().with_change_feed(FeedMode::On);
    let handles = [
        NeonDb::connect(config.clone()).await?,
        NeonDb::connect(config.clone()).await?,
    ];
    let (workload, lags) = workload::run_on(&handles, pools, calls, seed, 0.05, progress).await?;
    drop(handles);
    let lag = Lag::of(lags);
    let (on, off) = write_latency(&config, pools).await?;
    let write_p50_ratio = if off.p50_ms > 0.0 {
        on.p50_ms / off.p50_ms
    } else {
        0.0
    };
    Ok(FeedReport {
        instances: 2,
        workload,
        lag,
        write_feed_on: on,
        write_feed_off: off,
        write_p50_ratio,
    })
}

async fn write_latency(config: &Config, pools: &Pools) -> service::Result<(Latency, Latency)> {
    let on = NeonDb::connect(config.clone().with_change_feed(FeedMode::On)).await?;
    let off = NeonDb::connect(config.clone().with_change_feed(FeedMode::Off)).await?;
    let (Some(lead_on), Some(lead_off)) = (pools.leads.first(), pools.leads.get(1)) else {
        return Ok((Latency::default(), Latency::default()));
    };
    let (mut on_samples, mut off_samples) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for (db, lead, samples) in [
            (&on, lead_on, &mut on_samples),
            (&off, lead_off, &mut off_samples),
        ] {
            for i in 0..WRITES_PER_ROUND {
                let update = LeadUpdate {
                    score: Some(Some(((round * WRITES_PER_ROUND + i) % 100) as f64 / 10.0)),
                    ..LeadUpdate::default()
                };
                let started = Instant::now();
                db.leads().update(lead, update).await?;
                // The first round of each mode warms up.
                if round > 0 {
                    samples.push(started.elapsed());
                }
            }
        }
    }
    Ok((Latency::of(on_samples), Latency::of(off_samples)))
}
