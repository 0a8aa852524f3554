//! Reactions: `notes/reactions/create`, `notes/reactions/delete` and `notes/reactions`,
//! their errors, how packed notes show them, and the `reaction` deliveries with their
//! throttle.

use std::time::Duration;

use serde_json::{Value, json};

use crate::errors;
use crate::support::{ErrorCase, TestApp, TestReceiver, assert_schema};

const WAIT: Duration = Duration::from_secs(5);

async fn react(app: &TestApp, token: &str, note: &Value, reaction: &str) {
    app.no_content(
        "notes/reactions/create",
        json!({ "noteId": note["id"], "reaction": reaction }),
        Some(token),
    )
    .await;
}

async fn show(app: &TestApp, note: &Value, token: Option<&str>) -> Value {
    app.ok("notes/show", json!({ "noteId": note["id"] }), token)
        .await
}

#[tokio::test]
async fn reactions_are_stored_normalised_and_packed() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    let (carol_id, carol) = app.signup("carol").await;
    let note = app
        .post_note(&alice, json!({ "text": "react to me" }))
        .await;

    react(&app, &bob, &note, "👍").await;
    // The variation selector goes, as in Misskey; a custom emoji the server does not
    // have becomes the fallback heart.
    react(&app, &carol, &note, "❤️").await;
    react(&app, &alice, &note, ":blobcat:").await;

    let seen_by_carol = show(&app, &note, Some(&carol)).await;
    assert_schema("Note", &seen_by_carol);
    assert_eq!(seen_by_carol["reactions"], json!({ "❤": 2, "👍": 1 }));
    assert_eq!(seen_by_carol["reactionCount"], 3);
    assert_eq!(seen_by_carol["reactionEmojis"], json!({}));
    assert_eq!(seen_by_carol["myReaction"], "❤");
    assert!(seen_by_carol.get("reactionAndUserPairCache").is_none());
    let anonymous = show(&app, &note, None).await;
    assert!(anonymous.get("myReaction").is_none());
    assert_eq!(anonymous["reactionCount"], 3);

    // A different reaction replaces the earlier one, as in Misskey.
    react(&app, &bob, &note, "🎉").await;
    let seen_by_bob = show(&app, &note, Some(&bob)).await;
    assert_eq!(seen_by_bob["reactions"], json!({ "❤": 2, "🎉": 1 }));
    assert_eq!(seen_by_bob["myReaction"], "🎉");

    let listed = app
        .ok("notes/reactions", json!({ "noteId": note["id"] }), None)
        .await;
    let listed = listed.as_array().unwrap();
    let who: Vec<(&str, &str)> = listed
        .iter()
        .map(|r| {
            (
                r["user"]["id"].as_str().unwrap(),
                r["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            (bob_id.as_str(), "🎉"),
            (alice_id.as_str(), "❤"),
            (carol_id.as_str(), "❤")
        ],
        "newest first"
    );
    for r in listed {
        assert_eq!(
            r.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["id", "createdAt", "user", "type"]
        );
        assert_schema("UserLite", &r["user"]);
    }
    let hearts = app
        .ok(
            "notes/reactions",
            json!({ "noteId": note["id"], "type": "❤", "limit": 1 }),
            None,
        )
        .await;
    assert_eq!(hearts.as_array().unwrap().len(), 1);
    assert_eq!(hearts[0]["user"]["id"], alice_id.as_str());
    let older = app
        .ok(
            "notes/reactions",
            json!({ "noteId": note["id"], "untilId": listed[1]["id"] }),
            None,
        )
        .await;
    assert_eq!(older[0]["user"]["id"], carol_id.as_str());
    assert_eq!(older.as_array().unwrap().len(), 1);

    app.no_content(
        "notes/reactions/delete",
        json!({ "noteId": note["id"] }),
        Some(&carol),
    )
    .await;
    let after = show(&app, &note, Some(&carol)).await;
    assert_eq!(after["reactions"], json!({ "❤": 1, "🎉": 1 }));
    assert!(after.get("myReaction").is_none());

    // The timeline packs them too.
    let timeline = app.ok("notes/timeline", json!({}), Some(&alice)).await;
    assert_eq!(timeline[0]["reactionCount"], 2);
    assert_eq!(timeline[0]["myReaction"], "❤");
}

#[tokio::test]
async fn like_only_notes_take_only_hearts() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let note = app
        .post_note(
            &alice,
            json!({ "text": "likes only", "reactionAcceptance": "likeOnly" }),
        )
        .await;
    react(&app, &bob, &note, "🎉").await;
    let packed = show(&app, &note, Some(&bob)).await;
    assert_eq!(packed["reactions"], json!({ "❤": 1 }));
    assert_eq!(packed["myReaction"], "❤");
    // Any other reaction is the same heart, so it is already there.
    app.fails(
        "notes/reactions/create",
        json!({ "noteId": note["id"], "reaction": "👍" }),
        Some(&bob),
        400,
        "ALREADY_REACTED",
        errors::ALREADY_REACTED,
    )
    .await;

    // The other modes restrict only custom emoji and remote users.
    let open = app
        .post_note(
            &alice,
            json!({ "text": "sensitive", "reactionAcceptance": "nonSensitiveOnly" }),
        )
        .await;
    react(&app, &bob, &open, "🎉").await;
    assert_eq!(
        show(&app, &open, None).await["reactions"],
        json!({ "🎉": 1 })
    );
}

