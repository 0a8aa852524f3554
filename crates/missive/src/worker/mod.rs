//! Delivery: claims due deliveries under a lease, sends them outside any transaction,
//! and records the outcomes in batches. The only code that makes outbound HTTP.
//!
//! - Real time (invariant 4): the dispatcher wakes as soon as a transaction that created
//!   deliveries commits, on this node or (PostgreSQL `LISTEN/NOTIFY`, see `wake`) on any
//!   other; polling is only a fallback.
//! - Fairness (invariant 5): at most `per_webhook_concurrency` deliveries of one webhook
//!   are in flight, and webhooks at that cap are skipped when claiming, so a receiver
//!   that hangs holds only its own slots.
//! - Crash safety (invariants 2 and 3): a claimed delivery's lease outlasts its request;
//!   if this process dies, the delivery becomes due again when the lease expires.

pub mod client;
mod envelope;
pub mod test_send;
mod wake;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use missive_core::retry::{AttemptOutcome, NextStep};
use missive_store::{ClaimedDelivery, Finished, FinishedState, StoreError};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::ctx::{Ctx, now_ms};
use crate::worker::client::Request;
use crate::worker::envelope::Envelope;

/// The most deliveries claimed in one query.
const CLAIM_BATCH: usize = 256;
/// Under a backlog, the fewest free slots worth a claim…
const CLAIM_LOW_WATER: usize = 64;
/// …unless no slot freed for this long.
const CLAIM_GATHER: Duration = Duration::from_millis(1);
/// How long the dispatcher sleeps at most when nothing wakes it.
const POLL_FALLBACK: Duration = Duration::from_secs(2);
/// The most outcomes written in one transaction.
const RECORD_BATCH: usize = 512;
/// How long the recorder gathers outcomes before writing a batch that is not full.
const RECORD_GATHER: Duration = Duration::from_millis(5);

/// Runs the dispatcher and the recorder until `shutdown`, then lets in-flight requests
/// finish and records their outcomes.
pub async fn run(ctx: Arc<Ctx>, shutdown: CancellationToken) {
    let (finished_tx, finished_rx) = mpsc::unbounded_channel();
    let retry_hint = Arc::new(AtomicI64::new(i64::MAX));
    let recorder = tokio::spawn(record(ctx.clone(), finished_rx, retry_hint.clone()));
    // Deliveries committed by other nodes wake this dispatcher too (PostgreSQL only).
    let waker = tokio::spawn(wake::run(ctx.clone(), shutdown.clone()));
    dispatch(ctx, shutdown, finished_tx, retry_hint).await;
    let _ = waker.await;
    // The channel closes when the last in-flight task drops its sender.
    let _ = recorder.await;
}

/// Deliveries in flight, per webhook, shared by the dispatcher and the send tasks.
#[derive(Default)]
struct InFlight {
    per_webhook: Mutex<HashMap<String, usize>>,
}

impl InFlight {
    fn saturated(&self, cap: usize) -> Vec<String> {
        let map = self.per_webhook.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|(_, n)| **n >= cap)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Takes a slot for the webhook if it has one left.
    fn try_take(&self, webhook_id: &str, cap: usize) -> bool {
        let mut map = self.per_webhook.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(webhook_id.to_owned()).or_insert(0);
        if *n >= cap {
            return false;
        }
        *n += 1;
        true
    }

    /// Gives a slot back; true if the webhook was at `cap` (and so skipped until now).
    fn release(&self, webhook_id: &str, cap: usize) -> bool {
        let mut map = self.per_webhook.lock().unwrap_or_else(|e| e.into_inner());
        let Some(n) = map.get_mut(webhook_id) else {
            return false;
        };
        let was_full = *n >= cap;
        *n -= 1;
        if *n == 0 {
            map.remove(webhook_id);
        }
        was_full
    }
}

/// The lease on a claimed delivery: twice the request timeout plus a margin, so that it
/// outlasts the request and the recording of its outcome.
pub fn lease_ms(ctx: &Ctx) -> i64 {
    2 * ctx.config.delivery_timeout.as_millis() as i64 + 2000
}

