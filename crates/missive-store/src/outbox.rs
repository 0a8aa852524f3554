//! The deliveries an action causes, written in the action's own transaction.

use sqlx::{Any, Transaction};

use crate::Result;

/// A serialized event body, shared by every delivery that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub id: String,
    pub body: String,
}

/// One delivery to create: `payload` is the id of a payload in the same outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: String,
    pub webhook_id: String,
    pub user_id: String,
    pub event_type: String,
    pub event_id: String,
    pub created_at: i64,
    pub payload_id: String,
}

/// Payloads and deliveries to insert together with an action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    pub payloads: Vec<Payload>,
    pub deliveries: Vec<NewDelivery>,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.deliveries.is_empty()
    }

    /// Inserts the payloads that deliveries use, then the deliveries, due at once.
    pub(crate) async fn write(&self, tx: &mut Transaction<'_, Any>) -> Result<()> {
        for payload in &self.payloads {
            if !self.deliveries.iter().any(|d| d.payload_id == payload.id) {
                continue;
            }
            sqlx::query("INSERT INTO payloads (id, body) VALUES ($1, $2)")
                .bind(&payload.id)
                .bind(&payload.body)
                .execute(&mut **tx)
                .await?;
        }
        for d in &self.deliveries {
            sqlx::query(
                "INSERT INTO deliveries (id, webhook_id, user_id, event_type, event_id, created_at, payload_id, due_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
            )
            .bind(&d.id)
            .bind(&d.webhook_id)
            .bind(&d.user_id)
            .bind(&d.event_type)
            .bind(&d.event_id)
            .bind(d.created_at)
            .bind(&d.payload_id)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}
