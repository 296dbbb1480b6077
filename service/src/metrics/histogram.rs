//! A lock-free log-linear histogram for the in-process snapshot: four
//! buckets per power of two of nanoseconds, so quantiles are within about
//! 19% of the true value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const SUB: u32 = 4;
const BUCKETS: usize = 64 * SUB as usize;

/// Durations recorded as counts per bucket.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
            max_ns: AtomicU64::new(0),
        }
    }
}

fn index(ns: u64) -> usize {
    if ns < 4 {
        // Exact buckets for 0..=3 ns.
        return ns as usize;
    }
    let log = 63 - ns.leading_zeros();
    // The two bits below the leading one pick the sub-bucket.
    let frac = ((ns >> (log - 2)) & 0b11) as u32;
    ((log * SUB + frac) as usize).min(BUCKETS - 1)
}

/// The smallest value above every value of bucket `index`.
fn upper_bound(index: usize) -> u64 {
    if index < 4 {
        return index as u64 + 1;
    }
    let log = (index as u32) / SUB;
    let frac = (index as u32) % SUB;
    let base = 1u64 << log;
    base + (base / u64::from(SUB)) * u64::from(frac + 1)
}

impl Histogram {
    /// Records one duration.
    pub fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[index(ns)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Mean, zero when empty.
    pub fn mean(&self) -> Duration {
        self.sum_ns
            .load(Ordering::Relaxed)
            .checked_div(self.count())
            .map_or(Duration::ZERO, Duration::from_nanos)
    }

    /// The largest recorded.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_ns.load(Ordering::Relaxed))
    }

    /// The `q` quantile (0..=1), as its bucket's upper bound (capped at the
    /// maximum); zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        let n = self.count();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return Duration::from_nanos(
                    upper_bound(i).min(self.max_ns.load(Ordering::Relaxed)),
                );
            }
        }
        self.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_close() {
        let h = Histogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).as_micros() as f64;
        let p99 = h.quantile(0.99).as_micros() as f64;
        assert!((500.0..=600.0).contains(&p50), "p50 {p50}");
        assert!((990.0..=1000.0).contains(&p99), "p99 {p99}");
        assert_eq!(h.count(), 1000);
        assert_eq!(h.max(), Duration::from_micros(1000));
    }

    #[test]
    fn bucket_bounds_cover_their_values() {
        for ns in [1u64, 2, 3, 5, 7, 100, 1023, 1024, 1025, 123_456_789] {
            assert!(upper_bound(index(ns)) >= ns, "{ns}");
        }
    }
}
