//! The write path: every write transaction goes through `Store::write`.
//!
//! On PostgreSQL a write is a transaction on a pooled connection; the server runs many at
//! once. SQLite has one writer, so there the writes are queued to the **writer**: a thread
//! of its own that owns the one write connection and runs the writes waiting in the queue
//! together in one transaction (group commit). Each write runs in a savepoint of its own,
//! so a failing one rolls back only its own work, and every write is answered after the
//! transaction that holds it has committed (so an answer still means "on disk").
//!
//! Why a thread of its own: sqlx's SQLite connection runs each statement on its worker
//! thread and wakes the calling task with the result. A transaction driven from the API's
//! runtime waited, between its statements, for a busy runtime to schedule it again, with
//! the write lock held; the profile of the `many-users` benchmark showed the write
//! connection's thread idle two thirds of the time while requests queued for it. The
//! writer's runtime does nothing else, so it goes on at once, and the writes that queued
//! meanwhile share the next transaction and its commit.
//!
//! Two connections: the hot writes (a note with its outbox, claims, outcomes; see
//! `conn.rs`) run on the writer's own rusqlite connection, where a statement is a call
//! on this thread; the others on an sqlx connection, where each statement still goes to
//! sqlx's thread and back (two thread switches: in the fan-out profile the write path
//! spent more time switching than in SQLite). Each round runs the delivery path's hot
//! writes, then the API's, then the others, each in a transaction of its own (`run`);
//! never two at once, so the two connections never wait for each other's lock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::conn::Conn;
use crate::{BoxFuture, Result, StoreError};

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// At most this many writes share a transaction, so that one commit's latency stays
/// bounded however deep the queue.
const MAX_BATCH: usize = 128;

/// How long the API's hot writes may run in one transaction before it commits and the
/// delivery path's writes waiting meanwhile get theirs (`run`).
const API_SLICE: std::time::Duration = std::time::Duration::from_millis(5);

/// A write as the writer runs it: the caller's work, typed away. It returns whether the
/// work's writes are kept (a failed or abandoned one is rolled back to its savepoint) and
/// how to answer the caller once the transaction has ended.
enum Job {
    Sqlx(SqlxJob),
    Direct(DirectJob, Lane),
}

/// Which queue a hot write waits in (`run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Claims and outcomes: small, and every delivery in flight waits for them.
    Deliveries,
    /// The API's hot writes: a note with its outbox, which may hold thousands of rows.
    Api,
}

/// A write on the writer's sqlx connection.
type SqlxJob = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Ran> + Send>;

/// A hot write, on the writer's rusqlite connection.
type DirectJob = Box<dyn for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Ran> + Send>;

struct Ran {
    ok: bool,
    answer: Box<dyn FnOnce(Result<()>) + Send>,
}

impl Ran {
    /// What a write's `result` (its value, and whether its writes are kept) makes of it:
    /// kept only if it succeeded and asked to; answered through `answer_tx` with its own
    /// error if it failed, else with its value once a kept write's transaction has
    /// committed (a failed commit fails it).
    fn of<T: Send + 'static>(
        result: Result<(T, bool)>,
        answer_tx: oneshot::Sender<Result<T>>,
    ) -> Ran {
        Ran {
            ok: matches!(result, Ok((_, true))),
            answer: Box::new(move |ended: Result<()>| {
                let answer = result.and_then(|(value, kept)| {
                    if kept {
                        ended.map(|()| value)
                    } else {
                        Ok(value)
                    }
                });
                let _ = answer_tx.send(answer);
            }),
        }
    }
}

/// The queue to the writer thread (SQLite).
#[derive(Debug, Clone)]
pub(crate) struct WriteQueue {
    jobs: mpsc::UnboundedSender<Job>,
    stats: Arc<WriterStats>,
}

/// What the writer has done: transactions committed and the writes they held.
#[derive(Debug, Default)]
pub(crate) struct WriterStats {
    transactions: AtomicU64,
    writes: AtomicU64,
}

/// How many transactions the writer committed and how many writes they held: the
/// writes per transaction say how much group commit is batching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupCommitStats {
    pub transactions: u64,
    pub writes: u64,
}

