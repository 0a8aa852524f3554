//! Starting deliveries: each claimed delivery is sent in a task of its own once the
//! total, its webhook and its host all have a slot; until then it is parked. Shared by
//! the dispatcher, which places what it claims, and the send tasks, which hand the slot
//! they free straight to a delivery parked for the same host: waiting for the
//! dispatcher, busy claiming, would leave the slot idle meanwhile.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use missive_store::{ClaimSkip, ClaimedDelivery, Finished, Intake};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;

use crate::ctx::Ctx;
use crate::worker::client::DeliveryClient;
use crate::worker::deliver::{deliver, release};
use crate::worker::in_flight::{Caps, InFlight, PACE_WINDOW, SlotKey};

/// The most claimed deliveries kept waiting for a slot of their webhook or host.
const PARKED_MAX: usize = 1024;
/// How long a claimed delivery waits for a slot at most (less if the timeout is shorter).
const PARK_LIMIT: Duration = Duration::from_secs(1);
/// How much of a host's pace is kept parked for it while it answers at its cap: three
/// `PACE_WINDOW`s' worth, a fraction of `PARK_LIMIT`.
const RESERVE_WINDOWS: usize = 3;
/// The most new deliveries taken from the writes at once (`missive_store::Intake`) and
/// not yet started…
const HANDOFF_MAX: usize = 8192;
/// …and no more than the free slots and this many `PACE_WINDOW`s of the pace at which
/// deliveries finish: what starts well within `PARK_LIMIT`.
const HANDOFF_WINDOWS: usize = 5;

/// What the next claim leaves out, and how many deliveries to claim beyond the free
/// slots: those the answering hosts at their cap are short of their reserve.
pub struct ClaimPlan {
    pub skip: ClaimSkip,
    pub ahead: usize,
}

pub(super) struct Launcher {
    ctx: Arc<Ctx>,
    client: DeliveryClient,
    finished: mpsc::UnboundedSender<Finished>,
    /// One permit per delivery in flight, over all webhooks.
    pub slots: Arc<Semaphore>,
    pub in_flight: InFlight,
    /// A delivery finished: its slot is free.
    pub slot_freed: Notify,
    /// A webhook or host at its cap got a slot back.
    pub cap_freed: Notify,
    parked: Mutex<Parking>,
    /// Deliveries handed over by the writes (`missive_store::Intake`) and not yet
    /// started or handed back: those admitted but still in their transaction or on the
    /// way, and those in `Parking::handed`.
    handed_out: AtomicUsize,
    /// Short enough that a parked delivery starts well within its lease.
    park_limit: Duration,
    /// Shutting down: parked deliveries are handed back, not started.
    closed: AtomicBool,
}

/// A claimed delivery whose webhook or host was at its cap. It waits for a slot rather
/// than going straight back to the queue: while a busy host stays at its cap, handing
/// back every delivery claimed past it would cost a write each and the claim again. One
/// still without a slot at `until` is handed back, so that a hanging host's deliveries
/// do not sit here, their lease running, through its timeouts; the claims skip that
/// host until it has a slot again.
struct Parked {
    delivery: ClaimedDelivery,
    key: SlotKey,
    until: Instant,
}

/// The parked deliveries: those claimed from the queue, and those handed over by the
/// writes that created them. A freed slot goes to the claimed ones first: they waited
/// in the queue already, and the claims' reserves (`claim_plan`) count only them, so
/// that a steady stream of new deliveries cannot hold the queue back.
#[derive(Default)]
struct Parking {
    claimed: Lot,
    handed: Lot,
}

/// Parked deliveries by host, oldest first.
#[derive(Default)]
struct Lot {
    by_host: HashMap<String, VecDeque<Parked>>,
    len: usize,
}

impl Launcher {
    pub fn new(
        ctx: Arc<Ctx>,
        client: DeliveryClient,
        finished: mpsc::UnboundedSender<Finished>,
    ) -> Arc<Launcher> {
        let config = &ctx.config;
        Arc::new(Launcher {
            slots: Arc::new(Semaphore::new(config.delivery_concurrency)),
            in_flight: InFlight::new(Caps {
                per_webhook: config.per_webhook_concurrency,
                per_host: config.per_host_concurrency,
            }),
            slot_freed: Notify::new(),
            cap_freed: Notify::new(),
            parked: Mutex::default(),
            handed_out: AtomicUsize::new(0),
            park_limit: PARK_LIMIT.min(config.delivery_timeout),
            closed: AtomicBool::new(false),
            finished,
            client,
            ctx,
        })
    }

