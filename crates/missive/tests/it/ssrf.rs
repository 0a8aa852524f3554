//! Outbound safety: non-public addresses are never dialled unless allowed, and the
//! attempt is recorded as status 1.

use std::time::Duration;

use serde_json::json;

use crate::delivery::wait_for_status;
use crate::support::{TestApp, TestReceiver};

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    for allowed in ["", "10.0.0.0/8", "127.0.0.2/32", "::1/128"] {
        let app = TestApp::spawn_with(&[("MISSIVE_ALLOWED_PRIVATE_NETWORKS", allowed)]).await;
        let receiver = TestReceiver::start().await;
        let (_, token) = app.signup("alice").await;
        let port = receiver.addr.port();
        let by_ip = app
            .create_webhook(&token, &receiver.url("ip"), &["note"], "")
            .await;
        // A hostname that resolves to loopback is checked on the address it resolves to.
        let by_name = app
            .create_webhook(
                &token,
                &format!("http://localhost:{port}/name"),
                &["note"],
                "",
            )
            .await;
        let mapped = app
            .create_webhook(
                &token,
                &format!("http://[::ffff:127.0.0.1]:{port}/mapped"),
                &["note"],
                "",
            )
            .await;
        app.post_note(&token, json!({ "text": "x" })).await;
        for hook in [&by_ip, &by_name, &mapped] {
            wait_for_status(&app, &token, hook, 1).await;
        }
        receiver
            .expect_no_more("ip", 0, Duration::from_millis(200))
            .await;
        assert!(
            receiver.received().is_empty(),
            "allowed={allowed:?}: {:?}",
            receiver
                .received()
                .iter()
                .map(|r| &r.path)
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn allowed_networks_are_dialled() {
    let app =
        TestApp::spawn_with(&[("MISSIVE_ALLOWED_PRIVATE_NETWORKS", "127.0.0.1/32,::1/128")]).await;
    let receiver = TestReceiver::start().await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(
            &token,
            &format!("http://localhost:{}/name", receiver.addr.port()),
            &["note"],
            "",
        )
        .await;
    app.post_note(&token, json!({ "text": "x" })).await;
    receiver.wait_for("name", 1, Duration::from_secs(5)).await;
    wait_for_status(&app, &token, &hook, 200).await;
}

#[tokio::test]
async fn test_sends_obey_the_same_rule() {
    let app = TestApp::spawn_with(&[("MISSIVE_ALLOWED_PRIVATE_NETWORKS", "")]).await;
    let receiver = TestReceiver::start().await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(&token, "https://hooks.example/x", &["note"], "")
        .await;
    let body =
        json!({ "webhookId": hook, "type": "note", "override": { "url": receiver.url("test") } });
    app.no_content("i/webhooks/test", body, Some(&token)).await;
    wait_for_status(&app, &token, &hook, 1).await;
    assert!(receiver.received().is_empty());
}
