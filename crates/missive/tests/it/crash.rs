//! Crash safety: `kill -9` of the server with deliveries pending or in flight, then a
//! restart on the same database, delivers every one with its original `eventId`; and
//! `kill -9` while notes are being written in group commits loses none that was answered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Answer, ServerProcess, TestReceiver, free_port};

/// The crash test's deliveries wait longer for an answer than the other tests' do.
const TIMEOUT: &[(&str, &str)] = &[("MISSIVE_DELIVERY_TIMEOUT_MS", "5000")];

#[tokio::test]
async fn every_delivery_survives_kill_9_with_the_same_event_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/missive.db", dir.path().display());
    let port = free_port();
    let receiver = TestReceiver::start().await;
    // Every request hangs: deliveries are in flight (leased) or waiting when the server dies.
    receiver.answer_always(Answer::Hang);

    let mut server = ServerProcess::start_on(port, &db, dir.path(), "before", TIMEOUT);
    server.wait_ready().await;
    let token = server.signup("alice").await;
    server
        .create_webhook(&token, &receiver.url("crash"), &["note"], "")
        .await;
    const NOTES: usize = 40;
    let mut note_ids = BTreeSet::new();
    for n in 0..NOTES {
        let note = server.post_note(&token, &format!("note {n}")).await;
        note_ids.insert(note["id"].as_str().unwrap().to_owned());
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
    drop(server);

    receiver.answer_always(Answer::Status(200));
    let before_restart = receiver.received().len();
    let mut server = ServerProcess::start_on(port, &db, dir.path(), "after", TIMEOUT);
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

/// Posts notes as fast as it can as the holder of `token` until the server stops
/// answering; pushes the id of every note answered with 200 onto `acknowledged`. Returns
/// whether its last request was cut off in flight (sent, then the connection died) rather
/// than refused.
async fn post_notes_until_the_server_dies(
    http: reqwest::Client,
    url: String,
    token: String,
    acknowledged: Arc<Mutex<Vec<String>>>,
) -> bool {
    for n in 0.. {
        let sent = http
            .post(format!("{url}/api/notes/create"))
            .json(&json!({ "i": token, "text": format!("note {n}") }))
            .send()
            .await;
        let res = match sent {
            Ok(res) => res,
            Err(e) => return !e.is_connect(),
        };
        let status = res.status().as_u16();
        let Ok(body) = res.json::<serde_json::Value>().await else {
            // The answer's head came and its body did not: not an acknowledgement.
            return true;
        };
        assert_eq!(status, 200, "notes/create answered {body}");
        let id = body["createdNote"]["id"].as_str().unwrap().to_owned();
        acknowledged.lock().unwrap().push(id);
    }
    unreachable!("the loop ends when the server dies")
}

/// Group commit answers a write only once the transaction that holds it has committed:
/// `kill -9` while many clients post notes (their writes sharing transactions) loses no
/// note that was answered, nor its delivery. Notes whose request got no answer may or may
/// not exist; nothing is asserted about them. Three rounds of posting and killing, then a
/// restart that checks them all.
#[tokio::test]
async fn kill_9_during_group_commits_loses_no_acknowledged_note() {
    const USERS: usize = 8;
    const CLIENTS: usize = 32;
    const ANSWERED_BEFORE_THE_KILL: usize = 300;
    const ROUNDS: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/missive.db", dir.path().display());
    let port = free_port();
    let receiver = TestReceiver::start().await;
    receiver.answer_always(Answer::Status(200));

    let mut server = ServerProcess::start_on(port, &db, dir.path(), "round0", TIMEOUT);
    server.wait_ready().await;
    let mut tokens = Vec::new();
    for u in 0..USERS {
        let token = server.signup(&format!("writer{u}")).await;
        server
            .create_webhook(&token, &receiver.url(&format!("writer{u}")), &["note"], "")
            .await;
        tokens.push(token);
    }

    // The kill lands at a random point of the writer's cycle; several rounds make one
    // that lands between an answer and its commit (were there such a moment) likely.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    for round in 0..ROUNDS {
        if round > 0 {
            server =
                ServerProcess::start_on(port, &db, dir.path(), &format!("round{round}"), TIMEOUT);
            server.wait_ready().await;
        }
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                // A client of its own each, so that every one has its own connection.
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                tokio::spawn(post_notes_until_the_server_dies(
                    http,
                    server.url.clone(),
                    tokens[c % USERS].clone(),
                    acknowledged.clone(),
                ))
            })
            .collect();
        let enough = acknowledged.lock().unwrap().len() + ANSWERED_BEFORE_THE_KILL;
        let deadline = Instant::now() + Duration::from_secs(60);
        while acknowledged.lock().unwrap().len() < enough {
            assert!(
                Instant::now() < deadline,
                "the clients got only {} answers in 60 s",
                acknowledged.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.kill_9();
        let mut cut_off_in_flight = 0;
        for client in clients {
            cut_off_in_flight += usize::from(client.await.unwrap());
        }
        assert!(
            cut_off_in_flight > 0,
            "the kill came while requests were in flight"
        );
    }
    drop(server);
    let acknowledged: BTreeSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();

    let mut server = ServerProcess::start_on(port, &db, dir.path(), "after", TIMEOUT);
    server.wait_ready().await;
    let mut author_paths = BTreeMap::new();
    for (u, token) in tokens.iter().enumerate() {
        let me = server.ok("i", json!({ "i": token })).await;
        author_paths.insert(me["id"].as_str().unwrap().to_owned(), format!("/writer{u}"));
    }
    let mut lost = Vec::new();
    // Each note's delivery, at its author's webhook: it may have arrived before a kill.
    let mut expected = BTreeSet::new();
    for id in &acknowledged {
        let (status, note) = server.call("notes/show", &json!({ "noteId": id })).await;
        if status == 200 {
            let path = author_paths[note["userId"].as_str().unwrap()].clone();
            expected.insert((path, id.clone()));
        } else {
            lost.push((id.clone(), status));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged notes are gone after the restart: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
    receiver
        .wait_for_all(&expected, Duration::from_secs(60), Duration::ZERO)
        .await;
    drop(server);
}
