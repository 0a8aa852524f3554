//! The shared state every request handler and worker receives.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use missive_core::event::EventType;
use missive_core::id::IdGenerator;
use missive_core::model::Webhook;
use missive_store::Store;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::fanout::ReactionThrottle;
use crate::metrics::DeliveryMetrics;
use crate::passwords::PasswordPool;
use crate::rate_limit::RateLimiter;

/// Everything a handler needs, built once by `app` and shared behind an `Arc`.
#[derive(Debug)]
pub struct Ctx {
    pub store: Store,
    pub config: Config,
    pub ids: Arc<IdGenerator>,
    /// The test sends asked for, which the worker makes with its outbound client.
    test_sends: mpsc::UnboundedSender<TestSend>,
    /// Password hashing on a bounded pool, so that floods cannot exhaust memory.
    pub passwords: PasswordPool,
    pub rate_limiter: RateLimiter,
    pub reaction_throttle: ReactionThrottle,
    /// What this node's delivery workers did, for `/metrics`.
    pub metrics: DeliveryMetrics,
}

/// A webhook to send Misskey's test payload of `event` to, once (`i/webhooks/test`).
#[derive(Debug)]
pub struct TestSend {
    pub webhook: Webhook,
    pub event: EventType,
}

impl Ctx {
    /// `test_sends` is the queue that the worker takes test sends from. Fails only if
    /// the password hashing threads cannot be started.
    pub fn new(
        store: Store,
        config: Config,
        test_sends: mpsc::UnboundedSender<TestSend>,
    ) -> std::io::Result<Ctx> {
        Ok(Ctx {
            store,
            rate_limiter: RateLimiter::new(config.rate_limits),
            reaction_throttle: ReactionThrottle::new(config.reaction_throttle),
            config,
            ids: Arc::new(IdGenerator::new(rand::random(), rand::random())),
            test_sends,
            passwords: PasswordPool::for_this_machine()?,
            metrics: DeliveryMetrics::default(),
        })
    }

    pub fn new_id(&self) -> String {
        self.ids.next(now_ms())
    }

    /// Has the worker send `webhook` the test payload of `event` in the background.
    pub fn send_test(&self, webhook: Webhook, event: EventType) {
        // The queue closes only once the worker has stopped, when the server is shutting
        // down: the send is dropped then, as a request still in flight would be.
        let _ = self.test_sends.send(TestSend { webhook, event });
    }
}

/// The wall clock in Unix epoch milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
