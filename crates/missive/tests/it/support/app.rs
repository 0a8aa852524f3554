//! `TestApp`: a real missive server in the test's runtime, on 127.0.0.1:0 with a fresh
//! SQLite database, and the API calls the tests make over and over.

use std::net::SocketAddr;

use axum::http::StatusCode;
use missive::app::App;
use missive::config::Config;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::log;

/// A running missive server. Dropping it stops the server, and prints its log if the
/// test is failing or `TEST_LOG` is set.
pub struct TestApp {
    pub addr: SocketAddr,
    pub url: String,
    pub http: reqwest::Client,
    /// The server's database handle (a clone: it counts the server's statements too).
    pub store: missive_store::Store,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        log::print_if_wanted(&self.url);
    }
}

/// Whether a test server runs its delivery workers.
enum Workers {
    Run,
    None,
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
        TestApp::start(overrides, Workers::Run).await
    }

    /// Starts a server that serves the API but runs no delivery workers: deliveries it
    /// queues stay pending, and every statement it sends is a request's.
    pub async fn spawn_api_only() -> TestApp {
        TestApp::start(&[], Workers::None).await
    }

    async fn start(overrides: &[(&str, &str)], workers: Workers) -> TestApp {
        log::capture();
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
        let store = app.store().clone();
        let shutdown = CancellationToken::new();
        let addr = match workers {
            Workers::Run => {
                let addr = app.local_addr().unwrap();
                tokio::spawn(app.run(shutdown.clone()));
                addr
            }
            Workers::None => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let service = app
                    .router()
                    .into_make_service_with_connect_info::<SocketAddr>();
                let stop = shutdown.clone();
                tokio::spawn(async move {
                    axum::serve(listener, service)
                        .with_graceful_shutdown(async move { stop.cancelled().await })
                        .await
                });
                addr
            }
        };
        TestApp {
            addr,
            url: format!("http://{addr}"),
            http: reqwest::Client::new(),
            store,
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

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let response = self.http.get(format!("{}/metrics", self.url)).send().await;
        response.unwrap().text().await.unwrap()
    }

    /// The value of the sample `name` (with its labels) in `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} not in:\n{text}"))
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

    /// Calls an endpoint that must fail with `status`, `code` and `id` (one of
    /// `crate::errors`); returns the error object.
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

    /// `following/create`: the holder of `token` follows the user `followee_id`; returns
    /// the answer (the followee).
    pub async fn follow(&self, token: &str, followee_id: &str) -> Value {
        self.ok(
            "following/create",
            json!({ "userId": followee_id }),
            Some(token),
        )
        .await
    }

    /// `following/delete`: the holder of `token` unfollows the user `followee_id`;
    /// returns the answer (the followee).
    pub async fn unfollow(&self, token: &str, followee_id: &str) -> Value {
        self.ok(
            "following/delete",
            json!({ "userId": followee_id }),
            Some(token),
        )
        .await
    }

    /// `notes/create` as the holder of `token`; returns the created note.
    pub async fn post_note(&self, token: &str, params: Value) -> Value {
        self.ok("notes/create", params, Some(token)).await["createdNote"].clone()
    }

    /// `i/webhooks/create` as the holder of `token`; returns the webhook's id.
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

    /// Runs a table of error cases: calls each and checks its status, code, id and
    /// whatever else the case names, then panics listing every case that answered
    /// otherwise. Returns the error objects, in the order of `cases`.
    pub async fn check_errors(
        &self,
        cases: impl IntoIterator<Item = super::ErrorCase>,
    ) -> Vec<Value> {
        let mut failures = Vec::new();
        let mut errors = Vec::new();
        let mut count = 0;
        for case in cases {
            count += 1;
            let (status, value) = self
                .api(&case.endpoint, case.body.clone(), case.token.as_deref())
                .await;
            if let Some(failure) = case.mismatch(status.as_u16(), &value) {
                failures.push(failure);
            }
            errors.push(value["error"].clone());
        }
        assert!(
            failures.is_empty(),
            "{} of {count} error case(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
        errors
    }
}
