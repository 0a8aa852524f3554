//! Configuration: built-in defaults, then `missive.toml` (from `--config`), then
//! `MISSIVE_*` environment variables, resolved once into a typed `Config`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use missive_core::health::HealthPolicy;
use missive_core::net_policy::{Cidr, NetworkPolicy};
use missive_core::packed::Origin;
use missive_core::rate_limit::{Rate, RateSetting};
use missive_core::redact::url_for_logs;
use missive_core::retry::RetryPolicy;
use missive_core::time::parse_duration_ms;
use serde::Deserialize;

/// Every setting as written in the file or the environment, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    url: Option<String>,
    database_url: Option<String>,
    allowed_private_networks: Option<StringOrList>,
    delivery_timeout_ms: Option<u64>,
    delivery_max_attempts: Option<u32>,
    delivery_retry_base_ms: Option<u64>,
    delivery_concurrency: Option<usize>,
    delivery_per_webhook_concurrency: Option<usize>,
    delivery_per_host_concurrency: Option<usize>,
    webhook_limit: Option<u32>,
    reaction_throttle_ms: Option<u64>,
    signup_open: Option<bool>,
    trusted_proxies: Option<StringOrList>,
    rate_limit_signup: Option<String>,
    rate_limit_signin: Option<String>,
    rate_limit_signin_account: Option<String>,
    rate_limit_webhook_test: Option<String>,
    webhook_disable_after_failures: Option<u32>,
    webhook_disable_after: Option<String>,
    retry_after_max: Option<String>,
    secret_rotation_grace: Option<String>,
    delivery_log_retention: Option<String>,
    delivery_log_max_per_webhook: Option<u64>,
    redeliver_max: Option<u64>,
}

/// `allowed_private_networks` may be a TOML list or a comma-separated string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringOrList {
    String(String),
    List(Vec<String>),
}

impl StringOrList {
    fn into_list(self) -> Vec<String> {
        match self {
            StringOrList::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            StringOrList::List(list) => list,
        }
    }
}

/// The rate limits of the endpoints worth guessing or flooding; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `signup` (and anonymous `admin/accounts/create`) per client address.
    pub signup: Option<Rate>,
    /// Password checks per client address.
    pub signin: Option<Rate>,
    /// Password checks per account.
    pub signin_account: Option<Rate>,
    /// `i/webhooks/test` per user (Misskey: 60 per 15 minutes).
    pub webhook_test: Option<Rate>,
}

impl RateLimits {
    pub const DEFAULT_SIGNUP: &str = "10/1h";
    pub const DEFAULT_SIGNIN: &str = "30/10m";
    pub const DEFAULT_SIGNIN_ACCOUNT: &str = "10/10m";
    pub const DEFAULT_WEBHOOK_TEST: &str = "60/15m";

    /// No limit anywhere.
    pub fn off() -> RateLimits {
        RateLimits {
            signup: None,
            signin: None,
            signin_account: None,
            webhook_test: None,
        }
    }
}

/// The resolved configuration, passed explicitly to whatever needs it.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub origin: Origin,
    /// No `url` was configured: the origin follows the address actually bound
    /// (which differs from `listen` when its port is 0).
    pub origin_from_listen: bool,
    /// May carry a password: printed only through [`url_for_logs`].
    pub database_url: String,
    pub network_policy: NetworkPolicy,
    pub delivery_timeout: Duration,
    pub retry: RetryPolicy,
    /// Deliveries in flight at once, over all webhooks.
    pub delivery_concurrency: usize,
    /// Deliveries in flight at once for one webhook, so a slow receiver cannot take every slot.
    pub per_webhook_concurrency: usize,
    /// Deliveries in flight at once to one receiving host, over all the webhooks that
    /// point at it, so a slow host behind many webhooks cannot take every slot either.
    pub per_host_concurrency: usize,
    pub webhook_limit: u32,
    /// The least time between two `reaction` deliveries of one note to one webhook, on
    /// this node; reactions in between are not delivered. Zero delivers every one.
    pub reaction_throttle: Duration,
    pub signup_open: bool,
    /// Proxies whose `X-Forwarded-For` names the client for rate limits.
    pub trusted_proxies: Vec<Cidr>,
    pub rate_limits: RateLimits,
    /// When a webhook whose deliveries keep failing is switched off.
    pub health: HealthPolicy,
    /// The longest wait a `Retry-After` header may ask for.
    pub retry_after_max_ms: u64,
    /// How long a replaced secret keeps signing deliveries.
    pub secret_rotation_grace_ms: i64,
    /// How long finished deliveries and their attempts stay in the delivery log.
    pub delivery_log_retention: Duration,
    /// How many finished deliveries of one webhook the log keeps at most.
    pub delivery_log_max_per_webhook: u64,
    /// The most deliveries one `redeliver` call of a webhook's failed set queues.
    pub redeliver_max: u64,
}

