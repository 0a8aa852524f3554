//! Packed shapes: hiding rules and validation against Misskey's schemas.

use serde_json::{Value, json};

use super::*;

const NOW: i64 = 1_757_332_800_000;

fn origin() -> Origin {
    Origin {
        url: "http://127.0.0.1:3000".into(),
        host: "127.0.0.1:3000".into(),
    }
}

fn user(id: &str, username: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        name: None,
        is_admin: false,
        followers_count: 1,
        following_count: 2,
        notes_count: 3,
        last_active_at_ms: None,
        logged_in_days: 0,
    }
}

fn plain_note(id: &str, author: &str, visibility: Visibility) -> Note {
    Note {
        id: id.into(),
        user_id: author.into(),
        text: Some("hello".into()),
        cw: Some("cw".into()),
        visibility,
        local_only: false,
        reaction_acceptance: None,
        reply_id: None,
        renote_id: None,
        reply_user_id: None,
        renote_user_id: None,
        mentions: Vec::new(),
        visible_user_ids: Vec::new(),
        replies_count: 0,
        renote_count: 0,
    }
}

fn tree(note: Note) -> NoteTree {
    let author = user(&note.user_id, "alice");
    NoteTree {
        note,
        author,
        reply: None,
        renote: None,
        reactions: Default::default(),
    }
}

fn viewer(id: &str, following: &[&str]) -> Viewer {
    Viewer {
        id: id.into(),
        following: following.iter().map(|s| s.to_string()).collect(),
        reactions: Default::default(),
    }
}

