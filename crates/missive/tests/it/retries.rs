//! Outcomes and retries: what is retried, how often, and what `latestStatus` says;
//! switching a webhook off or deleting it stops its pending retries; test sends.
//!
//! These tests keep real time rather than `tokio::time::pause`: a retry's due time is
//! wall-clock milliseconds stored in the database (so that it survives a restart), which
//! paused tokio time does not move, and the attempts go over real sockets to a real
//! receiver. They shorten the backoff instead (`MISSIVE_DELIVERY_RETRY_BASE_MS` of 50 to
//! 1000 ms); the backoff arithmetic itself is tested without waiting in `missive-core`.

use std::time::Duration;

use serde_json::json;

use crate::delivery::wait_for_status;
use crate::errors;
use crate::support::{Answer, TestApp, TestReceiver};

/// One user with one `note` webhook at `path`; returns (app, receiver, token, webhook id).
async fn setup(overrides: &[(&str, &str)], path: &str) -> (TestApp, TestReceiver, String, String) {
    let app = TestApp::spawn_with(overrides).await;
    let receiver = TestReceiver::start().await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(&token, &receiver.url(path), &["note"], "")
        .await;
    (app, receiver, token, hook)
}

#[tokio::test]
async fn a_server_error_is_retried_with_the_same_event_id() {
    let (app, receiver, token, hook) = setup(&[], "r").await;
    receiver.script(&[Answer::Status(500), Answer::Status(503)]);
    app.post_note(&token, json!({ "text": "x" })).await;
    let got = receiver.wait_for("r", 3, Duration::from_secs(10)).await;
    assert!(
        got.iter()
            .all(|r| r.body["eventId"] == got[0].body["eventId"])
    );
    assert!(
        got.iter().all(|r| r.raw == got[0].raw),
        "every attempt sends the same body"
    );
    // Backoff: (2^n - 1) × 100 ms plus up to 20 %.
    let first_gap = got[1].at - got[0].at;
    let second_gap = got[2].at - got[1].at;
    assert!(first_gap >= Duration::from_millis(100), "{first_gap:?}");
    assert!(second_gap >= Duration::from_millis(300), "{second_gap:?}");
    wait_for_status(&app, &token, &hook, 200).await;
    receiver
        .expect_no_more("r", 3, Duration::from_millis(500))
        .await;
}

#[tokio::test]
async fn a_timeout_is_retried_and_recorded_as_status_1() {
    let (app, receiver, token, hook) = setup(
        &[
            ("MISSIVE_DELIVERY_TIMEOUT_MS", "300"),
            ("MISSIVE_DELIVERY_RETRY_BASE_MS", "1000"),
        ],
        "t",
    )
    .await;
    receiver.script(&[Answer::Hang]);
    app.post_note(&token, json!({ "text": "x" })).await;
    receiver.wait_for("t", 1, Duration::from_secs(5)).await;
    wait_for_status(&app, &token, &hook, 1).await;
    let got = receiver.wait_for("t", 2, Duration::from_secs(5)).await;
    assert_eq!(got[0].body["eventId"], got[1].body["eventId"]);
    wait_for_status(&app, &token, &hook, 200).await;
}

#[tokio::test]
async fn too_many_requests_and_redirects_are_retried() {
    for (answer, status) in [(429, 429), (302, 302), (301, 301)] {
        let (app, receiver, token, hook) = setup(&[], "x").await;
        receiver.script(&[Answer::Status(answer)]);
        app.post_note(&token, json!({ "text": "x" })).await;
        receiver.wait_for("x", 2, Duration::from_secs(10)).await;
        let _ = status;
        wait_for_status(&app, &token, &hook, 200).await;
    }
}

#[tokio::test]
async fn client_errors_are_final() {
    for code in [400, 401, 404, 410] {
        let (app, receiver, token, hook) = setup(&[], "gone").await;
        receiver.answer_always(Answer::Status(code));
        app.post_note(&token, json!({ "text": "x" })).await;
        wait_for_status(&app, &token, &hook, i64::from(code)).await;
        // A retry would come after 100–120 ms.
        receiver
            .expect_no_more("gone", 1, Duration::from_millis(700))
            .await;
    }
}

