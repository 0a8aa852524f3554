//! The webhook receivers on loopback.
//!
//! `Receiver` answers 200 at once and records, for each request, the receipt time, the
//! client's send time carried in the note's text (see `api::SENT_MARK`), the envelope's
//! `createdAt` and a hash of its `eventId` (so that retries of one delivery count once). It can be held "down": requests are accepted but not answered until it
//! is opened, which is how the backlog scenario queues deliveries without missive
//! giving up on them. `HangingReceiver` accepts connections and never answers.
//!
//! The handler avoids parsing JSON: the envelope's keys come first and in a fixed order,
//! so finding `"eventId":"`, `"createdAt":` and the note's `"text":"t` by a byte search
//! is enough and keeps the harness's share of the two cores small.

use std::collections::HashSet;
use std::convert::Infallible;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::now_us;

/// One delivery as the receiver saw it.
#[derive(Debug, Clone, Copy)]
pub struct Record {
    /// When the receiver answered it, Unix epoch microseconds.
    pub received_us: i64,
    /// The envelope's `createdAt`, Unix epoch milliseconds.
    pub created_ms: i64,
    /// When the API client sent the call that caused it, Unix epoch microseconds, read
    /// from the note's text; `None` for deliveries without a note (follows).
    pub sent_us: Option<i64>,
    /// A hash of the `eventId`.
    pub event: u64,
}

#[derive(Default)]
struct Log {
    records: Vec<Record>,
    seen: HashSet<u64>,
}

struct State {
    open: watch::Sender<bool>,
    log: Mutex<Log>,
    /// Distinct event ids received.
    unique: AtomicU64,
    /// Requests answered, retries included.
    total: AtomicU64,
    body_bytes: AtomicU64,
    /// The first delivery body, to size the ceiling client's payload.
    sample: Mutex<Option<Bytes>>,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            open: watch::channel(true).0,
            log: Mutex::new(Log::default()),
            unique: AtomicU64::new(0),
            total: AtomicU64::new(0),
            body_bytes: AtomicU64::new(0),
            sample: Mutex::new(None),
        });
        let accept_state = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = accept_state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Receiver { addr, state })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Holds every request unanswered (and unrecorded) until `open`.
    pub fn hold(&self) {
        self.state.open.send_replace(false);
    }

    pub fn open(&self) {
        self.state.open.send_replace(true);
    }

    pub fn unique(&self) -> u64 {
        self.state.unique.load(Ordering::Relaxed)
    }

    /// The mean size of the delivery bodies received so far.
    pub fn mean_body_len(&self) -> usize {
        let total = self.state.total.load(Ordering::Relaxed).max(1);
        (self.state.body_bytes.load(Ordering::Relaxed) / total) as usize
    }

    pub fn sample_body(&self) -> Option<Bytes> {
        self.state
            .sample
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes the records so far and forgets them (the next phase starts empty).
    pub fn take(&self) -> Vec<Record> {
        let mut log = self.state.log.lock().unwrap_or_else(|e| e.into_inner());
        self.state.unique.store(0, Ordering::Relaxed);
        self.state.total.store(0, Ordering::Relaxed);
        self.state.body_bytes.store(0, Ordering::Relaxed);
        log.seen.clear();
        std::mem::take(&mut log.records)
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Empty<Bytes>>, Infallible> {
    let ceiling = req.uri().path() == "/ceiling";
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut open = state.open.subscribe();
    if !*open.borrow() {
        let _ = open.wait_for(|o| *o).await;
    }
    let received_us = now_us();
    let parsed = parse(&body);
    if ceiling {
        // The same parsing as a delivery, so both paths cost the receiver the same.
        std::hint::black_box(parsed);
    } else {
        state.total.fetch_add(1, Ordering::Relaxed);
        state
            .body_bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let mut log = state.log.lock().unwrap_or_else(|e| e.into_inner());
        if log.seen.insert(parsed.event) {
            state.unique.fetch_add(1, Ordering::Relaxed);
        }
        log.records.push(Record {
            received_us,
            created_ms: parsed.created_ms,
            sent_us: parsed.sent_us,
            event: parsed.event,
        });
        drop(log);
        let mut sample = state.sample.lock().unwrap_or_else(|e| e.into_inner());
        if sample.is_none() {
            *sample = Some(body);
        }
    }
    Ok(Response::new(Empty::new()))
}

/// What the receiver reads from a delivery body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parsed {
    /// The hash of the `eventId` (zero if absent).
    event: u64,
    /// The `createdAt` (zero if absent).
    created_ms: i64,
    /// The send time in the note's text, if the text starts with the mark.
    sent_us: Option<i64>,
}

fn parse(body: &[u8]) -> Parsed {
    let event = find(body, b"\"eventId\":\"").map_or(0, |start| {
        let rest = &body[start..];
        let end = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
        let mut h = DefaultHasher::new();
        rest[..end].hash(&mut h);
        h.finish()
    });
    let created = find(body, b"\"createdAt\":").map_or(0, |start| {
        body[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0i64, |n, &b| n * 10 + i64::from(b - b'0'))
    });
    // The envelope's own keys hold no `"text"`: the first one is the note's.
    let sent_us = find(body, b"\"text\":\"").and_then(|start| {
        let digits = body[start..].strip_prefix(crate::api::SENT_MARK.as_bytes())?;
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
    });
    Parsed {
        event,
        created_ms: created,
        sent_us,
    }
}

/// The index just past the first occurrence of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + needle.len())
}

/// A receiver that accepts connections, reads what is sent and never answers, as a
/// receiver that hangs does; missive's request timeout ends each attempt.
pub struct HangingReceiver {
    pub addr: SocketAddr,
    accepted: Arc<AtomicU64>,
}

impl HangingReceiver {
    pub async fn start() -> anyhow::Result<HangingReceiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                counter.fetch_add(1, Ordering::Relaxed);
                // Read and discard until the client gives up and closes.
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                });
            }
        });
        Ok(HangingReceiver { addr, accepted })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_envelope_keys() {
        let body = br#"{"server":"http://x","hookId":"h","userId":"u","eventId":"e-1","createdAt":1757332800123,"type":"note","body":{"note":{"id":"n","text":"t1757332800122456 bench note 7","user":{"name":"bench0"}}}}"#;
        let parsed = parse(body);
        assert_eq!(parsed.created_ms, 1_757_332_800_123);
        assert_eq!(parsed.sent_us, Some(1_757_332_800_122_456));
        let mut h = DefaultHasher::new();
        b"e-1".as_slice().hash(&mut h);
        assert_eq!(parsed.event, h.finish());
        let none = Parsed {
            event: 0,
            created_ms: 0,
            sent_us: None,
        };
        assert_eq!(parse(b"{}"), none);
    }

    #[test]
    fn a_text_without_the_mark_has_no_send_time() {
        let body = br#"{"eventId":"e","createdAt":1,"body":{"note":{"text":"hello 123"}}}"#;
        assert_eq!(parse(body).sent_us, None);
        let body = br#"{"eventId":"e","createdAt":1,"body":{"note":{"text":"t"}}}"#;
        assert_eq!(parse(body).sent_us, None);
    }
}
