//! The loopback ceiling: the same receiver hit directly, with a real delivery body and
//! the same headers as missive's, so missive's rate can be read as a share of what this
//! machine's loopback, HTTP stack and receiver allow at all.
//!
//! One client shape can sit well below what the machine reaches (one `reqwest` client
//! with many requests in flight serialises on its pool), so several shapes are measured
//! one after the other and the highest is the ceiling: a ratio against a low ceiling
//! would flatter missive.
//!
//! The in-process shapes share the harness's runtime with the receiver, so a request and
//! its answer need no wake-up of another process. Missive's sends do: the `xproc` shape
//! runs its connections in a process of their own, on one thread, as missive's delivery
//! thread does, to show what that costs on this machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::receiver::Receiver;

const EVENT_ID: &str = "00000000-0000-4000-8000-000000000000";
const SIGNATURE: &str = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
/// Headers of the same size as missive's, so the request is the same on the wire.
const HOST: &str = "127.0.0.1:00000";
const HOOK_ID: &str = "aaaaaaaaaaaaaaaa";
const SECRET: &str = "bench-secret";

/// How the receiver is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One `reqwest` client shared by `in_flight` tasks (its pool opens as many
    /// connections as it needs): how missive's worker sends.
    SharedClient { in_flight: usize },
    /// `connections` tasks, each with its own `reqwest` client and so its own
    /// keep-alive connection, each sending one request after another.
    PooledConnections { connections: usize },
    /// `connections` bare hyper HTTP/1 connections, each sending one request after
    /// another: the least client work per request this harness can do.
    HyperConnections { connections: usize },
    /// The same from another process, all on one thread (`run_other_process_client`).
    OtherProcess { connections: usize },
}

impl Shape {
    /// The shape's name in the JSON: `ceiling_<key>_per_sec`.
    pub fn key(self) -> String {
        match self {
            Shape::SharedClient { in_flight } => format!("1x{in_flight}"),
            Shape::PooledConnections { connections } => format!("{connections}conn"),
            Shape::HyperConnections { connections } => format!("{connections}hyper"),
            Shape::OtherProcess { connections } => format!("{connections}xproc"),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Shape::SharedClient { in_flight } => {
                format!("one reqwest client, {in_flight} requests in flight")
            }
            Shape::PooledConnections { connections } => {
                format!("{connections} reqwest clients of one connection each")
            }
            Shape::HyperConnections { connections } => {
                format!("{connections} bare hyper connections")
            }
            Shape::OtherProcess { connections } => {
                format!("{connections} bare hyper connections from one thread of another process")
            }
        }
    }
}

/// One shared client for each count of requests in flight, then, for each count of
/// connections, that many pooled `reqwest` connections and that many bare hyper ones,
/// then the other-process shapes (by default 16, 64 and 128 in flight, 32 connections,
/// and 64 from another process).
pub fn shapes(
    shared_in_flight: &[usize],
    connections: &[usize],
    other_process: &[usize],
) -> Vec<Shape> {
    let shared = shared_in_flight
        .iter()
        .map(|&in_flight| Shape::SharedClient { in_flight });
    let pooled = connections
        .iter()
        .map(|&connections| Shape::PooledConnections { connections });
    let hyper = connections
        .iter()
        .map(|&connections| Shape::HyperConnections { connections });
    let other = other_process
        .iter()
        .filter(|&&connections| connections > 0)
        .map(|&connections| Shape::OtherProcess { connections });
    shared.chain(pooled).chain(hyper).chain(other).collect()
}

/// Counts answered requests while the window is open.
#[derive(Clone)]
struct Window {
    stop: Arc<AtomicBool>,
    counting: Arc<AtomicBool>,
    counted: Arc<AtomicU64>,
}

