//! The merged-feed query (`tag`, `feed`, `limit`): parsed strictly from a URL query string,
//! so a typo is a 400 that says what is wrong rather than a silently unfiltered feed.

use std::fmt::Write as _;

use super::policy::{DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_BYTES, MAX_VALUE_CHARS};

/// Which stories a merged-feed document shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedQuery {
    /// Only stories with a copy from a feed with this tag.
    pub tag: Option<String>,
    /// Only stories with a copy from this feed (its name or URL).
    pub feed: Option<String>,
    /// How many stories.
    pub limit: usize,
}

impl Default for FeedQuery {
    fn default() -> Self {
        FeedQuery {
            tag: None,
            feed: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// Why a query string was refused (the body of the 400 response).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl FeedQuery {
    /// Parses the query string of an HTTP request (without the `?`). Unknown, repeated,
    /// empty or out-of-range parameters are errors.
    pub fn parse(raw: Option<&str>) -> Result<FeedQuery, QueryError> {
        let mut q = FeedQuery::default();
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(q);
        };
        if raw.len() > MAX_QUERY_BYTES {
            return Err(QueryError(format!(
                "the query string is longer than {MAX_QUERY_BYTES} bytes"
            )));
        }
        let (mut seen_tag, mut seen_feed, mut seen_limit) = (false, false, false);
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let seen = match key.as_ref() {
                "tag" => &mut seen_tag,
                "feed" => &mut seen_feed,
                "limit" => &mut seen_limit,
                other => {
                    return Err(QueryError(format!(
                        "unknown query parameter {:?} (known: tag, feed, limit)",
                        clip(other)
                    )));
                }
            };
            if std::mem::replace(seen, true) {
                return Err(QueryError(format!("{key} is given more than once")));
            }
            match key.as_ref() {
                "limit" => q.limit = parse_limit(&value)?,
                "tag" => q.tag = Some(filter_value("tag", &value)?),
                _ => q.feed = Some(filter_value("feed", &value)?),
            }
        }
        Ok(q)
    }

    /// The canonical query string for this query (empty for the default), used in self
    /// links and cache keys so equal queries render equal documents.
    pub fn to_query_string(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(tag) = &self.tag {
            out.append_pair("tag", tag);
        }
        if let Some(feed) = &self.feed {
            out.append_pair("feed", feed);
        }
        if self.limit != DEFAULT_LIMIT {
            out.append_pair("limit", &self.limit.to_string());
        }
        out.finish()
    }

    /// Whether a WebSub hub hears of this query's document changing: the unfiltered feeds
    /// and each tag's, at the default length — the documents the daemon pings the hub for
    /// ([`super::websub_topics`]). Other queries do not advertise the hub, so no subscriber
    /// waits for a ping that never comes.
    pub fn is_websub_topic(&self) -> bool {
        self.feed.is_none() && self.limit == DEFAULT_LIMIT
    }

    /// `?query` or nothing: what to append to a path.
    pub fn suffix(&self) -> String {
        let q = self.to_query_string();
        let mut s = String::new();
        if !q.is_empty() {
            let _ = write!(s, "?{q}");
        }
        s
    }
}

/// `limit` as readers send it: a whole number from 1; above [`MAX_LIMIT`] it is capped
/// rather than refused, as FreshRSS and Miniflux cap their page sizes, so a reader asking
/// for "everything" gets the most the server gives.
fn parse_limit(value: &str) -> Result<usize, QueryError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<usize>() {
        Ok(0) => Err(QueryError("limit must be at least 1, not 0".into())),
        Ok(n) => Ok(n.min(MAX_LIMIT)),
        Err(_) if digits => Ok(MAX_LIMIT), // more digits than usize holds: still a cap
        Err(_) => Err(QueryError(format!(
            "limit must be a whole number from 1 (at most {MAX_LIMIT} are served), not {:?}",
            clip(value)
        ))),
    }
}

fn filter_value(key: &str, value: &str) -> Result<String, QueryError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(QueryError(format!("{key} is empty")));
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(QueryError(format!(
            "{key} is longer than {MAX_VALUE_CHARS} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(QueryError(format!("{key} contains control characters")));
    }
    Ok(value.to_string())
}

/// A user-supplied value cut short for an error message.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_queries_parse_and_round_trip() {
        assert_eq!(FeedQuery::parse(None).unwrap(), FeedQuery::default());
        let q = FeedQuery::parse(Some("tag=world&feed=South+Asian%20Update&limit=10")).unwrap();
        assert_eq!(q.tag.as_deref(), Some("world"));
        assert_eq!(q.feed.as_deref(), Some("South Asian Update"));
        assert_eq!(q.limit, 10);
        assert_eq!(FeedQuery::parse(Some(&q.to_query_string())).unwrap(), q);
        assert_eq!(FeedQuery::parse(Some("limit=50")).unwrap().suffix(), "");
    }

    #[test]
    fn bad_queries_are_one_line_reasons() {
        for (raw, want) in [
            ("limit=abc", "whole number"),
            ("limit=0", "at least 1"),
            ("limit=-1", "whole number"),
            ("limit=1e3", "whole number"),
            ("tags=world", "unknown query parameter"),
            ("tag=", "tag is empty"),
            ("tag=a&tag=b", "more than once"),
            ("feed=%01x", "control characters"),
        ] {
            let err = FeedQuery::parse(Some(raw)).unwrap_err().0;
            assert!(err.contains(want), "{raw}: {err}");
            assert!(!err.contains('\n'));
        }
        let long = format!("tag={}", "x".repeat(3000));
        assert!(FeedQuery::parse(Some(&long)).is_err());
    }

    #[test]
    fn a_limit_above_the_cap_is_served_as_the_cap() {
        for raw in ["limit=501", "limit=100000", "limit=99999999999999999999999"] {
            assert_eq!(
                FeedQuery::parse(Some(raw)).unwrap().limit,
                MAX_LIMIT,
                "{raw}"
            );
        }
        assert_eq!(FeedQuery::parse(Some("limit=500")).unwrap().limit, 500);
    }
}
