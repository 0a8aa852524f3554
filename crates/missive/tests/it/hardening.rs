//! Hardening: bounded password hashing under a sign-in flood, rate limits with Misskey's
//! error object, parameter bounds, token regeneration and revocation, reserved
//! usernames, `check-config`, and logs that never hold a secret.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::errors::{
    AUTHENTICATION_FAILED, INCORRECT_PASSWORD_SIGNIN_FLOW as INCORRECT_PASSWORD, INVALID_PARAM,
    RATE_LIMIT_EXCEEDED, USED_USERNAME,
};
use crate::support::{ServerProcess, TestApp, TestReceiver, now_ms};

/// The real binary on a fresh SQLite database in `dir`, started and ready.
async fn start_process(dir: &tempfile::TempDir, overrides: &[(&str, &str)]) -> ServerProcess {
    let db = format!("sqlite://{}/missive.db", dir.path().display());
    let mut server = ServerProcess::start(&db, dir.path(), "missive", overrides);
    server.wait_ready().await;
    server
}

/// The most memory a process has held resident since it started, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kb * 1024
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count()
}

async fn post(http: &reqwest::Client, url: &str, endpoint: &str, body: &Value) -> (u16, Value) {
    let res = http
        .post(format!("{url}/api/{endpoint}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.bytes().await.unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_flood_neither_exhausts_memory_nor_stalls_other_endpoints() {
    // The rate limits are off: this is about the hashing pool alone.
    let dir = tempfile::tempdir().unwrap();
    let server = start_process(&dir, &[]).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(600)
        .build()
        .unwrap();
    let (status, me) = post(
        &http,
        &server.url,
        "signup",
        &json!({"username": "alice", "password": "correct horse"}),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    let token = me["token"].as_str().unwrap().to_owned();

    // 500 wrong passwords at once, in waves, until the probes below are done. The flood
    // lasts as long as the probes take, not a fixed time, so that a slow machine runs
    // fewer waves rather than fewer probes.
    let probing = Arc::new(AtomicBool::new(true));
    let flood: Vec<_> = (0..500)
        .map(|i| {
            let http = http.clone();
            let url = server.url.clone();
            let probing = probing.clone();
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while probing.load(Ordering::Relaxed) {
                    let body = json!({"username": "alice", "password": format!("guess {i}")});
                    answers.push(post(&http, &url, "signin-flow", &body).await);
                }
                answers
            })
        })
        .collect();

    // Meanwhile another endpoint keeps answering, each call within a second. The probe
    // has a thread and runtime of its own, so that the flood's tasks in this process do
    // not delay it: what it measures is the server. It starts once the flood is under way.
    const PROBES: usize = 30;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let probe_url = server.url.clone();
    let probe = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            for _ in 0..PROBES {
                let started = Instant::now();
                let (status, i) = post(&http, &probe_url, "i", &json!({"i": token})).await;
                assert_eq!(status, 200, "{i}");
                latencies.push(started.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            latencies
        })
    });
    let latencies = tokio::task::spawn_blocking(move || probe.join())
        .await
        .unwrap();
    probing.store(false, Ordering::Relaxed);
    let latencies = latencies.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let slowest = latencies.iter().max().copied().unwrap_or_default();
    let probes = latencies.len();
    let (mut refused, mut busy) = (0, 0);
    for task in flood {
        for (status, body) in task.await.unwrap() {
            match status {
                403 => {
                    assert_eq!(body["error"]["id"], INCORRECT_PASSWORD, "{body}");
                    refused += 1;
                }
                429 => {
                    assert_eq!(body["error"]["id"], RATE_LIMIT_EXCEEDED, "{body}");
                    busy += 1;
                }
                other => panic!("the flood got {other}: {body}"),
            }
        }
    }
    assert!(
        slowest < Duration::from_secs(1),
        "`i` took {slowest:?} during the flood"
    );
    assert!(refused > 0, "no password was checked at all");
    assert!(busy > 0, "a full hashing pool refuses at once");
    let peak = peak_rss(server.pid());
    eprintln!(
        "flood: {refused} passwords checked, {busy} refused at once; {probes} probes, slowest {slowest:?}; peak RSS {} MB",
        peak / (1024 * 1024)
    );
    assert!(
        peak < 150 * 1024 * 1024,
        "peak RSS {} MB under the flood",
        peak / (1024 * 1024)
    );
    // The hashing threads are a fixed pool, not one per request.
    assert!(
        threads(server.pid()) < 64,
        "{} threads",
        threads(server.pid())
    );
}