fn validate(schema: &str, value: &Value) -> Vec<String> {
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
fn hiding_matrix() {
    // (visibility, viewer, follows author, mentioned, listed in visibleUserIds, visible)
    let author = "a0000000000000aa";
    let cases = [
        (Visibility::Public, None, false, false, false, true),
        (Visibility::Home, None, false, false, false, true),
        (Visibility::Followers, None, false, false, false, false),
        (
            Visibility::Followers,
            Some(author),
            false,
            false,
            false,
            true,
        ),
        (Visibility::Followers, Some("b"), true, false, false, true),
        (Visibility::Followers, Some("b"), false, true, false, true),
        (Visibility::Followers, Some("b"), false, false, false, false),
        (
            Visibility::Specified,
            Some(author),
            false,
            false,
            false,
            true,
        ),
        (Visibility::Specified, Some("b"), true, true, false, false),
        (Visibility::Specified, Some("b"), false, false, true, true),
        (Visibility::Specified, None, false, false, false, false),
    ];
    for (visibility, who, follows, mentioned, listed, visible) in cases {
        let mut n = plain_note("a0000000000000nn", author, visibility);
        if mentioned {
            n.mentions.push("b".into());
        }
        if listed {
            n.visible_user_ids.push("b".into());
        }
        let followed: &[&str] = if follows { &[author] } else { &[] };
        let v = who.map(|id| viewer(id, followed));
        assert_eq!(
            is_visible_to(&n, v.as_ref()),
            visible,
            "{visibility:?} {who:?} follows={follows} mentioned={mentioned}"
        );
        let packed = note(&tree(n), v.as_ref(), NoteOptions::DETAIL, &origin(), NOW);
        assert_eq!(packed.is_hidden, (!visible).then_some(true));
        assert_eq!(packed.text.is_some(), visible);
        let json = serde_json::to_value(&packed).unwrap();
        assert!(
            validate("Note", &json).is_empty(),
            "{:?}",
            validate("Note", &json)
        );
    }
}

#[test]
fn webhook_bodies_skip_hiding_and_carry_the_pair_cache() {
    let n = plain_note(
        "a0000000000000nn",
        "a0000000000000aa",
        Visibility::Specified,
    );
    let packed =
        serde_json::to_value(note(&tree(n), None, NoteOptions::WEBHOOK, &origin(), NOW)).unwrap();
    assert_eq!(packed["text"], "hello");
    assert_eq!(packed["reactionAndUserPairCache"], json!([]));
    assert_eq!(packed["visibleUserIds"], json!([]));
    assert!(packed.get("isHidden").is_none());
    assert!(
        packed.get("mentions").is_none(),
        "empty mentions are omitted"
    );
}

#[test]
fn embedded_reply_is_shallow_and_renote_is_detailed() {
    let parent = plain_note("a0000000000000p1", "a0000000000000aa", Visibility::Public);
    let quoted = plain_note("a0000000000000q1", "a0000000000000aa", Visibility::Public);
    let mut child = plain_note("a0000000000000c1", "a0000000000000aa", Visibility::Public);
    child.reply_id = Some(parent.id.clone());
    child.renote_id = Some(quoted.id.clone());
    let t = NoteTree {
        reply: Some(Box::new(tree(parent))),
        renote: Some(Box::new(tree(quoted))),
        ..tree(child)
    };
    let packed = serde_json::to_value(note(&t, None, NoteOptions::DETAIL, &origin(), NOW)).unwrap();
    assert_eq!(packed["reply"]["id"], "a0000000000000p1");
    assert!(packed["reply"].get("clippedCount").is_none());
    assert_eq!(packed["renote"]["clippedCount"], 0);
    assert!(
        validate("Note", &packed).is_empty(),
        "{:?}",
        validate("Note", &packed)
    );
}

#[test]
fn users_validate_against_their_schemas() {
    let u = user("a0000000000000aa", "Alice");
    let lite = serde_json::to_value(user_lite(&u, &origin(), NOW)).unwrap();
    assert_eq!(
        lite["avatarUrl"],
        "http://127.0.0.1:3000/identicon/alice@127.0.0.1:3000"
    );
    assert_eq!(lite["onlineStatus"], "unknown");
    assert!(validate("UserLite", &lite).is_empty());

    let other = serde_json::to_value(user_detailed_not_me(
        &u,
        &origin(),
        NOW,
        Some(Relation {
            is_following: true,
            is_followed: false,
        }),
    ))
    .unwrap();
    assert_eq!(other["isFollowing"], true);
    assert_eq!(other["followedMessage"], Value::Null);
    assert!(
        validate("UserDetailedNotMe", &other).is_empty(),
        "{:?}",
        validate("UserDetailedNotMe", &other)
    );

    let anonymous = serde_json::to_value(user_detailed_not_me(&u, &origin(), NOW, None)).unwrap();
    assert!(anonymous.get("isFollowing").is_none());

    let settings = MeSettings {
        webhook_limit: 3,
        mention_limit: 20,
        with_secrets: true,
    };
    let me = serde_json::to_value(me_detailed(&u, &origin(), NOW, settings)).unwrap();
    assert_eq!(me["policies"]["webhookLimit"], 3);
    assert_eq!(me["email"], Value::Null);
    assert!(
        validate("MeDetailed", &me).is_empty(),
        "{:?}",
        validate("MeDetailed", &me)
    );
}

#[test]
fn online_status_thresholds() {
    let cases = [
        (None, "unknown"),
        (Some(NOW - 1000), "online"),
        (Some(NOW - 3_600_000), "active"),
        (Some(NOW - 4 * 86_400_000), "offline"),
    ];
    for (last, want) in cases {
        assert_eq!(online_status(last, NOW), want);
    }
}

/// The keys of a packed local note in Misskey's order (`NoteEntityService.pack`), with the
/// pair cache after `reactionEmojis` when asked for.
fn expected_note_keys(with_pair_cache: bool, rest: &[&'static str]) -> Vec<&'static str> {
    let mut keys = vec![
        "id",
        "createdAt",
        "userId",
        "user",
        "text",
        "cw",
        "visibility",
        "localOnly",
        "reactionAcceptance",
        "renoteCount",
        "repliesCount",
        "reactionCount",
        "reactions",
        "reactionEmojis",
    ];
    if with_pair_cache {
        keys.push("reactionAndUserPairCache");
    }
    keys.extend(["fileIds", "files", "replyId", "renoteId"]);
    keys.extend(rest);
    keys
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn embedded_notes_carry_the_pair_cache_in_webhook_bodies_only() {
    let parent = plain_note("a0000000000000p1", "a0000000000000aa", Visibility::Public);
    let quoted = plain_note("a0000000000000q1", "a0000000000000aa", Visibility::Public);
    let mut child = plain_note("a0000000000000c1", "a0000000000000aa", Visibility::Public);
    child.reply_id = Some(parent.id.clone());
    child.renote_id = Some(quoted.id.clone());
    let t = NoteTree {
        reply: Some(Box::new(tree(parent))),
        renote: Some(Box::new(tree(quoted))),
        ..tree(child)
    };
    for (options, with_cache) in [(NoteOptions::WEBHOOK, true), (NoteOptions::DETAIL, false)] {
        let packed = serde_json::to_value(note(&t, None, options, &origin(), NOW)).unwrap();
        assert_eq!(
            keys(&packed),
            expected_note_keys(with_cache, &["clippedCount", "reply", "renote"])
        );
        assert_eq!(keys(&packed["reply"]), expected_note_keys(with_cache, &[]));
        assert_eq!(
            keys(&packed["renote"]),
            expected_note_keys(with_cache, &["clippedCount"])
        );
        if with_cache {
            assert_eq!(packed["reply"]["reactionAndUserPairCache"], json!([]));
            assert_eq!(packed["renote"]["reactionAndUserPairCache"], json!([]));
        }
        assert!(
            validate("Note", &packed).is_empty(),
            "{:?}",
            validate("Note", &packed)
        );
    }
}

#[test]
fn the_reference_examples_have_the_packed_key_order() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/misskey-examples/note.typical-webhook.json"
    );
    let example: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut n = plain_note("a0000000000000nn", "a0000000000000aa", Visibility::Public);
    n.mentions = vec!["a0000000000000bb".into()];
    let packed =
        serde_json::to_value(note(&tree(n), None, NoteOptions::WEBHOOK, &origin(), NOW)).unwrap();
    assert_eq!(keys(&packed), keys(&example));
}

fn example(name: &str) -> Value {
    let path = format!(
        "{}/../../testdata/misskey-examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn users_have_the_key_order_of_misskeys_examples() {
    let u = user("a0000000000000aa", "Alice");
    let lite = serde_json::to_value(user_lite(&u, &origin(), NOW)).unwrap();
    assert_eq!(keys(&lite), keys(&example("userlite.typical.json")));
    let followed = example("webhook.followed.json");
    assert_eq!(keys(&lite), keys(&followed["body"]["user"]));
    let following = Relation {
        is_following: true,
        is_followed: false,
    };
    let other =
        serde_json::to_value(user_detailed_not_me(&u, &origin(), NOW, Some(following))).unwrap();
    assert_eq!(keys(&other), keys(&example("user-detailed-not-me.json")));
    let follow = example("webhook.follow.json");
    assert_eq!(keys(&other), keys(&follow["body"]["user"]));
}

#[test]
fn reactions_are_packed_as_misskey_packs_them() {
    let n = plain_note("a0000000000000nn", "a0000000000000aa", Visibility::Public);
    let reacted = NoteTree {
        reactions: NoteReactions {
            counts: vec![("👍".into(), 2), ("❤".into(), 1)],
            pair_cache: vec![
                "a0000000000000bb/👍".into(),
                "a0000000000000cc/❤".into(),
                "a0000000000000dd/👍".into(),
            ],
        },
        ..tree(n)
    };
    let mut fan = viewer("a0000000000000cc", &[]);
    fan.reactions.insert("a0000000000000nn".into(), "❤".into());

    let for_fan = note(&reacted, Some(&fan), NoteOptions::DETAIL, &origin(), NOW);
    let packed = serde_json::to_value(&for_fan).unwrap();
    assert_eq!(packed["reactions"], json!({"❤": 1, "👍": 2}));
    assert_eq!(
        packed["reactions"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["❤", "👍"]
    );
    assert_eq!(packed["reactionCount"], 3);
    assert_eq!(packed["reactionEmojis"], json!({}));
    assert_eq!(packed["myReaction"], "❤");
    assert!(packed.get("reactionAndUserPairCache").is_none());
    assert!(
        validate("Note", &packed).is_empty(),
        "{:?}",
        validate("Note", &packed)
    );

    // Someone who did not react, nobody, and a shallow pack: no `myReaction`.
    let other = viewer("a0000000000000ee", &[]);
    for (who, options) in [
        (Some(&other), NoteOptions::DETAIL),
        (None, NoteOptions::DETAIL),
        (
            Some(&fan),
            NoteOptions {
                detail: false,
                ..NoteOptions::DETAIL
            },
        ),
    ] {
        let packed = serde_json::to_value(note(&reacted, who, options, &origin(), NOW)).unwrap();
        assert!(packed.get("myReaction").is_none(), "{packed}");
    }

    let webhook =
        serde_json::to_value(note(&reacted, None, NoteOptions::WEBHOOK, &origin(), NOW)).unwrap();
    assert_eq!(
        webhook["reactionAndUserPairCache"],
        json!([
            "a0000000000000bb/👍",
            "a0000000000000cc/❤",
            "a0000000000000dd/👍"
        ])
    );
    assert!(
        validate("Note", &webhook).is_empty(),
        "{:?}",
        validate("Note", &webhook)
    );
}
