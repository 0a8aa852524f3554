//! The loopback ceiling: the same receiver hit directly by a plain keep-alive client
//! with a real delivery body, so missive's rate can be read as a share of what this
//! machine's loopback, HTTP stack and receiver allow at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use crate::receiver::Receiver;

const EVENT_ID: &str = "00000000-0000-4000-8000-000000000000";
const SIGNATURE: &str = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// Requests per second answered over `secs` seconds, `concurrency` requests in flight.
pub async fn measure(
    receiver: &Receiver,
    body: Bytes,
    concurrency: usize,
    secs: f64,
) -> anyhow::Result<f64> {
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .no_proxy()
        .user_agent("Misskey-Hooks")
        .timeout(Duration::from_secs(10))
        .build()?;
    let url = receiver.url("/ceiling");
    // Headers of the same size as missive's, so the request is the same on the wire.
    let hook_id = "a".repeat(16);
    let secret = "bench-secret";
    let host = "127.0.0.1:00000";
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (http, url, body, stop, counting, counted, hook_id) = (
            http.clone(),
            url.clone(),
            body.clone(),
            stop.clone(),
            counting.clone(),
            counted.clone(),
            hook_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let res = http
                    .post(&url)
                    .header("X-Misskey-Host", host)
                    .header("X-Misskey-Hook-Id", &hook_id)
                    .header("X-Misskey-Hook-Secret", secret)
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
                    && counting.load(Ordering::Relaxed)
                {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // A short warm-up opens the connections before the window starts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    counting.store(true, Ordering::Relaxed);
    let start = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let n = counted.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    Ok(n as f64 / elapsed)
}
