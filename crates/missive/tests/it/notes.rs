//! `notes/create`, `notes/show` and `notes/delete` (Misskey's parameter checks, packed notes,
//! hiding rules and mentions; e2e `note.ts`, `endpoints.ts` and `api-visibility.ts`).

use serde_json::{Value, json};

use crate::errors;
use crate::support::{ErrorCase, TestApp, assert_schema};

const NO_SUCH_REPLY_TARGET: (&str, &str) = ("NO_SUCH_REPLY_TARGET", errors::NO_SUCH_REPLY_TARGET);
const NO_SUCH_RENOTE_TARGET: (&str, &str) =
    ("NO_SUCH_RENOTE_TARGET", errors::NO_SUCH_RENOTE_TARGET);
const CANNOT_RENOTE_A_PURE_RENOTE: (&str, &str) = (
    "CANNOT_RENOTE_TO_A_PURE_RENOTE",
    errors::CANNOT_RENOTE_TO_A_PURE_RENOTE,
);
const CANNOT_REPLY_TO_A_PURE_RENOTE: (&str, &str) = (
    "CANNOT_REPLY_TO_A_PURE_RENOTE",
    errors::CANNOT_REPLY_TO_A_PURE_RENOTE,
);
const CANNOT_RENOTE_DUE_TO_VISIBILITY: (&str, &str) = (
    "CANNOT_RENOTE_DUE_TO_VISIBILITY",
    errors::CANNOT_RENOTE_DUE_TO_VISIBILITY,
);
const CANNOT_REPLY_TO_INVISIBLE: (&str, &str) = (
    "CANNOT_REPLY_TO_AN_INVISIBLE_NOTE",
    errors::CANNOT_REPLY_TO_AN_INVISIBLE_NOTE,
);
const CANNOT_EXTEND_SPECIFIED: (&str, &str) = (
    "CANNOT_REPLY_TO_SPECIFIED_VISIBILITY_NOTE_WITH_EXTENDED_VISIBILITY",
    errors::CANNOT_REPLY_TO_SPECIFIED_VISIBILITY_NOTE_WITH_EXTENDED_VISIBILITY,
);
const TOO_MANY_MENTIONS: (&str, &str) = (
    "CONTAINS_TOO_MANY_MENTIONS",
    errors::CONTAINS_TOO_MANY_MENTIONS,
);
const NO_SUCH_FILE: (&str, &str) = ("NO_SUCH_FILE", errors::NO_SUCH_FILE);

/// `notes/create` that must succeed; the created note is validated as a `Note`.
async fn post(app: &TestApp, token: &str, params: Value) -> Value {
    let note = app.post_note(token, params).await;
    assert_schema("Note", &note);
    note
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// `notes/show` of `note_id` as `viewer` (anonymous if `None`): the status and the body.
async fn show(app: &TestApp, note_id: &str, viewer: Option<&str>) -> (u16, Value) {
    let (status, value) = app
        .api("notes/show", json!({ "noteId": note_id }), viewer)
        .await;
    (status.as_u16(), value)
}

/// The `mentions` of a packed note, `None` if the key is absent.
fn mentions(note: &Value) -> Option<Vec<String>> {
    note.get("mentions").map(|m| {
        m.as_array()
            .expect("mentions is an array")
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    })
}

/// A `notes/create` call by `token` that must be refused with 400 and `(code, id)`.
fn refused(token: &str, body: Value, (code, id): (&'static str, &'static str)) -> ErrorCase {
    ErrorCase::new("notes/create", Some(token), body, 400, code, id)
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// notes/create: shapes

#[tokio::test]
async fn create_a_text_note() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let note = post(&app, &alice, json!({ "text": "  hello world \n" })).await;
    let expected = json!({
        "userId": alice_id,
        "text": "hello world",
        "cw": null,
        "visibility": "public",
        "localOnly": false,
        "reactionAcceptance": null,
        "renoteCount": 0,
        "repliesCount": 0,
        "reactionCount": 0,
        "reactions": {},
        "reactionEmojis": {},
        "fileIds": [],
        "files": [],
        "replyId": null,
        "renoteId": null,
        "clippedCount": 0,
    });
    let mut failures = Vec::new();
    for (key, want) in expected.as_object().unwrap() {
        if note.get(key) != Some(want) {
            failures.push(format!("{key}: {:?}, expected {want}", note.get(key)));
        }
    }
    for key in [
        "mentions",
        "visibleUserIds",
        "isHidden",
        "reply",
        "renote",
        "poll",
        "reactionAndUserPairCache",
    ] {
        if note.get(key).is_some() {
            failures.push(format!("{key} should be absent: {}", note[key]));
        }
    }
    report(failures);
    assert_schema("UserLite", &note["user"]);
    assert_eq!(note["user"]["id"], alice_id.as_str());
    assert_eq!(note["user"]["username"], "alice");
    assert!(
        note["user"].get("notesCount").is_none(),
        "Note.user is a UserLite"
    );
    // The id is a 16-character aidx, and createdAt is derived from it.
    let note_id = id(&note);
    assert_eq!(note_id.len(), 16);
    assert!(note["createdAt"].as_str().unwrap().ends_with('Z'));

    // notes/show answers the same note.
    let (status, shown) = show(&app, &note_id, None).await;
    assert_eq!(status, 200);
    assert_schema("Note", &shown);
    assert_eq!(shown["text"], "hello world");
    assert_eq!(shown["createdAt"], note["createdAt"]);
    assert_eq!(shown["user"]["id"], alice_id.as_str());
    let me = app
        .ok("users/show", json!({ "userId": alice_id }), None)
        .await;
    assert_eq!(me["notesCount"], 1);
}

#[tokio::test]
async fn create_with_cw_options_and_each_visibility() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let (bob_id, _) = app.signup("bob").await;
    // (params, expected values of the created note)
    let cases = [
        (
            json!({ "text": "x", "cw": "spoiler" }),
            json!({ "text": "x", "cw": "spoiler", "visibility": "public" }),
        ),
        (json!({ "text": "x", "cw": null }), json!({ "cw": null })),
        (
            json!({ "text": "x", "visibility": "public" }),
            json!({ "visibility": "public" }),
        ),
        (
            json!({ "text": "x", "visibility": "home" }),
            json!({ "visibility": "home" }),
        ),
        (
            json!({ "text": "x", "visibility": "followers" }),
            json!({ "visibility": "followers" }),
        ),
        (
            json!({ "text": "x", "visibility": "specified" }),
            json!({ "visibility": "specified", "visibleUserIds": [] }),
        ),
        (
            json!({ "text": "x", "visibility": "specified", "visibleUserIds": [bob_id, "unknown00000000"] }),
            json!({ "visibility": "specified", "visibleUserIds": [bob_id], "mentions": [bob_id] }),
        ),
        // visibleUserIds only matter for specified notes.
        (
            json!({ "text": "x", "visibility": "home", "visibleUserIds": [bob_id] }),
            json!({ "visibility": "home" }),
        ),
        (
            json!({ "text": "x", "localOnly": true }),
            json!({ "localOnly": true }),
        ),
        (
            json!({ "text": "x", "reactionAcceptance": "likeOnly" }),
            json!({ "reactionAcceptance": "likeOnly" }),
        ),
        (
            json!({ "text": "x", "reactionAcceptance": null }),
            json!({ "reactionAcceptance": null }),
        ),
        (
            json!({ "text": "x", "noExtractMentions": true, "noExtractHashtags": true, "noExtractEmojis": true }),
            json!({ "text": "x" }),
        ),
        (
            json!({ "text": "x", "replyId": null, "renoteId": null, "channelId": null, "poll": null }),
            json!({ "text": "x", "replyId": null }),
        ),
        // Misskey trims the text; it does not trim the cw.
        (
            json!({ "text": "\t x \n", "cw": " c " }),
            json!({ "text": "x", "cw": " c " }),
        ),
    ];
    let mut failures = Vec::new();
    for (params, expected) in cases {
        let (status, value) = app.api("notes/create", params.clone(), Some(&alice)).await;
        if status != 200 {
            failures.push(format!("{params}: {status} {value}"));
            continue;
        }
        let note = &value["createdNote"];
        let errors = crate::support::schema_errors("Note", note);
        if !errors.is_empty() {
            failures.push(format!("{params}: not a Note: {errors:?}"));
        }
        for (key, want) in expected.as_object().unwrap() {
            if note.get(key) != Some(want) {
                failures.push(format!(
                    "{params}: {key} is {:?}, expected {want}",
                    note.get(key)
                ));
            }
        }
        let specified = note["visibility"] == "specified";
        if note.get("visibleUserIds").is_some() != specified {
            failures.push(format!(
                "{params}: visibleUserIds present iff specified: {note}"
            ));
        }
        if expected.get("mentions").is_none() && note.get("mentions").is_some() {
            failures.push(format!(
                "{params}: unexpected mentions {}",
                note["mentions"]
            ));
        }
    }
    report(failures);
}

