//! When a feed is due: its cron schedule, shifted by a stable per-feed offset so that
//! hundreds of feeds sharing `*/15 * * * *` are spread over the quarter hour instead of
//! all firing in its first second.

use chrono::{DateTime, Utc};

use super::policy::NO_OCCURRENCE_RETRY;
use crate::config::CronSchedule;

/// The feed's place within each interval of its schedule, in [0, 1): a hash of its URL, so
/// it survives restarts and differs between feeds.
pub fn offset_fraction(url: &str) -> f64 {
    let h = xxhash_rust::xxh3::xxh3_64(url.as_bytes());
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The first due time of the feed at `url` strictly after `after`: each occurrence of the
/// schedule moved forward by the feed's fraction of the gap to the next occurrence.
pub fn next_due(schedule: &CronSchedule, url: &str, after: DateTime<Utc>) -> DateTime<Utc> {
    let fraction = offset_fraction(url);
    let cron = &schedule.cron;
    let start = cron
        .find_previous_occurrence(&after, true)
        .or_else(|_| cron.find_next_occurrence(&after, false));
    let Ok(mut occurrence) = start else {
        return after + NO_OCCURRENCE_RETRY;
    };
    // The previous occurrence's slot may still lie ahead; otherwise the next one's does.
    for _ in 0..3 {
        let Ok(following) = cron.find_next_occurrence(&occurrence, false) else {
            break;
        };
        let gap_ms = (following - occurrence).num_milliseconds() as f64;
        let shift = chrono::TimeDelta::seconds((gap_ms * fraction / 1000.0).floor() as i64);
        let due = occurrence + shift;
        if due > after {
            return due;
        }
        occurrence = following;
    }
    after + NO_OCCURRENCE_RETRY
}

/// The schedule's interval around `at` (the gap between its next two occurrences): what
/// backoff grows from.
pub fn interval(schedule: &CronSchedule, at: DateTime<Utc>) -> std::time::Duration {
    let cron = &schedule.cron;
    cron.find_next_occurrence(&at, false)
        .and_then(|a| cron.find_next_occurrence(&a, false).map(|b| b - a))
        .ok()
        .and_then(|d| d.to_std().ok())
        .unwrap_or_else(|| NO_OCCURRENCE_RETRY.to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn feeds_sharing_a_schedule_spread_over_the_interval_stably() {
        let s: CronSchedule = "*/15 * * * *".parse().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
        let mut minutes = std::collections::HashSet::new();
        for i in 0..200 {
            let url = format!("https://outlet{i}.example/rss");
            let due = next_due(&s, &url, at);
            assert!(
                due > at && due <= at + chrono::TimeDelta::minutes(15),
                "{due}"
            );
            assert_eq!(due, next_due(&s, &url, at), "stable");
            // Polled at its slot, the next slot is one interval later.
            assert_eq!(
                next_due(&s, &url, due),
                due + chrono::TimeDelta::minutes(15)
            );
            minutes.insert((due - at).num_minutes());
        }
        assert!(minutes.len() >= 14, "spread over the interval: {minutes:?}");
        assert_eq!(interval(&s, at).as_secs(), 900);
    }
}