    fn parking(&self) -> MutexGuard<'_, Parking> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a delivery just claimed, or parks it if its webhook or host is at its cap.
    pub fn place(self: &Arc<Self>, delivery: ClaimedDelivery) {
        let key = SlotKey::of(&delivery);
        if let Some(permit) = self.take_slot(&key) {
            self.spawn(delivery, key, permit);
            return;
        }
        let mut parking = self.parking();
        if parking.claimed.len >= PARKED_MAX || self.closed.load(Ordering::Relaxed) {
            drop(parking);
            let _ = self.finished.send(release(&delivery));
            return;
        }
        parking
            .claimed
            .park(delivery, key, Instant::now() + self.park_limit);
    }

    /// Starts a delivery handed over by the write that created it (`Intake::admit`
    /// admitted it), or parks it until a slot frees.
    pub fn place_handed(self: &Arc<Self>, delivery: ClaimedDelivery) {
        let key = SlotKey::of(&delivery);
        if let Some(permit) = self.take_slot(&key) {
            self.handed_out_done(1);
            self.spawn(delivery, key, permit);
            return;
        }
        let mut parking = self.parking();
        if self.closed.load(Ordering::Relaxed) {
            drop(parking);
            self.handed_out_done(1);
            let _ = self.finished.send(release(&delivery));
            return;
        }
        parking
            .handed
            .park(delivery, key, Instant::now() + self.park_limit);
    }

    /// Handed-over deliveries that were started or handed back.
    fn handed_out_done(&self, n: usize) {
        let _ = self
            .handed_out
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |out| {
                Some(out.saturating_sub(n))
            });
    }

    /// Starts the deliveries parked for `host` that have a slot now, oldest first (the
    /// claimed ones before the handed-over ones), and hands back those that waited too
    /// long.
    pub fn start_parked_for(self: &Arc<Self>, host: &str) {
        let mut parking = self.parking();
        self.go_through(&mut parking, host, Instant::now());
    }

    /// What the next claim leaves out and takes ahead (`ClaimPlan`): the webhooks at
    /// their cap are left out, and so are the hosts at their cap, except those with fewer
    /// deliveries parked than `RESERVE_WINDOWS` of their pace (`InFlight::host_pace`).
    ///
    /// A host that answers takes a parked delivery whenever one of its own finishes, so
    /// its slots stay full only while something is parked for it. Claiming for it only
    /// once its slots had emptied left them idle for a claim's round trip each time:
    /// under a backlog, 35 of 64 slots were busy on average. A host that hangs has no
    /// pace, and is left out until it frees a slot; a slow one gets a small reserve, so
    /// that little of what is claimed for it waits out `PARK_LIMIT` and goes back.
    pub fn claim_plan(&self) -> ClaimPlan {
        let mut skip = self.in_flight.saturated();
        let mut ahead = 0;
        if !skip.hosts.is_empty() {
            let parking = self.parking();
            let claimed = &parking.claimed;
            skip.hosts.retain(|host| {
                let reserve = RESERVE_WINDOWS * self.in_flight.host_pace(host);
                let parked = claimed.by_host.get(host).map_or(0, VecDeque::len);
                ahead += reserve.saturating_sub(parked);
                parked >= reserve
            });
            ahead = ahead.min(PARKED_MAX.saturating_sub(claimed.len));
        }
        ClaimPlan { skip, ahead }
    }

    /// `start_parked_for` every host.
    pub fn start_parked(self: &Arc<Self>) {
        let mut parking = self.parking();
        let now = Instant::now();
        let mut hosts: Vec<String> = parking.claimed.by_host.keys().cloned().collect();
        hosts.extend(parking.handed.by_host.keys().cloned());
        hosts.sort_unstable();
        hosts.dedup();
        for host in &hosts {
            self.go_through(&mut parking, host, now);
        }
    }

    fn go_through(self: &Arc<Self>, parking: &mut Parking, host: &str, now: Instant) {
        self.go_through_lot(&mut parking.claimed, host, now);
        let left = self.go_through_lot(&mut parking.handed, host, now);
        self.handed_out_done(left);
    }

    /// `start_from` for `host`'s queue in `lot`; returns how many left it.
    fn go_through_lot(self: &Arc<Self>, lot: &mut Lot, host: &str, now: Instant) -> usize {
        let Some(queue) = lot.by_host.get_mut(host) else {
            return 0;
        };
        let left = self.start_from(queue, now);
        lot.len -= left;
        if queue.is_empty() {
            lot.by_host.remove(host);
        }
        left
    }

    /// Goes through one host's queue in order, in place; returns how many left it (sent,
    /// or handed back to the database). Stops at the first delivery that finds the host
    /// at its cap or no slot left at all, so that handing on a slot costs a step or two,
    /// not one per delivery parked. (Rebuilding the queue instead copied every parked
    /// delivery each time a send finished: a few percent of the delivery thread.)
    fn start_from(self: &Arc<Self>, queue: &mut VecDeque<Parked>, now: Instant) -> usize {
        let closed = self.closed.load(Ordering::Relaxed);
        let mut left = 0;
        // In claim order, so those that waited too long are at the front.
        while let Some(parked) = queue.pop_front() {
            if closed || parked.until <= now {
                let _ = self.finished.send(release(&parked.delivery));
                left += 1;
            } else {
                queue.push_front(parked);
                break;
            }
        }
        let mut next = 0;
        while next < queue.len() {
            if let Some(permit) = self.take_slot(&queue[next].key) {
                // Usually the front: removing it moves nothing.
                if let Some(parked) = queue.remove(next) {
                    self.spawn(parked.delivery, parked.key, permit);
                    left += 1;
                }
                continue;
            }
            if self.slots.available_permits() == 0
                || self.in_flight.host_saturated(queue[next].key.host())
            {
                break;
            }
            next += 1;
        }
        left
    }

    pub fn next_park_deadline(&self) -> Option<Instant> {
        let parking = self.parking();
        parking
            .claimed
            .by_host
            .values()
            .chain(parking.handed.by_host.values())
            // Each queue is in the order it was parked, so its front waits longest.
            .filter_map(|queue| queue.front().map(|p| p.until))
            .min()
    }

    /// Hands every parked delivery back, due at once, and parks nothing more (shutdown);
    /// admits nothing more from the writes.
    pub fn close(self: &Arc<Self>) {
        self.closed.store(true, Ordering::Relaxed);
        self.start_parked();
    }

    /// Takes a slot of the total, of the webhook and of the host, if all have one left.
    fn take_slot(&self, key: &SlotKey) -> Option<OwnedSemaphorePermit> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        self.in_flight.try_take(key).then_some(permit)
    }

    /// Sends the delivery in a task of its own, in the slots taken for it.
    fn spawn(
        self: &Arc<Self>,
        delivery: ClaimedDelivery,
        key: SlotKey,
        permit: OwnedSemaphorePermit,
    ) {
        let launcher = self.clone();
        tokio::spawn(async move {
            let outcome = deliver(&launcher.ctx, &launcher.client, delivery).await;
            let _ = launcher.finished.send(outcome);
            let was_full = launcher.in_flight.release(&key);
            drop(permit);
            // Hand the slot on to a delivery parked for the same host at once. The
            // dispatcher is told too: the slot may have been the webhook's, and the
            // delivery that took it another webhook's; or the host's reserve may be
            // running low (`claim_plan`).
            launcher.start_parked_for(key.host());
            if was_full {
                launcher.cap_freed.notify_one();
            }
            launcher.slot_freed.notify_one();
        });
    }
}

