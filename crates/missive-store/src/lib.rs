//! missive-store: the storage layer, the only place where SQL lives.
//!
//! One `Store` type serves SQLite and PostgreSQL: reads through sqlx's `Any` driver,
//! writes through `Store::write` (on SQLite, group commit on a writer thread; see
//! `writer.rs`, and `conn.rs` for the hot writes on rusqlite). The SQL is portable except
//! where a `Dialect` says otherwise (row locking, notifications). Every action that causes webhook deliveries writes the action and its deliveries in
//! one transaction (ARCHITECTURE.md invariant 1), and its commit wakes the delivery workers (ARCHITECTURE.md invariant 4):
//! see `Outbox` and `Store::commit`.

mod codec;
mod conn;
mod deliveries;
mod delivery_log;
mod error;
mod follows;
mod handoff;
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
mod writer;

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use missive_core::health::HealthPolicy;
use sqlx::any::AnyArguments;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor};
use tokio::sync::Notify;

pub use deliveries::{ClaimSkip, ClaimedDelivery, DeliveryCounts, Finished, FinishedState, Target};
pub use delivery_log::{
    AttemptLog, DeliveryDetail, DeliveryFilter, DeliveryState, DeliverySummary, Pruned,
    RedeliverySet,
};
pub use error::StoreError;
pub use handoff::Intake;
pub use listener::DeliveriesListener;
pub use outbox::{NewDelivery, Outbox, Payload};
pub use reactions::{ReactionPage, ReactionWrite};
pub use users::{Credentials, NewUser};
pub use webhooks::{AdminWebhookFilter, NewWebhook, WebhookPatch};
pub use writer::GroupCommitStats;

use conn::{Conn, Stmt};
use writer::{Lane, WriteQueue};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A boxed future, as write transactions' bodies return (see `Store::write`).
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A statement with its arguments, as `Store::query` builds them.
pub(crate) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

/// Which SQL database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The database: a pool for reads, and the way to it for writes (`Store::write`).
#[derive(Debug, Clone)]
pub struct Store {
    read: AnyPool,
    write: Writer,
    dialect: Dialect,
    /// The statements this store and its clones have sent (`Store::statements_sent`).
    statements: Arc<AtomicU64>,
    /// Where `deliveries_listener` opens its own connection (PostgreSQL only).
    listen_to: Option<ListenTarget>,
    /// Notified after each commit that wrote deliveries through this store or a clone.
    deliveries_committed: Arc<Notify>,
    /// When the recorder switches failing webhooks off (`with_health_policy`).
    health: HealthPolicy,
    /// Bodies of payloads claimed lately (`deliveries::PayloadCache`).
    payloads: Arc<deliveries::PayloadCache>,
    /// This process's delivery workers, if they take new deliveries as they are written
    /// (`handoff.rs`, `Store::hand_off_to`).
    handoff: Arc<RwLock<Option<Arc<handoff::Handoff>>>>,
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

/// Where write transactions run.
#[derive(Debug, Clone)]
enum Writer {
    /// PostgreSQL: a transaction on a pooled connection, many at once.
    Pool(AnyPool),
    /// SQLite: the writer thread, which batches concurrent writes (`writer.rs`).
    Queue(WriteQueue),
}

/// A value for `Store::execute_write` to bind, owned so that the write can be queued.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

impl Arg {
    fn bind_to(self, query: Query<'_>) -> Query<'_> {
        match self {
            Arg::Text(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
        }
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(v.to_owned())
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(v)
    }
}

/// Set on every SQLite connection. WAL lets readers run beside the single writer; NORMAL
/// sync is durable across process crashes (only an OS crash may lose the last commits).
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY; \
     PRAGMA journal_size_limit = 67108864;";

impl Store {
    /// Connects to `sqlite://PATH` (the file is created if missing) or `postgres://…`,
    /// and applies the migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = check_database_url(url)?;
        let store = match dialect {
            Dialect::Sqlite => {
                let file = sqlite_path(url)?.0.to_owned();
                let url = sqlite_url(url)?;
                let read = sqlite_pool(&url, 4).await?;
                // The schema first, so that the writer opens a database that is ready.
                migrate_schema(&read).await?;
                Store {
                    read,
                    write: Writer::Queue(WriteQueue::start(url, file).await?),
                    dialect,
                    statements: Arc::default(),
                    listen_to: None,
                    deliveries_committed: Arc::default(),
                    health: HealthPolicy::default(),
                    payloads: Arc::default(),
                    handoff: Arc::default(),
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
                migrate_schema(&pool).await?;
                let listen_options = PgConnectOptions::from_str(url)
                    .map_err(StoreError::from)?
                    .log_statements(tracing::log::LevelFilter::Trace);
                Store {
                    read: pool.clone(),
                    write: Writer::Pool(pool),
                    dialect,
                    statements: Arc::default(),
                    listen_to: Some(ListenTarget(Arc::new(listen_options))),
                    deliveries_committed: Arc::default(),
                    health: HealthPolicy::default(),
                    payloads: Arc::default(),
                    handoff: Arc::default(),
                }
            }
        };
        store.fill_webhook_hosts().await?;
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
            let mut query = self.query(&sql);
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

    /// From now on, the deliveries that actions through this store (or a clone) create
    /// and that `intake` admits are leased to `lease_token` for `lease_ms` as they are
    /// written, and handed over on the returned queue once their transaction has
    /// committed (`handoff.rs`); the others are queued due at once, as before. The
    /// workers of this process call it once as they start; a second call replaces the
    /// first.
    pub fn hand_off_to(
        &self,
        lease_token: String,
        lease_ms: i64,
        intake: Arc<dyn Intake>,
    ) -> tokio::sync::mpsc::UnboundedReceiver<Vec<ClaimedDelivery>> {
        let (handoff, queue) = handoff::Handoff::new(lease_token, lease_ms, intake);
        *self.handoff.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handoff));
        queue
    }

    /// Stops the hand-off (the workers are shutting down): new deliveries are queued due
    /// at once. Writes that leased deliveries already still hand them over.
    pub fn stop_handing_off(&self) {
        *self.handoff.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub(crate) fn handoff(&self) -> Option<Arc<handoff::Handoff>> {
        self.handoff
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The in-process wake-up of the delivery workers: notified after every commit that
    /// wrote deliveries through this store (or a clone of it), so that they are sent at
    /// once. Commits through other nodes arrive through `deliveries_listener`.
    pub fn deliveries_committed(&self) -> &Notify {
        &self.deliveries_committed
    }

    /// Builds a statement, counting it (`statements_sent`). Every statement the store
    /// sends is built here.
    pub(crate) fn query<'q>(&self, sql: &'q str) -> Query<'q> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        sqlx::query(sql)
    }

    /// How many statements this store and its clones have sent, not counting the
    /// transaction control (`BEGIN`, savepoints, `COMMIT`) of `write`: what an API request
    /// costs the database, for the test that counts those of `notes/create`.
    pub fn statements_sent(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The writer's batching so far (SQLite; `None` on PostgreSQL, which runs concurrent
    /// transactions side by side instead).
    pub fn group_commit_stats(&self) -> Option<GroupCommitStats> {
        match &self.write {
            Writer::Queue(queue) => Some(queue.stats()),
            Writer::Pool(_) => None,
        }
    }

    /// Runs `work` in a write transaction and returns its result once committed. If
    /// `work` fails, none of its writes persist.
    ///
    /// On SQLite the work is queued to the writer thread and may share its transaction
    /// with other writes (group commit, in a savepoint of its own; see `writer.rs`): so
    /// it must use only the connection it is given, never the store's pools, and it runs
    /// after the transaction has taken the write lock. On PostgreSQL it runs in a
    /// transaction of its own.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.write_or_roll_back(move |conn| {
            Box::pin(async move { work(conn).await.map(|value| (value, true)) })
        })
        .await
    }

