//! The fetch stage's limits, in one place.

use std::time::Duration;

/// Redirects followed for one poll; one more is an error ("too many redirects").
pub const MAX_REDIRECTS: usize = 5;

/// The longest a TCP/TLS connect may take (bounded further by `[fetch].timeout`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle keep-alive connections are closed after this, so a daemon polling hundreds of
/// hosts every 15 minutes does not hold hundreds of sockets open between cycles.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// `full_text = "auto"` fetches the page of an item whose feed text has fewer words than
/// this: a summary. Real summary-only feeds carry a title and 20–60 words
/// (`../shared/dedup/README.md`: descriptions cut at 200–400 characters); a full article
/// is hundreds.
pub const FULL_TEXT_BELOW_WORDS: usize = 120;

/// Article pages requested from one host per minute, on top of the per-host limit on
/// requests in flight that pages share with feed polls: a feed of 50 new items costs its
/// outlet 50 page requests, spread over a few minutes rather than at once.
pub const PAGES_PER_HOST_PER_MINUTE: u32 = 60;

/// A page that failed (timeout, HTTP error, refused connection) is tried again no sooner
/// than this, and at most [`PAGE_ATTEMPTS`] times in all; a page that answered but yielded
/// no article (paywall, consent wall, a page of links) is not tried again.
pub const PAGE_RETRY_AFTER: Duration = Duration::from_secs(30 * 60);

/// Attempts at one article's page before its summary is final.
pub const PAGE_ATTEMPTS: u32 = 3;

/// The longest a server's `Retry-After` holds back an article page (and the host's other
/// pages).
pub const MAX_PAGE_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The largest article page read (or `[fetch].max_body`, when smaller). Real article pages
/// are 50 KB–2 MB with their inline scripts; a page ten times that is not an article to
/// read, and Readability's cost grows with it (a 10 MB page took seconds of a core).
pub const MAX_PAGE_BODY: u64 = 5 * 1024 * 1024;
