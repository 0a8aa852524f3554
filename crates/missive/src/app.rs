//! Wiring: the store, the shared context, the HTTP server and the delivery workers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use missive_core::redact::url_for_logs;
use missive_store::{Dialect, Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ctx::{Ctx, TestSend, now_ms};
use crate::worker::client::DeliveryClient;
use crate::{api, health, identicon, ui, worker};

/// Connects to the database, waiting for it while it is unreachable (a node may start
/// during a database outage); any other failure is final.
async fn connect(url: &str) -> anyhow::Result<Store> {
    let mut delay = Duration::from_millis(250);
    loop {
        match Store::connect(url).await {
            Ok(store) => return Ok(store),
            Err(StoreError::Unavailable(cause)) => {
                tracing::warn!(%cause, retry_in = ?delay, "the database is unreachable");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot open the database {}", url_for_logs(url)));
            }
        }
    }
}

/// A built server, bound to its address, not yet serving.
pub struct App {
    ctx: Arc<Ctx>,
    listener: TcpListener,
    /// The workers' outbound client, and the test sends the API queues for them.
    client: DeliveryClient,
    test_sends: mpsc::UnboundedReceiver<TestSend>,
}

impl App {
    /// Connects to the database (migrating it), builds the client and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let store = connect(&config.database_url)
            .await?
            .with_health_policy(config.health);
        if store.dialect() == Dialect::Sqlite {
            // An SQLite file belongs to one process: leases left by a crashed run are dead.
            let released = store.release_all_leases(now_ms()).await?;
            if released > 0 {
                tracing::info!(
                    released,
                    "resuming deliveries that were in flight when the last run stopped"
                );
            }
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let config = config.bound_to(listener.local_addr()?);
        let client = DeliveryClient::new(
            config.network_policy.clone(),
            config.delivery_timeout,
            config.origin.host.clone(),
        )?;
        let (test_sends_tx, test_sends_rx) = mpsc::unbounded_channel();
        Ok(App {
            ctx: Arc::new(Ctx::new(store, config, test_sends_tx)?),
            listener,
            client,
            test_sends: test_sends_rx,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The database, as the handlers and the workers use it.
    pub fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// Every HTTP route: the API, health and metrics, the pages and the avatars.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(api::router(self.ctx.clone()))
            .merge(health::router(self.ctx.clone()))
            .merge(ui::router())
            .merge(identicon::router())
    }

    /// Serves requests and delivers webhooks until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let router = self.router();
        let App {
            ctx,
            listener,
            client,
            test_sends,
        } = self;
        let workers = worker::run(ctx.clone(), client, test_sends, shutdown.clone());
        let workers = match ctx.store.dialect() {
            Dialect::Sqlite => spawn_delivery_thread(workers)?,
            Dialect::Postgres => spawn_here(workers),
        };
        tracing::info!(addr = %listener.local_addr()?, url = %ctx.config.origin.url, "missive is listening");
        let serve_shutdown = shutdown.clone();
        // The peer address is what rate limits count by (or the proxy that forwarded it).
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async move { serve_shutdown.cancelled().await })
            .await?;
        workers
            .await
            .map_err(|_| anyhow::anyhow!("the delivery workers panicked"))?;
        ctx.store.close().await;
        Ok(())
    }
}

/// Runs the delivery workers on a thread of their own, with a single-threaded runtime
/// (SQLite).
///
/// On the API's multi-threaded runtime a delivery's steps (the claim's answer, the
/// request, the response, the outcome) woke whichever worker thread was idle, and the
/// thread switches cost more than the rest of the delivery path (fan-out profile,
/// BENCHMARKS.md): one thread that owns every delivery and its connections used a
/// quarter less CPU per delivery. The API keeps its threads, so a burst of sends does
/// not slow the requests. On SQLite the store is reached through channels (the writer
/// thread, sqlx's reader threads), so nothing the workers wait for depends on the API's
/// runtime. On PostgreSQL it would: the pooled connections' sockets are driven by the
/// runtime that opened them, mostly the API's, and a worker on another runtime waited
/// for that one to notice their answers (paced p99 doubled), so there the workers stay
/// on the API's runtime (`spawn_here`). Resolves when the workers have stopped.
fn spawn_delivery_thread(
    workers: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::sync::oneshot::Receiver<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (done, stopped) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("missive-delivery".into())
        .spawn(move || {
            runtime.block_on(workers);
            let _ = done.send(());
        })?;
    Ok(stopped)
}

/// Runs the delivery workers on the current runtime (PostgreSQL: see
/// `spawn_delivery_thread`). Resolves when the workers have stopped.
fn spawn_here(
    workers: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::sync::oneshot::Receiver<()> {
    let (done, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        workers.await;
        let _ = done.send(());
    });
    stopped
}
