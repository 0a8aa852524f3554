//! `following/create` and `following/delete` (as Misskey's e2e `endpoints.ts` tests them).

use serde_json::{Value, json};

use crate::errors;
use crate::support::{ErrorCase, TestApp, assert_schema};

/// `(followersCount, followingCount)` of a user, as `users/show` says.
async fn counts(app: &TestApp, id: &str) -> (i64, i64) {
    let user = app.ok("users/show", json!({ "userId": id }), None).await;
    (
        user["followersCount"].as_i64().unwrap(),
        user["followingCount"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn follow_answers_the_followee_as_user_lite_and_updates_counts() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, _) = app.signup("bob").await;

    let followee = app.follow(&alice, &bob_id).await;
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
    app.follow(&alice, &bob_id).await;

    let endpoint = "following/create";
    let me = Some(alice.as_str());
    let error = |body: Value, code: &'static str, id: &'static str| {
        ErrorCase::new(endpoint, me, body, 400, code, id)
    };
    let invalid = |body: Value, param: &str| ErrorCase::invalid_param(endpoint, me, body, param);
    app.check_errors([
        error(
            json!({ "userId": bob_id }),
            "ALREADY_FOLLOWING",
            errors::ALREADY_FOLLOWING,
        ),
        error(
            json!({ "userId": "0000000000000000" }),
            "NO_SUCH_USER",
            errors::NO_SUCH_USER_FOLLOWING_CREATE,
        ),
        error(
            json!({ "userId": "kyoppie" }),
            "NO_SUCH_USER",
            errors::NO_SUCH_USER_FOLLOWING_CREATE,
        ),
        error(
            json!({ "userId": alice_id }),
            "FOLLOWEE_IS_YOURSELF",
            errors::FOLLOWEE_IS_YOURSELF_FOLLOWING_CREATE,
        ),
        invalid(json!({}), "#/required"),
        invalid(json!({ "userId": "foo-bar" }), "#/properties/userId/format"),
        invalid(json!({ "userId": "" }), "#/properties/userId/format"),
        invalid(json!({ "userId": null }), "#/properties/userId/type"),
        invalid(json!({ "userId": 1 }), "#/properties/userId/type"),
        invalid(
            json!({ "userId": bob_id, "withReplies": "yes" }),
            "#/properties/withReplies/type",
        ),
    ])
    .await;
    // Nothing changed.
    assert_eq!(counts(&app, &alice_id).await, (0, 1));
    assert_eq!(counts(&app, &bob_id).await, (1, 0));

    app.fails(
        "following/create",
        json!({ "userId": bob_id }),
        None,
        401,
        "CREDENTIAL_REQUIRED",
        errors::CREDENTIAL_REQUIRED,
    )
    .await;
}

#[tokio::test]
async fn unfollow_answers_the_followee_and_counts_go_back_down() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    app.follow(&alice, &bob_id).await;
    app.follow(&bob, &alice_id).await;
    assert_eq!(counts(&app, &alice_id).await, (1, 1));

    let followee = app.unfollow(&alice, &bob_id).await;
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
    app.follow(&alice, &bob_id).await;
    assert_eq!(counts(&app, &bob_id).await, (1, 1));
    app.unfollow(&alice, &bob_id).await;
    assert_eq!(counts(&app, &bob_id).await, (0, 1));
    app.unfollow(&bob, &alice_id).await;
    assert_eq!(counts(&app, &alice_id).await, (0, 0));
    assert_eq!(counts(&app, &bob_id).await, (0, 0));
}

#[tokio::test]
async fn unfollow_errors() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    // Bob follows alice, not the other way round.
    app.follow(&bob, &alice_id).await;

    let endpoint = "following/delete";
    let me = Some(alice.as_str());
    let error = |body: Value, code: &'static str, id: &'static str| {
        ErrorCase::new(endpoint, me, body, 400, code, id)
    };
    let invalid = |body: Value, param: &str| ErrorCase::invalid_param(endpoint, me, body, param);
    app.check_errors([
        error(
            json!({ "userId": bob_id }),
            "NOT_FOLLOWING",
            errors::NOT_FOLLOWING,
        ),
        error(
            json!({ "userId": "0000000000000000" }),
            "NO_SUCH_USER",
            errors::NO_SUCH_USER_FOLLOWING_DELETE,
        ),
        error(
            json!({ "userId": "kyoppie" }),
            "NO_SUCH_USER",
            errors::NO_SUCH_USER_FOLLOWING_DELETE,
        ),
        error(
            json!({ "userId": alice_id }),
            "FOLLOWEE_IS_YOURSELF",
            errors::FOLLOWEE_IS_YOURSELF_FOLLOWING_DELETE,
        ),
        invalid(json!({}), "#/required"),
        invalid(json!({ "userId": "foo-bar" }), "#/properties/userId/format"),
    ])
    .await;
    assert_eq!(counts(&app, &alice_id).await, (1, 0));
    assert_eq!(counts(&app, &bob_id).await, (0, 1));

    app.fails(
        "following/delete",
        json!({ "userId": alice_id }),
        None,
        401,
        "CREDENTIAL_REQUIRED",
        errors::CREDENTIAL_REQUIRED,
    )
    .await;
    assert_eq!(counts(&app, &alice_id).await, (1, 0));
}
