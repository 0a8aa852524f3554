//! Who receives which event: Misskey's edge cases of who receives what, case by
//! case, with real deliveries to one receiver path per user.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestApp, TestReceiver, assert_schema};

/// A scenario: what happens, its parameters, and the (event, recipient) pairs it causes.
type Case = (&'static str, Value, &'static [(&'static str, &'static str)]);

const ALL_EVENTS: &[&str] = &[
    "mention", "unfollow", "follow", "followed", "note", "reply", "renote", "reaction",
];

/// Three users (a, b, c), a receiver, and helpers to register webhooks after setup so
/// that only the action under test is delivered.
struct World {
    app: TestApp,
    receiver: TestReceiver,
    users: Vec<(String, String, String)>,
}

impl World {
    async fn new() -> World {
        let app = TestApp::spawn().await;
        let receiver = TestReceiver::start().await;
        let mut users = Vec::new();
        for name in ["a", "b", "c"] {
            let (id, token) = app.signup(name).await;
            users.push((name.to_owned(), id, token));
        }
        World {
            app,
            receiver,
            users,
        }
    }

    fn id(&self, name: &str) -> &str {
        &self.users.iter().find(|(n, ..)| n == name).unwrap().1
    }

    fn token(&self, name: &str) -> &str {
        &self.users.iter().find(|(n, ..)| n == name).unwrap().2
    }

    /// Every user subscribes to every event, each at their own path.
    async fn subscribe_everyone(&self) {
        for (name, _, token) in &self.users {
            self.app
                .create_webhook(token, &self.receiver.url(name), ALL_EVENTS, "")
                .await;
        }
    }

    async fn note(&self, who: &str, params: Value) -> Value {
        self.app.post_note(self.token(who), params).await
    }

    /// Waits for exactly `expected` (event, recipient) pairs, in any order, and nothing else.
    async fn expect(&self, expected: &[(&str, &str)]) -> Vec<(String, String, Value)> {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.receiver.received().len() < expected.len()
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Give any unexpected extra delivery the chance to show up.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got: Vec<(String, String, Value)> = self
            .receiver
            .received()
            .into_iter()
            .map(|r| {
                (
                    r.body["type"].as_str().unwrap_or_default().to_owned(),
                    r.path.trim_start_matches('/').to_owned(),
                    r.body,
                )
            })
            .collect();
        let mut got_pairs: Vec<(String, String)> =
            got.iter().map(|(t, p, _)| (t.clone(), p.clone())).collect();
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(t, r)| (t.to_string(), r.to_string()))
            .collect();
        got_pairs.sort();
        want.sort();
        assert_eq!(got_pairs, want);
        got
    }
}

fn body_of<'a>(got: &'a [(String, String, Value)], event: &str, recipient: &str) -> &'a Value {
    &got.iter()
        .find(|(t, r, _)| t == event && r == recipient)
        .unwrap()
        .2["body"]
}

#[tokio::test]
async fn a_note_goes_to_its_author() {
    let w = World::new().await;
    w.subscribe_everyone().await;
    let note = w
        .note("a", json!({ "text": "hello", "visibility": "followers" }))
        .await;
    let got = w.expect(&[("note", "a")]).await;
    let body = body_of(&got, "note", "a");
    assert_schema("Note", &body["note"]);
    assert_eq!(body["note"]["id"], note["id"]);
    assert_eq!(body["note"]["text"], "hello", "webhook bodies skip hiding");
    assert_eq!(body["note"]["reactionAndUserPairCache"], json!([]));
    assert!(body["note"].get("myReaction").is_none());
}

