//! Several `missive serve` processes (the real binary) on one PostgreSQL database: they
//! share the API and the delivery work, send every delivery once in normal operation,
//! finish a killed node's work once its leases expire, and ride out cut connections.
//!
//! These tests need PostgreSQL: they run when `MISSIVE_TEST_DATABASE_URL` is set (as
//! `.ci/run` always does) and are skipped with a note otherwise. Each test gets its own
//! scratch database, dropped at the end; they run one at a time so that the nodes of
//! several tests never crowd the server's connection limit together.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use missive_store::testing::{drop_scratch_postgres, scratch_postgres_url, terminate_connections};
use serde_json::{Value, json};

use crate::support::{Answer, Received, ServerProcess, TestReceiver};

/// Notes per test: enough to spread over the nodes, modest for two cores.
const N: usize = 60;

/// One at a time: three nodes of up to 16 connections each, per test.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `body` with a fresh scratch database (its URL) and a directory for node logs,
/// then drops the database, even if `body` panicked.
async fn with_database<F, Fut>(body: F)
where
    F: FnOnce(String, PathBuf) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(base) = std::env::var("MISSIVE_TEST_DATABASE_URL") else {
        eprintln!("skipped: set MISSIVE_TEST_DATABASE_URL to run the PostgreSQL cluster tests");
        return;
    };
    let _serial = SERIAL.lock().await;
    let db_url = scratch_postgres_url(&base)
        .await
        .expect("create a scratch database");
    let dir = tempfile::tempdir().unwrap();
    let outcome = tokio::spawn(body(db_url.clone(), dir.path().to_owned())).await;
    drop_scratch_postgres(&base, &db_url).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

// ---------------------------------------------------------------------------------------
// Nodes

/// Starts `n` nodes at the same moment (so they also migrate the fresh database
/// together) and waits until each answers.
async fn start_nodes(
    db_url: &str,
    dir: &Path,
    n: usize,
    overrides: &[(&str, &str)],
) -> Vec<ServerProcess> {
    let mut nodes: Vec<ServerProcess> = (0..n)
        .map(|i| ServerProcess::start(db_url, dir, &format!("node{i}"), overrides))
        .collect();
    join_all(nodes.iter_mut().map(ServerProcess::wait_ready)).await;
    nodes
}

// ---------------------------------------------------------------------------------------
// The scenario: two users, three webhooks, notes through every node

/// A user's token and the receiver paths of the webhooks that get their notes.
struct Author {
    token: String,
    paths: Vec<String>,
}

/// alice (two webhooks) signs up through the first node, bob (one) through the last.
async fn authors(nodes: &[ServerProcess], receiver: &TestReceiver) -> [Author; 2] {
    let mut out = Vec::new();
    for (i, (name, paths)) in [("alice", vec!["a1", "a2"]), ("bob", vec!["b1"])]
        .into_iter()
        .enumerate()
    {
        let node = if i == 0 {
            &nodes[0]
        } else {
            &nodes[nodes.len() - 1]
        };
        let token = node.signup(name).await;
        for (j, path) in paths.iter().enumerate() {
            let via = &nodes[(i + j) % nodes.len()];
            via.create_webhook(&token, &receiver.url(path), &["note"], "s")
                .await;
        }
        out.push(Author {
            token,
            paths: paths.into_iter().map(|p| format!("/{p}")).collect(),
        });
    }
    out.try_into().ok().unwrap()
}

/// Creates note `i` (alice's when even, bob's when odd) through `node`; returns the
/// answer's status and body.
async fn create_note(node: &ServerProcess, authors: &[Author; 2], i: usize) -> (u16, Value) {
    node.call(
        "notes/create",
        &json!({ "i": authors[i % 2].token, "text": format!("note {i}") }),
    )
    .await
}

/// Every (path, note id) the created notes must reach.
fn expected_deliveries(
    authors: &[Author; 2],
    notes: &BTreeMap<usize, String>,
) -> BTreeSet<(String, String)> {
    notes
        .iter()
        .flat_map(|(i, id)| {
            authors[i % 2]
                .paths
                .iter()
                .map(move |p| (p.clone(), id.clone()))
        })
        .collect()
}

/// How many times each eventId arrived.
fn receipts(hits: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for hit in hits {
        *counts.entry(hit.event_id().to_owned()).or_insert(0) += 1;
    }
    counts
}

fn by_server(hits: &[Received]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for hit in hits {
        *counts.entry(hit.server().to_owned()).or_insert(0) += 1;
    }
    counts
}

