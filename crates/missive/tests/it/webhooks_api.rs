//! `i/webhooks/*` and `admin/webhooks/*`: params, limits, ownership and error ids.

use serde_json::{Value, json};

use crate::errors;
use crate::support::{ErrorCase, TestApp, assert_schema};

#[tokio::test]
async fn create_list_show_update_delete() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let created = app
        .ok("i/webhooks/create", json!({ "name": "ci", "url": "https://hooks.example/a", "on": ["note", "reaction", "note"] }), Some(&alice))
        .await;
    assert_schema("UserWebhook", &created);
    assert_eq!(created["userId"], alice_id.as_str());
    assert_eq!(
        created["secret"], "",
        "the secret defaults to an empty string"
    );
    assert_eq!(created["active"], true);
    assert_eq!(
        created["on"],
        json!(["note", "reaction", "note"]),
        "duplicates are accepted, as in Misskey"
    );
    assert_eq!(created["latestSentAt"], Value::Null);
    assert_eq!(created["latestStatus"], Value::Null);
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 16);

    let listed = app
        .ok("i/webhooks/list", json!({ "limit": 100 }), Some(&alice))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_schema("UserWebhook", &listed[0]);
    assert_eq!(
        app.ok("i/webhooks/show", json!({ "webhookId": id }), Some(&alice))
            .await,
        created
    );

    app.no_content("i/webhooks/update", json!({ "webhookId": id, "name": "renamed", "secret": "s3cret", "on": ["follow"], "active": false }), Some(&alice))
        .await;
    let shown = app
        .ok("i/webhooks/show", json!({ "webhookId": id }), Some(&alice))
        .await;
    assert_eq!(
        (
            shown["name"].clone(),
            shown["secret"].clone(),
            shown["on"].clone(),
            shown["active"].clone()
        ),
        (
            json!("renamed"),
            json!("s3cret"),
            json!(["follow"]),
            json!(false)
        )
    );
    assert_eq!(
        shown["url"], "https://hooks.example/a",
        "omitted keys are left unchanged"
    );

    app.no_content(
        "i/webhooks/update",
        json!({ "webhookId": id, "secret": null }),
        Some(&alice),
    )
    .await;
    assert_eq!(
        app.ok("i/webhooks/show", json!({ "webhookId": id }), Some(&alice))
            .await["secret"],
        "",
        "null clears the secret"
    );

    app.no_content(
        "i/webhooks/delete",
        json!({ "webhookId": id }),
        Some(&alice),
    )
    .await;
    assert_eq!(
        app.ok("i/webhooks/list", json!({}), Some(&alice)).await,
        json!([])
    );
}

#[tokio::test]
async fn parameters_are_validated_like_misskey() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let ok = json!({ "name": "n", "url": "http://127.0.0.1:9/x", "on": ["note"] });
    let with = |key: &str, value: Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = ok.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let cases = [
        (without("name"), "#/required"),
        (without("url"), "#/required"),
        (without("on"), "#/required"),
        (with("name", json!("")), "#/properties/name/minLength"),
        (
            with("name", json!("x".repeat(101))),
            "#/properties/name/maxLength",
        ),
        (with("url", json!("")), "#/properties/url/minLength"),
        (
            with(
                "url",
                json!(format!("https://x.example/{}", "a".repeat(1024))),
            ),
            "#/properties/url/maxLength",
        ),
        (
            with("url", json!("ftp://x.example/")),
            "#/properties/url/format",
        ),
        (with("url", json!("not a url")), "#/properties/url/format"),
        (with("url", json!("/relative")), "#/properties/url/format"),
        (
            with("secret", json!("s".repeat(1025))),
            "#/properties/secret/maxLength",
        ),
        (with("secret", json!(5)), "#/properties/secret/type"),
        (with("on", json!("note")), "#/properties/on/type"),
        (
            with("on", json!(["note", "edited"])),
            "#/properties/on/items/enum",
        ),
        (with("name", json!(1)), "#/properties/name/type"),
    ];
    app.check_errors(cases.into_iter().map(|(body, param)| {
        ErrorCase::invalid_param("i/webhooks/create", Some(&alice), body, param)
    }))
    .await;
    // Exactly the maxima are fine.
    let max = json!({ "name": "x".repeat(100), "url": format!("https://x.example/{}", "a".repeat(1004)), "secret": "s".repeat(1024), "on": [] });
    app.ok("i/webhooks/create", max, Some(&alice)).await;

    let id = app
        .create_webhook(&alice, "http://127.0.0.1:9/x", &["note"], "")
        .await;
    app.check_errors(
        [
            (json!({}), "#/required"),
            (
                json!({ "webhookId": "a-b" }),
                "#/properties/webhookId/format",
            ),
            (
                json!({ "webhookId": id, "url": "gopher://x" }),
                "#/properties/url/format",
            ),
            (
                json!({ "webhookId": id, "active": "yes" }),
                "#/properties/active/type",
            ),
        ]
        .into_iter()
        .map(|(body, param)| {
            ErrorCase::invalid_param("i/webhooks/update", Some(&alice), body, param)
        }),
    )
    .await;
}