#[tokio::test]
async fn replies() {
    // Replying to yourself fires `reply` on your own webhooks, and no mention.
    let w = World::new().await;
    let own = w.note("a", json!({ "text": "first" })).await;
    w.subscribe_everyone().await;
    w.note("a", json!({ "text": "again", "replyId": own["id"] }))
        .await;
    w.expect(&[("note", "a"), ("reply", "a")]).await;

    // Replying to someone else mentions them too, once even if also written.
    for text in ["hi", "hi @b", "hi @B @b"] {
        let w = World::new().await;
        let theirs = w.note("b", json!({ "text": "theirs" })).await;
        w.subscribe_everyone().await;
        let reply = w
            .note("a", json!({ "text": text, "replyId": theirs["id"] }))
            .await;
        let got = w
            .expect(&[("note", "a"), ("mention", "b"), ("reply", "b")])
            .await;
        let body = body_of(&got, "reply", "b");
        assert_schema("Note", &body["note"]);
        assert_eq!(body["note"]["id"], reply["id"]);
        assert_eq!(
            body["note"]["reply"]["id"], theirs["id"],
            "the reply target is embedded"
        );
        assert_eq!(body["note"]["mentions"], json!([w.id("b")]));
    }
}

#[tokio::test]
async fn renotes_and_quotes() {
    let cases: &[Case] = &[
        (
            "a renotes a's own note",
            json!({ "own": true }),
            &[("note", "a")],
        ),
        (
            "a renotes b's note",
            json!({}),
            &[("note", "a"), ("renote", "b")],
        ),
        (
            "a quotes b's note",
            json!({ "text": "look" }),
            &[("note", "a"), ("renote", "b")],
        ),
        (
            "a quotes b with @b",
            json!({ "text": "look @b" }),
            &[("note", "a"), ("renote", "b"), ("mention", "b")],
        ),
    ];
    for (what, params, expected) in cases {
        let w = World::new().await;
        let author = if params.get("own").is_some() {
            "a"
        } else {
            "b"
        };
        let target = w.note(author, json!({ "text": "target" })).await;
        w.subscribe_everyone().await;
        let mut body = json!({ "renoteId": target["id"] });
        if let Some(text) = params.get("text") {
            body["text"] = text.clone();
        }
        w.note("a", body).await;
        let got = w.expect(expected).await;
        for (event, recipient, delivery) in &got {
            assert_schema("Note", &delivery["body"]["note"]);
            if event == "renote" {
                assert_eq!(
                    delivery["body"]["note"]["renote"]["id"], target["id"],
                    "{what}: {recipient}"
                );
            }
        }
    }
}

#[tokio::test]
async fn mentions() {
    let cases: &[Case] = &[
        (
            "self-mention",
            json!({ "text": "@a me" }),
            &[("note", "a"), ("mention", "a")],
        ),
        (
            "repeated",
            json!({ "text": "@b @b @b" }),
            &[("note", "a"), ("mention", "b")],
        ),
        (
            "two users",
            json!({ "text": "@b and @c" }),
            &[("note", "a"), ("mention", "b"), ("mention", "c")],
        ),
        (
            "nobody by that name",
            json!({ "text": "@ghost yo" }),
            &[("note", "a")],
        ),
        (
            "inside code",
            json!({ "text": "`@b` and https://x.example/@c" }),
            &[("note", "a")],
        ),
        (
            "specified without writing the name",
            json!({ "text": "psst", "visibility": "specified", "visibleUserIds": ["$b"] }),
            &[("note", "a"), ("mention", "b")],
        ),
    ];
    for (what, params, expected) in cases {
        let w = World::new().await;
        w.subscribe_everyone().await;
        let text = params.to_string().replace("$b", w.id("b"));
        w.note("a", serde_json::from_str(&text).unwrap()).await;
        let got = w.expect(expected).await;
        for (event, _, delivery) in &got {
            assert_schema("Note", &delivery["body"]["note"]);
            assert_eq!(event, delivery["type"].as_str().unwrap(), "{what}");
        }
    }
}

