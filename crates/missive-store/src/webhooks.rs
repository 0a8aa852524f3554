//! Webhook registrations: the owner's CRUD, the administrator's view, and the lookup
//! of the webhooks an event goes to.

use missive_core::event::EventType;
use missive_core::model::Webhook;
use missive_core::receiver::host_key;
use sqlx::any::AnyRow;

use crate::codec::{get, get_bool, join_events, split_events};
use crate::conn::{Conn, Stmt};
use crate::{Dialect, Result, Store};

const WEBHOOK_COLUMNS: &str = "id, user_id, name, events, url, secret, active, latest_sent_at, latest_status, \
     consecutive_failures, disabled_reason, disabled_at";

/// A webhook to create; it starts active, with no attempt recorded.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub on: Vec<EventType>,
    pub url: String,
    pub secret: String,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub on: Option<Vec<EventType>>,
    pub active: Option<bool>,
    /// When `secret` changes the secret, the old one keeps signing deliveries until then
    /// (secret rotation); `None` drops it at once.
    pub previous_secret_until: Option<i64>,
}

/// The administrator's listing: newest first, paged by id.
#[derive(Debug, Clone, Default)]
pub struct AdminWebhookFilter {
    pub user_id: Option<String>,
    pub active: Option<bool>,
    pub since_id: Option<String>,
    pub until_id: Option<String>,
    pub limit: i64,
}

fn webhook_from_row(row: &AnyRow) -> Result<Webhook> {
    Ok(Webhook {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        name: get(row, "name")?,
        on: split_events(&get::<String>(row, "events")?)?,
        url: get(row, "url")?,
        secret: get(row, "secret")?,
        active: get_bool(row, "active")?,
        latest_sent_at_ms: get(row, "latest_sent_at")?,
        latest_status: get(row, "latest_status")?,
        consecutive_failures: get(row, "consecutive_failures")?,
        disabled_reason: get(row, "disabled_reason")?,
        disabled_at_ms: get(row, "disabled_at")?,
    })
}

impl Store {
    /// Creates a webhook unless the owner already has `limit` or more.
    /// Returns `None` when the limit is reached.
    pub async fn create_webhook(&self, new: &NewWebhook, limit: u32) -> Result<Option<Webhook>> {
        let store = self.clone();
        let new_webhook = new.clone();
        let created = self
            .write(move |conn| {
                Box::pin(async move {
                    let new = &new_webhook;
                    if store.dialect == Dialect::Postgres {
                        // Serializes concurrent creations by one owner, so the count
                        // below stays true.
                        store
                            .query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                            .bind(&new.user_id)
                            .execute(&mut *conn)
                            .await?;
                    }
                    let row = store
                        .query("SELECT COUNT(*) AS n FROM webhooks WHERE user_id = $1")
                        .bind(&new.user_id)
                        .fetch_one(&mut *conn)
                        .await?;
                    if get::<i64>(&row, "n")? >= i64::from(limit) {
                        return Ok(false);
                    }
                    store
                        .query("INSERT INTO webhooks (id, user_id, name, events, url, secret, active, host) VALUES ($1, $2, $3, $4, $5, $6, 1, $7)")
                        .bind(&new.id)
                        .bind(&new.user_id)
                        .bind(&new.name)
                        .bind(join_events(&new.on))
                        .bind(&new.url)
                        .bind(&new.secret)
                        .bind(host_key(&new.url))
                        .execute(&mut *conn)
                        .await?;
                    Ok(true)
                })
            })
            .await?;
        if !created {
            return Ok(None);
        }
        Ok(Some(Webhook {
            id: new.id.clone(),
            user_id: new.user_id.clone(),
            name: new.name.clone(),
            on: new.on.clone(),
            url: new.url.clone(),
            secret: new.secret.clone(),
            active: true,
            latest_sent_at_ms: None,
            latest_status: None,
            consecutive_failures: 0,
            disabled_reason: None,
            disabled_at_ms: None,
        }))
    }

    /// The owner's webhooks, oldest first.
    pub async fn webhooks_of_user(&self, user_id: &str) -> Result<Vec<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE user_id = $1 ORDER BY id");
        self.query(&sql)
            .bind(user_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(webhook_from_row)
            .collect()
    }