#[tokio::test]
async fn replies_embed_their_target_and_count() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    let parent = post(&app, &alice, json!({ "text": "parent" })).await;
    let parent_id = id(&parent);

    let reply = post(&app, &bob, json!({ "text": "child", "replyId": parent_id })).await;
    assert_eq!(reply["replyId"], parent_id.as_str());
    assert_eq!(reply["renoteId"], Value::Null);
    assert_eq!(reply["text"], "child");
    assert_eq!(reply["userId"], bob_id.as_str());
    let embedded = &reply["reply"];
    assert_schema("Note", embedded);
    assert_eq!(embedded["id"], parent_id.as_str());
    assert_eq!(embedded["text"], "parent");
    assert_eq!(embedded["user"]["id"], alice_id.as_str());
    // The embedded reply target is packed without detail: no clippedCount, nothing embedded.
    assert!(embedded.get("clippedCount").is_none(), "{embedded}");
    assert!(embedded.get("reply").is_none() && embedded.get("renote").is_none());
    assert!(reply.get("renote").is_none());
    // The author of the reply target is mentioned.
    assert_eq!(mentions(&reply), Some(vec![alice_id.clone()]));

    let (_, shown) = show(&app, &parent_id, None).await;
    assert_eq!(shown["repliesCount"], 1);
    post(
        &app,
        &alice,
        json!({ "text": "self reply", "replyId": parent_id }),
    )
    .await;
    let (_, shown) = show(&app, &parent_id, None).await;
    assert_eq!(shown["repliesCount"], 2);

    // A reply to a reply embeds only its direct target.
    let grandchild = post(
        &app,
        &alice,
        json!({ "text": "grandchild", "replyId": id(&reply) }),
    )
    .await;
    assert_eq!(grandchild["reply"]["id"], id(&reply).as_str());
    assert_eq!(grandchild["reply"]["replyId"], parent_id.as_str());
    assert!(grandchild["reply"].get("reply").is_none());
    let (_, shown) = show(&app, &id(&grandchild), Some(&bob)).await;
    assert_schema("Note", &shown);
    assert_eq!(shown["reply"]["text"], "child");
}

#[tokio::test]
async fn renotes_and_quotes() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let original = post(&app, &alice, json!({ "text": "original", "cw": "cw" })).await;
    let original_id = id(&original);

    let pure = post(&app, &bob, json!({ "renoteId": original_id })).await;
    assert_eq!(pure["text"], Value::Null);
    assert_eq!(pure["cw"], Value::Null);
    assert_eq!(pure["renoteId"], original_id.as_str());
    assert_eq!(pure["replyId"], Value::Null);
    let embedded = &pure["renote"];
    assert_schema("Note", embedded);
    assert_eq!(
        (embedded["id"].as_str(), embedded["text"].as_str()),
        (Some(original_id.as_str()), Some("original"))
    );
    assert_eq!(embedded["user"]["id"], alice_id.as_str());
    // The embedded renote target is packed in detail.
    assert_eq!(embedded["clippedCount"], 0);
    assert!(
        pure.get("mentions").is_none(),
        "a renote mentions nobody: {pure}"
    );

    let quote = post(
        &app,
        &bob,
        json!({ "text": "look", "renoteId": original_id }),
    )
    .await;
    assert_eq!(quote["text"], "look");
    assert_eq!(quote["renote"]["id"], original_id.as_str());

    let cw_quote = post(
        &app,
        &bob,
        json!({ "cw": "just a cw", "renoteId": original_id }),
    )
    .await;
    assert_eq!(
        (cw_quote["text"].clone(), cw_quote["cw"].clone()),
        (Value::Null, json!("just a cw"))
    );

    // Whitespace-only text with a renote is trimmed to nothing: a pure renote.
    for text in ["   ", "\n\t ", "\u{3000}"] {
        let note = post(&app, &bob, json!({ "text": text, "renoteId": original_id })).await;
        assert_eq!(note["text"], Value::Null, "{text:?}");
        assert_eq!(note["renote"]["id"], original_id.as_str());
        // ... so it cannot be renoted or replied to.
        app.check_errors([
            refused(
                &alice,
                json!({ "renoteId": id(&note) }),
                CANNOT_RENOTE_A_PURE_RENOTE,
            ),
            refused(
                &alice,
                json!({ "text": "x", "replyId": id(&note) }),
                CANNOT_REPLY_TO_A_PURE_RENOTE,
            ),
        ])
        .await;
    }

    // Quotes are not pure renotes: they can be renoted, quoted and replied to.
    let renote_of_quote = post(&app, &alice, json!({ "renoteId": id(&quote) })).await;
    assert_eq!(renote_of_quote["renote"]["id"], id(&quote).as_str());
    assert_eq!(
        renote_of_quote["renote"]["renote"]["id"],
        original_id.as_str(),
        "renotes embed their own renote target"
    );
    post(&app, &alice, json!({ "renoteId": id(&cw_quote) })).await;
    let reply_to_quote = post(&app, &alice, json!({ "text": "re", "replyId": id(&quote) })).await;
    assert_eq!(reply_to_quote["reply"]["id"], id(&quote).as_str());
    // A renote with a reply is a quote too.
    let renote_reply = post(
        &app,
        &alice,
        json!({ "renoteId": original_id, "replyId": id(&quote) }),
    )
    .await;
    assert_eq!(renote_reply["text"], Value::Null);
    post(&app, &bob, json!({ "renoteId": id(&renote_reply) })).await;

    // The same through notes/show.
    let (_, shown) = show(&app, &id(&pure), None).await;
    assert_schema("Note", &shown);
    assert_eq!(shown["renote"]["text"], "original");
}

