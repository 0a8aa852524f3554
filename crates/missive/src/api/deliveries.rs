//! The delivery log (missive's own endpoints, in Misskey's style): a webhook's
//! deliveries, one delivery with its attempts and the exact body sent, and redelivery
//! with the same `eventId`. `i/webhooks/…` serve the owner; `admin/webhooks/…` the
//! administrator, for any webhook. The secret never appears.
//!
//! Who may see what: a delivery is found through its webhook, so an id of another
//! user's delivery, of a deleted webhook's, or an unknown one all get the same error.

use missive_core::envelope::Envelope;
use missive_store::{AttemptLog, DeliveryFilter, DeliveryState, DeliverySummary, RedeliverySet};
use serde::Serialize;

use crate::api::endpoints::DELIVERY_STATES as STATES;
use crate::api::error::ApiError;
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};

/// Whose deliveries a call may see: the caller's own, or (the administrator) anyone's.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Owner(&'a str),
    Admin,
}

/// A delivery as the log lists it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    id: String,
    webhook_id: String,
    user_id: String,
    #[serde(rename = "type")]
    event_type: String,
    event_id: String,
    created_at: String,
    state: &'static str,
    attempts: i64,
    latest_status: Option<i64>,
    next_attempt_at: Option<String>,
    finished_at: Option<String>,
}

impl From<DeliverySummary> for Delivery {
    fn from(d: DeliverySummary) -> Delivery {
        Delivery {
            id: d.id,
            webhook_id: d.webhook_id,
            user_id: d.user_id,
            event_type: d.event_type,
            event_id: d.event_id,
            created_at: missive_core::time::iso8601_ms(d.created_at),
            state: d.state.as_str(),
            attempts: d.attempts,
            latest_status: d.last_status,
            next_attempt_at: d.next_attempt_at.map(missive_core::time::iso8601_ms),
            finished_at: d.finished_at.map(missive_core::time::iso8601_ms),
        }
    }
}

/// One attempt of a delivery.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Attempt {
    attempt: i64,
    started_at: String,
    duration_ms: i64,
    /// The HTTP status; `null` when no answer came.
    status: Option<i64>,
    /// Why no answer came: refused, timeout, dns, tls, blocked or other.
    error: Option<String>,
    /// The first KiB of the answer's body.
    response_body: Option<String>,
    next_retry_at: Option<String>,
}