impl WriteQueue {
    /// Starts the writer thread on a connection to `url` (set up by `prepare`) and
    /// returns its queue once the connection is open.
    pub(crate) async fn start(url: String, path: String) -> Result<WriteQueue> {
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("missive-writer".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StoreError::Other(format!(
                            "cannot start the writer's runtime: {e}"
                        ))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let conns = match connect(&url)
                        .await
                        .and_then(|sqlx| Ok((sqlx, open_direct(&path)?)))
                    {
                        Ok(conns) => conns,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    // The checkpointer runs as long as the writer: it stops when this
                    // sender is dropped, at the end of the writer's thread.
                    let (_checkpointer, stop) = std::sync::mpsc::channel::<()>();
                    if let Err(e) = start_checkpointer(&path, stop) {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                    let _ = ready_tx.send(Ok(()));
                    run(conns, jobs_rx, &thread_stats).await;
                });
            })
            .map_err(|e| StoreError::Other(format!("cannot start the writer thread: {e}")))?;
        ready_rx
            .await
            .map_err(|_| StoreError::Other("the writer thread stopped while starting".into()))??;
        Ok(WriteQueue {
            jobs: jobs_tx,
            stats,
        })
    }

    /// Queues `work` and waits until the transaction that ran it has ended. The work
    /// returns its value and whether its writes are kept: if not (or if it fails), they
    /// are rolled back and the others of the batch are not.
    pub(crate) async fn submit<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<(T, bool)>>
            + Send
            + 'static,
    {
        let (answer_tx, answer_rx) = oneshot::channel::<Result<T>>();
        let job = Job::Sqlx(Box::new(move |conn| {
            Box::pin(async move { Ran::of(work(conn).await, answer_tx) })
        }));
        self.send(job, answer_rx).await
    }

    /// `submit`, for a hot write: it runs on the writer's rusqlite connection, in `lane`.
    pub(crate) async fn submit_direct<T, F>(&self, lane: Lane, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<(T, bool)>> + Send + 'static,
    {
        let (answer_tx, answer_rx) = oneshot::channel::<Result<T>>();
        let job = Job::Direct(
            Box::new(move |conn| Box::pin(async move { Ran::of(work(conn).await, answer_tx) })),
            lane,
        );
        self.send(job, answer_rx).await
    }

    async fn send<T>(&self, job: Job, answer_rx: oneshot::Receiver<Result<T>>) -> Result<T> {
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Unavailable("the database writer has stopped".into()))?;
        answer_rx.await.map_err(|_| {
            // The writer drops a write it could not run (its transaction failed to begin
            // or broke before the write's turn) and logs why.
            StoreError::Unavailable("the database writer could not run this write".into())
        })?
    }

    pub(crate) fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            transactions: self.stats.transactions.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
        }
    }
}

/// Opens the write connection with the pragmas every SQLite connection gets.
async fn connect(url: &str) -> Result<AnyConnection> {
    let mut conn = AnyConnection::connect(url).await?;
    conn.execute(crate::SQLITE_PRAGMAS).await?;
    conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
    Ok(conn)
}

/// Copies the WAL into the database file every `CHECKPOINT_EVERY`, on a connection and a
/// thread of its own, until `stop` is dropped.
///
/// Why not the writer: SQLite checkpoints when a commit finds the WAL long enough (1,000
/// pages by default), in that commit, with an fsync at the end, so every so often one
/// batch of writes waited for a checkpoint. In the paced benchmark that was the p99
/// (8 ms; 20 ms with checkpoints of 4,000 pages). A passive checkpoint on another
/// connection takes no lock the writer needs; it copies what no reader still needs.
fn start_checkpointer(path: &str, stop: std::sync::mpsc::Receiver<()>) -> Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(crate::SQLITE_PRAGMAS)?;
    conn.busy_handler(Some(retry_briefly))?;
    std::thread::Builder::new()
        .name("missive-checkpointer".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stop.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(e) = checkpoint(&conn) {
                    tracing::warn!(error = %e, "checkpointing the WAL failed");
                }
            }
        })
        .map_err(|e| StoreError::Other(format!("cannot start the checkpointer thread: {e}")))?;
    Ok(())
}

