//! The pruner: keeps the delivery log bounded, in the background and in small batches.
//! Finished deliveries (with their attempts, and payloads no delivery uses any more) go
//! once they are older than the retention, or beyond the newest ones kept per webhook.

use std::sync::Arc;
use std::time::Duration;

use missive_core::id::IdGenerator;
use tokio_util::sync::CancellationToken;

use crate::ctx::{Ctx, now_ms};
use crate::worker::log_store_error;

/// The most deliveries removed in one transaction: short enough that the single SQLite
/// writer is barely taken from the workers and the API.
const PRUNE_BATCH: i64 = 200;
/// Webhooks checked against the per-webhook cap per round.
const WEBHOOKS_PER_ROUND: i64 = 100;
/// How much older than the deliveries' bound the payloads' is.
const PAYLOAD_MARGIN_MS: i64 = 60_000;
/// The pause between rounds that found little to do.
const PRUNE_INTERVAL: Duration = Duration::from_secs(5);
/// The pause between rounds while there is a backlog, to leave the writer to others.
const PRUNE_BACKLOG_PAUSE: Duration = Duration::from_millis(50);

pub(super) async fn run(ctx: Arc<Ctx>, shutdown: CancellationToken) {
    // Where the walk over the webhooks (for the per-webhook cap) goes on from.
    let mut after: Option<String> = None;
    while !shutdown.is_cancelled() {
        let pause = match round(&ctx, &mut after).await {
            Ok(true) => PRUNE_BACKLOG_PAUSE,
            Ok(false) => PRUNE_INTERVAL,
            Err(e) => {
                log_store_error(&e, "pruning the delivery log failed");
                PRUNE_INTERVAL
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.cancelled() => break,
        }
    }
}

/// One batch; whether it was full (more may be waiting).
async fn round(ctx: &Ctx, after: &mut Option<String>) -> missive_store::Result<bool> {
    let webhooks = ctx
        .store
        .webhook_ids_after(after.as_deref(), WEBHOOKS_PER_ROUND)
        .await?;
    let cutoff = now_ms() - ctx.config.delivery_log_retention.as_millis() as i64;
    // Ids begin with their creation time: the smallest id of a millisecond bounds the
    // deliveries and payloads created before it. A payload is created just before its
    // deliveries, in the same request: its bound is a minute earlier, so that it never
    // goes before a delivery that uses it.
    let smallest_id_at = |ms: i64| IdGenerator::new(0, 0).next(ms);
    let keep = i64::try_from(ctx.config.delivery_log_max_per_webhook).unwrap_or(i64::MAX);
    let pruned = ctx
        .store
        .prune_delivery_log(
            &smallest_id_at(cutoff),
            &smallest_id_at(cutoff - PAYLOAD_MARGIN_MS),
            keep,
            &webhooks,
            PRUNE_BATCH,
        )
        .await?;
    let full = pruned.deliveries >= PRUNE_BATCH as u64 || pruned.payloads >= PRUNE_BATCH as u64;
    if !full {
        // Every webhook of this page is within its cap: go on with the next page, or
        // start over.
        *after = if (webhooks.len() as i64) < WEBHOOKS_PER_ROUND {
            None
        } else {
            webhooks.last().cloned()
        };
    }
    if pruned.deliveries > 0 {
        tracing::debug!(
            deliveries = pruned.deliveries,
            payloads = pruned.payloads,
            "pruned the delivery log"
        );
    }
    Ok(full)
}
