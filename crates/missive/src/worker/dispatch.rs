//! The dispatcher: claims due deliveries in batches, leaving out the webhooks and hosts
//! at their cap, and hands them to the `Launcher`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use missive_store::{ClaimSkip, ClaimedDelivery, Finished};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ctx::{Ctx, now_ms};
use crate::worker::client::DeliveryClient;
use crate::worker::launch::{ClaimPlan, Launcher};
use crate::worker::{lease_ms, log_store_error};

/// The most deliveries claimed in one query for free slots…
const CLAIM_BATCH: usize = 256;
/// …and ahead of them, for the parked reserves of busy hosts (`Launcher::claim_plan`).
const CLAIM_AHEAD_MAX: usize = 512;
/// Under a backlog, the fewest free slots worth a claim…
const CLAIM_LOW_WATER: usize = 64;
/// …unless no slot freed for this long.
const CLAIM_GATHER: Duration = Duration::from_millis(1);
/// How long the dispatcher sleeps at most when nothing wakes it.
const POLL_FALLBACK: Duration = Duration::from_secs(2);

pub(super) async fn dispatch(
    ctx: Arc<Ctx>,
    client: DeliveryClient,
    shutdown: CancellationToken,
    finished: mpsc::UnboundedSender<Finished>,
    retry_hint: Arc<AtomicI64>,
) {
    let launcher = Launcher::new(ctx.clone(), client, finished);
    let lease_token = uuid::Uuid::new_v4().to_string();
    // New deliveries this process can start soon come straight from the writes that
    // create them, already leased (`missive_store::Intake`); the claims below take the rest.
    let handed = ctx
        .store
        .hand_off_to(lease_token.clone(), lease_ms(&ctx), launcher.clone());
    tokio::spawn(take_handed(ctx.clone(), launcher.clone(), handed));
    let mut failures = 0u32;
    let low_water = (ctx.config.delivery_concurrency / 4).clamp(1, CLAIM_LOW_WATER);
    // The last claim took all it asked for: more deliveries are waiting.
    let mut backlogged = false;
    // When the next delivery not yet claimed becomes due, as last read.
    let mut next_due: Option<i64> = None;
    // The skip of a claim that took everything due outside it. Until a commit or a due
    // time wakes the dispatcher, a claim whose skip covers it would find nothing: under
    // a backlog for a host at its cap, that saves a claim (two scans) per slot freed.
    // A claim only takes deliveries, so the other claims since leave it true.
    let mut exhausted: Option<ClaimSkip> = None;
    while !shutdown.is_cancelled() {
        launcher.start_parked();
        let free = launcher.slots.available_permits().min(CLAIM_BATCH);
        if free == 0 {
            tokio::select! {
                _ = launcher.slot_freed.notified() => {}
                _ = shutdown.cancelled() => break,
            }
            continue;
        }
        if backlogged && free < low_water {
            // Claiming each slot as it frees would cost a write transaction per delivery
            // under a backlog; gather a batch, but never wait long for one.
            tokio::select! {
                _ = launcher.slot_freed.notified() => continue,
                _ = tokio::time::sleep(CLAIM_GATHER) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let free = launcher.slots.available_permits().min(CLAIM_BATCH);
        let ClaimPlan { skip, ahead } = launcher.claim_plan();
        // As many as there are free slots, or, if more, what the answering hosts at
        // their cap are short of (their slots are taken, so the free ones are not
        // theirs). Never fewer than the free slots: a small reserve to refill for a slow
        // host would otherwise make every claim a small one for the other hosts too.
        let limit = free.max(ahead.min(CLAIM_AHEAD_MAX));
        if exhausted.as_ref().is_some_and(|e| skip.covers(e)) {
            // The same webhooks and hosts (or more) are at their cap as when the queue
            // had nothing else: wait for a commit, a due time or a freed cap.
            match wait(&ctx, &launcher, &shutdown, &retry_hint, next_due).await {
                Wake::Claim => exhausted = None,
                Wake::CapFreed => {}
                Wake::Shutdown => break,
            }
            continue;
        }
        let claimed = match ctx
            .store
            .claim_due(now_ms(), lease_ms(&ctx), limit as i64, &skip, &lease_token)
            .await
        {
            Ok(claimed) => {
                failures = 0;
                claimed
            }
            Err(e) => {
                // The database is down or failing: back off, then try again.
                failures += 1;
                let delay = Duration::from_millis((100u64 << failures.min(6)).min(5000));
                log_store_error(&e, "claiming deliveries failed");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.cancelled() => break,
                }
                continue;
            }
        };
        let full_batch = claimed.len() == limit;
        let claimed_none = claimed.is_empty();
        backlogged = full_batch;
        for delivery in claimed {
            launcher.place(delivery);
        }
        if full_batch {
            continue;
        }
        // Everything due was claimed, except for the webhooks and hosts at their cap.
        // What becomes due later is a retry (the recorder leaves a hint), an expired
        // lease, or a new commit (which wakes us). So the next due time is read from the
        // database only after a claim that found nothing, not once more per claim, and
        // without the skipped webhooks and hosts: their due deliveries would make the
        // dispatcher poll without pause (they are claimed when one of their slots frees).
        if claimed_none {
            next_due = match ctx.store.next_due_at_except(&skip).await {
                Ok(due) => due,
                Err(e) => {
                    log_store_error(&e, "reading the next due time failed");
                    None
                }
            };
        }
        exhausted = Some(skip);
        next_due = next_due.filter(|due| *due > now_ms() || claimed_none);
        match wait(&ctx, &launcher, &shutdown, &retry_hint, next_due).await {
            Wake::Claim => exhausted = None,
            Wake::CapFreed => {}
            Wake::Shutdown => break,
        }
    }
    // New deliveries are queued from now on; those handed over meanwhile go back.
    ctx.store.stop_handing_off();
    launcher.close();
}

/// Places the deliveries the writes hand over, until the store stops handing them over
/// and the last write that leased some has handed them on.
async fn take_handed(
    ctx: Arc<Ctx>,
    launcher: Arc<Launcher>,
    mut handed: mpsc::UnboundedReceiver<Vec<ClaimedDelivery>>,
) {
    while let Some(deliveries) = handed.recv().await {
        ctx.metrics.handed_over(deliveries.len());
        for delivery in deliveries {
            launcher.place_handed(delivery);
        }
    }
}

/// Why the dispatcher stopped waiting.
enum Wake {
    /// Deliveries were committed, or may have become due: claim.
    Claim,
    /// A webhook or host at its cap got a slot back.
    CapFreed,
    Shutdown,
}

/// Waits until there may be something to claim: a commit, the next due time or retry,
/// a webhook or host at its cap getting a slot back, or a parked delivery's deadline.
async fn wait(
    ctx: &Ctx,
    launcher: &Launcher,
    shutdown: &CancellationToken,
    retry_hint: &AtomicI64,
    next_due: Option<i64>,
) -> Wake {
    let hint = retry_hint.load(Ordering::Relaxed);
    let now = now_ms();
    let wake_at = next_due.map_or(hint, |due| due.min(hint));
    let mut sleep =
        Duration::from_millis((wake_at.saturating_sub(now)).max(0) as u64).min(POLL_FALLBACK);
    if let Some(deadline) = launcher.next_park_deadline() {
        sleep = sleep.min(deadline.saturating_duration_since(Instant::now()));
    }
    if sleep.is_zero() {
        take_due_hint(retry_hint, now);
        return Wake::Claim;
    }
    let wake = tokio::select! {
        _ = ctx.store.deliveries_committed().notified() => Wake::Claim,
        // Not any freed slot: with a webhook at its cap, each healthy delivery that
        // finished would otherwise cost a claim that finds nothing. Listened to even
        // when nothing is at its cap now: a cap may have been left between the claim
        // and this wait, and its deliveries, skipped by the claim, wait for this.
        _ = launcher.cap_freed.notified() => Wake::CapFreed,
        _ = tokio::time::sleep(sleep) => Wake::Claim,
        _ = shutdown.cancelled() => Wake::Shutdown,
    };
    if matches!(wake, Wake::Claim) {
        take_due_hint(retry_hint, now_ms());
    }
    wake
}

/// Forgets the retry hint if it is due by `now`: the claim about to run takes those
/// retries. A later hint stays until it is due, whatever wakes the dispatcher first.
///
/// A hint that was kept once due made every wait end at once: after a retry due as soon
/// as it was written, the dispatcher claimed without pause, 17,000 statements a second
/// with nothing to send (`retries::the_dispatcher_rests_once_a_retry_that_was_due_at_once_is_done`).
fn take_due_hint(retry_hint: &AtomicI64, now: i64) {
    let _ = retry_hint.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |hint| {
        (hint <= now).then_some(i64::MAX)
    });
}
