//! The deliveries in flight per webhook and per receiving host, and the caps on them
//! (ARCHITECTURE.md invariant 5), shared by the dispatcher and the send tasks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use missive_store::{ClaimSkip, ClaimedDelivery};

/// Deliveries in flight per webhook and per receiving host, shared by the dispatcher
/// and the send tasks.
pub struct InFlight {
    caps: Caps,
    counts: Mutex<Counts>,
}

/// The most deliveries in flight at once for one webhook and for one host.
#[derive(Clone, Copy)]
pub struct Caps {
    pub per_webhook: usize,
    pub per_host: usize,
}

#[derive(Default)]
struct Counts {
    per_webhook: HashMap<String, usize>,
    per_host: HashMap<String, usize>,
    /// How fast each host with deliveries in flight gets through them at its cap.
    turnover: HashMap<String, Turnover>,
    /// How fast deliveries finish, over every webhook and host.
    finished: Option<Turnover>,
}

/// Deliveries finished (of one host at its cap, or of all), counted per `PACE_WINDOW`.
struct Turnover {
    /// When the current window began.
    window: Instant,
    this: usize,
    last: usize,
}

/// `InFlight::admission`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// How many deliveries finished per `PACE_WINDOW` lately, over every host: how many
    /// this process starts in a window while it is busy.
    pub pace: usize,
    /// The host is at its cap and frees nothing (its requests hang).
    pub host_hangs: bool,
}

/// The window over which a host's pace is counted.
pub const PACE_WINDOW: Duration = Duration::from_millis(100);

/// Where a delivery takes its slots: its webhook, and its host unless it will not be
/// sent (its webhook is gone or switched off).
pub struct SlotKey {
    webhook_id: String,
    host: Option<String>,
}

impl SlotKey {
    pub fn of(delivery: &ClaimedDelivery) -> SlotKey {
        SlotKey {
            webhook_id: delivery.webhook_id.clone(),
            host: delivery
                .target
                .as_ref()
                .filter(|t| t.active)
                .map(|t| t.host.clone()),
        }
    }

    /// The host whose slots this takes; `""` for a delivery that will not be sent.
    pub fn host(&self) -> &str {
        self.host.as_deref().unwrap_or("")
    }
}