impl Lot {
    fn park(&mut self, delivery: ClaimedDelivery, key: SlotKey, until: Instant) {
        self.len += 1;
        self.by_host
            .entry(key.host().to_owned())
            .or_default()
            .push_back(Parked {
                delivery,
                key,
                until,
            });
    }
}

/// The writes hand new deliveries straight to the launcher (`missive_store::handoff`)
/// when they would start soon: while the total of those handed over and not yet started
/// stays within the free slots plus `HANDOFF_WINDOWS` of the recent pace (and
/// `HANDOFF_MAX`), and not for a host at its cap that has no pace (it hangs: its
/// deliveries would only wait out `PARK_LIMIT` and go back). The rest are queued and
/// claimed as before. So a node whose slots are all held by a receiver that never
/// answers takes nothing, and another node claims its deliveries at once.
impl Intake for Launcher {
    fn admit(&self, host: &str) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        let admission = self.in_flight.admission(host);
        let room =
            (self.slots.available_permits() + HANDOFF_WINDOWS * admission.pace).min(HANDOFF_MAX);
        if admission.host_hangs || self.handed_out.load(Ordering::Relaxed) >= room {
            return false;
        }
        self.handed_out.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn give_back(&self, places: usize) {
        self.handed_out_done(places);
    }
}

// What is handed over at the pace starts well before it would have to go back.
const _: () = assert!(PACE_WINDOW.as_millis() * (HANDOFF_WINDOWS as u128) < PARK_LIMIT.as_millis());
