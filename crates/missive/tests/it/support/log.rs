//! The log of the in-process servers, kept per test and printed when the test fails or
//! `TEST_LOG` is set.
//!
//! One subscriber is installed for the whole test binary. It writes each event into a
//! buffer of the thread that emitted it: the harness runs every test on its own thread
//! and `#[tokio::test]` runs the server's tasks on that thread, so the buffer of a
//! test's thread holds that test's server log and no other test's.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Once;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A writer into the current thread's buffer.
struct ThreadBuffer;

impl Write for ThreadBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        BUFFER.with(|buffer| buffer.borrow_mut().extend_from_slice(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether every test prints its servers' log, not only a failing one.
pub fn wanted() -> bool {
    std::env::var_os("TEST_LOG").is_some()
}

/// Installs the capturing subscriber once per test binary. `TEST_LOG` may name the
/// filter (e.g. `TEST_LOG=debug`); otherwise, as the binary does, `info`.
pub fn capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let filter = match std::env::var("TEST_LOG") {
            Ok(value) if !value.is_empty() && value != "1" => {
                tracing_subscriber::EnvFilter::try_new(value)
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
            }
            _ => tracing_subscriber::EnvFilter::new("info"),
        };
        // Another subscriber may already be set (none is today); the log is then lost,
        // not the test.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(|| ThreadBuffer)
            .try_init();
    });
}

/// Prints and empties this thread's log, under `title`, if the test is failing or
/// `TEST_LOG` is set.
pub fn print_if_wanted(title: &str) {
    if !(std::thread::panicking() || wanted()) {
        return;
    }
    let text = BUFFER.with(|buffer| std::mem::take(&mut *buffer.borrow_mut()));
    if text.is_empty() {
        return;
    }
    eprintln!("--- log of {title}:\n{}", String::from_utf8_lossy(&text));
}
