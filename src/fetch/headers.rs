//! Reading the response headers that steer polling: `Retry-After`, `Cache-Control`,
//! `Expires` (and `Date`, which the relative ones are measured against).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CACHE_CONTROL, DATE, EXPIRES, HeaderMap, RETRY_AFTER};

/// An HTTP date (IMF-fixdate, which is RFC 2822 with `GMT`).
fn http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The server's idea of "now": its `Date` header, else our clock. Dates in `Retry-After`
/// and `Expires` are measured against it so a skewed server clock does not distort them.
fn server_now(headers: &HeaderMap) -> DateTime<Utc> {
    header(headers, DATE)
        .and_then(http_date)
        .unwrap_or_else(Utc::now)
}

/// `Retry-After`: delay-seconds or an HTTP date. `None` when absent or unreadable.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header(headers, RETRY_AFTER)?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(value)?;
    Some(
        (at - server_now(headers))
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// How long the response says it stays fresh: `Cache-Control: max-age`, else `Expires`.
pub fn fresh_for(headers: &HeaderMap) -> Option<Duration> {
    if let Some(cc) = header(headers, CACHE_CONTROL) {
        for directive in cc.split(',') {
            let d = directive.trim().to_ascii_lowercase();
            if d == "no-cache" || d == "no-store" {
                return None;
            }
            if let Some(v) = d.strip_prefix("max-age=")
                && let Ok(secs) = v.trim_matches('"').parse::<u64>()
            {
                return Some(Duration::from_secs(secs));
            }
        }
    }
    let expires = http_date(header(headers, EXPIRES)?)?;
    (expires - server_now(headers)).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn map(pairs: &[(reqwest::header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(
            retry_after(&map(&[(RETRY_AFTER, "120")])),
            Some(Duration::from_secs(120))
        );
        let h = map(&[
            (DATE, "Sat, 28 Nov 2026 08:00:00 GMT"),
            (RETRY_AFTER, "Sat, 28 Nov 2026 09:00:00 GMT"),
        ]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3600)));
        assert_eq!(retry_after(&map(&[(RETRY_AFTER, "soon")])), None);
    }

    #[test]
    fn freshness_from_max_age_or_expires() {
        let h = map(&[(CACHE_CONTROL, "public, max-age=1800")]);
        assert_eq!(fresh_for(&h), Some(Duration::from_secs(1800)));
        let h = map(&[(CACHE_CONTROL, "no-cache"), (EXPIRES, "x")]);
        assert_eq!(fresh_for(&h), None);
        let h = map(&[
            (DATE, "Sat, 28 Nov 2026 08:00:00 GMT"),
            (EXPIRES, "Sat, 28 Nov 2026 10:00:00 GMT"),
        ]);
        assert_eq!(fresh_for(&h), Some(Duration::from_secs(7200)));
    }
}
