//! The note rules as tables of cases, each posted in one small world: alice, bob, carol,
//! dave and user0…user21 (bob follows alice), alice's notes of each visibility, a
//! local-only note, a pure renote, notes specified to bob, and bob's own specified note.

use super::*;
use NoteRuleViolation::*;
use Visibility::{Followers, Home, Public, Specified};

const LOCAL_HOST: &str = "example.test";
const MENTION_LIMIT: usize = 20;

/// A `notes/create` call in the world. Targets are note ids (`"missing"` names no note);
/// users are named by username.
#[derive(Debug, Clone)]
struct Post {
    by: &'static str,
    draft: NoteDraft,
}

/// A note with the text `x` and nothing else.
fn post(by: &'static str) -> Post {
    Post {
        by,
        draft: NoteDraft {
            visibility: Public,
            visible_user_ids: Vec::new(),
            cw: None,
            local_only: false,
            reaction_acceptance: None,
            no_extract_mentions: false,
            reply_id: None,
            renote_id: None,
            text: Some("x".to_owned()),
        },
    }
}

/// A renote with nothing of its own.
fn pure_renote(by: &'static str, of: &str) -> Post {
    let mut renote = post(by).renote(of);
    renote.draft.text = None;
    renote
}

impl Post {
    fn text(mut self, text: impl Into<String>) -> Post {
        self.draft.text = Some(text.into());
        self
    }

    fn cw(mut self, cw: impl Into<String>) -> Post {
        self.draft.cw = Some(cw.into());
        self
    }

    fn visibility(mut self, visibility: Visibility) -> Post {
        self.draft.visibility = visibility;
        self
    }

    fn local_only(mut self) -> Post {
        self.draft.local_only = true;
        self
    }

    fn visible_to<S: AsRef<str>>(mut self, usernames: impl IntoIterator<Item = S>) -> Post {
        self.draft.visible_user_ids = usernames.into_iter().map(|n| user_id(n.as_ref())).collect();
        self
    }

    fn no_extract_mentions(mut self) -> Post {
        self.draft.no_extract_mentions = true;
        self
    }

    fn reply(mut self, to: &str) -> Post {
        self.draft.reply_id = Some(to.to_owned());
        self
    }

