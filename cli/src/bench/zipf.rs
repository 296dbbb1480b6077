//! The benchmark's random numbers: ChaCha8 (pinned, so a seed gives the
//! same call sequence everywhere) and a Zipf sampler over ranks.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// A deterministic generator.
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The generator for `seed` and `stream`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(stream);
        Self(r)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen element (`items` not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Zipf(s) over ranks `0..n`: rank `k` with probability ∝ 1 / (k + 1)^s.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// The distribution over `n` ranks (`n` may be 0: then every draw is 0).
    pub fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 0..n {
            total += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Self { cdf }
    }

    /// A rank.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cdf
            .partition_point(|c| *c < u)
            .min(self.cdf.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_prefers_low_ranks_and_is_deterministic() {
        let z = Zipf::new(1000, 1.1);
        let mut a = Rng::new(7, 1);
        let mut b = Rng::new(7, 1);
        let draws: Vec<usize> = (0..10_000).map(|_| z.sample(&mut a)).collect();
        let again: Vec<usize> = (0..10_000).map(|_| z.sample(&mut b)).collect();
        assert_eq!(draws, again);
        let top = draws.iter().filter(|r| **r == 0).count();
        let mid = draws.iter().filter(|r| **r == 500).count();
        assert!(top > 1000 && mid < 20, "top {top}, mid {mid}");
        assert!(draws.iter().all(|r| *r < 1000));
    }
}
