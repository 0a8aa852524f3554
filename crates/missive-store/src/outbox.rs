//! The deliveries an action causes, written in the action's own transaction, and the
//! commit that wakes the delivery workers.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::AnyConnection;

use crate::codec::placeholders;
use crate::conn::{Conn, Stmt};
use crate::handoff::Leased;
use crate::writer::Lane;
use crate::{BoxFuture, Dialect, Result, Store};

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

    /// Inserts the payloads that deliveries use, then the deliveries: those the workers
    /// take at once (`handoff.rs`) leased to them, the others due at once. On PostgreSQL,
    /// if some are due, it also queues a notification, which PostgreSQL sends to every
    /// node's listener when the transaction commits (and drops if it rolls back).
    /// Returns the leased deliveries, to hand over after the commit.
    async fn write(&self, store: &Store, conn: &mut Conn<'_>) -> Result<Option<Leased>> {
        // Only the payloads that deliveries use, in multi-row INSERTs like the deliveries.
        let used: Vec<&Payload> = self
            .payloads
            .iter()
            .filter(|p| self.deliveries.iter().any(|d| d.payload_id == p.id))
            .collect();
        let mut rest = &used[..];
        for size in chunk_sizes(rest.len(), INSERT_ROWS) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let sql = format!(
                "INSERT INTO payloads (id, body) VALUES {}",
                crate::deliveries::value_rows(chunk.len(), 2)
            );
            let mut stmt = Stmt::new(sql);
            for payload in chunk {
                stmt.push(&payload.id);
                stmt.push(&payload.body);
            }
            store.execute(conn, &stmt).await?;
        }
        let leased = match store.handoff() {
            Some(handoff) if !self.deliveries.is_empty() => {
                // The webhooks as this transaction sees them: a delivery is leased only
                // to a webhook that is there and switched on when it commits.
                let webhook_ids = self
                    .deliveries
                    .iter()
                    .map(|d| d.webhook_id.clone())
                    .collect();
                let now = self.deliveries[0].created_at;
                let targets = store.targets(conn, webhook_ids, now).await?;
                let bodies: HashMap<&str, Arc<str>> = used
                    .iter()
                    .map(|p| (p.id.as_str(), Arc::from(p.body.as_str())))
                    .collect();
                Some(handoff.lease(&self.deliveries, &targets, &bodies))
            }
            _ => None,
        };
        // Multi-row INSERTs: a statement per delivery made a large fan-out cost a round
        // trip to the database per row.
        let mut first = 0;
        for size in chunk_sizes(self.deliveries.len(), INSERT_ROWS) {
            let chunk = &self.deliveries[first..first + size];
            let mut sql = String::from(
                "INSERT INTO deliveries (id, webhook_id, user_id, event_type, event_id, created_at, payload_id, due_at, lease_token) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                sql.push_str(&placeholders(i * 9 + 1, 9));
                sql.push(')');
            }
            let mut stmt = Stmt::new(sql);
            for (i, d) in chunk.iter().enumerate() {
                let lease = leased
                    .as_ref()
                    .filter(|l| l.is_taken(first + i))
                    .map(|l| l.handoff());
                stmt.push(&d.id);
                stmt.push(&d.webhook_id);
                stmt.push(&d.user_id);
                stmt.push(&d.event_type);
                stmt.push(&d.event_id);
                stmt.push(d.created_at);
                stmt.push(&d.payload_id);
                // Leased: due when the lease ends, as a claimed delivery is.
                stmt.push(lease.map_or(d.created_at, |h| h.lease_end(d.created_at)));
                stmt.push(lease.map(|h| h.lease_token().to_owned()));
            }
            store.execute(conn, &stmt).await?;
            first += size;
        }
        let some_due = leased.as_ref().is_none_or(Leased::left_some);
        if store.dialect == Dialect::Postgres && !self.deliveries.is_empty() && some_due {
            store
                .execute(conn, &Stmt::new(crate::listener::NOTIFY))
                .await?;
        }
        Ok(leased)
    }
}

