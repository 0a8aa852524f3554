//! `TestReceiver`: a webhook receiver on loopback that records every request and answers
//! as the test scripts it. The in-process tests, the crash test and the cluster tests all
//! use it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

/// What a receiver answers next.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Never answer (until the client gives up).
    Hang,
    /// Answer with this status after this many milliseconds.
    Delay(u16, u64),
    /// Answer with this status and this `Retry-After` header.
    RetryAfter(u16, &'static str),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: String,
    pub at: Instant,
}

impl Received {
    /// The envelope's `eventId` ("" if absent).
    pub fn event_id(&self) -> &str {
        self.body["eventId"].as_str().unwrap_or_default()
    }

    /// The id of the note in the body ("" for a user event).
    pub fn note_id(&self) -> &str {
        self.body["body"]["note"]["id"].as_str().unwrap_or_default()
    }

    /// The sending server's origin, the envelope's `server` (each node of a cluster test
    /// keeps its own).
    pub fn server(&self) -> &str {
        self.body["server"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Answer>>,
    default: Mutex<Option<Answer>>,
    /// Answers for the paths starting with a prefix, before `default`.
    by_prefix: Mutex<Vec<(String, Answer)>>,
    /// Requests not answered yet: eventId → sending server.
    open: Mutex<BTreeMap<String, String>>,
}

/// A webhook receiver on loopback that records every request.
#[derive(Clone)]
pub struct TestReceiver {
    pub addr: SocketAddr,
    state: Arc<ReceiverState>,
}

impl TestReceiver {
    pub async fn start() -> TestReceiver {
        let state = Arc::new(ReceiverState::default());
        let router = Router::new()
            .route("/{*path}", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        TestReceiver { addr, state }
    }

    /// The URL of a path on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Answers the next requests in this order, then `default` (200 unless set).
    pub fn script(&self, answers: &[Answer]) {
        self.state
            .script
            .lock()
            .unwrap()
            .extend(answers.iter().copied());
    }

    /// Answers every request not scripted with `answer`.
    pub fn answer_always(&self, answer: Answer) {
        *self.state.default.lock().unwrap() = Some(answer);
    }

    /// Answers every request not scripted whose path starts with `/prefix` with `answer`,
    /// whatever `answer_always` says.
    pub fn answer_under(&self, prefix: &str, answer: Answer) {
        let prefix = format!("/{}", prefix.trim_start_matches('/'));
        let mut by_prefix = self.state.by_prefix.lock().unwrap();
        by_prefix.retain(|(p, _)| *p != prefix);
        by_prefix.push((prefix, answer));
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Requests to `path` so far.
    pub fn received_at(&self, path: &str) -> Vec<Received> {
        let path = format!("/{}", path.trim_start_matches('/'));
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The eventIds of the requests from `server` that have no answer yet.
    pub fn open_from(&self, server: &str) -> BTreeSet<String> {
        self.state
            .open
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| *s == server)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Waits until `n` requests reached `path`, or panics after `timeout`.
    pub async fn wait_for(&self, path: &str, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received_at(path);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "waited {timeout:?} for {n} requests at {path}, got {}: {:?}",
                got.len(),
                got.iter().map(|r| &r.body).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until every (path, note id) in `expected` arrived at least once, then lets
    /// `quiet` pass so that late duplicates show; panics with what is missing otherwise.
    /// Returns every request received.
    pub async fn wait_for_all(
        &self,
        expected: &BTreeSet<(String, String)>,
        timeout: Duration,
        quiet: Duration,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got: BTreeSet<(String, String)> = self
                .received()
                .iter()
                .map(|r| (r.path.clone(), r.note_id().to_owned()))
                .collect();
            let missing: Vec<_> = expected.difference(&got).collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "after {timeout:?}, {} of {} deliveries are missing: {missing:?}",
                missing.len(),
                expected.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(quiet).await;
        self.received()
    }

    /// Asserts that `path` gets nothing more than `n` requests during `window`.
    pub async fn expect_no_more(&self, path: &str, n: usize, window: Duration) {
        tokio::time::sleep(window).await;
        let got = self.received_at(path);
        assert_eq!(
            got.len(),
            n,
            "unexpected requests at {path}: {:?}",
            got.iter().map(|r| &r.body).collect::<Vec<_>>()
        );
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let raw = String::from_utf8_lossy(&body).into_owned();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let received = Received {
        path: uri.path().to_owned(),
        headers,
        body: value,
        raw,
        at: Instant::now(),
    };
    let event_id = received.event_id().to_owned();
    state
        .open
        .lock()
        .unwrap()
        .insert(event_id.clone(), received.server().to_owned());
    state.received.lock().unwrap().push(received);
    let next = state.script.lock().unwrap().pop_front();
    let under_prefix = || {
        state
            .by_prefix
            .lock()
            .unwrap()
            .iter()
            .find(|(prefix, _)| uri.path().starts_with(prefix.as_str()))
            .map(|(_, answer)| *answer)
    };
    let answer = next
        .or_else(under_prefix)
        .or(*state.default.lock().unwrap())
        .unwrap_or(Answer::Status(200));
    let mut retry_after = None;
    let status = match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::RetryAfter(code, value) => {
            retry_after = Some(value);
            StatusCode::from_u16(code).unwrap()
        }
        Answer::Delay(code, ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            StatusCode::from_u16(code).unwrap()
        }
        Answer::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK
        }
    };
    // Removed before the answer is written: a request still open when its sender is
    // known dead was never answered to it.
    state.open.lock().unwrap().remove(&event_id);
    match retry_after {
        Some(value) => (status, [(axum::http::header::RETRY_AFTER, value)]).into_response(),
        None => status.into_response(),
    }
}