// ---------------------------------------------------------------------------------------------
// notes/create: parameter validation

#[tokio::test]
async fn create_parameter_validation() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let parent = id(&post(&app, &alice, json!({ "text": "parent" })).await);
    // (params, info.param, info.reason if checked)
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({}),
            "#/then/required",
            Some("must have required property 'text'"),
        ),
        (
            json!({ "replyId": parent }),
            "#/then/required",
            Some("must have required property 'text'"),
        ),
        (json!({ "cw": "cw" }), "#/then/required", None),
        (json!({ "visibility": "home" }), "#/then/required", None),
        (
            json!({ "text": {} }),
            "#/then/properties/text/type",
            Some("must be string"),
        ),
        (
            json!({ "text": true }),
            "#/then/properties/text/type",
            Some("must be string"),
        ),
        (
            json!({ "text": 1 }),
            "#/then/properties/text/type",
            Some("must be string"),
        ),
        (
            json!({ "text": null }),
            "#/then/properties/text/type",
            Some("must be string"),
        ),
        (
            json!({ "text": "" }),
            "#/then/properties/text/minLength",
            Some("must NOT have fewer than 1 characters"),
        ),
        (
            json!({ "text": "   " }),
            "#/then/properties/text/pattern",
            Some("must match pattern \"[^\\s]+\""),
        ),
        (
            json!({ "text": "\n\t" }),
            "#/then/properties/text/pattern",
            Some("must match pattern \"[^\\s]+\""),
        ),
        (
            json!({ "text": "x".repeat(3001) }),
            "#/then/properties/text/maxLength",
            Some("must NOT have more than 3000 characters"),
        ),
        (
            json!({ "text": "x".repeat(3001), "renoteId": parent }),
            "#/properties/text/maxLength",
            None,
        ),
        (
            json!({ "text": "", "renoteId": parent }),
            "#/properties/text/minLength",
            None,
        ),
        (
            json!({ "text": true, "renoteId": parent }),
            "#/properties/text/type",
            None,
        ),
        (
            json!({ "text": "x", "visibility": "direct" }),
            "#/properties/visibility/enum",
            Some("must be equal to one of the allowed values"),
        ),
        (
            json!({ "text": "x", "cw": "" }),
            "#/properties/cw/minLength",
            None,
        ),
        (
            json!({ "text": "x", "cw": "c".repeat(101) }),
            "#/properties/cw/maxLength",
            None,
        ),
        (
            json!({ "text": "x", "localOnly": "yes" }),
            "#/properties/localOnly/type",
            None,
        ),
        (
            json!({ "text": "x", "reactionAcceptance": "all" }),
            "#/properties/reactionAcceptance/enum",
            None,
        ),
        (
            json!({ "text": "x", "replyId": "foo-bar" }),
            "#/properties/replyId/format",
            Some("must match format \"misskey:id\""),
        ),
        (
            json!({ "text": "x", "replyId": "" }),
            "#/properties/replyId/format",
            None,
        ),
        (
            json!({ "renoteId": "foo-bar" }),
            "#/properties/renoteId/format",
            None,
        ),
        (
            json!({ "text": "x", "renoteId": "" }),
            "#/properties/renoteId/format",
            None,
        ),
        (
            json!({ "text": "x", "visibleUserIds": ["foo-bar"] }),
            "#/properties/visibleUserIds/items/format",
            None,
        ),
        (
            json!({ "text": "x", "visibleUserIds": "abc" }),
            "#/properties/visibleUserIds/type",
            None,
        ),
        (
            json!({ "fileIds": [] }),
            "#/properties/fileIds/minItems",
            None,
        ),
    ];
    app.check_errors(cases.into_iter().map(|(body, param, reason)| {
        let case = ErrorCase::invalid_param("notes/create", Some(&alice), body, param);
        match reason {
            Some(reason) => case.reason(reason),
            None => case,
        }
    }))
    .await;
    // Nothing was created by the refused calls.
    let me = app.ok("i", json!({}), Some(&alice)).await;
    assert_eq!(me["notesCount"], 1);
}

#[tokio::test]
async fn text_length_is_counted_in_characters() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    for text in ["x".repeat(3000), "あ".repeat(3000), "😀".repeat(3000)] {
        let note = post(&app, &alice, json!({ "text": text })).await;
        assert_eq!(note["text"].as_str().unwrap().chars().count(), 3000);
    }
    for text in ["x".repeat(3001), "あ".repeat(3001)] {
        let err = app
            .fails(
                "notes/create",
                json!({ "text": text }),
                Some(&alice),
                400,
                "INVALID_PARAM",
                errors::INVALID_PARAM,
            )
            .await;
        let param = err["info"]["param"].as_str().unwrap();
        assert!(param.ends_with("/properties/text/maxLength"), "{param}");
    }
    app.fails(
        "notes/create",
        json!({ "text": "x" }),
        None,
        401,
        "CREDENTIAL_REQUIRED",
        errors::CREDENTIAL_REQUIRED,
    )
    .await;
}