/// Like the derived `Debug`, but the database URL is shown without its credentials, so
/// that `check-config` and logs never print a password.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("origin", &self.origin)
            .field("origin_from_listen", &self.origin_from_listen)
            .field("database_url", &url_for_logs(&self.database_url))
            .field("network_policy", &self.network_policy)
            .field("delivery_timeout", &self.delivery_timeout)
            .field("retry", &self.retry)
            .field("delivery_concurrency", &self.delivery_concurrency)
            .field("per_webhook_concurrency", &self.per_webhook_concurrency)
            .field("per_host_concurrency", &self.per_host_concurrency)
            .field("webhook_limit", &self.webhook_limit)
            .field("reaction_throttle", &self.reaction_throttle)
            .field("signup_open", &self.signup_open)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rate_limits", &self.rate_limits)
            .field("health", &self.health)
            .field("retry_after_max_ms", &self.retry_after_max_ms)
            .field("secret_rotation_grace_ms", &self.secret_rotation_grace_ms)
            .field("delivery_log_retention", &self.delivery_log_retention)
            .field(
                "delivery_log_max_per_webhook",
                &self.delivery_log_max_per_webhook,
            )
            .field("redeliver_max", &self.redeliver_max)
            .finish()
    }
}

/// The variables read from the environment, and the file key each overrides.
const ENV_KEYS: &[(&str, &str)] = &[
    ("MISSIVE_LISTEN", "listen"),
    ("MISSIVE_URL", "url"),
    ("MISSIVE_DATABASE_URL", "database_url"),
    (
        "MISSIVE_ALLOWED_PRIVATE_NETWORKS",
        "allowed_private_networks",
    ),
    ("MISSIVE_DELIVERY_TIMEOUT_MS", "delivery_timeout_ms"),
    ("MISSIVE_DELIVERY_MAX_ATTEMPTS", "delivery_max_attempts"),
    ("MISSIVE_DELIVERY_RETRY_BASE_MS", "delivery_retry_base_ms"),
    ("MISSIVE_DELIVERY_CONCURRENCY", "delivery_concurrency"),
    (
        "MISSIVE_DELIVERY_PER_WEBHOOK_CONCURRENCY",
        "delivery_per_webhook_concurrency",
    ),
    (
        "MISSIVE_DELIVERY_PER_HOST_CONCURRENCY",
        "delivery_per_host_concurrency",
    ),
    ("MISSIVE_WEBHOOK_LIMIT", "webhook_limit"),
    ("MISSIVE_REACTION_THROTTLE_MS", "reaction_throttle_ms"),
    ("MISSIVE_SIGNUP_OPEN", "signup_open"),
    ("MISSIVE_TRUSTED_PROXIES", "trusted_proxies"),
    ("MISSIVE_RATE_LIMIT_SIGNUP", "rate_limit_signup"),
    ("MISSIVE_RATE_LIMIT_SIGNIN", "rate_limit_signin"),
    (
        "MISSIVE_RATE_LIMIT_SIGNIN_ACCOUNT",
        "rate_limit_signin_account",
    ),
    ("MISSIVE_RATE_LIMIT_WEBHOOK_TEST", "rate_limit_webhook_test"),
    (
        "MISSIVE_WEBHOOK_DISABLE_AFTER_FAILURES",
        "webhook_disable_after_failures",
    ),
    ("MISSIVE_WEBHOOK_DISABLE_AFTER", "webhook_disable_after"),
    ("MISSIVE_RETRY_AFTER_MAX", "retry_after_max"),
    ("MISSIVE_SECRET_ROTATION_GRACE", "secret_rotation_grace"),
    ("MISSIVE_DELIVERY_LOG_RETENTION", "delivery_log_retention"),
    (
        "MISSIVE_DELIVERY_LOG_MAX_PER_WEBHOOK",
        "delivery_log_max_per_webhook",
    ),
    ("MISSIVE_REDELIVER_MAX", "redeliver_max"),
];