impl InFlight {
    pub fn new(caps: Caps) -> InFlight {
        InFlight {
            caps,
            counts: Mutex::default(),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The webhooks and hosts at their cap, for the claim to leave out, in order.
    pub fn saturated(&self) -> ClaimSkip {
        let counts = self.counts();
        let full = |map: &HashMap<String, usize>, cap: usize| {
            let mut keys: Vec<String> = map
                .iter()
                .filter(|(_, n)| **n >= cap)
                .map(|(key, _)| key.clone())
                .collect();
            keys.sort_unstable();
            keys
        };
        ClaimSkip {
            webhooks: full(&counts.per_webhook, self.caps.per_webhook),
            hosts: full(&counts.per_host, self.caps.per_host),
        }
    }

    /// Whether `host` (a `SlotKey::host`) has no slot left.
    pub fn host_saturated(&self, host: &str) -> bool {
        let counts = self.counts();
        counts
            .per_host
            .get(host)
            .is_some_and(|n| *n >= self.caps.per_host)
    }

    /// How many of `host`'s deliveries finished at its cap per `PACE_WINDOW` lately: the
    /// pace at which it takes new ones while its slots are full. Zero for a host that
    /// hangs (it frees nothing until its requests time out) or is below its cap.
    pub fn host_pace(&self, host: &str) -> usize {
        let counts = self.counts();
        counts
            .turnover
            .get(host)
            .map_or(0, |t| t.per_window(Instant::now()))
    }

    /// Takes a slot for the delivery if its webhook and its host both have one left.
    pub fn try_take(&self, key: &SlotKey) -> bool {
        let mut counts = self.counts();
        let webhook = counts.per_webhook.get(&key.webhook_id).copied();
        let host = key
            .host
            .as_ref()
            .and_then(|h| counts.per_host.get(h).copied());
        if webhook.unwrap_or(0) >= self.caps.per_webhook || host.unwrap_or(0) >= self.caps.per_host
        {
            return false;
        }
        *counts
            .per_webhook
            .entry(key.webhook_id.clone())
            .or_insert(0) += 1;
        if let Some(host) = &key.host {
            *counts.per_host.entry(host.clone()).or_insert(0) += 1;
        }
        true
    }

    /// What the launcher weighs before it takes a new delivery to `host` from a write,
    /// read under one lock: the writer thread asks once per delivery.
    pub fn admission(&self, host: &str) -> Admission {
        let counts = self.counts();
        let now = Instant::now();
        let at_cap = counts
            .per_host
            .get(host)
            .is_some_and(|n| *n >= self.caps.per_host);
        let host_pace = counts.turnover.get(host).map_or(0, |t| t.per_window(now));
        Admission {
            pace: counts.finished.as_ref().map_or(0, |t| t.per_window(now)),
            host_hangs: at_cap && host_pace == 0,
        }
    }

    /// Gives the slots back; true if the webhook or the host was at its cap (and so
    /// skipped by the claims until now).
    pub fn release(&self, key: &SlotKey) -> bool {
        let mut counts = self.counts();
        let now = Instant::now();
        counts
            .finished
            .get_or_insert_with(|| Turnover::starting(now))
            .count(now);
        let webhook_was_full = release_one(
            &mut counts.per_webhook,
            &key.webhook_id,
            self.caps.per_webhook,
        );
        let host_was_full = key.host.as_ref().is_some_and(|host| {
            let was_full = release_one(&mut counts.per_host, host, self.caps.per_host);
            if was_full {
                count_turnover(&mut counts.turnover, host, now);
            } else if !counts.per_host.contains_key(host) {
                counts.turnover.remove(host);
            }
            was_full
        });
        webhook_was_full || host_was_full
    }
}

/// Counts one of `host`'s deliveries finished at its cap at `now`.
fn count_turnover(turnover: &mut HashMap<String, Turnover>, host: &str, now: Instant) {
    turnover
        .entry(host.to_owned())
        .or_insert_with(|| Turnover::starting(now))
        .count(now);
}

impl Turnover {
    fn starting(now: Instant) -> Turnover {
        Turnover {
            window: now,
            this: 0,
            last: 0,
        }
    }

    /// Counts one at `now`.
    fn count(&mut self, now: Instant) {
        let age = now.saturating_duration_since(self.window);
        if age >= 2 * PACE_WINDOW {
            *self = Turnover::starting(now);
        } else if age >= PACE_WINDOW {
            self.last = self.this;
            self.this = 0;
            self.window += PACE_WINDOW;
        }
        self.this += 1;
    }

    /// How many per window lately: none once two windows passed without one.
    fn per_window(&self, now: Instant) -> usize {
        if now.saturating_duration_since(self.window) >= 2 * PACE_WINDOW {
            0
        } else {
            self.last.max(self.this)
        }
    }
}

/// Takes one from `map[key]`, forgetting keys that reach zero; true if it was at `cap`.
fn release_one(map: &mut HashMap<String, usize>, key: &str, cap: usize) -> bool {
    let Some(n) = map.get_mut(key) else {
        return false;
    };
    let was_full = *n >= cap;
    *n -= 1;
    if *n == 0 {
        map.remove(key);
    }
    was_full
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(webhook: &str, host: Option<&str>) -> SlotKey {
        SlotKey {
            webhook_id: webhook.to_owned(),
            host: host.map(str::to_owned),
        }
    }

    fn in_flight() -> InFlight {
        InFlight::new(Caps {
            per_webhook: 2,
            per_host: 3,
        })
    }

    #[test]
    fn a_webhook_takes_at_most_its_cap() {
        let slots = in_flight();
        let a = key("a", Some("h:443"));
        assert!(slots.try_take(&a));
        assert!(slots.try_take(&a));
        assert!(!slots.try_take(&a));
        assert_eq!(slots.saturated().webhooks, ["a"]);
        assert!(slots.saturated().hosts.is_empty());
        assert!(slots.release(&a), "a was at its cap");
        assert!(!slots.release(&a));
        assert_eq!(slots.saturated(), ClaimSkip::default());
    }

    #[test]
    fn the_webhooks_of_one_host_share_its_cap() {
        let slots = in_flight();
        let (a, b, c) = (
            key("a", Some("h:443")),
            key("b", Some("h:443")),
            key("c", Some("other:443")),
        );
        assert!(slots.try_take(&a));
        assert!(slots.try_take(&a));
        assert!(slots.try_take(&b));
        assert!(!slots.try_take(&b), "the host is at its cap");
        assert!(slots.try_take(&c), "another host is not");
        assert!(slots.host_saturated("h:443"));
        assert_eq!(
            slots.saturated(),
            ClaimSkip {
                webhooks: vec!["a".into()],
                hosts: vec!["h:443".into()],
            }
        );
        assert!(slots.release(&b), "the host was at its cap");
        assert!(!slots.host_saturated("h:443"));
        assert!(slots.try_take(&b));
    }

    #[test]
    fn a_host_has_a_pace_once_deliveries_finish_at_its_cap() {
        let slots = in_flight();
        let (a, b) = (key("a", Some("h:443")), key("b", Some("h:443")));
        assert!(slots.try_take(&a));
        assert!(slots.try_take(&b));
        slots.release(&b);
        assert_eq!(slots.host_pace("h:443"), 0, "it finished one below its cap");
        assert!(slots.try_take(&b));
        assert!(slots.try_take(&b));
        assert_eq!(
            slots.host_pace("h:443"),
            0,
            "nothing finished at its cap yet"
        );
        for _ in 0..3 {
            assert!(slots.release(&b), "at its cap");
            assert!(slots.try_take(&b));
        }
        assert_eq!(slots.host_pace("h:443"), 3);
        assert_eq!(slots.host_pace("other:443"), 0);
        // Once nothing is in flight for the host, it is forgotten.
        for k in [&b, &b, &a] {
            slots.release(k);
        }
        assert_eq!(slots.host_pace("h:443"), 0);
        assert!(slots.counts().turnover.is_empty());
    }

    #[test]
    fn a_pace_is_counted_per_window_and_forgotten_when_nothing_finishes() {
        let start = Instant::now();
        let mut turnover = HashMap::new();
        for _ in 0..5 {
            count_turnover(&mut turnover, "h", start);
        }
        count_turnover(&mut turnover, "h", start + PACE_WINDOW);
        let t = &turnover["h"];
        assert_eq!((t.last, t.this), (5, 1), "the last full window counted 5");
        // Two windows without a delivery finished: the pace starts over.
        count_turnover(&mut turnover, "h", start + 4 * PACE_WINDOW);
        let t = &turnover["h"];
        assert_eq!((t.last, t.this), (0, 1));
    }

    #[test]
    fn admission_counts_every_finished_delivery_and_tells_a_hanging_host() {
        let slots = in_flight();
        let (a, b) = (key("a", Some("h:443")), key("b", Some("h:443")));
        let idle = Admission {
            pace: 0,
            host_hangs: false,
        };
        assert_eq!(slots.admission("h:443"), idle);
        for k in [&a, &a, &b] {
            assert!(slots.try_take(k));
        }
        assert!(
            slots.admission("h:443").host_hangs,
            "at its cap with nothing finished"
        );
        assert!(!slots.admission("other:443").host_hangs);
        slots.release(&b);
        assert!(slots.try_take(&b));
        assert_eq!(
            slots.admission("h:443"),
            Admission {
                pace: 1,
                host_hangs: false,
            },
            "it finished one at its cap"
        );
        slots.release(&a);
        assert_eq!(
            slots.admission("other:443").pace,
            2,
            "the pace counts every host"
        );
    }

    #[test]
    fn a_delivery_that_will_not_be_sent_takes_no_host_slot() {
        let slots = in_flight();
        // Four at once, more than the host cap of three: only the webhook caps count.
        for webhook in ["gone", "off", "gone", "off"] {
            assert!(slots.try_take(&key(webhook, None)));
        }
        assert!(slots.saturated().hosts.is_empty());
        assert!(!slots.host_saturated(""));
    }
}
