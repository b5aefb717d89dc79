//! Latency percentiles (nearest rank) over every recorded sample.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: u64,
}

/// The nearest-rank percentile of sorted samples: the smallest sample with at least
/// `p`% of the samples at or below it.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    // The epsilon keeps 99.9% of 1000 at rank 999 despite binary floating point.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summarize(mut samples: Vec<u64>) -> Summary {
    samples.sort_unstable();
    let count = samples.len();
    let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
    Summary {
        count,
        p50_us: percentile(&samples, 50.0),
        p99_us: percentile(&samples, 99.0),
        p999_us: percentile(&samples, 99.9),
        max_us: samples.last().copied().unwrap_or(0),
        mean_us: if count == 0 {
            0
        } else {
            (sum / count as u128) as u64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u64> = (1..=1000).rev().collect();
        let s = summarize(samples);
        assert_eq!(
            (s.count, s.p50_us, s.p99_us, s.p999_us, s.max_us),
            (1000, 500, 990, 999, 1000)
        );
        assert_eq!(s.mean_us, 500);
        assert_eq!(percentile(&[7], 99.9), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[1, 2], 0.0), 1);
        assert_eq!(percentile(&[1, 2], 100.0), 2);
    }
}
