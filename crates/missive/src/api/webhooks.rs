//! `i/webhooks/*`: a user's own webhooks, exactly as Misskey serves them.

use missive_core::event::EventType;
use missive_core::model::Webhook;
use missive_store::{NewWebhook, WebhookPatch};
use serde::Serialize;

use crate::api::error::ApiError;
use crate::api::{ApiResult, Call, Reply};
use crate::ctx::{Ctx, now_ms};
use crate::rate_limit::Scope;

/// Misskey's `UserWebhook`: every read by the owner returns the secret, as Misskey does.
/// The administrator's listing leaves it out: only the owner ever sees a secret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserWebhook {
    id: String,
    user_id: String,
    name: String,
    on: Vec<&'static str>,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    active: bool,
    latest_sent_at: Option<String>,
    latest_status: Option<i64>,
    /// Beyond Misskey: endpoint health. Deliveries that failed in a row, none succeeding since.
    consecutive_failures: i64,
    /// Why missive switched the webhook off by itself (`gone`: the receiver answered
    /// 410; `failing`: its deliveries kept failing), or `null`.
    disabled_reason: Option<String>,
    disabled_at: Option<String>,
}

impl UserWebhook {
    /// The webhook as someone other than its owner may see it: without the secret.
    pub fn without_secret(w: Webhook) -> UserWebhook {
        UserWebhook {
            secret: None,
            ..UserWebhook::from(w)
        }
    }
}

impl From<Webhook> for UserWebhook {
    fn from(w: Webhook) -> UserWebhook {
        UserWebhook {
            id: w.id,
            user_id: w.user_id,
            name: w.name,
            on: w.on.iter().map(|e| e.as_str()).collect(),
            url: w.url,
            secret: Some(w.secret),
            active: w.active,
            latest_sent_at: w.latest_sent_at_ms.map(missive_core::time::iso8601_ms),
            latest_status: w.latest_status,
            consecutive_failures: w.consecutive_failures,
            disabled_reason: w.disabled_reason,
            disabled_at: w.disabled_at_ms.map(missive_core::time::iso8601_ms),
        }
    }
}

fn no_such_webhook(id: &'static str) -> ApiError {
    ApiError::client("NO_SUCH_WEBHOOK", id, "No such webhook.")
}

pub async fn create(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    let p = call.check()?;
    let name = p.required_str("name");
    let url = p.required_str("url");
    let secret = p.str("secret").unwrap_or_default();
    let on = p.events("on").unwrap_or_default();
    let new = NewWebhook {
        id: ctx.new_id(),
        user_id: me.id.clone(),
        name,
        on,
        url,
        secret,
    };
    match ctx
        .store
        .create_webhook(&new, ctx.config.webhook_limit)
        .await?
    {
        Some(webhook) => Reply::json(&UserWebhook::from(webhook)),
        None => Err(ApiError::client(
            "TOO_MANY_WEBHOOKS",
            "87a9bb19-111e-4e37-81d3-a3e7426453b0",
            "You cannot create webhook any more.",
        )),
    }
}

pub async fn list(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    let webhooks: Vec<UserWebhook> = ctx
        .store
        .webhooks_of_user(&me.id)
        .await?
        .into_iter()
        .map(UserWebhook::from)
        .collect();
    Reply::json(&webhooks)
}

pub async fn show(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    let id = call.check()?.required_str("webhookId");
    let webhook = ctx
        .store
        .webhook_of_user(&id, &me.id)
        .await?
        .ok_or_else(|| no_such_webhook("50f614d9-3047-4f7e-90d8-ad6b2d5fb098"))?;
    Reply::json(&UserWebhook::from(webhook))
}

pub async fn update(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    let p = call.check()?;
    let id = p.required_str("webhookId");
    let now = now_ms();
    let patch = WebhookPatch {
        name: p.str("name"),
        url: p.str("url"),
        // `null` clears the secret, as in Misskey.
        secret: if p.is_null("secret") {
            Some(String::new())
        } else {
            p.str("secret")
        },
        on: p.events("on"),
        active: p.bool("active"),
        // A new secret: the old one keeps signing for the grace period.
        previous_secret_until: Some(now.saturating_add(ctx.config.secret_rotation_grace_ms)),
    };
    match ctx
        .store
        .update_webhook(&id, Some(&me.id), &patch, now)
        .await?
    {
        Some(_) => Ok(Reply::NoContent),
        None => Err(no_such_webhook("fb0fea69-da18-45b1-828d-bd4fd1612518")),
    }
}

pub async fn delete(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    let id = call.check()?.required_str("webhookId");
    if !ctx.store.delete_webhook(&id, &me.id, now_ms()).await? {
        return Err(no_such_webhook("bae73e5a-5522-4965-ae19-3a8688e71d82"));
    }
    Ok(Reply::NoContent)
}

/// Sends Misskey's dummy payload for `type` once, ignoring `active` and `on`, and answers
/// at once; the result shows up in `latestStatus`.
pub async fn test(ctx: &Ctx, call: Call) -> ApiResult {
    let me = &call.user()?.user;
    // Misskey counts a call against the limit before looking at its parameters.
    ctx.rate_limiter.check(Scope::WebhookTest, &me.id)?;
    let p = call.check()?;
    let id = p.required_str("webhookId");
    let event = p
        .str("type")
        .and_then(|t| t.parse::<EventType>().ok())
        .ok_or_else(|| {
            ApiError::invalid_param(
                "#/properties/type/enum",
                "must be equal to one of the allowed values",
            )
        })?;
    let overrides = p.object("override").unwrap_or_default();
    let url_override = overrides.str("url");
    let secret_override = overrides.str("secret");
    let webhook = ctx
        .store
        .webhook_of_user(&id, &me.id)
        .await?
        .ok_or_else(|| no_such_webhook("0c52149c-e913-18f8-5dc7-74870bfe0cf9"))?;
    let webhook = Webhook {
        url: url_override.unwrap_or(webhook.url),
        secret: secret_override.unwrap_or(webhook.secret),
        ..webhook
    };
    ctx.send_test(webhook, event);
    Ok(Reply::NoContent)
}
