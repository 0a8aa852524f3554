//! The shared state every request handler and worker receives.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use missive_core::id::IdGenerator;
use missive_store::Store;
use tokio::sync::Notify;

use crate::api::rate_limit::RateLimiter;
use crate::config::Config;
use crate::passwords::PasswordPool;
use crate::worker::client::DeliveryClient;

/// Everything a handler needs, built once by `app` and shared behind an `Arc`.
#[derive(Debug)]
pub struct Ctx {
    pub store: Store,
    pub config: Config,
    pub ids: IdGenerator,
    /// Woken after a transaction that created deliveries commits (DESIGN invariant 4).
    pub deliveries_committed: Arc<Notify>,
    /// The one outbound client: address-checked, no redirects, capped reads.
    pub client: DeliveryClient,
    /// Password hashing on a bounded pool, so that floods cannot exhaust memory.
    pub passwords: PasswordPool,
    pub rate_limiter: RateLimiter,
}

impl Ctx {
    /// Fails only if the password hashing threads cannot be started.
    pub fn new(store: Store, config: Config, client: DeliveryClient) -> std::io::Result<Ctx> {
        Ok(Ctx {
            store,
            rate_limiter: RateLimiter::new(config.rate_limits),
            config,
            ids: IdGenerator::new(rand::random(), rand::random()),
            deliveries_committed: Arc::new(Notify::new()),
            client,
            passwords: PasswordPool::for_this_machine()?,
        })
    }

    pub fn new_id(&self) -> String {
        self.ids.next(now_ms())
    }
}

/// The wall clock in Unix epoch milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