#[tokio::test]
async fn errors_are_misskeys() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let note = app.post_note(&alice, json!({ "text": "hi" })).await;
    let renote = app.post_note(&bob, json!({ "renoteId": note["id"] })).await;
    let secret = app
        .post_note(
            &alice,
            json!({ "text": "not for bob", "visibility": "specified" }),
        )
        .await;
    react(&app, &bob, &note, "👍").await;
    let create = "notes/reactions/create";
    let delete = "notes/reactions/delete";
    app.check_errors([
        ErrorCase::new(
            create,
            Some(&bob),
            json!({ "noteId": note["id"], "reaction": "👍" }),
            400,
            "ALREADY_REACTED",
            errors::ALREADY_REACTED,
        ),
        ErrorCase::new(
            create,
            Some(&bob),
            json!({ "noteId": "nothing", "reaction": "👍" }),
            400,
            "NO_SUCH_NOTE",
            errors::NO_SUCH_NOTE_REACTIONS_CREATE,
        ),
        ErrorCase::new(
            create,
            Some(&bob),
            json!({ "noteId": secret["id"], "reaction": "👍" }),
            400,
            "NO_SUCH_NOTE",
            errors::NO_SUCH_NOTE_REACTIONS_CREATE,
        ),
        ErrorCase::new(
            create,
            Some(&alice),
            json!({ "noteId": renote["id"], "reaction": "👍" }),
            400,
            "CANNOT_REACT_TO_RENOTE",
            errors::CANNOT_REACT_TO_RENOTE,
        ),
        ErrorCase::new(
            create,
            None,
            json!({ "noteId": note["id"], "reaction": "👍" }),
            401,
            "CREDENTIAL_REQUIRED",
            errors::CREDENTIAL_REQUIRED,
        ),
        ErrorCase::invalid_param(
            create,
            Some(&bob),
            json!({ "noteId": note["id"] }),
            "#/required",
        ),
        ErrorCase::invalid_param(
            create,
            Some(&bob),
            json!({ "noteId": note["id"], "reaction": 1 }),
            "#/properties/reaction/type",
        ),
        ErrorCase::invalid_param(
            create,
            Some(&bob),
            json!({ "noteId": "not an id", "reaction": "👍" }),
            "#/properties/noteId/format",
        ),
        ErrorCase::new(
            delete,
            Some(&alice),
            json!({ "noteId": note["id"] }),
            400,
            "NOT_REACTED",
            errors::NOT_REACTED,
        ),
        ErrorCase::new(
            delete,
            Some(&alice),
            json!({ "noteId": "nothing" }),
            400,
            "NO_SUCH_NOTE",
            errors::NO_SUCH_NOTE_REACTIONS_DELETE,
        ),
        ErrorCase::invalid_param(
            "notes/reactions",
            None,
            json!({ "noteId": note["id"], "limit": 101 }),
            "#/properties/limit/maximum",
        ),
    ])
    .await;
    // Listing the reactions to a note that does not exist, or that the caller may not
    // see, answers an empty list.
    for note_id in [json!("nothing"), secret["id"].clone()] {
        let listed = app
            .ok("notes/reactions", json!({ "noteId": note_id }), Some(&bob))
            .await;
        assert_eq!(listed, json!([]));
    }
}

/// Alice, her webhook subscribed to `reaction` at `/alice`, and a note of hers.
struct Reacted {
    app: TestApp,
    receiver: TestReceiver,
    alice: String,
    note: Value,
}