impl Config {
    /// Loads the file at `path` (if any) and the environment `env`, over the defaults.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let mut table = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                text.parse::<toml::Table>()
                    .with_context(|| format!("{} is not valid TOML", path.display()))?
            }
            None => toml::Table::new(),
        };
        for (var, key) in ENV_KEYS {
            if let Some(value) = env(var) {
                table.insert(
                    (*key).to_owned(),
                    env_value(key, &value).with_context(|| format!("{var}={value:?}"))?,
                );
            }
        }
        let raw: RawConfig = toml::Value::Table(table)
            .try_into()
            .context("invalid configuration")?;
        raw.resolve()
    }
}

/// Environment values are strings; numbers and booleans are parsed for the keys that take them.
fn env_value(key: &str, value: &str) -> anyhow::Result<toml::Value> {
    Ok(match key {
        "delivery_timeout_ms"
        | "delivery_max_attempts"
        | "delivery_retry_base_ms"
        | "delivery_concurrency"
        | "delivery_per_webhook_concurrency"
        | "delivery_per_host_concurrency"
        | "webhook_limit"
        | "reaction_throttle_ms"
        | "webhook_disable_after_failures"
        | "delivery_log_max_per_webhook"
        | "redeliver_max" => {
            toml::Value::Integer(value.trim().parse().context("expected a whole number")?)
        }
        "signup_open" => {
            toml::Value::Boolean(value.trim().parse().context("expected true or false")?)
        }
        _ => toml::Value::String(value.to_owned()),
    })
}

impl Config {
    /// Points the origin at the address the server actually bound, if no `url` was set.
    pub fn bound_to(mut self, addr: SocketAddr) -> Config {
        if self.origin_from_listen {
            self.origin = Origin {
                url: format!("http://{addr}"),
                host: addr.to_string(),
            };
        }
        self
    }
}

