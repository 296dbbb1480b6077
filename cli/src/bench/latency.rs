//! Latency measurement: p50 and p95 over many calls, after a warm-up.

use std::time::{Duration, Instant};

use serde::Serialize;

/// p50 and p95 of one query in one mode, milliseconds, and the samples
/// they come from (which `compare` resamples for its confidence
/// intervals).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile (nearest rank).
    pub p95_ms: f64,
    /// Calls measured.
    pub calls: usize,
    /// Every sample, milliseconds, ascending.
    pub samples_ms: Vec<f64>,
}

impl Latency {
    /// From raw samples.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        Self {
            p50_ms: nearest_rank_ms(&samples, 0.50),
            p95_ms: nearest_rank_ms(&samples, 0.95),
            calls: samples.len(),
            samples_ms: samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect(),
        }
    }
}

/// The `q` quantile (nearest rank) of sorted, non-empty `samples`, ms.
pub fn nearest_rank_ms(samples: &[Duration], q: f64) -> f64 {
    let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[i].as_secs_f64() * 1000.0
}

/// Times `f` once.
pub async fn time<T, E, Fut: std::future::Future<Output = Result<T, E>>>(
    f: Fut,
) -> Result<(T, Duration), E> {
    let started = Instant::now();
    let out = f.await?;
    Ok((out, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let l = Latency::of((1..=100).map(Duration::from_millis).collect());
        assert_eq!((l.p50_ms, l.p95_ms, l.calls), (50.0, 95.0, 100));
    }
}