async fn reacted(overrides: &[(&str, &str)]) -> Reacted {
    let app = TestApp::spawn_with(overrides).await;
    let receiver = TestReceiver::start().await;
    let (_, alice) = app.signup("alice").await;
    app.create_webhook(&alice, &receiver.url("alice"), &["reaction"], "s")
        .await;
    let note = app.post_note(&alice, json!({ "text": "popular" })).await;
    Reacted {
        app,
        receiver,
        alice,
        note,
    }
}

#[tokio::test]
async fn reactions_are_delivered_to_the_author_but_not_their_own() {
    let w = reacted(&[]).await;
    let (bob_id, bob) = w.app.signup("bob").await;
    react(&w.app, &w.alice, &w.note, "👍").await;
    react(&w.app, &bob, &w.note, "like").await;
    let got = w.receiver.wait_for("alice", 1, WAIT).await;
    let delivery = &got[0];
    assert_eq!(delivery.body["type"], "reaction");
    let body = &delivery.body["body"];
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["note", "user", "reaction"]
    );
    assert_eq!(body["reaction"], "👍");
    assert_eq!(body["user"]["id"], bob_id.as_str());
    assert_schema("UserLite", &body["user"]);
    assert_schema("Note", &body["note"]);
    assert_eq!(body["note"]["id"], w.note["id"]);
    assert_eq!(body["note"]["reactions"], json!({ "👍": 2 }));
    assert_eq!(body["note"]["reactionCount"], 2);
    assert_eq!(body["note"]["myReaction"], "👍", "packed for the author");
    // The author's own reaction was not delivered.
    w.receiver
        .expect_no_more("alice", 1, Duration::from_millis(500))
        .await;
}

#[tokio::test]
async fn the_throttle_drops_reactions_within_its_interval_and_counts_them() {
    let w = reacted(&[("MISSIVE_REACTION_THROTTLE_MS", "60000")]).await;
    let mut fans = Vec::new();
    for name in ["bob", "carol", "dave"] {
        fans.push(w.app.signup(name).await.1);
    }
    for fan in &fans {
        react(&w.app, fan, &w.note, "👍").await;
    }
    let got = w.receiver.wait_for("alice", 1, WAIT).await;
    assert_eq!(got[0].body["body"]["reaction"], "👍");
    w.receiver
        .expect_no_more("alice", 1, Duration::from_millis(500))
        .await;
    // Another note has its own interval.
    let other = w.app.post_note(&w.alice, json!({ "text": "other" })).await;
    react(&w.app, &fans[0], &other, "🎉").await;
    let got = w.receiver.wait_for("alice", 2, WAIT).await;
    assert_eq!(got[1].body["body"]["note"]["id"], other["id"]);

    let metrics = w.app.metrics().await;
    assert!(
        metrics.contains("missive_reaction_deliveries_dropped_total 2\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn without_the_throttle_every_reaction_is_delivered() {
    let w = reacted(&[("MISSIVE_REACTION_THROTTLE_MS", "0")]).await;
    for name in ["bob", "carol", "dave"] {
        let fan = w.app.signup(name).await.1;
        react(&w.app, &fan, &w.note, "👍").await;
    }
    let got = w.receiver.wait_for("alice", 3, WAIT).await;
    assert_eq!(got.len(), 3);
}

#[tokio::test]
async fn the_default_throttle_lets_one_through_each_second() {
    let w = reacted(&[]).await;
    let bob = w.app.signup("bob").await.1;
    let carol = w.app.signup("carol").await.1;
    react(&w.app, &bob, &w.note, "👍").await;
    w.receiver.wait_for("alice", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    react(&w.app, &carol, &w.note, "🎉").await;
    let got = w.receiver.wait_for("alice", 2, WAIT).await;
    assert_eq!(got[1].body["body"]["reaction"], "🎉");
}

#[tokio::test]
async fn the_webhook_test_sends_a_reaction_dummy() {
    let w = reacted(&[]).await;
    let hooks = w.app.ok("i/webhooks/list", json!({}), Some(&w.alice)).await;
    w.app
        .no_content(
            "i/webhooks/test",
            json!({ "webhookId": hooks[0]["id"], "type": "reaction" }),
            Some(&w.alice),
        )
        .await;
    let got = w.receiver.wait_for("alice", 1, WAIT).await;
    let body = &got[0].body["body"];
    assert_eq!(got[0].body["type"], "reaction");
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["note", "user", "reaction"]
    );
    assert_eq!(body["reaction"], "❤");
    assert_eq!(body["note"]["id"], "dummy-note-1");
    assert_eq!(body["user"]["id"], "dummy-user-2");
}
