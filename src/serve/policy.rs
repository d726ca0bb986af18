//! The serve stage's policy numbers, in one place: what a query may ask for, how much of a
//! story a document carries, how rendered documents are cached and for how long clients may
//! keep them, the read connections kept, and how long `/healthz` waits.

use std::time::Duration;

/// Stories in a merged-feed document when the query names no `limit`.
pub const DEFAULT_LIMIT: usize = 50;

/// The most stories one HTTP request may ask for (`export` has no cap).
pub const MAX_LIMIT: usize = 500;

/// Longest query string accepted, in bytes; longer is a 400.
pub const MAX_QUERY_BYTES: usize = 2048;

/// Longest `tag` or `feed` value accepted, in characters.
pub const MAX_VALUE_CHARS: usize = 256;

/// Longest title written into a document, in characters: a 1 MB title from a broken feed
/// is cut (with an ellipsis) rather than handed to every subscriber.
pub const MAX_TITLE_CHARS: usize = 500;

/// Length of the plain-text excerpt under each story on the river page, in characters.
pub const EXCERPT_CHARS: usize = 320;

/// The longest summary (plain text) a merged-feed entry carries beside its content.
pub const MAX_SUMMARY_CHARS: usize = 1000;

/// Longest language tag written (`lang`, `xml:lang`, JSON Feed `language`): RFC 5646
/// asks implementations to accept tags of at least 35 characters; a longer "tag" from a
/// feed is not one.
pub const MAX_LANGUAGE_CHARS: usize = 35;

/// Most categories written per entry (the union over a story's copies can be long).
pub const MAX_CATEGORIES: usize = 16;

/// Rendered documents kept in memory, one per (format, query); on overflow the cache is
/// emptied, so arbitrary query strings cannot grow memory without bound.
pub const CACHE_ENTRIES: usize = 256;

/// Idle read-only database connections kept for rendering.
pub const READ_POOL: usize = 4;

/// How long shared caches may keep a document before revalidating.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// How long `/healthz` waits for the database before answering 503.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);
