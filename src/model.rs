//! The domain types every stage shares: what a feed entry becomes (`Article`), how a copy
//! joined its story (`MatchKind`), what a poll of one feed came to (`FetchStatus`, and
//! `FailureKind` when it failed) and what the schedule remembers of a feed between polls
//! (`FetchState`).
//!
//! Nothing here does I/O; stages produce and consume these values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One entry of one feed, normalised by the parse stage: one *copy* of a story as one
/// outlet published it. HTML fields are already sanitised; text fields are plain text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Article {
    /// The entry's id exactly as the feed gave it (Atom `id`, RSS `guid`, JSON Feed `id`).
    pub guid: Option<String>,
    /// Identity within the feed, stable across re-fetches and title edits: derived from the
    /// guid, else the canonical URL, else a hash of title + date + text.
    pub key: String,
    /// Canonical absolute URL of the article (tracking parameters and fragment removed).
    pub url: Option<String>,
    /// Plain-text title, never empty after normalisation (falls back to the first words).
    pub title: String,
    /// Sanitised HTML summary (RSS `description`, Atom `summary`).
    pub summary_html: Option<String>,
    /// Sanitised HTML full content (Atom `content`, `content:encoded`).
    pub content_html: Option<String>,
    /// Plain text of the best body (content, else summary), paragraphs as line breaks: what
    /// dedup fingerprints.
    pub text: String,
    /// Author names as given.
    pub authors: Vec<String>,
    /// Category / tag terms.
    pub categories: Vec<String>,
    /// Language tag (`en`, `fr-FR`) from the entry or its feed.
    pub language: Option<String>,
    /// Attached media (podcasts, images).
    pub enclosures: Vec<Enclosure>,
    /// A representative image URL, when the entry names one.
    pub image: Option<String>,
    /// Publication time as the feed gave it; `None` when missing or unusable, in which case
    /// the store uses the time the article was first seen.
    pub published: Option<DateTime<Utc>>,
    /// Last update time as the feed gave it.
    pub updated: Option<DateTime<Utc>>,
    /// True when the feed's date lay more than a day in the future and was dropped.
    pub date_clamped: bool,
    /// The original outlet named by Atom `<source>` or RSS `<source url>`: the signal that
    /// this is a syndicated copy.
    pub source: Option<SourceRef>,
}

/// A media attachment of an article.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Enclosure {
    /// Absolute URL of the media.
    pub url: String,
    /// MIME type, when given.
    pub mime: Option<String>,
    /// Size in bytes, when given.
    pub length: Option<u64>,
}

/// The outlet a syndicated copy credits as its origin.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceRef {
    /// Outlet name (`Reuters`).
    pub title: Option<String>,
    /// The origin feed's or page's URL.
    pub url: Option<String>,
    /// Atom `source/id`, when given.
    pub id: Option<String>,
}

/// Feed-level facts the parse stage read alongside the entries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedFeed {
    /// The feed's own title.
    pub title: Option<String>,
    /// The feed's website (its alternate link).
    pub site_url: Option<String>,
    /// RSS `<ttl>`, in minutes: a hint to poll no more often than this.
    pub ttl_minutes: Option<u32>,
    /// The entries, in document order.
    pub articles: Vec<Article>,
}

/// How a copy came to be in its story. Recorded per copy so `explain` can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchKind {
    /// The first copy: it founded the story.
    First,
    /// The same GUID reached through another feed.
    Guid,
    /// The same canonical URL.
    Url,
    /// Its `<source>` points at a copy we have.
    Source,
    /// Its text contains, or is contained in, the representative's text.
    Content,
    /// An exact normalised title of enough significant words, from another feed.
    Title,
}

impl MatchKind {
    /// The word stored in the database and printed by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::First => "first",
            MatchKind::Guid => "guid",
            MatchKind::Url => "url",
            MatchKind::Source => "source",
            MatchKind::Content => "content",
            MatchKind::Title => "title",
        }
    }

    /// Reads the stored word back; unknown words are `None`.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "first" => MatchKind::First,
            "guid" => MatchKind::Guid,
            "url" => MatchKind::Url,
            "source" => MatchKind::Source,
            "content" => MatchKind::Content,
            "title" => MatchKind::Title,
            _ => return None,
        })
    }
}

/// The result of one poll of one feed, as recorded in its fetch state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchStatus {
    /// 200 and the body parsed.
    Ok,
    /// 304: nothing changed since the last poll.
    NotModified,
    /// Transport, HTTP or parse failure; the feed is in backoff.
    Error,
    /// 429/503 with Retry-After: waiting as the server asked.
    RateLimited,
    /// 410: polling stopped until the operator re-enables the feed.
    Gone,
}

impl FetchStatus {
    /// The word stored in the database and shown by `feeds list`.
    pub fn as_str(self) -> &'static str {
        match self {
            FetchStatus::Ok => "ok",
            FetchStatus::NotModified => "not_modified",
            FetchStatus::Error => "error",
            FetchStatus::RateLimited => "rate_limited",
            FetchStatus::Gone => "gone",
        }
    }

    /// Reads the stored word back; unknown words are `None`.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "ok" => FetchStatus::Ok,
            "not_modified" => FetchStatus::NotModified,
            "error" => FetchStatus::Error,
            "rate_limited" => FetchStatus::RateLimited,
            "gone" => FetchStatus::Gone,
            _ => return None,
        })
    }
}

