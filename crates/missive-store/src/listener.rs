//! Wake-ups across nodes: PostgreSQL `LISTEN/NOTIFY` on the deliveries channel.
//!
//! On PostgreSQL every transaction that writes an outbox also sends
//! `NOTIFY missive_deliveries`, which PostgreSQL hands to every listening session when,
//! and only if, that transaction commits. Each node listens, so a delivery created
//! through one node is sent at once by whichever node is free (ARCHITECTURE.md invariant 4).
//! Notifications are only a hint: they carry nothing, may be lost while a connection is
//! down, and polling stays the fallback.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};

use crate::{ListenTarget, Store};

/// The channel the outbox transactions notify.
pub(crate) const CHANNEL: &str = "missive_deliveries";

/// The statement an outbox transaction runs; PostgreSQL sends it on commit.
pub(crate) const NOTIFY: &str = "NOTIFY missive_deliveries";

/// How long connecting the listener may take before it counts as a failure.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest pause between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A listening connection that reconnects by itself.
pub struct DeliveriesListener {
    target: ListenTarget,
    listener: Option<PgListener>,
    /// Failed or lost connections since the last good one; drives the backoff.
    failures: u32,
}

impl std::fmt::Debug for DeliveriesListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveriesListener")
            .field("connected", &self.listener.is_some())
            .field("failures", &self.failures)
            .finish()
    }
}

impl Store {
    /// A listener for deliveries committed by any node, or `None` on SQLite, where one
    /// process owns the database and the in-process wake-up is enough. It connects on
    /// the first `wait`.
    pub fn deliveries_listener(&self) -> Option<DeliveriesListener> {
        self.listen_to.clone().map(|target| DeliveriesListener {
            target,
            listener: None,
            failures: 0,
        })
    }
}

impl DeliveriesListener {
    /// Waits until the queue may hold new work: a notification arrived, or the listening
    /// connection was (re)established, since notifications sent while it was down are
    /// lost and the caller should look at the queue then. Reconnects by itself, backing
    /// off while the database is unreachable, so it never fails.
    pub async fn wait(&mut self) {
        loop {
            let Some(listener) = self.listener.as_mut() else {
                if self.failures > 0 {
                    tokio::time::sleep(backoff(self.failures)).await;
                }
                match self.connect().await {
                    Ok(listener) => {
                        if self.failures > 0 {
                            tracing::info!("listening for deliveries again");
                        }
                        self.listener = Some(listener);
                        self.failures = 0;
                        return;
                    }
                    Err(e) => {
                        self.failures += 1;
                        tracing::warn!(error = %e, "cannot listen for deliveries; retrying");
                        continue;
                    }
                }
            };
            match listener.try_recv().await {
                Ok(Some(_)) => {
                    // One wake-up covers every notification already received.
                    while listener.next_buffered().is_some() {}
                    return;
                }
                // `Ok(None)` is a lost connection, and an error most likely one too:
                // either way, start over on a fresh connection rather than trust the old.
                lost => {
                    let error = lost.err().map(|e| e.to_string()).unwrap_or_default();
                    tracing::warn!(%error, "the connection listening for deliveries was lost");
                    self.listener = None;
                    self.failures = self.failures.max(1);
                }
            }
        }
    }

    async fn connect(&self) -> sqlx::Result<PgListener> {
        // A pool of one connection without idle or lifetime limits: the listener only
        // uses it to hold, and replace, its connection.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_with((*self.target.0).clone())
            .await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }
}

fn backoff(failures: u32) -> Duration {
    (Duration::from_millis(100) * 2u32.pow(failures.saturating_sub(1).min(6))).min(MAX_BACKOFF)
}