/// One round of the checkpointer: a passive checkpoint, and a restart of the WAL once it
/// holds `WAL_RESTART_FRAMES`.
///
/// A passive checkpoint never starts the WAL over: SQLite does that when a write begins
/// and finds every frame copied and no reader on them, which under a steady load never
/// happens, so the WAL grew without end (554 MB during one fan-out of 100,000
/// deliveries). Every commit then appended to new blocks of the file, which the kernel
/// zeroes first (7 % of the writer's time), and every read searched a longer WAL index.
/// A restart waits for the writer's transaction and for the readers of the old frames
/// (50 ms at most, `retry_briefly`), holding off new writes meanwhile; then the next
/// commit writes from the start of the file again.
fn checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))?;
    if frames >= WAL_RESTART_FRAMES {
        conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// The WAL's length, in pages, past which the checkpointer starts it over: 64 MiB of
/// 4 KiB pages. `SQLITE_PRAGMAS`' `journal_size_limit` truncates the file back to that
/// size when it starts over after a longer run.
const WAL_RESTART_FRAMES: i64 = 16 * 1024;

/// The busy handler of the writer's connection: tries again every 200 µs for up to 10 s
/// (the `busy_timeout` of the others). SQLite's own handler sleeps 1, 2, 5, 10… ms
/// between tries, so a writer that found the lock held by a WAL restart (`checkpoint`)
/// overslept it by up to tens of milliseconds.
fn retry_soon(tries: i32) -> bool {
    retry_every_200_us(tries, 50_000)
}

/// The checkpointer's: a restart holds off every write while it waits for the readers
/// of the old frames, so it waits 50 ms at most, then gives up until the next round.
fn retry_briefly(tries: i32) -> bool {
    retry_every_200_us(tries, 250)
}

fn retry_every_200_us(tries: i32, most: i32) -> bool {
    if tries >= most {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_micros(200));
    true
}

/// Opens the writer's rusqlite connection to the database file at `path`, with the
/// pragmas every connection gets.
fn open_direct(path: &str) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(crate::SQLITE_PRAGMAS)?;
    // The checkpointer copies the WAL into the database file (`run_checkpointer`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.busy_handler(Some(retry_soon))?;
    // The hot writes are a few dozen distinct statements (multi-row ones in a few sizes).
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Runs the writes as they queue, until every queue handle is dropped. Each round takes
/// what is waiting into three queues and runs, each in a transaction of its own: the
/// delivery path's hot writes, then the API's hot writes for at most `API_SLICE` (the
/// rest wait for the next round), then the other writes.
///
/// Why the lanes: in one transaction with everything else, a claim waited for the notes
/// queued beside it. Sixteen notes of 1,000 deliveries each made a transaction of over
/// 100 ms, and the deliveries in flight ran out meanwhile: during the fan-out's posting the
/// delivery thread was a fifth busy. Now a claim waits for at most one slice.
async fn run(
    (mut conn, mut direct): (AnyConnection, rusqlite::Connection),
    mut jobs: mpsc::UnboundedReceiver<Job>,
    stats: &WriterStats,
) {
    let mut deliveries = VecDeque::new();
    let mut api = VecDeque::new();
    let mut other = VecDeque::new();
    loop {
        if deliveries.is_empty() && api.is_empty() && other.is_empty() {
            match jobs.recv().await {
                Some(job) => queue(job, &mut deliveries, &mut api, &mut other),
                None => break,
            }
        }
        while deliveries.len() + api.len() + other.len() < 4 * MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => queue(job, &mut deliveries, &mut api, &mut other),
                Err(_) => break,
            }
        }
        run_batch(Tx::Direct(&mut direct), &mut deliveries, None, stats).await;
        run_batch(Tx::Direct(&mut direct), &mut api, Some(API_SLICE), stats).await;
        run_batch(Tx::Sqlx(&mut conn), &mut other, None, stats).await;
    }
    let _ = conn.close().await;
}