/// After an outbox's transaction has committed: hands the leased deliveries to the
/// workers and, if some were left to the queue, wakes the dispatcher.
fn after_commit(store: &Store, leased: Option<Leased>, wrote_deliveries: bool) {
    let some_due = leased.as_ref().is_none_or(Leased::left_some);
    if let Some(leased) = leased {
        leased.deliver();
    }
    if wrote_deliveries && some_due {
        store.deliveries_committed.notify_one();
    }
}

impl Store {
    /// Runs an action's write (`action`) and writes the deliveries it causes, in one write
    /// transaction; once that has committed, wakes this process's delivery workers (the
    /// other nodes' wake on the notification `write` queued). An action that returns
    /// `None` is rolled back, outbox and all, and `None` is returned. The only way an
    /// outbox reaches the database, so that no action can commit deliveries and leave
    /// them waiting for the next poll.
    pub(crate) async fn commit<T, F>(&self, outbox: Outbox, action: F) -> Result<Option<T>>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<Option<T>>>
            + Send
            + 'static,
    {
        self.commit_built(move |conn| {
            Box::pin(async move { Ok(action(conn).await?.map(|value| (value, outbox))) })
        })
        .await
    }

    /// `commit`, for a hot action (`conn.rs`): on SQLite it runs on the writer's own
    /// connection.
    pub(crate) async fn commit_hot<T, F>(&self, outbox: Outbox, action: F) -> Result<Option<T>>
    where
        T: Send + 'static,
        F: for<'a, 'c> FnOnce(&'a mut Conn<'c>) -> BoxFuture<'a, Result<Option<T>>>
            + Send
            + 'static,
    {
        let store = self.clone();
        let wakes = !outbox.is_empty();
        let done = self
            .write_hot(Lane::Api, move |mut conn| {
                Box::pin(async move {
                    let Some(value) = action(&mut conn).await? else {
                        return Ok((None, false));
                    };
                    let leased = outbox.write(&store, &mut conn).await?;
                    Ok((Some((value, leased)), true))
                })
            })
            .await?;
        Ok(done.map(|(value, leased)| {
            after_commit(self, leased, wakes);
            value
        }))
    }

    /// `commit`, for an action that builds its outbox from what it reads in the
    /// transaction (a redelivery).
    pub(crate) async fn commit_built<T, F>(&self, action: F) -> Result<Option<T>>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<Option<(T, Outbox)>>>
            + Send
            + 'static,
    {
        let store = self.clone();
        let done = self
            .write_or_roll_back(move |conn| {
                Box::pin(async move {
                    let Some((value, outbox)) = action(&mut *conn).await? else {
                        return Ok((None, false));
                    };
                    let leased = outbox.write(&store, &mut Conn::Sqlx(conn)).await?;
                    Ok((Some((value, leased, !outbox.is_empty())), true))
                })
            })
            .await?;
        Ok(done.map(|(value, leased, wakes)| {
            after_commit(self, leased, wakes);
            value
        }))
    }
}

/// Rows per multi-row INSERT. Not more: SQLite's driver looks each of a statement's
/// parameters up by name in a linear list, so binding costs grow with the square of
/// the parameters (7 a row), and 32 rows already make the round trips rare.
const INSERT_ROWS: usize = 32;

/// Splits `n` rows into statements of `max` rows, then the rest into powers of two, so
/// that a handful of distinct statements (each prepared once and cached) serve any `n`.
pub(crate) fn chunk_sizes(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let full = n / max;
    let rest = n % max;
    std::iter::repeat_n(max, full).chain(
        (0..usize::BITS)
            .rev()
            .map(move |bit| rest & (1 << bit))
            .filter(|size| *size != 0),
    )
}

#[cfg(test)]
mod tests {
    use super::chunk_sizes;

    #[test]
    fn chunk_sizes_cover_every_row_with_few_distinct_sizes() {
        assert_eq!(chunk_sizes(0, 128).count(), 0);
        assert_eq!(chunk_sizes(1, 128).collect::<Vec<_>>(), [1]);
        assert_eq!(
            chunk_sizes(300, 128).collect::<Vec<_>>(),
            [128, 128, 32, 8, 4]
        );
        for n in 0..1000 {
            let sizes: Vec<usize> = chunk_sizes(n, 128).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= 128));
        }
    }
}