fn note_id(created: &Value) -> String {
    created["createdNote"]["id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------
// The tests

/// Three nodes, notes created through all of them in turn: each webhook gets every one of
/// its notes exactly once, and the nodes share the sending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_every_note_exactly_once() {
    with_database(|db_url, dir| async move {
        let receiver = TestReceiver::start().await;
        let nodes = start_nodes(&db_url, &dir, 3, &[]).await;
        let authors = authors(&nodes, &receiver).await;

        let mut notes = BTreeMap::new();
        for round in (0..N).step_by(3) {
            // One note through each node at the same moment.
            let answers =
                join_all((round..round + 3).map(|i| create_note(&nodes[i % 3], &authors, i))).await;
            for (k, (status, body)) in answers.into_iter().enumerate() {
                assert_eq!(status, 200, "{body}");
                notes.insert(round + k, note_id(&body));
            }
        }
        let expected = expected_deliveries(&authors, &notes);
        let hits = receiver
            .wait_for_all(&expected, Duration::from_secs(30), Duration::from_secs(2))
            .await;

        let twice: Vec<_> = receipts(&hits)
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .collect();
        assert!(twice.is_empty(), "sent more than once: {twice:?}");
        assert_eq!(
            hits.len(),
            expected.len(),
            "exactly one delivery per note and webhook"
        );
        let got: BTreeSet<(String, String)> = hits
            .iter()
            .map(|h| (h.path.clone(), h.note_id().to_owned()))
            .collect();
        assert_eq!(got, expected);
        let senders = by_server(&hits);
        eprintln!("deliveries per node: {senders:?}");
        assert!(
            senders.len() >= 2,
            "the nodes share the delivery work: {senders:?}"
        );
    })
    .await;
}

/// A node killed with `kill -9` mid-run: the others finish its leased deliveries once the
/// leases expire. Nothing is missing; only deliveries that node had in flight arrive twice,
/// and every request it was waiting on when it died is sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_loses_nothing() {
    with_database(|db_url, dir| async move {
        let receiver = TestReceiver::start().await;
        // Slow answers keep deliveries in flight when the node dies.
        receiver.answer_always(Answer::Delay(200, 800));
        let mut nodes = start_nodes(&db_url, &dir, 3, &[]).await;
        let authors = authors(&nodes, &receiver).await;
        let victim = nodes[1].url.clone();

        let mut notes = BTreeMap::new();
        for round in (0..N / 2).step_by(3) {
            let answers = join_all((round..round + 3).map(|i| create_note(&nodes[i % 3], &authors, i))).await;
            for (k, (status, body)) in answers.into_iter().enumerate() {
                assert_eq!(status, 200, "{body}");
                notes.insert(round + k, note_id(&body));
            }
        }
        // Kill the node while it waits on receivers.
        let deadline = Instant::now() + Duration::from_secs(10);
        while receiver.open_from(&victim).len() < 2 {
            assert!(Instant::now() < deadline, "the victim never had two requests in flight");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        nodes[1].kill_9();
        let killed_at = Instant::now();
        let unanswered = receiver.open_from(&victim);
        receiver.answer_always(Answer::Delay(200, 20));
        for i in N / 2..N {
            let node = &nodes[if i % 2 == 0 { 0 } else { 2 }];
            let (status, body) = create_note(node, &authors, i).await;
            assert_eq!(status, 200, "{body}");
            notes.insert(i, note_id(&body));
        }
        // The lease is 2 × 2 s + 2 s; after it the survivors resend what the victim held.
        let expected = expected_deliveries(&authors, &notes);
        receiver.wait_for_all(&expected, Duration::from_secs(45), Duration::ZERO).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let counts = receipts(&receiver.received());
            let waiting: Vec<_> = unanswered.iter().filter(|id| counts[*id] < 2).collect();
            if waiting.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "requests the victim never got an answer to were not sent again: {waiting:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let hits = receiver.received();

        let from_victim: Vec<&Received> = hits.iter().filter(|h| h.server() == victim).collect();
        // (A request written just before the kill may be read a moment after it.)
        assert!(from_victim.iter().all(|h| h.at < killed_at + Duration::from_secs(1)), "a killed node sends nothing");
        let victims: BTreeSet<String> = from_victim.iter().map(|h| h.event_id().to_owned()).collect();
        let counts = receipts(&hits);
        let twice: BTreeSet<String> = counts.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id.clone()).collect();
        let unexplained: Vec<_> = twice.difference(&victims).collect();
        assert!(unexplained.is_empty(), "sent twice although the killed node never had them: {unexplained:?}");
        let got: BTreeSet<(String, String)> = hits.iter().map(|h| (h.path.clone(), h.note_id().to_owned())).collect();
        assert_eq!(got, expected, "nothing missing, nothing unexpected");
        eprintln!(
            "deliveries per node: {:?}; the victim sent {}, {} unanswered when it died; {} were sent again",
            by_server(&hits),
            victims.len(),
            unanswered.len(),
            twice.len()
        );
    })
    .await;
}