    /// `write`, for work that may decide to keep nothing: it returns its value and
    /// whether its writes are kept; if not, they are rolled back and the value returned.
    pub(crate) async fn write_or_roll_back<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<(T, bool)>>
            + Send
            + 'static,
    {
        match &self.write {
            Writer::Queue(queue) => queue.submit(work).await,
            Writer::Pool(pool) => {
                let mut tx = pool.begin().await?;
                let (value, kept) = work(&mut tx).await?;
                if kept {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(value)
            }
        }
    }

    /// `write_or_roll_back`, for the hot writes (`conn.rs`): on SQLite they run on the
    /// writer's own connection, in `lane` (`writer::run`), on PostgreSQL as any write.
    pub(crate) async fn write_hot<T, F>(&self, lane: Lane, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<(T, bool)>> + Send + 'static,
    {
        match &self.write {
            Writer::Queue(queue) => queue.submit_direct(lane, work).await,
            Writer::Pool(pool) => {
                let mut tx = pool.begin().await?;
                let (value, kept) = work(Conn::Sqlx(&mut tx)).await?;
                if kept {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(value)
            }
        }
    }

    /// Runs `stmt` on `conn`, counting it (`statements_sent`); returns the rows changed.
    pub(crate) async fn execute(&self, conn: &mut Conn<'_>, stmt: &Stmt) -> Result<u64> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        conn.execute(stmt).await
    }

    /// Runs `stmt` on `conn`, counting it (`statements_sent`); returns its rows.
    pub(crate) async fn fetch(&self, conn: &mut Conn<'_>, stmt: &Stmt) -> Result<Vec<conn::Row>> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        conn.fetch(stmt).await
    }

    /// Runs one statement in a write transaction (see `write`) and returns the rows it
    /// changed.
    pub(crate) async fn execute_write(
        &self,
        sql: impl Into<String>,
        args: Vec<Arg>,
    ) -> Result<u64> {
        let store = self.clone();
        let sql = sql.into();
        self.write(move |conn| {
            Box::pin(async move {
                let mut query = store.query(&sql);
                for arg in args {
                    query = arg.bind_to(query);
                }
                Ok(query.execute(&mut *conn).await?.rows_affected())
            })
        })
        .await
    }

    /// Applies pending migrations and fills in what they leave to the code. On
    /// PostgreSQL sqlx holds an advisory lock meanwhile, so several nodes starting at
    /// once migrate safely one after the other.
    pub async fn migrate(&self) -> Result<()> {
        migrate_schema(&self.read).await?;
        self.fill_webhook_hosts().await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        self.query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Writer::Pool(pool) = &self.write {
            pool.close().await;
        }
        self.read.close().await;
    }
}

/// Applies the migrations that `pool`'s database lacks. On SQLite the readers' pool does
/// it: its connections may write, and at start the writer is not running yet.
async fn migrate_schema(pool: &AnyPool) -> Result<()> {
    sqlx::migrate::Migrator::new(migrations::Embedded)
        .await?
        .run(pool)
        .await?;
    Ok(())
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
                conn.execute(SQLITE_PRAGMAS).await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}