async fn dispatch(
    ctx: Arc<Ctx>,
    shutdown: CancellationToken,
    finished: mpsc::UnboundedSender<Finished>,
    retry_hint: Arc<AtomicI64>,
) {
    let cap = ctx.config.per_webhook_concurrency;
    let slots = Arc::new(Semaphore::new(ctx.config.delivery_concurrency));
    let in_flight = Arc::new(InFlight::default());
    let slot_freed = Arc::new(Notify::new());
    // A webhook at its cap got a slot back: its due deliveries can be claimed again.
    let cap_freed = Arc::new(Notify::new());
    let lease_token = uuid::Uuid::new_v4().to_string();
    let mut failures = 0u32;
    let low_water = (ctx.config.delivery_concurrency / 4).clamp(1, CLAIM_LOW_WATER);
    // The last claim took all it asked for: more deliveries are waiting.
    let mut backlogged = false;
    // When the next delivery not yet claimed becomes due, as last read.
    let mut next_due: Option<i64> = None;
    while !shutdown.is_cancelled() {
        let free = slots.available_permits().min(CLAIM_BATCH);
        if free == 0 {
            tokio::select! {
                _ = slot_freed.notified() => {}
                _ = shutdown.cancelled() => break,
            }
            continue;
        }
        if backlogged && free < low_water {
            // Claiming each slot as it frees would cost a write transaction per delivery
            // under a backlog; gather a batch, but never wait long for one.
            tokio::select! {
                _ = slot_freed.notified() => continue,
                _ = tokio::time::sleep(CLAIM_GATHER) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let free = slots.available_permits().min(CLAIM_BATCH);
        let skip = in_flight.saturated(cap);
        let claimed = match ctx
            .store
            .claim_due(now_ms(), lease_ms(&ctx), free as i64, &skip, &lease_token)
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
        let full_batch = claimed.len() == free;
        let claimed_none = claimed.is_empty();
        backlogged = full_batch;
        for delivery in claimed {
            if !in_flight.try_take(&delivery.webhook_id, cap) {
                // Claimed past the webhook's cap within one batch: hand it back, due now.
                let _ = finished.send(release(&delivery));
                continue;
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let ctx = ctx.clone();
            let finished = finished.clone();
            let in_flight = in_flight.clone();
            let slot_freed = slot_freed.clone();
            let cap_freed = cap_freed.clone();
            tokio::spawn(async move {
                let webhook_id = delivery.webhook_id.clone();
                let outcome = deliver(&ctx, delivery).await;
                let _ = finished.send(outcome);
                if in_flight.release(&webhook_id, cap) {
                    cap_freed.notify_one();
                }
                drop(permit);
                slot_freed.notify_one();
            });
        }
        if full_batch {
            continue;
        }
        // Everything due was claimed, except for the webhooks at their cap. What becomes
        // due later is a retry (the recorder leaves a hint), an expired lease, or a new
        // commit (which wakes us). So the next due time is read from the database only
        // after a claim that found nothing, not once more per claim, and without the
        // skipped webhooks: their due deliveries would make the dispatcher poll without
        // pause (they are claimed when one of their slots frees).
        let hint = retry_hint.swap(i64::MAX, Ordering::Relaxed);
        let skip = in_flight.saturated(cap);
        if claimed_none {
            next_due = match ctx.store.next_due_at_except(&skip).await {
                Ok(due) => due,
                Err(e) => {
                    log_store_error(&e, "reading the next due time failed");
                    None
                }
            };
        }
        let now = now_ms();
        next_due = next_due.filter(|due| *due > now || claimed_none);
        let wake_at = next_due.map_or(hint, |due| due.min(hint));
        let sleep =
            Duration::from_millis((wake_at.saturating_sub(now)).max(0) as u64).min(POLL_FALLBACK);
        if sleep.is_zero() {
            // Keep the hint for after the next claim.
            retry_hint.fetch_min(hint, Ordering::Relaxed);
            continue;
        }
        tokio::select! {
            _ = ctx.deliveries_committed.notified() => {}
            // Not any freed slot: with a webhook at its cap, each healthy delivery that
            // finished would otherwise cost a claim that finds nothing.
            _ = cap_freed.notified(), if !skip.is_empty() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.cancelled() => break,
        }
    }
}

/// Sends one delivery and decides what happens next.
async fn deliver(ctx: &Ctx, delivery: ClaimedDelivery) -> Finished {
    let target = match &delivery.target {
        Some(target) if target.active => target,
        // Switched off or deleted since it was queued: never sent.
        _ => return finish(&delivery, FinishedState::Cancelled, None),
    };
    let body = Envelope {
        server: &ctx.config.origin.url,
        hook_id: &delivery.webhook_id,
        user_id: &delivery.user_id,
        event_id: &delivery.event_id,
        created_at: delivery.created_at,
        event_type: &delivery.event_type,
        body: &delivery.body,
    }
    .to_bytes();
    let outcome = ctx
        .client
        .post(Request {
            url: &target.url,
            hook_id: &delivery.webhook_id,
            event_id: &delivery.event_id,
            secret: &target.secret,
            body,
        })
        .await;
    let attempt = delivery.attempts as u32 + 1;
    let state = match ctx
        .config
        .retry
        .next_step(attempt, outcome, rand::random::<f64>())
    {
        NextStep::Succeeded => FinishedState::Succeeded,
        NextStep::GaveUp => FinishedState::Failed,
        NextStep::RetryAfterMs(ms) => FinishedState::RetryAt(now_ms() + ms as i64),
    };
    tracing::debug!(delivery = %delivery.id, webhook = %delivery.webhook_id, attempt, ?outcome, ?state, "delivery attempt");
    finish(&delivery, state, Some(outcome))
}

fn finish(
    delivery: &ClaimedDelivery,
    state: FinishedState,
    outcome: Option<AttemptOutcome>,
) -> Finished {
    Finished {
        delivery_id: delivery.id.clone(),
        lease_token: delivery.lease_token.clone(),
        webhook_id: delivery.webhook_id.clone(),
        state,
        attempted: outcome.is_some(),
        status: outcome.map_or(0, AttemptOutcome::latest_status),
        at_ms: now_ms(),
    }
}

/// Gives a claimed delivery back without an attempt, due at once.
fn release(delivery: &ClaimedDelivery) -> Finished {
    finish(delivery, FinishedState::RetryAt(now_ms()), None)
}

/// Writes outcomes in batches (group commit). A batch that cannot be written is kept and
/// retried; if this process dies first, the leases expire and the deliveries are sent again.
async fn record(
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
            ctx.deliveries_committed.notify_one();
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

fn log_store_error(e: &StoreError, what: &str) {
    match e {
        StoreError::Unavailable(_) => tracing::warn!(error = %e, "{what}"),
        _ => tracing::error!(error = %e, "{what}"),
    }
}