/// The class of a failed poll, stored beside its one-sentence error: what `feeds list` and
/// the `tributary_fetch_failures_total{kind}` metric count failures by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No complete answer within `[fetch].timeout` (or the connect timeout).
    Timeout,
    /// A body larger than `[fetch].max_body`.
    TooLarge,
    /// A redirect back to a URL already visited.
    RedirectLoop,
    /// More redirects than the fetch stage follows.
    TooManyRedirects,
    /// A redirect without a usable `Location`.
    BadRedirect,
    /// An HTTP status that is neither a document, a redirect, 304, 410 nor a rate limit.
    HttpStatus,
    /// The connection or the transfer failed (DNS, TCP, TLS, a cut body).
    Transport,
    /// Not requested: the address is one the fetch stage must not reach.
    Refused,
    /// 410: the feed is gone.
    Gone,
    /// 429/503 with `Retry-After`.
    RateLimited,
    /// The document is not a feed the parse stage can read.
    Parse,
    /// The feed's writes could not be stored (a failure of its data, not of the database).
    Store,
    /// A bug: a stage panicked.
    Internal,
}

impl FailureKind {
    /// The word stored in the database, shown by `feeds list` and used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::TooLarge => "too_large",
            FailureKind::RedirectLoop => "redirect_loop",
            FailureKind::TooManyRedirects => "too_many_redirects",
            FailureKind::BadRedirect => "bad_redirect",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Transport => "transport",
            FailureKind::Refused => "refused",
            FailureKind::Gone => "gone",
            FailureKind::RateLimited => "rate_limited",
            FailureKind::Parse => "parse",
            FailureKind::Store => "store",
            FailureKind::Internal => "internal",
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [FailureKind; 13] = [
        FailureKind::Timeout,
        FailureKind::TooLarge,
        FailureKind::RedirectLoop,
        FailureKind::TooManyRedirects,
        FailureKind::BadRedirect,
        FailureKind::HttpStatus,
        FailureKind::Transport,
        FailureKind::Refused,
        FailureKind::Gone,
        FailureKind::RateLimited,
        FailureKind::Parse,
        FailureKind::Store,
        FailureKind::Internal,
    ];

    /// Reads the stored word back; unknown words are `None`.
    pub fn parse(word: &str) -> Option<Self> {
        FailureKind::ALL.into_iter().find(|k| k.as_str() == word)
    }
}

/// One feed's fetch state: what the schedule remembers about it between polls. Read before
/// a poll, turned into the next one by `schedule::state::next_state`, stored by the store
/// (`store/fetch_state.rs`) beside the poll's articles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchState {
    /// Database id of the feed.
    pub feed_id: i64,
    /// The configured URL (normalised).
    pub url: String,
    /// The last `ETag`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The last `Last-Modified`, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// When the last poll ended.
    pub last_fetch: Option<DateTime<Utc>>,
    /// How the last poll ended.
    pub last_status: Option<FetchStatus>,
    /// HTTP status of the last poll, when there was an answer.
    pub last_http: Option<u16>,
    /// The last error, while the feed is failing.
    pub last_error: Option<String>,
    /// The class of the last error, while the feed is failing.
    pub last_error_kind: Option<FailureKind>,
    /// Consecutive failures: what the backoff grows with.
    pub error_count: u32,
    /// When the next poll is due; `None` for a feed that has no slot yet.
    pub next_fetch: Option<DateTime<Utc>>,
    /// A permanent redirect target, polled instead of the configured URL.
    pub redirect_url: Option<String>,
    /// 410 seen: not polled until re-enabled.
    pub gone: bool,
    /// Seconds: the feed asked (ttl, Cache-Control, Expires) not to be polled more often.
    pub interval_floor: Option<i64>,
}

/// Where fetching a copy's article page stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageState {
    /// To be fetched (again) when due.
    Wanted,
    /// Fetched and extracted: the copy's text is the page's article.
    Done,
    /// The page answered but held no article (a paywall, a consent wall, a page of links):
    /// the summary stays, and the page is not asked for again.
    Empty,
    /// Every attempt failed (timeout, HTTP error, too large, not HTML): the summary stays.
    Failed,
    /// Not fetched: the link leads to a network the daemon must not reach.
    Refused,
}

impl PageState {
    /// The word stored in the database and shown by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            PageState::Wanted => "wanted",
            PageState::Done => "done",
            PageState::Empty => "empty",
            PageState::Failed => "failed",
            PageState::Refused => "refused",
        }
    }

    /// Reads the stored word back; unknown words are `None`.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "wanted" => PageState::Wanted,
            "done" => PageState::Done,
            "empty" => PageState::Empty,
            "failed" => PageState::Failed,
            "refused" => PageState::Refused,
            _ => return None,
        })
    }
}
