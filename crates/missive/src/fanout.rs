//! Turning an action's emissions into the deliveries of one transaction.
//!
//! The emission rules (who receives what) are in `missive_core::emission`; this module
//! finds each recipient's active webhooks subscribed to the event, asks the caller for
//! each distinct body once (ARCHITECTURE.md invariant 7: a body is serialized once per event and
//! recipient and shared by that recipient's webhooks), and builds the `Outbox`.

use std::collections::HashMap;

use missive_core::emission::{Body, Emission};
use missive_core::model::Webhook;
use missive_store::{NewDelivery, Outbox, Payload, Result};

use crate::ctx::{Ctx, now_ms};

/// Which serialized body a delivery carries: shared bodies have no recipient.
pub type BodyKey = (Body, Option<String>);

/// The emissions that reach at least one webhook, with those webhooks.
pub struct Plan {
    targets: Vec<(Emission, Vec<Webhook>)>,
}

impl Plan {
    /// Looks up the recipients' active webhooks and keeps the emissions someone listens to.
    pub async fn new(ctx: &Ctx, emissions: Vec<Emission>) -> Result<Plan> {
        let mut recipients: Vec<String> = emissions.iter().map(|e| e.recipient.clone()).collect();
        recipients.sort();
        recipients.dedup();
        let webhooks = ctx.store.active_webhooks_of(&recipients).await?;
        let targets = emissions
            .into_iter()
            .filter_map(|emission| {
                let subscribed: Vec<Webhook> = webhooks
                    .iter()
                    .filter(|w| w.user_id == emission.recipient && w.subscribes_to(emission.event))
                    .cloned()
                    .collect();
                (!subscribed.is_empty()).then_some((emission, subscribed))
            })
            .collect();
        Ok(Plan { targets })
    }

    /// The distinct bodies the deliveries need, each with a recipient to pack it for.
    pub fn bodies_needed(&self) -> Vec<(BodyKey, String)> {
        let mut out: Vec<(BodyKey, String)> = Vec::new();
        for (emission, _) in &self.targets {
            let key = body_key(emission);
            if !out.iter().any(|(k, _)| *k == key) {
                out.push((key, emission.recipient.clone()));
            }
        }
        out
    }

    /// The outbox, given the serialized body for every key of `bodies_needed`.
    pub fn into_outbox(self, ctx: &Ctx, bodies: HashMap<BodyKey, String>) -> Outbox {
        let created_at = now_ms();
        let mut outbox = Outbox::default();
        let mut payload_ids: HashMap<BodyKey, String> = HashMap::new();
        for (emission, webhooks) in self.targets {
            let key = body_key(&emission);
            let payload_id = match payload_ids.get(&key) {
                Some(id) => id.clone(),
                None => {
                    let Some(body) = bodies.get(&key) else {
                        continue;
                    };
                    let id = ctx.new_id();
                    outbox.payloads.push(Payload {
                        id: id.clone(),
                        body: body.clone(),
                    });
                    payload_ids.insert(key, id.clone());
                    id
                }
            };
            for webhook in webhooks {
                outbox.deliveries.push(NewDelivery {
                    id: ctx.new_id(),
                    webhook_id: webhook.id,
                    user_id: webhook.user_id,
                    event_type: emission.event.as_str().to_owned(),
                    event_id: uuid::Uuid::new_v4().to_string(),
                    created_at,
                    payload_id: payload_id.clone(),
                });
            }
        }
        outbox
    }
}

fn body_key(emission: &Emission) -> BodyKey {
    match emission.body {
        Body::SharedNote => (Body::SharedNote, None),
        other => (other, Some(emission.recipient.clone())),
    }
}