    /// A webhook, only if `user_id` owns it.
    pub async fn webhook_of_user(&self, id: &str, user_id: &str) -> Result<Option<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND user_id = $2");
        let row = self
            .query(&sql)
            .bind(id)
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    pub async fn webhook_by_id(&self, id: &str) -> Result<Option<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        let row = self.query(&sql).bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    /// Applies `patch` to the webhook if `user_id` owns it (any owner when `user_id` is
    /// `None`, for the administrator). Switching a webhook off cancels its pending
    /// deliveries in the same transaction; switching it on clears its health (the reason
    /// it was switched off and its run of failures). A new secret keeps the old one as
    /// the previous secret until `patch.previous_secret_until`.
    /// Returns the updated webhook, or `None` if not found.
    pub async fn update_webhook(
        &self,
        id: &str,
        user_id: Option<&str>,
        patch: &WebhookPatch,
        now_ms: i64,
    ) -> Result<Option<Webhook>> {
        let store = self.clone();
        let (id, user_id, patch) = (id.to_owned(), user_id.map(str::to_owned), patch.clone());
        self.write(move |conn| {
            Box::pin(async move {
                let updated = store
                    .query(
                        "UPDATE webhooks SET name = COALESCE($3, name), url = COALESCE($4, url), secret = COALESCE($5, secret), \
                         events = COALESCE($6, events), active = COALESCE($7, active), host = COALESCE($8, host), \
                         previous_secret = CASE WHEN $5 IS NOT NULL AND $5 <> secret THEN CASE WHEN $9 IS NULL THEN NULL ELSE secret END ELSE previous_secret END, \
                         previous_secret_until = CASE WHEN $5 IS NOT NULL AND $5 <> secret THEN $9 ELSE previous_secret_until END, \
                         consecutive_failures = CASE WHEN $7 = 1 THEN 0 ELSE consecutive_failures END, \
                         first_failure_at = CASE WHEN $7 = 1 THEN NULL ELSE first_failure_at END, \
                         disabled_reason = CASE WHEN $7 = 1 THEN NULL ELSE disabled_reason END, \
                         disabled_at = CASE WHEN $7 = 1 THEN NULL ELSE disabled_at END \
                         WHERE id = $1 AND ($2 IS NULL OR user_id = $2)",
                    )
                    .bind(&id)
                    .bind(user_id)
                    .bind(patch.name.clone())
                    .bind(patch.url.clone())
                    .bind(patch.secret.clone())
                    .bind(patch.on.as_deref().map(join_events))
                    .bind(patch.active.map(i64::from))
                    .bind(patch.url.as_deref().map(host_key))
                    .bind(patch.previous_secret_until)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                if updated == 0 {
                    return Ok(None);
                }
                if patch.active == Some(false) {
                    store
                    .cancel_pending(&mut Conn::Sqlx(conn), &id, now_ms)
                    .await?;
                }
                let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
                let row = store.query(&sql).bind(&id).fetch_one(&mut *conn).await?;
                webhook_from_row(&row).map(Some)
            })
        })
        .await
    }

    /// Fills in the receiving host of webhooks written before the `host` column existed
    /// (migration 0002). Idempotent, so nodes starting together may all run it.
    pub(crate) async fn fill_webhook_hosts(&self) -> Result<()> {
        let rows = self
            .query("SELECT id, url FROM webhooks WHERE host = ''")
            .fetch_all(&self.read)
            .await?;
        for row in rows {
            let url: String = get(&row, "url")?;
            let id: String = get(&row, "id")?;
            self.execute_write(
                "UPDATE webhooks SET host = $1 WHERE id = $2 AND url = $3",
                vec![
                    host_key(&url).as_str().into(),
                    id.as_str().into(),
                    url.as_str().into(),
                ],
            )
            .await?;
        }
        Ok(())
    }

    /// Deletes the webhook if `user_id` owns it, dropping its pending deliveries.
    /// Returns whether it existed.
    pub async fn delete_webhook(&self, id: &str, user_id: &str, now_ms: i64) -> Result<bool> {
        let store = self.clone();
        let (id, user_id) = (id.to_owned(), user_id.to_owned());
        self.write(move |conn| {
            Box::pin(async move {
                let deleted = store
                    .query("DELETE FROM webhooks WHERE id = $1 AND user_id = $2")
                    .bind(&id)
                    .bind(&user_id)
                    .execute(&mut *conn)
                    .await?;
                if deleted.rows_affected() == 0 {
                    return Ok(false);
                }
                store
                    .cancel_pending(&mut Conn::Sqlx(conn), &id, now_ms)
                    .await?;
                Ok(true)
            })
        })
        .await
    }

    /// Every webhook matching `filter`, newest first.
    pub async fn admin_webhooks(&self, filter: &AdminWebhookFilter) -> Result<Vec<Webhook>> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR active = $2) \
             AND ($3 IS NULL OR id > $3) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
        );
        self.query(&sql)
            .bind(filter.user_id.clone())
            .bind(filter.active.map(i64::from))
            .bind(filter.since_id.clone())
            .bind(filter.until_id.clone())
            .bind(filter.limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(webhook_from_row)
            .collect()
    }

    /// The active webhooks of `user_ids`, for fanning an event out.
    pub async fn active_webhooks_of(&self, user_ids: &[String]) -> Result<Vec<Webhook>> {
        let select =
            format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE active = 1 AND user_id IN");
        self.read_in(&select, user_ids, webhook_from_row).await
    }

    /// Writes `latestSentAt`/`latestStatus` after an attempt that is not a queued delivery
    /// (a test send). Does nothing if the webhook is gone.
    pub async fn record_webhook_attempt(
        &self,
        id: &str,
        sent_at_ms: i64,
        status: i64,
    ) -> Result<()> {
        self.execute_write(
            "UPDATE webhooks SET latest_sent_at = $2, latest_status = $3 WHERE id = $1",
            vec![id.into(), sent_at_ms.into(), status.into()],
        )
        .await?;
        Ok(())
    }

    /// Marks the webhook's pending deliveries cancelled (state 3).
    pub(crate) async fn cancel_pending(
        &self,
        conn: &mut Conn<'_>,
        webhook_id: &str,
        now_ms: i64,
    ) -> Result<()> {
        let cancel = Stmt::new(
            "UPDATE deliveries SET state = 3, lease_token = NULL, finished_at = $2 WHERE webhook_id = $1 AND state = 0",
        )
        .bind(webhook_id)
        .bind(now_ms);
        self.execute(conn, &cancel).await?;
        Ok(())
    }
}
