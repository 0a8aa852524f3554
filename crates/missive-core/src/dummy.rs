//! The dummy bodies `i/webhooks/test` sends, shaped like Misskey's `WebhookTestService`.

use serde_json::{Value, json};

use crate::event::EventType;
use crate::model::User;
use crate::packed::{self, Origin, Relation};
use crate::reaction::FALLBACK;
use crate::time::iso8601_ms;

const DUMMY_TEXT: &str = "This is a dummy note for testing purposes.";

/// The test body for `event`. Misskey sends nothing for `reaction`; missive sends a
/// dummy of the body its `reaction` deliveries carry (`{note, user, reaction}`).
pub fn test_body(event: EventType, origin: &Origin, now_ms: i64) -> Option<Value> {
    let body = match event {
        EventType::Note => json!({ "note": note("dummy-note-1", 1, DUMMY_TEXT, origin, now_ms) }),
        EventType::Reply => {
            let mut reply = note("dummy-reply-1", 1, DUMMY_TEXT, origin, now_ms);
            reply["replyId"] = json!("dummy-note-1");
            reply["reply"] = note("dummy-note-1", 1, DUMMY_TEXT, origin, now_ms);
            json!({ "note": reply })
        }
        EventType::Renote => {
            let mut renote = note("dummy-renote-1", 2, DUMMY_TEXT, origin, now_ms);
            renote["text"] = Value::Null;
            renote["renoteId"] = json!("dummy-note-1");
            renote["renote"] = note("dummy-note-1", 1, DUMMY_TEXT, origin, now_ms);
            json!({ "note": renote })
        }
        EventType::Mention => {
            let mut mention = note(
                "dummy-mention-1",
                1,
                "@dummy2 This is a mention to you.",
                origin,
                now_ms,
            );
            mention["mentions"] = json!(["dummy-user-2"]);
            json!({ "note": mention })
        }
        EventType::Follow => json!({ "user": user_detailed(1, origin, now_ms) }),
        EventType::Followed => json!({ "user": user_lite(2, origin, now_ms) }),
        EventType::Unfollow => json!({ "user": user_detailed(3, origin, now_ms) }),
        EventType::Reaction => {
            // The dummy note is `likeOnly`, so the reaction to it is the fallback heart.
            let mut reacted = note("dummy-note-1", 1, DUMMY_TEXT, origin, now_ms);
            reacted["reactions"] = json!({ FALLBACK: 1 });
            reacted["reactionCount"] = json!(1);
            json!({
                "note": reacted,
                "user": user_lite(2, origin, now_ms),
                "reaction": FALLBACK,
            })
        }
    };
    Some(body)
}

fn dummy_user(n: u8) -> User {
    let (followers, following, notes) = if n == 1 { (10, 5, 30) } else { (0, 0, 0) };
    User {
        id: format!("dummy-user-{n}"),
        username: format!("dummy{n}"),
        name: Some(format!("DummyUser{n}")),
        is_admin: false,
        followers_count: followers,
        following_count: following,
        notes_count: notes,
        last_active_at_ms: None,
        logged_in_days: 0,
    }
}

/// Misskey's hand-built dummy `UserLite`: `onlineStatus` "active", no avatar URL.
fn user_lite(n: u8, origin: &Origin, now_ms: i64) -> Value {
    let mut user =
        serde_json::to_value(packed::user_lite(&dummy_user(n), origin, now_ms)).unwrap_or_default();
    user["avatarUrl"] = json!("");
    user["onlineStatus"] = json!("active");
    user["isCat"] = json!(n == 1);
    user
}

fn user_detailed(n: u8, origin: &Origin, now_ms: i64) -> Value {
    let packed =
        packed::user_detailed_not_me(&dummy_user(n), origin, now_ms, Some(Relation::default()));
    let mut user = serde_json::to_value(packed).unwrap_or_default();
    user["avatarUrl"] = json!("");
    user["onlineStatus"] = json!("active");
    user["isCat"] = json!(n == 1);
    user["createdAt"] = json!(iso8601_ms(now_ms));
    user
}

fn note(id: &str, author: u8, text: &str, origin: &Origin, now_ms: i64) -> Value {
    json!({
        "id": id,
        "createdAt": iso8601_ms(now_ms),
        "deletedAt": null,
        "text": text,
        "cw": null,
        "userId": format!("dummy-user-{author}"),
        "user": user_lite(author, origin, now_ms),
        "replyId": null,
        "renoteId": null,
        "isHidden": false,
        "visibility": "public",
        "mentions": [],
        "visibleUserIds": [],
        "fileIds": [],
        "files": [],
        "tags": [],
        "poll": null,
        "emojis": {},
        "channelId": null,
        "channel": null,
        "localOnly": true,
        "reactionAcceptance": "likeOnly",
        "reactionEmojis": {},
        "reactions": {},
        "reactionCount": 0,
        "renoteCount": 10,
        "repliesCount": 5,
        "myReaction": null
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_a_body_with_misskeys_ids() {
        let origin = Origin {
            url: "http://x".into(),
            host: "x".into(),
        };
        let expected = [
            (EventType::Note, "/note/id", "dummy-note-1"),
            (EventType::Reply, "/note/id", "dummy-reply-1"),
            (EventType::Renote, "/note/id", "dummy-renote-1"),
            (EventType::Mention, "/note/id", "dummy-mention-1"),
            (EventType::Follow, "/user/id", "dummy-user-1"),
            (EventType::Followed, "/user/id", "dummy-user-2"),
            (EventType::Unfollow, "/user/id", "dummy-user-3"),
            (EventType::Reaction, "/note/id", "dummy-note-1"),
            (EventType::Reaction, "/user/id", "dummy-user-2"),
        ];
        for (event, pointer, id) in expected {
            let body = test_body(event, &origin, 0).unwrap();
            assert_eq!(
                body.pointer(pointer).and_then(Value::as_str),
                Some(id),
                "{event}"
            );
        }
        let reaction = test_body(EventType::Reaction, &origin, 0).unwrap();
        assert_eq!(reaction["reaction"], "❤");
        assert_eq!(reaction["note"]["reactions"], json!({"❤": 1}));
        let renote = test_body(EventType::Renote, &origin, 0).unwrap();
        assert_eq!(renote["note"]["text"], Value::Null);
        assert_eq!(renote["note"]["renote"]["id"], "dummy-note-1");
    }
}