/// Puts `job` in the queue of its kind.
fn queue(
    job: Job,
    deliveries: &mut VecDeque<Job>,
    api: &mut VecDeque<Job>,
    other: &mut VecDeque<Job>,
) {
    match &job {
        Job::Direct(_, Lane::Deliveries) => deliveries.push_back(job),
        Job::Direct(_, Lane::Api) => api.push_back(job),
        Job::Sqlx(_) => other.push_back(job),
    }
}

/// The connection a batch runs on.
enum Tx<'a> {
    Sqlx(&'a mut AnyConnection),
    Direct(&'a mut rusqlite::Connection),
}

impl Tx<'_> {
    /// Runs transaction control (no arguments, no rows).
    async fn control(&mut self, sql: &str) -> Result<()> {
        match self {
            Tx::Sqlx(conn) => {
                conn.execute(sql).await?;
            }
            // Prepared once: a batch runs these for every write in it.
            Tx::Direct(conn) if !sql.contains(';') => {
                conn.prepare_cached(sql)?.execute([])?;
            }
            Tx::Direct(conn) => conn.execute_batch(sql)?,
        }
        Ok(())
    }

    async fn run(&mut self, job: Job) -> Ran {
        match (self, job) {
            (Tx::Sqlx(conn), Job::Sqlx(job)) => job(conn).await,
            (Tx::Direct(conn), Job::Direct(job, _)) => job(Conn::Direct(conn)).await,
            // `run` queues the jobs by kind; a job on the other kind's connection
            // would break that and is refused rather than run.
            (_, job) => {
                drop(job);
                Ran {
                    ok: false,
                    answer: Box::new(|_| {}),
                }
            }
        }
    }
}

