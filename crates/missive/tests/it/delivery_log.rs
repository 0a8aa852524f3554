//! The delivery log: what each attempt records per outcome class, the listing and its
//! paging and filters, the detail with the exact body sent, redelivery with the same
//! `eventId` (bounded, idempotent while pending), owner isolation, the administrator's
//! endpoints, pruning, and the delivery metrics.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};

use crate::errors;
use crate::support::{Answer, ErrorCase, TestApp, TestReceiver, refusing_port};

/// Waits until the webhook's `n` newest deliveries are in `state` (`settled`: any but
/// pending); returns the listing.
async fn wait_for_state(
    app: &TestApp,
    token: &str,
    hook: &str,
    n: usize,
    state: &str,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let list = app
            .ok(
                "i/webhooks/deliveries",
                json!({ "webhookId": hook, "limit": 100 }),
                Some(token),
            )
            .await;
        let list = list.as_array().unwrap().clone();
        let settled = |d: &Value| match state {
            "settled" => d["state"] != "pending",
            _ => d["state"] == state,
        };
        if list.len() >= n && list.iter().take(n).all(settled) {
            return list;
        }
        assert!(Instant::now() < deadline, "deliveries stayed {list:?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn show(app: &TestApp, token: &str, id: &Value) -> Value {
    app.ok(
        "i/webhooks/deliveries/show",
        json!({ "deliveryId": id }),
        Some(token),
    )
    .await
}

/// A receiver that answers every POST with `status` and a 4000-byte body.
async fn wordy_receiver(status: u16) -> String {
    let router = Router::new().route(
        "/{*path}",
        post(move || async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                "x".repeat(4000),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/hook")
}

/// One attempt per delivery, and a user with one `note` webhook at `url`.
async fn one_shot(url: &str, extra: &[(&str, &str)]) -> (TestApp, String, String) {
    let mut overrides = vec![("MISSIVE_DELIVERY_MAX_ATTEMPTS", "1")];
    overrides.extend_from_slice(extra);
    let app = TestApp::spawn_with(&overrides).await;
    let (_, token) = app.signup("alice").await;
    let hook = app.create_webhook(&token, url, &["note"], "s3cret").await;
    (app, token, hook)
}

#[tokio::test]
async fn a_success_logs_its_status_the_response_head_and_the_exact_body() {
    let url = wordy_receiver(200).await;
    let (app, token, hook) = one_shot(&url, &[]).await;
    let note = app.post_note(&token, json!({ "text": "hello" })).await;
    let list = wait_for_state(&app, &token, &hook, 1, "succeeded").await;
    let d = &list[0];
    assert_eq!(d["webhookId"], hook.as_str());
    assert_eq!(d["type"], "note");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["latestStatus"], 200);
    assert!(d["finishedAt"].is_string());
    let detail = show(&app, &token, &d["id"]).await;
    let log = detail["attemptLog"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["error"], Value::Null);
    assert_eq!(log[0]["nextRetryAt"], Value::Null);
    assert_eq!(log[0]["responseBody"].as_str().unwrap(), "x".repeat(1024));
    assert!(log[0]["durationMs"].as_i64().unwrap() >= 0);
    let sent: Value = serde_json::from_str(detail["requestBody"].as_str().unwrap()).unwrap();
    assert_eq!(sent["eventId"], d["eventId"]);
    assert_eq!(sent["hookId"], hook.as_str());
    assert_eq!(sent["body"]["note"]["id"], note["id"]);
    assert!(
        !detail.to_string().contains("s3cret"),
        "the secret never appears: {detail}"
    );
}

#[tokio::test]
async fn a_server_error_logs_every_attempt_and_its_next_retry() {
    let receiver = TestReceiver::start().await;
    let app = TestApp::spawn_with(&[("MISSIVE_DELIVERY_MAX_ATTEMPTS", "3")]).await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(&token, &receiver.url("r"), &["note"], "")
        .await;
    receiver.answer_always(Answer::Status(503));
    app.post_note(&token, json!({ "text": "x" })).await;
    let list = wait_for_state(&app, &token, &hook, 1, "failed").await;
    assert_eq!(list[0]["attempts"], 3);
    assert_eq!(list[0]["latestStatus"], 503);
    let detail = show(&app, &token, &list[0]["id"]).await;
    let log = detail["attemptLog"].as_array().unwrap();
    assert_eq!(
        log.iter()
            .map(|a| a["attempt"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(log.iter().all(|a| a["status"] == 503));
    assert!(log[0]["nextRetryAt"].is_string() && log[1]["nextRetryAt"].is_string());
    assert_eq!(
        log[2]["nextRetryAt"],
        Value::Null,
        "no retry after the last"
    );
}

#[tokio::test]
async fn network_failures_log_their_class() {
    let receiver = TestReceiver::start().await;
    receiver.answer_always(Answer::Hang);
    let (_refusing, closed_port) = refusing_port();
    for (url, class, extra) in [
        (
            format!("http://127.0.0.1:{closed_port}/closed"),
            "refused",
            vec![],
        ),
        (
            receiver.url("hang"),
            "timeout",
            vec![("MISSIVE_DELIVERY_TIMEOUT_MS", "300")],
        ),
        ("http://10.1.2.3/private".to_owned(), "blocked", vec![]),
    ] {
        let (app, token, hook) = one_shot(&url, &extra).await;
        app.post_note(&token, json!({ "text": "x" })).await;
        let list = wait_for_state(&app, &token, &hook, 1, "failed").await;
        assert_eq!(list[0]["latestStatus"], 1, "{class}");
        let detail = show(&app, &token, &list[0]["id"]).await;
        let attempt = &detail["attemptLog"][0];
        assert_eq!(attempt["status"], Value::Null, "{class}: {attempt}");
        assert_eq!(attempt["error"], class, "{attempt}");
        assert_eq!(attempt["responseBody"], Value::Null, "{class}");
    }
}

#[tokio::test]
async fn the_listing_pages_newest_first_and_filters() {
    let receiver = TestReceiver::start().await;
    let app = TestApp::spawn_with(&[("MISSIVE_DELIVERY_MAX_ATTEMPTS", "1")]).await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(&token, &receiver.url("p"), &["note"], "")
        .await;
    // The third note's delivery fails; the others succeed.
    receiver.script(&[
        Answer::Status(200),
        Answer::Status(200),
        Answer::Status(400),
    ]);
    for i in 0..5 {
        app.post_note(&token, json!({ "text": format!("n{i}") }))
            .await;
        receiver.wait_for("p", i + 1, Duration::from_secs(5)).await;
    }
    wait_for_state(&app, &token, &hook, 5, "settled").await;
    let list = |body: Value| {
        let app = &app;
        let token = token.clone();
        async move {
            app.ok("i/webhooks/deliveries", body, Some(&token))
                .await
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let all = list(json!({ "webhookId": hook, "limit": 100 })).await;
    assert_eq!(all.len(), 5);
    let ids: Vec<&str> = all.iter().map(|d| d["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first");
    let page = list(json!({ "webhookId": hook, "limit": 2 })).await;
    assert_eq!(page.len(), 2);
    let next = list(json!({ "webhookId": hook, "limit": 2, "untilId": page[1]["id"] })).await;
    assert_eq!(next[0]["id"], all[2]["id"]);
    let newer = list(json!({ "webhookId": hook, "sinceId": all[2]["id"] })).await;
    assert_eq!(newer.len(), 2);
    let failed = list(json!({ "webhookId": hook, "state": "failed" })).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["latestStatus"], 400);
    assert_eq!(
        list(json!({ "webhookId": hook, "type": "follow" }))
            .await
            .len(),
        0
    );
    assert_eq!(
        list(json!({ "webhookId": hook, "type": "note" }))
            .await
            .len(),
        5
    );
    app.check_errors([
        ErrorCase::invalid_param(
            "i/webhooks/deliveries",
            Some(&token),
            json!({ "webhookId": hook, "state": "lost" }),
            "#/properties/state/enum",
        ),
        ErrorCase::invalid_param(
            "i/webhooks/deliveries",
            Some(&token),
            json!({ "webhookId": hook, "limit": 101 }),
            "#/properties/limit/maximum",
        ),
        ErrorCase::invalid_param(
            "i/webhooks/deliveries",
            Some(&token),
            json!({}),
            "#/required",
        ),
    ])
    .await;
}

#[tokio::test]
async fn redelivery_keeps_the_event_id_and_is_idempotent_while_pending() {
    let receiver = TestReceiver::start().await;
    let app = TestApp::spawn_with(&[("MISSIVE_DELIVERY_MAX_ATTEMPTS", "1")]).await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(&token, &receiver.url("r"), &["note"], "")
        .await;
    receiver.script(&[Answer::Status(500)]);
    app.post_note(&token, json!({ "text": "x" })).await;
    let list = wait_for_state(&app, &token, &hook, 1, "failed").await;
    let failed = list[0].clone();
    // The new attempt hangs for a while, so that it is still pending when asked again.
    receiver.script(&[Answer::Delay(200, 600)]);
    let again = app
        .ok(
            "i/webhooks/redeliver",
            json!({ "deliveryId": failed["id"] }),
            Some(&token),
        )
        .await;
    assert_eq!(again["deliveryIds"].as_array().unwrap().len(), 1);
    let twice = app
        .ok(
            "i/webhooks/redeliver",
            json!({ "deliveryId": failed["id"] }),
            Some(&token),
        )
        .await;
    assert_eq!(twice["deliveryIds"], json!([]), "one is pending already");
    let got = receiver.wait_for("r", 2, Duration::from_secs(5)).await;
    assert_eq!(got[0].event_id(), got[1].event_id());
    assert_eq!(got[0].raw, got[1].raw, "the same body");
    let list = wait_for_state(&app, &token, &hook, 1, "succeeded").await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], again["deliveryIds"][0]);
    assert_eq!(list[0]["eventId"], failed["eventId"]);
    receiver
        .expect_no_more("r", 2, Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn redelivering_a_failed_set_is_bounded() {
    let receiver = TestReceiver::start().await;
    let app = TestApp::spawn_with(&[
        ("MISSIVE_DELIVERY_MAX_ATTEMPTS", "1"),
        ("MISSIVE_REDELIVER_MAX", "2"),
    ])
    .await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(&token, &receiver.url("f"), &["note"], "")
        .await;
    receiver.answer_always(Answer::Status(500));
    let since = crate::support::now_ms() - 1000;
    for i in 0..3 {
        app.post_note(&token, json!({ "text": format!("n{i}") }))
            .await;
    }
    wait_for_state(&app, &token, &hook, 3, "failed").await;
    receiver.answer_always(Answer::Status(200));
    let first = app
        .ok(
            "i/webhooks/redeliver",
            json!({ "webhookId": hook, "since": since }),
            Some(&token),
        )
        .await;
    assert_eq!(
        first["deliveryIds"].as_array().unwrap().len(),
        2,
        "at most the maximum"
    );
    wait_for_state(&app, &token, &hook, 2, "succeeded").await;
    let second = app
        .ok(
            "i/webhooks/redeliver",
            json!({ "webhookId": hook, "since": since }),
            Some(&token),
        )
        .await;
    // Every failed delivery is asked for again (the bound is per call); the ones
    // redelivered before are failed still, so they come again too.
    assert_eq!(second["deliveryIds"].as_array().unwrap().len(), 2);
    let later = app
        .ok(
            "i/webhooks/redeliver",
            json!({ "webhookId": hook, "since": crate::support::now_ms() + 60_000 }),
            Some(&token),
        )
        .await;
    assert_eq!(later["deliveryIds"], json!([]));
}

#[tokio::test]
async fn owners_see_only_their_own_and_admins_see_all() {
    let receiver = TestReceiver::start().await;
    let app = TestApp::spawn().await;
    let (_, admin) = app.signup("root").await;
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let hook = app
        .create_webhook(&alice, &receiver.url("a"), &["note"], "alice-secret")
        .await;
    app.post_note(&alice, json!({ "text": "x" })).await;
    let list = wait_for_state(&app, &alice, &hook, 1, "succeeded").await;
    let delivery = list[0]["id"].clone();
    let unknown = "9zzzzzzzzzzzzzzz";
    app.check_errors([
        ErrorCase::new(
            "i/webhooks/deliveries",
            Some(&bob),
            json!({ "webhookId": hook }),
            400,
            "NO_SUCH_WEBHOOK",
            errors::NO_SUCH_WEBHOOK_DELIVERIES,
        ),
        ErrorCase::new(
            "i/webhooks/deliveries",
            Some(&bob),
            json!({ "webhookId": unknown }),
            400,
            "NO_SUCH_WEBHOOK",
            errors::NO_SUCH_WEBHOOK_DELIVERIES,
        ),
        ErrorCase::new(
            "i/webhooks/deliveries/show",
            Some(&bob),
            json!({ "deliveryId": delivery }),
            400,
            "NO_SUCH_DELIVERY",
            errors::NO_SUCH_DELIVERY,
        ),
        ErrorCase::new(
            "i/webhooks/deliveries/show",
            Some(&bob),
            json!({ "deliveryId": unknown }),
            400,
            "NO_SUCH_DELIVERY",
            errors::NO_SUCH_DELIVERY,
        ),
        ErrorCase::new(
            "i/webhooks/redeliver",
            Some(&bob),
            json!({ "deliveryId": delivery }),
            400,
            "NO_SUCH_DELIVERY",
            errors::NO_SUCH_DELIVERY,
        ),
        ErrorCase::new(
            "i/webhooks/redeliver",
            Some(&bob),
            json!({ "webhookId": hook, "since": 0 }),
            400,
            "NO_SUCH_WEBHOOK",
            errors::NO_SUCH_WEBHOOK_DELIVERIES,
        ),
        ErrorCase::new(
            "i/webhooks/deliveries",
            None,
            json!({ "webhookId": hook }),
            401,
            "CREDENTIAL_REQUIRED",
            errors::CREDENTIAL_REQUIRED,
        ),
        ErrorCase::new(
            "admin/webhooks/deliveries",
            Some(&alice),
            json!({ "webhookId": hook }),
            403,
            "ROLE_PERMISSION_DENIED",
            errors::ROLE_PERMISSION_DENIED,
        ),
        ErrorCase::new(
            "admin/webhooks/deliveries/show",
            Some(&alice),
            json!({ "deliveryId": delivery }),
            403,
            "ROLE_PERMISSION_DENIED",
            errors::ROLE_PERMISSION_DENIED,
        ),
        ErrorCase::new(
            "admin/webhooks/redeliver",
            Some(&bob),
            json!({ "deliveryId": delivery }),
            403,
            "ROLE_PERMISSION_DENIED",
            errors::ROLE_PERMISSION_DENIED,
        ),
        ErrorCase::new(
            "admin/webhooks/deliveries/show",
            Some(&admin),
            json!({ "deliveryId": unknown }),
            400,
            "NO_SUCH_DELIVERY",
            errors::NO_SUCH_DELIVERY,
        ),
    ])
    .await;
    // The administrator sees and resends anyone's, without the secret.
    let seen = app
        .ok(
            "admin/webhooks/deliveries",
            json!({ "webhookId": hook }),
            Some(&admin),
        )
        .await;
    assert_eq!(seen[0]["id"], delivery);
    let detail = app
        .ok(
            "admin/webhooks/deliveries/show",
            json!({ "deliveryId": delivery }),
            Some(&admin),
        )
        .await;
    assert_eq!(detail["attemptLog"][0]["status"], 200);
    assert!(!detail.to_string().contains("alice-secret"));
    let again = app
        .ok(
            "admin/webhooks/redeliver",
            json!({ "deliveryId": delivery }),
            Some(&admin),
        )
        .await;
    assert_eq!(again["deliveryIds"].as_array().unwrap().len(), 1);
    receiver.wait_for("a", 2, Duration::from_secs(5)).await;
    // A deleted webhook's deliveries are gone for everyone.
    app.no_content(
        "i/webhooks/delete",
        json!({ "webhookId": hook }),
        Some(&alice),
    )
    .await;
    app.check_errors([
        ErrorCase::new(
            "i/webhooks/deliveries",
            Some(&alice),
            json!({ "webhookId": hook }),
            400,
            "NO_SUCH_WEBHOOK",
            errors::NO_SUCH_WEBHOOK_DELIVERIES,
        ),
        ErrorCase::new(
            "i/webhooks/deliveries/show",
            Some(&alice),
            json!({ "deliveryId": delivery }),
            400,
            "NO_SUCH_DELIVERY",
            errors::NO_SUCH_DELIVERY,
        ),
        ErrorCase::new(
            "i/webhooks/redeliver",
            Some(&alice),
            json!({ "deliveryId": delivery }),
            400,
            "NO_SUCH_DELIVERY",
            errors::NO_SUCH_DELIVERY,
        ),
        ErrorCase::new(
            "admin/webhooks/deliveries/show",
            Some(&admin),
            json!({ "deliveryId": delivery }),
            400,
            "NO_SUCH_DELIVERY",
            errors::NO_SUCH_DELIVERY,
        ),
    ])
    .await;
}

#[tokio::test]
async fn pruning_keeps_the_newest_per_webhook() {
    let receiver = TestReceiver::start().await;
    let app = TestApp::spawn_with(&[("MISSIVE_DELIVERY_LOG_MAX_PER_WEBHOOK", "3")]).await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(&token, &receiver.url("k"), &["note"], "")
        .await;
    for i in 0..6 {
        app.post_note(&token, json!({ "text": format!("n{i}") }))
            .await;
    }
    receiver.wait_for("k", 6, Duration::from_secs(5)).await;
    let all = wait_for_state(&app, &token, &hook, 6, "succeeded").await;
    let newest: Vec<Value> = all.iter().take(3).map(|d| d["id"].clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = app
            .ok(
                "i/webhooks/deliveries",
                json!({ "webhookId": hook, "limit": 100 }),
                Some(&token),
            )
            .await;
        let ids: Vec<Value> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].clone())
            .collect();
        if ids.len() == 3 {
            assert_eq!(ids, newest);
            break;
        }
        assert!(Instant::now() < deadline, "not pruned: {} left", ids.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let gone = all[5]["id"].clone();
    app.fails(
        "i/webhooks/deliveries/show",
        json!({ "deliveryId": gone }),
        Some(&token),
        400,
        "NO_SUCH_DELIVERY",
        errors::NO_SUCH_DELIVERY,
    )
    .await;
}

#[tokio::test]
async fn metrics_count_attempts_and_deliveries() {
    let receiver = TestReceiver::start().await;
    let (app, token, hook) = one_shot(&receiver.url("m"), &[]).await;
    receiver.script(&[Answer::Status(500)]);
    app.post_note(&token, json!({ "text": "a" })).await;
    wait_for_state(&app, &token, &hook, 1, "failed").await;
    app.post_note(&token, json!({ "text": "b" })).await;
    wait_for_state(&app, &token, &hook, 1, "succeeded").await;
    let text = app.metrics().await;
    for line in [
        "missive_delivery_attempts_total{outcome=\"2xx\"} 1\n",
        "missive_delivery_attempts_total{outcome=\"5xx\"} 1\n",
        "missive_deliveries_total{state=\"succeeded\"} 1\n",
        "missive_deliveries_total{state=\"failed\"} 1\n",
        "missive_delivery_attempt_duration_seconds_count 2\n",
        "missive_delivery_latency_seconds_count 1\n",
        "missive_deliveries_pending 0\n",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}
