//! The delivery queue: claiming due deliveries under a lease and recording outcomes.
//!
//! A pending delivery (state 0) becomes claimable when `due_at <= now`. Claiming sets
//! `due_at` to the end of the lease and a fresh `lease_token`, so a worker that dies
//! mid-send leaves a delivery that becomes due again when the lease runs out
//! (ARCHITECTURE.md invariants 2 and 3). Outcomes are written only by the lease holder.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use crate::codec::{IDS_PER_STATEMENT, get, placeholders};
use crate::delivery_log::{AttemptLog, attempt_line};
use crate::outbox::chunk_sizes;
use crate::writer::Lane;

use crate::conn::{Conn, Stmt};
use crate::{Dialect, Query, Result, Store};

const PENDING: i64 = 0;
const SUCCEEDED: i64 = 1;
const FAILED: i64 = 2;
const CANCELLED: i64 = 3;

/// A delivery a worker holds the lease on, with what it needs to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: String,
    pub webhook_id: String,
    pub user_id: String,
    pub event_type: String,
    pub event_id: String,
    pub created_at: i64,
    /// Attempts already made before this one.
    pub attempts: i64,
    pub lease_token: String,
    /// The webhook's current URL and secret; `None` if the webhook is gone.
    pub target: Option<Target>,
    /// The packed body, shared by the deliveries of one event.
    pub body: Arc<str>,
}

/// The bodies of recently claimed payloads, by id. A payload never changes once written,
/// so a cached body is never stale; a fan-out claims the same one for every webhook.
#[derive(Debug, Default)]
pub(crate) struct PayloadCache {
    entries: Mutex<PayloadEntries>,
}

#[derive(Debug, Default)]
struct PayloadEntries {
    by_id: HashMap<String, Arc<str>>,
    /// Insertion order, oldest first, for eviction.
    order: VecDeque<String>,
}

/// Payloads kept in the cache: a few events' worth.
const PAYLOAD_CACHE_LEN: usize = 256;

impl PayloadCache {
    /// Moves the cached bodies of `ids` into `found`; returns the ids not cached.
    fn lookup(&self, ids: Vec<String>, found: &mut HashMap<String, Arc<str>>) -> Vec<String> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut missing = Vec::new();
        for id in ids {
            match entries.by_id.get(&id) {
                Some(body) => {
                    found.insert(id, body.clone());
                }
                None => missing.push(id),
            }
        }
        missing
    }

    fn insert(&self, id: &str, body: &Arc<str>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.by_id.insert(id.to_owned(), body.clone()).is_none() {
            entries.order.push_back(id.to_owned());
        }
        while entries.order.len() > PAYLOAD_CACHE_LEN {
            if let Some(oldest) = entries.order.pop_front() {
                entries.by_id.remove(&oldest);
            }
        }
    }
}

/// Where a delivery goes, read from the webhook when the delivery is claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub secret: String,
    pub active: bool,
    /// The receiving host (`missive_core::receiver::host_key` of `url`).
    pub host: String,
    /// The secret before the latest change, while its grace period lasts: deliveries
    /// are signed with both (secret rotation).
    pub previous_secret: Option<String>,
}

/// What a dispatcher leaves unclaimed: the webhooks and the receiving hosts (see
/// `missive_core::receiver`) that already have as many deliveries in flight as allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimSkip {
    pub webhooks: Vec<String>,
    pub hosts: Vec<String>,
}

impl ClaimSkip {
    pub fn is_empty(&self) -> bool {
        self.webhooks.is_empty() && self.hosts.is_empty()
    }

    /// Whether this leaves out everything `other` does (both sorted, as
    /// `InFlight::saturated` makes them): a claim with this skip can find only what one
    /// with `other` could.
    pub fn covers(&self, other: &ClaimSkip) -> bool {
        let contains = |mine: &[String], theirs: &[String]| {
            theirs.iter().all(|key| mine.binary_search(key).is_ok())
        };
        contains(&self.webhooks, &other.webhooks) && contains(&self.hosts, &other.hosts)
    }