#[tokio::test]
async fn attempts_stop_at_the_maximum() {
    let (app, receiver, token, hook) =
        setup(&[("MISSIVE_DELIVERY_RETRY_BASE_MS", "50")], "down").await;
    receiver.answer_always(Answer::Status(500));
    app.post_note(&token, json!({ "text": "x" })).await;
    // Delays 50, 150 and 350 ms (+20 %): four attempts within about 0.7 s.
    receiver.wait_for("down", 4, Duration::from_secs(10)).await;
    receiver
        .expect_no_more("down", 4, Duration::from_millis(1500))
        .await;
    wait_for_status(&app, &token, &hook, 500).await;

    let (app, receiver, token, _) = setup(&[("MISSIVE_DELIVERY_MAX_ATTEMPTS", "2")], "two").await;
    receiver.answer_always(Answer::Status(503));
    app.post_note(&token, json!({ "text": "x" })).await;
    receiver.wait_for("two", 2, Duration::from_secs(10)).await;
    receiver
        .expect_no_more("two", 2, Duration::from_millis(1000))
        .await;
}

#[tokio::test]
async fn a_refused_connection_is_status_1_and_retried() {
    let app = TestApp::spawn().await;
    let (_, token) = app.signup("alice").await;
    // Nothing listens on a port we just closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let hook = app
        .create_webhook(&token, &format!("http://{closed}/nobody"), &["note"], "")
        .await;
    app.post_note(&token, json!({ "text": "x" })).await;
    wait_for_status(&app, &token, &hook, 1).await;
}

#[tokio::test]
async fn switching_a_webhook_off_stops_its_pending_retries() {
    for (endpoint, admin) in [
        ("i/webhooks/update", false),
        ("admin/webhooks/update", true),
        ("i/webhooks/delete", false),
    ] {
        let app = TestApp::spawn_with(&[("MISSIVE_DELIVERY_RETRY_BASE_MS", "400")]).await;
        let receiver = TestReceiver::start().await;
        let (_, root) = app.signup("root").await;
        let (_, token) = app.signup("alice").await;
        let hook = app
            .create_webhook(&token, &receiver.url("off"), &["note"], "")
            .await;
        receiver.answer_always(Answer::Status(500));
        app.post_note(&token, json!({ "text": "x" })).await;
        receiver.wait_for("off", 1, Duration::from_secs(5)).await;
        let (body, caller) = match endpoint {
            "i/webhooks/delete" => (json!({ "webhookId": hook }), &token),
            _ => (
                json!({ "webhookId": hook, "active": false }),
                if admin { &root } else { &token },
            ),
        };
        app.no_content(endpoint, body, Some(caller)).await;
        // Without the switch, retries would come after 400 ms and 1.2 s.
        receiver
            .expect_no_more("off", 1, Duration::from_millis(2000))
            .await;
    }
}

