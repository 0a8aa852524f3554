//! The `Retry-After` header of a 429 or 503 answer: when the receiver asks to be tried
//! again. Its value is delta-seconds or an HTTP date (RFC 9110, section 10.2.3).

use std::time::{Duration, UNIX_EPOCH};

use crate::retry::{AttemptOutcome, NextStep};

/// How long from `now_ms` the header asks to wait, in ms; `None` for a value that is
/// neither form. A date in the past asks for no wait.
pub fn parse(value: &str, now_ms: i64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Very large numbers saturate rather than being ignored: they still say "later".
        let secs: u64 = value.parse().unwrap_or(u64::MAX);
        return Some(secs.saturating_mul(1000));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis();
    let at_ms = i64::try_from(at_ms).unwrap_or(i64::MAX);
    Some(u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0))
}

/// Whether an answer's `Retry-After` is honoured: only on 429 and 503.
pub fn applies_to(outcome: AttemptOutcome) -> bool {
    matches!(outcome, AttemptOutcome::Status(429 | 503))
}

/// Moves a retry later when the receiver asked for a longer wait than the backoff, up
/// to `cap_ms`. A retry stays a retry and a final step stays final: the attempt count
/// still applies.
pub fn adjust(
    step: NextStep,
    outcome: AttemptOutcome,
    wait_ms: Option<u64>,
    cap_ms: u64,
) -> NextStep {
    match (step, wait_ms) {
        (NextStep::RetryAfterMs(backoff), Some(wait)) if applies_to(outcome) => {
            NextStep::RetryAfterMs(backoff.max(wait.min(cap_ms)))
        }
        _ => step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-10-21T07:28:00Z, the date in RFC 9110's example.
    const EXAMPLE_DATE_MS: i64 = 1_445_412_480_000;

    #[test]
    fn parses_seconds_and_dates() {
        let cases: [(&str, i64, Option<u64>); 10] = [
            ("120", 0, Some(120_000)),
            (" 0 ", 0, Some(0)),
            ("99999999999999999999999", 0, Some(u64::MAX)),
            (
                "Wed, 21 Oct 2015 07:28:00 GMT",
                EXAMPLE_DATE_MS - 90_000,
                Some(90_000),
            ),
            (
                "Wed, 21 Oct 2015 07:28:00 GMT",
                EXAMPLE_DATE_MS + 5_000,
                Some(0),
            ),
            // The obsolete forms that recipients must still accept.
            (
                "Wednesday, 21-Oct-15 07:28:00 GMT",
                EXAMPLE_DATE_MS - 1_000,
                Some(1_000),
            ),
            ("Wed Oct 21 07:28:00 2015", EXAMPLE_DATE_MS, Some(0)),
            ("-5", 0, None),
            ("1.5", 0, None),
            ("soon", 0, None),
        ];
        for (value, now, expected) in cases {
            assert_eq!(parse(value, now), expected, "{value:?}");
        }
        assert_eq!(parse("", 0), None);
    }

    #[test]
    fn a_longer_wait_moves_the_retry_up_to_the_cap() {
        let hour = 3_600_000;
        let cases = [
            // (step, outcome, wait, expected)
            (
                NextStep::RetryAfterMs(60_000),
                AttemptOutcome::Status(429),
                Some(120_000),
                NextStep::RetryAfterMs(120_000),
            ),
            (
                NextStep::RetryAfterMs(60_000),
                AttemptOutcome::Status(503),
                Some(10_000),
                NextStep::RetryAfterMs(60_000),
            ),
            (
                NextStep::RetryAfterMs(60_000),
                AttemptOutcome::Status(503),
                Some(5 * hour),
                NextStep::RetryAfterMs(hour),
            ),
            (
                NextStep::RetryAfterMs(60_000),
                AttemptOutcome::Status(500),
                Some(120_000),
                NextStep::RetryAfterMs(60_000),
            ),
            (
                NextStep::RetryAfterMs(60_000),
                AttemptOutcome::Status(429),
                None,
                NextStep::RetryAfterMs(60_000),
            ),
            (
                NextStep::GaveUp,
                AttemptOutcome::Status(429),
                Some(120_000),
                NextStep::GaveUp,
            ),
            (
                NextStep::RetryAfterMs(60_000),
                AttemptOutcome::NoResponse,
                Some(120_000),
                NextStep::RetryAfterMs(60_000),
            ),
        ];
        for (step, outcome, wait, expected) in cases {
            assert_eq!(
                adjust(step, outcome, wait, hour),
                expected,
                "{step:?} {outcome:?} {wait:?}"
            );
        }
    }
}
