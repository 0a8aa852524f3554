//! What a request costs the database: the statements of the hottest endpoint,
//! `notes/create`, counted by the store (`Store::statements_sent`), on a server that runs
//! no delivery workers so that every statement counted is the request's.

use serde_json::json;

use crate::support::TestApp;

/// Issue 12's budget for `notes/create` in the common case: a note whose author has a
/// webhook subscribed to `note`. Transaction control (`BEGIN`, savepoints, `COMMIT`) is
/// not counted: under group commit it is shared by the requests of a batch.
const NOTES_CREATE_BUDGET: u64 = 6;

#[tokio::test]
async fn notes_create_sends_at_most_six_statements() {
    let app = TestApp::spawn_api_only().await;
    let (_, token) = app.signup("alice").await;
    app.create_webhook(&token, "http://127.0.0.1:9/hook", &["note"], "s3cret")
        .await;
    // The first call of the minute records the author's activity (one write a minute).
    app.post_note(&token, json!({ "text": "warming up" })).await;

    let before = app.store.statements_sent();
    let note = app.post_note(&token, json!({ "text": "hello" })).await;
    let sent = app.store.statements_sent() - before;

    assert_eq!(note["text"], "hello");
    assert!(
        sent <= NOTES_CREATE_BUDGET,
        "notes/create sent {sent} statements, more than {NOTES_CREATE_BUDGET}"
    );
    // The count covers the whole write: both notes' deliveries are queued.
    assert_eq!(app.store.delivery_counts().await.unwrap().pending, 2);
}

#[tokio::test]
async fn a_reply_with_a_mention_stays_within_its_statement_budget() {
    let app = TestApp::spawn_api_only().await;
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    for token in [&alice, &bob] {
        app.create_webhook(
            token,
            "http://127.0.0.1:9/hook",
            &["note", "reply", "mention"],
            "s",
        )
        .await;
    }
    let parent = app.post_note(&bob, json!({ "text": "question" })).await;
    app.post_note(&alice, json!({ "text": "warming up" })).await;

    let before = app.store.statements_sent();
    app.post_note(
        &alice,
        json!({ "text": "@bob answer", "replyId": parent["id"] }),
    )
    .await;
    let sent = app.store.statements_sent() - before;
    // Beyond a plain note's six: the reply target and the mentioned user, the author's
    // follow of the target's author, the target's tree (its author and reactions), the
    // view of the note for its second recipient (packed in detail for them), the
    // answer's view for the author, and the target's reply counter: 17 when written.
    // A guard against regressions: more means a lookup was added to the hot path.
    assert!(
        sent <= 17,
        "a reply with a mention sent {sent} statements, more than 17"
    );
}
