//! The test harness: a real missive server on 127.0.0.1:0 with a fresh SQLite database,
//! a real receiver on loopback, and helpers to call the API and validate JSON.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use missive::app::App;
use missive::config::Config;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A running missive server. Dropping it stops the server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub url: String,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Settings for a test server, as `MISSIVE_*` variables.
pub fn test_env() -> Vec<(&'static str, String)> {
    vec![
        ("MISSIVE_LISTEN", "127.0.0.1:0".into()),
        ("MISSIVE_ALLOWED_PRIVATE_NETWORKS", "127.0.0.0/8".into()),
        ("MISSIVE_DELIVERY_RETRY_BASE_MS", "100".into()),
        ("MISSIVE_DELIVERY_TIMEOUT_MS", "2000".into()),
        // Tests sign in and send tests far faster than any person; the rate-limit tests
        // turn the limits back on.
        ("MISSIVE_RATE_LIMIT_SIGNUP", "off".into()),
        ("MISSIVE_RATE_LIMIT_SIGNIN", "off".into()),
        ("MISSIVE_RATE_LIMIT_SIGNIN_ACCOUNT", "off".into()),
        ("MISSIVE_RATE_LIMIT_WEBHOOK_TEST", "off".into()),
    ]
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// Starts a server with the test settings, overridden by `overrides`.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut env: Vec<(String, String)> = test_env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.push((
            "MISSIVE_DATABASE_URL".into(),
            format!("sqlite://{}/missive.db", dir.path().display()),
        ));
        for (k, v) in overrides {
            env.retain(|(key, _)| key != k);
            env.push(((*k).to_owned(), (*v).to_owned()));
        }
        let config = Config::load(None, |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .unwrap();
        let app = App::build(config).await.unwrap();
        let addr = app.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        tokio::spawn(app.run(shutdown.clone()));
        TestApp {
            addr,
            url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            shutdown,
            _dir: dir,
        }
    }

    /// Calls `/api/<endpoint>` with `body` and the token in the body's `i`.
    pub async fn api(
        &self,
        endpoint: &str,
        body: Value,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut body = body;
        if let Some(token) = token {
            body["i"] = json!(token);
        }
        let res = self
            .http
            .post(format!("{}/api/{endpoint}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        let bytes = res.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    /// Calls an endpoint that must answer 200 and returns the JSON.
    pub async fn ok(&self, endpoint: &str, body: Value, token: Option<&str>) -> Value {
        let (status, value) = self.api(endpoint, body.clone(), token).await;
        assert_eq!(status, StatusCode::OK, "{endpoint} {body} answered {value}");
        value
    }

    /// Calls an endpoint that must answer 204.
    pub async fn no_content(&self, endpoint: &str, body: Value, token: Option<&str>) {
        let (status, value) = self.api(endpoint, body.clone(), token).await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "{endpoint} {body} answered {value}"
        );
        assert_eq!(value, Value::Null);
    }

    /// Calls an endpoint that must fail with `status`, `code` and `id`; returns the error object.
    pub async fn fails(
        &self,
        endpoint: &str,
        body: Value,
        token: Option<&str>,
        status: u16,
        code: &str,
        id: &str,
    ) -> Value {
        let (got, value) = self.api(endpoint, body.clone(), token).await;
        assert_eq!(got.as_u16(), status, "{endpoint} {body} answered {value}");
        assert_eq!(
            value["error"]["code"], code,
            "{endpoint} {body} answered {value}"
        );
        assert_eq!(
            value["error"]["id"], id,
            "{endpoint} {body} answered {value}"
        );
        value["error"].clone()
    }

    /// Signs up a user; returns (id, token).
    pub async fn signup(&self, username: &str) -> (String, String) {
        let me = self
            .ok(
                "signup",
                json!({ "username": username, "password": "secret-password" }),
                None,
            )
            .await;
        (
            me["id"].as_str().unwrap().to_owned(),
            me["token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn post_note(&self, token: &str, params: Value) -> Value {
        self.ok("notes/create", params, Some(token)).await["createdNote"].clone()
    }

    pub async fn create_webhook(
        &self,
        token: &str,
        url: &str,
        on: &[&str],
        secret: &str,
    ) -> String {
        let hook = self
            .ok(
                "i/webhooks/create",
                json!({ "name": "hook", "url": url, "on": on, "secret": secret }),
                Some(token),
            )
            .await;
        hook["id"].as_str().unwrap().to_owned()
    }
}

/// What a receiver answers next.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Never answer (until the client gives up).
    Hang,
    /// Answer with this status after this many milliseconds.
    Delay(u16, u64),
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

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Answer>>,
    default: Mutex<Option<Answer>>,
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

    pub fn answer_always(&self, answer: Answer) {
        *self.state.default.lock().unwrap() = Some(answer);
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
) -> StatusCode {
    let raw = String::from_utf8_lossy(&body).into_owned();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body: value,
        raw,
        at: Instant::now(),
    });
    let next = state.script.lock().unwrap().pop_front();
    let answer = next
        .or(*state.default.lock().unwrap())
        .unwrap_or(Answer::Status(200));
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::Delay(code, ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            StatusCode::from_u16(code).unwrap()
        }
        Answer::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK
        }
    }
}

/// Validates `value` against one schema of Misskey's `misskey-schemas.json`.
pub fn schema_errors(schema: &str, value: &Value) -> Vec<String> {
    use std::sync::OnceLock;
    static DOC: OnceLock<Value> = OnceLock::new();
    let doc = DOC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/misskey-schemas.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    });
    let mut doc = doc.clone();
    doc["$ref"] = json!(format!("#/components/schemas/{schema}"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&doc)
        .unwrap();
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

/// Panics with the validation errors if `value` is not a valid `schema`.
#[track_caller]
pub fn assert_schema(schema: &str, value: &Value) {
    let errors = schema_errors(schema, value);
    assert!(
        errors.is_empty(),
        "not a valid {schema}: {errors:?}\n{value:#}"
    );
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
