//! Misskey's edge cases of who receives which event, as data.

use super::*;
use crate::model::Visibility;

struct Case {
    what: &'static str,
    author: &'static str,
    text_mentions: &'static [&'static str],
    reply_to: Option<&'static str>,
    renote_of: Option<&'static str>,
    pure_renote: bool,
    specified_to: &'static [&'static str],
    expected: &'static [(EventType, &'static str)],
}

const fn case(what: &'static str, author: &'static str) -> Case {
    Case {
        what,
        author,
        text_mentions: &[],
        reply_to: None,
        renote_of: None,
        pure_renote: false,
        specified_to: &[],
        expected: &[],
    }
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn note_emission_table() {
    use EventType::{Mention, Note as N, Renote, Reply};
    let cases = [
        Case {
            expected: &[(N, "a")],
            ..case("A posts a note", "a")
        },
        Case {
            reply_to: Some("a"),
            expected: &[(N, "a"), (Reply, "a")],
            ..case("A replies to A's own note", "a")
        },
        Case {
            reply_to: Some("b"),
            expected: &[(N, "a"), (Mention, "b"), (Reply, "b")],
            ..case("A replies to B's note", "a")
        },
        Case {
            reply_to: Some("b"),
            text_mentions: &["b"],
            expected: &[(N, "a"), (Mention, "b"), (Reply, "b")],
            ..case("A replies to B and writes @b", "a")
        },
        Case {
            renote_of: Some("a"),
            pure_renote: true,
            expected: &[(N, "a")],
            ..case("A renotes A's own note", "a")
        },
        Case {
            renote_of: Some("b"),
            pure_renote: true,
            expected: &[(N, "a"), (Renote, "b")],
            ..case("A renotes B's note", "a")
        },
        Case {
            renote_of: Some("b"),
            expected: &[(N, "a"), (Renote, "b")],
            ..case("A quotes B's note", "a")
        },
        Case {
            renote_of: Some("b"),
            text_mentions: &["b"],
            expected: &[(N, "a"), (Mention, "b"), (Renote, "b")],
            ..case("A quotes B with @b", "a")
        },
        Case {
            text_mentions: &["a"],
            expected: &[(N, "a"), (Mention, "a")],
            ..case("A mentions themself", "a")
        },
        Case {
            text_mentions: &["b", "b", "b"],
            expected: &[(N, "a"), (Mention, "b")],
            ..case("A writes @b @b @b", "a")
        },
        Case {
            specified_to: &["b"],
            expected: &[(N, "a"), (Mention, "b")],
            ..case("A sends a specified note to B", "a")
        },
        Case {
            specified_to: &["c"],
            text_mentions: &["b"],
            expected: &[(N, "a"), (Mention, "b"), (Mention, "c")],
            ..case("A sends a specified note to C mentioning B", "a")
        },
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let mentions = mention_list(
            &ids(c.text_mentions),
            c.author,
            c.reply_to,
            &ids(c.specified_to),
        );
        let note = Note {
            id: "n".into(),
            user_id: c.author.into(),
            text: (!c.pure_renote).then(|| "text".to_string()),
            cw: None,
            visibility: if c.specified_to.is_empty() {
                Visibility::Public
            } else {
                Visibility::Specified
            },
            local_only: false,
            reaction_acceptance: None,
            reply_id: c.reply_to.map(|_| "r".to_string()),
            renote_id: c.renote_of.map(|_| "q".to_string()),
            reply_user_id: c.reply_to.map(str::to_string),
            renote_user_id: c.renote_of.map(str::to_string),
            mentions,
            visible_user_ids: ids(c.specified_to),
            replies_count: 0,
            renote_count: 0,
        };
        let got: Vec<(EventType, String)> = note_created(&note, c.reply_to, c.renote_of)
            .into_iter()
            .map(|e| (e.event, e.recipient))
            .collect();
        let want: Vec<(EventType, String)> = c
            .expected
            .iter()
            .map(|(e, r)| (*e, r.to_string()))
            .collect();
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", c.what));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn follow_and_unfollow_recipients() {
    let f: Vec<_> = followed("a", "b")
        .into_iter()
        .map(|e| (e.event, e.recipient, e.body))
        .collect();
    assert_eq!(
        f,
        [
            (EventType::Follow, "a".into(), Body::Followee),
            (EventType::Followed, "b".into(), Body::Follower)
        ]
    );
    let u: Vec<_> = unfollowed("a")
        .into_iter()
        .map(|e| (e.event, e.recipient))
        .collect();
    assert_eq!(u, [(EventType::Unfollow, "a".to_string())]);
}

#[test]
fn reactions_go_to_the_note_author_unless_they_react_themselves() {
    assert_eq!(
        reacted("author", "fan"),
        [Emission {
            event: EventType::Reaction,
            recipient: "author".to_owned(),
            body: Body::Reaction,
        }]
    );
    assert!(reacted("author", "author").is_empty());
}

#[test]
fn mention_list_orders_text_then_reply_author_then_visible_users() {
    let list = mention_list(&ids(&["c", "b"]), "a", Some("d"), &ids(&["e", "c"]));
    assert_eq!(list, ids(&["c", "b", "d", "e"]));
    assert_eq!(mention_list(&[], "a", Some("a"), &[]), Vec::<String>::new());
}
