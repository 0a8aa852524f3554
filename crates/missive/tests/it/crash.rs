//! Crash safety: `kill -9` of the server with deliveries pending or in flight, then a
//! restart on the same database, delivers every one with its original `eventId`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

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
