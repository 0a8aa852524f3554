//! One attempt: builds Misskey's envelope, posts it, and decides from the outcome what
//! the queue does next.

use std::time::{Duration, Instant};

use missive_core::retry::{AttemptOutcome, NextStep};
use missive_core::retry_after;
use missive_store::{AttemptLog, ClaimedDelivery, Finished, FinishedState};

use crate::ctx::{Ctx, now_ms};
use crate::worker::client::{AttemptReport, DeliveryClient, Request};
use missive_core::envelope::Envelope;

/// Sends one delivery and decides what happens next.
pub(super) async fn deliver(
    ctx: &Ctx,
    client: &DeliveryClient,
    delivery: ClaimedDelivery,
) -> Finished {
    let target = match &delivery.target {
        Some(target) if target.active => target,
        // Switched off or deleted since it was queued: never sent.
        _ => {
            ctx.metrics.finished("cancelled");
            return finish(&delivery, FinishedState::Cancelled, None);
        }
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
    .to_json();
    let started_at_ms = now_ms();
    let clock = Instant::now();
    let report = client
        .post_reporting(Request {
            url: &target.url,
            hook_id: &delivery.webhook_id,
            event_id: &delivery.event_id,
            secret: &target.secret,
            previous_secret: target.previous_secret.as_deref(),
            body: body.into(),
        })
        .await;
    let took = clock.elapsed();
    let outcome = report.outcome;
    let attempt = delivery.attempts as u32 + 1;
    let step = ctx
        .config
        .retry
        .next_step(attempt, outcome, rand::random::<f64>());
    let step = with_retry_after(ctx, step, &report);
    let state = match step {
        NextStep::Succeeded => FinishedState::Succeeded,
        NextStep::GaveUp => FinishedState::Failed,
        NextStep::RetryAfterMs(ms) => FinishedState::RetryAt(now_ms() + ms as i64),
    };
    tracing::debug!(delivery = %delivery.id, webhook = %delivery.webhook_id, attempt, ?outcome, ?state, "delivery attempt");
    count(ctx, &delivery, &report, state, took);
    let log = AttemptLog {
        attempt: i64::from(attempt),
        started_at_ms,
        duration_ms: took.as_millis() as i64,
        status: match outcome {
            AttemptOutcome::Status(code) => Some(i64::from(code)),
            AttemptOutcome::NoResponse => None,
        },
        error: report.error.map(|e| e.as_str().to_owned()),
        response_head: report.response_head,
        next_retry_at_ms: match state {
            FinishedState::RetryAt(at) => Some(at),
            _ => None,
        },
    };
    Finished {
        log: Some(log),
        ..finish(&delivery, state, Some(outcome))
    }
}

/// Counts the attempt, and the delivery if it is over, in this node's metrics.
fn count(
    ctx: &Ctx,
    delivery: &ClaimedDelivery,
    report: &AttemptReport,
    state: FinishedState,
    took: Duration,
) {
    let metrics = &ctx.metrics;
    metrics.attempt_duration.observe(took);
    metrics.attempt(match (report.outcome, report.error) {
        (AttemptOutcome::Status(code), _) => match code {
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            500..=599 => "5xx",
            _ => "other",
        },
        (AttemptOutcome::NoResponse, Some(error)) => error.as_str(),
        (AttemptOutcome::NoResponse, None) => "other",
    });
    match state {
        FinishedState::Succeeded => {
            metrics.finished("succeeded");
            let since_event = (now_ms() - delivery.created_at).max(0) as u64;
            metrics
                .end_to_end
                .observe(Duration::from_millis(since_event));
        }
        FinishedState::Failed => metrics.finished("failed"),
        FinishedState::Cancelled => metrics.finished("cancelled"),
        FinishedState::RetryAt(_) => {}
    }
}

/// A 429 or 503 with `Retry-After` may move the retry later than the backoff (capped).
fn with_retry_after(ctx: &Ctx, step: NextStep, report: &AttemptReport) -> NextStep {
    let wait_ms = report
        .retry_after
        .as_deref()
        .and_then(|value| retry_after::parse(value, now_ms()));
    retry_after::adjust(step, report.outcome, wait_ms, ctx.config.retry_after_max_ms)
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
        log: None,
    }
}

/// Gives a claimed delivery back without an attempt, due at once.
pub(super) fn release(delivery: &ClaimedDelivery) -> Finished {
    finish(delivery, FinishedState::RetryAt(now_ms()), None)
}
