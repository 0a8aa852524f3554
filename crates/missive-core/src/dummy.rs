//! The dummy bodies `i/webhooks/test` sends, shaped like Misskey's `WebhookTestService`.
//!
//! Misskey builds these by hand rather than through its packers, so their keys and order
//! differ from real packing: they are written out here key by key, in the order a
//! Misskey 2025.9.0 sends them (as captured on the wire).

use serde_json::{Value, json};

use crate::event::EventType;
use crate::packed::Origin;
use crate::reaction::FALLBACK;
use crate::time::iso8601_ms;

const DUMMY_TEXT: &str = "This is a dummy note for testing purposes.";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The keys of a dummy note, in order (`detail: true`; the embedded reply stops after
/// `reactionAndUserPairCache`).
pub const NOTE_KEYS: &[&str] = &[
    "id",
    "createdAt",
    "deletedAt",
    "text",
    "cw",
    "userId",
    "user",
    "replyId",
    "renoteId",
    "isHidden",
    "visibility",
    "mentions",
    "visibleUserIds",
    "fileIds",
    "files",
    "tags",
    "poll",
    "emojis",
    "channelId",
    "channel",
    "localOnly",
    "reactionAcceptance",
    "reactionEmojis",
    "reactions",
    "reactionCount",
    "renoteCount",
    "repliesCount",
    "reactionAndUserPairCache",
    "clippedCount",
    "reply",
    "renote",
    "myReaction",
];

/// The keys of the dummy `UserLite`, in order.
pub const USER_LITE_KEYS: &[&str] = &[
    "id",
    "name",
    "username",
    "host",
    "avatarUrl",
    "avatarBlurhash",
    "avatarDecorations",
    "isBot",
    "isCat",
    "emojis",
    "onlineStatus",
    "badgeRoles",
];

/// The keys the dummy `UserDetailedNotMe` adds after the `UserLite` keys, in order.
pub const USER_DETAILED_KEYS: &[&str] = &[
    "url",
    "uri",
    "movedTo",
    "alsoKnownAs",
    "createdAt",
    "updatedAt",
    "lastFetchedAt",
    "bannerUrl",
    "bannerBlurhash",
    "isLocked",
    "isSilenced",
    "isSuspended",
    "description",
    "location",
    "birthday",
    "lang",
    "fields",
    "verifiedLinks",
    "followersCount",
    "followingCount",
    "notesCount",
    "pinnedNoteIds",
    "pinnedNotes",
    "pinnedPageId",
    "pinnedPage",
    "publicReactions",
    "followersVisibility",
    "followingVisibility",
    "chatScope",
    "canChat",
    "twoFactorEnabled",
    "usePasswordLessLogin",
    "securityKeys",
    "roles",
    "memo",
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

/// The test body for `event`. Misskey sends nothing for `reaction`; missive sends a
/// dummy of the body its `reaction` deliveries carry (`{note, user, reaction}`).
///
/// The origin is not used: Misskey's dummies carry no URLs of the server.
pub fn test_body(event: EventType, _origin: &Origin, now_ms: i64) -> Option<Value> {
    let note_1 = || DummyNote::new("dummy-note-1", 1, Some(DUMMY_TEXT));
    let body = match event {
        EventType::Note => json!({ "note": note_1().pack(now_ms, true) }),
        EventType::Reply => {
            let reply = DummyNote {
                reply: Some(Box::new(note_1())),
                ..DummyNote::new("dummy-reply-1", 1, Some(DUMMY_TEXT))
            };
            json!({ "note": reply.pack(now_ms, true) })
        }
        EventType::Renote => {
            let renote = DummyNote {
                renote: Some(Box::new(note_1())),
                ..DummyNote::new("dummy-renote-1", 2, None)
            };
            json!({ "note": renote.pack(now_ms, true) })
        }
        EventType::Mention => {
            let mention = DummyNote {
                mentions: vec!["dummy-user-2"],
                ..DummyNote::new(
                    "dummy-mention-1",
                    1,
                    Some("@dummy2 This is a mention to you."),
                )
            };
            json!({ "note": mention.pack(now_ms, true) })
        }
        EventType::Follow => json!({ "user": user_detailed(1, now_ms) }),
        EventType::Followed => json!({ "user": user_lite(2) }),
        EventType::Unfollow => json!({ "user": user_detailed(3, now_ms) }),
        EventType::Reaction => {
            // The dummy note is `likeOnly`, so the reaction to it is the fallback heart.
            let mut reacted = note_1().pack(now_ms, true);
            reacted["reactions"] = json!({ FALLBACK: 1 });
            reacted["reactionCount"] = json!(1);
            json!({ "note": reacted, "user": user_lite(2), "reaction": FALLBACK })
        }
    };
    Some(body)
}

/// Misskey's three dummy users: counters, and how many days ago they were updated and
/// fetched.
struct DummyUser {
    n: u8,
    followers: i64,
    following: i64,
    notes: i64,
    updated_days_ago: i64,
    fetched_days_ago: i64,
}

fn dummy_user(n: u8) -> DummyUser {
    let (followers, following, notes, updated_days_ago, fetched_days_ago) = match n {
        1 => (10, 5, 30, 7, 5),
        2 => (40, 50, 900, 30, 1),
        _ => (60, 70, 15900, 15, 2),
    };
    DummyUser {
        n,
        followers,
        following,
        notes,
        updated_days_ago,
        fetched_days_ago,
    }
}

/// Misskey's hand-built dummy `UserLite`: `onlineStatus` "active", no avatar URL; every
/// dummy user is a cat.
fn user_lite(n: u8) -> Value {
    json!({
        "id": format!("dummy-user-{n}"),
        "name": format!("DummyUser{n}"),
        "username": format!("dummy{n}"),
        "host": null,
        "avatarUrl": "",
        "avatarBlurhash": null,
        "avatarDecorations": [],
        "isBot": false,
        "isCat": true,
        "emojis": {},
        "onlineStatus": "active",
        "badgeRoles": [],
    })
}

fn user_detailed(n: u8, now_ms: i64) -> Value {
    let u = dummy_user(n);
    let mut user = user_lite(u.n);
    let details = json!({
        "url": null,
        "uri": null,
        "movedTo": null,
        "alsoKnownAs": [],
        "createdAt": iso8601_ms(now_ms),
        "updatedAt": iso8601_ms(now_ms - u.updated_days_ago * DAY_MS),
        "lastFetchedAt": iso8601_ms(now_ms - u.fetched_days_ago * DAY_MS),
        "bannerUrl": null,
        "bannerBlurhash": null,
        "isLocked": false,
        "isSilenced": false,
        "isSuspended": false,
        "description": null,
        "location": null,
        "birthday": null,
        "lang": null,
        "fields": [],
        "verifiedLinks": [],
        "followersCount": u.followers,
        "followingCount": u.following,
        "notesCount": u.notes,
        "pinnedNoteIds": [],
        "pinnedNotes": [],
        "pinnedPageId": null,
        "pinnedPage": null,
        "publicReactions": true,
        "followersVisibility": "public",
        "followingVisibility": "public",
        "chatScope": "mutual",
        "canChat": true,
    });
    // Split in two: one literal this long exceeds the macro's recursion limit.
    let security_and_relation = json!({
        "twoFactorEnabled": false,
        "usePasswordLessLogin": false,
        "securityKeys": false,
        "roles": [],
        "memo": null,
        "isFollowing": false,
        "isFollowed": false,
        "hasPendingFollowRequestFromYou": false,
        "hasPendingFollowRequestToYou": false,
        "isBlocking": false,
        "isBlocked": false,
        "isMuted": false,
        "isRenoteMuted": false,
        "notify": "none",
        "withReplies": true,
    });
    for part in [details, security_and_relation] {
        if let (Value::Object(user), Value::Object(part)) = (&mut user, part) {
            user.extend(part);
        }
    }
    user
}

/// One of Misskey's dummy notes, before packing.
struct DummyNote {
    id: &'static str,
    author: u8,
    text: Option<&'static str>,
    mentions: Vec<&'static str>,
    reply: Option<Box<DummyNote>>,
    renote: Option<Box<DummyNote>>,
}

impl DummyNote {
    fn new(id: &'static str, author: u8, text: Option<&'static str>) -> DummyNote {
        DummyNote {
            id,
            author,
            text,
            mentions: Vec::new(),
            reply: None,
            renote: None,
        }
    }

    /// Packs the note as Misskey's `toPackedNote` does: `detail` adds `clippedCount`, the
    /// embedded notes (the reply shallow, the renote detailed) and `myReaction`.
    fn pack(&self, now_ms: i64, detail: bool) -> Value {
        let mut note = json!({
            "id": self.id,
            "createdAt": iso8601_ms(now_ms),
            "deletedAt": null,
            "text": self.text,
            "cw": null,
            "userId": format!("dummy-user-{}", self.author),
            "user": user_lite(self.author),
            "replyId": self.reply.as_ref().map(|r| r.id),
            "renoteId": self.renote.as_ref().map(|r| r.id),
            "isHidden": false,
            "visibility": "public",
            "mentions": self.mentions,
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
            "reactionAndUserPairCache": [],
        });
        if detail {
            note["clippedCount"] = json!(0);
            note["reply"] = self
                .reply
                .as_ref()
                .map_or(Value::Null, |r| r.pack(now_ms, false));
            note["renote"] = self
                .renote
                .as_ref()
                .map_or(Value::Null, |r| r.pack(now_ms, true));
            note["myReaction"] = Value::Null;
        }
        note
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            url: "http://x".into(),
            host: "x".into(),
        }
    }

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_type_has_a_body_with_misskeys_ids() {
        let origin = origin();
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
        assert_eq!(keys(&reaction), ["note", "user", "reaction"]);
        assert_eq!(reaction["reaction"], "❤");
        assert_eq!(reaction["note"]["reactions"], json!({"❤": 1}));
        assert_eq!(keys(&reaction["note"]), NOTE_KEYS);
        assert_eq!(keys(&reaction["user"]), USER_LITE_KEYS);
        let renote = test_body(EventType::Renote, &origin, 0).unwrap();
        assert_eq!(renote["note"]["text"], Value::Null);
        assert_eq!(renote["note"]["renote"]["id"], "dummy-note-1");
    }

    #[test]
    fn every_dummy_has_misskeys_keys_in_misskeys_order() {
        let origin = origin();
        let detailed: Vec<&str> = USER_LITE_KEYS
            .iter()
            .chain(USER_DETAILED_KEYS)
            .copied()
            .collect();
        let shallow_note = &NOTE_KEYS[..=NOTE_KEYS
            .iter()
            .position(|k| *k == "reactionAndUserPairCache")
            .unwrap()];
        for event in [
            EventType::Note,
            EventType::Reply,
            EventType::Renote,
            EventType::Mention,
        ] {
            let body = test_body(event, &origin, 0).unwrap();
            assert_eq!(keys(&body), ["note"], "{event}");
            let note = &body["note"];
            assert_eq!(keys(note), NOTE_KEYS, "{event}");
            assert_eq!(keys(&note["user"]), USER_LITE_KEYS, "{event}");
            assert_eq!(note["reactionAndUserPairCache"], json!([]), "{event}");
            assert_eq!(note["clippedCount"], 0, "{event}");
            assert_eq!(note["myReaction"], Value::Null, "{event}");
            match event {
                EventType::Reply => {
                    assert_eq!(keys(&note["reply"]), shallow_note);
                    assert_eq!(keys(&note["reply"]["user"]), USER_LITE_KEYS);
                    assert_eq!(note["renote"], Value::Null);
                }
                EventType::Renote => {
                    assert_eq!(keys(&note["renote"]), NOTE_KEYS);
                    assert_eq!(note["renote"]["reply"], Value::Null);
                    assert_eq!(note["reply"], Value::Null);
                    assert_eq!(note["user"]["id"], "dummy-user-2");
                }
                _ => {
                    assert_eq!(note["reply"], Value::Null, "{event}");
                    assert_eq!(note["renote"], Value::Null, "{event}");
                }
            }
        }
        for event in [EventType::Follow, EventType::Unfollow] {
            let body = test_body(event, &origin, 0).unwrap();
            assert_eq!(keys(&body), ["user"], "{event}");
            assert_eq!(keys(&body["user"]), detailed, "{event}");
            assert_eq!(body["user"]["alsoKnownAs"], json!([]), "{event}");
            assert_eq!(body["user"]["withReplies"], true, "{event}");
        }
        let followed = test_body(EventType::Followed, &origin, 0).unwrap();
        assert_eq!(keys(&followed), ["user"]);
        assert_eq!(keys(&followed["user"]), USER_LITE_KEYS);
        assert_eq!(followed["user"]["avatarUrl"], "");
        assert_eq!(followed["user"]["onlineStatus"], "active");
    }

    #[test]
    fn dummy_user_one_is_misskeys() {
        let now = 30 * DAY_MS;
        let follow = test_body(EventType::Follow, &origin(), now).unwrap();
        let user = &follow["user"];
        assert_eq!(user["username"], "dummy1");
        assert_eq!(user["name"], "DummyUser1");
        assert_eq!(user["isCat"], true);
        assert_eq!(
            (
                &user["followersCount"],
                &user["followingCount"],
                &user["notesCount"]
            ),
            (&json!(10), &json!(5), &json!(30))
        );
        assert_eq!(user["createdAt"], iso8601_ms(now));
        assert_eq!(user["updatedAt"], iso8601_ms(now - 7 * DAY_MS));
    }

    fn errors(schema: &str, value: &Value) -> Vec<String> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/misskey-schemas.json"
        );
        let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        doc["$ref"] = json!(format!("#/components/schemas/{schema}"));
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&doc)
            .unwrap();
        validator
            .iter_errors(value)
            .map(|e| format!("{schema}: {e} at {}", e.instance_path))
            .collect()
    }

    #[test]
    fn dummies_validate_against_misskeys_schemas() {
        let origin = Origin {
            url: "http://x".into(),
            host: "x".into(),
        };
        for event in EventType::ALL {
            let Some(body) = test_body(event, &origin, 1_764_000_000_000) else {
                continue;
            };
            let (schema, value) = match body.get("note") {
                Some(note) => ("Note", note),
                None if matches!(event, EventType::Followed) => ("UserLite", &body["user"]),
                None => ("UserDetailedNotMe", &body["user"]),
            };
            let found = errors(schema, value);
            assert!(found.is_empty(), "{event}: {found:?}");
        }
    }
}
