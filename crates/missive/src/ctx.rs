//! The shared state every request handler and worker receives.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use missive_core::id::IdGenerator;
use missive_store::Store;
use tokio::sync::Notify;

use crate::config::Config;
use crate::worker::client::DeliveryClient;

/// Everything a handler needs, built once by `app` and shared behind an `Arc`.
#[derive(Debug)]
pub struct Ctx {
    pub store: Store,
    pub config: Config,
    pub ids: IdGenerator,
    /// Woken after a transaction that created deliveries commits (ARCHITECTURE.md invariant 4).
    pub deliveries_committed: Arc<Notify>,
    /// The one outbound client: address-checked, no redirects, capped reads.
    pub client: DeliveryClient,
}

impl Ctx {
    pub fn new(store: Store, config: Config, client: DeliveryClient) -> Ctx {
        Ctx {
            store,
            config,
            ids: IdGenerator::new(rand::random(), rand::random()),
            deliveries_committed: Arc::new(Notify::new()),
            client,
        }
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
