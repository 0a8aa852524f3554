//! Rate limits on the endpoints worth guessing or flooding, as Misskey limits them: per
//! client address for the anonymous ones, per account for sign-in and per user for test
//! sends. Refusals are answered by the API as Misskey's `RATE_LIMIT_EXCEEDED`.
//!
//! The buckets live in this node's memory: with several nodes behind a load balancer a
//! client gets each limit once per node it reaches.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

use axum::http::HeaderMap;
use missive_core::net_policy::Cidr;
use missive_core::rate_limit::{Bucket, Rate};

use crate::config::RateLimits;
use crate::ctx::now_ms;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `signup` and anonymous `admin/accounts/create`, per client address.
    Signup,
    /// Password checks (`signin-flow`), per client address.
    SigninFromAddress,
    /// Password checks against one account (`signin-flow`, `i/regenerate-token`).
    SigninToAccount,
    /// `i/webhooks/test`, per user.
    WebhookTest,
}

/// Buckets above this many are swept of the drained ones before another is added.
const SWEEP_AT: usize = 10_000;

/// This node's rate-limit buckets.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(Scope, String), Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn rate(&self, scope: Scope) -> Option<Rate> {
        match scope {
            Scope::Signup => self.limits.signup,
            Scope::SigninFromAddress => self.limits.signin,
            Scope::SigninToAccount => self.limits.signin_account,
            Scope::WebhookTest => self.limits.webhook_test,
        }
    }

    /// Counts one call by `who` against `scope`'s limit, or refuses it.
    pub fn check(&self, scope: Scope, who: &str) -> Result<(), Limited> {
        let Some(rate) = self.rate(scope) else {
            return Ok(());
        };
        let now = now_ms();
        // The map holds plain counters: one that a panicking thread left is still usable.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|(scope, _), bucket| {
                self.rate(*scope)
                    .is_some_and(|rate| !bucket.is_empty(rate, now))
            });
        }
        let bucket = buckets
            .entry((scope, who.to_owned()))
            .or_insert_with(|| Bucket::new(now));
        match bucket.take(rate, now) {
            Ok(_) => Ok(()),
            Err(exceeded) => Err(Limited {
                total: rate.max,
                reset_at_ms: now + i64::try_from(exceeded.wait_ms).unwrap_or(i64::MAX / 2),
            }),
        }
    }
}

/// A refused call: the limit allows `total` calls, and the next one at `reset_at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub total: u32,
    pub reset_at_ms: i64,
}

/// The address a rate limit counts: the peer, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not one (each proxy appends the address
/// it received from, so the entries right of it are the only ones a client cannot forge).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[Cidr]) -> IpAddr {
    let trusted = |ip: IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // A garbled entry: nothing left of it can be trusted.
            break;
        };
        client = ip;
        if !trusted(ip) {
            break;
        }
    }
    client
}

/// The key a client address is counted under: IPv6 clients usually hold a whole /64, so
/// they are counted per /64 (as an IPv4 client is per address).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in xff {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxies: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let cases: &[(&str, &[&str], &str)] = &[
            // No trusted proxy: the header is the client's own words, ignored.
            ("203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
            // One trusted proxy: the address it appended.
            ("10.0.0.2", &["198.51.100.1"], "198.51.100.1"),
            // The client forged entries to the left: the rightmost untrusted one counts.
            ("10.0.0.2", &["1.1.1.1, 198.51.100.1"], "198.51.100.1"),
            // Two trusted proxies in a row, in one header or several.
            ("10.0.0.2", &["198.51.100.1, 10.0.0.3"], "198.51.100.1"),
            ("10.0.0.2", &["198.51.100.1", "10.0.0.3"], "198.51.100.1"),
            // Behind a trusted proxy with no header: the proxy itself.
            ("10.0.0.2", &[], "10.0.0.2"),
            // Garbage stops the walk at the last address that parsed.
            (
                "10.0.0.2",
                &["198.51.100.1, nonsense, 10.0.0.3"],
                "10.0.0.3",
            ),
        ];
        for (peer, xff, want) in cases {
            assert_eq!(
                client_address(ip(peer), &headers(xff), &proxies),
                ip(want),
                "{peer} {xff:?}"
            );
        }
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:3:4:5:6")),
            address_key(ip("2001:db8:1:2:ffff::1"))
        );
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(address_key(ip("192.0.2.1")), "192.0.2.1");
    }

    #[test]
    fn refusals_say_when_to_come_back() {
        let limiter = RateLimiter::new(RateLimits {
            webhook_test: Some(Rate {
                max: 2,
                period_ms: 60_000,
            }),
            ..RateLimits::off()
        });
        assert!(limiter.check(Scope::WebhookTest, "alice").is_ok());
        assert!(limiter.check(Scope::WebhookTest, "alice").is_ok());
        let refused = limiter.check(Scope::WebhookTest, "alice").unwrap_err();
        assert_eq!(refused.total, 2);
        let wait = refused.reset_at_ms - now_ms();
        assert!((25_000..=30_001).contains(&wait), "{wait}");
        // Others, and other scopes, are counted apart; scopes without a limit never refuse.
        assert!(limiter.check(Scope::WebhookTest, "bob").is_ok());
        for _ in 0..100 {
            assert!(limiter.check(Scope::Signup, "alice").is_ok());
        }
    }
}
