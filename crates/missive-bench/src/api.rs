//! Driving missive through its real API: accounts, webhooks, and the events
//! (`notes/create`, `following/create`) sent by `C` concurrent keep-alive clients,
//! paced at a rate or as fast as the server answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::now_us;
use crate::stats::Percentiles;

/// What a note's text starts with, followed by the client's send time in Unix epoch
/// microseconds: the receiver reads it back, so a delivery's latency runs from the
/// moment the client sent the note to its arrival, not from missive's own `createdAt`.
pub const SENT_MARK: &str = "t";

/// A keep-alive client for `/api/<endpoint>`.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// A signed-up account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
}

/// One API call that causes deliveries.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// User `n` posts a note: `note` for each of their webhooks.
    Note(usize),
    /// User `a` follows user `b`: `follow` for a's webhooks, `followed` for b's.
    Follow(usize, usize),
}

/// What a run of events measured on the client side.
#[derive(Debug, Clone, Default)]
pub struct Driven {
    pub requests: u64,
    pub errors: u64,
    pub elapsed_ms: f64,
    pub latency: Percentiles,
    /// On a paced schedule: how late each call was sent against its slot, in ms. The
    /// deliveries' latency starts at the actual send, so a client that falls behind the
    /// schedule shows here rather than in the delivery latency.
    pub send_lag: Option<Percentiles>,
}

impl Api {
    pub fn new(base: String) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Api { http, base })
    }

    /// Posts `body` to `/api/<endpoint>` as JSON.
    async fn post(&self, endpoint: &str, body: &Value) -> anyhow::Result<reqwest::Response> {
        self.http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .with_context(|| format!("{endpoint}: no answer"))
    }

    /// Calls an endpoint and returns only the status it answered with.
    pub async fn status_of(&self, endpoint: &str, body: &Value) -> anyhow::Result<u16> {
        let res = self.post(endpoint, body).await?;
        let status = res.status().as_u16();
        res.bytes().await?;
        Ok(status)
    }

    /// Calls an endpoint; any status but 200/204 is an error carrying the answer.
    pub async fn call(&self, endpoint: &str, body: &Value) -> anyhow::Result<Value> {
        let res = self.post(endpoint, body).await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        if !status.is_success() {
            bail!(
                "{endpoint} answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Signs up `n` users named `bench0…`, a few at a time (password hashing is slow).
    pub async fn signup_users(&self, n: usize) -> anyhow::Result<Vec<User>> {
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let api = self.clone();
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let body =
                        json!({ "username": format!("bench{i}"), "password": "bench-password" });
                    let me = api.call("signup", &body).await?;
                    let user = User {
                        id: me["id"].as_str().context("signup: no id")?.to_owned(),
                        token: me["token"].as_str().context("signup: no token")?.to_owned(),
                    };
                    out.push((i, user));
                }
                anyhow::Ok(out)
            }));
        }
        let mut users = Vec::with_capacity(n);
        for task in tasks {
            users.extend(task.await??);
        }
        users.sort_by_key(|(i, _)| *i);
        Ok(users.into_iter().map(|(_, u)| u).collect())
    }

    /// Creates one webhook for each `(user, url)`, eight requests at a time.
    pub async fn create_webhooks(
        &self,
        hooks: Vec<(User, String)>,
        on: &[&str],
    ) -> anyhow::Result<()> {
        let hooks = Arc::new(hooks);
        let next = Arc::new(AtomicUsize::new(0));
        let on: Vec<String> = on.iter().map(|s| (*s).to_owned()).collect();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (api, hooks, next, on) = (self.clone(), hooks.clone(), next.clone(), on.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((user, url)) = hooks.get(i) else {
                        break;
                    };
                    let body = json!({ "i": user.token, "name": format!("bench{i}"), "url": url, "on": on, "secret": "bench-secret" });
                    api.call("i/webhooks/create", &body).await?;
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        Ok(())
    }

    /// Sends `events` from `clients` concurrent clients, the i-th no earlier than
    /// `i / rate` seconds after the start when a rate is given (an open-loop schedule:
    /// a late answer does not slow the following sends down). `done` counts answers.
    pub async fn drive(
        &self,
        users: Arc<Vec<User>>,
        events: Arc<Vec<Event>>,
        clients: usize,
        rate: Option<f64>,
        done: Arc<AtomicU64>,
    ) -> Driven {
        let start = tokio::time::Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..clients.max(1) {
            let (api, users, events, next, errors, done) = (
                self.clone(),
                users.clone(),
                events.clone(),
                next.clone(),
                errors.clone(),
                done.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut lags = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(event) = events.get(i) else {
                        break;
                    };
                    if let Some(rate) = rate {
                        let slot = start + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(slot).await;
                        lags.push(slot.elapsed().as_secs_f64() * 1000.0);
                    }
                    let (endpoint, body) = match *event {
                        Event::Note(u) => (
                            "notes/create",
                            json!({ "i": users[u].token, "text": format!("{SENT_MARK}{} bench note {i}", now_us()) }),
                        ),
                        Event::Follow(a, b) => (
                            "following/create",
                            json!({ "i": users[a].token, "userId": users[b].id }),
                        ),
                    };
                    let sent = Instant::now();
                    if let Err(e) = api.call(endpoint, &body).await
                        && errors.fetch_add(1, Ordering::Relaxed) < 3
                    {
                        eprintln!("\nmissive-bench: {e:#}");
                    }
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                (latencies, lags)
            }));
        }
        let mut latencies = Vec::new();
        let mut lags = Vec::new();
        for task in tasks {
            if let Ok((mut l, mut g)) = task.await {
                latencies.append(&mut l);
                lags.append(&mut g);
            }
        }
        Driven {
            requests: latencies.len() as u64,
            errors: errors.load(Ordering::Relaxed),
            elapsed_ms: start.elapsed().as_secs_f64() * 1000.0,
            latency: Percentiles::of(&mut latencies),
            send_lag: rate.map(|_| Percentiles::of(&mut lags)),
        }
    }
}
