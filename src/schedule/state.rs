//! The feed-state machine: after a poll — a 200, a 304, a 410, a 429 or 503 with
//! `Retry-After`, or any failure — the feed's next [`FetchState`], and with it when the feed
//! is due again.
//!
//! One pure function, [`next_state`]: the state before the poll, what the poll observed, the
//! feed's schedule and the time in; the state to store out. ([`first_due`] places a feed
//! that has no due time yet.) No I/O and no clock of its own,
//! so every rule of the state machine is here and tested here; the numbers it applies are in
//! [`policy`], the slots it picks come from [`plan`]. The daemon's poll (`daemon/poll.rs`)
//! turns what it fetched and parsed into an [`Observed`], calls it, and stores the result
//! with the poll's articles.
//!
//! Backoff jitter is a hash of the feed's key and its error count ([`policy::backoff`]), so
//! the due time is a function of the inputs alone: a restart does not move it, and tests
//! assert it exactly.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{plan, policy};
use crate::config::CronSchedule;
use crate::model::{FailureKind, FetchState, FetchStatus};

/// The feed a state belongs to, as the schedule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Feed<'a> {
    /// The feed's normalised URL: the seed of its slot offset ([`plan::next_due`]) and of
    /// its backoff jitter ([`policy::backoff`]).
    pub key: &'a str,
    /// The schedule in force for it.
    pub schedule: &'a CronSchedule,
}

/// What one poll observed, as far as the schedule cares.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The final HTTP status, when a server answered.
    pub http: Option<u16>,
    /// How the poll ended.
    pub outcome: Outcome,
}

/// How a poll ended (the schedule's view of `fetch::FetchOutcome` after parsing and
/// storing).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 200 with a document that parsed.
    Fetched {
        /// The response's `ETag`.
        etag: Option<String>,
        /// The response's `Last-Modified`.
        last_modified: Option<String>,
        /// `Cache-Control: max-age` or `Expires`, as a duration from now.
        fresh_for: Option<Duration>,
        /// The document's `<ttl>`, in minutes.
        ttl_minutes: Option<u32>,
        /// A permanent redirect (301/308) followed on the way: polled from now on.
        moved_to: Option<String>,
    },
    /// 304: unchanged since the stored validators.
    NotModified {
        /// An `ETag` the 304 carried (else the stored one stays).
        etag: Option<String>,
        /// A `Last-Modified` the 304 carried (else the stored one stays).
        last_modified: Option<String>,
        /// `Cache-Control: max-age` or `Expires` the 304 carried (else the stored floor
        /// stays).
        fresh_for: Option<Duration>,
        /// A permanent redirect (301/308) followed on the way.
        moved_to: Option<String>,
    },
    /// 410: the feed is gone for good.
    Gone {
        /// The URL that answered 410.
        url: String,
    },
    /// 429 or 503 with a `Retry-After`.
    RateLimited {
        /// The URL that asked us to wait.
        url: String,
        /// How long it asked us to wait (not yet bounded).
        retry_after: Duration,
    },
    /// Anything else: transport, timeout, size, redirect or HTTP failure, a document that
    /// does not parse, writes that could not be stored, an internal error.
    Failed {
        /// Its class, for `feeds list` and the metrics.
        kind: FailureKind,
        /// One sentence for `feeds list` and the log.
        error: String,
    },
}

