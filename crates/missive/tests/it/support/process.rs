//! `ServerProcess`: the real `missive serve` binary as a child process, for the tests
//! that kill it (crash) or run several on one database (cluster). Its output goes to a
//! log file, printed when the test fails or `TEST_LOG` is set.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{free_port, log, test_env};

/// A `missive serve` process. Dropping it kills it.
pub struct ServerProcess {
    child: Child,
    pub url: String,
    log: PathBuf,
    pub http: reqwest::Client,
}

impl ServerProcess {
    /// Starts the binary on a free port with the test settings, `db_url`, and then
    /// `overrides`; its log goes to `<dir>/<name>.log`.
    pub fn start(
        db_url: &str,
        dir: &Path,
        name: &str,
        overrides: &[(&str, &str)],
    ) -> ServerProcess {
        ServerProcess::start_on(free_port(), db_url, dir, name, overrides)
    }

    /// `start` on a given port, for a server that comes back where it was.
    pub fn start_on(
        port: u16,
        db_url: &str,
        dir: &Path,
        name: &str,
        overrides: &[(&str, &str)],
    ) -> ServerProcess {
        let log = dir.join(format!("{name}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_missive"));
        let file = std::fs::File::create(&log).unwrap();
        cmd.arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        for (k, v) in test_env() {
            cmd.env(k, v);
        }
        cmd.env("MISSIVE_LISTEN", format!("127.0.0.1:{port}"))
            .env("MISSIVE_DATABASE_URL", db_url)
            .env("NO_COLOR", "1");
        for (k, v) in overrides {
            cmd.env(k, v);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        ServerProcess {
            child: cmd.spawn().unwrap(),
            url: format!("http://127.0.0.1:{port}"),
            log,
            http,
        }
    }

    /// Waits until `/healthz` answers 200; panics with the log if the process exits or
    /// does not answer within 30 s.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = self.http.get(format!("{}/healthz", self.url)).send().await
                && res.status() == 200
            {
                return;
            }
            assert!(
                self.alive(),
                "{} exited while starting:\n{}",
                self.url,
                self.log_text()
            );
            assert!(
                Instant::now() < deadline,
                "{} did not start:\n{}",
                self.url,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls `/api/<endpoint>`; panics if the server does not answer within 20 s (a hang)
    /// or drops the connection (a crash).
    pub async fn call(&self, endpoint: &str, body: &Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/api/{endpoint}", self.url))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{endpoint} on {} got no answer: {e}", self.url));
        let status = res.status().as_u16();
        let bytes = res.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    /// Calls an endpoint that must answer 200 and returns the JSON.
    pub async fn ok(&self, endpoint: &str, body: Value) -> Value {
        let (status, value) = self.call(endpoint, &body).await;
        assert_eq!(
            status, 200,
            "{endpoint} {body} on {} answered {value}",
            self.url
        );
        value
    }

    /// Signs up a user; returns their token.
    pub async fn signup(&self, username: &str) -> String {
        let me = self
            .ok(
                "signup",
                json!({ "username": username, "password": "secret-password" }),
            )
            .await;
        me["token"].as_str().unwrap().to_owned()
    }

    /// `notes/create` as the holder of `token`; returns the created note.
    pub async fn post_note(&self, token: &str, text: &str) -> Value {
        self.ok("notes/create", json!({ "i": token, "text": text }))
            .await["createdNote"]
            .clone()
    }

    /// `i/webhooks/create` as the holder of `token`; returns the webhook's id.
    pub async fn create_webhook(
        &self,
        token: &str,
        url: &str,
        on: &[&str],
        secret: &str,
    ) -> String {
        let hook = self
            .ok(
                "i/webhooks/create",
                json!({ "i": token, "name": "hook", "url": url, "on": on, "secret": secret }),
            )
            .await;
        hook["id"].as_str().unwrap().to_owned()
    }

    /// SIGKILL: no shutdown code runs, leases are left behind.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// The process id, to read what the kernel knows of the process (its memory).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if log::wanted() {
            eprintln!(
                "--- log of {} ({}):\n{}",
                self.url,
                self.log.display(),
                self.log_text()
            );
        } else if std::thread::panicking() {
            let text = self.log_text();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            eprintln!("--- last lines of {} ({}):", self.url, self.log.display());
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}
