//! Turning an action's emissions into the deliveries of its transaction.
//!
//! The emission rules (who receives what) are in `missive_core::emission`; `outbox` finds
//! each recipient's active webhooks subscribed to the event, has the action pack each
//! distinct body once (ARCHITECTURE.md invariant 7: a body is serialized once per event and recipient
//! and shared by that recipient's webhooks), and builds the `Outbox`. The action's store
//! write takes the outbox into its transaction and wakes the workers when it commits.
//! `ReactionThrottle` thins out the `reaction` deliveries of a popular note.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use missive_core::emission::{Body, Emission};
use missive_core::model::Webhook;
use missive_core::throttle::Throttle;
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

/// The `reaction` throttle of this node: at most one `reaction` delivery per note and
/// webhook in each interval (`MISSIVE_REACTION_THROTTLE_MS`); the others are dropped
/// before they are written, and counted for `/metrics`. Each node keeps its own, so a
/// cluster of N nodes lets up to N through per interval.
#[derive(Debug)]
pub struct ReactionThrottle {
    /// Keyed by (note id, webhook id).
    throttle: Mutex<Throttle<(String, String)>>,
    dropped: AtomicU64,
}

impl ReactionThrottle {
    pub fn new(interval: Duration) -> ReactionThrottle {
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        ReactionThrottle {
            throttle: Mutex::new(Throttle::new(interval_ms)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Removes from `outbox` the deliveries to the webhooks that had a `reaction` to
    /// `note_id` within the interval. The payloads they leave unused are not written.
    pub fn apply(&self, note_id: &str, outbox: &mut Outbox) {
        let now = now_ms();
        // A poisoned lock only means another request panicked mid-update; the map
        // itself is still a valid set of times.
        let mut throttle = self
            .throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = outbox.deliveries.len();
        outbox
            .deliveries
            .retain(|d| throttle.admit((note_id.to_owned(), d.webhook_id.clone()), now));
        drop(throttle);
        let dropped = before - outbox.deliveries.len();
        self.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
    }

    /// `reaction` deliveries dropped by this node since it started.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
