//! Accounts: `signup`, `signin-flow`, `admin/accounts/create` and `i`
//! (the packed `MeDetailed`, what a fresh account holds, and tokens).

use serde_json::{Value, json};

use crate::errors;
use crate::support::{ErrorCase, TestApp, assert_schema};

/// Checks one `key == value` per row of `expected` and returns a line per mismatch.
fn mismatches(what: &str, value: &Value, expected: &[(&str, Value)]) -> Vec<String> {
    expected
        .iter()
        .filter(|(key, want)| value.get(*key) != Some(want))
        .map(|(key, want)| format!("{what}: {key} is {:?}, expected {want}", value.get(*key)))
        .collect()
}

#[tokio::test]
async fn signup_returns_me_detailed_with_a_native_token() {
    let app = TestApp::spawn().await;
    let me = app
        .ok(
            "signup",
            json!({ "username": "alice", "password": "pw" }),
            None,
        )
        .await;
    assert_schema("MeDetailed", &me);
    assert_eq!(me["username"], "alice");
    let token = me["token"].as_str().expect("signup answers a token");
    assert_eq!(token.len(), 16, "a native token is 16 characters: {token}");
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()), "{token}");
    // Signup answers with secrets, like `i` with a native token.
    assert_eq!(me["email"], Value::Null);
    assert_eq!(me["emailVerified"], false);
    assert_eq!(me["securityKeysList"], json!([]));
    // The token works.
    let i = app.ok("i", json!({}), Some(token)).await;
    assert_eq!(i["id"], me["id"]);
}

#[tokio::test]
async fn the_first_account_is_the_administrator() {
    let app = TestApp::spawn().await;
    let first = app
        .ok(
            "signup",
            json!({ "username": "root", "password": "pw" }),
            None,
        )
        .await;
    let second = app
        .ok(
            "signup",
            json!({ "username": "bob", "password": "pw" }),
            None,
        )
        .await;
    assert_eq!(
        (first["isAdmin"].clone(), first["isModerator"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        (second["isAdmin"].clone(), second["isModerator"].clone()),
        (json!(false), json!(false))
    );
    let again = app.ok("i", json!({}), second["token"].as_str()).await;
    assert_eq!(again["isAdmin"], false);
}

#[tokio::test]
async fn signup_refuses_bad_usernames_and_passwords() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({ "username": "test.", "password": "pw" }),
            "#/properties/username/pattern",
        ),
        (
            json!({ "username": "a-b", "password": "pw" }),
            "#/properties/username/pattern",
        ),
        (
            json!({ "username": "héllo", "password": "pw" }),
            "#/properties/username/pattern",
        ),
        (
            json!({ "username": "a".repeat(21), "password": "pw" }),
            "#/properties/username/maxLength",
        ),
        (
            json!({ "username": "", "password": "pw" }),
            "#/properties/username/minLength",
        ),
        (
            json!({ "username": "alice", "password": "" }),
            "#/properties/password/minLength",
        ),
        (json!({ "username": "alice" }), "#/required"),
        (json!({ "password": "pw" }), "#/required"),
        (
            json!({ "username": 1, "password": "pw" }),
            "#/properties/username/type",
        ),
        (
            json!({ "username": "alice", "password": { "a": 1 } }),
            "#/properties/password/type",
        ),
    ];
    app.check_errors(
        cases
            .into_iter()
            .map(|(body, param)| ErrorCase::invalid_param("signup", None, body, param)),
    )
    .await;
    // Nothing was created: the 20-character name and `alice` are still free.
    let me = app
        .ok(
            "signup",
            json!({ "username": "a".repeat(20), "password": "pw" }),
            None,
        )
        .await;
    assert_eq!(me["username"], "a".repeat(20));
    app.signup("alice").await;
}

#[tokio::test]
async fn duplicate_usernames_are_refused_case_insensitively() {
    let app = TestApp::spawn().await;
    app.signup("alice").await;
    for name in ["alice", "Alice", "ALICE"] {
        let (status, value) = app
            .api(
                "signup",
                json!({ "username": name, "password": "pw" }),
                None,
            )
            .await;
        assert_eq!(status, 400, "{name}: {value}");
        assert_eq!(
            value["error"]["code"], "DUPLICATED_USERNAME",
            "{name}: {value}"
        );
        assert!(value["error"]["id"].is_string(), "{value}");
    }
    // A name keeps its case, and users/show finds it under any case.
    let (_, bob) = app.signup("Bob").await;
    assert_eq!(app.ok("i", json!({}), Some(&bob)).await["username"], "Bob");
    assert_eq!(
        app.ok("users/show", json!({ "username": "bob" }), None)
            .await["username"],
        "Bob"
    );
}

