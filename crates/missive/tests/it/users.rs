//! `users/show` (Misskey's `UserLite`, `UserDetailedNotMe` and `MeDetailed` shapes).

use serde_json::{Value, json};

use crate::errors;
use crate::support::{ErrorCase, TestApp, assert_schema};

/// Keys of `MeDetailedOnly`: only the user themselves sees them.
const SELF_ONLY: &[&str] = &[
    "isAdmin",
    "isModerator",
    "policies",
    "loggedInDays",
    "mutedWords",
    "avatarId",
    "emailNotificationTypes",
];
/// The keys only a signed-in other user gets.
const RELATION: &[&str] = &[
    "isFollowing",
    "isFollowed",
    "hasPendingFollowRequestFromYou",
    "hasPendingFollowRequestToYou",
    "isBlocking",
    "isBlocked",
    "isMuted",
    "isRenoteMuted",
    "notify",
    "withReplies",
];
/// Secrets that `users/show` never includes, not even for yourself.
const SECRETS: &[&str] = &["email", "emailVerified", "securityKeysList", "token"];

fn present(value: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter(|k| value.get(**k).is_some())
        .map(|k| (*k).to_owned())
        .collect()
}

fn absent(value: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter(|k| value.get(**k).is_none())
        .map(|k| (*k).to_owned())
        .collect()
}

#[tokio::test]
async fn show_by_user_id_and_by_username() {
    let app = TestApp::spawn().await;
    let (alice_id, _) = app.signup("alice").await;
    let (bob_id, _) = app.signup("Bob").await;

    let by_id = app
        .ok("users/show", json!({ "userId": bob_id }), None)
        .await;
    assert_schema("UserDetailedNotMe", &by_id);
    assert_eq!(
        (by_id["id"].as_str(), by_id["username"].as_str()),
        (Some(bob_id.as_str()), Some("Bob"))
    );

    let mut failures = Vec::new();
    let host = app.addr.to_string();
    let cases = [
        json!({ "username": "Bob" }),
        json!({ "username": "bob" }),
        json!({ "username": "BOB" }),
        json!({ "username": "bob", "host": null }),
        json!({ "username": "bob", "host": host }),
    ];
    for body in cases {
        let (status, value) = app.api("users/show", body.clone(), None).await;
        if status != 200 || value["id"] != bob_id.as_str() {
            failures.push(format!("{body}: {status} {value}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The whole object is the same whichever way the user is named.
    let by_name = app
        .ok("users/show", json!({ "username": "bob" }), None)
        .await;
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("onlineStatus");
        v
    };
    assert_eq!(strip(by_name), strip(by_id));
    assert_eq!(
        app.ok("users/show", json!({ "userId": alice_id }), None)
            .await["username"],
        "alice"
    );
}

#[tokio::test]
async fn show_by_user_ids_keeps_the_given_order_and_skips_unknown_ids() {
    let app = TestApp::spawn().await;
    let (a, _) = app.signup("alice").await;
    let (b, _) = app.signup("bob").await;
    let (c, carol) = app.signup("carol").await;

    let list = app
        .ok(
            "users/show",
            json!({ "userIds": [c, "unknown0000000000", a, b] }),
            None,
        )
        .await;
    let ids: Vec<&str> = list
        .as_array()
        .expect("an array")
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [c.as_str(), a.as_str(), b.as_str()]);
    for user in list.as_array().unwrap() {
        assert_schema("UserDetailedNotMe", user);
    }
    let list = app
        .ok("users/show", json!({ "userIds": [b, a] }), None)
        .await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()]);

    assert_eq!(
        app.ok("users/show", json!({ "userIds": [] }), None).await,
        json!([])
    );
    assert_eq!(
        app.ok("users/show", json!({ "userIds": ["nobody"] }), None)
            .await,
        json!([])
    );

    // Seen by carol: herself as MeDetailed, the others with the relation block.
    let list = app
        .ok("users/show", json!({ "userIds": [a, c] }), Some(&carol))
        .await;
    assert_schema("UserDetailedNotMe", &list[0]);
    assert_eq!(list[0]["isFollowing"], false);
    assert_schema("MeDetailed", &list[1]);
    assert_eq!(list[1]["isAdmin"], false);
    assert!(list[1].get("isFollowing").is_none());

    let err = app
        .fails(
            "users/show",
            json!({ "userIds": [a, "bad-id"] }),
            None,
            400,
            "INVALID_PARAM",
            errors::INVALID_PARAM,
        )
        .await;
    assert_eq!(err["info"]["param"], "#/properties/userIds/items/format");
    let err = app
        .fails(
            "users/show",
            json!({ "userIds": [a, a] }),
            None,
            400,
            "INVALID_PARAM",
            errors::INVALID_PARAM,
        )
        .await;
    assert_eq!(err["info"]["param"], "#/properties/userIds/uniqueItems");
}

