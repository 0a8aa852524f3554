//! What Misskey clients see of the server as a whole: `meta`, `endpoints`, `endpoint`, the
//! OpenAPI document at `/api.json` and its page at `/api-doc`; and the exact key order of
//! the `i/webhooks/test` dummies and of embedded notes as they arrive at a receiver.

use std::collections::BTreeSet;
use std::time::Duration;

use missive_core::dummy::{NOTE_KEYS, USER_DETAILED_KEYS, USER_LITE_KEYS};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, TestReceiver, assert_schema};

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn meta_is_misskeys_meta_lite_and_detailed() {
    let app = TestApp::spawn().await;
    let lite = app.ok("meta", json!({}), None).await;
    assert_schema("MetaLite", &lite);
    assert_eq!(lite["name"], "missive");
    assert_eq!(lite["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(lite["uri"], app.url.as_str());
    assert_eq!(lite["disableRegistration"], false);
    assert!(lite.get("features").is_none());

    let detailed = app.ok("meta", json!({ "detail": true }), None).await;
    assert_schema("MetaDetailed", &detailed);
    assert_eq!(detailed["requireSetup"], true, "no administrator yet");
    assert_eq!(detailed["features"]["registration"], true);
    app.signup("root").await;
    let detailed = app.ok("meta", json!({ "detail": true }), None).await;
    assert_eq!(detailed["requireSetup"], false);

    let (status, body) = app.api("meta", json!({ "detail": "yes" }), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["info"]["param"], "#/properties/detail/type");
}

#[tokio::test]
async fn meta_says_when_sign_up_is_closed() {
    let app = TestApp::spawn_with(&[("MISSIVE_SIGNUP_OPEN", "false")]).await;
    let lite = app.ok("meta", json!({}), None).await;
    assert_eq!(lite["disableRegistration"], true);
    assert_schema("MetaLite", &lite);
}

#[tokio::test]
async fn endpoints_lists_what_is_served_and_endpoint_describes_one() {
    let app = TestApp::spawn().await;
    let listed = app.ok("endpoints", json!({}), None).await;
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let served: Vec<&str> = missive::api::endpoint_names().collect();
    assert_eq!(listed, served);
    for name in [
        "meta",
        "endpoints",
        "endpoint",
        "notes/create",
        "i/webhooks/test",
    ] {
        assert!(listed.contains(&name), "{name}");
    }
    // Every listed name is served: none answers UNKNOWN_API_ENDPOINT.
    for name in &listed {
        let (status, body) = app.api(name, json!({}), None).await;
        assert_ne!(status, StatusCode::NOT_FOUND, "{name}: {body}");
    }

    let described = app
        .ok("endpoint", json!({ "endpoint": "i/webhooks/create" }), None)
        .await;
    assert_eq!(
        described,
        json!({ "params": [
            { "name": "name", "type": "String" },
            { "name": "url", "type": "String" },
            { "name": "secret", "type": "String" },
            { "name": "on", "type": "Array" },
        ] })
    );
    let timeline = app
        .ok("endpoint", json!({ "endpoint": "notes/timeline" }), None)
        .await;
    assert_eq!(
        timeline["params"][0],
        json!({ "name": "limit", "type": "Integer" })
    );
    // Misskey answers `null`, which it sends as 204.
    app.no_content("endpoint", json!({ "endpoint": "notes/nothing" }), None)
        .await;
    let (status, body) = app.api("endpoint", json!({}), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["info"]["param"], "#/required");
}

#[tokio::test]
async fn the_openapi_document_covers_exactly_the_served_endpoints() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(format!("{}/api.json", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], format!("{}/api", app.url));
    let paths: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|p| p.trim_start_matches('/').to_owned())
        .collect();
    let served: BTreeSet<String> = missive::api::endpoint_names().map(str::to_owned).collect();
    assert_eq!(paths, served);
    for (path, item) in doc["paths"].as_object().unwrap() {
        let op = &item["post"];
        assert!(
            op["requestBody"]["content"]["application/json"]["schema"].is_object(),
            "{path}"
        );
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.contains_key("200") || responses.contains_key("204"),
            "{path}"
        );
        assert!(
            responses.contains_key("400") && responses.contains_key("500"),
            "{path}"
        );
        assert!(
            op["security"].as_array().is_some_and(|s| !s.is_empty()),
            "{path}"
        );
    }
    // The request schemas are the ones the handlers check with.
    let create = &doc["paths"]["/notes/create"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(create["properties"]["text"]["maxLength"], 3000);
    assert_eq!(create["then"]["required"], json!(["text"]));
    assert_eq!(create["properties"]["visibleUserIds"]["maxItems"], 100);
    let show = &doc["paths"]["/users/show"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(show["anyOf"][0], json!({ "required": ["userId"] }));
    let hook = &doc["paths"]["/i/webhooks/show"]["post"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    assert_eq!(hook["$ref"], "#/components/schemas/UserWebhook");
    for name in [
        "UserLite",
        "UserDetailedNotMe",
        "MeDetailed",
        "Note",
        "UserWebhook",
        "MetaLite",
        "Error",
    ] {
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
    // Every reference resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }

    let page = app
        .http
        .get(format!("{}/api-doc", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers().contains_key("content-security-policy"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/api-doc.js"));
    assert!(
        !html.contains("https://"),
        "nothing is loaded from elsewhere"
    );
    let script = app
        .http
        .get(format!("{}/api-doc.js", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.text().await.unwrap().contains("/api.json"));
}

#[tokio::test]
async fn test_dummies_arrive_with_misskeys_keys_in_order() {
    let app = TestApp::spawn().await;
    let receiver = TestReceiver::start().await;
    let (_, token) = app.signup("alice").await;
    let hook = app
        .create_webhook(&token, &receiver.url("dummy"), &["note"], "")
        .await;
    let events = [
        "note", "reply", "renote", "mention", "follow", "followed", "unfollow",
    ];
    for (i, event) in events.iter().enumerate() {
        app.no_content(
            "i/webhooks/test",
            json!({ "webhookId": hook, "type": event }),
            Some(&token),
        )
        .await;
        receiver
            .wait_for("dummy", i + 1, Duration::from_secs(5))
            .await;
    }
    let got = receiver.received_at("dummy");
    let detailed: Vec<&str> = USER_LITE_KEYS
        .iter()
        .chain(USER_DETAILED_KEYS)
        .copied()
        .collect();
    let shallow = &NOTE_KEYS[..=NOTE_KEYS
        .iter()
        .position(|k| *k == "reactionAndUserPairCache")
        .unwrap()];
    for r in &got {
        // The raw text, so that the order is the one on the wire.
        let parsed: Value = serde_json::from_str(&r.raw).unwrap();
        let event = parsed["type"].as_str().unwrap().to_owned();
        let body = &parsed["body"];
        match event.as_str() {
            "note" | "reply" | "renote" | "mention" => {
                assert_eq!(keys(&body["note"]), NOTE_KEYS, "{event}");
                assert_eq!(keys(&body["note"]["user"]), USER_LITE_KEYS, "{event}");
                if event == "reply" {
                    assert_eq!(keys(&body["note"]["reply"]), shallow);
                }
                if event == "renote" {
                    assert_eq!(keys(&body["note"]["renote"]), NOTE_KEYS);
                }
            }
            "follow" | "unfollow" => assert_eq!(keys(&body["user"]), detailed, "{event}"),
            _ => assert_eq!(keys(&body["user"]), USER_LITE_KEYS, "{event}"),
        }
    }
    assert_eq!(got.len(), events.len());
}

#[tokio::test]
async fn embedded_notes_carry_the_pair_cache_in_note_bodies_but_not_in_mentions() {
    let app = TestApp::spawn().await;
    let receiver = TestReceiver::start().await;
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    app.create_webhook(&alice, &receiver.url("alice"), &["note"], "")
        .await;
    app.create_webhook(&bob, &receiver.url("bob"), &["mention"], "")
        .await;
    let parent = app.post_note(&alice, json!({ "text": "parent" })).await;
    let quoted = app.post_note(&alice, json!({ "text": "quoted" })).await;
    app.post_note(
        &alice,
        json!({ "text": "child @bob", "replyId": parent["id"], "renoteId": quoted["id"] }),
    )
    .await;
    let notes = receiver.wait_for("alice", 3, Duration::from_secs(5)).await;
    let child: Value = serde_json::from_str(&notes[2].raw).unwrap();
    let note = &child["body"]["note"];
    for embedded in [&note["reply"], &note["renote"]] {
        let k = keys(embedded);
        let at = k
            .iter()
            .position(|k| *k == "reactionAndUserPairCache")
            .unwrap();
        assert_eq!(k[at - 1], "reactionEmojis");
        assert_eq!(embedded["reactionAndUserPairCache"], json!([]));
    }
    let mentions = receiver.wait_for("bob", 1, Duration::from_secs(5)).await;
    let note = &mentions[0].body["body"]["note"];
    assert!(note.get("reactionAndUserPairCache").is_none());
    assert!(note["reply"].get("reactionAndUserPairCache").is_none());
    assert!(note["renote"].get("reactionAndUserPairCache").is_none());
}
