//! The merged-feed query (`tag`, `feed`, `q`, `limit`, `before`): parsed strictly from a URL
//! query string, so a typo is a 400 that says what is wrong rather than a silently
//! unfiltered feed.
//!
//! `q` is a search in the store's small language ([`Search`]: words, "phrases", prefix*,
//! -excluded), never FTS5 syntax. `before` is a cursor: the position of the last story of
//! the page before, written opaquely ([`encode_cursor`]); pages never count an offset, so a
//! walk through older stories sees each story once while new ones arrive.

use std::fmt::Write as _;

use super::policy::{DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_BYTES, MAX_VALUE_CHARS};
use crate::store::{Position, Search};

/// Which stories a merged-feed document shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedQuery {
    /// Only stories with a copy from a feed with this tag.
    pub tag: Option<String>,
    /// Only stories with a copy from this feed (its name or URL).
    pub feed: Option<String>,
    /// Only stories with a copy that matches this search.
    pub q: Option<Search>,
    /// How many stories.
    pub limit: usize,
    /// Only stories older than this position (the page after the one that ended there).
    pub before: Option<Position>,
}

impl Default for FeedQuery {
    fn default() -> Self {
        FeedQuery {
            tag: None,
            feed: None,
            q: None,
            limit: DEFAULT_LIMIT,
            before: None,
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
        let mut seen = [false; 5];
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let slot = match key.as_ref() {
                "tag" => 0,
                "feed" => 1,
                "limit" => 2,
                "q" => 3,
                "before" => 4,
                other => {
                    return Err(QueryError(format!(
                        "unknown query parameter {:?} (known: tag, feed, q, limit, before)",
                        clip(other)
                    )));
                }
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(QueryError(format!("{key} is given more than once")));
            }
            match key.as_ref() {
                "limit" => q.limit = parse_limit(&value)?,
                "tag" => q.tag = Some(filter_value("tag", &value)?),
                "feed" => q.feed = Some(filter_value("feed", &value)?),
                // An empty search box submitted is no search, not an error.
                "q" if value.trim().is_empty() => {}
                "q" => {
                    q.q = Some(Search::parse(&value).map_err(|e| QueryError(format!("q: {e}")))?)
                }
                _ => q.before = Some(parse_cursor(&value)?),
            }
        }
        Ok(q)
    }

    /// This query without its cursor or a limit of its own: the feed every page of it
    /// belongs to (subscribe links, the feed's id).
    pub fn first_page(&self) -> FeedQuery {
        FeedQuery {
            limit: DEFAULT_LIMIT,
            before: None,
            ..self.clone()
        }
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
        if let Some(search) = &self.q {
            out.append_pair("q", &search.to_string());
        }
        if self.limit != DEFAULT_LIMIT {
            out.append_pair("limit", &self.limit.to_string());
        }
        if let Some(before) = self.before {
            out.append_pair("before", &encode_cursor(before));
        }
        out.finish()
    }

    /// Whether a WebSub hub hears of this query's document changing: the unfiltered feeds
    /// and each tag's, at the default length, first page — the documents the daemon pings
    /// the hub for ([`super::websub_topics`]). Other queries (a feed, a search, an older
    /// page) do not advertise the hub, so no subscriber waits for a ping that never comes.
    pub fn is_websub_topic(&self) -> bool {
        self.feed.is_none()
            && self.q.is_none()
            && self.before.is_none()
            && self.limit == DEFAULT_LIMIT
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

/// The sign bit of a position's time, flipped so that the digits of earlier times sort
/// first (the cursor stays ordered like the positions, which makes it easy to read in logs
/// without being something to compute).
const TIME_BIAS: u64 = 1 << 63;

/// A position as `before=` carries it: 32 hex digits, the story's first publication and id.
pub fn encode_cursor(p: Position) -> String {
    format!(
        "{:016x}{:016x}",
        (p.first_published as u64) ^ TIME_BIAS,
        p.id as u64
    )
}

/// Reads a cursor [`encode_cursor`] wrote; anything else is refused.
fn parse_cursor(value: &str) -> Result<Position, QueryError> {
    let refused = || {
        QueryError(format!(
            "before must be the cursor of an \"older stories\" link (32 hex digits), not {:?}",
            clip(value)
        ))
    };
    if value.len() != 32 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(refused());
    }
    let time = u64::from_str_radix(&value[..16], 16).map_err(|_| refused())?;
    let id = u64::from_str_radix(&value[16..], 16).map_err(|_| refused())?;
    match i64::try_from(id) {
        Ok(id) if id > 0 => Ok(Position {
            first_published: (time ^ TIME_BIAS) as i64,
            id,
        }),
        _ => Err(refused()),
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
    fn searches_and_cursors_parse_and_round_trip() {
        let q = FeedQuery::parse(Some(
            "q=%22new+zealand%22+quak*&before=7fffffff9a5b0e3f000000000000002a",
        ))
        .unwrap();
        assert_eq!(q.q.as_ref().unwrap().to_string(), "\"new zealand\" quak*");
        assert_eq!(
            q.before,
            Some(Position {
                first_published: -1_705_308_609,
                id: 42
            })
        );
        assert_eq!(FeedQuery::parse(Some(&q.to_query_string())).unwrap(), q);
        for p in [(0, 1), (-1, 2), (1_752_487_200, i64::MAX), (i64::MIN, 3)] {
            let p = Position {
                first_published: p.0,
                id: p.1,
            };
            assert_eq!(parse_cursor(&encode_cursor(p)).unwrap(), p);
        }
        assert_eq!(
            FeedQuery::parse(Some("q=+++")).unwrap(),
            FeedQuery::default()
        );
    }

    #[test]
    fn bad_searches_and_cursors_are_one_line_reasons() {
        for (raw, want) in [
            ("q=*", "no words"),
            ("q=-sport", "only excludes"),
            ("q=a*", "prefix"),
            ("q=a&q=b", "more than once"),
            ("before=", "32 hex digits"),
            ("before=xyz", "32 hex digits"),
            ("before=80000000000000000000000000000000", "32 hex digits"),
            ("before=8000000000000000ffffffffffffffff", "32 hex digits"),
            (
                "before=%E2%82%AC00000000000000000000000000000",
                "32 hex digits",
            ),
        ] {
            let err = FeedQuery::parse(Some(raw)).unwrap_err().0;
            assert!(err.contains(want), "{raw}: {err}");
            assert!(!err.contains('\n'));
        }
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
