//! Turning an action's emissions into the deliveries of its transaction.
//!
//! The emission rules (who receives what) are in `missive_core::emission`; `outbox` finds
//! each recipient's active webhooks subscribed to the event, has the action pack each
//! distinct body once (invariant 7: a body is serialized once per event and recipient
//! and shared by that recipient's webhooks), and builds the `Outbox`. The action's store
//! write takes the outbox into its transaction and wakes the workers when it commits.

use std::collections::HashMap;

use missive_core::emission::{Body, Emission};
use missive_core::model::Webhook;
use missive_store::{NewDelivery, Outbox, Payload, Result};
use serde_json::Value;

use crate::ctx::{Ctx, now_ms};

/// The outbox of an action with these emissions. `pack` makes a body: given its kind and
/// the recipient it is for (for a shared body, the first recipient; it must not matter),
/// the JSON that the deliveries carry as their `body`. It is called once per distinct
/// body, and only for bodies that some webhook subscribed to.
///
/// `pack` is a closure returning a future rather than an async closure: the future of an
/// async closure that borrows its arguments is not known to be `Send` for all their
/// lifetimes, and axum needs the handler's future to be `Send`.
pub async fn outbox<Packed>(
    ctx: &Ctx,
    emissions: Vec<Emission>,
    mut pack: impl FnMut(Body, String) -> Packed,
) -> Result<Outbox>
where
    Packed: Future<Output = Result<Value>>,
{
    let mut recipients: Vec<String> = emissions.iter().map(|e| e.recipient.clone()).collect();
    recipients.sort();
    recipients.dedup();
    let webhooks = ctx.store.active_webhooks_of(&recipients).await?;
    let created_at = now_ms();
    let mut outbox = Outbox::default();
    let mut payload_ids: HashMap<BodyKey, String> = HashMap::new();
    for emission in emissions {
        let subscribed: Vec<&Webhook> = webhooks
            .iter()
            .filter(|w| w.user_id == emission.recipient && w.subscribes_to(emission.event))
            .collect();
        if subscribed.is_empty() {
            continue;
        }
        let key = body_key(&emission);
        let payload_id = match payload_ids.get(&key) {
            Some(id) => id.clone(),
            None => {
                let body = pack(emission.body, emission.recipient.clone()).await?;
                let id = ctx.new_id();
                outbox.payloads.push(Payload {
                    id: id.clone(),
                    body: body.to_string(),
                });
                payload_ids.insert(key, id.clone());
                id
            }
        };
        for webhook in subscribed {
            outbox.deliveries.push(NewDelivery {
                id: ctx.new_id(),
                webhook_id: webhook.id.clone(),
                user_id: webhook.user_id.clone(),
                event_type: emission.event.as_str().to_owned(),
                event_id: uuid::Uuid::new_v4().to_string(),
                created_at,
                payload_id: payload_id.clone(),
            });
        }
    }
    Ok(outbox)
}

/// Which serialized body a delivery carries: shared bodies have no recipient.
type BodyKey = (Body, Option<String>);

fn body_key(emission: &Emission) -> BodyKey {
    match emission.body {
        Body::SharedNote => (Body::SharedNote, None),
        other => (other, Some(emission.recipient.clone())),
    }
}