#[tokio::test]
async fn yourself_is_me_detailed_without_secrets() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;

    let me = app
        .ok("users/show", json!({ "userId": alice_id }), Some(&alice))
        .await;
    assert_schema("MeDetailed", &me);
    assert_eq!(me["isAdmin"], true);
    assert_eq!(
        present(&me, SECRETS),
        Vec::<String>::new(),
        "users/show never shows secrets"
    );
    assert_eq!(
        present(&me, RELATION),
        Vec::<String>::new(),
        "no relation block for yourself"
    );
    assert_eq!(absent(&me, SELF_ONLY), Vec::<String>::new());

    let seen_by_bob = app
        .ok("users/show", json!({ "userId": alice_id }), Some(&bob))
        .await;
    assert_schema("UserDetailedNotMe", &seen_by_bob);
    assert_eq!(
        present(&seen_by_bob, SELF_ONLY),
        Vec::<String>::new(),
        "others do not see MeDetailed keys"
    );
    assert_eq!(present(&seen_by_bob, SECRETS), Vec::<String>::new());
    assert_eq!(absent(&seen_by_bob, RELATION), Vec::<String>::new());

    let anonymous = app
        .ok("users/show", json!({ "userId": alice_id }), None)
        .await;
    assert_schema("UserDetailedNotMe", &anonymous);
    assert_eq!(present(&anonymous, SELF_ONLY), Vec::<String>::new());
    assert_eq!(
        present(&anonymous, RELATION),
        Vec::<String>::new(),
        "no relation block for anonymous viewers"
    );
    assert!(anonymous.get("followedMessage").is_none());
}

#[tokio::test]
async fn the_relation_block_reflects_follows() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    let relation = |v: &Value| (v["isFollowing"].clone(), v["isFollowed"].clone());

    let seen = app
        .ok("users/show", json!({ "userId": bob_id }), Some(&alice))
        .await;
    assert_eq!(relation(&seen), (json!(false), json!(false)));
    assert!(
        seen.get("followedMessage").is_none(),
        "followedMessage only comes with isFollowing"
    );

    app.follow(&alice, &bob_id).await;
    let bob_seen_by_alice = app
        .ok("users/show", json!({ "userId": bob_id }), Some(&alice))
        .await;
    assert_schema("UserDetailedNotMe", &bob_seen_by_alice);
    assert_eq!(relation(&bob_seen_by_alice), (json!(true), json!(false)));
    assert_eq!(bob_seen_by_alice["followedMessage"], Value::Null);
    assert_eq!(bob_seen_by_alice["followersCount"], 1);
    let alice_seen_by_bob = app
        .ok("users/show", json!({ "userId": alice_id }), Some(&bob))
        .await;
    assert_eq!(relation(&alice_seen_by_bob), (json!(false), json!(true)));
    assert_eq!(alice_seen_by_bob["followingCount"], 1);

    app.follow(&bob, &alice_id).await;
    let mutual = app
        .ok("users/show", json!({ "userId": bob_id }), Some(&alice))
        .await;
    assert_eq!(relation(&mutual), (json!(true), json!(true)));

    let anonymous = app
        .ok("users/show", json!({ "userId": bob_id }), None)
        .await;
    assert_eq!(present(&anonymous, RELATION), Vec::<String>::new());
}

