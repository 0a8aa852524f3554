//! `admin/webhooks/list` and `admin/webhooks/update`: missive's own endpoints, in
//! Misskey's style, for the administrator to see every webhook and switch any on or off.

use missive_store::{AdminWebhookFilter, WebhookPatch};

use crate::api::error::ApiError;
use crate::api::webhooks::UserWebhook;
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};

pub async fn list_webhooks(ctx: &Ctx, call: Call) -> ApiResult {
    let p = call.check()?;
    let filter = AdminWebhookFilter {
        user_id: p.str("userId"),
        active: p.bool("active"),
        since_id: p.str("sinceId"),
        until_id: p.str("untilId"),
        limit: p.int("limit").unwrap_or(10),
    };
    let webhooks: Vec<UserWebhook> = ctx
        .store
        .admin_webhooks(&filter)
        .await?
        .into_iter()
        .map(UserWebhook::without_secret)
        .collect();
    Reply::json(&webhooks)
}

pub async fn update_webhook(ctx: &Ctx, call: Call) -> ApiResult {
    let p = call.check()?;
    let id = p.required_str("webhookId");
    let active = p.bool("active");
    let patch = WebhookPatch {
        active,
        ..WebhookPatch::default()
    };
    match ctx
        .store
        .update_webhook(&id, None, &patch, now_ms())
        .await?
    {
        Some(_) => Ok(Reply::NoContent),
        None => Err(ApiError::client(
            "NO_SUCH_WEBHOOK",
            "7c8a5c9e-2f63-4b52-a0a3-0c7d4c8f9e12",
            "No such webhook.",
        )),
    }
}
