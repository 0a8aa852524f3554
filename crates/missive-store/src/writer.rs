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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::{BoxFuture, Result, StoreError};

/// At most this many writes share a transaction, so that one commit's latency stays
/// bounded however deep the queue.
const MAX_BATCH: usize = 128;

/// A write as the writer runs it: the caller's work, typed away. It returns whether the
/// work's writes are kept (a failed or abandoned one is rolled back to its savepoint) and
/// how to answer the caller once the transaction has ended.
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Ran> + Send>;

struct Ran {
    ok: bool,
    answer: Box<dyn FnOnce(Result<()>) + Send>,
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
    pub(crate) async fn start(url: String) -> Result<WriteQueue> {
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
                    let conn = match connect(&url).await {
                        Ok(conn) => conn,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    run(conn, jobs_rx, &thread_stats).await;
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
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = work(conn).await;
                Ran {
                    ok: matches!(result, Ok((_, true))),
                    answer: Box::new(move |ended: Result<()>| {
                        // The work's own error wins; a failed commit fails the rest.
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
            })
        });
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
    Ok(conn)
}

/// Takes the writes that are waiting, up to `MAX_BATCH`, and runs them in one transaction,
/// until every queue handle is dropped.
async fn run(mut conn: AnyConnection, mut jobs: mpsc::UnboundedReceiver<Job>, stats: &WriterStats) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let writes = batch.len() as u64;
        if run_batch(&mut conn, &mut batch).await {
            stats.transactions.fetch_add(1, Ordering::Relaxed);
            stats.writes.fetch_add(writes, Ordering::Relaxed);
        }
        batch.clear();
    }
    let _ = conn.close().await;
}

/// Runs `batch` in one transaction and answers each write. Returns whether it committed.
///
/// A lone write runs without a savepoint and its failure rolls the transaction back.
/// Several run each in a savepoint: a failing write is rolled back to it and answered with
/// its error, and the others commit. If the transaction itself fails (it cannot begin, a
/// savepoint cannot be released, the commit fails), everything in it is rolled back and
/// every write is answered with that error; writes not yet run are dropped, which their
/// callers see as `Unavailable`.
async fn run_batch(conn: &mut AnyConnection, batch: &mut Vec<Job>) -> bool {
    let lone = batch.len() == 1;
    let mut answers: Vec<Box<dyn FnOnce(Result<()>) + Send>> = Vec::with_capacity(batch.len());
    let ended: Result<()> = async {
        conn.execute("BEGIN IMMEDIATE").await?;
        if lone {
            if let Some(job) = batch.pop() {
                let ran = job(conn).await;
                answers.push(ran.answer);
                if !ran.ok {
                    conn.execute("ROLLBACK").await?;
                    return Ok(());
                }
            }
        } else {
            for job in batch.drain(..) {
                conn.execute("SAVEPOINT write").await?;
                let ran = job(conn).await;
                answers.push(ran.answer);
                if ran.ok {
                    conn.execute("RELEASE write").await?;
                } else {
                    conn.execute("ROLLBACK TO write; RELEASE write").await?;
                }
            }
        }
        conn.execute("COMMIT").await?;
        Ok(())
    }
    .await;
    let committed = ended.is_ok();
    if let Err(e) = &ended {
        tracing::error!(error = %e, writes = answers.len() + batch.len(), "a group commit failed; its writes are rolled back");
        // Leaves no transaction open for the next batch; fails harmlessly if none is.
        let _ = conn.execute("ROLLBACK").await;
    }
    batch.clear();
    for answer in answers {
        answer(ended.clone());
    }
    committed
}
