//! missive-store: the storage layer, the only place where SQL lives.
//!
//! One `Store` type serves SQLite and PostgreSQL through sqlx's `Any` driver. The SQL is
//! portable except where a `Dialect` says otherwise (row locking, notifications).
//! Every action that causes webhook deliveries writes the action and its deliveries in
//! one transaction (ARCHITECTURE.md invariant 1), and its commit wakes the delivery workers (ARCHITECTURE.md invariant 4):
//! see `Outbox` and `Store::commit`.

mod codec;
mod deliveries;
mod delivery_log;
mod error;
mod follows;
mod health;
mod listener;
mod migrations;
mod notes;
mod outbox;
mod reactions;
/// Scratch databases and fault injection for tests and the benchmark; not part of the
/// server, so only the `testing` feature builds it.
#[cfg(feature = "testing")]
pub mod testing;
mod users;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use missive_core::health::HealthPolicy;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Executor};
use tokio::sync::Notify;

pub use deliveries::{ClaimSkip, ClaimedDelivery, DeliveryCounts, Finished, FinishedState, Target};
pub use delivery_log::{
    AttemptLog, DeliveryDetail, DeliveryFilter, DeliveryState, DeliverySummary, Pruned,
    RedeliverySet,
};
pub use error::StoreError;
pub use listener::DeliveriesListener;
pub use outbox::{NewDelivery, Outbox, Payload};
pub use reactions::{ReactionPage, ReactionWrite};
pub use users::{Credentials, NewUser};
pub use webhooks::{AdminWebhookFilter, NewWebhook, WebhookPatch};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which SQL database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The database, with a pool for reads and a pool for writes.
///
/// SQLite allows one writer at a time, so its write pool has a single connection and
/// transactions never fight over the write lock; PostgreSQL uses one pool for both.
#[derive(Debug, Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    /// Where `deliveries_listener` opens its own connection (PostgreSQL only).
    listen_to: Option<ListenTarget>,
    /// Notified after each commit that wrote deliveries through this store or a clone.
    deliveries_committed: Arc<Notify>,
    /// When the recorder switches failing webhooks off (`with_health_policy`).
    health: HealthPolicy,
}

/// PostgreSQL connection options, kept for the listening connection. Its `Debug` shows
/// nothing, so that the password never reaches a log through `Store`'s `Debug`.
#[derive(Clone)]
pub(crate) struct ListenTarget(Arc<PgConnectOptions>);

impl std::fmt::Debug for ListenTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenTarget(..)")
    }
}

impl Store {
    /// Connects to `sqlite://PATH` (the file is created if missing) or `postgres://…`,
    /// and applies the migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = check_database_url(url)?;
        let store = match dialect {
            Dialect::Sqlite => {
                let url = sqlite_url(url)?;
                let read = sqlite_pool(&url, 4).await?;
                let write = sqlite_pool(&url, 1).await?;
                Store {
                    read,
                    write,
                    dialect,
                    listen_to: None,
                    deliveries_committed: Arc::default(),
                    health: HealthPolicy::default(),
                }
            }
            Dialect::Postgres => {
                let options = AnyConnectOptions::from_str(url)
                    .map_err(StoreError::from)?
                    .log_statements(tracing::log::LevelFilter::Trace)
                    .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(2));
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await?;
                let listen_options = PgConnectOptions::from_str(url)
                    .map_err(StoreError::from)?
                    .log_statements(tracing::log::LevelFilter::Trace);
                Store {
                    read: pool.clone(),
                    write: pool,
                    dialect,
                    listen_to: Some(ListenTarget(Arc::new(listen_options))),
                    deliveries_committed: Arc::default(),
                    health: HealthPolicy::default(),
                }
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Reads `{select} ({placeholders})` with `values` bound to the placeholders, one row
    /// decoded by `decode` each: the `WHERE … IN (…)` lookups of several ids at once, in
    /// as many statements as the parameter limits need.
    pub(crate) async fn read_in<T>(
        &self,
        select: &str,
        values: &[String],
        decode: fn(&sqlx::any::AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for chunk in values.chunks(codec::IDS_PER_STATEMENT) {
            let sql = format!("{select} ({})", codec::placeholders(1, chunk.len()));
            let mut query = sqlx::query(&sql);
            for value in chunk {
                query = query.bind(value);
            }
            for row in query.fetch_all(&self.read).await? {
                out.push(decode(&row)?);
            }
        }
        Ok(out)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The in-process wake-up of the delivery workers: notified after every commit that
    /// wrote deliveries through this store (or a clone of it), so that they are sent at
    /// once. Commits through other nodes arrive through `deliveries_listener`.
    pub fn deliveries_committed(&self) -> &Notify {
        &self.deliveries_committed
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a transaction that reads before it writes (the webhook limit
    /// check) then waits for another writer through `busy_timeout`, instead of failing
    /// when its read snapshot has gone stale, should a second handle write the same file.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.write.begin().await?,
        })
    }

    /// Applies pending migrations. On PostgreSQL sqlx holds an advisory lock meanwhile,
    /// so several nodes starting at once migrate safely one after the other.
    pub async fn migrate(&self) -> Result<()> {
        sqlx::migrate::Migrator::new(migrations::Embedded)
            .await?
            .run(&self.write)
            .await?;
        self.fill_webhook_hosts().await?;
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// Checks a database URL without connecting: which database it names, and whether
/// `connect` could use it. `missive check-config` and `serve` share this check.
pub fn check_database_url(url: &str) -> Result<Dialect> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        // Parsing the options is pure; the message leaves the URL (and its password) out.
        PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("not a valid PostgreSQL URL: {e}")))?;
        Ok(Dialect::Postgres)
    } else if url.starts_with("sqlite:") {
        sqlite_path(url)?;
        Ok(Dialect::Sqlite)
    } else {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        Err(StoreError::Config(format!(
            "unsupported database {scheme:?}: want sqlite://PATH or postgres://…"
        )))
    }
}

/// The file path and query of an `sqlite:` URL; an in-memory database is refused.
fn sqlite_path(url: &str) -> Result<(&str, &str)> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return Err(StoreError::Config(
            "an in-memory SQLite database cannot be shared by the pools; give a file path".into(),
        ));
    }
    Ok((path, query))
}

/// Adds `mode=rwc` so that the database file is created on first start, and creates
/// its directory.
fn sqlite_url(url: &str) -> Result<String> {
    let (path, query) = sqlite_path(url)?;
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

async fn sqlite_pool(url: &str, max: u32) -> Result<AnyPool> {
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        // A connection to a local file does not go stale; pinging it on every acquire
        // cost a round trip to its thread before each query and transaction.
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers run beside the single writer; NORMAL sync is durable
                // across process crashes (only an OS crash may lose the last commits).
                conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF;")
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}
