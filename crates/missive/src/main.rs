//! The `missive` command: parse the command line, load the configuration, set up
//! logging and run the chosen subcommand. Nothing else happens here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use missive::app::App;
use missive::config::Config;
use tokio_util::sync::CancellationToken;

/// glibc's allocator kept the 19 MiB Argon2 buffers of concurrent sign-ups in its
/// per-thread arenas (about 1 GB resident after a hundred sign-ups) and spent a sixth
/// of the delivery path's CPU time; jemalloc gives such memory back and allocates
/// faster. (mimalloc frees lazily: its freed pages stayed counted as resident.)
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// missive: a Misskey-compatible server for user webhooks.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// A TOML file with settings (environment variables MISSIVE_* override it).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API, the web pages and the delivery workers.
    Serve,
    /// Create or update the database schema, then exit.
    Migrate,
    /// Check the configuration and print what it resolves to.
    CheckConfig,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "missive=info,warn".into()),
        )
        .init();
    let config = Config::load(cli.config.as_deref(), |name| std::env::var(name).ok())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve(config).await,
            Command::Migrate => {
                let store = missive_store::Store::connect(&config.database_url).await?;
                store.close().await;
                println!(
                    "the database at {} is up to date",
                    missive_core::redact::url_for_logs(&config.database_url)
                );
                Ok(())
            }
            Command::CheckConfig => {
                println!("{config:#?}");
                Ok(())
            }
        }
    })
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        on_signal.cancel();
    });
    app.run(shutdown).await
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