#[tokio::test]
async fn a_fresh_account_has_misskeys_default_values() {
    let app = TestApp::spawn().await;
    let me = app
        .ok(
            "signup",
            json!({ "username": "alice", "password": "pw" }),
            None,
        )
        .await;
    let expected = [
        ("host", Value::Null),
        ("onlineStatus", json!("unknown")),
        ("emojis", json!({})),
        ("badgeRoles", json!([])),
        ("alsoKnownAs", Value::Null),
        ("publicReactions", json!(true)),
        ("chatScope", json!("mutual")),
        (
            "emailNotificationTypes",
            json!(["follow", "receiveFollowRequest"]),
        ),
        ("loggedInDays", json!(0)),
        ("name", Value::Null),
        ("isBot", json!(false)),
        ("isCat", json!(false)),
        ("avatarBlurhash", Value::Null),
        ("avatarDecorations", json!([])),
        ("followersCount", json!(0)),
        ("followingCount", json!(0)),
        ("notesCount", json!(0)),
        ("isLocked", json!(false)),
        ("description", Value::Null),
        ("roles", json!([])),
    ];
    let failures = mismatches("signup", &me, &expected);
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // `i` counts the first login day; a second call the same day does not count again.
    let token = me["token"].as_str().unwrap();
    let i = app.ok("i", json!({}), Some(token)).await;
    assert_eq!(i["loggedInDays"], 1);
    assert_eq!(
        i["onlineStatus"], "online",
        "calling the API makes the user active"
    );
    assert_eq!(app.ok("i", json!({}), Some(token)).await["loggedInDays"], 1);
}

#[tokio::test]
async fn the_avatar_url_is_an_identicon_on_this_servers_origin() {
    // Without a configured `url` the origin is the address the server actually bound
    // (here an ephemeral port), never the `:0` of the listen setting.
    let app = TestApp::spawn().await;
    let me = app
        .ok(
            "signup",
            json!({ "username": "Alice", "password": "pw" }),
            None,
        )
        .await;
    assert_eq!(
        me["avatarUrl"],
        format!("{}/identicon/alice@{}", app.url, app.addr)
    );
}

#[tokio::test]
async fn signup_can_be_closed() {
    let app = TestApp::spawn_with(&[("MISSIVE_SIGNUP_OPEN", "false")]).await;
    let (status, value) = app
        .api(
            "signup",
            json!({ "username": "alice", "password": "pw" }),
            None,
        )
        .await;
    assert_eq!(status, 400, "{value}");
    assert!(value["error"]["code"].is_string(), "{value}");
    assert!(value["error"]["id"].is_string(), "{value}");
    assert!(value["error"].get("token").is_none() && value.get("token").is_none());
    // The administrator can still create accounts.
    let root = app
        .ok(
            "admin/accounts/create",
            json!({ "username": "root", "password": "pw" }),
            None,
        )
        .await;
    assert_eq!(root["isAdmin"], true);
    let bob = app
        .ok(
            "admin/accounts/create",
            json!({ "username": "bob", "password": "pw" }),
            root["token"].as_str(),
        )
        .await;
    assert_eq!(bob["isAdmin"], false);
}

#[tokio::test]
async fn signin_flow() {
    let app = TestApp::spawn().await;
    let me = app
        .ok(
            "signup",
            json!({ "username": "alice", "password": "correct horse" }),
            None,
        )
        .await;

    let ok = app
        .ok(
            "signin-flow",
            json!({ "username": "alice", "password": "correct horse" }),
            None,
        )
        .await;
    assert_eq!(ok["finished"], true);
    assert_eq!(ok["id"], me["id"]);
    let i = ok["i"].as_str().expect("signin answers the native token");
    assert_eq!(i, me["token"]);
    assert_eq!(app.ok("i", json!({}), Some(i)).await["username"], "alice");
    // The username is case-insensitive.
    let ok = app
        .ok(
            "signin-flow",
            json!({ "username": "ALICE", "password": "correct horse" }),
            None,
        )
        .await;
    assert_eq!(ok["i"], me["token"]);

    let next = app
        .ok("signin-flow", json!({ "username": "alice" }), None)
        .await;
    assert_eq!(next, json!({ "finished": false, "next": "password" }));

    let (status, value) = app
        .api(
            "signin-flow",
            json!({ "username": "alice", "password": "wrong" }),
            None,
        )
        .await;
    assert_eq!(status, 403, "{value}");
    assert_eq!(value["error"]["id"], errors::INCORRECT_PASSWORD_SIGNIN_FLOW);
    assert!(value.get("i").is_none() && value["error"].get("i").is_none());

    let (status, value) = app
        .api(
            "signin-flow",
            json!({ "username": "nobody", "password": "x" }),
            None,
        )
        .await;
    assert_eq!(status, 404, "{value}");
    assert_eq!(value["error"]["id"], errors::NO_SUCH_USER_SIGNIN_FLOW);

    for password in [json!({ "a": 1 }), json!(1), json!(["correct horse"])] {
        let (status, value) = app
            .api(
                "signin-flow",
                json!({ "username": "alice", "password": password }),
                None,
            )
            .await;
        assert_eq!(status, 400, "{password}: {value}");
        assert!(value.get("i").is_none(), "{value}");
    }
}

