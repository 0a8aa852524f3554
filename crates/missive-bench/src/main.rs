//! `missive-bench`: throughput and latency of missive, measured end to end.
//!
//! It starts the release `missive` binary as a child process on a fresh database, a
//! receiver on loopback, creates users and webhooks through the real API, drives
//! events (`notes/create`, `following/create`) and reports what the receiver saw:
//! deliveries per second, latency from the client's sending of each note to the
//! delivery's receipt, drain time, missive's peak RSS over its whole life, and the
//! loopback ceiling (the best of several client shapes) measured in the same run.
//! See BENCHMARKS.md at the root of the repository for the figures and commands.

mod api;
mod ceiling;
mod receiver;
mod scenarios;
mod server;
mod stats;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use serde_json::{Map, Value, json};

use crate::scenarios::{Bench, NotePosting, Outcome, Overrides};
use crate::server::{Database, Launcher};

/// Benchmark missive: throughput, latency, drain and memory, against the loopback ceiling.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Which scenario to run.
    #[arg(long, value_enum, default_value = "all")]
    scenario: Scenario,
    /// Small sizes, for a smoke run in well under a minute per scenario.
    #[arg(long)]
    quick: bool,
    /// Also write the figures as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Run missive on PostgreSQL: a scratch database is created on this server for each
    /// scenario and dropped afterwards (default: a new SQLite file).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The missive binary (default: the workspace's target/release/missive, built first).
    #[arg(long, value_name = "PATH")]
    missive_bin: Option<PathBuf>,
    /// Do not run `cargo build --release -p missive` before starting.
    #[arg(long)]
    no_build: bool,
    /// Users (overrides the scenario's size).
    #[arg(long)]
    users: Option<usize>,
    /// Webhooks per user.
    #[arg(long)]
    webhooks: Option<usize>,
    /// Notes to post (fanout, many-users, backlog).
    #[arg(long)]
    notes: Option<usize>,
    /// Follows to make (many-users).
    #[arg(long)]
    follows: Option<usize>,
    /// Concurrent API clients (signin-flood: concurrent sign-ins).
    #[arg(long)]
    clients: Option<usize>,
    /// Events per second (hang, paced; other scenarios send as fast as possible unless set).
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of paced load (hang: per phase).
    #[arg(long)]
    duration: Option<f64>,
    /// Webhooks pointing at the hanging receiver (hang).
    #[arg(long)]
    hang_webhooks: Option<usize>,
    /// Seconds each shape of the ceiling client is measured for (default 2, quick 1).
    #[arg(long)]
    ceiling_secs: Option<f64>,
    /// Requests in flight for each one-client shape of the ceiling (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [16, 64, 128])]
    ceiling_concurrency: Vec<usize>,
    /// Connections for the many-connection shapes of the ceiling, each sending one
    /// request after another: reqwest clients of one connection, and bare hyper ones.
    #[arg(long, value_delimiter = ',', default_values_t = [32])]
    ceiling_connections: Vec<usize>,
    /// Connections for the other-process shapes of the ceiling: bare hyper connections
    /// on one thread of another process, as missive sends (comma-separated; 0 for none).
    #[arg(long, value_delimiter = ',', default_values_t = [64])]
    ceiling_other_process: Vec<usize>,
    /// Internal: be the client of an other-process ceiling shape, sending to this
    /// address, and print the answers per second.
    #[arg(long, hide = true, value_name = "ADDR")]
    ceiling_client: Option<std::net::SocketAddr>,
    /// Internal: the other-process client's connections.
    #[arg(long, hide = true, default_value_t = 64)]
    ceiling_client_connections: usize,
    /// Internal: the file holding the other-process client's request body.
    #[arg(long, hide = true, value_name = "PATH")]
    ceiling_client_body: Option<PathBuf>,
    /// Seconds without a new delivery before a scenario is given up as stalled.
    #[arg(long, default_value_t = 60)]
    stall_secs: u64,
    /// An extra setting for missive, KEY=VALUE (repeatable), e.g. MISSIVE_DELIVERY_CONCURRENCY=128.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Fanout,
    FanoutConcurrent,
    ManyUsers,
    Backlog,
    Hang,
    Paced,
    #[value(name = "paced-2000")]
    Paced2000,
    SigninFlood,
    All,
}

