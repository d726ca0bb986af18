//! Copies the WAL back into the database on a thread of its own, so the writer does not wait
//! for the disk.
//!
//! A checkpoint ends with an fsync of the WAL and of the database file. Left to SQLite's
//! automatic checkpoint, the writer runs it inside a commit every 1,000 pages, and a cold
//! poll of many feeds then spends much of its wall time waiting for fsyncs
//! (`examples/poll_bench`; BENCHMARKS.md, "Polling"). Here a second connection runs PASSIVE checkpoints (which
//! never block the writer or readers) every [`CHECKPOINT_EVERY`]; the writer's own automatic
//! checkpoint stays only as a bound on the WAL's size ([`WAL_BOUND_PAGES`]), for when this
//! thread falls far behind. Which connection checkpoints changes nothing for crash safety.

use parking_lot::{Condvar, Mutex};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::{Result, StoreError};

/// How often the background connection copies committed pages into the database. A page
/// that several commits rewrite (an index page, during a burst of writes) is copied once
/// per checkpoint, so checkpoints much more often cost a cold poll cycle CPU
/// (`examples/poll_bench`), and a longer WAL costs readers nothing that shows.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(1000);

/// The WAL size (in pages) at which the writer checkpoints by itself after all: bounds the
/// file (256 MiB) when the background checkpoints cannot finish because commits keep
/// coming, as in a cold poll of many feeds; a bound much lower would have the writer
/// checkpoint (and wait) during a cold cycle after all (`examples/poll_bench`).
pub const WAL_BOUND_PAGES: u32 = 65_536;

/// The size the WAL file is cut back to once it has been checkpointed in full.
pub const WAL_KEEP_BYTES: i64 = 16 * 1024 * 1024;

/// The background checkpoint thread of one database; stops (promptly) when dropped.
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a second connection to the WAL database at `path` and starts checkpointing it.
    pub fn spawn(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open(path)?;
        super::wait_for_writers(&conn)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || run(&conn, &signal))
            .map_err(|error| StoreError::Thread {
                what: "checkpoint",
                error,
            })?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

fn run(conn: &Connection, stop: &(Mutex<bool>, Condvar)) {
    let (lock, wake) = stop;
    let mut stopped = lock.lock();
    while !*stopped {
        wake.wait_for(&mut stopped, CHECKPOINT_EVERY);
        if *stopped {
            break;
        }
        drop(stopped);
        // A failure (busy, I/O) only means this round copied less; the writer's own bound
        // still holds, so it is logged and retried next round.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "background checkpoint failed");
        }
        stopped = lock.lock();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock() = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::Store;

    /// Commits reach the database file although the writer's own checkpoint never runs (its
    /// bound is far away): the background connection copied them.
    #[test]
    fn commits_reach_the_database_file_without_the_writer_checkpointing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path).unwrap();
        let start = std::fs::metadata(&path).unwrap().len();
        let padding = "x".repeat(1000);
        for i in 0..200 {
            store
                .sqlite()
                .unwrap()
                .execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    (format!("k{i}"), &padding),
                )
                .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&path).unwrap().len() < start + 150_000 {
            assert!(Instant::now() < deadline, "nothing was checkpointed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