#[tokio::test]
async fn files_polls_and_channels_are_refused() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let mut cases: Vec<ErrorCase> = [
        json!({ "fileIds": ["0000000000000000"] }),
        json!({ "text": "x", "fileIds": ["0000000000000000"] }),
        json!({ "mediaIds": ["0000000000000000"] }),
    ]
    .into_iter()
    .map(|body| refused(&alice, body, NO_SUCH_FILE))
    .collect();
    cases.push(refused(
        &alice,
        json!({ "text": "x", "channelId": "0000000000000000" }),
        ("NO_SUCH_CHANNEL", errors::NO_SUCH_CHANNEL),
    ));
    app.check_errors(cases).await;
    let (status, value) = app
        .api(
            "notes/create",
            json!({ "poll": { "choices": ["a", "b"] } }),
            Some(&alice),
        )
        .await;
    assert!(
        status == 400 && value["error"]["code"].is_string(),
        "poll: {status} {value}"
    );
    assert_eq!(app.ok("i", json!({}), Some(&alice)).await["notesCount"], 0);
}

// ---------------------------------------------------------------------------------------------
// notes/create: reply and renote targets

#[tokio::test]
async fn reply_and_renote_target_errors() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    let (_, carol) = app.signup("carol").await;
    // Bob follows alice; carol follows nobody.
    app.follow(&bob, &alice_id).await;

    let public = id(&post(&app, &alice, json!({ "text": "public" })).await);
    let followers = id(&post(
        &app,
        &alice,
        json!({ "text": "followers", "visibility": "followers" }),
    )
    .await);
    let specified_to_bob = id(&post(
        &app,
        &alice,
        json!({ "text": "to bob", "visibility": "specified", "visibleUserIds": [bob_id] }),
    )
    .await);
    let specified_own = id(&post(
        &app,
        &bob,
        json!({ "text": "mine", "visibility": "specified" }),
    )
    .await);
    let pure_renote = id(&post(&app, &alice, json!({ "renoteId": public })).await);

    // (caller, params, expected error)
    let cases: Vec<(&str, Value, (&str, &str))> = vec![
        (
            &bob,
            json!({ "text": "x", "replyId": "0000000000000000" }),
            NO_SUCH_REPLY_TARGET,
        ),
        (
            &bob,
            json!({ "text": "x", "replyId": "kyoppie" }),
            NO_SUCH_REPLY_TARGET,
        ),
        (
            &bob,
            json!({ "renoteId": "0000000000000000" }),
            NO_SUCH_RENOTE_TARGET,
        ),
        (
            &bob,
            json!({ "text": "x", "renoteId": "kyoppie" }),
            NO_SUCH_RENOTE_TARGET,
        ),
        (
            &bob,
            json!({ "renoteId": pure_renote }),
            CANNOT_RENOTE_A_PURE_RENOTE,
        ),
        (
            &bob,
            json!({ "text": "quote", "renoteId": pure_renote }),
            CANNOT_RENOTE_A_PURE_RENOTE,
        ),
        (
            &bob,
            json!({ "text": "x", "replyId": pure_renote }),
            CANNOT_REPLY_TO_A_PURE_RENOTE,
        ),
        // Someone else's followers note, even for a follower; any specified note, even your own.
        (
            &bob,
            json!({ "renoteId": followers }),
            CANNOT_RENOTE_DUE_TO_VISIBILITY,
        ),
        (
            &bob,
            json!({ "text": "quote", "renoteId": followers }),
            CANNOT_RENOTE_DUE_TO_VISIBILITY,
        ),
        (
            &carol,
            json!({ "renoteId": followers }),
            CANNOT_RENOTE_DUE_TO_VISIBILITY,
        ),
        (
            &bob,
            json!({ "renoteId": specified_to_bob }),
            CANNOT_RENOTE_DUE_TO_VISIBILITY,
        ),
        (
            &alice,
            json!({ "renoteId": specified_to_bob }),
            CANNOT_RENOTE_DUE_TO_VISIBILITY,
        ),
        (
            &bob,
            json!({ "renoteId": specified_own, "visibility": "specified" }),
            CANNOT_RENOTE_DUE_TO_VISIBILITY,
        ),
        // Replies to notes the caller cannot see.
        (
            &carol,
            json!({ "text": "x", "replyId": followers }),
            CANNOT_REPLY_TO_INVISIBLE,
        ),
        (
            &carol,
            json!({ "text": "x", "replyId": specified_to_bob }),
            CANNOT_REPLY_TO_INVISIBLE,
        ),
        (
            &carol,
            json!({ "text": "x", "replyId": specified_to_bob, "visibility": "specified" }),
            CANNOT_REPLY_TO_INVISIBLE,
        ),
        // Replies to a specified note must stay specified.
        (
            &bob,
            json!({ "text": "x", "replyId": specified_to_bob }),
            CANNOT_EXTEND_SPECIFIED,
        ),
        (
            &bob,
            json!({ "text": "x", "replyId": specified_to_bob, "visibility": "followers" }),
            CANNOT_EXTEND_SPECIFIED,
        ),
        (
            &alice,
            json!({ "text": "x", "replyId": specified_to_bob, "visibility": "home" }),
            CANNOT_EXTEND_SPECIFIED,
        ),
        // Renote errors come before reply errors.
        (
            &bob,
            json!({ "renoteId": "0000000000000000", "replyId": "0000000000000000" }),
            NO_SUCH_RENOTE_TARGET,
        ),
    ];
    app.check_errors(
        cases
            .iter()
            .map(|(token, body, error)| refused(token, body.clone(), *error)),
    )
    .await;

    // What is allowed: replying to what you see, specified replies to specified notes,
    // renoting your own followers note.
    post(&app, &bob, json!({ "text": "x", "replyId": followers })).await;
    post(
        &app,
        &bob,
        json!({ "text": "x", "replyId": specified_to_bob, "visibility": "specified" }),
    )
    .await;
    post(&app, &alice, json!({ "text": "x", "replyId": followers })).await;
    post(&app, &alice, json!({ "renoteId": followers })).await;
    post(&app, &carol, json!({ "text": "x", "replyId": public })).await;
}