    /// The conditions on a webhook `w` that leave these out, numbering the parameters
    /// from `$first`; `bind` binds them in order.
    fn webhook_sql(&self, first: usize) -> String {
        let mut sql = String::new();
        if !self.webhooks.is_empty() {
            sql.push_str(&format!(
                " AND w.id NOT IN ({})",
                placeholders(first, self.webhooks.len())
            ));
        }
        if !self.hosts.is_empty() {
            sql.push_str(&format!(
                " AND w.host NOT IN ({})",
                placeholders(first + self.webhooks.len(), self.hosts.len())
            ));
        }
        sql
    }

    /// The pending deliveries (`d`, with `due_at <= $due` when `due` is given) that these
    /// do not leave out, numbering the parameters from `$first`; `bind` binds them.
    ///
    /// Without a skip, the due deliveries are read in `due_at` order straight from the
    /// `deliveries_due` index. With one, they are reached through the webhooks that are
    /// not skipped (`deliveries_pending_by_webhook`, webhooks first: SQLite keeps the
    /// order of a `CROSS JOIN`): walking `deliveries_due` past the skipped ones costs a
    /// step per delivery waiting for a host at its cap, so a backlog there would slow
    /// every claim for the other hosts.
    fn pending_sql(&self, due: Option<usize>, first: usize) -> String {
        let due = due
            .map(|n| format!(" AND d.due_at <= ${n}"))
            .unwrap_or_default();
        if self.is_empty() {
            return format!("deliveries d WHERE d.state = 0{due}");
        }
        format!(
            "webhooks w CROSS JOIN deliveries d WHERE d.webhook_id = w.id AND d.state = 0{due}{}",
            self.webhook_sql(first)
        )
    }

    /// `bind`, for a hot statement.
    fn push_to(&self, stmt: &mut Stmt) {
        for value in self.webhooks.iter().chain(&self.hosts) {
            stmt.push(value);
        }
    }

    fn bind<'q>(&'q self, mut query: Query<'q>) -> Query<'q> {
        for value in self.webhooks.iter().chain(&self.hosts) {
            query = query.bind(value);
        }
        query
    }
}

/// How many of the oldest due deliveries, per one to claim, a claim that skips some
/// looks at before it looks through the webhooks instead.
const CLAIM_WINDOW: i64 = 4;

/// One claim statement: which deliveries (`source`, selecting ids with `$3` for now and
/// `$4` for the limit, then the skip's parameters) and the lease to take on them.
struct Claim<'a> {
    source: String,
    now_ms: i64,
    lease_ms: i64,
    skip: &'a ClaimSkip,
    lease_token: &'a str,
}

/// How an attempt ended for the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishedState {
    Succeeded,
    /// Given up: a final status or no attempts left.
    Failed,
    /// Not sent: the webhook was switched off or deleted.
    Cancelled,
    /// Due again at this time.
    RetryAt(i64),
}

/// The outcome of one attempt, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub delivery_id: String,
    pub lease_token: String,
    pub webhook_id: String,
    pub state: FinishedState,
    /// Whether an attempt was made (and so counts, and updates the webhook's latest fields).
    pub attempted: bool,
    pub status: i64,
    pub at_ms: i64,
    /// The attempt for the delivery log, appended to the delivery by the same statement.
    pub log: Option<AttemptLog>,
}

