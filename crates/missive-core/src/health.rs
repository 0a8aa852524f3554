//! Endpoint health: when a webhook whose deliveries keep failing is switched off.
//!
//! A delivery fails when it ends without success (attempts exhausted or a final 4xx).
//! A run of failed deliveries with none succeeding switches the webhook off once it is
//! both long enough (a count) and old enough (a time span), so that neither a burst of
//! failures during a short outage nor one failure a day for a month does it alone.
//! A `410 Gone` answer switches it off at once: the receiver says it is gone for good.

/// When to switch a failing webhook off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failed deliveries needed; 0 never switches off for failures.
    pub disable_after_failures: u32,
    /// How long the run of failures must span, from the first to the latest, in ms.
    pub disable_after_ms: i64,
}

impl Default for HealthPolicy {
    fn default() -> HealthPolicy {
        HealthPolicy {
            disable_after_failures: 5,
            disable_after_ms: 24 * 60 * 60 * 1000,
        }
    }
}

/// Why a webhook was switched off automatically; stored and shown as `disabledReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisabledReason {
    /// The receiver answered `410 Gone`.
    Gone,
    /// Its deliveries kept failing for the whole window.
    Failing,
}

impl DisabledReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisabledReason::Gone => "gone",
            DisabledReason::Failing => "failing",
        }
    }
}

/// The health columns of one webhook after a run of failures: how many in a row and
/// when the first and the latest of them ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRun {
    pub consecutive_failures: i64,
    pub first_failure_at_ms: Option<i64>,
    pub latest_failure_at_ms: Option<i64>,
}

impl HealthPolicy {
    /// Whether `run` is long and old enough to switch the webhook off.
    pub fn should_disable(&self, run: FailureRun) -> bool {
        if self.disable_after_failures == 0
            || run.consecutive_failures < i64::from(self.disable_after_failures)
        {
            return false;
        }
        match (run.first_failure_at_ms, run.latest_failure_at_ms) {
            (Some(first), Some(latest)) => latest.saturating_sub(first) >= self.disable_after_ms,
            _ => false,
        }
    }
}

/// Whether an answer switches the webhook off at once.
pub fn is_gone(status: i64) -> bool {
    status == 410
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 60 * 60 * 1000;

    fn run(failures: i64, first: Option<i64>, latest: Option<i64>) -> FailureRun {
        FailureRun {
            consecutive_failures: failures,
            first_failure_at_ms: first,
            latest_failure_at_ms: latest,
        }
    }

    #[test]
    fn switches_off_only_when_the_run_is_long_and_old_enough() {
        let policy = HealthPolicy::default();
        let cases = [
            (run(0, None, None), false),
            (run(4, Some(0), Some(30 * HOUR)), false),
            (run(5, Some(0), Some(23 * HOUR)), false),
            (run(5, Some(0), Some(24 * HOUR)), true),
            (run(50, Some(10), Some(10 + 25 * HOUR)), true),
            (run(5, None, Some(24 * HOUR)), false),
        ];
        for (run, expected) in cases {
            assert_eq!(policy.should_disable(run), expected, "{run:?}");
        }
    }

    #[test]
    fn zero_failures_setting_never_switches_off() {
        let policy = HealthPolicy {
            disable_after_failures: 0,
            disable_after_ms: 0,
        };
        assert!(!policy.should_disable(run(1000, Some(0), Some(1000 * HOUR))));
    }

    #[test]
    fn only_410_is_gone() {
        assert!(is_gone(410));
        for status in [1, 200, 400, 404, 429, 500, 503] {
            assert!(!is_gone(status), "{status}");
        }
        assert_eq!(DisabledReason::Gone.as_str(), "gone");
        assert_eq!(DisabledReason::Failing.as_str(), "failing");
    }
}
