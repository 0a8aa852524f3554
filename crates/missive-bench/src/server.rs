//! The missive under test: the release binary run as a child process on a fresh
//! database, so that the resident memory measured is the server's own.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use missive_store::testing::{drop_scratch_postgres, scratch_postgres_url};
use tokio::process::{Child, Command};

/// Where the database of each run comes from.
#[derive(Debug, Clone)]
pub enum Database {
    /// A new SQLite file in the run's temporary directory.
    Sqlite,
    /// A scratch database created on this PostgreSQL server and dropped afterwards.
    Postgres { admin_url: String },
}

impl Database {
    pub fn is_postgres(&self) -> bool {
        matches!(self, Database::Postgres { .. })
    }
}

/// How to start missive: the binary, the database, and settings added to every run.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub bin: PathBuf,
    pub database: Database,
    pub env: Vec<(String, String)>,
}

/// A running missive.
pub struct Missive {
    child: Child,
    pub url: String,
    pid: u32,
    dir: tempfile::TempDir,
    /// The PostgreSQL server's URL and the scratch database's, to drop it at the end.
    scratch: Option<(String, String)>,
}

impl Launcher {
    /// Starts missive with the benchmark's settings, then `scenario_env`, then the
    /// user's `--env` settings, and waits until `/healthz` answers.
    pub async fn start(&self, scenario_env: &[(&str, String)]) -> anyhow::Result<Missive> {
        let dir = tempfile::Builder::new()
            .prefix("missive-bench-")
            .tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let (database_url, scratch) = match &self.database {
            Database::Sqlite => (
                format!("sqlite://{}/missive.db", dir.path().display()),
                None,
            ),
            Database::Postgres { admin_url } => {
                let url = scratch_postgres_url(admin_url)
                    .await
                    .with_context(|| format!("cannot create a database on {admin_url}"))?;
                (url.clone(), Some((admin_url.clone(), url)))
            }
        };
        let mut env: Vec<(String, String)> = vec![
            ("MISSIVE_LISTEN".into(), format!("127.0.0.1:{port}")),
            ("MISSIVE_DATABASE_URL".into(), database_url),
            (
                "MISSIVE_ALLOWED_PRIVATE_NETWORKS".into(),
                "127.0.0.0/8".into(),
            ),
            ("MISSIVE_DELIVERY_RETRY_BASE_MS".into(), "1000".into()),
            ("MISSIVE_DELIVERY_MAX_ATTEMPTS".into(), "20".into()),
            ("MISSIVE_SIGNUP_OPEN".into(), "true".into()),
            // The harness signs its users up from one address, far faster than people do.
            ("MISSIVE_RATE_LIMIT_SIGNUP".into(), "off".into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        for (k, v) in scenario_env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .chain(self.env.iter().cloned())
        {
            env.retain(|(key, _)| *key != k);
            env.push((k, v));
        }
        let log_path = dir.path().join("missive.log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(&self.bin);
        command
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        // Settings from the caller's environment would make runs differ silently.
        for (key, _) in std::env::vars() {
            if key.starts_with("MISSIVE_") {
                command.env_remove(key);
            }
        }
        command.envs(env);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        let pid = child.id().context("missive exited at once")?;
        let mut missive = Missive {
            child,
            url: format!("http://127.0.0.1:{port}"),
            pid,
            dir,
            scratch,
        };
        missive.wait_healthy().await?;
        Ok(missive)
    }
}

impl Missive {
    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().no_proxy().build()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("missive exited ({status}):\n{}", self.log_tail());
            }
            if let Ok(res) = http.get(format!("{}/healthz", self.url)).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("missive did not become healthy:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The peak resident set size so far (VmHWM), in MiB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        status_kb(self.pid, "VmHWM:").map(|kb| kb as f64 / 1024.0)
    }

    /// Starts the peak RSS over from the current RSS (Linux `clear_refs` 5), so that
    /// the peak of a phase is not that of the account setup before it.
    pub fn reset_peak_rss(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// CPU time used so far (user + system), in seconds.
    pub fn cpu_secs(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the parenthesised command name; utime and stime are the 14th
        // and 15th fields of the line, in clock ticks (100 per second on Linux).
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / 100.0)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The last lines missive logged.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("missive.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Warnings and errors missive logged, counted.
    pub fn logged_problems(&self) -> usize {
        let text = std::fs::read_to_string(self.dir.path().join("missive.log")).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .count()
    }

    /// Stops missive (SIGTERM, then SIGKILL after a grace period) and drops its database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
        if let Some((admin_url, url)) = self.scratch.take() {
            drop_scratch_postgres(&admin_url, &url).await;
        }
        Ok(())
    }
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// The release `missive` next to this workspace's target directory.
pub fn default_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("release").join("missive")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Builds the release `missive` (a no-op when it is up to date), so that one command
/// benchmarks the current source.
pub fn build_release() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("missive-bench: cargo build --release -p missive");
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "missive"])
        .current_dir(workspace_root())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo build --release -p missive failed");
    }
    Ok(())
}