#[tokio::test]
async fn mention_bodies_are_packed_for_the_recipient() {
    // A followers-only note that mentions b, who does not follow a: b may see it.
    let w = World::new().await;
    w.subscribe_everyone().await;
    w.note(
        "a",
        json!({ "text": "secret @b", "visibility": "followers" }),
    )
    .await;
    let got = w.expect(&[("note", "a"), ("mention", "b")]).await;
    assert_eq!(body_of(&got, "mention", "b")["note"]["text"], "secret @b");

    // A specified note to c that names b in its text: c sees it, b gets it hidden.
    let w = World::new().await;
    w.subscribe_everyone().await;
    w.note("a", json!({ "text": "for c, not @b", "cw": "cw", "visibility": "specified", "visibleUserIds": [w.id("c")] })).await;
    let got = w
        .expect(&[("note", "a"), ("mention", "b"), ("mention", "c")])
        .await;
    let for_c = &body_of(&got, "mention", "c")["note"];
    assert_eq!(for_c["text"], "for c, not @b");
    assert_eq!(for_c["visibleUserIds"], json!([w.id("c")]));
    let for_b = &body_of(&got, "mention", "b")["note"];
    assert_schema("Note", for_b);
    assert_eq!(for_b["isHidden"], true);
    assert_eq!(for_b["text"], Value::Null);
    assert_eq!(for_b["cw"], Value::Null);
    assert!(for_b.get("visibleUserIds").is_none());
    // The author's own `note` body is complete.
    assert_eq!(body_of(&got, "note", "a")["note"]["text"], "for c, not @b");
}

#[tokio::test]
async fn follow_followed_and_unfollow() {
    let w = World::new().await;
    // b already follows a, so the relation block shows it.
    w.app.follow(w.token("b"), w.id("a")).await;
    w.subscribe_everyone().await;
    w.app.follow(w.token("a"), w.id("b")).await;
    let got = w.expect(&[("follow", "a"), ("followed", "b")]).await;
    let followee = &body_of(&got, "follow", "a")["user"];
    assert_schema("UserDetailedNotMe", followee);
    assert_eq!(followee["id"], w.id("b"));
    assert_eq!(followee["isFollowing"], true);
    assert_eq!(followee["isFollowed"], true);
    assert_eq!(followee["followersCount"], 1);
    let follower = &body_of(&got, "followed", "b")["user"];
    assert_schema("UserLite", follower);
    assert_eq!(follower["id"], w.id("a"));
    assert!(
        follower.get("followersCount").is_none(),
        "followed carries a UserLite"
    );

    let w2 = World::new().await;
    w2.app.follow(w2.token("a"), w2.id("b")).await;
    w2.subscribe_everyone().await;
    w2.app.unfollow(w2.token("a"), w2.id("b")).await;
    let got = w2.expect(&[("unfollow", "a")]).await;
    let ex = &body_of(&got, "unfollow", "a")["user"];
    assert_schema("UserDetailedNotMe", ex);
    assert_eq!(ex["id"], w2.id("b"));
    assert_eq!(ex["isFollowing"], false);
    assert_eq!(ex["followersCount"], 0);
}

#[tokio::test]
async fn only_active_webhooks_subscribed_to_the_type_receive_it() {
    let w = World::new().await;
    let a = w.token("a");
    let follows_only = w
        .app
        .create_webhook(a, &w.receiver.url("follows-only"), &["follow"], "")
        .await;
    let inactive = w
        .app
        .create_webhook(a, &w.receiver.url("inactive"), &["note"], "")
        .await;
    w.app
        .no_content(
            "i/webhooks/update",
            json!({ "webhookId": inactive, "active": false }),
            Some(a),
        )
        .await;
    w.app
        .create_webhook(a, &w.receiver.url("notes"), &["note"], "")
        .await;
    w.note("a", json!({ "text": "x" })).await;
    w.receiver
        .wait_for("notes", 1, Duration::from_secs(5))
        .await;
    w.receiver
        .expect_no_more("inactive", 0, Duration::from_millis(300))
        .await;
    assert!(
        w.receiver.received_at("follows-only").is_empty(),
        "{follows_only} is not subscribed to note"
    );
}
