//! The storage conformance suite: one set of test bodies that both backends must pass.
//!
//! Every body runs against SQLite (a temporary file) always, and against PostgreSQL (a
//! scratch database per test, dropped afterwards) when `MISSIVE_TEST_DATABASE_URL` is set,
//! so the two implementations cannot drift apart. Times are passed in explicitly, so
//! leases and due times are tested without sleeping.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use missive_core::event::EventType;
use missive_core::health::HealthPolicy;
use missive_core::model::{Note, User, Visibility, Webhook};
use missive_core::packed::Relation;
use missive_core::reaction::Reaction;
use missive_core::receiver::host_key;
use missive_store::testing::{drop_scratch_postgres, forget_webhook_hosts, scratch_postgres_url};
use missive_store::{
    AdminWebhookFilter, AttemptLog, ClaimSkip, ClaimedDelivery, DeliveryCounts, DeliveryFilter,
    DeliveryState, Dialect, Finished, FinishedState, Intake, NewDelivery, NewUser, NewWebhook,
    Outbox, Payload, ReactionPage, ReactionWrite, RedeliverySet, Store, StoreError, Target,
    WebhookPatch,
};

/// A fixed "now" for the queue tests (epoch milliseconds).
const T: i64 = 1_700_000_000_000;
/// A lease as the worker takes it with the default 5 s timeout.
const LEASE: i64 = 12_000;

// ---------------------------------------------------------------------------------------
// The harness

/// One test's database: a connected store, and its URL to open more handles on it (as
/// more nodes, or more processes, would).
struct Db {
    url: String,
    store: Store,
}

impl Db {
    async fn open(&self) -> Store {
        Store::connect(&self.url)
            .await
            .expect("open another handle")
    }

    fn dialect(&self) -> Dialect {
        self.store.dialect()
    }
}

async fn on_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/conformance.db", dir.path().display());
    let store = Store::connect(&url).await.expect("open SQLite");
    body(Db { url, store }).await;
}

async fn on_postgres<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(base) = postgres_base() else { return };
    let url = scratch_postgres_url(&base)
        .await
        .expect("create a scratch database");
    let store = Store::connect(&url).await.expect("connect to PostgreSQL");
    // Run the body in its own task so that the database is dropped even if it panics.
    let outcome = tokio::spawn(body(Db {
        url: url.clone(),
        store,
    }))
    .await;
    drop_scratch_postgres(&base, &url).await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("{e}");
    }
}

fn postgres_base() -> Option<String> {
    let base = std::env::var("MISSIVE_TEST_DATABASE_URL").ok();
    if base.is_none() {
        eprintln!("skipped: set MISSIVE_TEST_DATABASE_URL to run the PostgreSQL half");
    }
    base
}

/// Declares each body as `sqlite::<name>` and `postgres::<name>`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_sqlite(super::$name).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_postgres(super::$name).await
                }
            )*
        }
    };
}

conformance!(
    users_first_account_is_admin,
    users_duplicate_username_is_a_conflict_whatever_the_case,
    users_lookups,
    users_touch_and_login_days,
    follows_create_delete_and_counters,
    follows_write_their_outbox_only_when_they_change_something,
    notes_create_with_counters_and_read_back,
    notes_by_authors_newest_first_paged,
    notes_delete_cascades_and_fixes_counters,
    reactions_one_per_user_replaced_and_undone,
    reactions_write_their_outbox_only_when_they_change_something,
    reactions_pair_cache_holds_the_newest_ten,
    reactions_list_pages_like_misskey,
    reactions_go_with_their_note,
    concurrent_same_reactions_make_exactly_one,
    webhooks_create_respects_the_limit,
    webhooks_list_and_owner_checks,
    webhooks_update_applies_a_patch,
    webhooks_switching_off_cancels_pending_deliveries,
    webhooks_delete_drops_pending_deliveries,
    webhooks_admin_listing_filters_and_pages,
    webhooks_active_of_users_and_attempt_record,
    outbox_is_written_with_its_action_or_not_at_all,
    claim_respects_due_time_limit_and_skip_list,
    claim_skips_every_webhook_of_a_skipped_host,
    claim_finds_deliveries_behind_many_skipped_ones,
    migrate_fills_in_the_host_of_older_webhooks,
    claim_lease_blocks_others_until_it_expires,
    finish_records_each_outcome,
    finish_keeps_the_latest_attempt_per_webhook,
    next_due_at_and_release_all_leases,
    concurrent_claimers_never_claim_one_delivery_twice,
    concurrent_webhook_creation_never_exceeds_the_limit,
    concurrent_first_signups_make_exactly_one_admin,
    concurrent_mutual_follows_never_deadlock,
    group_commit_rolls_back_a_failing_write_alone,
    listener_wakes_on_committed_deliveries_only,
    commits_with_deliveries_wake_this_process,
    lost_connections_are_reported_as_unavailable,
    lookups_of_more_ids_than_one_statement_binds,
    health_failures_switch_off_once_they_span_the_window,
    health_gone_switches_off_at_once_and_switching_on_clears,
    secret_rotation_keeps_the_previous_secret_until_its_deadline,
    delivery_log_records_attempts_with_their_outcomes,
    delivery_log_lists_newest_first_with_filters_and_paging,
    delivery_log_redelivery_keeps_the_event_and_is_idempotent,
    delivery_log_pruning_keeps_the_newest_and_payloads_in_use,
    handoff_leases_what_the_intake_admits_and_hands_it_over_after_the_commit,
);

// ---------------------------------------------------------------------------------------
// Builders

/// Ids that sort in creation order, as Misskey's do.
fn next_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("id{:010}", N.fetch_add(1, Ordering::Relaxed))
}

fn new_user(username: &str) -> NewUser {
    let id = next_id();
    NewUser {
        username: username.to_owned(),
        password_hash: format!("argon2-of-{username}"),
        token: format!("token-{id}"),
        token_hash: format!("sha256-{id}"),
        id,
    }
}

async fn user(s: &Store, username: &str) -> User {
    s.create_user(&new_user(username)).await.unwrap()
}

