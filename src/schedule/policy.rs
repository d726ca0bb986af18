//! The scheduling policy's numbers and the pure rules built on them: how long a failing,
//! rate-limited or cache-hinting feed waits. Everything the issue calls "policy" is here.

use std::time::Duration;

/// Backoff after repeated failures never waits longer than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// Backoff adds up to this fraction of the delay at random (per feed and attempt), so
/// feeds that failed together do not retry together.
pub const BACKOFF_JITTER: f64 = 0.2;

/// A `Retry-After` is honoured up to this long; longer requests are cut to it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// `<ttl>`, `Cache-Control: max-age` and `Expires` may slow a feed down to this at most.
pub const MAX_INTERVAL_FLOOR: Duration = Duration::from_secs(24 * 3600);

/// On SIGTERM, in-flight polls get this long to finish before they are abandoned.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often the daemon prunes stories older than `[storage].retention`.
pub const RETENTION_EVERY: Duration = Duration::from_secs(24 * 3600);

/// The first pruning runs this long after start, out of the start-up rush.
pub const RETENTION_FIRST: Duration = Duration::from_secs(60);

/// Stories deleted per pruning transaction: small, so a fetch waits milliseconds at most.
pub const PRUNE_BATCH: usize = 200;

/// The daemon re-reads every feed's due time from the database at least this often, to see
/// `feeds enable` and `fetch` run by the CLI meanwhile.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// How often the daemon looks at feeds.toml for changes.
pub const CONFIG_POLL: Duration = Duration::from_secs(2);

/// The wait before retry number `failures` (1 for the first failure) of a feed polled every
/// `interval`: the interval doubled per failure, jittered, at most [`MAX_BACKOFF`]. `seed`
/// (the feed's URL) makes the jitter stable per feed and attempt.
pub fn backoff(interval: Duration, failures: u32, seed: &str) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    let base = interval
        .max(Duration::from_secs(1))
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF);
    let roll = xxhash_rust::xxh3::xxh3_64(format!("{seed}#{failures}").as_bytes());
    let fraction = (roll >> 11) as f64 / (1u64 << 53) as f64;
    base.mul_f64(1.0 + BACKOFF_JITTER * fraction)
        .min(MAX_BACKOFF)
}

/// The interval floor a feed's hints ask for: the largest of `<ttl>` and the HTTP
/// freshness, at most [`MAX_INTERVAL_FLOOR`]; `None` when there is no hint.
pub fn interval_floor(ttl_minutes: Option<u32>, fresh_for: Option<Duration>) -> Option<Duration> {
    let ttl = ttl_minutes.map(|m| Duration::from_secs(u64::from(m) * 60));
    let floor = ttl.into_iter().chain(fresh_for).max()?;
    Some(floor.min(MAX_INTERVAL_FLOOR))
}

/// A server's `Retry-After`, bounded by [`MAX_RETRY_AFTER`].
pub fn retry_wait(retry_after: Duration) -> Duration {
    retry_after.min(MAX_RETRY_AFTER)
}

/// Feeds written in one transaction at most (group commit, `daemon/writer.rs`): a commit
/// costs about as much as a feed of 50 new articles, and a group of this size still
/// commits within a fraction of a second.
pub const WRITE_GROUP_FEEDS: usize = 32;

/// Article pages recorded in one transaction at most: a page is one copy's update, so a
/// group of pages costs about what one feed of that many new articles does.
pub const WRITE_GROUP_PAGES: usize = 64;

/// Parsed documents waiting for the writer at most: bounds their memory, and holds back
/// fetching when the writer is the bottleneck.
pub const WRITE_QUEUE_FEEDS: usize = 24;

/// The daemon's writer waits this long before writing again what a whole-database failure
/// (disk full, I/O error, corruption, a lock held past the busy timeout) held back, and
/// twice as long after each further failure, up to [`WRITE_RETRY_MAX`]. A failed attempt
/// costs one rolled-back transaction (milliseconds), so starting at a second lets a short
/// outage (a checkpoint freeing WAL space, a CLI holding the lock) pass almost unnoticed.
pub const WRITE_RETRY_FIRST: Duration = Duration::from_secs(1);

/// The longest wait between the writer's attempts during a whole-database failure: once
/// the operator frees space or repairs the file, the daemon notices within this long. A
/// minute of held-back polls is also what a feed's slot allows for at the finest schedule
/// feeds.toml usually sets (every few minutes), so nothing waits a whole slot.
pub const WRITE_RETRY_MAX: Duration = Duration::from_secs(60);

/// The wait before the writer's attempt number `failures + 1` during a whole-database
/// failure (`failures` ≥ 1 attempts have failed): [`WRITE_RETRY_FIRST`] doubled per
/// further failure, at most [`WRITE_RETRY_MAX`].
pub fn write_retry_wait(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    WRITE_RETRY_FIRST
        .saturating_mul(1u32 << doublings)
        .min(WRITE_RETRY_MAX)
}

/// Threads that parse and fingerprint fetched documents (`daemon/preparers.rs`): one per
/// core, so no core idles while the writer waits for work.
pub fn preparing_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How many nice levels nicer than the process the preparing threads run: the writer, the
/// one serial stage of a poll cycle and its bottleneck on a cold start, runs at the
/// process's own priority and gets a core whenever it has work (measured with
/// `examples/poll_bench` on 2 cores: at equal priority it waited for a core for a third of
/// the cycle). 10 levels give it about nine tenths of a contended core, whatever nice value
/// the process was started at.
pub const PREPARE_NICE: i32 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_interval_with_bounded_jitter_and_a_cap() {
        let i = Duration::from_secs(900);
        let first = backoff(i, 1, "u");
        assert!(first >= i && first <= i.mul_f64(1.0 + BACKOFF_JITTER));
        let third = backoff(i, 3, "u");
        assert!(third >= i * 4 && third <= (i * 4).mul_f64(1.0 + BACKOFF_JITTER));
        assert_eq!(backoff(i, 40, "u"), MAX_BACKOFF);
        assert_eq!(backoff(i, 3, "u"), third, "stable per feed and attempt");
        assert_ne!(
            backoff(i, 3, "u"),
            backoff(i, 3, "v"),
            "jitter differs per feed"
        );
    }

    #[test]
    fn the_writer_retries_a_failing_database_after_one_second_doubling_to_a_minute() {
        let waits: Vec<u64> = (1..=8).map(|n| write_retry_wait(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(write_retry_wait(u32::MAX), WRITE_RETRY_MAX);
    }

    #[test]
    fn floors_and_retry_waits_are_capped() {
        assert_eq!(interval_floor(None, None), None);
        assert_eq!(
            interval_floor(Some(60), Some(Duration::from_secs(10))),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            interval_floor(Some(100_000), None),
            Some(MAX_INTERVAL_FLOOR)
        );
        assert_eq!(retry_wait(Duration::from_secs(1 << 40)), MAX_RETRY_AFTER);
    }
}
