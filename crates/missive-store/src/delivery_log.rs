//! The delivery log: the attempts of each delivery (appended to its row with their
//! outcomes by `Store::finish_deliveries`), a webhook's deliveries for its owner to read, redelivery
//! of a finished delivery as a new attempt series with the same `eventId`, and pruning.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::codec::{IDS_PER_STATEMENT, get, placeholders};
use crate::outbox::{NewDelivery, Outbox, Payload};
use crate::{Dialect, Result, Store, StoreError};

/// One attempt, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLog {
    /// 1 for the first attempt of a delivery.
    pub attempt: i64,
    pub started_at_ms: i64,
    pub duration_ms: i64,
    /// The HTTP status, or `None` when no answer came.
    pub status: Option<i64>,
    /// Why no answer came: `refused`, `timeout`, `dns`, `tls`, `blocked` or `other`.
    pub error: Option<String>,
    /// The start of the response body (the caller caps it).
    pub response_head: Option<String>,
    /// When the next attempt is due, if there is one.
    pub next_retry_at_ms: Option<i64>,
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Succeeded,
    Failed,
    /// Never sent: the webhook was switched off or deleted.
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    fn code(self) -> i64 {
        match self {
            DeliveryState::Pending => 0,
            DeliveryState::Succeeded => 1,
            DeliveryState::Failed => 2,
            DeliveryState::Cancelled => 3,
        }
    }

    fn from_code(code: i64) -> DeliveryState {
        match code {
            0 => DeliveryState::Pending,
            1 => DeliveryState::Succeeded,
            2 => DeliveryState::Failed,
            _ => DeliveryState::Cancelled,
        }
    }
}

/// A delivery as the log lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySummary {
    pub id: String,
    pub webhook_id: String,
    pub user_id: String,
    pub event_type: String,
    pub event_id: String,
    /// When the event happened (the envelope's `createdAt`).
    pub created_at: i64,
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_status: Option<i64>,
    /// When a pending delivery is due next.
    pub next_attempt_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A delivery with its attempts (oldest first) and the event body it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDetail {
    pub delivery: DeliverySummary,
    pub attempts: Vec<AttemptLog>,
    /// The packed event body (the envelope's `body`); `None` if it was pruned.
    pub body: Option<String>,
}

/// Which of a webhook's deliveries to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub webhook_id: String,
    pub state: Option<DeliveryState>,
    pub event_type: Option<String>,
    pub since_id: Option<String>,
    pub until_id: Option<String>,
    pub limit: i64,
}

/// What to send again: one delivery, or a webhook's failed deliveries of events since
/// a time (oldest first, at most `limit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeliverySet {
    One { delivery_id: String },
    FailedSince { since_ms: i64, limit: i64 },
}

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub payloads: u64,
}

/// What a redelivery copies from the delivery it repeats.
const ORIGINAL_COLUMNS: &str = "user_id, event_type, event_id, created_at, \
     (SELECT body FROM payloads WHERE payloads.id = deliveries.payload_id) AS body";

const SUMMARY_COLUMNS: &str = "id, webhook_id, user_id, event_type, event_id, created_at, state, attempts, last_status, due_at, finished_at";

fn summary_from_row(row: &AnyRow) -> Result<DeliverySummary> {
    let state = DeliveryState::from_code(get(row, "state")?);
    Ok(DeliverySummary {
        id: get(row, "id")?,
        webhook_id: get(row, "webhook_id")?,
        user_id: get(row, "user_id")?,
        event_type: get(row, "event_type")?,
        event_id: get(row, "event_id")?,
        created_at: get(row, "created_at")?,
        state,
        attempts: get(row, "attempts")?,
        last_status: get(row, "last_status")?,
        next_attempt_at: match state {
            DeliveryState::Pending => Some(get(row, "due_at")?),
            _ => None,
        },
        finished_at: get(row, "finished_at")?,
    })
}

/// An attempt as one line of the delivery's `attempt_log` (JSON, then a newline).
pub(crate) fn attempt_line(log: &AttemptLog) -> String {
    let mut line = serde_json::json!({
        "attempt": log.attempt,
        "startedAt": log.started_at_ms,
        "durationMs": log.duration_ms,
        "status": log.status,
        "error": log.error,
        "responseHead": log.response_head,
        "nextRetryAt": log.next_retry_at_ms,
    })
    .to_string();
    line.push('\n');
    line
}

/// The attempts of an `attempt_log`, oldest first.
fn parse_attempt_log(text: &str) -> Result<Vec<AttemptLog>> {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| StoreError::Corrupt(format!("attempt log: {e}")))?;
            let text = |key: &str| v[key].as_str().map(str::to_owned);
            Ok(AttemptLog {
                attempt: v["attempt"].as_i64().unwrap_or(0),
                started_at_ms: v["startedAt"].as_i64().unwrap_or(0),
                duration_ms: v["durationMs"].as_i64().unwrap_or(0),
                status: v["status"].as_i64(),
                error: text("error"),
                response_head: text("responseHead"),
                next_retry_at_ms: v["nextRetryAt"].as_i64(),
            })
        })
        .collect()
}