#[tokio::test]
async fn visibility_is_adjusted_for_renotes_and_replies() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    app.follow(&bob, &alice_id).await;
    let note = |params: Value| {
        let app = &app;
        let alice = alice.clone();
        async move { id(&post(app, &alice, params).await) }
    };
    let public = note(json!({ "text": "public" })).await;
    let home = note(json!({ "text": "home", "visibility": "home" })).await;
    let followers = note(json!({ "text": "followers", "visibility": "followers" })).await;
    let local = note(json!({ "text": "local", "localOnly": true })).await;

    // (caller, params, expected visibility, expected localOnly)
    let cases: Vec<(&str, Value, &str, bool)> = vec![
        (&bob, json!({ "renoteId": public }), "public", false),
        (
            &bob,
            json!({ "renoteId": public, "visibility": "home" }),
            "home",
            false,
        ),
        (
            &bob,
            json!({ "renoteId": public, "visibility": "followers" }),
            "followers",
            false,
        ),
        (&bob, json!({ "renoteId": home }), "home", false),
        (
            &bob,
            json!({ "renoteId": home, "visibility": "public" }),
            "home",
            false,
        ),
        (
            &bob,
            json!({ "text": "q", "renoteId": home }),
            "home",
            false,
        ),
        (
            &bob,
            json!({ "renoteId": home, "visibility": "followers" }),
            "followers",
            false,
        ),
        (&alice, json!({ "renoteId": followers }), "followers", false),
        (
            &alice,
            json!({ "renoteId": followers, "visibility": "home" }),
            "followers",
            false,
        ),
        (
            &alice,
            json!({ "text": "q", "renoteId": followers }),
            "followers",
            false,
        ),
        (
            &bob,
            json!({ "text": "r", "replyId": public }),
            "public",
            false,
        ),
        (&bob, json!({ "text": "r", "replyId": home }), "home", false),
        (
            &bob,
            json!({ "text": "r", "replyId": followers }),
            "home",
            false,
        ),
        (
            &bob,
            json!({ "text": "r", "replyId": home, "visibility": "followers" }),
            "followers",
            false,
        ),
        (
            &bob,
            json!({ "text": "r", "replyId": followers, "visibility": "followers" }),
            "followers",
            false,
        ),
        (
            &bob,
            json!({ "text": "r", "replyId": home, "visibility": "specified" }),
            "specified",
            false,
        ),
        (&bob, json!({ "renoteId": local }), "public", true),
        (
            &bob,
            json!({ "text": "q", "renoteId": local }),
            "public",
            true,
        ),
        (
            &bob,
            json!({ "text": "r", "replyId": local }),
            "public",
            true,
        ),
        (
            &bob,
            json!({ "text": "r", "replyId": local, "localOnly": false }),
            "public",
            true,
        ),
        (
            &bob,
            json!({ "text": "plain", "localOnly": false }),
            "public",
            false,
        ),
    ];
    let mut failures = Vec::new();
    for (token, params, visibility, local_only) in cases {
        let (status, value) = app.api("notes/create", params.clone(), Some(token)).await;
        let created = &value["createdNote"];
        if status != 200
            || created["visibility"] != visibility
            || created["localOnly"] != local_only
        {
            failures.push(format!(
                "{params}: expected {visibility} localOnly={local_only}, got {status} {} {}",
                created["visibility"], created["localOnly"]
            ));
            continue;
        }
        // The stored note agrees with the answer.
        let (_, shown) = show(&app, &id(created), Some(token)).await;
        if shown["visibility"] != visibility || shown["localOnly"] != local_only {
            failures.push(format!(
                "{params}: notes/show says {} {}",
                shown["visibility"], shown["localOnly"]
            ));
        }
    }
    report(failures);
}

// ---------------------------------------------------------------------------------------------
// notes/create: mentions

#[tokio::test]
async fn mentions_are_resolved_deduplicated_and_ordered() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, _) = app.signup("bob").await;
    let (carol_id, carol) = app.signup("carol").await;
    let (dave_id, _) = app.signup("dave").await;
    let carols_note = id(&post(&app, &carol, json!({ "text": "carol's" })).await);
    let alices_note = id(&post(&app, &alice, json!({ "text": "alice's" })).await);
    let host = app.addr.ip().to_string();

    // (params as alice, expected mentions; None = no `mentions` key)
    let cases: Vec<(Value, Option<Vec<&str>>)> = vec![
        (json!({ "text": "@bob hi" }), Some(vec![&bob_id])),
        (json!({ "text": "@BOB hi" }), Some(vec![&bob_id])),
        (json!({ "text": "hi @Bob." }), Some(vec![&bob_id])),
        (json!({ "text": "@bob @bob @bob" }), Some(vec![&bob_id])),
        (json!({ "text": "@bob @BOB @Bob" }), Some(vec![&bob_id])),
        (json!({ "text": "@ghost yo" }), None),
        (json!({ "text": "@ghost @bob" }), Some(vec![&bob_id])),
        (
            json!({ "text": "@carol @bob @carol @dave" }),
            Some(vec![&carol_id, &bob_id, &dave_id]),
        ),
        (json!({ "text": "@alice me" }), Some(vec![&alice_id])),
        (
            json!({ "text": "mail bob@example.com, `@bob`, https://x.y/@bob" }),
            None,
        ),
        (json!({ "text": "@bob@example.com" }), None),
        (json!({ "text": format!("@bob@{host}x") }), None),
        (
            json!({ "text": "**@bob** and > @carol" }),
            Some(vec![&bob_id, &carol_id]),
        ),
        // The cw is searched too, after the text.
        (
            json!({ "text": "@dave", "cw": "@bob" }),
            Some(vec![&dave_id, &bob_id]),
        ),
        (
            json!({ "text": "x", "cw": "for @carol" }),
            Some(vec![&carol_id]),
        ),
        (json!({ "text": "@bob", "noExtractMentions": true }), None),
        // The reply target's author comes after the text mentions, unless it is the author.
        (
            json!({ "text": "re", "replyId": carols_note }),
            Some(vec![&carol_id]),
        ),
        (
            json!({ "text": "@bob re", "replyId": carols_note }),
            Some(vec![&bob_id, &carol_id]),
        ),
        (
            json!({ "text": "@carol re", "replyId": carols_note }),
            Some(vec![&carol_id]),
        ),
        (
            json!({ "text": "@bob", "replyId": carols_note, "noExtractMentions": true }),
            Some(vec![&carol_id]),
        ),
        (json!({ "text": "re", "replyId": alices_note }), None),
        // Specified notes mention their visible users last; text mentions do not become visible users.
        (
            json!({ "text": "@bob", "visibility": "specified", "visibleUserIds": [dave_id, carol_id] }),
            Some(vec![&bob_id, &dave_id, &carol_id]),
        ),
        (
            json!({ "text": "@dave", "visibility": "specified", "visibleUserIds": [dave_id] }),
            Some(vec![&dave_id]),
        ),
        (
            json!({ "text": "x", "visibility": "specified", "visibleUserIds": [bob_id], "replyId": carols_note }),
            Some(vec![&carol_id, &bob_id]),
        ),
        (json!({ "text": "x", "visibility": "specified" }), None),
        // Renotes mention nobody by themselves.
        (json!({ "renoteId": carols_note }), None),
    ];
    let mut failures = Vec::new();
    for (params, expected) in cases {
        let (status, value) = app.api("notes/create", params.clone(), Some(&alice)).await;
        if status != 200 {
            failures.push(format!("{params}: {status} {value}"));
            continue;
        }
        let created = &value["createdNote"];
        let expected: Option<Vec<String>> =
            expected.map(|v| v.into_iter().map(str::to_owned).collect());
        if mentions(created) != expected {
            failures.push(format!(
                "{params}: mentions {:?}, expected {expected:?}",
                created.get("mentions")
            ));
        }
        if created.get("mentions") == Some(&json!([])) {
            failures.push(format!("{params}: an empty mentions list must be omitted"));
        }
        let (_, shown) = show(&app, &id(created), Some(&alice)).await;
        if mentions(&shown) != expected {
            failures.push(format!(
                "{params}: notes/show mentions {:?}, expected {expected:?}",
                shown.get("mentions")
            ));
        }
    }
    report(failures);

    // Text mentions do not widen a specified note: visibleUserIds stay as given.
    let note = post(
        &app,
        &alice,
        json!({ "text": "@bob", "visibility": "specified", "visibleUserIds": [dave_id] }),
    )
    .await;
    assert_eq!(note["visibleUserIds"], json!([dave_id]));
    // A specified reply is visible to the reply target's author, added after the given users.
    let note = post(&app, &alice, json!({ "text": "x", "visibility": "specified", "visibleUserIds": [bob_id], "replyId": carols_note })).await;
    assert_eq!(note["visibleUserIds"], json!([bob_id, carol_id]));
    // Even when that is the author: listed, but not mentioned.
    let own = id(&post(
        &app,
        &alice,
        json!({ "text": "own", "visibility": "specified", "visibleUserIds": [bob_id] }),
    )
    .await);
    let note = post(&app, &alice, json!({ "text": "x", "visibility": "specified", "visibleUserIds": [bob_id], "replyId": own })).await;
    assert_eq!(note["visibleUserIds"], json!([bob_id, alice_id]));
    assert_eq!(mentions(&note), Some(vec![bob_id.clone()]));
    let note = post(
        &app,
        &alice,
        json!({ "text": "x", "visibility": "specified", "replyId": own }),
    )
    .await;
    assert_eq!(note["visibleUserIds"], json!([alice_id]));
    assert!(note.get("mentions").is_none(), "{note}");
}