impl RawConfig {
    fn resolve(self) -> anyhow::Result<Config> {
        let listen_text = self.listen.unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let listen: SocketAddr = listen_text
            .parse()
            .with_context(|| format!("listen: not an address: {listen_text:?}"))?;
        let origin_from_listen = self.url.is_none();
        let url_text = self.url.unwrap_or_else(|| format!("http://{listen}"));
        let parsed =
            url::Url::parse(&url_text).with_context(|| format!("url: not a URL: {url_text:?}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            anyhow::bail!("url: must be an http(s) origin, got {url_text:?}");
        }
        let host = match parsed.port() {
            Some(port) => format!("{}:{port}", parsed.host_str().unwrap_or_default()),
            None => parsed.host_str().unwrap_or_default().to_owned(),
        };
        let origin = Origin {
            url: parsed.origin().ascii_serialization(),
            host,
        };
        let allowed_private = cidrs("allowed_private_networks", self.allowed_private_networks)?;
        let trusted_proxies = cidrs("trusted_proxies", self.trusted_proxies)?;
        let database_url = self
            .database_url
            .unwrap_or_else(|| "sqlite://./missive-data/missive.db".to_owned());
        // The same check `serve` makes before connecting, so `check-config` catches it too.
        missive_store::check_database_url(&database_url)
            .with_context(|| format!("database_url: {}", url_for_logs(&database_url)))?;
        let rate_limits = RateLimits {
            signup: rate(
                "rate_limit_signup",
                self.rate_limit_signup,
                RateLimits::DEFAULT_SIGNUP,
            )?,
            signin: rate(
                "rate_limit_signin",
                self.rate_limit_signin,
                RateLimits::DEFAULT_SIGNIN,
            )?,
            signin_account: rate(
                "rate_limit_signin_account",
                self.rate_limit_signin_account,
                RateLimits::DEFAULT_SIGNIN_ACCOUNT,
            )?,
            webhook_test: rate(
                "rate_limit_webhook_test",
                self.rate_limit_webhook_test,
                RateLimits::DEFAULT_WEBHOOK_TEST,
            )?,
        };
        let timeout_ms = self.delivery_timeout_ms.unwrap_or(5000);
        if timeout_ms == 0 {
            anyhow::bail!("delivery_timeout_ms must be positive");
        }
        let max_attempts = self.delivery_max_attempts.unwrap_or(4);
        if max_attempts == 0 {
            anyhow::bail!("delivery_max_attempts must be at least 1");
        }
        let concurrency = self.delivery_concurrency.unwrap_or(256).max(1);
        let health = HealthPolicy {
            disable_after_failures: self
                .webhook_disable_after_failures
                .unwrap_or(HealthPolicy::default().disable_after_failures),
            disable_after_ms: duration_ms(
                "webhook_disable_after",
                self.webhook_disable_after,
                "24h",
            )?
            .try_into()
            .context("webhook_disable_after: too long")?,
        };
        let retry_after_max_ms = duration_ms("retry_after_max", self.retry_after_max, "1h")?;
        let secret_rotation_grace_ms: i64 =
            duration_ms("secret_rotation_grace", self.secret_rotation_grace, "24h")?
                .try_into()
                .context("secret_rotation_grace: too long")?;
        Ok(Config {
            listen,
            origin,
            origin_from_listen,
            database_url,
            network_policy: NetworkPolicy { allowed_private },
            delivery_timeout: Duration::from_millis(timeout_ms),
            retry: RetryPolicy {
                max_attempts,
                base_ms: self.delivery_retry_base_ms.unwrap_or(60_000),
                cap_ms: RetryPolicy::CAP_MS,
            },
            delivery_concurrency: concurrency,
            per_webhook_concurrency: self
                .delivery_per_webhook_concurrency
                .unwrap_or(16)
                .clamp(1, concurrency),
            per_host_concurrency: self
                .delivery_per_host_concurrency
                .unwrap_or(64)
                .clamp(1, concurrency),
            webhook_limit: self.webhook_limit.unwrap_or(3),
            reaction_throttle: Duration::from_millis(self.reaction_throttle_ms.unwrap_or(1000)),
            signup_open: self.signup_open.unwrap_or(true),
            trusted_proxies,
            rate_limits,
            health,
            retry_after_max_ms,
            secret_rotation_grace_ms,
            delivery_log_retention: duration(
                "delivery_log_retention",
                self.delivery_log_retention.as_deref().unwrap_or("7d"),
            )?,
            delivery_log_max_per_webhook: self.delivery_log_max_per_webhook.unwrap_or(1000),
            redeliver_max: self.redeliver_max.unwrap_or(100).max(1),
        })
    }
}

fn cidrs(key: &str, value: Option<StringOrList>) -> anyhow::Result<Vec<Cidr>> {
    value
        .map(StringOrList::into_list)
        .unwrap_or_default()
        .iter()
        .map(|n| {
            n.parse::<Cidr>()
                .with_context(|| format!("{key}: {n:?} is not a CIDR network"))
        })
        .collect()
}

/// A duration such as `7d`, `12h`, `30m`, `45s` or `500ms`.
fn duration(key: &str, text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let expected = || anyhow::anyhow!("{key}: {text:?} is not a duration such as 7d, 12h or 30m");
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(expected)?;
    let (count, unit) = text.split_at(unit_at);
    let count: u64 = count.parse().map_err(|_| expected())?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(expected()),
    };
    Ok(Duration::from_millis(
        count.checked_mul(unit_ms).ok_or_else(expected)?,
    ))
}