/// `n` sign-ins as alice with a wrong password, each refused as such.
async fn wrong_passwords(app: &TestApp, n: usize) {
    for _ in 0..n {
        app.fails(
            "signin-flow",
            json!({"username": "alice", "password": "wrong"}),
            None,
            403,
            "INCORRECT_PASSWORD",
            INCORRECT_PASSWORD,
        )
        .await;
    }
}

#[tokio::test]
async fn sign_ins_are_limited_per_address_with_misskeys_error() {
    let app = TestApp::spawn_with(&[("MISSIVE_RATE_LIMIT_SIGNIN", "3/1h")]).await;
    app.signup("alice").await;
    wrong_passwords(&app, 3).await;
    // Asking which step comes next checks no password and is not counted.
    app.ok("signin-flow", json!({"username": "alice"}), None)
        .await;
    let res = app
        .http
        .post(format!("{}/api/signin-flow", app.url))
        .json(&json!({"username": "alice", "password": "secret-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // 3 per hour: the next one in 20 minutes.
    assert!((1_190..=1_200).contains(&retry_after), "{retry_after}");
    let body: Value = res.json().await.unwrap();
    let error = &body["error"];
    assert_eq!(error["code"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(error["id"], RATE_LIMIT_EXCEEDED);
    assert_eq!(error["kind"], "client");
    assert_eq!(error["info"]["total"], 3);
    assert_eq!(error["info"]["remaining"], 0);
    let reset_ms = error["info"]["resetMs"].as_i64().unwrap();
    assert!(reset_ms > now_ms() + 1_000_000, "{error}");
    assert_eq!(error["info"]["reset"], (reset_ms + 999) / 1000);
}

#[tokio::test]
async fn sign_ins_are_limited_per_account() {
    let app = TestApp::spawn_with(&[("MISSIVE_RATE_LIMIT_SIGNIN_ACCOUNT", "2/10m")]).await;
    app.signup("alice").await;
    app.signup("bob").await;
    wrong_passwords(&app, 2).await;
    // The account's name in any case is the same account.
    app.fails(
        "signin-flow",
        json!({"username": "ALICE", "password": "secret-password"}),
        None,
        429,
        "RATE_LIMIT_EXCEEDED",
        RATE_LIMIT_EXCEEDED,
    )
    .await;
    // Another account from the same address is not affected.
    let bob = app
        .ok(
            "signin-flow",
            json!({"username": "bob", "password": "secret-password"}),
            None,
        )
        .await;
    assert_eq!(bob["finished"], true);
}

async fn signup_from(app: &TestApp, username: &str, forwarded_for: &str) -> u16 {
    app.http
        .post(format!("{}/api/signup", app.url))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"username": username, "password": "pw"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let behind_proxy = TestApp::spawn_with(&[
        ("MISSIVE_RATE_LIMIT_SIGNUP", "1/1h"),
        ("MISSIVE_TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    assert_eq!(signup_from(&behind_proxy, "a1", "198.51.100.1").await, 200);
    assert_eq!(signup_from(&behind_proxy, "a2", "198.51.100.1").await, 429);
    assert_eq!(signup_from(&behind_proxy, "a3", "198.51.100.2").await, 200);
    // A client cannot pose as another by writing the header itself.
    assert_eq!(
        signup_from(&behind_proxy, "a4", "198.51.100.3, 198.51.100.2").await,
        429
    );

    let direct = TestApp::spawn_with(&[("MISSIVE_RATE_LIMIT_SIGNUP", "1/1h")]).await;
    assert_eq!(signup_from(&direct, "b1", "198.51.100.1").await, 200);
    assert_eq!(signup_from(&direct, "b2", "198.51.100.2").await, 429);
}

#[tokio::test]
async fn webhook_test_sends_are_limited_per_user() {
    let app = TestApp::spawn_with(&[("MISSIVE_RATE_LIMIT_WEBHOOK_TEST", "2/15m")]).await;
    let receiver = TestReceiver::start().await;
    let (_, alice) = app.signup("alice").await;
    let (_, bob) = app.signup("bob").await;
    let alice_hook = app
        .create_webhook(&alice, &receiver.url("/a"), &["note"], "s")
        .await;
    let bob_hook = app
        .create_webhook(&bob, &receiver.url("/b"), &["note"], "s")
        .await;
    let test = |hook: &str| json!({"webhookId": hook, "type": "note"});
    app.no_content("i/webhooks/test", test(&alice_hook), Some(&alice))
        .await;
    app.no_content("i/webhooks/test", test(&alice_hook), Some(&alice))
        .await;
    app.fails(
        "i/webhooks/test",
        test(&alice_hook),
        Some(&alice),
        429,
        "RATE_LIMIT_EXCEEDED",
        RATE_LIMIT_EXCEEDED,
    )
    .await;
    app.no_content("i/webhooks/test", test(&bob_hook), Some(&bob))
        .await;
}

#[tokio::test]
async fn default_limits_are_on() {
    // Without the test settings' overrides: Misskey's 60 test sends per 15 minutes.
    let app = TestApp::spawn_with(&[
        ("MISSIVE_RATE_LIMIT_SIGNUP", "10/1h"),
        ("MISSIVE_RATE_LIMIT_SIGNIN", "30/10m"),
    ])
    .await;
    for i in 0..10 {
        app.signup(&format!("user{i}")).await;
    }
    app.fails(
        "signup",
        json!({"username": "user10", "password": "pw"}),
        None,
        429,
        "RATE_LIMIT_EXCEEDED",
        RATE_LIMIT_EXCEEDED,
    )
    .await;
}

#[tokio::test]
async fn list_parameters_are_bounded_and_never_a_500() {
    let app = TestApp::spawn().await;
    let (alice_id, alice) = app.signup("alice").await;
    let ids = |n: usize| -> Vec<String> { (0..n).map(|i| format!("a{i}")).collect() };

    let mut hundred = ids(99);
    hundred.push(alice_id.clone());
    let found = app
        .ok("users/show", json!({"userIds": hundred}), None)
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);

    for n in [101, 32_767] {
        let error = app
            .fails(
                "users/show",
                json!({"userIds": ids(n)}),
                None,
                400,
                "INVALID_PARAM",
                INVALID_PARAM,
            )
            .await;
        assert_eq!(error["info"]["param"], "#/properties/userIds/maxItems");
        assert_eq!(error["info"]["reason"], "must NOT have more than 100 items");
        let error = app
            .fails(
                "notes/create",
                json!({"text": "x", "visibility": "specified", "visibleUserIds": ids(n)}),
                Some(&alice),
                400,
                "INVALID_PARAM",
                INVALID_PARAM,
            )
            .await;
        assert_eq!(
            error["info"]["param"],
            "#/properties/visibleUserIds/maxItems"
        );
    }
    let error = app
        .fails(
            "i/webhooks/create",
            json!({"name": "h", "url": "https://example.com/h", "on": vec!["note"; 33]}),
            Some(&alice),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
        )
        .await;
    assert_eq!(error["info"]["param"], "#/properties/on/maxItems");
    // At the bound, all is well.
    app.ok(
        "i/webhooks/create",
        json!({"name": "h", "url": "https://example.com/h", "on": vec!["note"; 32]}),
        Some(&alice),
    )
    .await;
}

#[tokio::test]
async fn regenerating_the_token_needs_the_password_and_revokes_the_old_one() {
    let app = TestApp::spawn().await;
    let (_, old) = app.signup("alice").await;
    app.fails(
        "i/regenerate-token",
        json!({"password": "wrong"}),
        Some(&old),
        400,
        "INCORRECT_PASSWORD",
        INCORRECT_PASSWORD,
    )
    .await;
    let error = app
        .fails(
            "i/regenerate-token",
            json!({}),
            Some(&old),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
        )
        .await;
    assert_eq!(error["info"]["param"], "#/required");
    app.ok("i", json!({}), Some(&old)).await;

    app.no_content(
        "i/regenerate-token",
        json!({"password": "secret-password"}),
        Some(&old),
    )
    .await;
    let new = signed_out_and_in_again(&app, &old).await;
    assert_ne!(new, old);
}

/// Checks that `old` no longer works and that signing in as alice again gives a token
/// that does; returns it.
async fn signed_out_and_in_again(app: &TestApp, old: &str) -> String {
    app.fails(
        "i",
        json!({}),
        Some(old),
        401,
        "AUTHENTICATION_FAILED",
        AUTHENTICATION_FAILED,
    )
    .await;
    let signed_in = app
        .ok(
            "signin-flow",
            json!({"username": "alice", "password": "secret-password"}),
            None,
        )
        .await;
    let new = signed_in["i"].as_str().unwrap().to_owned();
    assert_eq!(
        app.ok("i", json!({}), Some(&new)).await["username"],
        "alice"
    );
    new
}

#[tokio::test]
async fn revoking_your_own_token_signs_you_out() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.signup("alice").await;
    let error = app
        .fails(
            "i/revoke-token",
            json!({}),
            Some(&alice),
            400,
            "INVALID_PARAM",
            INVALID_PARAM,
        )
        .await;
    assert_eq!(error["info"]["param"], "#/anyOf/0/required");
    // Naming any other token, or a token id, changes nothing.
    app.no_content(
        "i/revoke-token",
        json!({"token": "not-my-token"}),
        Some(&alice),
    )
    .await;
    app.no_content("i/revoke-token", json!({"tokenId": "abc123"}), Some(&alice))
        .await;
    app.ok("i", json!({}), Some(&alice)).await;

    app.no_content("i/revoke-token", json!({"token": alice}), Some(&alice))
        .await;
    signed_out_and_in_again(&app, &alice).await;
}

#[tokio::test]
async fn a_regenerated_token_stops_working_on_every_node_at_once() {
    let Ok(base) = std::env::var("MISSIVE_TEST_DATABASE_URL") else {
        eprintln!("MISSIVE_TEST_DATABASE_URL is not set: skipping the PostgreSQL variant");
        return;
    };
    let db = missive_store::testing::scratch_postgres_url(&base)
        .await
        .unwrap();
    let first = TestApp::spawn_with(&[("MISSIVE_DATABASE_URL", db.as_str())]).await;
    let second = TestApp::spawn_with(&[("MISSIVE_DATABASE_URL", db.as_str())]).await;
    let (_, old) = first.signup("alice").await;
    second.ok("i", json!({}), Some(&old)).await;
    first
        .no_content(
            "i/regenerate-token",
            json!({"password": "secret-password"}),
            Some(&old),
        )
        .await;
    second
        .fails(
            "i",
            json!({}),
            Some(&old),
            401,
            "AUTHENTICATION_FAILED",
            AUTHENTICATION_FAILED,
        )
        .await;
    drop((first, second));
    missive_store::testing::drop_scratch_postgres(&base, &db).await;
}

#[tokio::test]
async fn reserved_usernames_are_refused_except_for_the_administrator() {
    let app = TestApp::spawn().await;
    // The first account may take a reserved name, as in Misskey.
    let (_, admin) = app.signup("admin").await;
    for name in ["root", "System", "MISSKEY", "i"] {
        app.fails(
            "signup",
            json!({"username": name, "password": "pw"}),
            None,
            400,
            "USED_USERNAME",
            USED_USERNAME,
        )
        .await;
    }
    app.signup("rooted").await;
    // The administrator hands reserved names out.
    app.ok(
        "admin/accounts/create",
        json!({"username": "support", "password": "pw"}),
        Some(&admin),
    )
    .await;
}

#[test]
fn check_config_refuses_what_serve_refuses_with_the_same_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("MISSIVE_DATABASE_URL", "mysql://x"),
        ("MISSIVE_DATABASE_URL", "sqlite://:memory:"),
        ("MISSIVE_DATABASE_URL", "postgres://u:p@host:notaport/db"),
        ("MISSIVE_RATE_LIMIT_SIGNIN", "often"),
        ("MISSIVE_TRUSTED_PROXIES", "10.0.0.0/33"),
    ];
    for (key, value) in cases {
        let run = |subcommand: &str| {
            let out = Command::new(env!("CARGO_BIN_EXE_missive"))
                .arg(subcommand)
                .env("MISSIVE_LISTEN", "127.0.0.1:0")
                .env(
                    "MISSIVE_DATABASE_URL",
                    format!("sqlite://{}/missive.db", dir.path().display()),
                )
                .env(key, value)
                .output()
                .unwrap();
            (out.status.success(), String::from_utf8(out.stderr).unwrap())
        };
        let (check_ok, check_err) = run("check-config");
        let (serve_ok, serve_err) = run("serve");
        assert!(!check_ok, "check-config accepted {key}={value}");
        assert!(!serve_ok, "serve accepted {key}={value}");
        assert_eq!(check_err, serve_err, "{key}={value}");
        assert!(
            !check_err.contains(":p@"),
            "a password was printed: {check_err}"
        );
    }
}

#[tokio::test]
async fn debug_logs_hold_no_secret_token_password_or_url_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_process(
        &dir,
        &[
            ("RUST_LOG", "debug"),
            ("MISSIVE_DELIVERY_MAX_ATTEMPTS", "2"),
            ("MISSIVE_DELIVERY_RETRY_BASE_MS", "50"),
        ],
    )
    .await;
    let receiver = TestReceiver::start().await;
    let http = reqwest::Client::new();
    let password = "PASSWORD-b9f1c2";
    let secret = "HOOKSECRET-7d3e";
    let (_, me) = post(
        &http,
        &server.url,
        "signup",
        &json!({"username": "alice", "password": password}),
    )
    .await;
    let token = me["token"].as_str().unwrap().to_owned();
    // One URL that answers, one that refuses the connection; both carry credentials.
    let port = receiver.addr.port();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for url in [
        format!("http://USERINFO-a1:PASSINFO-b2@127.0.0.1:{port}/hook?token=QUERYTOKEN-c3"),
        format!("http://USERINFO-a1:PASSINFO-b2@127.0.0.1:{dead_port}/dead?token=QUERYTOKEN-c3"),
    ] {
        let (status, hook) = post(
            &http,
            &server.url,
            "i/webhooks/create",
            &json!({"i": token, "name": "h", "url": url, "on": ["note"], "secret": secret}),
        )
        .await;
        assert_eq!(status, 200, "{hook}");
        let (status, _) = post(
            &http,
            &server.url,
            "i/webhooks/test",
            &json!({"i": token, "webhookId": hook["id"], "type": "note"}),
        )
        .await;
        assert_eq!(status, 204);
    }
    let (status, _) = post(
        &http,
        &server.url,
        "notes/create",
        &json!({"i": token, "text": "hello"}),
    )
    .await;
    assert_eq!(status, 200);
    post(
        &http,
        &server.url,
        "signin-flow",
        &json!({"username": "alice", "password": password}),
    )
    .await;
    // The live hook got the test and the note; the dead one was tried twice.
    receiver.wait_for("/hook", 2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let text = server.log_text();
    drop(server);
    assert!(
        text.contains("DEBUG"),
        "the log was not at debug level: {text}"
    );
    assert!(
        text.contains("delivery attempt got no response"),
        "the failed attempts were not logged"
    );
    for secret in [
        password,
        secret,
        token.as_str(),
        "USERINFO-a1",
        "PASSINFO-b2",
        "QUERYTOKEN-c3",
    ] {
        let at = text.find(secret);
        assert!(
            at.is_none(),
            "{secret:?} is in the debug log: …{}…",
            &text[at.unwrap_or(0).saturating_sub(200)..(at.unwrap_or(0) + 100).min(text.len())]
        );
    }
}
