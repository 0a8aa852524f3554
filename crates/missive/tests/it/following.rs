//! `following/create` and `following/delete` (as Misskey's e2e `endpoints.ts` tests them).

use serde_json::{Value, json};

use crate::support::{TestApp, assert_schema};

const INVALID_PARAM: &str = "3d81ceae-475f-4600-b2a8-2bc116157532";

/// `(followersCount, followingCount)` of a user, as `users/show` says.
async fn counts(app: &TestApp, id: &str) -> (i64, i64) {
    let user = app.ok("users/show", json!({ "userId": id }), None).await;
    (
        user["followersCount"].as_i64().unwrap(),
        user["followingCount"].as_i64().unwrap(),
    )
}

/// One error case: the body, then the expected status, code and id (and `info.param` if any).
type Case = (Value, u16, &'static str, &'static str, Option<&'static str>);

async fn check_cases(app: &TestApp, endpoint: &str, token: &str, cases: Vec<Case>) {
    let mut failures = Vec::new();
    for (body, status, code, id, param) in cases {
        let (got, value) = app.api(endpoint, body.clone(), Some(token)).await;
        let e = &value["error"];
        let param_ok = param.is_none_or(|p| e["info"]["param"] == p);
        if got != status || e["code"] != code || e["id"] != id || !param_ok {
            failures.push(format!(
                "{endpoint} {body}: expected {status} {code} {id} {param:?}, got {got} {value}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn follow_answers_the_followee_as_user_lite_and_updates_counts() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, _) = app.signup("bob").await;

    let followee = app
        .ok(
            "following/create",
            json!({ "userId": bob_id }),
            Some(&alice),
        )
        .await;
    assert_schema("UserLite", &followee);
    assert_eq!(followee["id"], bob_id.as_str());
    assert_eq!(followee["username"], "bob");
    assert_eq!(followee["host"], Value::Null);
    // A UserLite: no detailed keys.
    for key in ["followersCount", "createdAt", "isFollowing", "description"] {
        assert!(
            followee.get(key).is_none(),
            "{key} in a UserLite: {followee}"
        );
    }
    assert_eq!(counts(&app, &alice_id).await, (0, 1));
    assert_eq!(counts(&app, &bob_id).await, (1, 0));

    // `withReplies` is accepted.
    let (carol_id, _) = app.signup("carol").await;
    app.ok(
        "following/create",
        json!({ "userId": carol_id, "withReplies": true }),
        Some(&alice),
    )
    .await;
    assert_eq!(counts(&app, &alice_id).await, (0, 2));
    assert_eq!(counts(&app, &carol_id).await, (1, 0));
}

#[tokio::test]
async fn follow_errors() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, _) = app.signup("bob").await;
    app.ok(
        "following/create",
        json!({ "userId": bob_id }),
        Some(&alice),
    )
    .await;

    let cases: Vec<Case> = vec![
        (
            json!({ "userId": bob_id }),
            400,
            "ALREADY_FOLLOWING",
            "35387507-38c7-4cb9-9197-300b93783fa0",
            None,
        ),
        (
            json!({ "userId": "0000000000000000" }),
            400,
            "NO_SUCH_USER",
            "fcd2eef9-a9b2-4c4f-8624-038099e90aa5",
            None,
        ),
        (
            json!({ "userId": "kyoppie" }),
            400,
            "NO_SUCH_USER",
            "fcd2eef9-a9b2-4c4f-8624-038099e90aa5",
            None,
        ),
        (
            json!({ "userId": alice_id }),
            400,
            "FOLLOWEE_IS_YOURSELF",
            "26fbe7bb-a331-4857-af17-205b426669a9",
            None,
        ),
        (
            json!({}),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
            Some("#/required"),
        ),
        (
            json!({ "userId": "foo-bar" }),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
            Some("#/properties/userId/format"),
        ),
        (
            json!({ "userId": "" }),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
            Some("#/properties/userId/format"),
        ),
        (
            json!({ "userId": null }),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
            Some("#/properties/userId/type"),
        ),
        (
            json!({ "userId": 1 }),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
            Some("#/properties/userId/type"),
        ),
        (
            json!({ "userId": bob_id, "withReplies": "yes" }),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
            Some("#/properties/withReplies/type"),
        ),
    ];
    check_cases(&app, "following/create", &alice, cases).await;
    // Nothing changed.
    assert_eq!(counts(&app, &alice_id).await, (0, 1));
    assert_eq!(counts(&app, &bob_id).await, (1, 0));

    app.fails(
        "following/create",
        json!({ "userId": bob_id }),
        None,
        401,
        "CREDENTIAL_REQUIRED",
        "1384574d-a912-4b81-8601-c7b1c4085df1",
    )
    .await;
}

#[tokio::test]
async fn unfollow_answers_the_followee_and_counts_go_back_down() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    app.ok(
        "following/create",
        json!({ "userId": bob_id }),
        Some(&alice),
    )
    .await;
    app.ok(
        "following/create",
        json!({ "userId": alice_id }),
        Some(&bob),
    )
    .await;
    assert_eq!(counts(&app, &alice_id).await, (1, 1));

    let followee = app
        .ok(
            "following/delete",
            json!({ "userId": bob_id }),
            Some(&alice),
        )
        .await;
    assert_schema("UserLite", &followee);
    assert_eq!(followee["id"], bob_id.as_str());
    assert!(followee.get("followersCount").is_none(), "{followee}");
    assert_eq!(counts(&app, &alice_id).await, (1, 0));
    assert_eq!(counts(&app, &bob_id).await, (0, 1));
    let seen = app
        .ok("users/show", json!({ "userId": bob_id }), Some(&alice))
        .await;
    assert_eq!(
        (seen["isFollowing"].clone(), seen["isFollowed"].clone()),
        (json!(false), json!(true))
    );

    // Following again works, and so does unfollowing again.
    app.ok(
        "following/create",
        json!({ "userId": bob_id }),
        Some(&alice),
    )
    .await;
    assert_eq!(counts(&app, &bob_id).await, (1, 1));
    app.ok(
        "following/delete",
        json!({ "userId": bob_id }),
        Some(&alice),
    )
    .await;
    assert_eq!(counts(&app, &bob_id).await, (0, 1));
    app.ok(
        "following/delete",
        json!({ "userId": alice_id }),
        Some(&bob),
    )
    .await;
    assert_eq!(counts(&app, &alice_id).await, (0, 0));
    assert_eq!(counts(&app, &bob_id).await, (0, 0));
}

#[tokio::test]
async fn unfollow_errors() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    // Bob follows alice, not the other way round.
    app.ok(
        "following/create",
        json!({ "userId": alice_id }),
        Some(&bob),
    )
    .await;

    let cases: Vec<Case> = vec![
        (
            json!({ "userId": bob_id }),
            400,
            "NOT_FOLLOWING",
            "5dbf82f5-c92b-40b1-87d1-6c8c0741fd09",
            None,
        ),
        (
            json!({ "userId": "0000000000000000" }),
            400,
            "NO_SUCH_USER",
            "5b12c78d-2b28-4dca-99d2-f56139b42ff8",
            None,
        ),
        (
            json!({ "userId": "kyoppie" }),
            400,
            "NO_SUCH_USER",
            "5b12c78d-2b28-4dca-99d2-f56139b42ff8",
            None,
        ),
        (
            json!({ "userId": alice_id }),
            400,
            "FOLLOWEE_IS_YOURSELF",
            "d9e400b9-36b0-4808-b1d8-79e707f1296c",
            None,
        ),
        (
            json!({}),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
            Some("#/required"),
        ),
        (
            json!({ "userId": "foo-bar" }),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
            Some("#/properties/userId/format"),
        ),
    ];
    check_cases(&app, "following/delete", &alice, cases).await;
    assert_eq!(counts(&app, &alice_id).await, (1, 0));
    assert_eq!(counts(&app, &bob_id).await, (0, 1));

    app.fails(
        "following/delete",
        json!({ "userId": alice_id }),
        None,
        401,
        "CREDENTIAL_REQUIRED",
        "1384574d-a912-4b81-8601-c7b1c4085df1",
    )
    .await;
    assert_eq!(counts(&app, &alice_id).await, (1, 0));
}
