//! Fairness: a receiver that never answers holds only its own webhook's slots; other
//! webhooks' deliveries go out at once.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Answer, TestApp, TestReceiver};

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
    let mut worst = Duration::ZERO;
    for (i, r) in got_alice.iter().enumerate() {
        worst = worst.max(r.at.saturating_duration_since(sent[2 * i]));
    }
    for (i, r) in got_bob.iter().enumerate() {
        worst = worst.max(r.at.saturating_duration_since(sent[2 * i + 1]));
    }
    assert!(
        worst < Duration::from_millis(250),
        "the worst healthy delivery took {worst:?}"
    );
}