#[tokio::test]
async fn the_webhook_limit_counts_existing_webhooks() {
    let app = TestApp::spawn_with(&[("MISSIVE_WEBHOOK_LIMIT", "2")]).await;
    let (_, alice) = app.signup("alice").await;
    let me = app.ok("i", json!({}), Some(&alice)).await;
    assert_eq!(me["policies"]["webhookLimit"], 2);
    let first = app
        .create_webhook(&alice, "http://127.0.0.1:9/a", &["note"], "")
        .await;
    app.create_webhook(&alice, "http://127.0.0.1:9/b", &["note"], "")
        .await;
    let err = app
        .fails(
            "i/webhooks/create",
            json!({ "name": "c", "url": "http://127.0.0.1:9/c", "on": [] }),
            Some(&alice),
            400,
            "TOO_MANY_WEBHOOKS",
            errors::TOO_MANY_WEBHOOKS,
        )
        .await;
    assert_eq!(err["message"], "You cannot create webhook any more.");
    app.no_content(
        "i/webhooks/delete",
        json!({ "webhookId": first }),
        Some(&alice),
    )
    .await;
    app.create_webhook(&alice, "http://127.0.0.1:9/c", &["note"], "")
        .await;

    let zero = TestApp::spawn_with(&[("MISSIVE_WEBHOOK_LIMIT", "0")]).await;
    let (_, bob) = zero.signup("bob").await;
    zero.fails(
        "i/webhooks/create",
        json!({ "name": "c", "url": "http://127.0.0.1:9/c", "on": [] }),
        Some(&bob),
        400,
        "TOO_MANY_WEBHOOKS",
        errors::TOO_MANY_WEBHOOKS,
    )
    .await;
}

#[tokio::test]
async fn a_user_never_sees_or_changes_another_users_webhooks() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let hook = app
        .create_webhook(&alice, "http://127.0.0.1:9/a", &["note"], "alice-secret")
        .await;
    assert_eq!(
        app.ok("i/webhooks/list", json!({}), Some(&bob)).await,
        json!([])
    );
    let cases = [
        (
            "i/webhooks/show",
            json!({ "webhookId": hook }),
            errors::NO_SUCH_WEBHOOK_SHOW,
        ),
        (
            "i/webhooks/update",
            json!({ "webhookId": hook, "active": false }),
            errors::NO_SUCH_WEBHOOK_UPDATE,
        ),
        (
            "i/webhooks/delete",
            json!({ "webhookId": hook }),
            errors::NO_SUCH_WEBHOOK_DELETE,
        ),
        (
            "i/webhooks/test",
            json!({ "webhookId": hook, "type": "note" }),
            errors::NO_SUCH_WEBHOOK_TEST,
        ),
    ];
    // Bob's call on alice's webhook, and alice's on a well-formed id that names nothing,
    // get the same answer.
    app.check_errors(cases.iter().flat_map(|(endpoint, body, id)| {
        let mut unknown = body.clone();
        unknown["webhookId"] = json!("0000000000000000");
        [
            ErrorCase::new(
                endpoint,
                Some(&bob),
                body.clone(),
                400,
                "NO_SUCH_WEBHOOK",
                id,
            )
            .message("No such webhook."),
            ErrorCase::new(endpoint, Some(&alice), unknown, 400, "NO_SUCH_WEBHOOK", id),
        ]
    }))
    .await;
    let still = app
        .ok(
            "i/webhooks/show",
            json!({ "webhookId": hook }),
            Some(&alice),
        )
        .await;
    assert_eq!(still["active"], true);
    assert_eq!(still["secret"], "alice-secret");
}

