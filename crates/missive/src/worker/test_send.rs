//! `i/webhooks/test`: one attempt with Misskey's dummy payload, no retries, ignoring the
//! webhook's `active` and `on`. The outcome is written to `latestSentAt`/`latestStatus`.
//!
//! The API queues the sends (`Ctx::send_test`) and this task makes them, so that the
//! outbound client stays with the worker.

use std::sync::Arc;

use missive_core::dummy::test_body;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ctx::{Ctx, TestSend, now_ms};
use crate::worker::client::{DeliveryClient, Request};
use missive_core::envelope::Envelope;

/// Starts each queued send in a task of its own until `shutdown`.
pub(super) async fn run(
    ctx: Arc<Ctx>,
    client: DeliveryClient,
    mut queue: mpsc::UnboundedReceiver<TestSend>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            Some(send) = queue.recv() => spawn(&ctx, &client, send),
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Starts the send in the background (for `reaction` too, unlike Misskey, which sends
/// nothing for it).
fn spawn(ctx: &Ctx, client: &DeliveryClient, TestSend { webhook, event }: TestSend) {
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
    .to_json();
    let client = client.clone();
    let store = ctx.store.clone();
    tokio::spawn(async move {
        let outcome = client
            .post(Request {
                url: &webhook.url,
                hook_id: &webhook.id,
                event_id: &event_id,
                secret: &webhook.secret,
                previous_secret: None,
                body: envelope.into(),
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