impl Store {
    /// A webhook's deliveries matching `filter`, newest first.
    pub async fn deliveries_of_webhook(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<DeliverySummary>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM deliveries WHERE webhook_id = $1 \
             AND ($2 IS NULL OR state = $2) AND ($3 IS NULL OR event_type = $3) \
             AND ($4 IS NULL OR id > $4) AND ($5 IS NULL OR id < $5) ORDER BY id DESC LIMIT $6"
        );
        self.query(&sql)
            .bind(&filter.webhook_id)
            .bind(filter.state.map(DeliveryState::code))
            .bind(filter.event_type.clone())
            .bind(filter.since_id.clone())
            .bind(filter.until_id.clone())
            .bind(filter.limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(summary_from_row)
            .collect()
    }

    /// One delivery with its attempts and body.
    pub async fn delivery_detail(&self, delivery_id: &str) -> Result<Option<DeliveryDetail>> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, attempt_log, \
             (SELECT body FROM payloads WHERE payloads.id = deliveries.payload_id) AS body \
             FROM deliveries WHERE id = $1"
        );
        let Some(row) = self
            .query(&sql)
            .bind(delivery_id)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let delivery = summary_from_row(&row)?;
        let body: Option<String> = get(&row, "body")?;
        let log: Option<String> = get(&row, "attempt_log")?;
        let attempts = parse_attempt_log(log.as_deref().unwrap_or_default())?;
        Ok(Some(DeliveryDetail {
            delivery,
            attempts,
            body,
        }))
    }

    /// Queues the deliveries of `set` (of webhook `webhook_id`) again: for each, a new
    /// delivery with the same event, `eventId` and payload, due at once, with ids from
    /// `new_id`. A finished delivery whose event already has a pending delivery to this
    /// webhook is left alone, so asking twice queues it once. Returns the new deliveries'
    /// ids; none if the webhook is gone. Commits through `commit`, which wakes the workers.
    pub async fn redeliver(
        &self,
        webhook_id: &str,
        set: &RedeliverySet,
        new_id: impl FnMut() -> String + Send + 'static,
    ) -> Result<Vec<String>> {
        let store = self.clone();
        let (webhook_id, set) = (webhook_id.to_owned(), set.clone());
        let ids = self
            .commit_built(move |conn| {
                Box::pin(async move {
                    let outbox = store
                        .redelivery_outbox(conn, &webhook_id, &set, new_id)
                        .await?;
                    let ids = outbox.deliveries.iter().map(|d| d.id.clone()).collect();
                    Ok(Some((ids, outbox)))
                })
            })
            .await?;
        Ok(ids.unwrap_or_default())
    }

    /// The deliveries `redeliver` queues, read in its transaction.
    async fn redelivery_outbox(
        &self,
        conn: &mut AnyConnection,
        webhook_id: &str,
        set: &RedeliverySet,
        mut new_id: impl FnMut() -> String,
    ) -> Result<Outbox> {
        // Locking the webhook serializes redeliveries of it (and its deletion), so two
        // concurrent calls cannot both find no pending delivery and queue one each.
        let lock = match self.dialect {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        };
        let exists = self
            .query(&format!("SELECT id FROM webhooks WHERE id = $1{lock}"))
            .bind(webhook_id)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Ok(Outbox::default());
        }
        let originals = match set {
            RedeliverySet::One { delivery_id } => {
                self.query(&format!(
                    "SELECT {ORIGINAL_COLUMNS} FROM deliveries \
                     WHERE id = $1 AND webhook_id = $2 AND state <> 0"
                ))
                .bind(delivery_id)
                .bind(webhook_id)
                .fetch_all(&mut *conn)
                .await?
            }
            RedeliverySet::FailedSince { since_ms, limit } => {
                self.query(&format!(
                    "SELECT {ORIGINAL_COLUMNS} FROM deliveries \
                     WHERE webhook_id = $1 AND state = 2 AND created_at >= $2 \
                     AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = deliveries.webhook_id \
                     AND p.event_id = deliveries.event_id AND p.state = 0) \
                     ORDER BY id LIMIT $3"
                ))
                .bind(webhook_id)
                .bind(*since_ms)
                .bind(*limit)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        let mut outbox = Outbox::default();
        let pending = self.pending_events(conn, webhook_id).await?;
        for row in &originals {
            let event_id: String = get(row, "event_id")?;
            if pending.contains(&event_id)
                || outbox.deliveries.iter().any(|d| d.event_id == event_id)
            {
                continue;
            }
            // Pruned since it was read: nothing left to send.
            let Some(body) = get::<Option<String>>(row, "body")? else {
                continue;
            };
            // A copy of the body, so that a payload lives as long as the deliveries
            // of one event or redelivery, and pruning can go by its id (its time).
            let payload_id = new_id();
            outbox.payloads.push(Payload {
                id: payload_id.clone(),
                body,
            });
            outbox.deliveries.push(NewDelivery {
                id: new_id(),
                webhook_id: webhook_id.to_owned(),
                user_id: get(row, "user_id")?,
                event_type: get(row, "event_type")?,
                event_id,
                created_at: get(row, "created_at")?,
                payload_id,
            });
        }
        Ok(outbox)
    }

    /// Removes up to `batch` finished deliveries (their attempts with them): those with an id
    /// below `older_than_id` (ids begin with their creation time), then, for the
    /// webhooks in `webhook_ids`, those beyond the newest `keep_per_webhook`. Then up to
    /// `batch` payloads with an id below `payloads_older_than_id` that no pending
    /// delivery uses. Pending deliveries are never removed. Small batches keep each
    /// transaction short, so that the delivery workers and the API barely notice.
    pub async fn prune_delivery_log(
        &self,
        older_than_id: &str,
        payloads_older_than_id: &str,
        keep_per_webhook: i64,
        webhook_ids: &[String],
        batch: i64,
    ) -> Result<Pruned> {
        let mut doomed: Vec<String> = self
            .query("SELECT id FROM deliveries WHERE id < $1 AND state <> 0 ORDER BY id LIMIT $2")
            .bind(older_than_id)
            .bind(batch)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| get(row, "id"))
            .collect::<Result<_>>()?;
        for webhook_id in webhook_ids {
            let room = batch - doomed.len() as i64;
            if room <= 0 {
                break;
            }
            let rows = self
                .query(
                    "SELECT id FROM deliveries WHERE webhook_id = $1 AND state <> 0 \
                 ORDER BY id DESC LIMIT $2 OFFSET $3",
                )
                .bind(webhook_id)
                .bind(room)
                .bind(keep_per_webhook)
                .fetch_all(&self.read)
                .await?;
            for row in &rows {
                let id: String = get(row, "id")?;
                if !doomed.contains(&id) {
                    doomed.push(id);
                }
            }
        }
        let payload_bound = self.payload_prune_bound(payloads_older_than_id).await?;
        let mut pruned = Pruned::default();
        let store = self.clone();
        let batch_limit = batch;
        self.write(move |conn| {
            Box::pin(async move {
                for chunk in doomed.chunks(IDS_PER_STATEMENT) {
                    let list = placeholders(1, chunk.len());
                    // `state <> 0`: a delivery is never pruned while it is pending.
                    let sql = format!("DELETE FROM deliveries WHERE id IN ({list}) AND state <> 0");
                    let mut query = store.query(&sql);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    pruned.deliveries += query.execute(&mut *conn).await?.rows_affected();
                }
                if let Some(bound) = &payload_bound {
                    pruned.payloads = store
                        .query(
                            "DELETE FROM payloads WHERE id IN (SELECT id FROM payloads WHERE id < $1 ORDER BY id LIMIT $2)",
                        )
                        .bind(bound)
                        .bind(batch_limit)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                }
                Ok(pruned)
            })
        })
        .await
    }

    /// Below which id payloads may be removed: `older_than_id`, or the oldest payload a
    /// pending delivery still uses if that is older (a delivery retried for longer than
    /// the retention keeps its payload). `None` when no payload is that old: finding the
    /// oldest pending one reads every pending delivery, which under a backlog cost the
    /// pruner a scan of the queue every round for nothing.
    async fn payload_prune_bound(&self, older_than_id: &str) -> Result<Option<String>> {
        let row = self
            .query("SELECT MIN(id) AS oldest FROM payloads")
            .fetch_one(&self.read)
            .await?;
        let oldest_payload: Option<String> = get(&row, "oldest")?;
        if oldest_payload.is_none_or(|oldest| oldest.as_str() >= older_than_id) {
            return Ok(None);
        }
        let row = self
            .query("SELECT MIN(payload_id) AS oldest FROM deliveries WHERE state = 0")
            .fetch_one(&self.read)
            .await?;
        let oldest_pending: Option<String> = get(&row, "oldest")?;
        Ok(Some(match oldest_pending {
            Some(oldest) if oldest.as_str() < older_than_id => oldest,
            _ => older_than_id.to_owned(),
        }))
    }

    /// Every webhook id, in id order from after `after` (all when `None`), at most
    /// `limit`: how the pruner walks the webhooks for the per-webhook cap.
    pub async fn webhook_ids_after(&self, after: Option<&str>, limit: i64) -> Result<Vec<String>> {
        self.query("SELECT id FROM webhooks WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2")
            .bind(after.map(str::to_owned))
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| get(row, "id"))
            .collect()
    }
}

impl Store {
    /// The events with a pending delivery to `webhook_id`.
    async fn pending_events(
        &self,
        conn: &mut AnyConnection,
        webhook_id: &str,
    ) -> Result<std::collections::HashSet<String>> {
        self.query("SELECT event_id FROM deliveries WHERE webhook_id = $1 AND state = 0")
            .bind(webhook_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| get(row, "event_id"))
            .collect()
    }
}
