//! Cross-node wake-ups: turns PostgreSQL notifications into dispatcher wake-ups.
//!
//! Deliveries committed through another node reach this node's dispatcher through the
//! store's listener (`LISTEN missive_deliveries`), so whichever node is free sends them at
//! once (ARCHITECTURE.md invariant 4) instead of at its next poll. On SQLite there is no listener:
//! one process owns the database and the in-process wake-up already covers every commit.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::ctx::Ctx;

/// Wakes the dispatcher on every notification (and after each reconnection, when
/// notifications may have been missed) until `shutdown`.
pub async fn run(ctx: Arc<Ctx>, shutdown: CancellationToken) {
    let Some(mut listener) = ctx.store.deliveries_listener() else {
        return;
    };
    loop {
        tokio::select! {
            _ = listener.wait() => ctx.store.deliveries_committed().notify_one(),
            _ = shutdown.cancelled() => return,
        }
    }
}