fn rate(key: &str, value: Option<String>, default: &str) -> anyhow::Result<Option<Rate>> {
    let text = value.as_deref().unwrap_or(default);
    text.parse::<RateSetting>()
        .map(|setting| setting.0)
        .map_err(|reason| anyhow::anyhow!("{key}: {reason}"))
}

fn duration_ms(key: &str, value: Option<String>, default: &str) -> anyhow::Result<u64> {
    let text = value.as_deref().unwrap_or(default);
    parse_duration_ms(text).map_err(|reason| anyhow::anyhow!("{key}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = Config::load(None, |_| None).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(config.origin.url, "http://127.0.0.1:3000");
        assert_eq!(config.origin.host, "127.0.0.1:3000");
        assert_eq!(config.database_url, "sqlite://./missive-data/missive.db");
        assert_eq!(config.delivery_timeout, Duration::from_secs(5));
        assert_eq!(
            config.retry,
            RetryPolicy {
                max_attempts: 4,
                base_ms: 60_000,
                cap_ms: RetryPolicy::CAP_MS
            }
        );
        assert_eq!(config.webhook_limit, 3);
        assert_eq!(config.reaction_throttle, Duration::from_secs(1));
        assert!(config.network_policy.allowed_private.is_empty());
        assert_eq!(
            (
                config.delivery_concurrency,
                config.per_webhook_concurrency,
                config.per_host_concurrency
            ),
            (256, 16, 64)
        );
        assert_eq!(config.health, HealthPolicy::default());
        assert_eq!(config.health.disable_after_failures, 5);
        assert_eq!(config.health.disable_after_ms, 86_400_000);
        assert_eq!(config.retry_after_max_ms, 3_600_000);
        assert_eq!(config.secret_rotation_grace_ms, 86_400_000);
    }

    #[test]
    fn health_retry_after_and_rotation_settings() {
        let config = Config::load(None, |var| match var {
            "MISSIVE_WEBHOOK_DISABLE_AFTER_FAILURES" => Some("3".to_owned()),
            "MISSIVE_WEBHOOK_DISABLE_AFTER" => Some("500ms".to_owned()),
            "MISSIVE_RETRY_AFTER_MAX" => Some("10m".to_owned()),
            "MISSIVE_SECRET_ROTATION_GRACE" => Some("2s".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            config.health,
            HealthPolicy {
                disable_after_failures: 3,
                disable_after_ms: 500
            }
        );
        assert_eq!(config.retry_after_max_ms, 600_000);
        assert_eq!(config.secret_rotation_grace_ms, 2_000);
        let bad = Config::load(None, |var| {
            (var == "MISSIVE_WEBHOOK_DISABLE_AFTER").then(|| "soon".to_owned())
        });
        assert!(format!("{:#}", bad.unwrap_err()).contains("webhook_disable_after"));
    }

    #[test]
    fn concurrency_caps_are_at_least_one_and_at_most_the_total() {
        let env = |k: &str| match k {
            "MISSIVE_DELIVERY_CONCURRENCY" => Some("32".to_owned()),
            "MISSIVE_DELIVERY_PER_WEBHOOK_CONCURRENCY" => Some("0".to_owned()),
            "MISSIVE_DELIVERY_PER_HOST_CONCURRENCY" => Some("1000".to_owned()),
            _ => None,
        };
        let config = Config::load(None, env).unwrap();
        assert_eq!(config.per_webhook_concurrency, 1);
        assert_eq!(config.per_host_concurrency, 32);
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missive.toml");
        std::fs::write(&path, "url = \"https://file.example\"\nwebhook_limit = 10\nallowed_private_networks = [\"10.0.0.0/8\"]\n").unwrap();
        let env = |k: &str| match k {
            "MISSIVE_URL" => Some("https://misskey.example/".to_owned()),
            "MISSIVE_DELIVERY_RETRY_BASE_MS" => Some("100".to_owned()),
            "MISSIVE_REACTION_THROTTLE_MS" => Some("0".to_owned()),
            _ => None,
        };
        let config = Config::load(Some(&path), env).unwrap();
        assert_eq!(config.origin.url, "https://misskey.example");
        assert_eq!(config.origin.host, "misskey.example");
        assert_eq!(config.webhook_limit, 10);
        assert_eq!(config.reaction_throttle, Duration::ZERO);
        assert_eq!(config.retry.base_ms, 100);
        assert_eq!(config.network_policy.allowed_private.len(), 1);
    }

    #[test]
    fn rate_limits_default_to_misskeys_and_can_be_turned_off() {
        let config = Config::load(None, |_| None).unwrap();
        let minutes = |m: u64| m * 60_000;
        assert_eq!(
            config.rate_limits,
            RateLimits {
                signup: Some(Rate {
                    max: 10,
                    period_ms: minutes(60)
                }),
                signin: Some(Rate {
                    max: 30,
                    period_ms: minutes(10)
                }),
                signin_account: Some(Rate {
                    max: 10,
                    period_ms: minutes(10)
                }),
                webhook_test: Some(Rate {
                    max: 60,
                    period_ms: minutes(15)
                }),
            }
        );
        assert!(config.trusted_proxies.is_empty());
        let env = |k: &str| match k {
            "MISSIVE_RATE_LIMIT_SIGNUP" => Some("off".to_owned()),
            "MISSIVE_RATE_LIMIT_WEBHOOK_TEST" => Some("5/1m".to_owned()),
            "MISSIVE_TRUSTED_PROXIES" => Some("10.0.0.0/8, ::1/128".to_owned()),
            _ => None,
        };
        let config = Config::load(None, env).unwrap();
        assert_eq!(config.rate_limits.signup, None);
        assert_eq!(
            config.rate_limits.webhook_test,
            Some(Rate {
                max: 5,
                period_ms: minutes(1)
            })
        );
        assert_eq!(config.trusted_proxies.len(), 2);
    }

    #[test]
    fn the_database_url_is_checked_and_never_printed_with_its_password() {
        let err = Config::load(None, |k| {
            (k == "MISSIVE_DATABASE_URL").then(|| "mysql://root:hunter2@db/x".to_owned())
        })
        .unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("unsupported database"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let config = Config::load(None, |k| {
            (k == "MISSIVE_DATABASE_URL").then(|| "postgres://u:hunter2@db:5432/x".to_owned())
        })
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load(None, |k| {
            (k == "MISSIVE_ALLOWED_PRIVATE_NETWORKS").then(|| "127.0.0.0/8, nope".to_owned())
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("nope"), "{err:#}");
        let err = Config::load(None, |k| {
            (k == "MISSIVE_DELIVERY_TIMEOUT_MS").then(|| "soon".to_owned())
        })
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("MISSIVE_DELIVERY_TIMEOUT_MS"),
            "{err:#}"
        );
    }

    #[test]
    fn delivery_log_settings() {
        let config = Config::load(None, |_| None).unwrap();
        assert_eq!(
            config.delivery_log_retention,
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(config.delivery_log_max_per_webhook, 1000);
        assert_eq!(config.redeliver_max, 100);
        let env = |name: &str| match name {
            "MISSIVE_DELIVERY_LOG_RETENTION" => Some("12h".to_owned()),
            "MISSIVE_DELIVERY_LOG_MAX_PER_WEBHOOK" => Some("50".to_owned()),
            "MISSIVE_REDELIVER_MAX" => Some("7".to_owned()),
            _ => None,
        };
        let config = Config::load(None, env).unwrap();
        assert_eq!(
            config.delivery_log_retention,
            Duration::from_secs(12 * 3600)
        );
        assert_eq!(config.delivery_log_max_per_webhook, 50);
        assert_eq!(config.redeliver_max, 7);
        for bad in ["7", "d", "7 weeks", "-1d"] {
            let env =
                |name: &str| (name == "MISSIVE_DELIVERY_LOG_RETENTION").then(|| bad.to_owned());
            assert!(Config::load(None, env).is_err(), "{bad:?}");
        }
    }
}
