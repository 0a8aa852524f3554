//! The delivery queue: claiming due deliveries under a lease and recording outcomes.
//!
//! A pending delivery (state 0) becomes claimable when `due_at <= now`. Claiming sets
//! `due_at` to the end of the lease and a fresh `lease_token`, so a worker that dies
//! mid-send leaves a delivery that becomes due again when the lease runs out
//! (DESIGN invariants 2 and 3). Outcomes are written only by the lease holder.

use std::collections::HashMap;

use sqlx::any::AnyRow;

use crate::codec::{get, get_bool, placeholders};
use crate::{Dialect, Result, Store};

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
    pub body: String,
}

/// Where a delivery goes, read from the webhook when the delivery is claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub secret: String,
    pub active: bool,
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
    /// Claims up to `limit` due deliveries for `lease_ms`, skipping the webhooks in
    /// `skip_webhooks` (those the caller has enough in flight for). Oldest due first.
    pub async fn claim_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        skip_webhooks: &[String],
        lease_token: &str,
    ) -> Result<Vec<ClaimedDelivery>> {
        let skip = if skip_webhooks.is_empty() {
            String::new()
        } else {
            format!(
                "AND webhook_id NOT IN ({})",
                placeholders(5, skip_webhooks.len())
            )
        };
        let lock = match self.dialect {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE deliveries SET due_at = $1, lease_token = $2 WHERE id IN \
             (SELECT id FROM deliveries WHERE state = 0 AND due_at <= $3 {skip} ORDER BY due_at LIMIT $4 {lock}) \
             RETURNING id, webhook_id, user_id, event_type, event_id, created_at, attempts, payload_id"
        );
        let mut tx = self.write.begin().await?;
        let mut query = sqlx::query(&sql)
            .bind(now_ms + lease_ms)
            .bind(lease_token)
            .bind(now_ms)
            .bind(limit);
        for id in skip_webhooks {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let mut claimed = Vec::with_capacity(rows.len());
        let mut payload_ids = Vec::new();
        for row in &rows {
            payload_ids.push(get::<String>(row, "payload_id")?);
            claimed.push(ClaimedDelivery {
                id: get(row, "id")?,
                webhook_id: get(row, "webhook_id")?,
                user_id: get(row, "user_id")?,
                event_type: get(row, "event_type")?,
                event_id: get(row, "event_id")?,
                created_at: get(row, "created_at")?,
                attempts: get(row, "attempts")?,
                lease_token: lease_token.to_owned(),
                target: None,
                body: String::new(),
            });
        }
        payload_ids.sort();
        payload_ids.dedup();
        let mut webhook_ids: Vec<String> = claimed.iter().map(|d| d.webhook_id.clone()).collect();
        webhook_ids.sort();
        webhook_ids.dedup();
        let targets = fetch_map(
            &mut tx,
            "SELECT id, url, secret, active FROM webhooks WHERE id IN",
            &webhook_ids,
            |row| {
                Ok(Target {
                    url: get(row, "url")?,
                    secret: get(row, "secret")?,
                    active: get_bool(row, "active")?,
                })
            },
        )
        .await?;
        let bodies = fetch_map(
            &mut tx,
            "SELECT id, body FROM payloads WHERE id IN",
            &payload_ids,
            |row| get::<String>(row, "body"),
        )
        .await?;
        tx.commit().await?;
        for (delivery, row) in claimed.iter_mut().zip(&rows) {
            delivery.target = targets.get(&delivery.webhook_id).cloned();
            let payload_id: String = get(row, "payload_id")?;
            delivery.body = bodies.get(&payload_id).cloned().unwrap_or_default();
        }
        Ok(claimed)
    }

    /// Records outcomes in one transaction (group commit). An outcome whose lease was
    /// lost (another worker claimed the delivery after the lease expired) is ignored.
    /// The webhooks' `latestSentAt`/`latestStatus` follow the last attempt of each.
    pub async fn finish_deliveries(&self, finished: &[Finished]) -> Result<()> {
        if finished.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await?;
        let mut latest: HashMap<&str, (i64, i64)> = HashMap::new();
        for f in finished {
            let (state, due_at, finished_at) = match f.state {
                FinishedState::Succeeded => (SUCCEEDED, None, Some(f.at_ms)),
                FinishedState::Failed => (FAILED, None, Some(f.at_ms)),
                FinishedState::Cancelled => (CANCELLED, None, Some(f.at_ms)),
                FinishedState::RetryAt(at) => (PENDING, Some(at), None),
            };
            sqlx::query(
                "UPDATE deliveries SET state = $3, due_at = COALESCE($4, due_at), finished_at = $5, lease_token = NULL, \
                 attempts = attempts + $6, last_status = COALESCE($7, last_status) \
                 WHERE id = $1 AND lease_token = $2 AND state = 0",
            )
            .bind(&f.delivery_id)
            .bind(&f.lease_token)
            .bind(state)
            .bind(due_at)
            .bind(finished_at)
            .bind(i64::from(f.attempted))
            .bind(f.attempted.then_some(f.status))
            .execute(&mut *tx)
            .await?;
            if f.attempted {
                let entry = latest
                    .entry(f.webhook_id.as_str())
                    .or_insert((f.at_ms, f.status));
                if f.at_ms >= entry.0 {
                    *entry = (f.at_ms, f.status);
                }
            }
        }
        for (webhook_id, (at, status)) in latest {
            sqlx::query(
                "UPDATE webhooks SET latest_sent_at = $2, latest_status = $3 WHERE id = $1",
            )
            .bind(webhook_id)
            .bind(at)
            .bind(status)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// When the next pending delivery becomes due (leased ones count at their lease end).
    pub async fn next_due_at(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(due_at) AS due FROM deliveries WHERE state = 0")
            .fetch_one(&self.read)
            .await?;
        get(&row, "due")
    }

    /// Makes every leased delivery due now. Only for a single-node database (SQLite) at
    /// startup, where no other process can hold a live lease.
    pub async fn release_all_leases(&self, now_ms: i64) -> Result<u64> {
        let res = sqlx::query("UPDATE deliveries SET due_at = $1, lease_token = NULL WHERE state = 0 AND lease_token IS NOT NULL")
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(res.rows_affected())
    }

    pub async fn delivery_counts(&self) -> Result<DeliveryCounts> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
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

/// Runs `SELECT … WHERE id IN (ids)` and maps each row by its `id`.
async fn fetch_map<T>(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    select_where_id_in: &str,
    ids: &[String],
    decode: impl Fn(&AnyRow) -> Result<T>,
) -> Result<HashMap<String, T>> {
    let sql = format!("{select_where_id_in} ({})", placeholders(1, ids.len()));
    let mut query = sqlx::query(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let mut out = HashMap::with_capacity(ids.len());
    for row in query.fetch_all(&mut **tx).await? {
        out.insert(get::<String>(&row, "id")?, decode(&row)?);
    }
    Ok(out)
}
