//! The note rules as tables of cases, each posted in one small world: alice, bob, carol
//! and dave (bob follows alice), alice's notes of each visibility, a local-only note, a
//! pure renote, a note specified to bob, and bob's own specified note.

use super::*;
use Visibility::{Followers, Home, Public, Specified};

const LOCAL_HOST: &str = "example.test";
const MENTION_LIMIT: usize = 20;

/// A `notes/create` call in the world: targets are note names (`"missing"` names no
/// note), visible users are usernames.
#[derive(Debug, Clone, Copy)]
struct Post {
    by: &'static str,
    text: Option<&'static str>,
    cw: Option<&'static str>,
    visibility: Visibility,
    local_only: bool,
    reply: Option<&'static str>,
    renote: Option<&'static str>,
    visible_to: &'static [&'static str],
    no_extract_mentions: bool,
}

const fn post(by: &'static str) -> Post {
    Post {
        by,
        text: Some("x"),
        cw: None,
        visibility: Public,
        local_only: false,
        reply: None,
        renote: None,
        visible_to: &[],
        no_extract_mentions: false,
    }
}

/// A renote with nothing of its own.
const fn pure_renote(by: &'static str, of: &'static str) -> Post {
    Post {
        text: None,
        renote: Some(of),
        ..post(by)
    }
}

fn user_id(username: &str) -> String {
    format!("id-{username}")
}

fn user_ids(usernames: &[&str]) -> Vec<String> {
    usernames.iter().map(|name| user_id(name)).collect()
}

fn user(username: &str) -> User {
    User {
        id: user_id(username),
        username: username.to_owned(),
        name: None,
        is_admin: false,
        followers_count: 0,
        following_count: 0,
        notes_count: 0,
        last_active_at_ms: None,
        logged_in_days: 0,
    }
}

