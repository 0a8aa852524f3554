//! Fairness: a receiver that never answers holds only its own webhook's slots, and a
//! host behind many webhooks only its host's; other webhooks' deliveries go out at once.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Answer, Received, TestApp, TestReceiver};

#[tokio::test]
async fn a_hanging_receiver_does_not_delay_other_webhooks() {
    let app = TestApp::spawn_with(&[("MISSIVE_DELIVERY_TIMEOUT_MS", "10000")]).await;
    let healthy = TestReceiver::start().await;
    let hanging = TestReceiver::start().await;
    hanging.answer_always(Answer::Hang);
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    app.create_webhook(&alice, &hanging.url("hang"), &["note"], "")
        .await;
    // The same user's other webhook, and another user's webhook.
    app.create_webhook(&alice, &healthy.url("alice"), &["note"], "")
        .await;
    app.create_webhook(&bob, &healthy.url("bob"), &["note"], "")
        .await;

    const NOTES: usize = 60;
    let mut sent = Vec::new();
    for n in 0..NOTES {
        let who = if n % 2 == 0 { &alice } else { &bob };
        app.post_note(who, json!({ "text": format!("n{n}") })).await;
        sent.push(Instant::now());
    }
    let got_alice = healthy
        .wait_for("alice", NOTES / 2, Duration::from_secs(5))
        .await;
    let got_bob = healthy
        .wait_for("bob", NOTES / 2, Duration::from_secs(5))
        .await;
    // The hanging receiver got what its cap allows and holds it: every other delivery
    // still arrives right after its note, nowhere near the 10 s timeout.
    assert!(
        hanging.received().len() >= 16,
        "{}",
        hanging.received().len()
    );
    let worst = worst_delay(&sent, &got_alice, &got_bob);
    assert!(
        worst < Duration::from_millis(250),
        "the worst healthy delivery took {worst:?}"
    );
}

#[tokio::test]
async fn a_hanging_host_behind_many_webhooks_holds_only_its_host_cap() {
    // Twelve webhooks of three users at one host that never answers could hold 48
    // slots by the per-webhook cap alone, more than the 32 there are.
    let app = TestApp::spawn_with(&[
        ("MISSIVE_DELIVERY_TIMEOUT_MS", "10000"),
        ("MISSIVE_DELIVERY_CONCURRENCY", "32"),
        ("MISSIVE_DELIVERY_PER_WEBHOOK_CONCURRENCY", "4"),
        ("MISSIVE_DELIVERY_PER_HOST_CONCURRENCY", "8"),
        ("MISSIVE_WEBHOOK_LIMIT", "5"),
    ])
    .await;
    let healthy = TestReceiver::start().await;
    let hanging = TestReceiver::start().await;
    hanging.answer_always(Answer::Hang);
    let mut posters = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let (_, token) = app.signup(name).await;
        for n in 0..4 {
            app.create_webhook(&token, &hanging.url(&format!("{name}/{n}")), &["note"], "")
                .await;
        }
        posters.push(token);
    }
    // One of them also has a healthy webhook, and so has a fourth user.
    let (_, dave) = app.signup("dave").await;
    app.create_webhook(&posters[0], &healthy.url("alice"), &["note"], "")
        .await;
    app.create_webhook(&dave, &healthy.url("dave"), &["note"], "")
        .await;

    // Enough notes for every hanging webhook to be far past its cap (alice's get theirs
    // from the notes below).
    for n in 0..12 {
        app.post_note(&posters[1 + n % 2], json!({ "text": format!("h{n}") }))
            .await;
    }
    const NOTES: usize = 20;
    let mut sent = Vec::new();
    for n in 0..NOTES {
        let who = if n % 2 == 0 { &posters[0] } else { &dave };
        app.post_note(who, json!({ "text": format!("n{n}") })).await;
        sent.push(Instant::now());
    }
    let got_alice = healthy
        .wait_for("alice", NOTES / 2, Duration::from_secs(5))
        .await;
    let got_dave = healthy
        .wait_for("dave", NOTES / 2, Duration::from_secs(5))
        .await;
    let worst = worst_delay(&sent, &got_alice, &got_dave);
    assert!(
        worst < Duration::from_millis(250),
        "the worst healthy delivery took {worst:?}"
    );
    // The hanging host holds exactly its cap: none of its requests has ended (the
    // timeout is 10 s), so every one it got is still open.
    assert_eq!(hanging.received().len(), 8);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        hanging.received().len(),
        8,
        "never more than the host's cap"
    );
}

/// The longest time from posting a note to its delivery, for notes posted in turns by two
/// users (`sent[i]`: when note `i` was posted; the first user posted the even ones) whose
/// deliveries are `first` and `second`, in order.
fn worst_delay(sent: &[Instant], first: &[Received], second: &[Received]) -> Duration {
    let first = first.iter().zip(sent.iter().step_by(2));
    let second = second.iter().zip(sent.iter().skip(1).step_by(2));
    first
        .chain(second)
        .map(|(r, at)| r.at.saturating_duration_since(*at))
        .max()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_slow_host_at_its_cap_gets_every_delivery_once_and_never_more_at_once() {
    // Two slots for the host and 150 ms per answer: 30 deliveries take over two
    // seconds, so many wait past the one second a claimed delivery is kept for a slot,
    // go back to the queue and are claimed again. None may be lost, sent twice, or
    // counted as an attempt.
    let app = TestApp::spawn_with(&[
        ("MISSIVE_DELIVERY_TIMEOUT_MS", "2000"),
        ("MISSIVE_DELIVERY_PER_HOST_CONCURRENCY", "2"),
        ("MISSIVE_DELIVERY_MAX_ATTEMPTS", "1"),
    ])
    .await;
    let slow = TestReceiver::start().await;
    const ANSWER_MS: u64 = 150;
    slow.answer_always(Answer::Delay(200, ANSWER_MS));
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let (_, token) = app.signup(name).await;
        app.create_webhook(&token, &slow.url(name), &["note"], "")
            .await;
        users.push(token);
    }
    const NOTES: usize = 30;
    for n in 0..NOTES {
        app.post_note(&users[n % 3], json!({ "text": format!("n{n}") }))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while slow.received().len() < NOTES {
        assert!(
            Instant::now() < deadline,
            "only {} of {NOTES} deliveries arrived",
            slow.received().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = slow.received();
    let event_ids: std::collections::BTreeSet<&str> = received
        .iter()
        .map(|r| r.body["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(event_ids.len(), NOTES, "every delivery once");
    // A request starts only when one of the two before it has been answered.
    for r in &received {
        let window = Duration::from_millis(ANSWER_MS - 20);
        let overlapping = received
            .iter()
            .filter(|o| o.at <= r.at && r.at.duration_since(o.at) < window)
            .count();
        assert!(overlapping <= 2, "{overlapping} requests in flight at once");
    }
    slow.expect_no_more("alice", NOTES / 3, Duration::from_millis(300))
        .await;
    // Handed back without an attempt: every delivery succeeded at its only attempt. The
    // last outcomes may be recorded a moment after their answers on a loaded machine;
    // a lost one would leave its delivery pending until its lease (6 s) ran out.
    let lines = [
        "missive_deliveries{state=\"succeeded\"} 30",
        "missive_deliveries{state=\"failed\"} 0",
        "missive_deliveries{state=\"pending\"} 0",
    ];
    let deadline = Instant::now() + Duration::from_secs(4);
    loop {
        let metrics = app.metrics().await;
        if lines.iter().all(|line| metrics.contains(line)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{lines:?} not all in:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(slow.received().len(), NOTES, "nothing sent twice meanwhile");
}