/// Ajv reports a `type` error before an `enum` error, and arrays without `nullable` refuse `null`.
#[tokio::test]
async fn ajv_type_errors_for_null_and_non_strings() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let cases = [
        (
            json!({ "text": "x", "visibility": null }),
            "#/properties/visibility/type",
        ),
        (
            json!({ "text": "x", "visibility": 1 }),
            "#/properties/visibility/type",
        ),
        (
            json!({ "text": "x", "reactionAcceptance": 1 }),
            "#/properties/reactionAcceptance/type",
        ),
        (
            json!({ "text": "x", "visibleUserIds": null }),
            "#/properties/visibleUserIds/type",
        ),
        (
            json!({ "text": "x", "fileIds": null }),
            "#/properties/fileIds/type",
        ),
        (
            json!({ "text": "x", "mediaIds": null }),
            "#/properties/mediaIds/type",
        ),
    ];
    let mut cases: Vec<ErrorCase> = cases
        .into_iter()
        .map(|(body, param)| ErrorCase::invalid_param("notes/create", Some(&alice), body, param))
        .collect();
    cases.push(ErrorCase::invalid_param(
        "users/show",
        None,
        json!({ "userIds": null }),
        "#/properties/userIds/type",
    ));
    app.check_errors(cases).await;
}