/// Runs the writes queued in `batch` in one transaction, up to `MAX_BATCH` of them, and
/// for no more than `slice` if one is given (the writes left wait in `batch`); answers
/// each write, counting the transaction in `stats` first if it committed (so that a
/// caller who got an answer sees it counted).
///
/// A lone write runs without a savepoint and its failure rolls the transaction back.
/// Several run each in a savepoint: a failing write is rolled back to it and answered with
/// its error, and the others commit. If the transaction itself fails (it cannot begin, a
/// savepoint cannot be released, the commit fails), everything in it is rolled back and
/// every write is answered with that error; the writes still queued are dropped, which
/// their callers see as `Unavailable`.
async fn run_batch(
    mut conn: Tx<'_>,
    batch: &mut VecDeque<Job>,
    slice: Option<std::time::Duration>,
    stats: &WriterStats,
) {
    if batch.is_empty() {
        return;
    }
    let started = std::time::Instant::now();
    let lone = batch.len() == 1;
    let mut answers: Vec<Box<dyn FnOnce(Result<()>) + Send>> = Vec::new();
    let ended: Result<()> = async {
        conn.control("BEGIN IMMEDIATE").await?;
        if lone {
            if let Some(job) = batch.pop_front() {
                let ran = conn.run(job).await;
                answers.push(ran.answer);
                if !ran.ok {
                    conn.control("ROLLBACK").await?;
                    return Ok(());
                }
            }
        } else {
            while answers.len() < MAX_BATCH && slice.is_none_or(|slice| started.elapsed() < slice) {
                let Some(job) = batch.pop_front() else { break };
                conn.control("SAVEPOINT write").await?;
                let ran = conn.run(job).await;
                answers.push(ran.answer);
                if ran.ok {
                    conn.control("RELEASE write").await?;
                } else {
                    conn.control("ROLLBACK TO write; RELEASE write").await?;
                }
            }
        }
        conn.control("COMMIT").await?;
        Ok(())
    }
    .await;
    if ended.is_ok() {
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        stats
            .writes
            .fetch_add(answers.len() as u64, Ordering::Relaxed);
    }
    if let Err(e) = &ended {
        tracing::error!(error = %e, writes = answers.len() + batch.len(), "a group commit failed; its writes are rolled back");
        // Leaves no transaction open for the next batch; fails harmlessly if none is.
        let _ = conn.control("ROLLBACK").await;
        batch.clear();
    }
    for answer in answers {
        answer(ended.clone());
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn wal_len(path: &Path) -> u64 {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    /// The writer's connection to a new database at `path` whose WAL holds `mib` MiB of
    /// rows that nothing has checkpointed yet.
    fn with_a_long_wal(path: &Path, mib: usize) -> rusqlite::Connection {
        let writer = open_direct(path.to_str().unwrap()).unwrap();
        writer
            .execute_batch("CREATE TABLE blobs (b BLOB NOT NULL)")
            .unwrap();
        for _ in 0..mib {
            writer
                .execute("INSERT INTO blobs (b) VALUES (zeroblob(1048576))", [])
                .unwrap();
        }
        writer
    }

    /// A connection set up as the checkpointer's.
    fn checkpointer(path: &Path) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(crate::SQLITE_PRAGMAS).unwrap();
        conn.busy_handler(Some(retry_briefly)).unwrap();
        conn
    }

    fn rows(conn: &rusqlite::Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM blobs", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_long_wal_is_started_over_and_cut_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missive.db");
        let writer = with_a_long_wal(&path, 80);
        let grown = wal_len(&path);
        assert!(grown > 80 << 20, "the WAL holds {grown} bytes");

        checkpoint(&checkpointer(&path)).unwrap();
        // The next write starts the WAL over, and the file is cut back to the limit.
        writer
            .execute("INSERT INTO blobs (b) VALUES (x'00')", [])
            .unwrap();
        let after = wal_len(&path);
        assert!(after <= 64 << 20, "the WAL still holds {after} bytes");
        assert_eq!(rows(&writer), 81, "nothing was lost");
    }

    #[test]
    fn a_restart_gives_up_soon_on_a_reader_that_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missive.db");
        let writer = with_a_long_wal(&path, 70);
        // A reader in the middle of a transaction on the WAL's frames.
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        assert_eq!(rows(&reader), 70);

        let started = std::time::Instant::now();
        checkpoint(&checkpointer(&path)).unwrap();
        // Not the 10 s `busy_timeout`: writes wait for a restart only this long.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "the restart waited {:?}",
            started.elapsed()
        );
        // The reader still sees its rows, and writes go on.
        assert_eq!(rows(&reader), 70);
        reader.execute_batch("COMMIT").unwrap();
        writer
            .execute("INSERT INTO blobs (b) VALUES (x'00')", [])
            .unwrap();
        assert_eq!(rows(&writer), 71);
    }

    #[tokio::test]
    async fn the_delivery_lane_does_not_wait_for_the_queued_api_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missive.db");
        let path = path.to_str().unwrap().to_owned();
        sqlx::any::install_default_drivers();
        let queue = WriteQueue::start(format!("sqlite://{path}?mode=rwc"), path)
            .await
            .unwrap();
        // Each API write takes far longer than `API_SLICE`, so a slice holds one.
        let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) \
                    SELECT COUNT(*) AS n FROM c";
        let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
        let write = |lane: Lane, name: &'static str| {
            let (queue, ran) = (queue.clone(), ran.clone());
            tokio::spawn(async move {
                queue
                    .submit_direct(lane, move |mut conn| {
                        Box::pin(async move {
                            conn.fetch(&crate::conn::Stmt::new(slow)).await?;
                            ran.lock().unwrap().push(name);
                            Ok(((), true))
                        })
                    })
                    .await
            })
        };
        // Queued in this order (a test's runtime runs its tasks in the order they were
        // spawned), mostly while the writer is busy with the first.
        let mut writes: Vec<_> = (0..8).map(|_| write(Lane::Api, "api")).collect();
        writes.push(write(Lane::Deliveries, "claim"));
        for write in writes {
            write.await.unwrap().unwrap();
        }
        let ran = ran.lock().unwrap();
        let claim = ran.iter().position(|name| *name == "claim").unwrap();
        assert!(
            claim <= 2,
            "the claim ran after {claim} API writes: {ran:?}"
        );
    }
}