/// The state after a poll of `feed` that observed `seen` at `now`, the state before it being
/// `old`:
///
/// - **200 / 304**: the error streak ends; the next slot of the schedule at or after the
///   interval floor the feed asked for ([`policy::interval_floor`]: `<ttl>`, `max-age`,
///   `Expires`; a 304 without a hint keeps the stored floor); validators recorded (a 304's
///   missing ones kept); a permanent redirect recorded; the 410 mark cleared.
/// - **410**: marked gone, not due again until `tributary feeds enable`; one more error.
/// - **429 / 503 with `Retry-After`**: one more error; the first slot after the wait asked
///   for, bounded by [`policy::MAX_RETRY_AFTER`].
/// - **any failure**: one more error; retried after [`policy::backoff`] from the schedule's
///   interval, jittered per feed and attempt.
///
/// Everything the poll did not observe (validators after a failure, a recorded redirect, the
/// floor) is kept.
pub fn next_state(
    old: &FetchState,
    seen: Observed,
    feed: Feed<'_>,
    now: DateTime<Utc>,
) -> FetchState {
    let http = seen.http;
    let polled = FetchState {
        last_fetch: Some(now),
        last_http: http,
        ..old.clone()
    };
    match seen.outcome {
        Outcome::Fetched {
            etag,
            last_modified,
            fresh_for,
            ttl_minutes,
            moved_to,
        } => {
            let floor = policy::interval_floor(ttl_minutes, fresh_for);
            let cached = Validated {
                etag,
                last_modified,
                floor,
                moved_to,
            };
            succeeded(polled, FetchStatus::Ok, cached, feed, now)
        }
        Outcome::NotModified {
            etag,
            last_modified,
            fresh_for,
            moved_to,
        } => {
            let kept_floor = old
                .interval_floor
                .map(|s| Duration::from_secs(s.max(0) as u64));
            let cached = Validated {
                etag: etag.or_else(|| old.etag.clone()),
                last_modified: last_modified.or_else(|| old.last_modified.clone()),
                floor: policy::interval_floor(None, fresh_for).or(kept_floor),
                moved_to,
            };
            succeeded(polled, FetchStatus::NotModified, cached, feed, now)
        }
        Outcome::Gone { url } => FetchState {
            last_status: Some(FetchStatus::Gone),
            last_error: Some(format!(
                "{url} answered 410 Gone: polling stopped until `tributary feeds enable`"
            )),
            last_error_kind: Some(FailureKind::Gone),
            error_count: old.error_count.saturating_add(1),
            next_fetch: None,
            gone: true,
            ..polled
        },
        Outcome::RateLimited { url, retry_after } => {
            let wait = policy::retry_wait(retry_after);
            let resume = now + chrono::Duration::from_std(wait).unwrap_or_default();
            FetchState {
                last_status: Some(FetchStatus::RateLimited),
                last_error: Some(format!(
                    "{url} is rate limiting us (HTTP {}): waiting {} s as it asked",
                    http.unwrap_or_default(),
                    wait.as_secs()
                )),
                last_error_kind: Some(FailureKind::RateLimited),
                error_count: old.error_count.saturating_add(1),
                next_fetch: Some(plan::next_due(feed.schedule, feed.key, resume)),
                ..polled
            }
        }
        Outcome::Failed { kind, error } => {
            let failures = old.error_count.saturating_add(1);
            let interval = plan::interval(feed.schedule, now);
            let wait = policy::backoff(interval, failures, feed.key);
            FetchState {
                last_status: Some(FetchStatus::Error),
                last_error: Some(error),
                last_error_kind: Some(kind),
                error_count: failures,
                next_fetch: Some(now + chrono::Duration::from_std(wait).unwrap_or_default()),
                ..polled
            }
        }
    }
}

/// When a feed without a due time is due: at once if it was never polled (a new feed, a
/// first start: the fetch limits bound the burst), else at its next slot (a feed that
/// `feeds enable` brought back continues on its schedule).
pub fn first_due(old: &FetchState, feed: Feed<'_>, now: DateTime<Utc>) -> DateTime<Utc> {
    match old.last_fetch {
        None => now,
        Some(_) => plan::next_due(feed.schedule, feed.key, now),
    }
}

/// What a 200 or 304 leaves for the next poll.
struct Validated {
    etag: Option<String>,
    last_modified: Option<String>,
    floor: Option<Duration>,
    moved_to: Option<String>,
}

