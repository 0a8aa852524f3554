//! A per-key minimum interval: the `reaction` throttle lets one delivery per note and
//! webhook through in each interval and drops the rest, so that a popular note cannot
//! flood a receiver. Time is passed in; the caller holds the state behind a lock.

use std::collections::HashMap;
use std::hash::Hash;

/// When each key last let something through.
#[derive(Debug)]
pub struct Throttle<K> {
    interval_ms: i64,
    last_admitted: HashMap<K, i64>,
    /// When keys whose interval has passed were last forgotten.
    last_swept_ms: i64,
}

impl<K: Eq + Hash> Throttle<K> {
    /// `interval_ms` 0 admits everything.
    pub fn new(interval_ms: i64) -> Throttle<K> {
        Throttle {
            interval_ms,
            last_admitted: HashMap::new(),
            last_swept_ms: 0,
        }
    }

    /// Whether `key` may pass at `now_ms`; if so, its interval starts now.
    pub fn admit(&mut self, key: K, now_ms: i64) -> bool {
        if self.interval_ms <= 0 {
            return true;
        }
        self.sweep(now_ms);
        match self.last_admitted.get(&key) {
            Some(&last) if now_ms - last < self.interval_ms => false,
            _ => {
                self.last_admitted.insert(key, now_ms);
                true
            }
        }
    }

    /// Forgets the keys whose interval has passed, at most once an interval, so that
    /// memory holds only the keys of the last interval or two.
    fn sweep(&mut self, now_ms: i64) {
        if now_ms - self.last_swept_ms < self.interval_ms {
            return;
        }
        let interval = self.interval_ms;
        self.last_admitted
            .retain(|_, last| now_ms - *last < interval);
        self.last_swept_ms = now_ms;
    }

    /// How many keys are remembered (for tests).
    pub fn len(&self) -> usize {
        self.last_admitted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last_admitted.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_key_and_interval() {
        let mut throttle = Throttle::new(1000);
        assert!(throttle.admit("a", 10_000));
        assert!(!throttle.admit("a", 10_500));
        assert!(throttle.admit("b", 10_500));
        assert!(!throttle.admit("a", 10_999));
        assert!(throttle.admit("a", 11_000));
        assert!(!throttle.admit("a", 11_001));
    }

    #[test]
    fn zero_admits_everything_and_remembers_nothing() {
        let mut throttle = Throttle::new(0);
        for now in 0..10 {
            assert!(throttle.admit("a", now));
        }
        assert!(throttle.is_empty());
    }

    #[test]
    fn old_keys_are_forgotten() {
        let mut throttle = Throttle::new(1000);
        for key in 0..100 {
            assert!(throttle.admit(key, 5_000));
        }
        assert!(throttle.admit(1000, 7_000));
        assert_eq!(throttle.len(), 1);
    }
}
