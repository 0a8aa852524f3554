//! One attempt: builds Misskey's envelope, posts it, and decides from the outcome what
//! the queue does next.

use missive_core::retry::{AttemptOutcome, NextStep};
use missive_core::retry_after;
use missive_store::{ClaimedDelivery, Finished, FinishedState};

use crate::ctx::{Ctx, now_ms};
use crate::worker::client::{Answer, DeliveryClient, Request};
use crate::worker::envelope::Envelope;

/// Sends one delivery and decides what happens next.
pub(super) async fn deliver(
    ctx: &Ctx,
    client: &DeliveryClient,
    delivery: ClaimedDelivery,
) -> Finished {
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
    let answer = client
        .send(Request {
            url: &target.url,
            hook_id: &delivery.webhook_id,
            event_id: &delivery.event_id,
            secret: &target.secret,
            previous_secret: target.previous_secret.as_deref(),
            body,
        })
        .await;
    let outcome = answer.outcome;
    let attempt = delivery.attempts as u32 + 1;
    let step = ctx
        .config
        .retry
        .next_step(attempt, outcome, rand::random::<f64>());
    let step = with_retry_after(ctx, step, &answer);
    let state = match step {
        NextStep::Succeeded => FinishedState::Succeeded,
        NextStep::GaveUp => FinishedState::Failed,
        NextStep::RetryAfterMs(ms) => FinishedState::RetryAt(now_ms() + ms as i64),
    };
    tracing::debug!(delivery = %delivery.id, webhook = %delivery.webhook_id, attempt, ?outcome, ?state, "delivery attempt");
    finish(&delivery, state, Some(outcome))
}

/// A 429 or 503 with `Retry-After` may move the retry later than the backoff (capped).
fn with_retry_after(ctx: &Ctx, step: NextStep, answer: &Answer) -> NextStep {
    let wait_ms = answer
        .retry_after
        .as_deref()
        .and_then(|value| retry_after::parse(value, now_ms()));
    retry_after::adjust(step, answer.outcome, wait_ms, ctx.config.retry_after_max_ms)
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
pub(super) fn release(delivery: &ClaimedDelivery) -> Finished {
    finish(delivery, FinishedState::RetryAt(now_ms()), None)
}