impl Window {
    fn new() -> Window {
        Window {
            stop: Arc::new(AtomicBool::new(false)),
            counting: Arc::new(AtomicBool::new(false)),
            counted: Arc::new(AtomicU64::new(0)),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn answered(&self) {
        if self.counting.load(Ordering::Relaxed) {
            self.counted.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Requests per second answered over `secs` seconds with the given shape.
pub async fn measure(
    receiver: &Receiver,
    body: Bytes,
    shape: Shape,
    secs: f64,
) -> anyhow::Result<f64> {
    let url = receiver.url("/ceiling");
    let window = Window::new();
    let mut tasks = Vec::new();
    match shape {
        Shape::SharedClient { in_flight } => {
            let http = reqwest_client()?;
            for _ in 0..in_flight.max(1) {
                tasks.push(tokio::spawn(reqwest_loop(
                    http.clone(),
                    url.clone(),
                    body.clone(),
                    window.clone(),
                )));
            }
        }
        Shape::PooledConnections { connections } => {
            for _ in 0..connections.max(1) {
                tasks.push(tokio::spawn(reqwest_loop(
                    reqwest_client()?,
                    url.clone(),
                    body.clone(),
                    window.clone(),
                )));
            }
        }
        Shape::HyperConnections { connections } => {
            tasks = hyper_connections(receiver.addr, connections, &body, &window).await?;
        }
        Shape::OtherProcess { connections } => {
            return other_process(receiver.addr, connections, &body, secs).await;
        }
    }
    count_answers(&window, tasks, secs).await
}

/// Opens `connections` bare hyper connections to `addr`, each sending `body` one request
/// after another until the window stops.
async fn hyper_connections(
    addr: SocketAddr,
    connections: usize,
    body: &Bytes,
    window: &Window,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        tasks.push(tokio::spawn(hyper_loop(
            sender,
            body.clone(),
            window.clone(),
        )));
    }
    Ok(tasks)
}

/// After a short warm-up (the connections open before the window starts), the answers
/// per second over `secs` seconds; then stops the tasks.
async fn count_answers(
    window: &Window,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    secs: f64,
) -> anyhow::Result<f64> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    window.counting.store(true, Ordering::Relaxed);
    let start = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let n = window.counted.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    window.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    Ok(n as f64 / elapsed)
}

/// Runs this harness again as the client of the `xproc` shape (`--ceiling-client`) and
/// reads the rate it prints.
async fn other_process(
    addr: SocketAddr,
    connections: usize,
    body: &Bytes,
    secs: f64,
) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let body_path = dir.path().join("body.json");
    std::fs::write(&body_path, body)?;
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .arg("--ceiling-client")
        .arg(addr.to_string())
        .arg("--ceiling-client-connections")
        .arg(connections.to_string())
        .arg("--ceiling-client-body")
        .arg(&body_path)
        .arg("--ceiling-secs")
        .arg(secs.to_string())
        .kill_on_drop(true)
        .output()
        .await?;
    anyhow::ensure!(
        output.status.success(),
        "the other-process ceiling client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    printed
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("the ceiling client printed {printed:?}: {e}"))
}

/// The client of the `xproc` shape, in its own process: `connections` bare hyper
/// connections to `addr` on one thread, for `secs` seconds; returns the answers per second.
pub fn run_other_process_client(
    addr: SocketAddr,
    connections: usize,
    body: Bytes,
    secs: f64,
) -> anyhow::Result<f64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let window = Window::new();
        let tasks = hyper_connections(addr, connections, &body, &window).await?;
        count_answers(&window, tasks, secs).await
    })
}

fn reqwest_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .user_agent("Misskey-Hooks")
        .timeout(Duration::from_secs(10))
        .build()?)
}

async fn reqwest_loop(http: reqwest::Client, url: String, body: Bytes, window: Window) {
    while !window.stopped() {
        let res = http
            .post(&url)
            .header("X-Misskey-Host", HOST)
            .header("X-Misskey-Hook-Id", HOOK_ID)
            .header("X-Misskey-Hook-Secret", SECRET)
            .header("Content-Type", "application/json")
            // The Standard Webhooks signature headers missive adds when a secret is set.
            .header("webhook-id", EVENT_ID)
            .header("webhook-timestamp", "1700000000")
            .header("webhook-signature", SIGNATURE)
            .body(body.clone())
            .send()
            .await;
        if let Ok(res) = res
            && res.bytes().await.is_ok()
        {
            window.answered();
        }
    }
}

async fn hyper_loop(
    mut sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    body: Bytes,
    window: Window,
) {
    while !window.stopped() {
        if sender.ready().await.is_err() {
            return;
        }
        // reqwest sends these too (`user-agent` from the builder, `accept`, `host`).
        let request = hyper::Request::post("/ceiling")
            .header("host", HOST)
            .header("user-agent", "Misskey-Hooks")
            .header("accept", "*/*")
            .header("X-Misskey-Host", HOST)
            .header("X-Misskey-Hook-Id", HOOK_ID)
            .header("X-Misskey-Hook-Secret", SECRET)
            .header("Content-Type", "application/json")
            .header("webhook-id", EVENT_ID)
            .header("webhook-timestamp", "1700000000")
            .header("webhook-signature", SIGNATURE)
            .header("content-length", body.len())
            .body(Full::new(body.clone()));
        let Ok(request) = request else { return };
        match sender.send_request(request).await {
            Ok(res) => {
                if res.into_body().collect().await.is_ok() {
                    window.answered();
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_is_measured_and_none_of_zero_connections_from_another_process() {
        let keys: Vec<String> = shapes(&[16, 64], &[32], &[0, 64])
            .into_iter()
            .map(Shape::key)
            .collect();
        assert_eq!(keys, ["1x16", "1x64", "32conn", "32hyper", "64xproc"]);
    }

    /// The other-process client on its own: one thread, bare connections, counting only
    /// answered requests.
    #[test]
    fn the_other_process_client_counts_answers() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let receiver = runtime.block_on(Receiver::start()).unwrap();
        let rate =
            run_other_process_client(receiver.addr, 4, Bytes::from_static(b"{}"), 0.3).unwrap();
        assert!(rate > 0.0, "nothing was answered");
    }
}