/// The state after a 200 or 304: errors cleared, the next slot at or after the floor.
fn succeeded(
    polled: FetchState,
    status: FetchStatus,
    cached: Validated,
    feed: Feed<'_>,
    now: DateTime<Utc>,
) -> FetchState {
    let earliest =
        now + chrono::Duration::from_std(cached.floor.unwrap_or_default()).unwrap_or_default();
    FetchState {
        etag: cached.etag,
        last_modified: cached.last_modified,
        last_status: Some(status),
        last_error: None,
        last_error_kind: None,
        error_count: 0,
        next_fetch: Some(plan::next_due(feed.schedule, feed.key, earliest)),
        redirect_url: cached.moved_to.or(polled.redirect_url.clone()),
        gone: false,
        interval_floor: cached.floor.map(|f| f.as_secs() as i64),
        ..polled
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::schedule::{Clock, ManualClock};

    /// The feed of every case: polled every quarter hour, its key putting its slot at
    /// 13 min 6 s past the hour and every quarter after ([`plan::next_due`]).
    const KEY: &str = "https://outlet.example/rss";

    fn at(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, h, m, s).unwrap()
    }

    /// Every case starts at 08:00:00 on the 28th.
    fn clock() -> ManualClock {
        ManualClock::new(at(28, 8, 0, 0))
    }

    /// A feed polled before: validators, a recorded permanent redirect, a 30-minute floor.
    fn before() -> FetchState {
        FetchState {
            feed_id: 7,
            url: KEY.into(),
            etag: Some("\"v1\"".into()),
            last_modified: Some("Mon, 14 Jul 2025 12:00:00 GMT".into()),
            last_fetch: Some(at(28, 7, 43, 6)),
            last_status: Some(FetchStatus::Ok),
            last_http: Some(200),
            last_error: None,
            last_error_kind: None,
            error_count: 0,
            next_fetch: Some(at(28, 8, 13, 6)),
            redirect_url: Some("https://moved.example/rss".into()),
            gone: false,
            interval_floor: Some(1800),
        }
    }

    /// The same feed in the middle of a streak of `errors` failures.
    fn failing(errors: u32) -> FetchState {
        FetchState {
            last_status: Some(FetchStatus::Error),
            last_http: Some(503),
            last_error: Some("https://outlet.example/rss: HTTP 503".into()),
            last_error_kind: Some(FailureKind::HttpStatus),
            error_count: errors,
            ..before()
        }
    }

    fn after(
        old: &FetchState,
        http: Option<u16>,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> FetchState {
        let schedule: CronSchedule = "*/15 * * * *".parse().unwrap();
        let feed = Feed {
            key: KEY,
            schedule: &schedule,
        };
        next_state(old, Observed { http, outcome }, feed, now)
    }

    fn ok(
        etag: Option<&str>,
        fresh_for: Option<u64>,
        ttl_minutes: Option<u32>,
        moved_to: Option<&str>,
    ) -> Outcome {
        Outcome::Fetched {
            etag: etag.map(str::to_string),
            last_modified: None,
            fresh_for: fresh_for.map(Duration::from_secs),
            ttl_minutes,
            moved_to: moved_to.map(str::to_string),
        }
    }

    fn not_modified(etag: Option<&str>, fresh_for: Option<u64>, moved_to: Option<&str>) -> Outcome {
        Outcome::NotModified {
            etag: etag.map(str::to_string),
            last_modified: None,
            fresh_for: fresh_for.map(Duration::from_secs),
            moved_to: moved_to.map(str::to_string),
        }
    }

    #[test]
    fn a_200_ends_the_streak_and_takes_the_first_slot_the_feeds_hints_allow() {
        let clock = clock();
        // (case, state before, what the 200 carried, floor, next due, redirect, etag)
        let cases = [
            (
                "no hints: the next slot",
                failing(3),
                ok(Some("\"v2\""), None, None, None),
                None,
                at(28, 8, 13, 6),
                Some("https://moved.example/rss"),
                Some("\"v2\""),
            ),
            (
                "a <ttl> of an hour: the first slot an hour on",
                before(),
                ok(None, None, Some(60), None),
                Some(3600),
                at(28, 9, 13, 6),
                Some("https://moved.example/rss"),
                None,
            ),
            (
                "max-age longer than the <ttl> wins",
                before(),
                ok(None, Some(7200), Some(60), None),
                Some(7200),
                at(28, 10, 13, 6),
                Some("https://moved.example/rss"),
                None,
            ),
            (
                "a week's <ttl> is cut to a day",
                before(),
                ok(None, None, Some(7 * 24 * 60), None),
                Some(86_400),
                at(29, 8, 13, 6),
                Some("https://moved.example/rss"),
                None,
            ),
            (
                "a permanent redirect is recorded",
                before(),
                ok(None, None, None, Some("https://new.example/rss")),
                None,
                at(28, 8, 13, 6),
                Some("https://new.example/rss"),
                None,
            ),
            (
                "a feed enabled again after a 410 loses its mark",
                FetchState {
                    gone: true,
                    next_fetch: None,
                    ..failing(1)
                },
                ok(None, None, None, None),
                None,
                at(28, 8, 13, 6),
                Some("https://moved.example/rss"),
                None,
            ),
        ];
        for (case, old, outcome, floor, due, redirect, etag) in cases {
            let now = clock.now();
            let new = after(&old, Some(200), outcome, now);
            assert_eq!(new.error_count, 0, "{case}");
            assert_eq!(new.last_status, Some(FetchStatus::Ok), "{case}");
            assert_eq!((new.last_error, new.last_http), (None, Some(200)), "{case}");
            assert_eq!(new.last_error_kind, None, "{case}");
            assert_eq!(new.last_fetch, Some(now), "{case}");
            assert_eq!(new.interval_floor, floor, "{case}");
            assert_eq!(new.next_fetch, Some(due), "{case}");
            assert_eq!(new.redirect_url.as_deref(), redirect, "{case}");
            assert_eq!(
                new.etag.as_deref(),
                etag,
                "{case}: a 200's validators replace the old"
            );
            assert!(!new.gone, "{case}");
        }
    }

    #[test]
    fn a_304_keeps_the_validators_and_floor_it_does_not_renew() {
        let clock = clock();
        // (case, state before, what the 304 carried, etag, floor, next due, redirect)
        let cases = [
            (
                "a bare 304: the stored validators and floor stay",
                failing(2),
                not_modified(None, None, None),
                Some("\"v1\""),
                Some(1800),
                at(28, 8, 43, 6),
                Some("https://moved.example/rss"),
            ),
            (
                "a new ETag and max-age replace them",
                before(),
                not_modified(Some("\"v2\""), Some(3600), None),
                Some("\"v2\""),
                Some(3600),
                at(28, 9, 13, 6),
                Some("https://moved.example/rss"),
            ),
            (
                "max-age beyond a day is cut to a day",
                before(),
                not_modified(None, Some(2 * 86_400), None),
                Some("\"v1\""),
                Some(86_400),
                at(29, 8, 13, 6),
                Some("https://moved.example/rss"),
            ),
            (
                "no floor stored, none sent: the next slot",
                FetchState {
                    interval_floor: None,
                    ..before()
                },
                not_modified(None, None, Some("https://new.example/rss")),
                Some("\"v1\""),
                None,
                at(28, 8, 13, 6),
                Some("https://new.example/rss"),
            ),
        ];
        for (case, old, outcome, etag, floor, due, redirect) in cases {
            let now = clock.now();
            let new = after(&old, Some(304), outcome, now);
            assert_eq!(new.last_status, Some(FetchStatus::NotModified), "{case}");
            assert_eq!((new.error_count, new.last_error), (0, None), "{case}");
            assert_eq!(new.last_error_kind, None, "{case}");
            assert_eq!(new.etag.as_deref(), etag, "{case}");
            assert_eq!(new.last_modified, old.last_modified, "{case}");
            assert_eq!(new.interval_floor, floor, "{case}");
            assert_eq!(new.next_fetch, Some(due), "{case}");
            assert_eq!(new.redirect_url.as_deref(), redirect, "{case}");
        }
    }

    #[test]
    fn a_410_stops_polling_until_the_feed_is_enabled_and_counts_an_error() {
        let clock = clock();
        // (case, errors before, errors after)
        let cases = [("a healthy feed", 0, 1), ("a failing feed", 4, 5)];
        for (case, errors, counted) in cases {
            let old = failing(errors);
            let url = "https://moved.example/rss".to_string();
            let new = after(&old, Some(410), Outcome::Gone { url }, clock.now());
            assert!(new.gone, "{case}");
            assert_eq!(new.next_fetch, None, "{case}: never due");
            assert_eq!(new.error_count, counted, "{case}");
            assert_eq!(new.last_status, Some(FetchStatus::Gone), "{case}");
            assert_eq!(new.last_error_kind, Some(FailureKind::Gone), "{case}");
            assert_eq!(
                new.last_error.as_deref(),
                Some(
                    "https://moved.example/rss answered 410 Gone: polling stopped until \
                     `tributary feeds enable`"
                ),
                "{case}"
            );
            assert_eq!(
                (new.etag, new.redirect_url, new.interval_floor),
                (old.etag, old.redirect_url, old.interval_floor),
                "{case}: what it knew stays for when it is enabled again"
            );
        }
    }

    #[test]
    fn a_rate_limit_waits_as_asked_up_to_a_week_then_takes_the_next_slot() {
        let clock = clock();
        // (Retry-After, HTTP status, next due, the wait it reports)
        let cases = [
            (120, 429, at(28, 8, 13, 6), 120),
            (3600, 503, at(28, 9, 13, 6), 3600),
            (
                30 * 86_400,
                429,
                Utc.with_ymd_and_hms(2026, 12, 5, 8, 13, 6).unwrap(),
                604_800,
            ),
        ];
        for (retry_after, http, due, waits) in cases {
            let outcome = Outcome::RateLimited {
                url: KEY.into(),
                retry_after: Duration::from_secs(retry_after),
            };
            let new = after(&failing(1), Some(http), outcome, clock.now());
            assert_eq!(new.next_fetch, Some(due), "Retry-After {retry_after}");
            assert_eq!(new.error_count, 2, "Retry-After {retry_after}");
            assert_eq!(new.last_status, Some(FetchStatus::RateLimited));
            assert_eq!(new.last_error_kind, Some(FailureKind::RateLimited));
            assert_eq!(
                new.last_error,
                Some(format!(
                    "{KEY} is rate limiting us (HTTP {http}): waiting {waits} s as it asked"
                ))
            );
            assert_eq!(new.etag, failing(1).etag, "validators kept");
        }
    }

    #[test]
    fn each_failure_lengthens_the_streak_and_backs_off_with_jitter_fixed_by_key_and_count() {
        let clock = clock();
        // (errors before, errors after, the wait: the quarter hour doubled per failure, plus
        // up to a fifth of it, the same for this feed and count every time; at most a day)
        let cases = [
            (0, 1, Duration::new(945, 761_101_412)),
            (1, 2, Duration::new(1951, 213_203_804)),
            (2, 3, Duration::new(3850, 181_756_995)),
            (3, 4, Duration::new(7461, 14_833_175)),
            (4, 5, Duration::new(14_513, 716_353_249)),
            (7, 8, policy::MAX_BACKOFF),
            (u32::MAX, u32::MAX, policy::MAX_BACKOFF),
        ];
        for (errors, counted, wait) in cases {
            clock.advance(Duration::from_secs(3600));
            let now = clock.now();
            let outcome = Outcome::Failed {
                kind: FailureKind::Transport,
                error: "connection refused".into(),
            };
            let new = after(&failing(errors), None, outcome, now);
            let due = now + chrono::Duration::from_std(wait).unwrap();
            assert_eq!(new.next_fetch, Some(due), "after {errors} errors");
            assert_eq!(new.error_count, counted);
            assert_eq!(new.last_status, Some(FetchStatus::Error));
            assert_eq!(new.last_error.as_deref(), Some("connection refused"));
            assert_eq!(new.last_error_kind, Some(FailureKind::Transport));
            assert_eq!((new.last_http, new.last_fetch), (None, Some(now)));
            assert_eq!(
                (new.etag, new.redirect_url, new.interval_floor),
                (
                    before().etag,
                    before().redirect_url,
                    before().interval_floor
                ),
                "what the feed knew stays"
            );
        }
    }

    #[test]
    fn a_feed_never_polled_is_due_at_once_one_enabled_again_at_its_next_slot() {
        let clock = clock();
        let schedule: CronSchedule = "*/15 * * * *".parse().unwrap();
        let feed = Feed {
            key: KEY,
            schedule: &schedule,
        };
        let new = FetchState {
            feed_id: 7,
            url: KEY.into(),
            ..FetchState::default()
        };
        assert_eq!(first_due(&new, feed, clock.now()), clock.now());
        let enabled = FetchState {
            next_fetch: None,
            gone: false,
            ..failing(3)
        };
        assert_eq!(first_due(&enabled, feed, clock.now()), at(28, 8, 13, 6));
    }

    /// The state machine driven by the clock, as the daemon does: a feed fails twice, each
    /// retry when due, then heals and is back on its quarter-hour slot.
    #[test]
    fn a_failing_feed_is_retried_when_due_and_returns_to_its_slot_when_it_heals() {
        let clock = clock();
        let refused = || Outcome::Failed {
            kind: FailureKind::Transport,
            error: "connection refused".into(),
        };
        let first = after(&before(), None, refused(), clock.now());
        let due = first.next_fetch.unwrap();
        assert_eq!(
            due,
            at(28, 8, 15, 45) + chrono::Duration::nanoseconds(761_101_412)
        );
        clock.set(due);
        let second = after(&first, None, refused(), clock.now());
        let due = second.next_fetch.unwrap();
        assert_eq!(
            due,
            at(28, 8, 48, 16) + chrono::Duration::nanoseconds(974_305_216)
        );
        clock.set(due);
        let healed = after(
            &second,
            Some(304),
            not_modified(None, None, None),
            clock.now(),
        );
        assert_eq!(healed.error_count, 0);
        // The 30-minute floor it had asked for still holds.
        assert_eq!(healed.next_fetch, Some(at(28, 9, 28, 6)));
    }
}
