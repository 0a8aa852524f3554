//! Delivery: claims due deliveries under a lease, sends them outside any transaction,
//! and records the outcomes in batches. The only code that makes outbound HTTP.
//!
//! - Real time (invariant 4): the dispatcher wakes as soon as a transaction that created
//!   deliveries commits, on this node or (PostgreSQL `LISTEN/NOTIFY`, see `wake`) on any
//!   other; polling is only a fallback.
//! - Fairness (invariant 5): at most `per_webhook_concurrency` deliveries of one webhook,
//!   and `per_host_concurrency` of one receiving host (`missive_core::receiver`), are in
//!   flight; webhooks and hosts at their cap are left out of the claims, so a receiver
//!   that hangs holds only its own slots, however many webhooks point at it.
//! - Crash safety (invariants 2 and 3): a claimed delivery's lease outlasts its request;
//!   if this process dies, the delivery becomes due again when the lease expires.

pub mod client;
mod connections;
mod deliver;
mod dispatch;
mod in_flight;
mod launch;
mod prune;
mod record;
mod test_send;
mod wake;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use missive_store::StoreError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ctx::{Ctx, TestSend};
use crate::worker::client::DeliveryClient;

/// Runs the dispatcher, the recorder and the test sends (`test_sends`, queued by the API)
/// until `shutdown`, then lets in-flight requests finish and records their outcomes.
/// `client` makes every outbound request.
pub async fn run(
    ctx: Arc<Ctx>,
    client: DeliveryClient,
    test_sends: mpsc::UnboundedReceiver<TestSend>,
    shutdown: CancellationToken,
) {
    let (finished_tx, finished_rx) = mpsc::unbounded_channel();
    let retry_hint = Arc::new(AtomicI64::new(i64::MAX));
    let recorder = tokio::spawn(record::record(ctx.clone(), finished_rx, retry_hint.clone()));
    // Deliveries committed by other nodes wake this dispatcher too (PostgreSQL only).
    let waker = tokio::spawn(wake::run(ctx.clone(), shutdown.clone()));
    // The delivery log stays within its retention and per-webhook cap.
    let pruner = tokio::spawn(prune::run(ctx.clone(), shutdown.clone()));
    let tester = tokio::spawn(test_send::run(
        ctx.clone(),
        client.clone(),
        test_sends,
        shutdown.clone(),
    ));
    dispatch::dispatch(ctx, client, shutdown, finished_tx, retry_hint).await;
    let _ = waker.await;
    let _ = pruner.await;
    let _ = tester.await;
    // The channel closes when the last in-flight task drops its sender.
    let _ = recorder.await;
}

/// The lease on a claimed delivery: twice the request timeout plus a margin, so that it
/// outlasts the request and the recording of its outcome.
pub fn lease_ms(ctx: &Ctx) -> i64 {
    2 * ctx.config.delivery_timeout.as_millis() as i64 + 2000
}

fn log_store_error(e: &StoreError, what: &str) {
    match e {
        StoreError::Unavailable(_) => tracing::warn!(error = %e, "{what}"),
        _ => tracing::error!(error = %e, "{what}"),
    }
}
