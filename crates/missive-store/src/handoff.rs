//! The hand-off: new deliveries leased to this process's delivery workers in the very
//! transaction that creates them, and given to the workers in memory once it commits.
//!
//! Without it every delivery cost two writes besides its insert: the claim that leased
//! it and the outcome. In the fan-out profile the claims were a third of the SQLite
//! writer's time; on PostgreSQL each claim is an update of an indexed column, so a dead
//! row version and index entries per delivery. A delivery the workers can start soon is
//! now inserted already leased (`due_at` at the lease's end, this process's token), so
//! no claim finds it while the lease lasts, and the committed write hands it to the
//! workers with its target and body: its first attempt costs no statement before its
//! outcome. What the workers cannot take now is inserted due at once, as before, and
//! claimed.
//!
//! Crash safety is the claim's: the lease is the same. If the process dies before the
//! outcome is written, the lease expires (PostgreSQL: another node claims it) or is
//! released at startup (SQLite), and the delivery is sent again.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::deliveries::{ClaimedDelivery, Target};
use crate::outbox::NewDelivery;

/// What decides which new deliveries the workers take at once: `missive`'s launcher,
/// which knows its free slots and how fast each receiving host answers.
pub trait Intake: Send + Sync {
    /// Whether the workers take a new delivery to `host` now (they will send it soon).
    /// Each `true` holds a place until the workers start the delivery, or until
    /// `give_back` returns it because the delivery was not committed.
    fn admit(&self, host: &str) -> bool;

    /// Returns `places` taken by `admit` for deliveries whose transaction did not commit.
    fn give_back(&self, places: usize);
}

/// Where the hand-offs go: the workers' lease and their queue.
pub(crate) struct Handoff {
    lease_token: String,
    lease_ms: i64,
    intake: Arc<dyn Intake>,
    to_workers: mpsc::UnboundedSender<Vec<ClaimedDelivery>>,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff")
            .field("lease_ms", &self.lease_ms)
            .finish_non_exhaustive()
    }
}

impl Handoff {
    pub(crate) fn new(
        lease_token: String,
        lease_ms: i64,
        intake: Arc<dyn Intake>,
    ) -> (Handoff, mpsc::UnboundedReceiver<Vec<ClaimedDelivery>>) {
        let (to_workers, from_store) = mpsc::unbounded_channel();
        let handoff = Handoff {
            lease_token,
            lease_ms,
            intake,
            to_workers,
        };
        (handoff, from_store)
    }

    /// Which of `deliveries` the workers take, given the webhooks they go to (`targets`,
    /// read in the transaction that writes them) and the bodies by payload id. A
    /// delivery to a webhook that is gone or switched off is left to the queue, which
    /// cancels it.
    pub(crate) fn lease(
        self: &Arc<Self>,
        deliveries: &[NewDelivery],
        targets: &HashMap<String, Target>,
        bodies: &HashMap<&str, Arc<str>>,
    ) -> Leased {
        let mut leased = Leased {
            handoff: self.clone(),
            deliveries: Vec::new(),
            taken: vec![false; deliveries.len()],
        };
        for (d, taken) in deliveries.iter().zip(leased.taken.iter_mut()) {
            let Some(target) = targets.get(&d.webhook_id).filter(|t| t.active) else {
                continue;
            };
            let Some(body) = bodies.get(d.payload_id.as_str()) else {
                continue;
            };
            if !self.intake.admit(&target.host) {
                continue;
            }
            *taken = true;
            leased.deliveries.push(ClaimedDelivery {
                id: d.id.clone(),
                webhook_id: d.webhook_id.clone(),
                user_id: d.user_id.clone(),
                event_type: d.event_type.clone(),
                event_id: d.event_id.clone(),
                created_at: d.created_at,
                attempts: 0,
                lease_token: self.lease_token.clone(),
                target: Some(target.clone()),
                body: body.clone(),
            });
        }
        leased
    }

    /// When a delivery created at `created_at` and leased at birth becomes due again if
    /// its outcome is never written.
    pub(crate) fn lease_end(&self, created_at: i64) -> i64 {
        created_at + self.lease_ms
    }

    pub(crate) fn lease_token(&self) -> &str {
        &self.lease_token
    }
}

/// The deliveries of one outbox leased to the workers. `deliver` hands them over once
/// their transaction has committed; dropped without that (the transaction failed or was
/// rolled back), it gives their places back.
#[derive(Debug)]
pub(crate) struct Leased {
    handoff: Arc<Handoff>,
    deliveries: Vec<ClaimedDelivery>,
    /// For each delivery of the outbox, in order, whether it is leased.
    taken: Vec<bool>,
}

impl Leased {
    /// Whether the outbox's delivery at `index` is leased.
    pub(crate) fn is_taken(&self, index: usize) -> bool {
        self.taken.get(index).copied().unwrap_or(false)
    }

    /// Whether some delivery of the outbox was left to the queue (and so must wake the
    /// dispatchers).
    pub(crate) fn left_some(&self) -> bool {
        self.deliveries.len() < self.taken.len()
    }

    pub(crate) fn handoff(&self) -> &Handoff {
        &self.handoff
    }

    /// Hands the leased deliveries to the workers: call only after the commit.
    pub(crate) fn deliver(mut self) {
        let deliveries = std::mem::take(&mut self.deliveries);
        if deliveries.is_empty() {
            return;
        }
        let count = deliveries.len();
        if self.handoff.to_workers.send(deliveries).is_err() {
            // The workers have stopped: the leases expire, or are released at the next
            // start, and the deliveries are claimed then.
            self.handoff.intake.give_back(count);
        }
    }
}

impl Drop for Leased {
    fn drop(&mut self) {
        if !self.deliveries.is_empty() {
            self.handoff.intake.give_back(self.deliveries.len());
        }
    }
}
