//! The daemon's numbers, in one place: how the writer groups, queues and retries writes,
//! how many threads prepare documents and at what priority, how often the loops look again
//! (the schedule in the database, feeds.toml, the article pages due), retention, start-up,
//! shutdown, the watchdog, the metrics and the WebSub hub's pings.
//!
//! What decides *when a feed is polled* (backoff, `Retry-After`, interval floors) is the
//! schedule stage's, in `schedule/policy.rs`; how a request is made, the fetch stage's, in
//! `fetch/policy.rs`.

use std::time::Duration;

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
/// further failure, at most [`WRITE_RETRY_MAX`]. The scheduler waits as long between
/// attempts to claim the feeds due while PostgreSQL cannot be reached.
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
/// process's own priority and gets a core whenever it has work (at equal priority it waits
/// for one: `examples/poll_bench`, BENCHMARKS.md "Polling"). 10 levels give it about nine
/// tenths of a contended core, whatever nice value the process was started at.
pub const PREPARE_NICE: i32 = 10;

/// Article pages fetched at once by one round at most (`daemon/pages.rs`; each also waits
/// for the fetch limits).
pub const PAGES_PER_ROUND: usize = 256;

/// The longest an article page waits for its host's page budget within one round; a host
/// held back longer (its `Retry-After`) has its pages deferred to then, so `tributary
/// fetch` never waits on it (a 429 asking for an hour held a one-shot fetch for an hour).
pub const MAX_TURN_WAIT: Duration = Duration::from_secs(5);

/// The daemon re-reads every feed's due time from the database at least this often, to see
/// `feeds enable` and `fetch` run by the CLI meanwhile; the page loop looks for pages due
/// at least as often.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// How often the daemon looks at feeds.toml for changes.
pub const CONFIG_POLL: Duration = Duration::from_secs(2);

/// How often the daemon prunes stories older than `[storage].retention`.
pub const RETENTION_EVERY: Duration = Duration::from_secs(24 * 3600);

/// The first pruning runs this long after start, out of the start-up rush.
pub const RETENTION_FIRST: Duration = Duration::from_secs(60);

/// Stories deleted per pruning transaction: small, so a fetch waits milliseconds at most.
pub const PRUNE_BATCH: usize = 200;

/// How long systemd is asked to wait for the database to open before the daemon reports
/// ready: opening brings the schema up to date, and an upgrade may rewrite a large
/// database once (schema v3 rewrites the articles table), far beyond systemd's default
/// start timeout of 90 s — which would kill the upgrade and restart it, forever.
pub const OPEN_ALLOWANCE: Duration = Duration::from_secs(15 * 60);

/// On SIGTERM, in-flight polls get this long to finish before they are abandoned, and the
/// HTTP server as long to close its connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// After the grace period, how long abandoned work on tokio's blocking pool may still take
/// before the process exits anyway; the unit's TimeoutStopSec covers both. Parsing and
/// writing run on threads of their own (`preparers.rs`, `writer.rs`), outside this bound:
/// the writer finishes its queue (at most [`WRITE_QUEUE_FEEDS`] documents) when the last
/// poll lets go of it, and a transaction that the exit cuts short rolls back.
pub const STOP_LINGER: Duration = Duration::from_secs(3);

/// systemd's watchdog is pinged this many times per `WatchdogSec` period (its
/// recommendation: at half the period), and each ping waits for the database at most that
/// share of the period.
pub const WATCHDOG_PINGS_PER_PERIOD: u32 = 2;

/// The watchdog never ticks more often than this, however short the period.
pub const WATCHDOG_MIN_TICK: Duration = Duration::from_millis(100);

/// How often histogram upkeep runs for `/metrics`.
pub const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Buckets of the fetch duration histogram (`tributary_fetch_duration_seconds`), in
/// seconds: from a quick answer of a nearby host to `[fetch].timeout`'s range.
pub const FETCH_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// The shortest time between two pings of the WebSub hub (`daemon/websub.rs`): public hubs
/// throttle publishers that ping more often, and a subscriber's reader gains nothing from
/// updates closer together than its own refresh. Changes meanwhile wait for the next ping.
pub const WEBSUB_MIN_INTERVAL: Duration = Duration::from_secs(60);

/// How long a daemon on PostgreSQL holds a due feed it claimed before another daemon may
/// poll it (its daemon died mid-poll), unless `[fetch] lease` says otherwise: longer than a
/// poll takes (the fetch timeout, the wait for the writer), short enough that a feed of a
/// dead daemon waits at most this beyond its due time.
pub const FEED_LEASE: Duration = Duration::from_secs(5 * 60);

/// How often a daemon on PostgreSQL looks for documents the others handed over to the
/// placer, and for the placer role when another daemon holds it: the placer's delay behind
/// the fetching daemons, and how soon a placer that died is replaced.
pub const HANDOVER_POLL: Duration = Duration::from_millis(500);

/// Groups of handed-over documents the placer places before it looks at its own queue again.
pub const HANDOVER_GROUPS_PER_TURN: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_retries_a_failing_database_after_one_second_doubling_to_a_minute() {
        let waits: Vec<u64> = (1..=8).map(|n| write_retry_wait(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(write_retry_wait(u32::MAX), WRITE_RETRY_MAX);
    }
}
