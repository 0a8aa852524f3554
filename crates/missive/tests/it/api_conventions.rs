//! Misskey's API conventions: routes, tokens, 200/204, the error object and its headers.

use serde_json::{Value, json};

use crate::errors;
use crate::support::TestApp;

#[tokio::test]
async fn token_from_bearer_header_wins_over_body() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let res = app
        .http
        .post(format!("{}/api/i", app.url))
        .header("Authorization", format!("Bearer {alice}"))
        .json(&json!({ "i": "not-a-real-token" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["username"], "alice");
}

#[tokio::test]
async fn malformed_bearer_headers_fall_back_to_the_body() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    for header in [
        format!("bearer {alice}"),
        format!("Bearer{alice}"),
        alice.clone(),
    ] {
        let res = app
            .http
            .post(format!("{}/api/i", app.url))
            .header("Authorization", header.clone())
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "CREDENTIAL_REQUIRED");
    }
}

#[tokio::test]
async fn null_i_is_anonymous_and_empty_i_is_a_failed_authentication() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let shown = app
        .ok(
            "users/show",
            json!({ "username": "alice", "i": null }),
            None,
        )
        .await;
    assert!(
        shown.get("isFollowing").is_none(),
        "anonymous viewers get no relation block"
    );
    app.fails(
        "i",
        json!({ "i": null }),
        None,
        401,
        "CREDENTIAL_REQUIRED",
        errors::CREDENTIAL_REQUIRED,
    )
    .await;
    let err = app
        .fails(
            "i",
            json!({ "i": "" }),
            None,
            401,
            "AUTHENTICATION_FAILED",
            errors::AUTHENTICATION_FAILED,
        )
        .await;
    assert_eq!(err["kind"], "client");
    app.fails(
        "users/show",
        json!({ "username": "alice" }),
        Some("0123456789abcdef"),
        401,
        "AUTHENTICATION_FAILED",
        errors::AUTHENTICATION_FAILED,
    )
    .await;
}

#[tokio::test]
async fn a_non_string_i_is_a_bare_400() {
    let app = TestApp::spawn().await;
    for i in [json!(1), json!({ "a": 1 }), json!(["x"])] {
        let res = app
            .http
            .post(format!("{}/api/i", app.url))
            .json(&json!({ "i": i }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert!(res.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn unknown_endpoints_and_methods() {
    let app = TestApp::spawn().await;
    app.fails(
        "no/such/endpoint",
        json!({}),
        None,
        404,
        "UNKNOWN_API_ENDPOINT",
        errors::UNKNOWN_API_ENDPOINT,
    )
    .await;
    let res = app
        .http
        .get(format!("{}/api/notes/show", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app
        .http
        .get(format!("{}/api/nope", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn bad_bodies_get_an_error_object_not_a_crash() {
    let app = TestApp::spawn().await;
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"{not json".to_vec(), 400),
        (b"[1,2,3]".to_vec(), 400),
        (b"\"text\"".to_vec(), 400),
        (vec![0xff, 0xfe, 0x00], 400),
        (
            format!("{{\"text\":\"{}\"}}", "x".repeat(1024 * 1024 + 10)).into_bytes(),
            413,
        ),
    ];
    for (body, status) in cases {
        let res = app
            .http
            .post(format!("{}/api/notes/show", app.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status);
        let value: Value = res.json().await.unwrap();
        assert!(value["error"]["code"].is_string(), "{value}");
        assert!(value["error"]["id"].is_string(), "{value}");
    }
    // An empty body is an empty object.
    app.fails(
        "notes/show",
        json!({}),
        None,
        400,
        "INVALID_PARAM",
        errors::INVALID_PARAM,
    )
    .await;
    let res = app
        .http
        .post(format!("{}/api/notes/show", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // The server is still up.
    app.signup("alice").await;
}

#[tokio::test]
async fn invalid_param_carries_ajv_info_and_unknown_keys_are_ignored() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let cases = [
        (
            json!({}),
            "#/required",
            "must have required property 'userId'",
        ),
        (
            json!({ "userId": "foo-bar" }),
            "#/properties/userId/format",
            "must match format \"misskey:id\"",
        ),
        (
            json!({ "userId": "" }),
            "#/properties/userId/format",
            "must match format \"misskey:id\"",
        ),
    ];
    for (body, param, reason) in cases {
        let err = app
            .fails(
                "following/create",
                body,
                Some(&alice),
                400,
                "INVALID_PARAM",
                errors::INVALID_PARAM,
            )
            .await;
        assert_eq!(err["info"], json!({ "param": param, "reason": reason }));
        assert_eq!(err["message"], "Invalid param.");
    }
    let note = app
        .post_note(&alice, json!({ "text": "hi", "somethingUnknown": [1, 2] }))
        .await;
    assert_eq!(note["text"], "hi");
}

#[tokio::test]
async fn errors_carry_www_authenticate() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .post(format!("{}/api/i", app.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"Misskey\""
    );
    let res = app
        .http
        .post(format!("{}/api/i", app.url))
        .json(&json!({ "i": "wrongwrongwrong0" }))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn avatar_urls_point_at_a_served_identicon() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("Alice").await;
    let me = app.ok("i", json!({}), Some(&alice)).await;
    let url = me["avatarUrl"].as_str().unwrap();
    assert_eq!(url, format!("{}/identicon/alice@{}", app.url, app.addr));
    let res = app.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().starts_with("<svg"));
}
