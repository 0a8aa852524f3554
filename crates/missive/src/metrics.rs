//! Delivery counters and histograms for `/metrics`, kept in this process (atomics):
//! each node counts what its own workers did, so a cluster's totals are the sum over
//! its nodes, as Prometheus sums them.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The attempt outcomes counted, in the order `/metrics` prints them.
pub const ATTEMPT_OUTCOMES: [&str; 10] = [
    "2xx", "3xx", "4xx", "5xx", "refused", "timeout", "dns", "tls", "blocked", "other",
];

/// The final states counted.
pub const FINAL_STATES: [&str; 3] = ["succeeded", "failed", "cancelled"];

/// Upper bounds of the histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(value.as_micros() as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// What this node's delivery workers did since it started.
#[derive(Debug, Default)]
pub struct DeliveryMetrics {
    attempts: [AtomicU64; ATTEMPT_OUTCOMES.len()],
    finals: [AtomicU64; FINAL_STATES.len()],
    pub attempt_duration: Histogram,
    /// From the event (the commit of the action that caused it) to a 2xx answer.
    pub end_to_end: Histogram,
    /// Deliveries handed to the workers by the write that created them, not claimed.
    handed_over: AtomicU64,
}

impl DeliveryMetrics {
    /// Counts an attempt by its outcome, one of `ATTEMPT_OUTCOMES`.
    pub fn attempt(&self, outcome: &str) {
        if let Some(i) = ATTEMPT_OUTCOMES.iter().position(|o| *o == outcome) {
            self.attempts[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a delivery that reached a final state, one of `FINAL_STATES`.
    pub fn finished(&self, state: &str) {
        if let Some(i) = FINAL_STATES.iter().position(|s| *s == state) {
            self.finals[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts deliveries handed over by the writes that created them.
    pub fn handed_over(&self, n: usize) {
        self.handed_over.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The Prometheus text of every counter and histogram.
    pub fn write(&self, out: &mut String) {
        let name = "missive_delivery_attempts_total";
        let _ = writeln!(
            out,
            "# HELP {name} Delivery attempts made by this node, by outcome."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        for (outcome, n) in ATTEMPT_OUTCOMES.iter().zip(&self.attempts) {
            let n = n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}{{outcome=\"{outcome}\"}} {n}");
        }
        let name = "missive_deliveries_total";
        let _ = writeln!(
            out,
            "# HELP {name} Deliveries that reached a final state on this node."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        for (state, n) in FINAL_STATES.iter().zip(&self.finals) {
            let n = n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}{{state=\"{state}\"}} {n}");
        }
        let name = "missive_deliveries_handed_over_total";
        let _ = writeln!(
            out,
            "# HELP {name} Deliveries this node's workers took from the write that created them, leased at birth, instead of claiming them."
        );
        let _ = writeln!(out, "# TYPE {name} counter");
        let _ = writeln!(out, "{name} {}", self.handed_over.load(Ordering::Relaxed));
        self.attempt_duration.write(
            out,
            "missive_delivery_attempt_duration_seconds",
            "Time from sending a delivery attempt to its answer or error, on this node.",
        );
        self.end_to_end.write(
            out,
            "missive_delivery_latency_seconds",
            "Time from the event's commit to a 2xx answer, on this node.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_are_cumulative() {
        let m = DeliveryMetrics::default();
        m.attempt("2xx");
        m.attempt("2xx");
        m.attempt("timeout");
        m.attempt("unknown");
        m.finished("failed");
        m.handed_over(3);
        m.attempt_duration.observe(Duration::from_millis(3));
        m.attempt_duration.observe(Duration::from_millis(300));
        let mut out = String::new();
        m.write(&mut out);
        assert!(out.contains("missive_delivery_attempts_total{outcome=\"2xx\"} 2\n"));
        assert!(out.contains("missive_delivery_attempts_total{outcome=\"timeout\"} 1\n"));
        assert!(out.contains("missive_deliveries_total{state=\"failed\"} 1\n"));
        assert!(out.contains("missive_deliveries_handed_over_total 3\n"));
        assert!(out.contains("missive_delivery_attempt_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(out.contains("missive_delivery_attempt_duration_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(out.contains("missive_delivery_attempt_duration_seconds_count 2\n"));
    }
}
