//! Crash safety: `kill -9` of the server with deliveries pending or in flight, then a
//! restart on the same database, delivers every one with its original `eventId`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Answer, TestReceiver, test_env};

/// The real `missive` binary, started as a child process.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(db_url: &str, port: u16) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_missive"));
        cmd.arg("serve").stdout(Stdio::null()).stderr(Stdio::null());
        for (k, v) in test_env() {
            cmd.env(k, v);
        }
        cmd.env("MISSIVE_LISTEN", format!("127.0.0.1:{port}"))
            .env("MISSIVE_DATABASE_URL", db_url)
            .env("MISSIVE_DELIVERY_TIMEOUT_MS", "5000");
        Server {
            child: cmd.spawn().unwrap(),
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(format!("{}/healthz", self.url))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn api(&self, endpoint: &str, body: Value) -> Value {
        let res = reqwest::Client::new()
            .post(format!("{}/api/{endpoint}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{endpoint}");
        res.json().await.unwrap()
    }

    /// SIGKILL: no shutdown code runs.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn every_delivery_survives_kill_9_with_the_same_event_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/missive.db", dir.path().display());
    let port = free_port();
    let receiver = TestReceiver::start().await;
    // Every request hangs: deliveries are in flight (leased) or waiting when the server dies.
    receiver.answer_always(Answer::Hang);

    let server = Server::start(&db, port);
    server.wait_ready().await;
    let me = server
        .api("signup", json!({ "username": "alice", "password": "pw" }))
        .await;
    let token = me["token"].as_str().unwrap().to_owned();
    server
        .api(
            "i/webhooks/create",
            json!({ "i": token, "name": "h", "url": receiver.url("crash"), "on": ["note"] }),
        )
        .await;
    const NOTES: usize = 40;
    let mut note_ids = BTreeSet::new();
    for n in 0..NOTES {
        let note = server
            .api(
                "notes/create",
                json!({ "i": token, "text": format!("note {n}") }),
            )
            .await;
        note_ids.insert(note["createdNote"]["id"].as_str().unwrap().to_owned());
    }
    // At most the per-webhook cap (16) is in flight; the rest wait in the queue.
    let in_flight = receiver
        .wait_for("crash", 16, Duration::from_secs(10))
        .await;
    let first_event_ids: BTreeMap<String, String> = in_flight
        .iter()
        .map(|r| {
            (
                r.body["body"]["note"]["id"].as_str().unwrap().to_owned(),
                r.body["eventId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    server.kill_9();

    receiver.answer_always(Answer::Status(200));
    let before_restart = receiver.received().len();
    let server = Server::start(&db, port);
    server.wait_ready().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivered = loop {
        let after: BTreeMap<String, String> = receiver.received()[before_restart..]
            .iter()
            .map(|r| {
                (
                    r.body["body"]["note"]["id"].as_str().unwrap().to_owned(),
                    r.body["eventId"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if after.len() >= NOTES || Instant::now() > deadline {
            break after;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let delivered_notes: BTreeSet<String> = delivered.keys().cloned().collect();
    assert_eq!(
        delivered_notes, note_ids,
        "every note's delivery arrives after the restart"
    );
    for (note, event_id) in &first_event_ids {
        assert_eq!(
            &delivered[note], event_id,
            "a retried delivery keeps its eventId"
        );
    }
    drop(server);
}