/// The database connections are cut again and again for two seconds while notes are
/// created: every call answers (a note or a 5xx error object, never a hang or a crash),
/// and every note the API accepted is delivered once the cuts stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_database_connections_lose_nothing() {
    with_database(|db_url, dir| async move {
        let receiver = TestReceiver::start().await;
        let mut nodes = start_nodes(&db_url, &dir, 3, &[]).await;
        let authors = authors(&nodes, &receiver).await;

        let cutting = Arc::new(AtomicBool::new(true));
        let cutter = {
            let db_url = db_url.clone();
            let cutting = cutting.clone();
            tokio::spawn(async move {
                let until = Instant::now() + Duration::from_secs(2);
                let mut cut = 0;
                while Instant::now() < until {
                    cut += terminate_connections(&db_url).await.unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                cutting.store(false, Ordering::SeqCst);
                cut
            })
        };

        let mut notes = BTreeMap::new();
        let mut failures: BTreeMap<(u16, String), usize> = BTreeMap::new();
        let mut calls_during_cut = 0;
        for i in 0..N {
            let mut attempt = 0;
            loop {
                let during_cut = cutting.load(Ordering::SeqCst);
                let (status, body) = create_note(&nodes[(i + attempt) % 3], &authors, i).await;
                calls_during_cut += usize::from(during_cut);
                if status == 200 {
                    notes.insert(i, note_id(&body));
                    break;
                }
                let error = &body["error"];
                assert!(status >= 500, "only the database failing may fail a note: {status} {body}");
                for key in ["message", "code", "id", "kind"] {
                    assert!(error[key].is_string(), "a Misskey error object: {status} {body}");
                }
                *failures.entry((status, error["code"].as_str().unwrap().to_owned())).or_insert(0) += 1;
                attempt += 1;
                assert!(attempt < 200, "note {i} was never accepted");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        let cut = cutter.await.unwrap();
        assert!(cut > 0, "connections were cut");
        assert!(calls_during_cut > 0, "some calls were made while the connections were cut");

        // A note answered with an error may still have been committed (the answer to the
        // commit was lost), so unknown notes may arrive; every accepted one must.
        let expected = expected_deliveries(&authors, &notes);
        let hits = receiver.wait_for_all(&expected, Duration::from_secs(45), Duration::from_secs(2)).await;
        let twice = receipts(&hits).into_values().filter(|n| *n > 1).count();
        eprintln!("{cut} sessions cut; {calls_during_cut} calls during the cuts; errors {failures:?}; {} deliveries, {twice} sent more than once", hits.len());
        for node in &mut nodes {
            assert!(node.alive(), "{} died", node.url);
            let res = node.http.get(format!("{}/healthz", node.url)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{} is healthy again", node.url);
        }
    })
    .await;
}

/// A delivery created through a node that has no free sending slot is sent at once by
/// another node, woken by PostgreSQL's notification rather than by its 2 s poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_node_sends_at_once_what_a_busy_node_queued() {
    with_database(|db_url, dir| async move {
        let receiver = TestReceiver::start().await;
        receiver.answer_under("hang", Answer::Hang);
        // The busy node has one sending slot, which a receiver that never answers holds
        // for 20 s.
        let busy_env = [
            ("MISSIVE_DELIVERY_CONCURRENCY", "1"),
            ("MISSIVE_DELIVERY_TIMEOUT_MS", "20000"),
        ];
        let mut busy = ServerProcess::start(&db_url, &dir, "busy", &busy_env);
        busy.wait_ready().await;
        let alice = busy.signup("alice").await;
        busy.create_webhook(&alice, &receiver.url("hang"), &["note"], "")
            .await;
        busy.post_note(&alice, "blocks the only slot").await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while receiver.received().is_empty() {
            assert!(
                Instant::now() < deadline,
                "the busy node never sent its first delivery"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        let mut free = ServerProcess::start(&db_url, &dir, "free", &[]);
        free.wait_ready().await;
        let bob = free.signup("bob").await;
        free.create_webhook(&bob, &receiver.url("fast"), &["note"], "")
            .await;
        // Let the free node settle into its idle wait.
        tokio::time::sleep(Duration::from_millis(500)).await;

        let mut latencies = Vec::new();
        for i in 0..8 {
            let note = busy.post_note(&bob, &format!("note {i}")).await;
            let answered = Instant::now();
            let id = note["id"].as_str().unwrap().to_owned();
            let deadline = Instant::now() + Duration::from_secs(10);
            let hit = loop {
                if let Some(hit) = receiver.received().into_iter().find(|h| h.note_id() == id) {
                    break hit;
                }
                assert!(Instant::now() < deadline, "note {i} was never delivered");
                tokio::time::sleep(Duration::from_millis(2)).await;
            };
            assert_eq!(hit.server(), free.url, "only the free node can send");
            latencies.push(hit.at.saturating_duration_since(answered));
            // Land at different points of the poll cycle.
            tokio::time::sleep(Duration::from_millis(170)).await;
        }
        latencies.sort();
        eprintln!("latencies across nodes: {latencies:?}");
        // Polling alone would average about a second (a 2 s cycle).
        assert!(
            latencies[latencies.len() / 2] < Duration::from_millis(400),
            "woken by the notification: {latencies:?}"
        );
        assert!(busy.alive() && free.alive());
    })
    .await;
}

/// A PostgreSQL outage, simulated by a proxy between the nodes and the shared server
/// (which other tests use and must not be stopped): while it refuses every connection,
/// calls answer a 503 error object in bounded time; when it returns, the nodes resume
/// by themselves and every accepted note is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_survived() {
    with_database(|db_url, dir| async move {
        let proxy = Proxy::start(&db_url).await;
        let receiver = TestReceiver::start().await;
        // Slow answers keep deliveries in flight when the database goes away.
        receiver.answer_always(Answer::Delay(200, 1000));
        let mut nodes = start_nodes(&proxy.url, &dir, 2, &[]).await;
        let authors = authors(&nodes, &receiver).await;

        let mut notes = BTreeMap::new();
        for i in 0..10 {
            let (status, body) = create_note(&nodes[i % 2], &authors, i).await;
            assert_eq!(status, 200, "{body}");
            notes.insert(i, note_id(&body));
        }

        proxy.go_down();
        let down_since = Instant::now();
        let calls = join_all((10..14).map(|i| {
            let node = &nodes[i % 2];
            let authors = &authors;
            async move {
                let started = Instant::now();
                let answer = create_note(node, authors, i).await;
                (answer, started.elapsed())
            }
        }))
        .await;
        eprintln!(
            "answers while down: {:?}",
            calls
                .iter()
                .map(|((status, _), took)| (*status, *took))
                .collect::<Vec<_>>()
        );
        for ((status, body), took) in calls {
            assert_eq!(
                status, 503,
                "a clear error while the database is down: {body}"
            );
            assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
            for key in ["message", "id", "kind"] {
                assert!(body["error"][key].is_string(), "{body}");
            }
            assert!(
                took < Duration::from_secs(15),
                "answered in bounded time: {took:?}"
            );
        }
        let health = nodes[0]
            .http
            .get(format!("{}/healthz", nodes[0].url))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 503);
        // Stay down a little longer, then come back.
        tokio::time::sleep(Duration::from_secs(7).saturating_sub(down_since.elapsed())).await;
        proxy.come_back();

        for i in 14..24 {
            // The first calls may still see the pools reconnecting.
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let (status, body) = create_note(&nodes[i % 2], &authors, i).await;
                if status == 200 {
                    notes.insert(i, note_id(&body));
                    break;
                }
                assert_eq!(status, 503, "{body}");
                assert!(
                    Instant::now() < deadline,
                    "the node never recovered: {body}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        receiver.answer_always(Answer::Status(200));
        // Notes 10 to 13 were refused; had one been committed anyway, its deliveries may
        // arrive too. Every accepted note must.
        let expected = expected_deliveries(&authors, &notes);
        let hits = receiver
            .wait_for_all(&expected, Duration::from_secs(45), Duration::from_secs(1))
            .await;
        let twice = receipts(&hits).into_values().filter(|n| *n > 1).count();
        eprintln!(
            "{} deliveries after the outage, {twice} sent more than once",
            hits.len()
        );
        for node in &mut nodes {
            assert!(node.alive(), "{} died", node.url);
            let res = node
                .http
                .get(format!("{}/healthz", node.url))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    })
    .await;
}

/// A TCP proxy to the test's PostgreSQL server that can play a database outage.
struct Proxy {
    /// The database URL, through the proxy.
    url: String,
    down: Arc<AtomicBool>,
    /// Bumped to close every open connection.
    cut: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Proxy {
    async fn start(db_url: &str) -> Proxy {
        let mut url = url::Url::parse(db_url).unwrap();
        let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
        let target = tokio::net::lookup_host((host.as_str(), url.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(listener.local_addr().unwrap().port()))
            .unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(tokio::sync::watch::channel(0u64).0);
        let cuts = cut.clone();
        let accepting = down.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if accepting.load(Ordering::SeqCst) {
                    // Down: the connection is closed at once, as a dead server's would be.
                    drop(inbound);
                    continue;
                }
                // A fresh subscription: only cuts from now on close this connection.
                let mut cut = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            url: url.to_string(),
            down,
            cut,
        }
    }

    /// Closes every connection and refuses new ones.
    fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn come_back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}