#[tokio::test]
async fn an_inactive_webhook_gets_nothing_until_switched_back_on() {
    let (app, receiver, token, hook) = setup(&[], "idle").await;
    app.no_content(
        "i/webhooks/update",
        json!({ "webhookId": hook, "active": false }),
        Some(&token),
    )
    .await;
    app.post_note(&token, json!({ "text": "while off" })).await;
    receiver
        .expect_no_more("idle", 0, Duration::from_millis(500))
        .await;
    app.no_content(
        "i/webhooks/update",
        json!({ "webhookId": hook, "active": true }),
        Some(&token),
    )
    .await;
    app.post_note(&token, json!({ "text": "back on" })).await;
    let got = receiver.wait_for("idle", 1, Duration::from_secs(5)).await;
    assert_eq!(
        got[0].body["body"]["note"]["text"], "back on",
        "nothing queued while off is sent later"
    );
    receiver
        .expect_no_more("idle", 1, Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn test_sends_once_with_the_dummy_payload_ignoring_active_and_on() {
    let (app, receiver, token, hook) = setup(&[], "test").await;
    app.no_content(
        "i/webhooks/update",
        json!({ "webhookId": hook, "active": false, "on": ["follow"], "secret": "stored" }),
        Some(&token),
    )
    .await;
    let expected = [
        ("note", "/note/id", "dummy-note-1"),
        ("reply", "/note/id", "dummy-reply-1"),
        ("renote", "/note/id", "dummy-renote-1"),
        ("mention", "/note/id", "dummy-mention-1"),
        ("follow", "/user/id", "dummy-user-1"),
        ("followed", "/user/id", "dummy-user-2"),
        ("unfollow", "/user/id", "dummy-user-3"),
        // Misskey sends nothing for `reaction`; missive sends the dummy of its extension.
        ("reaction", "/user/id", "dummy-user-2"),
    ];
    for (i, (event, pointer, id)) in expected.iter().enumerate() {
        app.no_content(
            "i/webhooks/test",
            json!({ "webhookId": hook, "type": event }),
            Some(&token),
        )
        .await;
        let got = receiver
            .wait_for("test", i + 1, Duration::from_secs(5))
            .await;
        let r = &got[i];
        assert_eq!(r.body["type"], *event);
        assert_eq!(r.body["hookId"], hook.as_str());
        assert_eq!(
            r.body["body"].pointer(pointer).and_then(|v| v.as_str()),
            Some(*id),
            "{event}"
        );
        assert_eq!(r.headers["x-misskey-hook-secret"], "stored");
    }
    receiver
        .expect_no_more("test", expected.len(), Duration::from_millis(300))
        .await;

    // Overrides replace the URL and secret for this send only.
    let body = json!({ "webhookId": hook, "type": "note", "override": { "url": receiver.url("elsewhere"), "secret": "other" } });
    app.no_content("i/webhooks/test", body, Some(&token)).await;
    let got = receiver
        .wait_for("elsewhere", 1, Duration::from_secs(5))
        .await;
    assert_eq!(got[0].headers["x-misskey-hook-secret"], "other");
    let shown = app
        .ok(
            "i/webhooks/show",
            json!({ "webhookId": hook }),
            Some(&token),
        )
        .await;
    assert_eq!(shown["secret"], "stored");
    assert_eq!(shown["url"], receiver.url("test"));

    // A failed test send is recorded and not retried.
    receiver.answer_always(Answer::Status(500));
    app.no_content(
        "i/webhooks/test",
        json!({ "webhookId": hook, "type": "note" }),
        Some(&token),
    )
    .await;
    wait_for_status(&app, &token, &hook, 500).await;
    receiver
        .expect_no_more("test", expected.len() + 1, Duration::from_millis(600))
        .await;

    app.fails(
        "i/webhooks/test",
        json!({ "webhookId": hook, "type": "edited" }),
        Some(&token),
        400,
        "INVALID_PARAM",
        errors::INVALID_PARAM,
    )
    .await;
    app.fails(
        "i/webhooks/test",
        json!({ "webhookId": hook }),
        Some(&token),
        400,
        "INVALID_PARAM",
        errors::INVALID_PARAM,
    )
    .await;
}

#[tokio::test]
async fn the_dispatcher_rests_once_a_retry_that_was_due_at_once_is_done() {
    // A backoff of a millisecond: the retry is due before the recorder has even written
    // it, so the dispatcher finds its hint already due. It used to keep such a hint
    // forever and claim again and again, busy, long after the retry had gone out.
    let (app, receiver, token, hook) = setup(&[("MISSIVE_DELIVERY_RETRY_BASE_MS", "1")], "r").await;
    receiver.script(&[Answer::Status(500)]);
    app.post_note(&token, json!({ "text": "x" })).await;
    receiver.wait_for("r", 2, Duration::from_secs(10)).await;
    wait_for_status(&app, &token, &hook, 200).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = app.store.statements_sent();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = app.store.statements_sent() - before;
    assert!(
        sent < 20,
        "{sent} statements in a second with nothing to deliver"
    );
}