fn note_by(author: &User) -> Note {
    Note {
        id: next_id(),
        user_id: author.id.clone(),
        text: Some("hello".into()),
        cw: None,
        visibility: Visibility::Public,
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

fn reply_to(author: &User, parent: &Note) -> Note {
    Note {
        reply_id: Some(parent.id.clone()),
        reply_user_id: Some(parent.user_id.clone()),
        ..note_by(author)
    }
}

fn renote_of(author: &User, target: &Note) -> Note {
    Note {
        text: None,
        renote_id: Some(target.id.clone()),
        renote_user_id: Some(target.user_id.clone()),
        ..note_by(author)
    }
}

async fn create_note(s: &Store, note: &Note) {
    s.create_note(note, Outbox::default()).await.unwrap();
}

fn new_webhook(owner: &User, on: &[EventType]) -> NewWebhook {
    let id = next_id();
    NewWebhook {
        name: format!("hook {id}"),
        url: format!("https://receiver.example/{id}"),
        secret: format!("secret-{id}"),
        on: on.to_vec(),
        user_id: owner.id.clone(),
        id,
    }
}

async fn webhook(s: &Store, owner: &User) -> Webhook {
    s.create_webhook(&new_webhook(owner, &[EventType::Note]), 100)
        .await
        .unwrap()
        .unwrap()
}

/// One event for each of `hooks`, sharing one payload, created (and due) at `at`.
fn outbox_for(hooks: &[&Webhook], event: &str, at: i64) -> Outbox {
    let payload = Payload {
        id: next_id(),
        body: format!("{{\"event\":\"{event}\",\"at\":{at}}}"),
    };
    let deliveries = hooks
        .iter()
        .map(|hook| NewDelivery {
            id: next_id(),
            webhook_id: hook.id.clone(),
            user_id: hook.user_id.clone(),
            event_type: event.to_owned(),
            event_id: next_id(),
            created_at: at,
            payload_id: payload.id.clone(),
        })
        .collect();
    Outbox {
        payloads: vec![payload],
        deliveries,
    }
}

/// Queues one delivery per hook, due at `at`, through a note by `author`; returns the
/// outbox that was written.
async fn queue(s: &Store, author: &User, hooks: &[&Webhook], at: i64) -> Outbox {
    let outbox = outbox_for(hooks, "note", at);
    s.create_note(&note_by(author), outbox.clone())
        .await
        .unwrap();
    outbox
}

fn ids(claimed: &[ClaimedDelivery]) -> BTreeSet<String> {
    claimed.iter().map(|d| d.id.clone()).collect()
}

fn delivery_ids(outboxes: &[&Outbox]) -> BTreeSet<String> {
    outboxes
        .iter()
        .flat_map(|o| o.deliveries.iter().map(|d| d.id.clone()))
        .collect()
}

fn finished(d: &ClaimedDelivery, state: FinishedState, status: Option<i64>, at: i64) -> Finished {
    Finished {
        delivery_id: d.id.clone(),
        lease_token: d.lease_token.clone(),
        webhook_id: d.webhook_id.clone(),
        state,
        attempted: status.is_some(),
        status: status.unwrap_or(0),
        at_ms: at,
        log: None,
    }
}

async fn claim(
    s: &Store,
    now: i64,
    limit: i64,
    skip_webhooks: &[String],
    token: &str,
) -> Vec<ClaimedDelivery> {
    let skip = ClaimSkip {
        webhooks: skip_webhooks.to_vec(),
        hosts: Vec::new(),
    };
    s.claim_due(now, LEASE, limit, &skip, token).await.unwrap()
}

async fn counts(s: &Store) -> DeliveryCounts {
    s.delivery_counts().await.unwrap()
}

fn pending(n: i64) -> DeliveryCounts {
    DeliveryCounts {
        pending: n,
        ..DeliveryCounts::default()
    }
}

async fn reload_user(s: &Store, u: &User) -> User {
    s.user_by_id(&u.id).await.unwrap().unwrap()
}

async fn reload_note(s: &Store, n: &Note) -> Note {
    s.note_by_id(&n.id).await.unwrap().unwrap()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn user_ids(users: &[User]) -> Vec<String> {
    sorted(users.iter().map(|u| u.id.clone()).collect())
}

fn hook_ids(hooks: &[Webhook]) -> Vec<String> {
    hooks.iter().map(|h| h.id.clone()).collect()
}

// ---------------------------------------------------------------------------------------
// Users

async fn users_first_account_is_admin(db: Db) {
    let s = &db.store;
    assert!(!s.has_root_user().await.unwrap());
    let alice = user(s, "alice").await;
    assert_eq!(
        alice,
        User {
            id: alice.id.clone(),
            username: "alice".into(),
            name: None,
            is_admin: true,
            followers_count: 0,
            following_count: 0,
            notes_count: 0,
            last_active_at_ms: None,
            logged_in_days: 0,
        }
    );
    assert!(s.has_root_user().await.unwrap());
    let bob = user(s, "bob").await;
    assert!(!bob.is_admin, "only the first account is the administrator");
}

async fn users_duplicate_username_is_a_conflict_whatever_the_case(db: Db) {
    let s = &db.store;
    let alice = user(s, "Alice").await;
    for taken in ["Alice", "alice", "ALICE"] {
        let err = s.create_user(&new_user(taken)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{taken}: {err:?}");
    }
    // A reused token hash is refused too.
    let mut same_token = new_user("carol");
    same_token.token_hash = format!("sha256-{}", alice.id);
    let err = s.create_user(&same_token).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Nothing of the refused accounts was written, and the name keeps its case.
    assert_eq!(
        user_ids(&s.recent_users(10).await.unwrap()),
        vec![alice.id.clone()]
    );
    assert_eq!(s.user_by_username("aLiCe").await.unwrap().unwrap(), alice);
    assert!(alice.is_admin);
}

async fn users_lookups(db: Db) {
    let s = &db.store;
    let alice = user(s, "Alice").await;
    let bob = user(s, "bob").await;
    let carol = user(s, "carol").await;

    assert_eq!(s.user_by_id(&bob.id).await.unwrap(), Some(bob.clone()));
    assert_eq!(s.user_by_id("nobody").await.unwrap(), None);

    let some = s
        .users_by_ids(&[alice.id.clone(), carol.id.clone(), "nobody".into()])
        .await
        .unwrap();
    assert_eq!(
        user_ids(&some),
        sorted(vec![alice.id.clone(), carol.id.clone()])
    );
    assert!(s.users_by_ids(&[]).await.unwrap().is_empty());

    assert_eq!(
        s.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(s.user_by_username("BOB").await.unwrap(), Some(bob.clone()));
    assert_eq!(s.user_by_username("dave").await.unwrap(), None);
    let named = s
        .users_by_usernames(&["ALICE".into(), "Carol".into(), "dave".into()])
        .await
        .unwrap();
    assert_eq!(
        user_ids(&named),
        sorted(vec![alice.id.clone(), carol.id.clone()])
    );
    assert!(s.users_by_usernames(&[]).await.unwrap().is_empty());

    let creds = s.credentials_by_username("alice").await.unwrap().unwrap();
    assert_eq!(creds.user, alice);
    assert_eq!(creds.password_hash, "argon2-of-Alice");
    assert_eq!(creds.token, format!("token-{}", alice.id));
    assert!(s.credentials_by_username("dave").await.unwrap().is_none());

    let (found, token) = s
        .user_by_token_hash(&format!("sha256-{}", bob.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, bob);
    assert_eq!(token, format!("token-{}", bob.id));
    assert!(
        s.user_by_token_hash("sha256-nobody")
            .await
            .unwrap()
            .is_none()
    );

    let recent = s.recent_users(2).await.unwrap();
    assert_eq!(
        recent,
        vec![carol.clone(), bob.clone()],
        "newest first, limited"
    );
}

async fn users_touch_and_login_days(db: Db) {
    let s = &db.store;
    let alice = user(s, "alice").await;
    s.touch_user(&alice.id, T).await.unwrap();
    assert_eq!(reload_user(s, &alice).await.last_active_at_ms, Some(T));
    s.touch_user(&alice.id, T + 5).await.unwrap();
    assert_eq!(reload_user(s, &alice).await.last_active_at_ms, Some(T + 5));
    s.touch_user("nobody", T).await.unwrap();

    for (day, expected) in [(100, 1), (100, 1), (101, 2), (99, 2), (101, 2), (105, 3)] {
        s.record_login_day(&alice.id, day).await.unwrap();
        assert_eq!(
            reload_user(s, &alice).await.logged_in_days,
            expected,
            "after day {day}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Follows

async fn follows_create_delete_and_counters(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let c = user(s, "c").await;
    let none = Outbox::default();

    assert!(
        s.create_follow(&a.id, &b.id, T, none.clone())
            .await
            .unwrap()
    );
    assert!(
        !s.create_follow(&a.id, &b.id, T, none.clone())
            .await
            .unwrap(),
        "a duplicate follow changes nothing"
    );
    assert!(
        s.create_follow(&b.id, &a.id, T, none.clone())
            .await
            .unwrap()
    );
    assert!(
        s.create_follow(&a.id, &c.id, T, none.clone())
            .await
            .unwrap()
    );

    let count = |u: User| (u.following_count, u.followers_count);
    assert_eq!(count(reload_user(s, &a).await), (2, 1));
    assert_eq!(count(reload_user(s, &b).await), (1, 1));
    assert_eq!(count(reload_user(s, &c).await), (0, 1));

    let both = Relation {
        is_following: true,
        is_followed: true,
    };
    assert_eq!(s.relation(&a.id, &b.id).await.unwrap(), both);
    assert_eq!(
        s.relation(&a.id, &c.id).await.unwrap(),
        Relation {
            is_following: true,
            is_followed: false
        }
    );
    assert_eq!(
        s.relation(&c.id, &a.id).await.unwrap(),
        Relation {
            is_following: false,
            is_followed: true
        }
    );
    assert_eq!(s.relation(&b.id, &c.id).await.unwrap(), Relation::default());

    let among = s
        .followed_among(&a.id, &[b.id.clone(), c.id.clone(), "nobody".into()])
        .await
        .unwrap();
    assert_eq!(among, HashSet::from([b.id.clone(), c.id.clone()]));
    assert!(
        s.followed_among(&c.id, std::slice::from_ref(&a.id))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.followed_among(&a.id, &[]).await.unwrap().is_empty());
    assert_eq!(
        sorted(s.followee_ids(&a.id).await.unwrap()),
        sorted(vec![b.id.clone(), c.id.clone()])
    );
    assert!(s.followee_ids(&c.id).await.unwrap().is_empty());

    assert!(s.delete_follow(&a.id, &b.id, none.clone()).await.unwrap());
    assert!(
        !s.delete_follow(&a.id, &b.id, none.clone()).await.unwrap(),
        "nothing left to delete"
    );
    assert_eq!(count(reload_user(s, &a).await), (1, 1));
    assert_eq!(count(reload_user(s, &b).await), (1, 0));
    assert_eq!(
        s.relation(&a.id, &b.id).await.unwrap(),
        Relation {
            is_following: false,
            is_followed: true
        }
    );
    assert_eq!(s.followee_ids(&a.id).await.unwrap(), vec![c.id.clone()]);
}

async fn follows_write_their_outbox_only_when_they_change_something(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let hook = webhook(s, &b).await;

    let followed = outbox_for(&[&hook], "followed", T);
    assert!(
        s.create_follow(&a.id, &b.id, T, followed.clone())
            .await
            .unwrap()
    );
    assert_eq!(counts(s).await, pending(1));
    let again = outbox_for(&[&hook], "followed", T);
    assert!(
        !s.create_follow(&a.id, &b.id, T, again.clone())
            .await
            .unwrap()
    );
    assert_eq!(
        counts(s).await,
        pending(1),
        "a duplicate follow queues nothing"
    );

    let unfollow = outbox_for(&[&hook], "unfollow", T);
    assert!(
        s.delete_follow(&a.id, &b.id, unfollow.clone())
            .await
            .unwrap()
    );
    assert_eq!(counts(s).await, pending(2));
    let again = outbox_for(&[&hook], "unfollow", T);
    assert!(!s.delete_follow(&a.id, &b.id, again.clone()).await.unwrap());
    assert_eq!(
        counts(s).await,
        pending(2),
        "deleting no follow queues nothing"
    );

    let claimed = claim(s, T, 10, &[], "tok").await;
    assert_eq!(ids(&claimed), delivery_ids(&[&followed, &unfollow]));
    let types: BTreeSet<&str> = claimed.iter().map(|d| d.event_type.as_str()).collect();
    assert_eq!(types, BTreeSet::from(["followed", "unfollow"]));
}

// ---------------------------------------------------------------------------------------
// Notes

async fn notes_create_with_counters_and_read_back(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let c = user(s, "c").await;

    let full = Note {
        text: Some("hi @b @c — ünïcode ✓".into()),
        cw: Some("spoiler".into()),
        visibility: Visibility::Specified,
        local_only: true,
        reaction_acceptance: Some("likeOnly".into()),
        mentions: vec![b.id.clone(), c.id.clone()],
        visible_user_ids: vec![b.id.clone()],
        ..note_by(&a)
    };
    create_note(s, &full).await;
    assert_eq!(reload_note(s, &full).await, full, "every field round-trips");
    assert_eq!(reload_user(s, &a).await.notes_count, 1);

    let reply = reply_to(&b, &full);
    create_note(s, &reply).await;
    let renote = renote_of(&c, &full);
    create_note(s, &renote).await;
    let quote = Note {
        text: Some("quoted".into()),
        ..renote_of(&b, &full)
    };
    create_note(s, &quote).await;

    let counted = reload_note(s, &full).await;
    assert_eq!((counted.replies_count, counted.renote_count), (1, 2));
    assert_eq!(reload_note(s, &reply).await, reply);
    assert_eq!(reload_note(s, &renote).await, renote);
    assert_eq!(reload_user(s, &b).await.notes_count, 2);
    assert_eq!(reload_user(s, &c).await.notes_count, 1);

    assert_eq!(s.note_by_id("nothing").await.unwrap(), None);
    let mut found = s
        .notes_by_ids(&[reply.id.clone(), quote.id.clone(), "nothing".into()])
        .await
        .unwrap();
    found.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(found, vec![reply.clone(), quote.clone()]);
    assert!(s.notes_by_ids(&[]).await.unwrap().is_empty());

    let err = s.create_note(&full, Outbox::default()).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "a note id is unique: {err:?}"
    );
    assert_eq!(
        reload_user(s, &a).await.notes_count,
        1,
        "a refused note counts nothing"
    );
}

async fn notes_by_authors_newest_first_paged(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let c = user(s, "c").await;
    let mut expected = Vec::new();
    for i in 0..9 {
        let author = [&a, &b, &c][i % 3];
        let note = note_by(author);
        create_note(s, &note).await;
        if author.id != c.id {
            expected.push(note.id.clone());
        }
    }
    expected.reverse();
    let authors = [a.id.clone(), b.id.clone()];
    let page = |notes: Vec<Note>| notes.into_iter().map(|n| n.id).collect::<Vec<_>>();

    assert_eq!(
        page(s.notes_by_authors(&authors, None, 100).await.unwrap()),
        expected
    );
    let first = page(s.notes_by_authors(&authors, None, 4).await.unwrap());
    assert_eq!(first, expected[..4]);
    let second = page(
        s.notes_by_authors(&authors, Some(&first[3]), 4)
            .await
            .unwrap(),
    );
    assert_eq!(second, expected[4..]);
    assert!(
        s.notes_by_authors(&authors, Some(&expected[5]), 4)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.notes_by_authors(&[], None, 10).await.unwrap().is_empty());
    assert_eq!(
        s.notes_by_authors(std::slice::from_ref(&c.id), None, 10)
            .await
            .unwrap()
            .len(),
        3
    );
}

async fn notes_delete_cascades_and_fixes_counters(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let c = user(s, "c").await;

    // A ← B (reply) ← C (renote of B) ← D (reply to C); E quotes A; F replies to B and
    // quotes X, which is outside the cascade.
    let x = note_by(&c);
    create_note(s, &x).await;
    let root = note_by(&a);
    create_note(s, &root).await;
    let b_reply = reply_to(&b, &root);
    create_note(s, &b_reply).await;
    let c_renote = renote_of(&c, &b_reply);
    create_note(s, &c_renote).await;
    let d_reply = reply_to(&a, &c_renote);
    create_note(s, &d_reply).await;
    let e_quote = Note {
        text: Some("quote".into()),
        ..renote_of(&b, &root)
    };
    create_note(s, &e_quote).await;
    let f = Note {
        text: Some("reply and quote".into()),
        renote_id: Some(x.id.clone()),
        renote_user_id: Some(x.user_id.clone()),
        ..reply_to(&c, &b_reply)
    };
    create_note(s, &f).await;
    // Outside the cascade: a reply and a renote of X.
    let x_reply = reply_to(&a, &x);
    create_note(s, &x_reply).await;
    let x_renote = renote_of(&b, &x);
    create_note(s, &x_renote).await;

    let x_before = reload_note(s, &x).await;
    assert_eq!((x_before.replies_count, x_before.renote_count), (1, 2));
    assert_eq!([&a, &b, &c].map(|u| u.id.clone()).len(), 3, "three authors");
    let notes_of = |u: User| u.notes_count;
    assert_eq!(notes_of(reload_user(s, &a).await), 3);
    assert_eq!(notes_of(reload_user(s, &b).await), 3);
    assert_eq!(notes_of(reload_user(s, &c).await), 3);

    // Deleting a leaf adjusts its parent's counter.
    assert_eq!(
        s.delete_note(&x_reply.id).await.unwrap(),
        vec![x_reply.id.clone()]
    );
    assert_eq!(reload_note(s, &x).await.replies_count, 0);

    let deleted: BTreeSet<String> = s.delete_note(&root.id).await.unwrap().into_iter().collect();
    let doomed = [&root, &b_reply, &c_renote, &d_reply, &e_quote, &f];
    assert_eq!(deleted, doomed.iter().map(|n| n.id.clone()).collect());
    for note in doomed {
        assert_eq!(s.note_by_id(&note.id).await.unwrap(), None);
    }
    let x_after = reload_note(s, &x).await;
    assert_eq!(
        (x_after.replies_count, x_after.renote_count),
        (0, 1),
        "F's quote of X is uncounted"
    );
    assert_eq!(notes_of(reload_user(s, &a).await), 0);
    assert_eq!(notes_of(reload_user(s, &b).await), 1);
    assert_eq!(notes_of(reload_user(s, &c).await), 1);

    assert!(s.delete_note("nothing").await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------
// Reactions

fn reaction(note: &Note, user: &User, reaction: &str) -> Reaction {
    Reaction {
        id: next_id(),
        note_id: note.id.clone(),
        user_id: user.id.clone(),
        reaction: reaction.to_owned(),
    }
}

async fn react(s: &Store, note: &Note, user: &User, what: &str) -> ReactionWrite {
    s.create_reaction(&reaction(note, user, what), Outbox::default())
        .await
        .unwrap()
}

async fn reactions_one_per_user_replaced_and_undone(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let n = note_by(&a);
    create_note(s, &n).await;

    assert_eq!(react(s, &n, &b, "👍").await, ReactionWrite::Created);
    assert_eq!(react(s, &n, &a, "👍").await, ReactionWrite::Created);
    assert_eq!(react(s, &n, &b, "👍").await, ReactionWrite::AlreadyReacted);
    assert_eq!(
        react(s, &n, &b, "🎉").await,
        ReactionWrite::Replaced("👍".into())
    );
    let facts = s.note_reactions(std::slice::from_ref(&n.id)).await.unwrap();
    let mut counts = facts[&n.id].counts.clone();
    counts.sort();
    assert_eq!(counts, [("🎉".to_owned(), 1), ("👍".to_owned(), 1)]);
    assert_eq!(
        facts[&n.id].pair_cache,
        [format!("{}/👍", a.id), format!("{}/🎉", b.id)],
        "oldest first; the replaced pair left and the new one joined"
    );
    let mine = s
        .reactions_of_user(&b.id, &[n.id.clone(), "other".into()])
        .await
        .unwrap();
    assert_eq!(
        mine.into_iter().collect::<Vec<_>>(),
        [(n.id.clone(), "🎉".to_owned())]
    );

    assert_eq!(
        s.delete_reaction(&n.id, &b.id).await.unwrap(),
        Some("🎉".into())
    );
    assert_eq!(s.delete_reaction(&n.id, &b.id).await.unwrap(), None);
    let facts = s.note_reactions(std::slice::from_ref(&n.id)).await.unwrap();
    assert_eq!(facts[&n.id].counts, [("👍".to_owned(), 1)]);
    assert!(
        s.reactions_of_user(&b.id, std::slice::from_ref(&n.id))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.note_reactions(&["nothing".into()])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn reactions_write_their_outbox_only_when_they_change_something(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let hook = webhook(s, &a).await;
    let n = note_by(&a);
    create_note(s, &n).await;

    let first = outbox_for(&[&hook], "reaction", T);
    let written = s
        .create_reaction(&reaction(&n, &b, "👍"), first.clone())
        .await
        .unwrap();
    assert_eq!(written, ReactionWrite::Created);
    assert_eq!(counts(s).await, pending(1));

    let again = outbox_for(&[&hook], "reaction", T);
    let written = s
        .create_reaction(&reaction(&n, &b, "👍"), again.clone())
        .await
        .unwrap();
    assert_eq!(written, ReactionWrite::AlreadyReacted);
    assert_eq!(counts(s).await, pending(1), "nothing was written");

    let other = outbox_for(&[&hook], "reaction", T);
    s.create_reaction(&reaction(&n, &b, "🎉"), other.clone())
        .await
        .unwrap();
    assert_eq!(counts(s).await, pending(2));
}

async fn reactions_pair_cache_holds_the_newest_ten(db: Db) {
    let s = &db.store;
    let author = user(s, "author").await;
    let n = note_by(&author);
    create_note(s, &n).await;
    let other = note_by(&author);
    create_note(s, &other).await;
    let mut fans = Vec::new();
    for i in 0..12 {
        let fan = user(s, &format!("fan{i}")).await;
        react(s, &n, &fan, "👍").await;
        fans.push(fan);
    }
    react(s, &other, &fans[0], "🎉").await;
    let pairs =
        |facts: &std::collections::HashMap<String, missive_core::reaction::NoteReactions>,
         id: &str| { facts[id].pair_cache.clone() };
    let ids = [n.id.clone(), other.id.clone()];
    let facts = s.note_reactions(&ids).await.unwrap();
    assert_eq!(facts[&n.id].counts, [("👍".to_owned(), 12)]);
    let expected: Vec<String> = fans[2..].iter().map(|f| format!("{}/👍", f.id)).collect();
    assert_eq!(
        pairs(&facts, &n.id),
        expected,
        "the newest ten, oldest first"
    );
    assert_eq!(pairs(&facts, &other.id), [format!("{}/🎉", fans[0].id)]);

    // Undoing one of them lets an older pair back in; a new reaction is the newest.
    s.delete_reaction(&n.id, &fans[5].id).await.unwrap();
    let late = user(s, "late").await;
    react(s, &n, &late, "🎉").await;
    let facts = s.note_reactions(std::slice::from_ref(&n.id)).await.unwrap();
    let mut expected: Vec<String> = fans[2..]
        .iter()
        .filter(|f| f.id != fans[5].id)
        .map(|f| format!("{}/👍", f.id))
        .collect();
    expected.push(format!("{}/🎉", late.id));
    assert_eq!(pairs(&facts, &n.id), expected);
}

async fn reactions_list_pages_like_misskey(db: Db) {
    let s = &db.store;
    let author = user(s, "author").await;
    let n = note_by(&author);
    create_note(s, &n).await;
    let mut made = Vec::new();
    for (i, what) in ["👍", "🎉", "👍", "❤", "👍"].iter().enumerate() {
        let fan = user(s, &format!("fan{i}")).await;
        let r = reaction(&n, &fan, what);
        s.create_reaction(&r, Outbox::default()).await.unwrap();
        made.push(r);
    }
    let page = |reaction: Option<&str>,
                since: Option<&Reaction>,
                until: Option<&Reaction>,
                limit| ReactionPage {
        reaction: reaction.map(str::to_owned),
        since_id: since.map(|r| r.id.clone()),
        until_id: until.map(|r| r.id.clone()),
        limit,
    };
    let list = |p: ReactionPage| {
        let note_id = n.id.clone();
        async move {
            s.reactions_to_note(&note_id, &p)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    let id = |i: usize| made[i].id.clone();
    assert_eq!(
        list(page(None, None, None, 10)).await,
        [id(4), id(3), id(2), id(1), id(0)]
    );
    assert_eq!(list(page(None, None, None, 2)).await, [id(4), id(3)]);
    assert_eq!(
        list(page(Some("👍"), None, None, 10)).await,
        [id(4), id(2), id(0)]
    );
    assert_eq!(
        list(page(None, None, Some(&made[3]), 2)).await,
        [id(2), id(1)]
    );
    assert_eq!(
        list(page(None, Some(&made[1]), None, 2)).await,
        [id(2), id(3)],
        "oldest first after sinceId"
    );
    assert_eq!(
        list(page(None, Some(&made[0]), Some(&made[3]), 10)).await,
        [id(2), id(1)]
    );
    let first = &s
        .reactions_to_note(&n.id, &page(None, None, None, 1))
        .await
        .unwrap()[0];
    assert_eq!(first, &made[4]);
    assert!(
        s.reactions_to_note("nothing", &page(None, None, None, 10))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_same_reactions_make_exactly_one(db: Db) {
    let a = user(&db.store, "a").await;
    let b = user(&db.store, "b").await;
    let n = note_by(&a);
    create_note(&db.store, &n).await;
    // Two handles, as two nodes would have.
    let stores = [db.store.clone(), db.open().await];
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = stores[i % 2].clone();
        let r = reaction(&n, &b, "👍");
        tasks.push(tokio::spawn(async move {
            s.create_reaction(&r, Outbox::default()).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap().expect("no store error") {
            ReactionWrite::Created => created += 1,
            ReactionWrite::AlreadyReacted => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    let facts = db
        .store
        .note_reactions(std::slice::from_ref(&n.id))
        .await
        .unwrap();
    assert_eq!(facts[&n.id].counts, [("👍".to_owned(), 1)]);
}

async fn reactions_go_with_their_note(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let n = note_by(&a);
    create_note(s, &n).await;
    let r = reply_to(&b, &n);
    create_note(s, &r).await;
    react(s, &n, &b, "👍").await;
    react(s, &r, &a, "🎉").await;
    s.delete_note(&n.id).await.unwrap();
    assert!(
        s.note_reactions(&[n.id.clone(), r.id.clone()])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.reactions_of_user(&b.id, std::slice::from_ref(&n.id))
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------
// Webhooks

async fn webhooks_create_respects_the_limit(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let new = new_webhook(
        &a,
        &[EventType::Note, EventType::Follow, EventType::Reaction],
    );
    let first = s.create_webhook(&new, 2).await.unwrap().unwrap();
    assert_eq!(
        first,
        Webhook {
            id: new.id.clone(),
            user_id: a.id.clone(),
            name: new.name.clone(),
            on: vec![EventType::Note, EventType::Follow, EventType::Reaction],
            url: new.url.clone(),
            secret: new.secret.clone(),
            active: true,
            latest_sent_at_ms: None,
            latest_status: None,
            consecutive_failures: 0,
            disabled_reason: None,
            disabled_at_ms: None,
        }
    );
    assert_eq!(
        s.webhook_by_id(&first.id).await.unwrap(),
        Some(first.clone())
    );
    assert!(
        s.create_webhook(&new_webhook(&a, &[EventType::Note]), 2)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.create_webhook(&new_webhook(&a, &[EventType::Note]), 2)
            .await
            .unwrap()
            .is_none(),
        "the third of a limit of two is refused"
    );
    assert!(
        s.create_webhook(&new_webhook(&b, &[EventType::Note]), 2)
            .await
            .unwrap()
            .is_some(),
        "limits are per user"
    );
    assert_eq!(s.webhooks_of_user(&a.id).await.unwrap().len(), 2);
    assert!(
        s.create_webhook(&new_webhook(&a, &[]), 3)
            .await
            .unwrap()
            .is_some(),
        "a higher limit allows more"
    );
}

async fn webhooks_list_and_owner_checks(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w1 = webhook(s, &a).await;
    let w2 = webhook(s, &a).await;
    let w3 = webhook(s, &b).await;

    assert_eq!(
        s.webhooks_of_user(&a.id).await.unwrap(),
        vec![w1.clone(), w2.clone()]
    );
    assert_eq!(s.webhooks_of_user(&b.id).await.unwrap(), vec![w3.clone()]);
    assert!(s.webhooks_of_user("nobody").await.unwrap().is_empty());
    assert_eq!(
        s.webhook_of_user(&w1.id, &a.id).await.unwrap(),
        Some(w1.clone())
    );
    assert_eq!(
        s.webhook_of_user(&w1.id, &b.id).await.unwrap(),
        None,
        "not b's webhook"
    );
    assert_eq!(s.webhook_by_id("nothing").await.unwrap(), None);

    let patch = WebhookPatch {
        name: Some("stolen".into()),
        active: Some(false),
        ..WebhookPatch::default()
    };
    assert_eq!(
        s.update_webhook(&w1.id, Some(&b.id), &patch, T)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.update_webhook("nothing", None, &patch, T).await.unwrap(),
        None
    );
    assert!(!s.delete_webhook(&w1.id, &b.id, T).await.unwrap());
    assert_eq!(
        s.webhook_by_id(&w1.id).await.unwrap(),
        Some(w1.clone()),
        "untouched by b"
    );

    assert!(s.delete_webhook(&w1.id, &a.id, T).await.unwrap());
    assert!(!s.delete_webhook(&w1.id, &a.id, T).await.unwrap());
    assert_eq!(s.webhooks_of_user(&a.id).await.unwrap(), vec![w2]);
}

async fn webhooks_update_applies_a_patch(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let w = webhook(s, &a).await;

    let renamed = s
        .update_webhook(
            &w.id,
            Some(&a.id),
            &WebhookPatch {
                name: Some("renamed".into()),
                ..WebhookPatch::default()
            },
            T,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        renamed,
        Webhook {
            name: "renamed".into(),
            ..w.clone()
        },
        "only the name changes"
    );

    let all = WebhookPatch {
        name: Some("all".into()),
        url: Some("https://elsewhere.example/x".into()),
        secret: Some(String::new()),
        on: Some(vec![EventType::Renote, EventType::Mention]),
        active: Some(false),
        previous_secret_until: None,
    };
    let updated = s
        .update_webhook(&w.id, Some(&a.id), &all, T)
        .await
        .unwrap()
        .unwrap();
    let expected = Webhook {
        name: "all".into(),
        url: "https://elsewhere.example/x".into(),
        secret: String::new(),
        on: vec![EventType::Renote, EventType::Mention],
        active: false,
        ..w.clone()
    };
    assert_eq!(updated, expected);
    assert_eq!(
        s.webhook_by_id(&w.id).await.unwrap(),
        Some(expected.clone())
    );

    // The administrator (no owner given) may switch anyone's webhook back on.
    let on = WebhookPatch {
        active: Some(true),
        on: Some(Vec::new()),
        ..WebhookPatch::default()
    };
    let admin = s
        .update_webhook(&w.id, None, &on, T)
        .await
        .unwrap()
        .unwrap();
    assert!(admin.active);
    assert!(admin.on.is_empty());
    let nothing = s
        .update_webhook(&w.id, Some(&a.id), &WebhookPatch::default(), T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(nothing, admin, "an empty patch changes nothing");
}

async fn webhooks_switching_off_cancels_pending_deliveries(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w1 = webhook(s, &b).await;
    let w2 = webhook(s, &b).await;
    queue(s, &a, &[&w1, &w2], T).await;
    let kept = queue(s, &a, &[&w2], T).await;
    queue(s, &a, &[&w1], T).await;
    // One of w1's deliveries is leased when it is switched off.
    let leased = claim(s, T, 1, std::slice::from_ref(&w2.id), "tok").await;
    assert_eq!(leased.len(), 1);

    let off = WebhookPatch {
        active: Some(false),
        ..WebhookPatch::default()
    };
    s.update_webhook(&w1.id, Some(&b.id), &off, T + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        counts(s).await,
        DeliveryCounts {
            pending: 2,
            cancelled: 2,
            ..DeliveryCounts::default()
        }
    );
    // The lease holder's later outcome does not revive the cancelled delivery.
    s.finish_deliveries(&[finished(
        &leased[0],
        FinishedState::Succeeded,
        Some(200),
        T + 2,
    )])
    .await
    .unwrap();
    assert_eq!(counts(s).await.cancelled, 2);

    let on = WebhookPatch {
        active: Some(true),
        ..WebhookPatch::default()
    };
    s.update_webhook(&w1.id, None, &on, T + 3)
        .await
        .unwrap()
        .unwrap();
    let claimed = claim(s, T + LEASE, 10, &[], "tok2").await;
    let w2_ids: BTreeSet<String> = claimed.iter().map(|d| d.webhook_id.clone()).collect();
    assert_eq!(
        w2_ids,
        BTreeSet::from([w2.id.clone()]),
        "switching on again revives nothing"
    );
    assert_eq!(claimed.len(), 2);
    assert!(ids(&claimed).is_superset(&delivery_ids(&[&kept])));

    // Renaming (no `active` in the patch) cancels nothing.
    queue(s, &a, &[&w1], T).await;
    let rename = WebhookPatch {
        name: Some("n".into()),
        ..WebhookPatch::default()
    };
    s.update_webhook(&w1.id, Some(&b.id), &rename, T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counts(s).await.pending, 3);
}

async fn webhooks_delete_drops_pending_deliveries(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w1 = webhook(s, &b).await;
    let w2 = webhook(s, &b).await;
    queue(s, &a, &[&w1, &w2], T).await;
    queue(s, &a, &[&w1], T).await;
    assert!(s.delete_webhook(&w1.id, &b.id, T).await.unwrap());
    assert_eq!(
        counts(s).await,
        DeliveryCounts {
            pending: 1,
            cancelled: 2,
            ..DeliveryCounts::default()
        }
    );
    let claimed = claim(s, T, 10, &[], "tok").await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].webhook_id, w2.id);
}

async fn webhooks_admin_listing_filters_and_pages(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let h1 = webhook(s, &a).await;
    let h2 = webhook(s, &a).await;
    let h3 = webhook(s, &a).await;
    let h4 = webhook(s, &b).await;
    let h5 = webhook(s, &b).await;
    let off = WebhookPatch {
        active: Some(false),
        ..WebhookPatch::default()
    };
    for h in [&h2, &h5] {
        s.update_webhook(&h.id, None, &off, T)
            .await
            .unwrap()
            .unwrap();
    }
    let list = |filter: AdminWebhookFilter| async move {
        hook_ids(&s.admin_webhooks(&filter).await.unwrap())
    };
    let f = |limit| AdminWebhookFilter {
        limit,
        ..AdminWebhookFilter::default()
    };
    let id = |h: &Webhook| h.id.clone();

    assert_eq!(
        list(f(10)).await,
        vec![id(&h5), id(&h4), id(&h3), id(&h2), id(&h1)]
    );
    assert_eq!(list(f(2)).await, vec![id(&h5), id(&h4)]);
    assert_eq!(
        list(AdminWebhookFilter {
            user_id: Some(a.id.clone()),
            ..f(10)
        })
        .await,
        vec![id(&h3), id(&h2), id(&h1)]
    );
    assert_eq!(
        list(AdminWebhookFilter {
            active: Some(true),
            ..f(10)
        })
        .await,
        vec![id(&h4), id(&h3), id(&h1)]
    );
    assert_eq!(
        list(AdminWebhookFilter {
            active: Some(false),
            ..f(10)
        })
        .await,
        vec![id(&h5), id(&h2)]
    );
    assert_eq!(
        list(AdminWebhookFilter {
            since_id: Some(id(&h2)),
            ..f(10)
        })
        .await,
        vec![id(&h5), id(&h4), id(&h3)]
    );
    assert_eq!(
        list(AdminWebhookFilter {
            until_id: Some(id(&h4)),
            ..f(10)
        })
        .await,
        vec![id(&h3), id(&h2), id(&h1)]
    );
    assert_eq!(
        list(AdminWebhookFilter {
            since_id: Some(id(&h1)),
            until_id: Some(id(&h5)),
            ..f(2)
        })
        .await,
        vec![id(&h4), id(&h3)]
    );
    assert_eq!(
        list(AdminWebhookFilter {
            user_id: Some(a.id.clone()),
            active: Some(true),
            ..f(10)
        })
        .await,
        vec![id(&h3), id(&h1)]
    );
    assert!(
        list(AdminWebhookFilter {
            user_id: Some("nobody".into()),
            ..f(10)
        })
        .await
        .is_empty()
    );
    // Full rows come back, not only ids.
    assert_eq!(
        s.admin_webhooks(&f(1)).await.unwrap()[0],
        s.webhook_by_id(&h5.id).await.unwrap().unwrap()
    );
}

async fn webhooks_active_of_users_and_attempt_record(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let c = user(s, "c").await;
    let h1 = webhook(s, &a).await;
    let h2 = webhook(s, &a).await;
    let h3 = webhook(s, &b).await;
    webhook(s, &c).await;
    let off = WebhookPatch {
        active: Some(false),
        ..WebhookPatch::default()
    };
    s.update_webhook(&h2.id, None, &off, T)
        .await
        .unwrap()
        .unwrap();

    let active = s
        .active_webhooks_of(&[a.id.clone(), b.id.clone(), "nobody".into()])
        .await
        .unwrap();
    assert_eq!(
        sorted(hook_ids(&active)),
        sorted(vec![h1.id.clone(), h3.id.clone()])
    );
    assert!(active.contains(&h1));
    assert!(s.active_webhooks_of(&[]).await.unwrap().is_empty());

    s.record_webhook_attempt(&h1.id, T + 7, 1).await.unwrap();
    let h1_after = s.webhook_by_id(&h1.id).await.unwrap().unwrap();
    assert_eq!(
        (h1_after.latest_sent_at_ms, h1_after.latest_status),
        (Some(T + 7), Some(1))
    );
    s.record_webhook_attempt(&h1.id, T + 9, 204).await.unwrap();
    let h1_after = s.webhook_by_id(&h1.id).await.unwrap().unwrap();
    assert_eq!(
        (h1_after.latest_sent_at_ms, h1_after.latest_status),
        (Some(T + 9), Some(204))
    );
    s.record_webhook_attempt("nothing", T, 200).await.unwrap();
}

// ---------------------------------------------------------------------------------------
// The delivery queue

async fn outbox_is_written_with_its_action_or_not_at_all(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w1 = webhook(s, &b).await;
    let w2 = webhook(s, &b).await;

    let parent = note_by(&b);
    create_note(s, &parent).await;
    let note = reply_to(&a, &parent);
    let outbox = outbox_for(&[&w1, &w2], "reply", T);
    s.create_note(&note, outbox.clone()).await.unwrap();
    assert_eq!(counts(s).await, pending(2));
    let claimed = claim(s, T, 10, &[], "tok").await;
    assert_eq!(ids(&claimed), delivery_ids(&[&outbox]));
    for d in &claimed {
        assert_eq!(&*d.body, outbox.payloads[0].body, "the payload is shared");
    }
    s.finish_deliveries(
        &claimed
            .iter()
            .map(|d| finished(d, FinishedState::Succeeded, Some(200), T))
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();

    // The action fails (the note exists): none of its deliveries is written.
    let err = s
        .create_note(&note, outbox_for(&[&w1], "note", T))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(counts(s).await.pending, 0);

    // The outbox fails (a delivery id is reused): the action is not written either.
    let mut bad = outbox_for(&[&w1, &w2], "reply", T);
    bad.deliveries[1].id = outbox.deliveries[0].id.clone();
    let doomed = reply_to(&a, &parent);
    assert!(s.create_note(&doomed, bad.clone()).await.is_err());
    assert_eq!(s.note_by_id(&doomed.id).await.unwrap(), None);
    assert_eq!(reload_note(s, &parent).await.replies_count, 1);
    assert_eq!(reload_user(s, &a).await.notes_count, 1);
    assert_eq!(counts(s).await.pending, 0);

    let mut bad_follow = outbox_for(&[&w1], "followed", T);
    bad_follow.payloads[0].id = outbox.payloads[0].id.clone();
    bad_follow.deliveries[0].payload_id = outbox.payloads[0].id.clone();
    assert!(
        s.create_follow(&a.id, &b.id, T, bad_follow.clone())
            .await
            .is_err()
    );
    assert_eq!(s.relation(&a.id, &b.id).await.unwrap(), Relation::default());
    assert_eq!(reload_user(s, &b).await.followers_count, 0);
    assert_eq!(counts(s).await.pending, 0);

    assert!(
        s.create_follow(&a.id, &b.id, T, Outbox::default())
            .await
            .unwrap()
    );
    let mut bad_unfollow = outbox_for(&[&w1], "unfollow", T);
    bad_unfollow.deliveries[0].id = outbox.deliveries[1].id.clone();
    assert!(
        s.delete_follow(&a.id, &b.id, bad_unfollow.clone())
            .await
            .is_err()
    );
    assert!(
        s.relation(&a.id, &b.id).await.unwrap().is_following,
        "the unfollow was rolled back"
    );
    assert_eq!(reload_user(s, &a).await.following_count, 1);
    assert_eq!(counts(s).await.pending, 0);
}

async fn claim_respects_due_time_limit_and_skip_list(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w1 = webhook(s, &b).await;
    let w2 = webhook(s, &b).await;
    let w3 = webhook(s, &b).await;
    let d1 = queue(s, &a, &[&w1], T).await;
    let d2 = queue(s, &a, &[&w2], T + 1).await;
    let d3 = queue(s, &a, &[&w1], T + 2).await;
    let d4 = queue(s, &a, &[&w3], T + 2).await;
    let later = queue(s, &a, &[&w2], T + 100).await;

    assert!(
        claim(s, T - 1, 10, &[], "t").await.is_empty(),
        "nothing is due yet"
    );
    let oldest = claim(s, T + 2, 2, &[], "t").await;
    assert_eq!(
        ids(&oldest),
        delivery_ids(&[&d1, &d2]),
        "oldest due first, up to the limit"
    );

    let d = oldest.iter().find(|d| d.webhook_id == w1.id).unwrap();
    let sent = &d1.deliveries[0];
    assert_eq!(
        d,
        &ClaimedDelivery {
            id: sent.id.clone(),
            webhook_id: w1.id.clone(),
            user_id: b.id.clone(),
            event_type: "note".into(),
            event_id: sent.event_id.clone(),
            created_at: T,
            attempts: 0,
            lease_token: "t".into(),
            target: Some(target_of(&w1)),
            body: d1.payloads[0].body.as_str().into(),
        }
    );

    assert!(
        claim(s, T + 2, 10, &[w1.id.clone(), w3.id.clone()], "t")
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&claim(s, T + 2, 10, &[w3.id.clone(), w2.id.clone()], "t").await),
        delivery_ids(&[&d3])
    );
    assert!(
        claim(s, T + 100, 10, &[w2.id.clone(), w3.id.clone()], "t")
            .await
            .is_empty()
    );
    assert_eq!(
        ids(&claim(s, T + 100, 10, &[], "t").await),
        delivery_ids(&[&d4, &later])
    );
    assert!(claim(s, T + 100, 10, &[], "t").await.is_empty());
    assert_eq!(
        counts(s).await,
        pending(5),
        "claiming does not finish anything"
    );
}

fn target_of(hook: &Webhook) -> Target {
    Target {
        url: hook.url.clone(),
        secret: hook.secret.clone(),
        active: hook.active,
        host: host_key(&hook.url),
        previous_secret: None,
    }
}

/// A webhook at `url`, owned by `owner`.
async fn webhook_at(s: &Store, owner: &User, url: &str) -> Webhook {
    let new = NewWebhook {
        url: url.to_owned(),
        ..new_webhook(owner, &[EventType::Note])
    };
    s.create_webhook(&new, 100).await.unwrap().unwrap()
}

async fn claim_skips_every_webhook_of_a_skipped_host(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    // Two owners' webhooks at one host, however its URLs are spelled…
    let one_b = webhook_at(s, &b, "https://one.example/b").await;
    let one_a = webhook_at(s, &a, "HTTPS://One.Example:443/a").await;
    // …one elsewhere, and one moved there by an update.
    let two = webhook_at(s, &b, "https://two.example/").await;
    let moved = webhook_at(s, &a, "http://one.example/").await;
    assert_eq!(
        s.update_webhook(
            &moved.id,
            Some(&a.id),
            &WebhookPatch {
                url: Some("https://one.example/moved".into()),
                ..WebhookPatch::default()
            },
            T,
        )
        .await
        .unwrap()
        .unwrap()
        .url,
        "https://one.example/moved"
    );
    let at_one = queue(s, &a, &[&one_b, &one_a, &moved], T).await;
    let at_two = queue(s, &a, &[&two], T).await;

    let skip_one = ClaimSkip {
        webhooks: Vec::new(),
        hosts: vec!["one.example:443".into()],
    };
    assert_eq!(s.next_due_at_except(&skip_one).await.unwrap(), Some(T));
    let claimed = s.claim_due(T, LEASE, 10, &skip_one, "t").await.unwrap();
    assert_eq!(ids(&claimed), delivery_ids(&[&at_two]));
    assert_eq!(
        claimed[0].target.as_ref().unwrap().host,
        "two.example:443",
        "a claim says which host each delivery goes to"
    );
    // What is left is all at the skipped host: the next due time is the lease's end.
    assert_eq!(
        s.next_due_at_except(&skip_one).await.unwrap(),
        Some(T + LEASE)
    );
    assert!(
        s.claim_due(T, LEASE, 10, &skip_one, "t")
            .await
            .unwrap()
            .is_empty()
    );
    // Skipping hosts and webhooks together.
    let skip_both = ClaimSkip {
        webhooks: vec![one_a.id.clone()],
        hosts: vec!["elsewhere.example:443".into()],
    };
    let claimed = s.claim_due(T, LEASE, 10, &skip_both, "t").await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|d| d.webhook_id.clone())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([one_b.id.clone(), moved.id.clone()])
    );
    for d in &claimed {
        assert_eq!(d.target.as_ref().unwrap().host, "one.example:443");
    }
    let rest = claim(s, T, 10, &[], "t").await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].webhook_id, one_a.id);
    assert_eq!(
        ids(&claimed)
            .union(&ids(&rest))
            .cloned()
            .collect::<BTreeSet<_>>(),
        delivery_ids(&[&at_one])
    );
}

async fn claim_finds_deliveries_behind_many_skipped_ones(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let busy = webhook_at(s, &a, "https://busy.example/").await;
    let other = webhook_at(s, &a, "https://other.example/").await;
    // More deliveries for the skipped host, due first, than a claim looks at in order.
    for n in 0..20 {
        queue(s, &a, &[&busy], T + n).await;
    }
    let behind = queue(s, &a, &[&other], T + 20).await;
    let later = queue(s, &a, &[&other], T + 21).await;
    let skip_busy = ClaimSkip {
        webhooks: Vec::new(),
        hosts: vec!["busy.example:443".into()],
    };
    let claimed = s
        .claim_due(T + 30, LEASE, 1, &skip_busy, "t")
        .await
        .unwrap();
    assert_eq!(
        ids(&claimed),
        delivery_ids(&[&behind]),
        "the oldest not skipped"
    );
    let skip_webhook = ClaimSkip {
        webhooks: vec![busy.id.clone()],
        hosts: Vec::new(),
    };
    let claimed = s
        .claim_due(T + 30, LEASE, 5, &skip_webhook, "t")
        .await
        .unwrap();
    assert_eq!(ids(&claimed), delivery_ids(&[&later]));
    assert_eq!(claim(s, T + 30, 100, &[], "t").await.len(), 20);
}

async fn migrate_fills_in_the_host_of_older_webhooks(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let w1 = webhook_at(s, &a, "http://Old.Example:8080/x").await;
    let w2 = webhook_at(s, &a, "https://old.example/y").await;
    let d1 = queue(s, &a, &[&w1], T).await;
    let d2 = queue(s, &a, &[&w2], T).await;
    assert_eq!(forget_webhook_hosts(s).await.unwrap(), 2);

    s.migrate().await.unwrap();
    // Migrating again, as every node of a cluster does at start, changes nothing.
    db.open().await.migrate().await.unwrap();
    let skip = ClaimSkip {
        webhooks: Vec::new(),
        hosts: vec!["old.example:8080".into()],
    };
    let claimed = s.claim_due(T, LEASE, 10, &skip, "t").await.unwrap();
    assert_eq!(ids(&claimed), delivery_ids(&[&d2]));
    assert_eq!(claimed[0].target.as_ref().unwrap().host, "old.example:443");
    let rest = claim(s, T, 10, &[], "t").await;
    assert_eq!(ids(&rest), delivery_ids(&[&d1]));
    assert_eq!(rest[0].target.as_ref().unwrap().host, "old.example:8080");
}

async fn claim_lease_blocks_others_until_it_expires(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w = webhook(s, &b).await;
    let queued = queue(s, &a, &[&w], T).await;

    let first = claim(s, T, 10, &[], "node-a").await;
    assert_eq!(ids(&first), delivery_ids(&[&queued]));
    assert!(claim(s, T + 1, 10, &[], "node-b").await.is_empty());
    assert!(
        claim(s, T + LEASE - 1, 10, &[], "node-b").await.is_empty(),
        "leased until the lease ends"
    );
    assert_eq!(s.next_due_at().await.unwrap(), Some(T + LEASE));

    let second = claim(s, T + LEASE, 10, &[], "node-b").await;
    assert_eq!(
        ids(&second),
        delivery_ids(&[&queued]),
        "claimable again once the lease expired"
    );
    assert_eq!(second[0].lease_token, "node-b");
    assert_eq!(second[0].attempts, 0);

    // node-a's late outcome is ignored: its lease is gone.
    s.finish_deliveries(&[finished(
        &first[0],
        FinishedState::Succeeded,
        Some(200),
        T + LEASE + 1,
    )])
    .await
    .unwrap();
    assert_eq!(counts(s).await, pending(1));
    s.finish_deliveries(&[finished(
        &first[0],
        FinishedState::Failed,
        Some(410),
        T + LEASE + 2,
    )])
    .await
    .unwrap();
    assert_eq!(counts(s).await, pending(1));

    s.finish_deliveries(&[finished(
        &second[0],
        FinishedState::Succeeded,
        Some(204),
        T + LEASE + 3,
    )])
    .await
    .unwrap();
    assert_eq!(
        counts(s).await,
        DeliveryCounts {
            succeeded: 1,
            ..DeliveryCounts::default()
        }
    );
    let hook = s.webhook_by_id(&w.id).await.unwrap().unwrap();
    assert_eq!(
        (hook.latest_sent_at_ms, hook.latest_status),
        (Some(T + LEASE + 3), Some(204))
    );
    // Finishing twice changes nothing, and a finished delivery is never claimed again.
    s.finish_deliveries(&[finished(
        &second[0],
        FinishedState::RetryAt(T),
        None,
        T + LEASE + 4,
    )])
    .await
    .unwrap();
    assert_eq!(counts(s).await.succeeded, 1);
    assert!(claim(s, T + 10 * LEASE, 10, &[], "node-c").await.is_empty());
    assert_eq!(s.next_due_at().await.unwrap(), None);
}

async fn finish_records_each_outcome(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w1 = webhook(s, &b).await;
    let w2 = webhook(s, &b).await;
    let outboxes = [
        queue(s, &a, &[&w1], T).await,
        queue(s, &a, &[&w1], T).await,
        queue(s, &a, &[&w1], T).await,
        queue(s, &a, &[&w2], T).await,
    ];
    let claimed = claim(s, T, 10, &[], "tok").await;
    let by_outbox = |i: usize| {
        claimed
            .iter()
            .find(|d| d.id == outboxes[i].deliveries[0].id)
            .unwrap()
            .clone()
    };
    let (ok, failed, retried, cancelled) = (by_outbox(0), by_outbox(1), by_outbox(2), by_outbox(3));
    s.finish_deliveries(&[
        finished(&ok, FinishedState::Succeeded, Some(200), T + 10),
        finished(&failed, FinishedState::Failed, Some(400), T + 30),
        finished(&retried, FinishedState::RetryAt(T + 5_000), Some(1), T + 20),
        finished(&cancelled, FinishedState::Cancelled, None, T + 40),
    ])
    .await
    .unwrap();
    assert_eq!(
        counts(s).await,
        DeliveryCounts {
            pending: 1,
            succeeded: 1,
            failed: 1,
            cancelled: 1
        }
    );
    let w1_after = s.webhook_by_id(&w1.id).await.unwrap().unwrap();
    assert_eq!(
        (w1_after.latest_sent_at_ms, w1_after.latest_status),
        (Some(T + 30), Some(400)),
        "the latest attempt of the batch"
    );
    let w2_after = s.webhook_by_id(&w2.id).await.unwrap().unwrap();
    assert_eq!(
        (w2_after.latest_sent_at_ms, w2_after.latest_status),
        (None, None),
        "no attempt was made"
    );

    // The retry is due at its time, with the attempt counted, and the same event id.
    assert_eq!(s.next_due_at().await.unwrap(), Some(T + 5_000));
    assert!(claim(s, T + 4_999, 10, &[], "tok2").await.is_empty());
    let again = claim(s, T + 5_000, 10, &[], "tok2").await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].id.as_str(), again[0].attempts),
        (retried.id.as_str(), 1)
    );
    assert_eq!(again[0].event_id, retried.event_id);

    // Giving a delivery back without an attempt (over a webhook's cap) counts nothing.
    s.finish_deliveries(&[finished(
        &again[0],
        FinishedState::RetryAt(T + 5_001),
        None,
        T + 5_001,
    )])
    .await
    .unwrap();
    let third = claim(s, T + 5_001, 10, &[], "tok3").await;
    assert_eq!(third[0].attempts, 1);
    let w1_after = s.webhook_by_id(&w1.id).await.unwrap().unwrap();
    assert_eq!(
        w1_after.latest_status,
        Some(400),
        "a release is not an attempt"
    );
    s.finish_deliveries(&[finished(
        &third[0],
        FinishedState::RetryAt(T + 6_000),
        Some(503),
        T + 5_002,
    )])
    .await
    .unwrap();
    let fourth = claim(s, T + 6_000, 10, &[], "tok4").await;
    assert_eq!(fourth[0].attempts, 2);
    let w1_after = s.webhook_by_id(&w1.id).await.unwrap().unwrap();
    assert_eq!(
        (w1_after.latest_sent_at_ms, w1_after.latest_status),
        (Some(T + 5_002), Some(503))
    );
    s.finish_deliveries(&[]).await.unwrap();
}

async fn finish_keeps_the_latest_attempt_per_webhook(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w = webhook(s, &b).await;
    queue(s, &a, &[&w], T).await;
    queue(s, &a, &[&w], T).await;
    let claimed = claim(s, T, 10, &[], "tok").await;
    // Two batches recorded out of order (two nodes, or two recorder batches): the
    // webhook's latest fields never go back in time.
    s.finish_deliveries(&[finished(
        &claimed[0],
        FinishedState::Succeeded,
        Some(200),
        T + 50,
    )])
    .await
    .unwrap();
    s.finish_deliveries(&[finished(
        &claimed[1],
        FinishedState::Failed,
        Some(404),
        T + 40,
    )])
    .await
    .unwrap();
    let hook = s.webhook_by_id(&w.id).await.unwrap().unwrap();
    assert_eq!(
        (hook.latest_sent_at_ms, hook.latest_status),
        (Some(T + 50), Some(200))
    );
}

async fn next_due_at_and_release_all_leases(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w = webhook(s, &b).await;
    assert_eq!(s.next_due_at().await.unwrap(), None);
    assert_eq!(s.release_all_leases(T).await.unwrap(), 0);
    queue(s, &a, &[&w], T).await;
    queue(s, &a, &[&w], T + 50).await;
    assert_eq!(s.next_due_at().await.unwrap(), Some(T));

    let first = claim(s, T, 1, &[], "old").await;
    assert_eq!(s.next_due_at().await.unwrap(), Some(T + 50));
    let second = claim(s, T + 50, 1, &[], "old").await;
    assert_eq!(
        s.next_due_at().await.unwrap(),
        Some(T + LEASE),
        "a leased delivery counts at its lease end"
    );

    assert_eq!(s.release_all_leases(T + 60).await.unwrap(), 2);
    assert_eq!(s.next_due_at().await.unwrap(), Some(T + 60));
    let again = claim(s, T + 60, 10, &[], "new").await;
    assert_eq!(again.len(), 2);
    // The released leases are dead: their holders' outcomes are ignored.
    s.finish_deliveries(&[
        finished(&first[0], FinishedState::Succeeded, Some(200), T + 61),
        finished(&second[0], FinishedState::Succeeded, Some(200), T + 61),
    ])
    .await
    .unwrap();
    assert_eq!(counts(s).await, pending(2));
    s.finish_deliveries(
        &again
            .iter()
            .map(|d| finished(d, FinishedState::Succeeded, Some(200), T + 62))
            .collect::<Vec<_>>(),
    )
    .await
    .unwrap();
    assert_eq!(s.next_due_at().await.unwrap(), None);
    assert_eq!(
        counts(s).await,
        DeliveryCounts {
            succeeded: 2,
            ..DeliveryCounts::default()
        }
    );
}

// ---------------------------------------------------------------------------------------
// Concurrency: several handles on one database, as several nodes (or a busy node) are.

async fn concurrent_claimers_never_claim_one_delivery_twice(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let hooks = [
        webhook(s, &b).await,
        webhook(s, &b).await,
        webhook(s, &b).await,
    ];
    let hook_refs: Vec<&Webhook> = hooks.iter().collect();
    let mut expected = BTreeSet::new();
    for i in 0..50 {
        let outbox = queue(s, &a, &hook_refs, T + i).await;
        expected.extend(delivery_ids(&[&outbox]));
    }
    let mut tasks = Vec::new();
    for n in 0..4 {
        let store = db.open().await;
        tasks.push(tokio::spawn(async move {
            let token = format!("claimer-{n}");
            let mut mine = Vec::new();
            loop {
                let claimed = store
                    .claim_due(T + 100, LEASE, 7, &ClaimSkip::default(), &token)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    break;
                }
                // Record outcomes while others claim, as the recorder does.
                let done: Vec<Finished> = claimed
                    .iter()
                    .map(|d| finished(d, FinishedState::Succeeded, Some(200), T + 200))
                    .collect();
                store.finish_deliveries(&done).await.unwrap();
                mine.extend(claimed.into_iter().map(|d| d.id));
            }
            store.close().await;
            mine
        }));
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_claimer = Vec::new();
    for task in tasks {
        let mine = task.await.unwrap();
        per_claimer.push(mine.len());
        for id in mine {
            *seen.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "claimed more than once: {twice:?}");
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every delivery claimed once"
    );
    assert_eq!(
        counts(s).await,
        DeliveryCounts {
            succeeded: 150,
            ..DeliveryCounts::default()
        },
        "claims per claimer: {per_claimer:?}"
    );
}

async fn concurrent_webhook_creation_never_exceeds_the_limit(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(db.open().await);
    }
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = handles[i % handles.len()].clone();
        let new = new_webhook(&a, &[EventType::Note]);
        tasks.push(tokio::spawn(
            async move { store.create_webhook(&new, 3).await },
        ));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(Some(_)) => created += 1,
            Ok(None) => {}
            Err(e) => panic!("a concurrent creation failed: {e:?}"),
        }
    }
    assert_eq!(created, 3);
    assert_eq!(s.webhooks_of_user(&a.id).await.unwrap().len(), 3);
    for h in handles {
        h.close().await;
    }
}

async fn concurrent_first_signups_make_exactly_one_admin(db: Db) {
    let s = &db.store;
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(db.open().await);
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = handles[i % handles.len()].clone();
        let new = new_user(&format!("user{i}"));
        tasks.push(tokio::spawn(async move { store.create_user(&new).await }));
    }
    let mut admins = 0;
    for task in tasks {
        let created = task.await.unwrap().expect("every sign-up succeeds");
        admins += usize::from(created.is_admin);
    }
    assert_eq!(admins, 1);
    let everyone = s.recent_users(100).await.unwrap();
    assert_eq!(everyone.len(), 8);
    assert_eq!(everyone.iter().filter(|u| u.is_admin).count(), 1);
    assert!(s.has_root_user().await.unwrap());
    for h in handles {
        h.close().await;
    }
}

/// What one of `group_commit_rolls_back_a_failing_write_alone`'s concurrent writes is.
enum GroupedWrite {
    /// A sign-up that must succeed.
    NewUser(NewUser),
    /// A sign-up under a username taken before the batch: refused.
    TakenUsername(NewUser),
    /// A sign-up under a name another write of the batch also takes: one of the two wins.
    Twin(NewUser),
    /// A note with one delivery: must succeed.
    Note(Note, Outbox),
    /// A note whose outbox reuses a delivery id: the note and its counter are written
    /// before the deliveries' INSERT fails, and all of it must be rolled back.
    NoteWithCollidingDelivery(Note, Outbox),
}

async fn group_commit_rolls_back_a_failing_write_alone(db: Db) {
    const WRITES: usize = 50;
    let s = &db.store;
    let admin = user(s, "admin").await;
    let taken = user(s, "Taken").await;
    let hook = webhook(s, &admin).await;
    let earlier = queue(s, &admin, &[&hook], T).await;
    let before = s.group_commit_stats();

    let writes: Vec<GroupedWrite> = (0..WRITES)
        .map(|i| match i % 5 {
            0 if i < 10 => GroupedWrite::Twin(new_user(if i == 0 { "twin" } else { "TWIN" })),
            0 => GroupedWrite::TakenUsername(new_user(if i % 2 == 0 { "taken" } else { "TAKEN" })),
            1 => {
                let mut outbox = outbox_for(&[&hook, &hook], "note", T);
                outbox.deliveries[1].id = earlier.deliveries[0].id.clone();
                GroupedWrite::NoteWithCollidingDelivery(note_by(&admin), outbox)
            }
            2 => GroupedWrite::Note(note_by(&admin), outbox_for(&[&hook], "note", T)),
            _ => GroupedWrite::NewUser(new_user(&format!("user{i}"))),
        })
        .collect();

    // On SQLite, another connection holds the write lock while the writes are launched,
    // so that they queue up behind the writer's first and share its next transaction:
    // the test then covers a batch for sure, not only writes that each ran alone.
    let lock = match db.dialect() {
        Dialect::Sqlite => {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            conn.execute("BEGIN IMMEDIATE").await.unwrap();
            Some(conn)
        }
        Dialect::Postgres => None,
    };
    let mut tasks = Vec::new();
    for write in &writes {
        let store = s.clone();
        tasks.push(match write {
            GroupedWrite::NewUser(new)
            | GroupedWrite::TakenUsername(new)
            | GroupedWrite::Twin(new) => {
                let new = new.clone();
                tokio::spawn(async move { store.create_user(&new).await.map(|_| ()) })
            }
            GroupedWrite::Note(note, outbox)
            | GroupedWrite::NoteWithCollidingDelivery(note, outbox) => {
                let (note, outbox) = (note.clone(), outbox.clone());
                tokio::spawn(async move { store.create_note(&note, outbox).await })
            }
        });
    }
    if let Some(mut conn) = lock {
        use sqlx::{Connection, Executor};
        // Time for every task to queue its write; the writer waits for the lock meanwhile.
        tokio::time::sleep(Duration::from_millis(300)).await;
        conn.execute("COMMIT").await.unwrap();
        conn.close().await.unwrap();
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }

    let mut users_made = vec![admin.id.clone(), taken.id.clone()];
    let mut notes_made = 1;
    let mut twins_made = 0;
    for (write, outcome) in writes.iter().zip(outcomes) {
        match write {
            GroupedWrite::NewUser(new) => {
                outcome.expect("a sign-up under a free name succeeds");
                let made = s
                    .user_by_id(&new.id)
                    .await
                    .unwrap()
                    .expect("its row exists");
                assert_eq!(made.username, new.username);
                assert!(!made.is_admin, "{} is not the first account", new.username);
                assert_eq!(
                    s.user_by_token_hash(&new.token_hash)
                        .await
                        .unwrap()
                        .map(|(u, _)| u),
                    Some(made)
                );
                users_made.push(new.id.clone());
            }
            GroupedWrite::TakenUsername(new) => {
                let err = outcome.expect_err("the username is taken");
                assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
                assert_eq!(s.user_by_id(&new.id).await.unwrap(), None);
                assert_eq!(s.user_by_token_hash(&new.token_hash).await.unwrap(), None);
            }
            GroupedWrite::Twin(new) => match outcome {
                Ok(()) => {
                    twins_made += 1;
                    assert!(s.user_by_id(&new.id).await.unwrap().is_some());
                    users_made.push(new.id.clone());
                }
                Err(err) => {
                    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
                    assert_eq!(s.user_by_id(&new.id).await.unwrap(), None);
                    assert_eq!(s.user_by_token_hash(&new.token_hash).await.unwrap(), None);
                }
            },
            GroupedWrite::Note(note, _) => {
                outcome.expect("a note with fresh deliveries is written");
                assert_eq!(s.note_by_id(&note.id).await.unwrap().as_ref(), Some(note));
                notes_made += 1;
            }
            GroupedWrite::NoteWithCollidingDelivery(note, _) => {
                let err = outcome.expect_err("the delivery id is taken");
                assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
                assert_eq!(
                    s.note_by_id(&note.id).await.unwrap(),
                    None,
                    "the note written before the outbox failed is rolled back"
                );
            }
        }
    }
    assert_eq!(twins_made, 1, "exactly one of the twins takes the name");
    // Nothing else was written: no user of a refused sign-up, no note, counter or
    // delivery of a refused note, and the first account is still the only administrator.
    let everyone = s.recent_users(1000).await.unwrap();
    assert_eq!(user_ids(&everyone), sorted(users_made));
    assert_eq!(everyone.iter().filter(|u| u.is_admin).count(), 1);
    assert_eq!(
        reload_user(s, &admin).await,
        User {
            notes_count: notes_made,
            ..admin.clone()
        }
    );
    assert_eq!(s.user_by_username("taken").await.unwrap(), Some(taken));
    assert_eq!(counts(s).await, pending(notes_made));

    if let (Some(before), Some(after)) = (before, s.group_commit_stats()) {
        let transactions = after.transactions - before.transactions;
        let writes = after.writes - before.writes;
        assert_eq!(
            writes, WRITES as u64,
            "each write was committed or rolled back once"
        );
        assert!(
            transactions < writes,
            "the writes shared transactions: {transactions} for {writes} writes"
        );
    }
}

async fn concurrent_mutual_follows_never_deadlock(db: Db) {
    let s = &db.store;
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(user(s, &format!("u{i}")).await);
    }
    let handles = [db.open().await, db.open().await];
    for create in [true, false] {
        let mut tasks = Vec::new();
        for pair in users.chunks(2) {
            for (i, (from, to)) in [(&pair[0], &pair[1]), (&pair[1], &pair[0])]
                .into_iter()
                .enumerate()
            {
                let store = handles[i].clone();
                let (from, to) = (from.id.clone(), to.id.clone());
                tasks.push(tokio::spawn(async move {
                    if create {
                        store.create_follow(&from, &to, T, Outbox::default()).await
                    } else {
                        store.delete_follow(&from, &to, Outbox::default()).await
                    }
                }));
            }
        }
        for task in tasks {
            assert!(task.await.unwrap().expect("no deadlock, no error"));
        }
        let expected = i64::from(create);
        for u in &users {
            let u = reload_user(s, u).await;
            assert_eq!((u.following_count, u.followers_count), (expected, expected));
        }
    }
    for h in handles {
        h.close().await;
    }
}

// ---------------------------------------------------------------------------------------
// Wake-ups and outages

async fn listener_wakes_on_committed_deliveries_only(db: Db) {
    let s = &db.store;
    let Some(mut listener) = s.deliveries_listener() else {
        assert_eq!(
            db.dialect(),
            Dialect::Sqlite,
            "PostgreSQL always has a listener"
        );
        return;
    };
    // The first wait returns once the listener is connected.
    tokio::time::timeout(Duration::from_secs(10), listener.wait())
        .await
        .expect("the listener connects");
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w = webhook(s, &b).await;
    let other = db.open().await;
    let quiet = Duration::from_millis(300);

    // Actions without deliveries, and actions that roll back, wake nobody.
    other
        .create_note(&note_by(&a), Outbox::default())
        .await
        .unwrap();
    let mut bad = outbox_for(&[&w], "note", T);
    bad.deliveries.push(bad.deliveries[0].clone());
    assert!(other.create_note(&note_by(&a), bad.clone()).await.is_err());
    assert!(
        tokio::time::timeout(quiet, listener.wait()).await.is_err(),
        "woken without a delivery"
    );

    // A note, a follow and an unfollow with deliveries each wake the listener.
    queue(&other, &a, &[&w], T).await;
    tokio::time::timeout(Duration::from_secs(5), listener.wait())
        .await
        .expect("woken by a committed note");
    other
        .create_follow(&a.id, &b.id, T, outbox_for(&[&w], "followed", T))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), listener.wait())
        .await
        .expect("woken by a committed follow");
    other
        .delete_follow(&a.id, &b.id, outbox_for(&[&w], "unfollow", T))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), listener.wait())
        .await
        .expect("woken by a committed unfollow");

    // The listening connection is cut: the listener reconnects by itself (and wakes, as
    // notifications may have been missed meanwhile), then hears new deliveries again.
    let killed = sqlx_terminate(&db.url, "LISTEN%").await;
    assert!(killed >= 1, "the listening session was found");
    tokio::time::timeout(Duration::from_secs(10), listener.wait())
        .await
        .expect("reconnected");
    queue(&other, &a, &[&w], T).await;
    tokio::time::timeout(Duration::from_secs(5), listener.wait())
        .await
        .expect("woken after reconnecting");
    other.close().await;
}

async fn commits_with_deliveries_wake_this_process(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let w = webhook(s, &b).await;
    // A wake-up that nobody waited for is kept for the next wait, so a wait that does not
    // end at once means that nothing woke the workers.
    let woken = || async {
        tokio::time::timeout(
            Duration::from_millis(50),
            s.deliveries_committed().notified(),
        )
        .await
        .is_ok()
    };

    // Actions without deliveries, and actions that roll back, wake nobody.
    create_note(s, &note_by(&a)).await;
    let mut bad = outbox_for(&[&w], "note", T);
    bad.deliveries.push(bad.deliveries[0].clone());
    assert!(s.create_note(&note_by(&a), bad.clone()).await.is_err());
    let already = outbox_for(&[&w], "followed", T);
    assert!(
        s.create_follow(&a.id, &b.id, T, Outbox::default())
            .await
            .unwrap()
    );
    assert!(
        !s.create_follow(&a.id, &b.id, T, already.clone())
            .await
            .unwrap()
    );
    assert!(!woken().await, "woken without a committed delivery");

    // A note, an unfollow and a follow with deliveries each wake them, and so does a
    // commit through a clone of the store.
    queue(s, &a, &[&w], T).await;
    assert!(woken().await, "woken by a committed note");
    let unfollow = outbox_for(&[&w], "unfollow", T);
    assert!(
        s.delete_follow(&a.id, &b.id, unfollow.clone())
            .await
            .unwrap()
    );
    assert!(woken().await, "woken by a committed unfollow");
    let follow = outbox_for(&[&w], "followed", T);
    assert!(
        s.clone()
            .create_follow(&a.id, &b.id, T, follow.clone())
            .await
            .unwrap()
    );
    assert!(woken().await, "woken by a commit through a clone");
}

async fn lost_connections_are_reported_as_unavailable(db: Db) {
    if db.dialect() != Dialect::Postgres {
        return;
    }
    let s = db.store.clone();
    let a = user(&s, "a").await;
    let b = user(&s, "b").await;
    let w = webhook(&s, &b).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let url = db.url.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut killed = 0;
            while !stop.load(Ordering::Relaxed) {
                killed += sqlx_terminate(&url, "%").await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            killed
        })
    };
    let mut ok = 0;
    let mut unavailable = 0;
    for i in 0..150 {
        let result = if i % 2 == 0 {
            s.create_note(&note_by(&a), outbox_for(&[&w], "note", T))
                .await
        } else {
            s.user_by_id(&a.id).await.map(|_| ())
        };
        match result {
            Ok(()) => ok += 1,
            Err(StoreError::Unavailable(_)) => unavailable += 1,
            Err(e) => panic!("a lost connection must read as unavailable, got {e:?}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let killed = killer.await.unwrap();
    assert!(killed > 0, "connections were cut");
    eprintln!("{ok} calls succeeded, {unavailable} were unavailable, {killed} sessions cut");
    // Once the cuts stop, the store works again by itself.
    let note = note_by(&a);
    s.create_note(&note, Outbox::default()).await.unwrap();
    assert_eq!(reload_note(&s, &note).await, note);

    // A database that cannot be reached at all is unavailable too (not a generic error).
    let err = Store::connect("postgres://postgres@127.0.0.1:1/nothing")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

/// Terminates the sessions on `url`'s database whose last query is like `query_like`,
/// from a separate connection; returns how many were terminated.
async fn sqlx_terminate(url: &str, query_like: &str) -> usize {
    use sqlx::{Connection, Row};
    let name = url.split('?').next().unwrap().rsplit('/').next().unwrap();
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return 0;
    };
    let rows = sqlx::query(
        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid() AND query LIKE $2",
    )
    .bind(name)
    .bind(query_like)
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    let _ = conn.close().await;
    rows.iter()
        .filter(|r| r.try_get::<bool, _>("killed").unwrap_or(false))
        .count()
}

// ---------------------------------------------------------------------------------------
// Migrations

/// Three nodes starting at the same moment on a fresh database all migrate it safely
/// (sqlx holds a PostgreSQL advisory lock while migrating).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_are_safe_when_nodes_start_together() {
    let Some(base) = postgres_base() else { return };
    let url = scratch_postgres_url(&base).await.unwrap();
    let outcome = tokio::spawn({
        let url = url.clone();
        async move {
            let starts: Vec<_> = (0..3)
                .map(|_| {
                    let url = url.clone();
                    tokio::spawn(async move { Store::connect(&url).await })
                })
                .collect();
            let mut stores = Vec::new();
            for start in starts {
                stores.push(start.await.unwrap().expect("every node starts"));
            }
            use sqlx::{Connection, Row};
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let row = sqlx::query(
                "SELECT COUNT(*) AS n, COUNT(DISTINCT version) AS versions FROM _sqlx_migrations WHERE success",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
                .unwrap()
                .count() as i64;
            assert_eq!(
                (row.get::<i64, _>("n"), row.get::<i64, _>("versions")),
                (migrations, migrations),
                "each migration was applied once"
            );
            conn.close().await.unwrap();
            // Every node works on the migrated schema.
            for (i, store) in stores.iter().enumerate() {
                user(store, &format!("node{i}")).await;
            }
            assert_eq!(stores[0].recent_users(10).await.unwrap().len(), 3);
            for store in stores {
                store.close().await;
            }
        }
    })
    .await;
    drop_scratch_postgres(&base, &url).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Lookups of many ids run in several statements, so that no list, however long, meets
/// SQLite's 32,766 or PostgreSQL's 65,535 bound parameters; the answers are the same as
/// one statement would give.
async fn lookups_of_more_ids_than_one_statement_binds(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let c = user(s, "c").await;
    let hook_a = webhook(s, &a).await;
    let hook_c = webhook(s, &c).await;
    let none = Outbox::default();
    assert!(
        s.create_follow(&a.id, &b.id, T, none.clone())
            .await
            .unwrap()
    );
    assert!(
        s.create_follow(&a.id, &c.id, T, none.clone())
            .await
            .unwrap()
    );
    let mut notes = Vec::new();
    for author in [&a, &b, &c, &a, &c] {
        let note = note_by(author);
        create_note(s, &note).await;
        notes.push(note.id);
    }
    // 70,000 ids, with the real ones first, in the middle and last: in different chunks.
    let with = |real: &[&str]| -> Vec<String> {
        let mut ids: Vec<String> = (0..70_000).map(|i| format!("missing{i}")).collect();
        for (slot, id) in [0, 35_000, 69_999].into_iter().zip(real) {
            ids[slot] = (*id).to_owned();
        }
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    let users = s.users_by_ids(&with(&[&a.id, &b.id, &c.id])).await.unwrap();
    assert_eq!(
        sorted(users.into_iter().map(|u| u.id).collect()),
        sorted(vec![a.id.clone(), b.id.clone(), c.id.clone()])
    );
    let found = s
        .notes_by_ids(&with(&[&notes[0], &notes[2], &notes[4]]))
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    let followed = s
        .followed_among(&a.id, &with(&[&b.id, &c.id, &a.id]))
        .await
        .unwrap();
    assert_eq!(followed, HashSet::from([b.id.clone(), c.id.clone()]));
    let hooks = s
        .active_webhooks_of(&with(&[&a.id, &b.id, &c.id]))
        .await
        .unwrap();
    assert_eq!(
        sorted(hooks.into_iter().map(|h| h.id).collect()),
        sorted(vec![hook_a.id.clone(), hook_c.id.clone()])
    );
    // The newest of all authors across the chunks, in order, cut at the limit.
    let authors = with(&[&a.id, &b.id, &c.id]);
    let newest: Vec<String> = s
        .notes_by_authors(&authors, None, 3)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        newest,
        vec![notes[4].clone(), notes[3].clone(), notes[2].clone()]
    );
    let older: Vec<String> = s
        .notes_by_authors(&authors, Some(&notes[2]), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(older, vec![notes[1].clone(), notes[0].clone()]);
}

// ---------------------------------------------------------------------------------------
// Endpoint health and secret rotation

/// Claims `hook`'s due deliveries at `at` and records each as `state` with `status`.
async fn end_all(s: &Store, hook: &Webhook, at: i64, state: FinishedState, status: i64) {
    let claimed: Vec<ClaimedDelivery> = claim(s, at, 100, &[], &next_id())
        .await
        .into_iter()
        .filter(|d| d.webhook_id == hook.id)
        .collect();
    assert!(!claimed.is_empty(), "nothing due for {} at {at}", hook.id);
    let done: Vec<Finished> = claimed
        .iter()
        .map(|d| finished(d, state, Some(status), at))
        .collect();
    s.finish_deliveries(&done).await.unwrap();
}

async fn reload_webhook(s: &Store, hook: &Webhook) -> Webhook {
    s.webhook_by_id(&hook.id).await.unwrap().unwrap()
}

async fn health_failures_switch_off_once_they_span_the_window(db: Db) {
    let s = &db.store.clone().with_health_policy(HealthPolicy {
        disable_after_failures: 3,
        disable_after_ms: 1000,
    });
    let a = user(s, "a").await;
    let w = webhook(s, &a).await;
    let other = webhook(s, &a).await;

    // Two failures, then a success: the run starts over.
    queue(s, &a, &[&w], T).await;
    end_all(s, &w, T, FinishedState::Failed, 500).await;
    queue(s, &a, &[&w], T + 10).await;
    end_all(s, &w, T + 10, FinishedState::Failed, 1).await;
    assert_eq!(reload_webhook(s, &w).await.consecutive_failures, 2);
    // Retries and cancellations are no ended delivery: they change nothing.
    queue(s, &a, &[&w], T + 20).await;
    end_all(s, &w, T + 20, FinishedState::RetryAt(T + 50), 503).await;
    assert_eq!(reload_webhook(s, &w).await.consecutive_failures, 2);
    end_all(s, &w, T + 50, FinishedState::Succeeded, 200).await;
    assert_eq!(reload_webhook(s, &w).await.consecutive_failures, 0);

    // Three failures within the window: counted, not switched off.
    for at in [T + 100, T + 200, T + 300] {
        queue(s, &a, &[&w], at).await;
        end_all(s, &w, at, FinishedState::Failed, 500).await;
    }
    let still = reload_webhook(s, &w).await;
    assert_eq!((still.active, still.consecutive_failures), (true, 3));
    assert_eq!(still.disabled_reason, None);

    // A pending delivery (and another webhook's) when the run reaches the window.
    queue(s, &a, &[&w, &other], T + 5000).await;
    queue(s, &a, &[&w], T + 1100).await;
    end_all(s, &w, T + 1100, FinishedState::Failed, 404).await;
    let off = reload_webhook(s, &w).await;
    assert!(!off.active);
    assert_eq!(off.consecutive_failures, 4);
    assert_eq!(off.disabled_reason.as_deref(), Some("failing"));
    assert_eq!(off.disabled_at_ms, Some(T + 1100));
    let claimed = claim(s, T + 5000, 10, &[], "late").await;
    assert_eq!(
        claimed
            .iter()
            .map(|d| d.webhook_id.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&other.id),
        "switching off cancelled the pending delivery"
    );
    assert!(reload_webhook(s, &other).await.active);
}

async fn health_gone_switches_off_at_once_and_switching_on_clears(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let w = webhook(s, &a).await;
    queue(s, &a, &[&w], T).await;
    queue(s, &a, &[&w], T + 100).await;
    end_all(s, &w, T, FinishedState::Failed, 410).await;
    let gone = reload_webhook(s, &w).await;
    assert!(!gone.active);
    assert_eq!(gone.disabled_reason.as_deref(), Some("gone"));
    assert_eq!(gone.disabled_at_ms, Some(T));
    assert_eq!(gone.consecutive_failures, 1);
    assert!(claim(s, T + 100, 10, &[], "t").await.is_empty());

    // Switching off by hand keeps the reason; switching on clears it and the count.
    let off = WebhookPatch {
        active: Some(false),
        ..WebhookPatch::default()
    };
    let still = s
        .update_webhook(&w.id, None, &off, T + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.disabled_reason.as_deref(), Some("gone"));
    let on = WebhookPatch {
        active: Some(true),
        ..WebhookPatch::default()
    };
    let back = s
        .update_webhook(&w.id, Some(&a.id), &on, T + 2)
        .await
        .unwrap()
        .unwrap();
    assert!(back.active);
    assert_eq!(back.disabled_reason, None);
    assert_eq!(back.disabled_at_ms, None);
    assert_eq!(back.consecutive_failures, 0);
    // The run starts from nothing: one failure is one.
    queue(s, &a, &[&w], T + 200).await;
    end_all(s, &w, T + 200, FinishedState::Failed, 500).await;
    let after = reload_webhook(s, &w).await;
    assert_eq!((after.active, after.consecutive_failures), (true, 1));
}

/// The secrets a delivery of `w` queued and claimed at `at` is signed with.
async fn secrets_at(s: &Store, a: &User, w: &Webhook, at: i64) -> (String, Option<String>) {
    queue(s, a, &[w], at).await;
    let claimed = claim(s, at, 10, &[], &next_id()).await;
    assert_eq!(claimed.len(), 1);
    let done = finished(&claimed[0], FinishedState::Succeeded, Some(200), at);
    s.finish_deliveries(&[done]).await.unwrap();
    let target = claimed[0].target.clone().unwrap();
    (target.secret, target.previous_secret)
}

async fn secret_rotation_keeps_the_previous_secret_until_its_deadline(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let w = webhook(s, &a).await;
    let old = w.secret.clone();
    let rotate = |secret: &str, until: Option<i64>| WebhookPatch {
        secret: Some(secret.to_owned()),
        previous_secret_until: until,
        ..WebhookPatch::default()
    };
    assert_eq!(secrets_at(s, &a, &w, T).await, (old.clone(), None));

    s.update_webhook(&w.id, Some(&a.id), &rotate("new", Some(T + 1000)), T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        secrets_at(s, &a, &w, T + 10).await,
        ("new".to_owned(), Some(old.clone()))
    );
    // The same secret again is no rotation: the previous one and its deadline stay.
    s.update_webhook(&w.id, Some(&a.id), &rotate("new", Some(T + 5000)), T + 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        secrets_at(s, &a, &w, T + 999).await,
        ("new".to_owned(), Some(old.clone()))
    );
    assert_eq!(
        secrets_at(s, &a, &w, T + 1000).await,
        ("new".to_owned(), None)
    );

    // A rotation without a grace period drops the previous secret at once, and an
    // empty previous secret (there was none) is never offered.
    s.update_webhook(&w.id, Some(&a.id), &rotate("", Some(T + 9000)), T + 2000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        secrets_at(s, &a, &w, T + 2001).await,
        (String::new(), Some("new".to_owned()))
    );
    s.update_webhook(
        &w.id,
        Some(&a.id),
        &rotate("newer", Some(T + 9000)),
        T + 2002,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        secrets_at(s, &a, &w, T + 2003).await,
        ("newer".to_owned(), None)
    );
    s.update_webhook(&w.id, Some(&a.id), &rotate("newest", None), T + 2004)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        secrets_at(s, &a, &w, T + 2005).await,
        ("newest".to_owned(), None)
    );
}

// ---------------------------------------------------------------------------------------
// The delivery log

/// `finished` with an attempt for the log.
fn logged(d: &ClaimedDelivery, state: FinishedState, status: Option<i64>, at: i64) -> Finished {
    Finished {
        log: Some(AttemptLog {
            attempt: d.attempts + 1,
            started_at_ms: at - 7,
            duration_ms: 7,
            status,
            error: status.is_none().then(|| "refused".to_owned()),
            response_head: status.map(|s| format!("answer {s}")),
            next_retry_at_ms: match state {
                FinishedState::RetryAt(due) => Some(due),
                _ => None,
            },
        }),
        ..finished(d, state, Some(status.unwrap_or(1)), at)
    }
}

fn filter(hook: &Webhook) -> DeliveryFilter {
    DeliveryFilter {
        webhook_id: hook.id.clone(),
        limit: 100,
        ..DeliveryFilter::default()
    }
}

async fn delivery_log_records_attempts_with_their_outcomes(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let hook = webhook(s, &a).await;
    // More outcomes than one multi-row statement holds.
    let mut outboxes = Vec::new();
    for _ in 0..40 {
        outboxes.push(queue(s, &a, &[&hook], T).await);
    }
    let claimed = claim(s, T, 100, &[], "tok").await;
    assert_eq!(claimed.len(), 40);
    let retry_at = T + 5_000;
    let batch: Vec<Finished> = claimed
        .iter()
        .map(|d| logged(d, FinishedState::RetryAt(retry_at), None, T + 10))
        .collect();
    s.finish_deliveries(&batch).await.unwrap();
    let again = claim(s, retry_at, 100, &[], "tok2").await;
    assert_eq!(again.len(), 40);
    let batch: Vec<Finished> = again
        .iter()
        .map(|d| logged(d, FinishedState::Succeeded, Some(204), retry_at + 10))
        .collect();
    s.finish_deliveries(&batch).await.unwrap();
    // Written twice (a batch retried after a failed commit): logged once.
    s.finish_deliveries(&batch).await.unwrap();
    let first = &outboxes[0].deliveries[0];
    let detail = s.delivery_detail(&first.id).await.unwrap().unwrap();
    assert_eq!(detail.delivery.state, DeliveryState::Succeeded);
    assert_eq!(detail.delivery.attempts, 2);
    assert_eq!(detail.delivery.last_status, Some(204));
    assert_eq!(detail.delivery.event_id, first.event_id);
    assert_eq!(
        detail.body.as_deref(),
        Some(outboxes[0].payloads[0].body.as_str())
    );
    assert_eq!(
        detail.attempts,
        [
            AttemptLog {
                attempt: 1,
                started_at_ms: T + 3,
                duration_ms: 7,
                status: None,
                error: Some("refused".into()),
                response_head: None,
                next_retry_at_ms: Some(retry_at),
            },
            AttemptLog {
                attempt: 2,
                started_at_ms: retry_at + 3,
                duration_ms: 7,
                status: Some(204),
                error: None,
                response_head: Some("answer 204".into()),
                next_retry_at_ms: None,
            },
        ]
    );
    assert_eq!(s.delivery_detail("nope").await.unwrap(), None);
}

async fn delivery_log_lists_newest_first_with_filters_and_paging(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let hook = webhook(s, &a).await;
    let other = webhook(s, &a).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            queue(s, &a, &[&hook, &other], T).await.deliveries[0]
                .id
                .clone(),
        );
    }
    let claimed = claim(s, T, 100, std::slice::from_ref(&other.id), "tok").await;
    let failed = claimed.iter().find(|d| d.id == ids[1]).unwrap();
    // A 400 (a 410 would switch the webhook off and cancel the rest).
    s.finish_deliveries(&[logged(failed, FinishedState::Failed, Some(400), T + 1)])
        .await
        .unwrap();
    let listed = |f: DeliveryFilter| async move {
        s.deliveries_of_webhook(&f)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect::<Vec<_>>()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed(filter(&hook)).await, newest_first);
    let page = DeliveryFilter {
        limit: 2,
        until_id: Some(ids[3].clone()),
        ..filter(&hook)
    };
    assert_eq!(listed(page).await, [ids[2].clone(), ids[1].clone()]);
    let since = DeliveryFilter {
        since_id: Some(ids[2].clone()),
        ..filter(&hook)
    };
    assert_eq!(listed(since).await, [ids[4].clone(), ids[3].clone()]);
    let failed_only = DeliveryFilter {
        state: Some(DeliveryState::Failed),
        ..filter(&hook)
    };
    assert_eq!(listed(failed_only).await, [ids[1].clone()]);
    let pending = DeliveryFilter {
        state: Some(DeliveryState::Pending),
        ..filter(&hook)
    };
    assert_eq!(listed(pending).await.len(), 4);
    let follows = DeliveryFilter {
        event_type: Some("follow".into()),
        ..filter(&hook)
    };
    assert!(listed(follows).await.is_empty());
    let summary = &s.deliveries_of_webhook(&filter(&hook)).await.unwrap()[0];
    assert_eq!(summary.state, DeliveryState::Pending);
    assert!(summary.next_attempt_at.is_some());
}

async fn delivery_log_redelivery_keeps_the_event_and_is_idempotent(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let hook = webhook(s, &a).await;
    let outboxes = [
        queue(s, &a, &[&hook], T).await,
        queue(s, &a, &[&hook], T + 100).await,
        queue(s, &a, &[&hook], T + 200).await,
    ];
    let claimed = claim(s, T + 200, 100, &[], "tok").await;
    let batch: Vec<Finished> = claimed
        .iter()
        .map(|d| logged(d, FinishedState::Failed, Some(500), T + 300))
        .collect();
    s.finish_deliveries(&batch).await.unwrap();
    let original = &outboxes[0].deliveries[0];
    let n = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let new_id = move || {
        let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        format!("{}-re{n}", next_id())
    };
    let one = RedeliverySet::One {
        delivery_id: original.id.clone(),
    };
    // Take the wake-up the queued notes left, to see the redelivery's own.
    let _ = tokio::time::timeout(
        Duration::from_millis(1),
        s.deliveries_committed().notified(),
    )
    .await;
    let queued = s.redeliver(&hook.id, &one, new_id.clone()).await.unwrap();
    assert_eq!(queued.len(), 1);
    tokio::time::timeout(Duration::from_secs(1), s.deliveries_committed().notified())
        .await
        .expect("a redelivery wakes the workers");
    assert_eq!(
        s.redeliver(&hook.id, &one, new_id.clone()).await.unwrap(),
        Vec::<String>::new(),
        "already pending"
    );
    let again = claim(s, T + 400, 100, &[], "tok2").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, queued[0]);
    assert_eq!(again[0].event_id, original.event_id);
    assert_eq!(again[0].attempts, 0, "a new attempt series");
    assert_eq!(&*again[0].body, outboxes[0].payloads[0].body);
    // The failed set since T + 100, at most one per call: the oldest first.
    let set = RedeliverySet::FailedSince {
        since_ms: T + 100,
        limit: 1,
    };
    let first = s.redeliver(&hook.id, &set, new_id.clone()).await.unwrap();
    let second = s.redeliver(&hook.id, &set, new_id.clone()).await.unwrap();
    let third = s.redeliver(&hook.id, &set, new_id.clone()).await.unwrap();
    let event_of = |id: String| async move {
        s.delivery_detail(&id)
            .await
            .unwrap()
            .unwrap()
            .delivery
            .event_id
    };
    assert_eq!(
        event_of(first[0].clone()).await,
        outboxes[1].deliveries[0].event_id
    );
    assert_eq!(
        event_of(second[0].clone()).await,
        outboxes[2].deliveries[0].event_id
    );
    assert!(third.is_empty(), "every failed one is pending again");
    assert!(
        s.redeliver("gone", &one, new_id.clone())
            .await
            .unwrap()
            .is_empty(),
        "not through another webhook"
    );
}

async fn delivery_log_pruning_keeps_the_newest_and_payloads_in_use(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let hook = webhook(s, &a).await;
    let other = webhook(s, &a).await;
    let mut outboxes = Vec::new();
    for i in 0..6 {
        outboxes.push(queue(s, &a, &[&hook, &other], T + i).await);
    }
    let claimed = claim(s, T + 10, 100, std::slice::from_ref(&other.id), "tok").await;
    let batch: Vec<Finished> = claimed
        .iter()
        .map(|d| {
            logged(
                d,
                FinishedState::Succeeded,
                Some(200),
                T + 20 + d.created_at - T,
            )
        })
        .collect();
    s.finish_deliveries(&batch).await.unwrap();
    // Nothing is old, and every webhook is under the cap.
    let none = s
        .prune_delivery_log("0", "0", 10, &[hook.id.clone(), other.id.clone()], 100)
        .await
        .unwrap();
    assert_eq!(none.deliveries, 0);
    // The cap keeps the newest 4 of `hook`, in batches of 1.
    let pruned = s
        .prune_delivery_log("0", "0", 4, std::slice::from_ref(&hook.id), 1)
        .await
        .unwrap();
    assert_eq!(pruned.deliveries, 1);
    s.prune_delivery_log("0", "0", 4, std::slice::from_ref(&hook.id), 1)
        .await
        .unwrap();
    let left: Vec<String> = s
        .deliveries_of_webhook(&filter(&hook))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    let newest: Vec<String> = outboxes[2..]
        .iter()
        .rev()
        .map(|o| o.deliveries[0].id.clone())
        .collect();
    assert_eq!(left, newest);
    let gone = s
        .delivery_detail(&outboxes[0].deliveries[0].id)
        .await
        .unwrap();
    assert_eq!(gone, None, "its attempts went with it");
    // The pending deliveries of `other` still use the payloads.
    let kept = s
        .delivery_detail(&outboxes[0].deliveries[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.body.as_deref(),
        Some(outboxes[0].payloads[0].body.as_str())
    );
    assert_eq!(pruned.payloads, 0);
    // By age (ids begin with their time): those created before the fifth event (the
    // two next oldest), never a pending one, nor a payload a pending one uses.
    let fifth = outboxes[4].payloads[0].id.clone();
    let aged = s
        .prune_delivery_log(&fifth, &fifth, 100, &[], 100)
        .await
        .unwrap();
    assert_eq!(aged.deliveries, 2);
    assert_eq!(aged.payloads, 0);
    assert_eq!(counts(s).await.pending, 6, "pending ones stay");
    assert_eq!(
        s.deliveries_of_webhook(&filter(&hook)).await.unwrap().len(),
        2
    );
    // Once `other`'s deliveries are gone too, so are their payloads.
    let rest = claim(s, T + 30, 100, &[], "tok3").await;
    let batch: Vec<Finished> = rest
        .iter()
        .map(|d| logged(d, FinishedState::Failed, Some(400), T + 40))
        .collect();
    s.finish_deliveries(&batch).await.unwrap();
    let all = s
        .prune_delivery_log("zzzzzzzzzzzzzzzzz", "zzzzzzzzzzzzzzzzz", 100, &[], 100)
        .await
        .unwrap();
    assert_eq!(all.deliveries, 8);
    assert_eq!(all.payloads, 6);
    assert_eq!(counts(s).await, DeliveryCounts::default());
}

// ---------------------------------------------------------------------------------------
// The hand-off

/// An intake that admits every host but `refused`, and counts the places given back.
#[derive(Default)]
struct TestIntake {
    refused: String,
    admitted: AtomicUsize,
    given_back: AtomicUsize,
}

impl Intake for TestIntake {
    fn admit(&self, host: &str) -> bool {
        if host == self.refused {
            return false;
        }
        self.admitted.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn give_back(&self, places: usize) {
        self.given_back.fetch_add(places, Ordering::Relaxed);
    }
}

async fn handoff_leases_what_the_intake_admits_and_hands_it_over_after_the_commit(db: Db) {
    let s = &db.store;
    let a = user(s, "a").await;
    let b = user(s, "b").await;
    let taken = webhook_at(s, &b, "https://taken.example/hook").await;
    let refused = webhook_at(s, &b, "https://refused.example/hook").await;
    let off = webhook_at(s, &b, "https://taken.example/off").await;
    let patch = WebhookPatch {
        active: Some(false),
        ..WebhookPatch::default()
    };
    s.update_webhook(&off.id, Some(&b.id), &patch, T)
        .await
        .unwrap()
        .unwrap();
    let intake = Arc::new(TestIntake {
        refused: host_key(&refused.url),
        ..TestIntake::default()
    });
    let mut handed = s.hand_off_to("node-h".into(), LEASE, intake.clone());

    let outbox = queue(s, &a, &[&taken, &refused, &off], T).await;
    let batch = handed.try_recv().expect("handed over once committed");
    assert_eq!(
        batch.len(),
        1,
        "only the admitted, switched-on webhook's delivery"
    );
    let d = &batch[0];
    let written = outbox
        .deliveries
        .iter()
        .find(|n| n.webhook_id == taken.id)
        .unwrap();
    assert_eq!(
        (
            &d.id,
            &d.event_id,
            d.created_at,
            d.attempts,
            d.lease_token.as_str()
        ),
        (&written.id, &written.event_id, T, 0, "node-h")
    );
    assert_eq!(d.target, Some(target_of(&taken)));
    assert_eq!(&*d.body, outbox.payloads[0].body.as_str());
    assert!(handed.try_recv().is_err(), "one batch per write");

    // The claims find only what was left to the queue, until the lease ends.
    let claimed = claim(s, T, 10, &[], "node-c").await;
    let left: BTreeSet<String> = outbox
        .deliveries
        .iter()
        .filter(|n| n.webhook_id != taken.id)
        .map(|n| n.id.clone())
        .collect();
    assert_eq!(ids(&claimed), left);
    assert!(claim(s, T + LEASE - 1, 10, &[], "node-c").await.is_empty());
    // The lease holder records the outcome as after a claim.
    s.finish_deliveries(&[finished(d, FinishedState::Succeeded, Some(200), T + 5)])
        .await
        .unwrap();
    let after_the_lease = claim(s, T + LEASE, 10, &[], "node-c").await;
    assert!(
        !ids(&after_the_lease).contains(&d.id),
        "delivered, so never claimed"
    );
    assert_eq!(counts(s).await.succeeded, 1);

    // Nothing is handed over, and every place is given back, if the write fails: here a
    // delivery id already taken makes the insert fail after the lease was decided.
    let mut failing = outbox_for(&[&taken, &taken], "note", T + 10);
    failing.deliveries[1].id = written.id.clone();
    assert!(s.create_note(&note_by(&a), failing).await.is_err());
    assert!(
        handed.try_recv().is_err(),
        "nothing of a failed write is handed over"
    );
    assert_eq!(intake.admitted.load(Ordering::Relaxed), 3);
    assert_eq!(intake.given_back.load(Ordering::Relaxed), 2);

    // Once the hand-off stops, new deliveries are due at once, and claimed.
    s.stop_handing_off();
    let later = queue(s, &a, &[&taken], T + 20).await;
    assert_eq!(
        ids(&claim(s, T + 20, 10, &[], "node-c").await),
        delivery_ids(&[&later])
    );
    assert!(
        handed.recv().await.is_none(),
        "the queue closes with the hand-off"
    );
}