#[tokio::test]
async fn counts_follow_follows_and_notes() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    let (carol_id, carol) = app.signup("carol").await;
    app.follow(&bob, &alice_id).await;
    app.follow(&carol, &alice_id).await;
    app.follow(&alice, &bob_id).await;
    let first = app.post_note(&alice, json!({ "text": "one" })).await;
    app.post_note(&alice, json!({ "text": "two", "visibility": "specified" }))
        .await;
    app.post_note(&alice, json!({ "renoteId": first["id"] }))
        .await;
    app.post_note(&bob, json!({ "text": "reply", "replyId": first["id"] }))
        .await;

    let counts = |v: &Value| {
        [
            v["followersCount"].clone(),
            v["followingCount"].clone(),
            v["notesCount"].clone(),
        ]
    };
    let expected = [
        (&alice_id, [2, 1, 3]),
        (&bob_id, [1, 1, 1]),
        (&carol_id, [0, 1, 0]),
    ];
    let mut failures = Vec::new();
    for (id, want) in expected {
        for viewer in [None, Some(alice.as_str()), Some(carol.as_str())] {
            let user = app.ok("users/show", json!({ "userId": id }), viewer).await;
            if counts(&user) != want.map(|n| json!(n)) {
                failures.push(format!(
                    "{} seen by {viewer:?}: {:?}, expected {want:?}",
                    user["username"],
                    counts(&user)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn moderators_see_the_moderation_note_and_security_summary() {
    // `UserDetailedNotMeOnly`: `moderationNote` only for moderators; `twoFactorEnabled`,
    // `usePasswordLessLogin` and `securityKeys` for the user themselves and moderators.
    let app = TestApp::spawn().await;
    let (admin_id, admin) = app.signup("admin").await;
    let (bob_id, bob) = app.signup("bob").await;
    let (carol_id, _) = app.signup("carol").await;
    let moderator_keys = json!({ "moderationNote": "", "twoFactorEnabled": false, "usePasswordLessLogin": false, "securityKeys": false });
    let keys: Vec<&str> = moderator_keys
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();

    let seen_by_admin = app
        .ok("users/show", json!({ "userId": bob_id }), Some(&admin))
        .await;
    assert_schema("UserDetailedNotMe", &seen_by_admin);
    for (key, want) in moderator_keys.as_object().unwrap() {
        assert_eq!(
            seen_by_admin.get(key),
            Some(want),
            "{key} for the administrator"
        );
    }
    assert_eq!(present(&seen_by_admin, SELF_ONLY), Vec::<String>::new());
    let list = app
        .ok(
            "users/show",
            json!({ "userIds": [bob_id, carol_id] }),
            Some(&admin),
        )
        .await;
    for user in list.as_array().unwrap() {
        assert_eq!(absent(user, &keys), Vec::<String>::new(), "{user}");
    }

    for (viewer, who) in [(Some(bob.as_str()), "bob"), (None, "anonymous")] {
        for id in [&admin_id, &carol_id] {
            let user = app.ok("users/show", json!({ "userId": id }), viewer).await;
            assert_eq!(
                present(&user, &keys),
                Vec::<String>::new(),
                "{who} looking at {id}"
            );
        }
    }

    // Yourself: the security summary always, the moderation note only as a moderator.
    let admin_me = app.ok("i", json!({}), Some(&admin)).await;
    assert_schema("MeDetailed", &admin_me);
    assert_eq!(admin_me["moderationNote"], "");
    let admin_shown = app
        .ok("users/show", json!({ "userId": admin_id }), Some(&admin))
        .await;
    assert_eq!(admin_shown["moderationNote"], "");
    let bob_me = app.ok("i", json!({}), Some(&bob)).await;
    assert!(bob_me.get("moderationNote").is_none(), "{bob_me}");
    assert_eq!(absent(&bob_me, &keys[1..]), Vec::<String>::new());
}

#[tokio::test]
async fn unknown_users_are_404_and_bad_ids_400() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    let not_found = [
        json!({ "userId": "0000000000000000" }),
        json!({ "userId": "kyoppie" }),
        json!({ "username": "nobody" }),
        json!({ "username": "alice", "host": "example.com" }),
        json!({ "username": "alice", "host": "other.example" }),
    ];
    let not_found = not_found.into_iter().map(|body| {
        ErrorCase::new(
            "users/show",
            None,
            body,
            404,
            "NO_SUCH_USER",
            errors::NO_SUCH_USER_USERS_SHOW,
        )
        .kind("client")
    });
    let invalid = [
        (json!({ "userId": "foo-bar" }), "#/properties/userId/format"),
        (json!({ "userId": "" }), "#/properties/userId/format"),
        (json!({ "userId": 12 }), "#/properties/userId/type"),
        (json!({ "userIds": "abc" }), "#/properties/userIds/type"),
    ]
    .into_iter()
    .map(|(body, param)| ErrorCase::invalid_param("users/show", None, body, param));
    app.check_errors(not_found.chain(invalid)).await;
    // Neither a userId, userIds nor username.
    let (status, value) = app.api("users/show", json!({}), None).await;
    assert!(
        status == 400 && value["error"]["code"] == "INVALID_PARAM",
        "{{}}: expected 400 INVALID_PARAM, got {status} {value}"
    );
}
