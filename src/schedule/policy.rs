//! The numbers that decide *when a feed is polled*, and the pure rules built on them: how
//! long a failing, rate-limited or cache-hinting feed waits, and where a schedule without a
//! next occurrence puts its feed. The state machine that applies them after each poll is
//! `state.rs`; the daemon's own numbers (writer, retention, shutdown) are in
//! `daemon/policy.rs`.

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

/// Where a schedule without any further occurrence (a pattern that never matches again)
/// puts its feed: a day later, so it is retried rather than forgotten.
pub const NO_OCCURRENCE_RETRY: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The wait before retry number `failures` (1 for the first failure) of a feed polled every
/// `interval`: the interval doubled per failure, jittered, at most [`MAX_BACKOFF`]. `seed`
/// (the feed's key, its normalised URL) makes the jitter stable per feed and attempt.
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
