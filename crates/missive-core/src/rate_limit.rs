//! Rate limits as leaky buckets: a [`Rate`] says how many calls a period allows, and a
//! [`Bucket`] remembers how full one caller's allowance is. Time is passed in.
//!
//! A bucket fills by one per call and drains continuously at `max / period`, so a caller
//! may burst up to `max` calls and then gets one more each `period / max`: the steady
//! rate and the burst are both bounded, and no window edge lets twice the limit through.

use std::fmt;
use std::str::FromStr;

/// At most `max` calls per `period_ms`, refilled continuously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub max: u32,
    pub period_ms: u64,
}

/// A rate setting as written: `N/PERIOD` (`10/1m`, `60/15m`, `5/30s`, `100/1h`, `1000/1d`),
/// or `off` (also `0`) for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSetting(pub Option<Rate>);

impl FromStr for RateSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<RateSetting, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") || s == "0" {
            return Ok(RateSetting(None));
        }
        let expected = || format!("{s:?} is not a rate: expected N/PERIOD such as 10/1m, or off");
        let (max, period) = s.split_once('/').ok_or_else(expected)?;
        let max: u32 = max.trim().parse().map_err(|_| expected())?;
        let period = period.trim();
        let unit_at = period
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(expected)?;
        let (count, unit) = period.split_at(unit_at);
        // A bare unit means one of it: `10/m`.
        let count: u64 = if count.is_empty() {
            1
        } else {
            count.parse().map_err(|_| expected())?
        };
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(expected()),
        };
        let period_ms = count.checked_mul(unit_ms).ok_or_else(expected)?;
        if max == 0 {
            return Ok(RateSetting(None));
        }
        if period_ms == 0 {
            return Err(expected());
        }
        Ok(RateSetting(Some(Rate { max, period_ms })))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}ms", self.max, self.period_ms)
    }
}

/// A call refused by its rate: try again in `wait_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub wait_ms: u64,
}

/// One caller's allowance under one [`Rate`].
///
/// Kept in whole numbers so that no rounding can refuse a call the rate allows: each
/// call adds `period_ms` to the level, each millisecond drains `max`, and the bucket
/// holds `max × period_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    level: u128,
    at_ms: i64,
}

impl Bucket {
    pub fn new(now_ms: i64) -> Bucket {
        Bucket {
            level: 0,
            at_ms: now_ms,
        }
    }

    fn drain(&mut self, rate: Rate, now_ms: i64) {
        let elapsed = u128::try_from(now_ms - self.at_ms).unwrap_or(0);
        self.level = self
            .level
            .saturating_sub(elapsed.saturating_mul(u128::from(rate.max)));
        self.at_ms = now_ms.max(self.at_ms);
    }

    /// Counts one call if the rate allows it and returns how many more it allows now.
    pub fn take(&mut self, rate: Rate, now_ms: i64) -> Result<u32, Exceeded> {
        self.drain(rate, now_ms);
        let per_call = u128::from(rate.period_ms);
        let capacity = u128::from(rate.max) * per_call;
        if self.level + per_call <= capacity {
            self.level += per_call;
            let remaining = (capacity - self.level) / per_call;
            return Ok(u32::try_from(remaining).unwrap_or(u32::MAX));
        }
        let excess = self.level + per_call - capacity;
        let wait_ms = excess.div_ceil(u128::from(rate.max));
        Err(Exceeded {
            wait_ms: u64::try_from(wait_ms).unwrap_or(u64::MAX).max(1),
        })
    }

    /// Whether the bucket has drained completely, so forgetting it changes nothing.
    pub fn is_empty(&self, rate: Rate, now_ms: i64) -> bool {
        let mut probe = *self;
        probe.drain(rate, now_ms);
        probe.level == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(s: &str) -> Option<Rate> {
        s.parse::<RateSetting>().unwrap().0
    }

    #[test]
    fn settings_parse() {
        let cases = [
            ("10/1m", Some((10, 60_000))),
            ("60/15m", Some((60, 900_000))),
            ("5/30s", Some((5, 30_000))),
            ("100/1h", Some((100, 3_600_000))),
            ("3/m", Some((3, 60_000))),
            (" 7 / 2d ", Some((7, 172_800_000))),
            ("off", None),
            ("OFF", None),
            ("0", None),
            ("0/1m", None),
        ];
        for (text, want) in cases {
            assert_eq!(rate(text).map(|r| (r.max, r.period_ms)), want, "{text}");
        }
        for bad in [
            "", "10", "10/", "x/1m", "10/1y", "10/0s", "-1/1m", "10/1.5m",
        ] {
            assert!(
                bad.parse::<RateSetting>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn allows_a_burst_of_max_then_one_per_interval() {
        let rate = Rate {
            max: 3,
            period_ms: 3_000,
        };
        let mut bucket = Bucket::new(0);
        assert_eq!(bucket.take(rate, 0), Ok(2));
        assert_eq!(bucket.take(rate, 0), Ok(1));
        assert_eq!(bucket.take(rate, 0), Ok(0));
        assert_eq!(bucket.take(rate, 0), Err(Exceeded { wait_ms: 1_000 }));
        assert_eq!(bucket.take(rate, 400), Err(Exceeded { wait_ms: 600 }));
        // A refused call is not counted: a second later one call is allowed again.
        assert_eq!(bucket.take(rate, 1_000), Ok(0));
        assert!(bucket.take(rate, 1_000).is_err());
        assert!(!bucket.is_empty(rate, 3_999));
        assert!(bucket.is_empty(rate, 4_000));
        // Fully drained: the whole burst again.
        assert_eq!(bucket.take(rate, 10_000), Ok(2));
    }

    #[test]
    fn a_clock_going_backwards_drains_nothing() {
        let rate = Rate {
            max: 1,
            period_ms: 1_000,
        };
        let mut bucket = Bucket::new(5_000);
        assert_eq!(bucket.take(rate, 5_000), Ok(0));
        assert!(bucket.take(rate, 4_000).is_err());
        assert_eq!(bucket.take(rate, 6_000), Ok(0));
    }
}