/// The wall clock in Unix epoch microseconds (the receiver's and missive's clock).
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(addr) = cli.ceiling_client {
        let body = match &cli.ceiling_client_body {
            Some(path) => std::fs::read(path)?,
            None => Vec::new(),
        };
        let rate = ceiling::run_other_process_client(
            addr,
            cli.ceiling_client_connections,
            body.into(),
            cli.ceiling_secs.unwrap_or(2.0),
        )?;
        println!("{rate}");
        return Ok(());
    }
    let bin = match &cli.missive_bin {
        Some(bin) => bin.clone(),
        None => {
            if !cli.no_build {
                server::build_release()?;
            }
            server::default_binary()
        }
    };
    anyhow::ensure!(
        bin.exists(),
        "no missive binary at {} (cargo build --release -p missive)",
        bin.display()
    );
    let env = cli
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--env wants KEY=VALUE, got {kv:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let database = match &cli.database_url {
        Some(url) => Database::Postgres {
            admin_url: url.clone(),
        },
        None => Database::Sqlite,
    };
    let bench = Bench {
        launcher: Launcher {
            bin: bin.clone(),
            database,
            env,
        },
        quick: cli.quick,
        overrides: Overrides {
            users: cli.users,
            webhooks: cli.webhooks,
            notes: cli.notes,
            follows: cli.follows,
            clients: cli.clients,
            rate: cli.rate,
            duration: cli.duration,
            hang_webhooks: cli.hang_webhooks,
        },
        ceiling_secs: cli
            .ceiling_secs
            .unwrap_or(if cli.quick { 1.0 } else { 2.0 }),
        ceiling_shapes: ceiling::shapes(
            &cli.ceiling_concurrency,
            &cli.ceiling_connections,
            &cli.ceiling_other_process,
        ),
        stall: Duration::from_secs(cli.stall_secs),
    };
    // Two workers: the harness shares the machine with missive and keeps its share small.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcomes = runtime.block_on(run(&bench, cli.scenario))?;
    print_table(&outcomes);
    if let Some(path) = &cli.json {
        let doc = json!({
            "machine": machine(),
            "database": if cli.database_url.is_some() { "postgres" } else { "sqlite" },
            "quick": cli.quick,
            "missive_bin": bin.display().to_string(),
            "scenarios": outcomes.iter().map(|o| {
                let mut figures = o.figures.clone();
                figures.insert("targets".into(), o.targets.iter().map(|t| json!({ "what": t.what, "met": t.met })).collect());
                (o.name.to_owned(), Value::Object(figures))
            }).collect::<Map<String, Value>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
        eprintln!("missive-bench: wrote {}", path.display());
    }
    Ok(())
}

async fn run(bench: &Bench, which: Scenario) -> anyhow::Result<Vec<Outcome>> {
    let all = [
        Scenario::Fanout,
        Scenario::FanoutConcurrent,
        Scenario::ManyUsers,
        Scenario::Backlog,
        Scenario::Hang,
        Scenario::Paced,
        Scenario::Paced2000,
        Scenario::SigninFlood,
    ];
    let mut outcomes = Vec::new();
    for scenario in all
        .into_iter()
        .filter(|s| which == Scenario::All || which == *s)
    {
        let outcome = match scenario {
            Scenario::Fanout => scenarios::fanout(bench, NotePosting::OneAtATime).await?,
            Scenario::FanoutConcurrent => scenarios::fanout(bench, NotePosting::Concurrent).await?,
            Scenario::ManyUsers => scenarios::many_users(bench).await?,
            Scenario::Backlog => scenarios::backlog(bench).await?,
            Scenario::Hang => scenarios::hang(bench).await?,
            Scenario::Paced => scenarios::paced(bench, false).await?,
            Scenario::Paced2000 => scenarios::paced(bench, true).await?,
            Scenario::SigninFlood => scenarios::signin_flood(bench).await?,
            Scenario::All => unreachable!("expanded above"),
        };
        print_outcome(&outcome);
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    });
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
    })
}

fn num(figures: &Map<String, Value>, key: &str) -> String {
    match figures.get(key) {
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(0.0);
            if key == "ratio" {
                format!("{x:.3}")
            } else if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        }
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

/// One scenario's detail as soon as it finishes.
fn print_outcome(o: &Outcome) {
    println!("== {} ==", o.name);
    for (k, v) in &o.figures {
        if let Value::Object(inner) = v {
            let parts: Vec<String> = inner.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("  {k:<24} {}", parts.join(" "));
        } else {
            println!("  {k:<24} {v}");
        }
    }
    for t in &o.targets {
        println!(
            "  target: {} — {}",
            t.what,
            if t.met { "MET" } else { "NOT MET" }
        );
    }
    println!();
}

/// The summary table: one row per scenario.
fn print_table(outcomes: &[Outcome]) {
    let columns = [
        ("scenario", ""),
        ("deliveries", "deliveries"),
        ("deliv/s", "deliveries_per_sec"),
        ("ceiling/s", "ceiling_per_sec"),
        ("ratio", "ratio"),
        ("p50 ms", "p50_ms"),
        ("p90 ms", "p90_ms"),
        ("p99 ms", "p99_ms"),
        ("max ms", "max_ms"),
        ("api req/s", "api_requests_per_sec"),
        ("notes/s", "notes_per_sec"),
        ("drain ms", "drain_ms"),
        ("RSS MB", "peak_rss_mb"),
    ];
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            columns
                .iter()
                .map(|(_, key)| {
                    if key.is_empty() {
                        o.name.to_owned()
                    } else {
                        num(&o.figures, key)
                    }
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (title, _))| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([title.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(columns.iter().map(|(t, _)| (*t).to_owned()).collect());
    println!(
        "|{}|",
        widths
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 {
                format!(":{}", "-".repeat(w + 1))
            } else {
                format!("{}:", "-".repeat(w + 1))
            })
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        line(row);
    }
    println!();
    for o in outcomes {
        for t in &o.targets {
            println!(
                "{:<10} {} — {}",
                o.name,
                t.what,
                if t.met { "MET" } else { "NOT MET" }
            );
        }
    }
}