#[tokio::test]
async fn credentials_are_required() {
    let app = TestApp::spawn().await;
    for endpoint in [
        "i/webhooks/create",
        "i/webhooks/list",
        "i/webhooks/show",
        "i/webhooks/update",
        "i/webhooks/delete",
    ] {
        app.fails(
            endpoint,
            json!({}),
            None,
            401,
            "CREDENTIAL_REQUIRED",
            errors::CREDENTIAL_REQUIRED,
        )
        .await;
    }
    // `test` is a secure endpoint: no token is ACCESS_DENIED, as in Misskey.
    app.fails(
        "i/webhooks/test",
        json!({ "webhookId": "x", "type": "note" }),
        None,
        400,
        "ACCESS_DENIED",
        errors::ACCESS_DENIED,
    )
    .await;
}

#[tokio::test]
async fn administrators_list_and_switch_every_webhook() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.signup("root").await;
    let (alice_id, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let a1 = app
        .create_webhook(&alice, "http://127.0.0.1:9/a1", &["note"], "")
        .await;
    let a2 = app
        .create_webhook(&alice, "http://127.0.0.1:9/a2", &["note"], "")
        .await;
    let b1 = app
        .create_webhook(&bob, "http://127.0.0.1:9/b1", &["follow"], "")
        .await;

    let all = app
        .ok("admin/webhooks/list", json!({ "limit": 100 }), Some(&admin))
        .await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b1.as_str(), a2.as_str(), a1.as_str()], "newest first");
    for w in all.as_array().unwrap() {
        assert!(
            w.get("secret").is_none(),
            "only the owner sees a secret: {w}"
        );
        let mut with_secret = w.clone();
        with_secret["secret"] = json!("");
        assert_schema("UserWebhook", &with_secret);
    }

    let mine = app
        .ok(
            "admin/webhooks/list",
            json!({ "userId": alice_id }),
            Some(&admin),
        )
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let paged = app
        .ok(
            "admin/webhooks/list",
            json!({ "limit": 1, "untilId": b1 }),
            Some(&admin),
        )
        .await;
    assert_eq!(paged[0]["id"], a2.as_str());
    let since = app
        .ok(
            "admin/webhooks/list",
            json!({ "sinceId": a1 }),
            Some(&admin),
        )
        .await;
    assert_eq!(since.as_array().unwrap().len(), 2);

    app.no_content(
        "admin/webhooks/update",
        json!({ "webhookId": a1, "active": false }),
        Some(&admin),
    )
    .await;
    let inactive = app
        .ok(
            "admin/webhooks/list",
            json!({ "active": false }),
            Some(&admin),
        )
        .await;
    assert_eq!(inactive.as_array().unwrap().len(), 1);
    assert_eq!(inactive[0]["id"], a1.as_str());
    assert_eq!(
        app.ok("i/webhooks/show", json!({ "webhookId": a1 }), Some(&alice))
            .await["active"],
        false
    );
    app.no_content(
        "admin/webhooks/update",
        json!({ "webhookId": a1, "active": true }),
        Some(&admin),
    )
    .await;
    assert_eq!(
        app.ok("i/webhooks/show", json!({ "webhookId": a1 }), Some(&alice))
            .await["active"],
        true
    );

    app.fails(
        "admin/webhooks/update",
        json!({ "webhookId": a1 }),
        Some(&admin),
        400,
        "INVALID_PARAM",
        errors::INVALID_PARAM,
    )
    .await;
    app.fails(
        "admin/webhooks/update",
        json!({ "webhookId": "0000000000000000", "active": true }),
        Some(&admin),
        400,
        "NO_SUCH_WEBHOOK",
        errors::NO_SUCH_WEBHOOK_ADMIN_UPDATE,
    )
    .await;
    for endpoint in ["admin/webhooks/list", "admin/webhooks/update"] {
        let body = json!({ "webhookId": a1, "active": false });
        let err = app
            .fails(
                endpoint,
                body.clone(),
                Some(&alice),
                403,
                "ROLE_PERMISSION_DENIED",
                errors::ROLE_PERMISSION_DENIED,
            )
            .await;
        assert_eq!(err["kind"], "permission");
        app.fails(
            endpoint,
            body,
            None,
            401,
            "CREDENTIAL_REQUIRED",
            errors::CREDENTIAL_REQUIRED,
        )
        .await;
    }
    assert_eq!(
        app.ok("i/webhooks/show", json!({ "webhookId": a1 }), Some(&alice))
            .await["active"],
        true,
        "refused calls change nothing"
    );
}
