//! The recorder: writes attempt outcomes in batches (group commit), and tells the
//! dispatcher when the earliest retry is due.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use missive_store::{Finished, FinishedState};
use tokio::sync::mpsc;

use crate::ctx::Ctx;
use crate::worker::log_store_error;

/// The most outcomes written in one transaction.
const RECORD_BATCH: usize = 512;
/// How long the recorder gathers outcomes before writing a batch that is not full.
const RECORD_GATHER: Duration = Duration::from_millis(5);

/// Writes outcomes in batches (group commit). A batch that cannot be written is kept and
/// retried; if this process dies first, the leases expire and the deliveries are sent again.
pub(super) async fn record(
    ctx: Arc<Ctx>,
    mut rx: mpsc::UnboundedReceiver<Finished>,
    retry_hint: Arc<AtomicI64>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        take_ready(&mut rx, &mut batch);
        if batch.len() < RECORD_BATCH {
            // A write transaction per outcome or two would take the single writer from
            // the API and the claims under a steady load; outcomes can wait a little
            // (the leases outlast this by far), deliveries cannot.
            tokio::time::sleep(RECORD_GATHER).await;
            take_ready(&mut rx, &mut batch);
        }
        let mut failures = 0u32;
        while let Err(e) = ctx.store.finish_deliveries(&batch).await {
            failures += 1;
            log_store_error(&e, "recording delivery outcomes failed");
            tokio::time::sleep(Duration::from_millis((100u64 << failures.min(6)).min(5000))).await;
        }
        let retry_at = batch
            .iter()
            .filter_map(|f| match f.state {
                FinishedState::RetryAt(at) => Some(at),
                _ => None,
            })
            .min();
        if let Some(at) = retry_at {
            // Tell the dispatcher when to claim again, then wake it to take the hint.
            retry_hint.fetch_min(at, Ordering::Relaxed);
            ctx.store.deliveries_committed().notify_one();
        }
        batch.clear();
    }
}

/// Moves what the channel holds into `batch`, up to `RECORD_BATCH`.
fn take_ready(rx: &mut mpsc::UnboundedReceiver<Finished>, batch: &mut Vec<Finished>) {
    while batch.len() < RECORD_BATCH {
        match rx.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
}
