//! `i/webhooks/test`: one attempt with Misskey's dummy payload, no retries, ignoring the
//! webhook's `active` and `on`. The outcome is written to `latestSentAt`/`latestStatus`.

use missive_core::dummy::test_body;
use missive_core::event::EventType;
use missive_core::model::Webhook;

use crate::ctx::{Ctx, now_ms};
use crate::worker::client::Request;
use crate::worker::envelope::Envelope;

/// Starts the send in the background; `reaction` sends nothing, as in Misskey.
pub fn spawn(ctx: &Ctx, webhook: Webhook, event: EventType) {
    let Some(body) = test_body(event, &ctx.config.origin, now_ms()) else {
        return;
    };
    let event_id = uuid::Uuid::new_v4().to_string();
    let envelope = Envelope {
        server: &ctx.config.origin.url,
        hook_id: &webhook.id,
        user_id: &webhook.user_id,
        event_id: &event_id,
        created_at: now_ms(),
        event_type: event.as_str(),
        body: &body.to_string(),
    }
    .to_bytes();
    let client = ctx.client.clone();
    let store = ctx.store.clone();
    tokio::spawn(async move {
        let outcome = client
            .post(Request {
                url: &webhook.url,
                hook_id: &webhook.id,
                event_id: &event_id,
                secret: &webhook.secret,
                body: envelope,
            })
            .await;
        if let Err(e) = store
            .record_webhook_attempt(&webhook.id, now_ms(), outcome.latest_status())
            .await
        {
            tracing::warn!(error = %e, webhook = %webhook.id, "recording a test send failed");
        }
    });
}
