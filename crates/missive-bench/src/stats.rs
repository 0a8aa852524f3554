//! Percentiles and rates over the recorded latencies.

/// Latency percentiles in milliseconds, by the nearest-rank method.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of `sorted`, which must be ascending:
/// the smallest value such that at least p % of the values are at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    // ceil(p/100 × n) is the 1-based rank; p = 0 means the minimum.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl Percentiles {
    /// Sorts `values` in place and takes p50, p90, p99 and the maximum.
    pub fn of(values: &mut [f64]) -> Percentiles {
        values.sort_by(f64::total_cmp);
        let at = |p| percentile(values, p).unwrap_or(0.0);
        Percentiles {
            count: values.len(),
            p50: at(50.0),
            p90: at(90.0),
            p99: at(99.0),
            max: values.last().copied().unwrap_or(0.0),
        }
    }
}

/// Events per second over a span in milliseconds; zero for an empty span.
pub fn per_sec(count: u64, span_ms: f64) -> f64 {
    if span_ms <= 0.0 {
        0.0
    } else {
        count as f64 * 1000.0 / span_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_one_to_a_hundred() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 90.0), Some(90.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
    }

    #[test]
    fn nearest_rank_rounds_the_rank_up() {
        // Ten values: p99 is the 10th (ceil 9.9), p90 the 9th, p50 the 5th.
        let mut values: Vec<f64> = vec![10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0];
        let p = Percentiles::of(&mut values);
        assert_eq!(p.count, 10);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (5.0, 9.0, 10.0, 10.0));
        // p51 of ten values needs six at or below: the 6th.
        assert_eq!(percentile(&values, 51.0), Some(6.0));
    }

    #[test]
    fn one_value_and_none() {
        assert_eq!(percentile(&[], 50.0), None);
        let p = Percentiles::of(&mut []);
        assert_eq!(p, Percentiles::default());
        let p = Percentiles::of(&mut [7.5]);
        assert_eq!((p.p50, p.p99, p.max), (7.5, 7.5, 7.5));
    }

    #[test]
    fn rates() {
        assert_eq!(per_sec(500, 250.0), 2000.0);
        assert_eq!(per_sec(10, 0.0), 0.0);
    }
}