#[tokio::test]
async fn admin_accounts_create() {
    let app = TestApp::spawn().await;
    // Initial setup: no account exists, so no credential is needed and the account is the administrator.
    let root = app
        .ok(
            "admin/accounts/create",
            json!({ "username": "root", "password": "pw" }),
            None,
        )
        .await;
    assert_schema("MeDetailed", &root);
    assert_eq!(root["isAdmin"], true);
    assert_eq!(root["token"].as_str().map(str::len), Some(16));
    let root_token = root["token"].as_str().unwrap();

    // Afterwards: without a credential, or with a non-administrator's token, it is refused.
    app.fails(
        "admin/accounts/create",
        json!({ "username": "x1", "password": "pw" }),
        None,
        400,
        "ACCESS_DENIED",
        errors::ACCESS_DENIED_ADMIN_ACCOUNTS_CREATE,
    )
    .await;
    let (_, bob) = app.signup("bob").await;
    app.fails(
        "admin/accounts/create",
        json!({ "username": "x2", "password": "pw" }),
        Some(&bob),
        400,
        "ACCESS_DENIED",
        errors::ACCESS_DENIED_ADMIN_ACCOUNTS_CREATE,
    )
    .await;
    app.fails(
        "admin/accounts/create",
        json!({ "username": "x3", "password": "pw" }),
        Some("0123456789abcdef"),
        401,
        "AUTHENTICATION_FAILED",
        errors::AUTHENTICATION_FAILED,
    )
    .await;

    // The administrator creates ordinary accounts.
    let carol = app
        .ok(
            "admin/accounts/create",
            json!({ "username": "carol", "password": "pw" }),
            Some(root_token),
        )
        .await;
    assert_schema("MeDetailed", &carol);
    assert_eq!(carol["username"], "carol");
    assert_eq!(carol["isAdmin"], false);
    let carol_token = carol["token"].as_str().unwrap();
    assert_eq!(
        app.ok("i", json!({}), Some(carol_token)).await["id"],
        carol["id"]
    );
    // The refused attempts created nobody.
    for name in ["x1", "x2", "x3"] {
        app.fails(
            "users/show",
            json!({ "username": name }),
            None,
            404,
            "NO_SUCH_USER",
            errors::NO_SUCH_USER_USERS_SHOW,
        )
        .await;
    }
    // The usual parameter rules apply.
    app.fails(
        "admin/accounts/create",
        json!({ "username": "carol", "password": "pw" }),
        Some(root_token),
        400,
        "DUPLICATED_USERNAME",
        errors::DUPLICATED_USERNAME_ADMIN_ACCOUNTS_CREATE,
    )
    .await;
    app.fails(
        "admin/accounts/create",
        json!({ "username": "bad.name", "password": "pw" }),
        Some(root_token),
        400,
        "INVALID_PARAM",
        errors::INVALID_PARAM,
    )
    .await;
}

#[tokio::test]
async fn i_returns_me_detailed_with_secrets() {
    let app = TestApp::spawn().await;
    let (id, token) = app.signup("alice").await;
    let me = app.ok("i", json!({}), Some(&token)).await;
    assert_schema("MeDetailed", &me);
    let expected = [
        ("id", json!(id)),
        ("username", json!("alice")),
        ("email", Value::Null),
        ("emailVerified", json!(false)),
        ("securityKeysList", json!([])),
        ("twoFactorEnabled", json!(false)),
        ("usePasswordLessLogin", json!(false)),
        ("securityKeys", json!(false)),
        ("isAdmin", json!(true)),
    ];
    let failures = mismatches("i", &me, &expected);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(me.get("token").is_none(), "`i` does not repeat the token");
    assert_eq!(me["policies"]["mentionLimit"], 20);

    // The bearer header works too.
    let res = app
        .http
        .post(format!("{}/api/i", app.url))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    app.fails(
        "i",
        json!({}),
        None,
        401,
        "CREDENTIAL_REQUIRED",
        errors::CREDENTIAL_REQUIRED,
    )
    .await;
    app.fails(
        "i",
        json!({}),
        Some("0123456789abcdef"),
        401,
        "AUTHENTICATION_FAILED",
        errors::AUTHENTICATION_FAILED,
    )
    .await;
}
