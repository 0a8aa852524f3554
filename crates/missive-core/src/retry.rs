//! What happens after a delivery attempt: Misskey's outcome classification and backoff.

/// The result of one attempt to POST a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered with this HTTP status.
    Status(u16),
    /// No HTTP answer: a network error, a timeout, or an address that may not be dialled.
    /// Misskey records these as status `1`.
    NoResponse,
}

impl AttemptOutcome {
    /// The value written to the webhook's `latestStatus`.
    pub fn latest_status(self) -> i64 {
        match self {
            AttemptOutcome::Status(code) => i64::from(code),
            AttemptOutcome::NoResponse => 1,
        }
    }

    pub fn is_success(self) -> bool {
        matches!(self, AttemptOutcome::Status(200..=299))
    }

    /// 2xx is done; 4xx other than 429 is final; anything else may be tried again.
    pub fn is_retryable(self) -> bool {
        match self {
            AttemptOutcome::Status(code) if (200..300).contains(&code) => false,
            AttemptOutcome::Status(429) => true,
            AttemptOutcome::Status(code) => !(400..500).contains(&code),
            AttemptOutcome::NoResponse => true,
        }
    }
}

/// How often and how late deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_ms: u64,
    pub cap_ms: u64,
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Succeeded,
    /// Final failure: a non-retryable status, or no attempts left.
    GaveUp,
    RetryAfterMs(u64),
}

impl RetryPolicy {
    /// Misskey's cap on one backoff: 8 hours.
    pub const CAP_MS: u64 = 8 * 60 * 60 * 1000;

    /// Decides the next step after attempt number `attempts_made` (1-based) ended in `outcome`.
    /// `jitter` in `[0, 1)` adds up to 20 % to the delay, as Misskey does.
    pub fn next_step(&self, attempts_made: u32, outcome: AttemptOutcome, jitter: f64) -> NextStep {
        if outcome.is_success() {
            return NextStep::Succeeded;
        }
        if !outcome.is_retryable() || attempts_made >= self.max_attempts {
            return NextStep::GaveUp;
        }
        NextStep::RetryAfterMs(self.backoff_ms(attempts_made, jitter))
    }

    /// `(2^n − 1) × base`, capped, plus `round(delay × jitter × 0.2)`.
    pub fn backoff_ms(&self, n: u32, jitter: f64) -> u64 {
        let factor = 2u64.checked_pow(n).map_or(u64::MAX, |p| p - 1);
        let delay = factor.saturating_mul(self.base_ms).min(self.cap_ms);
        let jitter = jitter.clamp(0.0, 1.0);
        delay + (delay as f64 * jitter * 0.2).round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MISSKEY: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        base_ms: 60_000,
        cap_ms: RetryPolicy::CAP_MS,
    };

    #[test]
    fn outcome_classification_matches_misskey() {
        let cases = [
            (AttemptOutcome::Status(200), true, false),
            (AttemptOutcome::Status(204), true, false),
            (AttemptOutcome::Status(301), false, true),
            (AttemptOutcome::Status(400), false, false),
            (AttemptOutcome::Status(404), false, false),
            (AttemptOutcome::Status(429), false, true),
            (AttemptOutcome::Status(500), false, true),
            (AttemptOutcome::Status(503), false, true),
            (AttemptOutcome::NoResponse, false, true),
        ];
        for (outcome, success, retryable) in cases {
            assert_eq!(outcome.is_success(), success, "{outcome:?}");
            assert_eq!(outcome.is_retryable(), retryable, "{outcome:?}");
        }
        assert_eq!(AttemptOutcome::NoResponse.latest_status(), 1);
    }

    #[test]
    fn schedule_is_one_three_seven_minutes_then_gives_up() {
        let fail = AttemptOutcome::Status(500);
        assert_eq!(
            MISSKEY.next_step(1, fail, 0.0),
            NextStep::RetryAfterMs(60_000)
        );
        assert_eq!(
            MISSKEY.next_step(2, fail, 0.0),
            NextStep::RetryAfterMs(180_000)
        );
        assert_eq!(
            MISSKEY.next_step(3, fail, 0.0),
            NextStep::RetryAfterMs(420_000)
        );
        assert_eq!(MISSKEY.next_step(4, fail, 0.0), NextStep::GaveUp);
        assert_eq!(
            MISSKEY.next_step(1, AttemptOutcome::Status(404), 0.0),
            NextStep::GaveUp
        );
        assert_eq!(
            MISSKEY.next_step(1, AttemptOutcome::Status(201), 0.0),
            NextStep::Succeeded
        );
    }

    #[test]
    fn jitter_adds_at_most_twenty_percent_and_the_cap_holds() {
        for i in 0..=100 {
            let j = f64::from(i) / 100.0;
            let d = MISSKEY.backoff_ms(1, j);
            assert!((60_000..=72_000).contains(&d), "{d}");
        }
        let huge = MISSKEY.backoff_ms(40, 0.0);
        assert_eq!(huge, RetryPolicy::CAP_MS);
        assert_eq!(
            MISSKEY.backoff_ms(200, 1.0),
            RetryPolicy::CAP_MS + RetryPolicy::CAP_MS / 5
        );
    }
}