#[tokio::test]
async fn more_than_twenty_mentions_are_refused() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let mut names = Vec::new();
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..22 {
        let name = format!("user{i}");
        let (user_id, token) = app.signup(&name).await;
        names.push(name);
        ids.push(user_id);
        tokens.push(token);
    }
    let text = |n: usize| {
        names[..n]
            .iter()
            .map(|n| format!("@{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let parent = id(&post(&app, &alice, json!({ "text": "parent" })).await);
    let reply_to_other = id(&post(&app, &tokens[21], json!({ "text": "theirs" })).await);

    // Exactly 20 is fine, including repeats and unresolvable names beyond the 20.
    let note = post(
        &app,
        &alice,
        json!({ "text": format!("{} @user0 @ghost1 @ghost2", text(20)) }),
    )
    .await;
    assert_eq!(mentions(&note).map(|m| m.len()), Some(20));
    assert_eq!(
        mentions(&note).unwrap(),
        ids[..20].to_vec(),
        "in order of appearance"
    );
    // 20 text mentions plus a reply to yourself: still 20.
    post(&app, &alice, json!({ "text": text(20), "replyId": parent })).await;

    let cases = [
        json!({ "text": text(21) }),
        json!({ "text": text(22) }),
        json!({ "text": text(11), "cw": format!("{} @user0", names[11..21].iter().map(|n| format!("@{n}")).collect::<Vec<_>>().join(" ")) }),
        // The reply target's author counts.
        json!({ "text": text(20), "replyId": reply_to_other }),
        // So do the visible users of a specified note.
        json!({ "text": text(20), "visibility": "specified", "visibleUserIds": [ids[21]] }),
        json!({ "text": "x", "visibility": "specified", "visibleUserIds": ids[..21] }),
    ];
    app.check_errors(
        cases
            .into_iter()
            .map(|body| refused(&alice, body, TOO_MANY_MENTIONS)),
    )
    .await;
    // noExtractMentions skips the text.
    post(
        &app,
        &alice,
        json!({ "text": text(22), "noExtractMentions": true }),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// notes/show

#[tokio::test]
async fn show_errors() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    for token in [None, Some(alice.as_str())] {
        for note_id in ["0000000000000000", "kyoppie"] {
            app.fails(
                "notes/show",
                json!({ "noteId": note_id }),
                token,
                400,
                "NO_SUCH_NOTE",
                errors::NO_SUCH_NOTE_NOTES_SHOW,
            )
            .await;
        }
        let err = app
            .fails(
                "notes/show",
                json!({}),
                token,
                400,
                "INVALID_PARAM",
                errors::INVALID_PARAM,
            )
            .await;
        assert_eq!(err["info"]["param"], "#/required");
        let err = app
            .fails(
                "notes/show",
                json!({ "noteId": "foo-bar" }),
                token,
                400,
                "INVALID_PARAM",
                errors::INVALID_PARAM,
            )
            .await;
        assert_eq!(err["info"]["param"], "#/properties/noteId/format");
    }
}

/// Who looks at a note in the hiding matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Author,
    Follower,
    Mentioned,
    Stranger,
    Anonymous,
}

#[tokio::test]
async fn show_applies_the_hiding_rules() {
    use Who::*;
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let (carol_id, carol) = app.signup("carol").await;
    let (_, dave) = app.signup("dave").await;
    // Bob follows alice; carol is mentioned (and, for specified notes, listed); dave is a stranger.
    app.follow(&bob, &alice_id).await;
    let token = |who: Who| match who {
        Author => Some(alice.as_str()),
        Follower => Some(bob.as_str()),
        Mentioned => Some(carol.as_str()),
        Stranger => Some(dave.as_str()),
        Anonymous => None,
    };
    let daves_note = id(&post(&app, &dave, json!({ "text": "dave's" })).await);

    // (description, params as alice, who may see it)
    let all = [Author, Follower, Mentioned, Stranger, Anonymous];
    let cases: Vec<(&str, Value, Vec<Who>)> = vec![
        ("public", json!({ "visibility": "public" }), all.to_vec()),
        ("home", json!({ "visibility": "home" }), all.to_vec()),
        (
            "followers",
            json!({ "visibility": "followers" }),
            vec![Author, Follower, Mentioned],
        ),
        (
            "specified",
            json!({ "visibility": "specified", "visibleUserIds": [carol_id] }),
            vec![Author, Mentioned],
        ),
        // Mentioned in a specified note's text but not listed: still hidden.
        (
            "specified, text mention only",
            json!({ "visibility": "specified", "text": "@dave secret" }),
            vec![Author],
        ),
        // A followers reply is visible to the author of the reply target.
        (
            "followers reply",
            json!({ "visibility": "followers", "replyId": daves_note }),
            vec![Author, Follower, Mentioned, Stranger],
        ),
        (
            "specified reply",
            json!({ "visibility": "specified", "visibleUserIds": [carol_id], "replyId": daves_note }),
            vec![Author, Mentioned, Stranger],
        ),
        (
            "public reply",
            json!({ "replyId": daves_note }),
            all.to_vec(),
        ),
    ];
    let mut failures = Vec::new();
    for (what, mut params, visible_to) in cases {
        if params.get("text").is_none() {
            params["text"] = json!("@carol secret");
        }
        params["cw"] = json!("warning");
        let note = post(&app, &alice, params.clone()).await;
        let note_id = id(&note);
        for who in all {
            let (status, shown) = show(&app, &note_id, token(who)).await;
            let here = format!("{what} seen by {who:?}");
            if status != 200 {
                failures.push(format!("{here}: {status} {shown}"));
                continue;
            }
            let errors = crate::support::schema_errors("Note", &shown);
            if !errors.is_empty() {
                failures.push(format!("{here}: not a Note: {errors:?}"));
            }
            let specified = params["visibility"] == "specified";
            let expected = if visible_to.contains(&who) {
                json!({
                    "isHidden": null, "text": params["text"], "cw": "warning",
                    "visibleUserIds": if specified { note["visibleUserIds"].clone() } else { Value::Null },
                })
            } else {
                json!({ "isHidden": true, "text": null, "cw": null, "fileIds": [], "files": [], "visibleUserIds": null })
            };
            // `null` here stands for "absent" where the key is optional.
            for (key, want) in expected.as_object().unwrap() {
                let got = shown.get(key).cloned();
                let ok = match key.as_str() {
                    "isHidden" | "visibleUserIds" if want.is_null() => got.is_none(),
                    _ => got.as_ref() == Some(want),
                };
                if !ok {
                    failures.push(format!("{here}: {key} is {got:?}, expected {want}"));
                }
            }
            // Hiding never changes who wrote it, what it replies to, or whom it mentions.
            for key in [
                "id",
                "userId",
                "visibility",
                "replyId",
                "mentions",
                "createdAt",
            ] {
                if shown.get(key) != note.get(key) {
                    failures.push(format!(
                        "{here}: {key} is {:?}, created as {:?}",
                        shown.get(key),
                        note.get(key)
                    ));
                }
            }
        }
    }
    report(failures);
}

#[tokio::test]
async fn embedded_targets_are_hidden_too() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let (_, dave) = app.signup("dave").await;
    app.follow(&bob, &alice_id).await;
    let secret = id(&post(
        &app,
        &alice,
        json!({ "text": "secret", "visibility": "followers" }),
    )
    .await);
    // Bob's public reply becomes home (its target is not public) and stays visible to all,
    // but the embedded target is hidden from those who may not see it.
    let reply = post(
        &app,
        &bob,
        json!({ "text": "visible reply", "replyId": secret }),
    )
    .await;
    assert_eq!(reply["visibility"], "home");
    assert_eq!(
        reply["reply"]["text"], "secret",
        "the follower sees the target"
    );
    // Alice's own renote of her followers note is followers-only.
    let quote = id(&post(&app, &alice, json!({ "text": "quote", "renoteId": secret })).await);

    for (viewer, name) in [(Some(dave.as_str()), "dave"), (None, "anonymous")] {
        let (_, shown) = show(&app, &id(&reply), viewer).await;
        assert_schema("Note", &shown);
        assert_eq!(shown["text"], "visible reply", "{name}");
        assert!(shown.get("isHidden").is_none(), "{name}");
        assert_eq!(shown["reply"]["isHidden"], true, "{name}: {shown}");
        assert_eq!(shown["reply"]["text"], Value::Null, "{name}");

        let (_, shown) = show(&app, &quote, viewer).await;
        assert_eq!(shown["isHidden"], true, "{name}");
        assert_eq!(shown["renote"]["isHidden"], true, "{name}");
        assert_eq!(shown["renote"]["text"], Value::Null, "{name}");
    }
    let (_, shown) = show(&app, &quote, Some(&bob)).await;
    assert_eq!(
        (shown["text"].as_str(), shown["renote"]["text"].as_str()),
        (Some("quote"), Some("secret"))
    );
}

// ---------------------------------------------------------------------------------------------
// notes/delete

#[tokio::test]
async fn delete_answers_204_and_updates_counts() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    let parent = id(&post(&app, &alice, json!({ "text": "parent" })).await);
    let reply1 = id(&post(&app, &bob, json!({ "text": "r1", "replyId": parent })).await);
    let reply2 = id(&post(&app, &bob, json!({ "text": "r2", "replyId": parent })).await);
    assert_eq!(show(&app, &parent, None).await.1["repliesCount"], 2);
    let notes_count = |id: String| {
        let app = &app;
        async move {
            app.ok("users/show", json!({ "userId": id }), None).await["notesCount"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(notes_count(bob_id.clone()).await, 2);

    let res = app
        .http
        .post(format!("{}/api/notes/delete", app.url))
        .json(&json!({ "noteId": reply1, "i": bob }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(
        res.bytes().await.unwrap().is_empty(),
        "204 has an empty body"
    );
    assert_eq!(show(&app, &parent, None).await.1["repliesCount"], 1);
    assert_eq!(notes_count(bob_id.clone()).await, 1);
    app.fails(
        "notes/show",
        json!({ "noteId": reply1 }),
        None,
        400,
        "NO_SUCH_NOTE",
        errors::NO_SUCH_NOTE_NOTES_SHOW,
    )
    .await;
    // Deleting twice: it is gone.
    app.fails(
        "notes/delete",
        json!({ "noteId": reply1 }),
        Some(&bob),
        400,
        "NO_SUCH_NOTE",
        errors::NO_SUCH_NOTE_NOTES_DELETE,
    )
    .await;

    app.no_content("notes/delete", json!({ "noteId": reply2 }), Some(&bob))
        .await;
    assert_eq!(show(&app, &parent, None).await.1["repliesCount"], 0);
    app.no_content("notes/delete", json!({ "noteId": parent }), Some(&alice))
        .await;
    assert_eq!(notes_count(alice_id).await, 0);
    assert_eq!(notes_count(bob_id).await, 0);
}

#[tokio::test]
async fn deleting_a_note_deletes_its_replies_and_renotes() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let (bob_id, bob) = app.signup("bob").await;
    let root = id(&post(&app, &alice, json!({ "text": "root" })).await);
    let other = id(&post(&app, &alice, json!({ "text": "other" })).await);
    let reply = id(&post(&app, &bob, json!({ "text": "reply", "replyId": root })).await);
    let reply_to_reply =
        id(&post(&app, &alice, json!({ "text": "deeper", "replyId": reply })).await);
    let renote = id(&post(&app, &bob, json!({ "renoteId": root })).await);
    let quote = id(&post(&app, &bob, json!({ "text": "quote", "renoteId": root })).await);
    let renote_of_quote = id(&post(&app, &alice, json!({ "renoteId": quote })).await);
    // A note that replies to a survivor but quotes a doomed note goes too.
    let mixed = id(&post(
        &app,
        &bob,
        json!({ "text": "mixed", "replyId": other, "renoteId": reply }),
    )
    .await);
    let survivor = id(&post(&app, &bob, json!({ "text": "survivor", "replyId": other })).await);
    assert_eq!(show(&app, &other, None).await.1["repliesCount"], 2);

    app.no_content("notes/delete", json!({ "noteId": root }), Some(&alice))
        .await;
    let mut failures = Vec::new();
    for (what, note_id) in [
        ("root", &root),
        ("reply", &reply),
        ("reply to reply", &reply_to_reply),
        ("renote", &renote),
        ("quote", &quote),
        ("renote of quote", &renote_of_quote),
        ("quote of a reply", &mixed),
    ] {
        let (status, value) = show(&app, note_id, None).await;
        if status != 400 || value["error"]["code"] != "NO_SUCH_NOTE" {
            failures.push(format!("{what} should be gone: {status} {value}"));
        }
    }
    for note_id in [&other, &survivor] {
        let (status, value) = show(&app, note_id, None).await;
        if status != 200 {
            failures.push(format!("{note_id} should remain: {status} {value}"));
        }
    }
    report(failures);
    // Misskey's foreign-key cascade leaves this counter stale (it only decrements for the
    // note deleted explicitly); missive keeps it exact, which no client can object to.
    assert_eq!(
        show(&app, &other, None).await.1["repliesCount"],
        1,
        "the deleted reply no longer counts"
    );
    let count = |v: Value| v["notesCount"].as_i64().unwrap();
    assert_eq!(
        count(
            app.ok("users/show", json!({ "userId": alice_id }), None)
                .await
        ),
        1
    );
    assert_eq!(
        count(
            app.ok("users/show", json!({ "userId": bob_id }), None)
                .await
        ),
        1
    );
}

#[tokio::test]
async fn delete_permissions_and_errors() {
    let app = TestApp::spawn().await;
    let (_, admin) = app.signup("admin").await;
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let alices = id(&post(&app, &alice, json!({ "text": "alice's" })).await);
    let admins = id(&post(&app, &admin, json!({ "text": "admin's" })).await);

    let denied = errors::ACCESS_DENIED_NOTES_DELETE;
    app.fails(
        "notes/delete",
        json!({ "noteId": alices }),
        Some(&bob),
        400,
        "ACCESS_DENIED",
        denied,
    )
    .await;
    app.fails(
        "notes/delete",
        json!({ "noteId": admins }),
        Some(&alice),
        400,
        "ACCESS_DENIED",
        denied,
    )
    .await;
    app.fails(
        "notes/delete",
        json!({ "noteId": alices }),
        None,
        401,
        "CREDENTIAL_REQUIRED",
        errors::CREDENTIAL_REQUIRED,
    )
    .await;
    for note_id in ["0000000000000000", "kyoppie"] {
        app.fails(
            "notes/delete",
            json!({ "noteId": note_id }),
            Some(&alice),
            400,
            "NO_SUCH_NOTE",
            errors::NO_SUCH_NOTE_NOTES_DELETE,
        )
        .await;
    }
    let err = app
        .fails(
            "notes/delete",
            json!({}),
            Some(&alice),
            400,
            "INVALID_PARAM",
            errors::INVALID_PARAM,
        )
        .await;
    assert_eq!(err["info"]["param"], "#/required");
    let err = app
        .fails(
            "notes/delete",
            json!({ "noteId": "foo-bar" }),
            Some(&alice),
            400,
            "INVALID_PARAM",
            errors::INVALID_PARAM,
        )
        .await;
    assert_eq!(err["info"]["param"], "#/properties/noteId/format");
    // The refused deletions deleted nothing.
    assert_eq!(show(&app, &alices, None).await.0, 200);
    assert_eq!(show(&app, &admins, None).await.0, 200);

    // The administrator (the first account) may delete anyone's note.
    app.no_content("notes/delete", json!({ "noteId": alices }), Some(&admin))
        .await;
    assert_eq!(show(&app, &alices, None).await.0, 400);
    assert_eq!(app.ok("i", json!({}), Some(&alice)).await["notesCount"], 0);
}