/// How many deliveries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease_ms`, leaving out the webhooks and
    /// hosts in `skip` (those the caller has enough in flight for). Oldest due first.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        skip: &ClaimSkip,
        lease_token: &str,
    ) -> Result<Vec<ClaimedDelivery>> {
        let lock = match self.dialect {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let claim = |source: String| Claim {
            source,
            now_ms,
            lease_ms,
            skip,
            lease_token,
        };
        if skip.is_empty() {
            let source = format!(
                "SELECT id FROM deliveries WHERE state = 0 AND due_at <= $3 ORDER BY due_at LIMIT $4 {lock}"
            );
            return self.claim(claim(source), limit).await;
        }
        // First among the oldest due deliveries, which is cheap while few of them are
        // skipped (a backlog with one host at its cap)…
        let source = format!(
            "SELECT d.id FROM (SELECT id, webhook_id FROM deliveries WHERE state = 0 AND due_at <= $3 \
             ORDER BY due_at LIMIT {} {lock}) d CROSS JOIN webhooks w WHERE w.id = d.webhook_id{} LIMIT $4",
            limit.saturating_mul(CLAIM_WINDOW),
            skip.webhook_sql(5)
        );
        let mut claimed = self.claim(claim(source), limit).await?;
        let rest = limit - claimed.len() as i64;
        if rest > 0 {
            // …then through the webhooks not skipped, which is cheap when many are (a
            // host at its cap with deliveries waiting for it).
            let lock = match self.dialect {
                Dialect::Postgres => "FOR UPDATE OF d SKIP LOCKED",
                Dialect::Sqlite => "",
            };
            let source = format!(
                "SELECT d.id FROM {} ORDER BY d.due_at LIMIT $4 {lock}",
                skip.pending_sql(Some(3), 5)
            );
            claimed.extend(self.claim(claim(source), rest).await?);
        }
        Ok(claimed)
    }

    /// Claims up to `limit` of the deliveries `claim.source` selects, and reads what
    /// sending them needs: the webhooks' current URL, secret, state and host, and the
    /// bodies. One statement claims them (atomic on its own); the webhooks and the
    /// payloads not in the cache are read in the same write, once each however many of
    /// the claimed deliveries share them. Reading them per delivery in the `RETURNING`
    /// clause cost six lookups a row, and a copy of the body each: most of the fan-out
    /// profile's claim time.
    async fn claim(&self, claim: Claim<'_>, limit: i64) -> Result<Vec<ClaimedDelivery>> {
        let Claim {
            source,
            now_ms,
            lease_ms,
            skip,
            lease_token,
        } = claim;
        let sql = format!(
            "UPDATE deliveries SET due_at = $1, lease_token = $2 WHERE id IN ({source}) \
             RETURNING id, webhook_id, user_id, event_type, event_id, created_at, attempts, payload_id"
        );
        let mut stmt = Stmt::new(sql)
            .bind(now_ms + lease_ms)
            .bind(lease_token)
            .bind(now_ms)
            .bind(limit);
        skip.push_to(&mut stmt);
        let store = self.clone();
        let (rows, targets, bodies) = self
            .write_hot(Lane::Deliveries, move |mut conn| {
                Box::pin(async move {
                    let rows = store.fetch(&mut conn, &stmt).await?;
                    let mut webhook_ids = Vec::new();
                    let mut payload_ids = Vec::new();
                    for row in &rows {
                        webhook_ids.push(row.get::<String>("webhook_id")?);
                        payload_ids.push(row.get::<String>("payload_id")?);
                    }
                    let targets = store.targets(&mut conn, webhook_ids, now_ms).await?;
                    let bodies = store.bodies(&mut conn, payload_ids).await?;
                    Ok(((rows, targets, bodies), true))
                })
            })
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let webhook_id: String = row.get("webhook_id")?;
            let payload_id: String = row.get("payload_id")?;
            claimed.push(ClaimedDelivery {
                id: row.get("id")?,
                // `None`: the webhook was deleted.
                target: targets.get(&webhook_id).cloned(),
                webhook_id,
                user_id: row.get("user_id")?,
                event_type: row.get("event_type")?,
                event_id: row.get("event_id")?,
                created_at: row.get("created_at")?,
                attempts: row.get("attempts")?,
                lease_token: lease_token.to_owned(),
                body: bodies.get(&payload_id).cloned().unwrap_or_default(),
            });
        }
        Ok(claimed)
    }

    /// The webhooks `ids` name (repeats allowed) as delivery targets, by id; a deleted
    /// webhook is missing. The previous secret only while its grace period lasts at `now_ms`.
    pub(crate) async fn targets(
        &self,
        conn: &mut Conn<'_>,
        mut ids: Vec<String>,
        now_ms: i64,
    ) -> Result<HashMap<String, Target>> {
        ids.sort_unstable();
        ids.dedup();
        let mut targets = HashMap::with_capacity(ids.len());
        let mut rest = &ids[..];
        for size in chunk_sizes(rest.len(), IDS_PER_STATEMENT) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let sql = format!(
                "SELECT id, url, secret, active, host, \
                 CASE WHEN previous_secret_until > $1 AND previous_secret <> '' THEN previous_secret END AS previous_secret \
                 FROM webhooks WHERE id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut stmt = Stmt::new(sql).bind(now_ms);
            for id in chunk {
                stmt.push(id);
            }
            for row in self.fetch(conn, &stmt).await? {
                targets.insert(
                    row.get("id")?,
                    Target {
                        url: row.get("url")?,
                        secret: row.get("secret")?,
                        active: row.get::<i64>("active")? != 0,
                        host: row.get("host")?,
                        previous_secret: row.get("previous_secret")?,
                    },
                );
            }
        }
        Ok(targets)
    }

    /// The bodies of the payloads `ids` name (repeats allowed), by id: from the cache,
    /// and the rest from the database (then cached).
    async fn bodies(
        &self,
        conn: &mut Conn<'_>,
        mut ids: Vec<String>,
    ) -> Result<HashMap<String, Arc<str>>> {
        ids.sort_unstable();
        ids.dedup();
        let mut bodies = HashMap::with_capacity(ids.len());
        let missing = self.payloads.lookup(ids, &mut bodies);
        let mut rest = &missing[..];
        for size in chunk_sizes(rest.len(), IDS_PER_STATEMENT) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let sql = format!(
                "SELECT id, body FROM payloads WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut stmt = Stmt::new(sql);
            for id in chunk {
                stmt.push(id);
            }
            for row in self.fetch(conn, &stmt).await? {
                let id: String = row.get("id")?;
                let body: Arc<str> = row.get::<String>("body")?.into();
                self.payloads.insert(&id, &body);
                bodies.insert(id, body);
            }
        }
        Ok(bodies)
    }

    /// Records outcomes in one transaction (group commit). An outcome whose lease was
    /// lost (another worker claimed the delivery after the lease expired) is ignored.
    /// The webhooks' `latestSentAt`/`latestStatus` follow the last attempt of each.
    pub async fn finish_deliveries(&self, finished: &[Finished]) -> Result<()> {
        if finished.is_empty() {
            return Ok(());
        }
        // Rows are locked in one order everywhere, webhooks (by id) before deliveries
        // (by id), as `update_webhook` and `delete_webhook` do; otherwise concurrent
        // batches, or a batch and a webhook being switched off, deadlock on PostgreSQL.
        let mut latest: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
        for f in finished.iter().filter(|f| f.attempted) {
            let entry = latest
                .entry(f.webhook_id.as_str())
                .or_insert((f.at_ms, f.status));
            if f.at_ms >= entry.0 {
                *entry = (f.at_ms, f.status);
            }
        }
        let mut ordered: Vec<&Finished> = finished.iter().collect();
        ordered.sort_by(|a, b| a.delivery_id.cmp(&b.delivery_id));
        let latest: Vec<(String, (i64, i64))> = latest
            .into_iter()
            .map(|(id, v)| (id.to_owned(), v))
            .collect();
        let ordered: Vec<Finished> = ordered.into_iter().cloned().collect();
        let store = self.clone();
        self.write_hot(Lane::Deliveries, move |mut conn| {
            Box::pin(async move {
                store.record_outcomes(&mut conn, &latest, &ordered).await?;
                Ok(((), true))
            })
        })
        .await
    }

    /// `finish_deliveries`' transaction: the outcomes (`finished`, by delivery id), then
    /// the webhooks' latest attempts (`latest`, by webhook id) and health.
    async fn record_outcomes(
        &self,
        conn: &mut Conn<'_>,
        latest: &[(String, (i64, i64))],
        finished: &[Finished],
    ) -> Result<()> {
        let mut recorded: HashSet<String> = HashSet::new();
        // On PostgreSQL the webhooks' rows are locked first, in id order (the lock order),
        // as a joined UPDATE locks them in whatever order its plan visits them; they are
        // written after the deliveries, with their health, in one statement a webhook.
        let webhook_ids: Vec<&str> = latest.iter().map(|(id, _)| id.as_str()).collect();
        self.lock_in_order(conn, "webhooks", &webhook_ids).await?;
        // One multi-row statement per chunk rather than one per row: a statement per
        // outcome made the round trips to the database the cost of a delivery.
        let mut rest = finished;
        for size in chunk_sizes(rest.len(), FINISH_ROWS) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let ids: Vec<&str> = chunk.iter().map(|f| f.delivery_id.as_str()).collect();
            self.lock_in_order(conn, "deliveries", &ids).await?;
            let sql = format!(
                "UPDATE deliveries SET state = v.column3, due_at = COALESCE(v.column4, deliveries.due_at), \
                 finished_at = v.column5, lease_token = NULL, attempts = deliveries.attempts + v.column6, \
                 last_status = COALESCE(v.column7, deliveries.last_status), \
                 attempt_log = COALESCE(deliveries.attempt_log, '') || COALESCE(v.column8, '') \
                 FROM (VALUES {}) AS v \
                 WHERE deliveries.id = v.column1 AND deliveries.lease_token = v.column2 AND deliveries.state = 0 \
                 RETURNING deliveries.id AS id",
                value_rows(chunk.len(), 8)
            );
            let mut stmt = Stmt::new(sql);
            for f in chunk {
                let (state, due_at, finished_at) = match f.state {
                    FinishedState::Succeeded => (SUCCEEDED, None, Some(f.at_ms)),
                    FinishedState::Failed => (FAILED, None, Some(f.at_ms)),
                    FinishedState::Cancelled => (CANCELLED, None, Some(f.at_ms)),
                    FinishedState::RetryAt(at) => (PENDING, Some(at), None),
                };
                stmt.push(&f.delivery_id);
                stmt.push(&f.lease_token);
                stmt.push(state);
                stmt.push(due_at);
                stmt.push(finished_at);
                stmt.push(i64::from(f.attempted));
                stmt.push(f.attempted.then_some(f.status));
                // The attempt for the delivery log, in the same statement.
                stmt.push(f.log.as_ref().map(attempt_line));
            }
            // Health counts only the outcomes recorded here, not those of lost leases.
            for row in self.fetch(conn, &stmt).await? {
                recorded.insert(row.get("id")?);
            }
        }
        // The webhooks' latest attempts and endpoint health (see `health.rs`).
        self.record_webhooks(conn, latest, finished, &recorded)
            .await
    }

    /// When the next pending delivery becomes due (leased ones count at their lease end).
    pub async fn next_due_at(&self) -> Result<Option<i64>> {
        self.next_due_at_except(&ClaimSkip::default()).await
    }

    /// `next_due_at` without the webhooks and hosts in `skip`: those a dispatcher skips
    /// when claiming, whose due deliveries would otherwise make it poll without pause.
    pub async fn next_due_at_except(&self, skip: &ClaimSkip) -> Result<Option<i64>> {
        let sql = format!(
            "SELECT MIN(d.due_at) AS due FROM {}",
            skip.pending_sql(None, 1)
        );
        let row = skip.bind(self.query(&sql)).fetch_one(&self.read).await?;
        get(&row, "due")
    }

    /// Makes every leased delivery due now. Only for a single-node database (SQLite) at
    /// startup, where no other process can hold a live lease.
    pub async fn release_all_leases(&self, now_ms: i64) -> Result<u64> {
        self.execute_write(
            "UPDATE deliveries SET due_at = $1, lease_token = NULL WHERE state = 0 AND lease_token IS NOT NULL",
            vec![now_ms.into()],
        )
        .await
    }

    pub async fn delivery_counts(&self) -> Result<DeliveryCounts> {
        let rows = self
            .query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
            .fetch_all(&self.read)
            .await?;
        let mut counts = DeliveryCounts::default();
        for row in rows {
            let n: i64 = get(&row, "n")?;
            match get::<i64>(&row, "state")? {
                PENDING => counts.pending = n,
                SUCCEEDED => counts.succeeded = n,
                FAILED => counts.failed = n,
                CANCELLED => counts.cancelled = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}

/// Rows per multi-row UPDATE when recording outcomes (see `outbox::INSERT_ROWS`).
const FINISH_ROWS: usize = 32;

/// `($1, …, $width), ($width+1, …), …` for `rows` rows of a `VALUES` list.
pub(crate) fn value_rows(rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        out.push_str(&placeholders(r * width + 1, width));
        out.push(')');
    }
    out
}

impl Store {
    /// On PostgreSQL, locks the rows of `table` with these ids in id order (the caller
    /// sorted them), so that transactions locking overlapping rows cannot deadlock.
    /// SQLite has a single writer and nothing to lock.
    async fn lock_in_order(&self, conn: &mut Conn<'_>, table: &str, ids: &[&str]) -> Result<()> {
        if self.dialect != Dialect::Postgres || ids.is_empty() {
            return Ok(());
        }
        // The ids are sorted, so locking chunk after chunk keeps the id order.
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT id FROM {table} WHERE id IN ({}) ORDER BY id FOR UPDATE",
                placeholders(1, chunk.len())
            );
            let mut stmt = Stmt::new(sql);
            for id in chunk {
                stmt.push(*id);
            }
            self.fetch(conn, &stmt).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(webhooks: &[&str], hosts: &[&str]) -> ClaimSkip {
        let owned = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect();
        ClaimSkip {
            webhooks: owned(webhooks),
            hosts: owned(hosts),
        }
    }

    #[test]
    fn a_skip_covers_the_skips_it_contains() {
        let wide = skip(&["w1", "w2"], &["a:80", "b:80"]);
        assert!(wide.covers(&skip(&[], &[])));
        assert!(wide.covers(&skip(&["w2"], &["a:80"])));
        assert!(wide.covers(&wide));
        assert!(!wide.covers(&skip(&["w3"], &[])));
        assert!(!wide.covers(&skip(&[], &["c:80"])));
        assert!(!skip(&[], &[]).covers(&skip(&[], &["a:80"])));
    }

    #[test]
    fn the_payload_cache_keeps_the_newest_bodies() {
        let cache = PayloadCache::default();
        for n in 0..PAYLOAD_CACHE_LEN + 10 {
            cache.insert(&format!("p{n}"), &Arc::from(format!("body {n}")));
        }
        let mut found = HashMap::new();
        let newest = format!("p{}", PAYLOAD_CACHE_LEN + 9);
        let missing = cache.lookup(
            vec!["p0".into(), "p9".into(), "p10".into(), newest.clone()],
            &mut found,
        );
        assert_eq!(missing, ["p0", "p9"], "the oldest were evicted");
        assert_eq!(&*found["p10"], "body 10");
        assert_eq!(
            found[&newest].as_ref(),
            format!("body {}", PAYLOAD_CACHE_LEN + 9)
        );
        assert_eq!(cache.entries.lock().unwrap().by_id.len(), PAYLOAD_CACHE_LEN);
    }
}
