//! The delivery request: Misskey's headers, the envelope with its keys in order, and
//! real-time sending.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{TestApp, TestReceiver, assert_schema};

#[tokio::test]
async fn headers_and_envelope_are_misskeys() {
    let app = TestApp::spawn().await;
    let receiver = TestReceiver::start().await;
    let (alice_id, alice) = app.signup("alice").await;
    let with_secret = app
        .create_webhook(&alice, &receiver.url("secret"), &["note"], "s3cr3t")
        .await;
    let without_secret = app
        .create_webhook(&alice, &receiver.url("plain"), &["note"], "")
        .await;
    let before = crate::support::now_ms();
    let note = app.post_note(&alice, json!({ "text": "hello" })).await;
    let got = receiver.wait_for("secret", 1, Duration::from_secs(5)).await;
    let plain = receiver.wait_for("plain", 1, Duration::from_secs(5)).await;
    let r = &got[0];

    assert_eq!(r.headers["user-agent"], "Misskey-Hooks");
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["x-misskey-host"], app.addr.to_string());
    assert_eq!(r.headers["x-misskey-hook-id"], with_secret.as_str());
    assert_eq!(r.headers["x-misskey-hook-secret"], "s3cr3t");
    assert_eq!(
        plain[0].headers["x-misskey-hook-secret"], "",
        "the secret header is sent even when empty"
    );
    assert_eq!(
        plain[0].headers["x-misskey-hook-id"],
        without_secret.as_str()
    );

    // The raw text keeps Misskey's key order.
    let parsed: Value = serde_json::from_str(&r.raw).unwrap();
    let keys: Vec<&str> = parsed
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "server",
            "hookId",
            "userId",
            "eventId",
            "createdAt",
            "type",
            "body"
        ]
    );
    assert_eq!(parsed["server"], app.url);
    assert_eq!(parsed["hookId"], with_secret.as_str());
    assert_eq!(parsed["userId"], alice_id.as_str());
    assert_eq!(parsed["type"], "note");
    let created_at = parsed["createdAt"]
        .as_i64()
        .expect("createdAt is a number of milliseconds");
    assert!(
        created_at >= before - 1000 && created_at <= crate::support::now_ms(),
        "{created_at}"
    );
    let event_id = parsed["eventId"].as_str().unwrap();
    assert!(uuid_v4(event_id), "{event_id}");
    assert_ne!(
        plain[0].body["eventId"], parsed["eventId"],
        "each webhook gets its own eventId"
    );
    assert_eq!(parsed["body"]["note"]["id"], note["id"]);
    assert_schema("Note", &parsed["body"]["note"]);

    // Beyond Misskey: a Standard Webhooks signature over the exact body, when there is a secret.
    assert_eq!(r.headers["webhook-id"], event_id);
    let timestamp: i64 = r.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (timestamp - crate::support::now_ms() / 1000).abs() < 60,
        "{timestamp}"
    );
    let expected =
        missive_core::signing::signature("s3cr3t", event_id, timestamp, r.raw.as_bytes());
    assert_eq!(r.headers["webhook-signature"], expected.as_str());
    assert!(
        plain[0].headers.get("webhook-signature").is_none(),
        "no secret, no signature"
    );
}

fn uuid_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts.iter().all(|p| {
            p.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
        && parts[2].starts_with('4')
}

#[tokio::test]
async fn deliveries_go_out_as_soon_as_the_action_commits() {
    let app = TestApp::spawn().await;
    let receiver = TestReceiver::start().await;
    let (_, alice) = app.signup("alice").await;
    app.create_webhook(&alice, &receiver.url("rt"), &["note"], "")
        .await;
    // Let the dispatcher settle into its idle wait, then act.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lags = Vec::new();
    for i in 0..5 {
        let sent = Instant::now();
        app.post_note(&alice, json!({ "text": format!("n{i}") }))
            .await;
        let got = receiver.wait_for("rt", i + 1, Duration::from_secs(5)).await;
        lags.push(got[i].at.saturating_duration_since(sent));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The fallback poll is 2 s: every delivery arriving well before it proves the wake-up.
    assert!(
        lags.iter().all(|lag| *lag < Duration::from_millis(1000)),
        "{lags:?}"
    );
}

#[tokio::test]
async fn latest_sent_at_and_status_follow_each_attempt() {
    let app = TestApp::spawn().await;
    let receiver = TestReceiver::start().await;
    let (_, alice) = app.signup("alice").await;
    let hook = app
        .create_webhook(&alice, &receiver.url("s"), &["note"], "")
        .await;
    receiver.script(&[crate::support::Answer::Status(201)]);
    app.post_note(&alice, json!({ "text": "x" })).await;
    let shown = wait_for_status(&app, &alice, &hook, 201).await;
    let sent_at = shown["latestSentAt"].as_str().unwrap();
    assert!(sent_at.ends_with('Z') && sent_at.len() == 24, "{sent_at}");
}

/// Polls `i/webhooks/show` until `latestStatus` is `status`.
pub async fn wait_for_status(app: &TestApp, token: &str, hook: &str, status: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = app
            .ok("i/webhooks/show", json!({ "webhookId": hook }), Some(token))
            .await;
        if shown["latestStatus"] == status {
            return shown;
        }
        assert!(
            Instant::now() < deadline,
            "latestStatus stayed {}",
            shown["latestStatus"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `/metrics` until `name` is `value`.
async fn wait_for_metric(app: &TestApp, name: &str, value: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.metric(name).await != value {
        assert!(
            Instant::now() < deadline,
            "{name} stayed at {}",
            app.metric(name).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_new_delivery_is_handed_to_the_workers_by_the_write_that_creates_it() {
    let app = TestApp::spawn().await;
    let receiver = TestReceiver::start().await;
    let (_, alice) = app.signup("alice").await;
    app.create_webhook(&alice, &receiver.url("h"), &["note"], "")
        .await;
    app.post_note(&alice, json!({ "text": "hello" })).await;
    receiver.wait_for("h", 1, Duration::from_secs(5)).await;
    wait_for_metric(&app, "missive_deliveries{state=\"succeeded\"}", 1).await;
    assert_eq!(
        app.metric("missive_deliveries_handed_over_total").await,
        1,
        "sent without a claim"
    );
}

#[tokio::test]
async fn a_node_with_no_slot_to_give_hands_nothing_over_and_claims_it_later() {
    // One sending slot, held for a second by a receiver that never answers.
    let app = TestApp::spawn_with(&[
        ("MISSIVE_DELIVERY_CONCURRENCY", "1"),
        ("MISSIVE_DELIVERY_TIMEOUT_MS", "1000"),
        ("MISSIVE_DELIVERY_MAX_ATTEMPTS", "1"),
    ])
    .await;
    let receiver = TestReceiver::start().await;
    receiver.answer_under("hang", crate::support::Answer::Hang);
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    app.create_webhook(&alice, &receiver.url("hang"), &["note"], "")
        .await;
    app.create_webhook(&bob, &receiver.url("fast"), &["note"], "")
        .await;
    app.post_note(&alice, json!({ "text": "holds the slot" }))
        .await;
    receiver.wait_for("hang", 1, Duration::from_secs(5)).await;
    app.post_note(&bob, json!({ "text": "waits in the queue" }))
        .await;
    let got = receiver.wait_for("fast", 1, Duration::from_secs(5)).await;
    assert_eq!(got[0].body["body"]["note"]["text"], "waits in the queue");
    assert_eq!(
        app.metric("missive_deliveries_handed_over_total").await,
        1,
        "only the first was handed over: the second found no slot free and no pace"
    );
}
