//! Password hashing and verification on a fixed pool of threads with a bounded queue.
//!
//! Argon2id is slow and memory-hard on purpose (19 MiB per hash with the default
//! parameters). Run on tokio's blocking pool, every concurrent sign-in got a thread and
//! its own 19 MiB: 400 anonymous requests with wrong passwords held 2.27 GB. Here at
//! most `threads` hashes run at once and at most `queue` wait; anything beyond is refused
//! at once with [`HashError::Busy`], which the API answers as a rate-limit error, so memory stays
//! bounded whatever the request rate.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString, rand_core::OsRng,
};
use tokio::sync::oneshot;

/// A hash that could not be computed (a wrong password is not an error).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The pool is full: too many hashes are running or waiting.
    #[error("the password hashing pool is busy")]
    Busy,
    /// Something went wrong inside the hashing thread itself.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

type Job = Box<dyn FnOnce() + Send>;

/// A handle to the hashing threads; cloning it shares the same pool.
#[derive(Clone)]
pub struct PasswordPool {
    jobs: SyncSender<Job>,
    threads: usize,
    queue: usize,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("threads", &self.threads)
            .field("queue", &self.queue)
            .finish()
    }
}

impl PasswordPool {
    /// Starts `threads` hashing threads (at least one) that take jobs from a queue of
    /// `queue` places. The threads end when the last handle is dropped.
    pub fn new(threads: usize, queue: usize) -> std::io::Result<PasswordPool> {
        let threads = threads.max(1);
        let (jobs, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("missive-password-{n}"))
                .spawn(move || run_jobs(&receiver))?;
        }
        Ok(PasswordPool {
            jobs,
            threads,
            queue,
        })
    }

    /// One thread per core (so hashing can never take more than the machine has), with
    /// a queue of a few jobs per thread: enough to absorb a burst of honest sign-ins.
    pub fn for_this_machine() -> std::io::Result<PasswordPool> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        PasswordPool::new(cores, 8 * cores)
    }

    /// Hashes `password` with Argon2id and a fresh salt, as a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await?
    }

    /// Whether `password` matches the stored PHC `hash`; an unreadable hash matches nothing.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, HashError> {
        self.run(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
    }

    /// Queues `work` without waiting for a place and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        self.submit(work)?
            .await
            .map_err(|_| HashError::Failed("a hashing thread stopped mid-job".into()))
    }

    /// Queues `work` now, or refuses it at once with [`HashError::Busy`] if the queue is full.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, HashError> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller may have gone away (its request was cancelled): nothing to tell.
            let _ = done.send(work());
        });
        match self.jobs.try_send(job) {
            Ok(()) => Ok(result),
            Err(TrySendError::Full(_)) => Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                Err(HashError::Failed("the hashing threads are gone".into()))
            }
        }
    }
}

fn run_jobs(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // Only one idle thread waits on the channel at a time; the others wait for the lock.
        let job = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies() {
        let pool = PasswordPool::new(1, 4).unwrap();
        let hash = pool.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            pool.verify("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!pool.verify("wrong".into(), hash).await.unwrap());
        assert!(!pool.verify("x".into(), "not a hash".into()).await.unwrap());
    }

    #[tokio::test]
    async fn refuses_work_beyond_its_queue_at_once() {
        let pool = PasswordPool::new(1, 2).unwrap();
        // Hold the only thread so that jobs pile up in the queue.
        let (started, has_started) = std::sync::mpsc::channel::<()>();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let blocker = pool
            .submit(move || {
                started.send(()).unwrap();
                hold.recv().unwrap();
            })
            .unwrap();
        tokio::task::spawn_blocking(move || has_started.recv().unwrap())
            .await
            .unwrap();
        let queued: Vec<_> = (0..2).map(|i| pool.submit(move || i).unwrap()).collect();
        assert!(matches!(pool.submit(|| 99), Err(HashError::Busy)));
        release.send(()).unwrap();
        blocker.await.unwrap();
        for (i, job) in queued.into_iter().enumerate() {
            assert_eq!(job.await.unwrap(), i);
        }
        // Room again once the queue drained.
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }
}