fn note(id: &str, by: &str, visibility: Visibility) -> Note {
    Note {
        id: id.to_owned(),
        user_id: user_id(by),
        text: Some(id.to_owned()),
        cw: None,
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

struct World {
    users: Vec<User>,
    notes: Vec<Note>,
    /// (follower, followee) usernames.
    follows: Vec<(&'static str, &'static str)>,
}

fn world() -> World {
    let mut users: Vec<User> = ["alice", "bob", "carol", "dave"]
        .into_iter()
        .map(user)
        .collect();
    users.extend((0..22).map(|i| user(&format!("user{i}"))));
    let notes = vec![
        note("public", "alice", Public),
        note("home", "alice", Home),
        note("followers", "alice", Followers),
        Note {
            local_only: true,
            ..note("local", "alice", Public)
        },
        Note {
            text: None,
            renote_id: Some("public".to_owned()),
            renote_user_id: Some(user_id("alice")),
            ..note("pure-renote", "alice", Public)
        },
        Note {
            visible_user_ids: user_ids(&["bob"]),
            ..note("specified-to-bob", "alice", Specified)
        },
        note("bobs-specified", "bob", Specified),
        note("alices-specified-to-bob", "alice", Specified),
        note("carols", "carol", Public),
        note("user21s", "user21", Public),
    ];
    World {
        users,
        notes,
        follows: vec![("bob", "alice")],
    }
}

impl World {
    fn target(&self, name: Option<&str>) -> Target {
        match name {
            None => Target::Unnamed,
            Some(name) => self
                .notes
                .iter()
                .find(|n| n.id == name)
                .map_or(Target::Missing, |note| {
                    Target::Found(Box::new(note.clone()))
                }),
        }
    }

    /// Loads the facts for a draft as the API does.
    fn facts(&self, author: &str, draft: &NoteDraft) -> Facts {
        let reply = self.target(draft.reply_id.as_deref());
        let follows_reply_author = match &reply {
            Target::Found(target) => self
                .follows
                .iter()
                .any(|(from, to)| user_id(from) == author && user_id(to) == target.user_id),
            _ => false,
        };
        let names = mentioned_usernames(draft, LOCAL_HOST);
        Facts {
            renote: self.target(draft.renote_id.as_deref()),
            reply,
            follows_reply_author,
            mentioned_users: self
                .users
                .iter()
                .filter(|u| names.contains(&u.username.to_lowercase()))
                .cloned()
                .collect(),
            visible_users: self
                .users
                .iter()
                .filter(|u| draft.visible_user_ids.contains(&u.id))
                .cloned()
                .collect(),
        }
    }

    fn compose(&self, author: &str, draft: NoteDraft) -> Result<Note, NoteRuleViolation> {
        let author = user_id(author);
        let facts = self.facts(&author, &draft);
        let policy = Policy {
            local_host: LOCAL_HOST,
            mention_limit: MENTION_LIMIT,
        };
        compose("new".to_owned(), &author, draft, facts, policy)
    }

    fn post(&self, post: &Post) -> Result<Note, NoteRuleViolation> {
        self.compose(post.by, draft(post))
    }
}

fn draft(post: &Post) -> NoteDraft {
    NoteDraft {
        visibility: post.visibility,
        visible_user_ids: user_ids(post.visible_to),
        cw: post.cw.map(str::to_owned),
        local_only: post.local_only,
        reaction_acceptance: None,
        no_extract_mentions: post.no_extract_mentions,
        reply_id: post.reply.map(str::to_owned),
        renote_id: post.renote.map(str::to_owned),
        text: post.text.map(str::to_owned),
    }
}

/// Runs every case and reports all the failures at once.
fn check<T: std::fmt::Debug + PartialEq>(
    cases: &[(Post, T)],
    outcome: impl Fn(Result<Note, NoteRuleViolation>) -> T,
) {
    let world = world();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(post, expected)| {
            let got = outcome(world.post(post));
            (got != *expected).then(|| format!("{post:?}: expected {expected:?}, got {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reply_and_renote_targets() {
    use NoteRuleViolation::*;
    let cases: &[(Post, Result<(), NoteRuleViolation>)] = &[
        (
            Post {
                reply: Some("missing"),
                ..post("bob")
            },
            Err(NoSuchReplyTarget),
        ),
        (pure_renote("bob", "missing"), Err(NoSuchRenoteTarget)),
        (
            Post {
                renote: Some("missing"),
                ..post("bob")
            },
            Err(NoSuchRenoteTarget),
        ),
        (
            pure_renote("bob", "pure-renote"),
            Err(CannotRenoteToAPureRenote),
        ),
        (
            Post {
                renote: Some("pure-renote"),
                ..post("bob")
            },
            Err(CannotRenoteToAPureRenote),
        ),
        (
            Post {
                reply: Some("pure-renote"),
                ..post("bob")
            },
            Err(CannotReplyToAPureRenote),
        ),
        // Someone else's followers note, even for a follower; any specified note, even your own.
        (
            pure_renote("bob", "followers"),
            Err(CannotRenoteDueToVisibility),
        ),
        (
            Post {
                renote: Some("followers"),
                ..post("bob")
            },
            Err(CannotRenoteDueToVisibility),
        ),
        (
            pure_renote("carol", "followers"),
            Err(CannotRenoteDueToVisibility),
        ),
        (
            pure_renote("bob", "specified-to-bob"),
            Err(CannotRenoteDueToVisibility),
        ),
        (
            pure_renote("alice", "specified-to-bob"),
            Err(CannotRenoteDueToVisibility),
        ),
        (
            Post {
                visibility: Specified,
                ..pure_renote("bob", "bobs-specified")
            },
            Err(CannotRenoteDueToVisibility),
        ),
        // Replies to notes the author cannot see.
        (
            Post {
                reply: Some("followers"),
                ..post("carol")
            },
            Err(CannotReplyToAnInvisibleNote),
        ),
        (
            Post {
                reply: Some("specified-to-bob"),
                ..post("carol")
            },
            Err(CannotReplyToAnInvisibleNote),
        ),
        (
            Post {
                reply: Some("specified-to-bob"),
                visibility: Specified,
                ..post("carol")
            },
            Err(CannotReplyToAnInvisibleNote),
        ),
        // Replies to a specified note must stay specified.
        (
            Post {
                reply: Some("specified-to-bob"),
                ..post("bob")
            },
            Err(CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility),
        ),
        (
            Post {
                reply: Some("specified-to-bob"),
                visibility: Followers,
                ..post("bob")
            },
            Err(CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility),
        ),
        (
            Post {
                reply: Some("specified-to-bob"),
                visibility: Home,
                ..post("alice")
            },
            Err(CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility),
        ),
        // Renote errors come before reply errors.
        (
            Post {
                reply: Some("missing"),
                ..pure_renote("bob", "missing")
            },
            Err(NoSuchRenoteTarget),
        ),
        (
            Post {
                reply: Some("missing"),
                ..pure_renote("bob", "pure-renote")
            },
            Err(CannotRenoteToAPureRenote),
        ),
        // What is allowed: replying to what you see, specified replies to specified
        // notes, renoting your own followers note.
        (
            Post {
                reply: Some("followers"),
                ..post("bob")
            },
            Ok(()),
        ),
        (
            Post {
                reply: Some("specified-to-bob"),
                visibility: Specified,
                ..post("bob")
            },
            Ok(()),
        ),
        (
            Post {
                reply: Some("followers"),
                ..post("alice")
            },
            Ok(()),
        ),
        (pure_renote("alice", "followers"), Ok(())),
        (
            Post {
                reply: Some("public"),
                ..post("carol")
            },
            Ok(()),
        ),
        (
            Post {
                reply: Some("public"),
                ..pure_renote("carol", "home")
            },
            Ok(()),
        ),
    ];
    check(cases, |outcome| outcome.map(|_| ()));
}

#[test]
fn targets_narrow_the_scope() {
    let scope = |visibility, local_only| {
        Ok(Scope {
            visibility,
            local_only,
        })
    };
    let cases: &[(Post, Result<Scope, NoteRuleViolation>)] = &[
        (pure_renote("bob", "public"), scope(Public, false)),
        (
            Post {
                visibility: Home,
                ..pure_renote("bob", "public")
            },
            scope(Home, false),
        ),
        (
            Post {
                visibility: Followers,
                ..pure_renote("bob", "public")
            },
            scope(Followers, false),
        ),
        (pure_renote("bob", "home"), scope(Home, false)),
        (
            Post {
                renote: Some("home"),
                ..post("bob")
            },
            scope(Home, false),
        ),
        (
            Post {
                visibility: Followers,
                ..pure_renote("bob", "home")
            },
            scope(Followers, false),
        ),
        (pure_renote("alice", "followers"), scope(Followers, false)),
        (
            Post {
                visibility: Home,
                ..pure_renote("alice", "followers")
            },
            scope(Followers, false),
        ),
        (
            Post {
                renote: Some("followers"),
                ..post("alice")
            },
            scope(Followers, false),
        ),
        // Even a specified renote of your own followers note becomes followers.
        (
            Post {
                visibility: Specified,
                visible_to: &["bob"],
                ..pure_renote("alice", "followers")
            },
            scope(Followers, false),
        ),
        (
            Post {
                reply: Some("public"),
                ..post("bob")
            },
            scope(Public, false),
        ),
        (
            Post {
                reply: Some("home"),
                ..post("bob")
            },
            scope(Home, false),
        ),
        (
            Post {
                reply: Some("followers"),
                ..post("bob")
            },
            scope(Home, false),
        ),
        (
            Post {
                reply: Some("home"),
                visibility: Followers,
                ..post("bob")
            },
            scope(Followers, false),
        ),
        (
            Post {
                reply: Some("followers"),
                visibility: Followers,
                ..post("bob")
            },
            scope(Followers, false),
        ),
        (
            Post {
                reply: Some("home"),
                visibility: Specified,
                ..post("bob")
            },
            scope(Specified, false),
        ),
        (pure_renote("bob", "local"), scope(Public, true)),
        (
            Post {
                renote: Some("local"),
                ..post("bob")
            },
            scope(Public, true),
        ),
        (
            Post {
                reply: Some("local"),
                ..post("bob")
            },
            scope(Public, true),
        ),
        (post("bob"), scope(Public, false)),
        (
            Post {
                local_only: true,
                ..post("bob")
            },
            scope(Public, true),
        ),
    ];
    check(cases, |outcome| {
        outcome.map(|note| Scope {
            visibility: note.visibility,
            local_only: note.local_only,
        })
    });
}

#[test]
fn mentions_and_visible_users() {
    // The mentions and the visible users, given as usernames.
    type Audience = Result<(Vec<String>, Vec<String>), NoteRuleViolation>;
    let audience = |mentions: &[&str], visible: &[&str]| -> Audience {
        Ok((user_ids(mentions), user_ids(visible)))
    };
    let text = |text: &'static str| Post {
        text: Some(text),
        ..post("alice")
    };
    let cases: &[(Post, Audience)] = &[
        (text("@bob hi"), audience(&["bob"], &[])),
        (text("@BOB hi"), audience(&["bob"], &[])),
        (text("hi @Bob."), audience(&["bob"], &[])),
        (text("@bob @BOB @Bob"), audience(&["bob"], &[])),
        (text("@ghost yo"), audience(&[], &[])),
        (text("@ghost @bob"), audience(&["bob"], &[])),
        (
            text("@carol @bob @carol @dave"),
            audience(&["carol", "bob", "dave"], &[]),
        ),
        (text("@alice me"), audience(&["alice"], &[])),
        (
            text("mail bob@example.com, `@bob`, https://x.y/@bob"),
            audience(&[], &[]),
        ),
        (text("@bob@example.com"), audience(&[], &[])),
        (text("@bob@example.testx"), audience(&[], &[])),
        // A mention of this server's host is local, whatever its case.
        (text("@bob@EXAMPLE.test"), audience(&["bob"], &[])),
        // The cw is searched too, after the text.
        (
            Post {
                cw: Some("@bob"),
                ..text("@dave")
            },
            audience(&["dave", "bob"], &[]),
        ),
        (
            Post {
                no_extract_mentions: true,
                cw: Some("@carol"),
                ..text("@bob")
            },
            audience(&[], &[]),
        ),
        // The reply target's author comes after the text mentions, unless it is the author.
        (
            Post {
                reply: Some("carols"),
                ..text("re")
            },
            audience(&["carol"], &[]),
        ),
        (
            Post {
                reply: Some("carols"),
                ..text("@bob re")
            },
            audience(&["bob", "carol"], &[]),
        ),
        (
            Post {
                reply: Some("carols"),
                ..text("@carol re")
            },
            audience(&["carol"], &[]),
        ),
        (
            Post {
                reply: Some("carols"),
                no_extract_mentions: true,
                ..text("@bob")
            },
            audience(&["carol"], &[]),
        ),
        (
            Post {
                reply: Some("public"),
                ..text("re")
            },
            audience(&[], &[]),
        ),
        // Specified notes mention their visible users last; text mentions do not become
        // visible users, and unknown visible users are dropped.
        (
            Post {
                visibility: Specified,
                visible_to: &["dave", "ghost", "carol"],
                ..text("@bob")
            },
            audience(&["bob", "dave", "carol"], &["dave", "carol"]),
        ),
        (
            Post {
                visibility: Specified,
                visible_to: &["dave"],
                ..text("@dave")
            },
            audience(&["dave"], &["dave"]),
        ),
        (
            Post {
                visibility: Specified,
                ..text("x")
            },
            audience(&[], &[]),
        ),
        // A specified reply is visible to the reply target's author, after the given users…
        (
            Post {
                visibility: Specified,
                visible_to: &["bob"],
                reply: Some("carols"),
                ..text("x")
            },
            audience(&["carol", "bob"], &["bob", "carol"]),
        ),
        // …even when that is the author: listed, but not mentioned.
        (
            Post {
                visibility: Specified,
                visible_to: &["bob"],
                reply: Some("alices-specified-to-bob"),
                ..text("x")
            },
            audience(&["bob"], &["bob", "alice"]),
        ),
        (
            Post {
                visibility: Specified,
                reply: Some("alices-specified-to-bob"),
                ..text("x")
            },
            audience(&[], &["alice"]),
        ),
        // Visible users count only for specified notes.
        (
            Post {
                visibility: Followers,
                visible_to: &["bob"],
                ..text("x")
            },
            audience(&[], &[]),
        ),
        (
            Post {
                visibility: Specified,
                visible_to: &["bob"],
                ..pure_renote("alice", "followers")
            },
            audience(&[], &[]),
        ),
        // Renotes mention nobody by themselves.
        (pure_renote("alice", "carols"), audience(&[], &[])),
    ];
    check(cases, |outcome| {
        outcome.map(|note| (note.mentions, note.visible_user_ids))
    });
}

#[test]
fn at_most_twenty_mentions() {
    let world = world();
    let mentions = |range: std::ops::Range<usize>| -> String {
        range
            .map(|i| format!("@user{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let with = |text: String, post: Post| NoteDraft {
        text: Some(text),
        ..draft(&post)
    };
    // Exactly 20 is fine, including repeats and unresolvable names beyond the 20.
    let note = world
        .compose(
            "alice",
            with(
                format!("{} @user0 @ghost1 @ghost2", mentions(0..20)),
                post("alice"),
            ),
        )
        .expect("20 mentions");
    assert_eq!(
        note.mentions,
        (0..20)
            .map(|i| user_id(&format!("user{i}")))
            .collect::<Vec<_>>(),
        "in order of appearance"
    );
    // 20 text mentions plus a reply to yourself: still 20.
    let reply_to_own = Post {
        reply: Some("public"),
        ..post("alice")
    };
    assert!(
        world
            .compose("alice", with(mentions(0..20), reply_to_own))
            .is_ok()
    );
    // noExtractMentions skips the text.
    let unextracted = Post {
        no_extract_mentions: true,
        ..post("alice")
    };
    assert!(
        world
            .compose("alice", with(mentions(0..22), unextracted))
            .is_ok()
    );

    let too_many = [
        with(mentions(0..21), post("alice")),
        with(mentions(0..22), post("alice")),
        NoteDraft {
            cw: Some(format!("{} @user0", mentions(11..21))),
            ..with(mentions(0..11), post("alice"))
        },
        // The reply target's author counts.
        with(
            mentions(0..20),
            Post {
                reply: Some("user21s"),
                ..post("alice")
            },
        ),
        // So do the visible users of a specified note.
        NoteDraft {
            visible_user_ids: vec![user_id("user21")],
            ..with(
                mentions(0..20),
                Post {
                    visibility: Specified,
                    ..post("alice")
                },
            )
        },
        NoteDraft {
            visible_user_ids: (0..21).map(|i| user_id(&format!("user{i}"))).collect(),
            ..with(
                "x".to_owned(),
                Post {
                    visibility: Specified,
                    ..post("alice")
                },
            )
        },
    ];
    for draft in too_many {
        assert_eq!(
            world.compose("alice", draft.clone()).map(|_| ()),
            Err(NoteRuleViolation::ContainsTooManyMentions),
            "{draft:?}"
        );
    }
}

#[test]
fn the_note_carries_the_draft_and_its_targets() {
    let world = world();
    let quote = NoteDraft {
        cw: Some("cw".to_owned()),
        reaction_acceptance: Some("likeOnly".to_owned()),
        ..draft(&Post {
            reply: Some("carols"),
            renote: Some("public"),
            ..post("bob")
        })
    };
    let note = world.compose("bob", quote).expect("allowed");
    assert_eq!(
        note,
        Note {
            id: "new".to_owned(),
            user_id: user_id("bob"),
            text: Some("x".to_owned()),
            cw: Some("cw".to_owned()),
            visibility: Public,
            local_only: false,
            reaction_acceptance: Some("likeOnly".to_owned()),
            reply_id: Some("carols".to_owned()),
            renote_id: Some("public".to_owned()),
            reply_user_id: Some(user_id("carol")),
            renote_user_id: Some(user_id("alice")),
            mentions: user_ids(&["carol"]),
            visible_user_ids: Vec::new(),
            replies_count: 0,
            renote_count: 0,
        }
    );
}