impl From<AttemptLog> for Attempt {
    fn from(a: AttemptLog) -> Attempt {
        Attempt {
            attempt: a.attempt,
            started_at: missive_core::time::iso8601_ms(a.started_at_ms),
            duration_ms: a.duration_ms,
            status: a.status,
            error: a.error,
            response_body: a.response_head,
            next_retry_at: a.next_retry_at_ms.map(missive_core::time::iso8601_ms),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryWithAttempts {
    #[serde(flatten)]
    delivery: Delivery,
    attempt_log: Vec<Attempt>,
    /// The exact body POSTed (the same on every attempt); `null` once pruned.
    request_body: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Redelivered {
    /// The new deliveries queued (none for a delivery already pending again).
    delivery_ids: Vec<String>,
}

fn no_such_webhook() -> ApiError {
    ApiError::client(
        "NO_SUCH_WEBHOOK",
        "595747bd-f440-4914-869e-107221b262f3",
        "No such webhook.",
    )
}

fn no_such_delivery() -> ApiError {
    ApiError::client(
        "NO_SUCH_DELIVERY",
        "362dfd3f-4d18-4958-9cd6-e1de9a137e7d",
        "No such delivery.",
    )
}

/// Checks that the webhook exists and is visible in `scope`.
async fn visible_webhook(ctx: &Ctx, scope: Scope<'_>, webhook_id: &str) -> Result<(), ApiError> {
    let found = match scope {
        Scope::Owner(user_id) => ctx.store.webhook_of_user(webhook_id, user_id).await?,
        Scope::Admin => ctx.store.webhook_by_id(webhook_id).await?,
    };
    found.map(|_| ()).ok_or_else(no_such_webhook)
}

pub async fn list(ctx: &Ctx, call: Call) -> ApiResult {
    let user_id = call.user()?.user.id.clone();
    list_in(ctx, &call, Scope::Owner(&user_id)).await
}

pub async fn admin_list(ctx: &Ctx, call: Call) -> ApiResult {
    list_in(ctx, &call, Scope::Admin).await
}

async fn list_in(ctx: &Ctx, call: &Call, scope: Scope<'_>) -> ApiResult {
    let p = call.check()?;
    let webhook_id = p.required_str("webhookId");
    let state = p
        .str("state")
        .and_then(|s| STATES.iter().position(|t| *t == s))
        .map(|i| {
            [
                DeliveryState::Pending,
                DeliveryState::Succeeded,
                DeliveryState::Failed,
                DeliveryState::Cancelled,
            ][i]
        });
    let filter = DeliveryFilter {
        webhook_id,
        state,
        event_type: p.str("type"),
        since_id: p.str("sinceId"),
        until_id: p.str("untilId"),
        limit: p.int("limit").unwrap_or(10),
    };
    visible_webhook(ctx, scope, &filter.webhook_id).await?;
    let deliveries: Vec<Delivery> = ctx
        .store
        .deliveries_of_webhook(&filter)
        .await?
        .into_iter()
        .map(Delivery::from)
        .collect();
    Reply::json(&deliveries)
}

pub async fn show(ctx: &Ctx, call: Call) -> ApiResult {
    let user_id = call.user()?.user.id.clone();
    show_in(ctx, &call, Scope::Owner(&user_id)).await
}

pub async fn admin_show(ctx: &Ctx, call: Call) -> ApiResult {
    show_in(ctx, &call, Scope::Admin).await
}

async fn show_in(ctx: &Ctx, call: &Call, scope: Scope<'_>) -> ApiResult {
    let id = call.check()?.required_str("deliveryId");
    let detail = ctx
        .store
        .delivery_detail(&id)
        .await?
        .ok_or_else(no_such_delivery)?;
    visible_webhook(ctx, scope, &detail.delivery.webhook_id)
        .await
        .map_err(|_| no_such_delivery())?;
    let d = &detail.delivery;
    // The envelope is rebuilt exactly as the worker builds it, from the stored body.
    let request_body = detail.body.as_deref().map(|body| {
        Envelope {
            server: &ctx.config.origin.url,
            hook_id: &d.webhook_id,
            user_id: &d.user_id,
            event_id: &d.event_id,
            created_at: d.created_at,
            event_type: &d.event_type,
            body,
        }
        .to_json()
    });
    Reply::json(&DeliveryWithAttempts {
        delivery: Delivery::from(detail.delivery),
        attempt_log: detail.attempts.into_iter().map(Attempt::from).collect(),
        request_body,
    })
}

pub async fn redeliver(ctx: &Ctx, call: Call) -> ApiResult {
    let user_id = call.user()?.user.id.clone();
    redeliver_in(ctx, &call, Scope::Owner(&user_id)).await
}

pub async fn admin_redeliver(ctx: &Ctx, call: Call) -> ApiResult {
    redeliver_in(ctx, &call, Scope::Admin).await
}

/// `deliveryId`: that delivery again; or `webhookId` and `since` (epoch milliseconds):
/// the webhook's failed deliveries of events since then, oldest first, at most the
/// configured maximum per call.
async fn redeliver_in(ctx: &Ctx, call: &Call, scope: Scope<'_>) -> ApiResult {
    let p = call.check()?;
    let delivery_id = p.str("deliveryId");
    let (webhook_id, set) = match delivery_id {
        Some(delivery_id) => {
            let detail = ctx
                .store
                .delivery_detail(&delivery_id)
                .await?
                .ok_or_else(no_such_delivery)?;
            visible_webhook(ctx, scope, &detail.delivery.webhook_id)
                .await
                .map_err(|_| no_such_delivery())?;
            (
                detail.delivery.webhook_id,
                RedeliverySet::One { delivery_id },
            )
        }
        None => {
            // Without a delivery, the failed set needs its webhook and a start.
            call.params.require("webhookId")?;
            call.params.require("since")?;
            let webhook_id = p.required_str("webhookId");
            let since_ms = p.int("since").unwrap_or(0);
            visible_webhook(ctx, scope, &webhook_id).await?;
            let limit = i64::try_from(ctx.config.redeliver_max).unwrap_or(i64::MAX);
            (webhook_id, RedeliverySet::FailedSince { since_ms, limit })
        }
    };
    let ids = ctx.ids.clone();
    let delivery_ids = ctx
        .store
        .redeliver(&webhook_id, &set, move || ids.next(now_ms()))
        .await?;
    Reply::json(&Redelivered { delivery_ids })
}