    /// A quote, unless the text is taken away (see `pure_renote`).
    fn renote(mut self, of: &str) -> Post {
        self.draft.renote_id = Some(of.to_owned());
        self
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
    fn target(&self, id: Option<&str>) -> Target {
        match id {
            None => Target::Unnamed,
            Some(id) => self
                .notes
                .iter()
                .find(|n| n.id == id)
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
            Target::Unnamed | Target::Missing => false,
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

    fn post(&self, post: &Post) -> Result<Note, NoteRuleViolation> {
        let author = user_id(post.by);
        let facts = self.facts(&author, &post.draft);
        let policy = Policy {
            local_host: LOCAL_HOST,
            mention_limit: MENTION_LIMIT,
        };
        compose("new".to_owned(), &author, post.draft.clone(), facts, policy)
    }
}

/// Posts every case and reports all the failures at once.
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
    let cases = [
        (post("bob").reply("missing"), Err(NoSuchReplyTarget)),
        (pure_renote("bob", "missing"), Err(NoSuchRenoteTarget)),
        (post("bob").renote("missing"), Err(NoSuchRenoteTarget)),
        (
            pure_renote("bob", "pure-renote"),
            Err(CannotRenoteToAPureRenote),
        ),
        (
            post("bob").renote("pure-renote"),
            Err(CannotRenoteToAPureRenote),
        ),
        (
            post("bob").reply("pure-renote"),
            Err(CannotReplyToAPureRenote),
        ),
        // Someone else's followers note, even for a follower; any specified note, even your own.
        (
            pure_renote("bob", "followers"),
            Err(CannotRenoteDueToVisibility),
        ),
        (
            post("bob").renote("followers"),
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
            pure_renote("bob", "bobs-specified").visibility(Specified),
            Err(CannotRenoteDueToVisibility),
        ),
        // Replies to notes the author cannot see.
        (
            post("carol").reply("followers"),
            Err(CannotReplyToAnInvisibleNote),
        ),
        (
            post("carol").reply("specified-to-bob"),
            Err(CannotReplyToAnInvisibleNote),
        ),
        (
            post("carol")
                .reply("specified-to-bob")
                .visibility(Specified),
            Err(CannotReplyToAnInvisibleNote),
        ),
        // Replies to a specified note must stay specified.
        (
            post("bob").reply("specified-to-bob"),
            Err(CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility),
        ),
        (
            post("bob").reply("specified-to-bob").visibility(Followers),
            Err(CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility),
        ),
        (
            post("alice").reply("specified-to-bob").visibility(Home),
            Err(CannotReplyToSpecifiedVisibilityNoteWithExtendedVisibility),
        ),
        // Renote errors come before reply errors.
        (
            pure_renote("bob", "missing").reply("missing"),
            Err(NoSuchRenoteTarget),
        ),
        (
            pure_renote("bob", "pure-renote").reply("missing"),
            Err(CannotRenoteToAPureRenote),
        ),
        // What is allowed: replying to what you see, specified replies to specified
        // notes, renoting your own followers note.
        (post("bob").reply("followers"), Ok(())),
        (
            post("bob").reply("specified-to-bob").visibility(Specified),
            Ok(()),
        ),
        (post("alice").reply("followers"), Ok(())),
        (pure_renote("alice", "followers"), Ok(())),
        (post("carol").reply("public"), Ok(())),
        (pure_renote("carol", "home").reply("public"), Ok(())),
    ];
    check(&cases, |outcome| outcome.map(|_| ()));
}

#[test]
fn targets_narrow_the_scope() {
    let scope = |visibility, local_only| {
        Ok(Scope {
            visibility,
            local_only,
        })
    };
    let cases = [
        (pure_renote("bob", "public"), scope(Public, false)),
        (
            pure_renote("bob", "public").visibility(Home),
            scope(Home, false),
        ),
        (
            pure_renote("bob", "public").visibility(Followers),
            scope(Followers, false),
        ),
        (pure_renote("bob", "home"), scope(Home, false)),
        (
            pure_renote("bob", "home").visibility(Public),
            scope(Home, false),
        ),
        (post("bob").renote("home"), scope(Home, false)),
        (
            pure_renote("bob", "home").visibility(Followers),
            scope(Followers, false),
        ),
        (pure_renote("alice", "followers"), scope(Followers, false)),
        (
            pure_renote("alice", "followers").visibility(Home),
            scope(Followers, false),
        ),
        (post("alice").renote("followers"), scope(Followers, false)),
        // Even a specified renote of your own followers note becomes followers.
        (
            pure_renote("alice", "followers")
                .visibility(Specified)
                .visible_to(["bob"]),
            scope(Followers, false),
        ),
        (post("bob").reply("public"), scope(Public, false)),
        (post("bob").reply("home"), scope(Home, false)),
        (post("bob").reply("followers"), scope(Home, false)),
        (
            post("bob").reply("home").visibility(Followers),
            scope(Followers, false),
        ),
        (
            post("bob").reply("followers").visibility(Followers),
            scope(Followers, false),
        ),
        (
            post("bob").reply("home").visibility(Specified),
            scope(Specified, false),
        ),
        (pure_renote("bob", "local"), scope(Public, true)),
        (post("bob").renote("local"), scope(Public, true)),
        (post("bob").reply("local"), scope(Public, true)),
        (post("bob"), scope(Public, false)),
        (post("bob").local_only(), scope(Public, true)),
    ];
    check(&cases, |outcome| {
        outcome.map(|note| Scope {
            visibility: note.visibility,
            local_only: note.local_only,
        })
    });
}

#[test]
fn mentions_and_visible_users() {
    // The note's mentions and visible users, given as usernames.
    let audience =
        |mentions: &[&str], visible: &[&str]| Ok((user_ids(mentions), user_ids(visible)));
    let alice = |text: &str| post("alice").text(text);
    let cases = [
        (alice("@bob hi"), audience(&["bob"], &[])),
        (alice("@BOB hi"), audience(&["bob"], &[])),
        (alice("hi @Bob."), audience(&["bob"], &[])),
        (alice("@bob @BOB @Bob"), audience(&["bob"], &[])),
        (alice("@ghost yo"), audience(&[], &[])),
        (alice("@ghost @bob"), audience(&["bob"], &[])),
        (
            alice("@carol @bob @carol @dave"),
            audience(&["carol", "bob", "dave"], &[]),
        ),
        (alice("@alice me"), audience(&["alice"], &[])),
        (
            alice("mail bob@example.com, `@bob`, https://x.y/@bob"),
            audience(&[], &[]),
        ),
        (alice("@bob@example.com"), audience(&[], &[])),
        (alice("@bob@example.testx"), audience(&[], &[])),
        // A mention of this server's host is local, whatever its case.
        (alice("@bob@EXAMPLE.test"), audience(&["bob"], &[])),
        // The cw is searched too, after the text.
        (alice("@dave").cw("@bob"), audience(&["dave", "bob"], &[])),
        (
            alice("@bob").cw("@carol").no_extract_mentions(),
            audience(&[], &[]),
        ),
        // The reply target's author comes after the text mentions, unless it is the author.
        (alice("re").reply("carols"), audience(&["carol"], &[])),
        (
            alice("@bob re").reply("carols"),
            audience(&["bob", "carol"], &[]),
        ),
        (
            alice("@carol re").reply("carols"),
            audience(&["carol"], &[]),
        ),
        (
            alice("@bob").reply("carols").no_extract_mentions(),
            audience(&["carol"], &[]),
        ),
        (alice("re").reply("public"), audience(&[], &[])),
        // Specified notes mention their visible users last; text mentions do not become
        // visible users, and visible users who do not exist are dropped.
        (
            alice("@bob")
                .visibility(Specified)
                .visible_to(["dave", "ghost", "carol"]),
            audience(&["bob", "dave", "carol"], &["dave", "carol"]),
        ),
        (
            alice("@dave").visibility(Specified).visible_to(["dave"]),
            audience(&["dave"], &["dave"]),
        ),
        (alice("x").visibility(Specified), audience(&[], &[])),
        // A specified reply is visible to the reply target's author, after the given users…
        (
            alice("x")
                .visibility(Specified)
                .visible_to(["bob"])
                .reply("carols"),
            audience(&["carol", "bob"], &["bob", "carol"]),
        ),
        // …even when that is the author: listed, but not mentioned.
        (
            alice("x")
                .visibility(Specified)
                .visible_to(["bob"])
                .reply("specified-to-bob"),
            audience(&["bob"], &["bob", "alice"]),
        ),
        (
            alice("x").visibility(Specified).reply("specified-to-bob"),
            audience(&[], &["alice"]),
        ),
        // Visible users count only for specified notes.
        (
            alice("x").visibility(Followers).visible_to(["bob"]),
            audience(&[], &[]),
        ),
        (
            pure_renote("alice", "followers")
                .visibility(Specified)
                .visible_to(["bob"]),
            audience(&[], &[]),
        ),
        // Renotes mention nobody by themselves.
        (pure_renote("alice", "carols"), audience(&[], &[])),
    ];
    check(&cases, |outcome| {
        outcome.map(|note| (note.mentions, note.visible_user_ids))
    });
}

#[test]
fn at_most_twenty_mentions() {
    let mentions = |users: std::ops::Range<usize>| -> String {
        let names: Vec<String> = users.map(|i| format!("@user{i}")).collect();
        names.join(" ")
    };
    let users = |users: std::ops::Range<usize>| -> Vec<String> {
        users.map(|i| user_id(&format!("user{i}"))).collect()
    };
    let alice = |text: String| post("alice").text(text);
    let cases = [
        // Exactly 20 is fine, including repeats and unresolvable names beyond the 20, in
        // order of appearance.
        (
            alice(format!("{} @user0 @ghost1 @ghost2", mentions(0..20))),
            Ok(users(0..20)),
        ),
        // 20 text mentions plus a reply to yourself: still 20.
        (alice(mentions(0..20)).reply("public"), Ok(users(0..20))),
        // noExtractMentions skips the text.
        (alice(mentions(0..22)).no_extract_mentions(), Ok(Vec::new())),
        (alice(mentions(0..21)), Err(ContainsTooManyMentions)),
        (alice(mentions(0..22)), Err(ContainsTooManyMentions)),
        (
            alice(mentions(0..11)).cw(format!("{} @user0", mentions(11..21))),
            Err(ContainsTooManyMentions),
        ),
        // The reply target's author counts.
        (
            alice(mentions(0..20)).reply("user21s"),
            Err(ContainsTooManyMentions),
        ),
        // So do the visible users of a specified note.
        (
            alice(mentions(0..20))
                .visibility(Specified)
                .visible_to(["user21"]),
            Err(ContainsTooManyMentions),
        ),
        (
            alice("x".to_owned())
                .visibility(Specified)
                .visible_to((0..21).map(|i| format!("user{i}"))),
            Err(ContainsTooManyMentions),
        ),
    ];
    check(&cases, |outcome| outcome.map(|note| note.mentions));
}

#[test]
fn the_note_carries_the_draft_and_its_targets() {
    let mut quote = post("bob").reply("carols").renote("public").cw("cw");
    quote.draft.reaction_acceptance = Some("likeOnly".to_owned());
    let expected = Note {
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
    };
    assert_eq!(world().post(&quote), Ok(expected));
}
