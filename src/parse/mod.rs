//! The parse stage: fetched bytes in, normalised `Article`s out.
//!
//! The pipeline, one module per step:
//! 1. [`decode`] — charset from BOM, HTTP header, XML declaration or detection, to UTF-8;
//! 2. [`repair`] (and [`json`]) — the XML/JSON repairs real feeds need before a strict
//!    reader accepts them;
//! 3. [`feedrs`] — feed-rs reads the repaired document; when it fails or drops entries the
//!    lenient [`fallback`] reader (quick-xml) reads it instead, and it also recovers the
//!    `<source>` of syndicated copies, which feed-rs drops;
//! 4. [`normalize`] — the one normaliser into [`Article`](crate::model::Article)s, with
//!    [`url`], [`text`] and [`date`]; HTML is sanitised and turned into text by the
//!    shared toolkit ([`crate::markup`]).
//!
//! Everything runs under `catch_unwind`: a panic in a dependency costs that feed only.

mod date;
mod decode;
mod fallback;
mod feedrs;
mod json;
mod normalize;
pub mod page;
mod policy;
mod raw;
mod repair;
mod text;
mod url;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use crate::model::ParsedFeed;
use raw::RawFeed;
use repair::Format;

/// Where the bytes came from: what the parse stage needs besides the bytes.
#[derive(Debug, Clone, Copy)]
pub struct FeedContext<'a> {
    /// The URL the document was fetched from (after redirects): base for relative links.
    pub url: &'a str,
    /// The HTTP `Content-Type` header, which may name the charset.
    pub content_type: Option<&'a str>,
    /// When it was fetched: stands in for missing dates and bounds future ones.
    pub fetched_at: DateTime<Utc>,
}

/// Why a document yielded no feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Neither an XML nor a JSON document (HTML is XML enough to be tried).
    #[error("the document is neither XML nor JSON")]
    NeitherXmlNorJson,
    /// JSON, but not a JSON Feed the reader accepts; the reader's reason.
    #[error("not a JSON feed: {0}")]
    NotJsonFeed(String),
    /// XML that neither feed-rs nor the fallback reader found a feed in; feed-rs's reason.
    #[error("not a feed: {0}")]
    NotAFeed(String),
    /// The parse stage panicked on the document (caught; counted in [`panics_caught`]).
    #[error("the feed parser crashed on this document")]
    Crashed,
}

static PANICS: AtomicU64 = AtomicU64::new(0);

fn note_panic() {
    PANICS.fetch_add(1, Ordering::Relaxed);
}

/// How many panics inside the parse stage (feed-rs, or our own code) were caught and turned
/// into errors since the process started: for metrics and the corpus tool.
pub fn panics_caught() -> u64 {
    PANICS.load(Ordering::Relaxed)
}

/// Parses one fetched document into a feed and its articles.
pub fn parse(bytes: &[u8], ctx: &FeedContext<'_>) -> Result<ParsedFeed, ParseError> {
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let raw = read(bytes, ctx)?;
        Ok(normalize::normalize(raw, ctx.url, ctx.fetched_at))
    }));
    parsed.unwrap_or_else(|_| {
        note_panic();
        Err(ParseError::Crashed)
    })
}

/// Reads a document into a [`RawFeed`]: decode, repair, feed-rs, and the fallback reader
/// where feed-rs falls short.
fn read(bytes: &[u8], ctx: &FeedContext<'_>) -> Result<RawFeed, ParseError> {
    let text = decode::decode(bytes, ctx.content_type);
    let repaired = repair::repair(&text);
    if repaired.format == Format::Other {
        return Err(ParseError::NeitherXmlNorJson);
    }
    // Relative links resolve against xml:base, else the feed's own link, else its URL.
    let fetched_from = ::url::Url::parse(ctx.url).ok();
    let site = repaired
        .link
        .as_deref()
        .and_then(|l| url::absolute(l, fetched_from.as_ref()))
        .filter(|l| l.starts_with("http://") || l.starts_with("https://"));
    let primary = feedrs::read(&repaired.text, site.as_deref().unwrap_or(ctx.url));
    let complete = matches!(&primary, Ok(feed) if feed.entries.len() >= repaired.entries);
    if repaired.format == Format::Json {
        return primary.map_err(ParseError::NotJsonFeed);
    }
    if complete {
        let mut feed = primary.map_err(ParseError::NotAFeed)?;
        if feed.entries.len() == repaired.thumbnails.len() {
            for (entry, thumbnail) in feed.entries.iter_mut().zip(&repaired.thumbnails) {
                if entry.image.is_none() {
                    entry.image.clone_from(thumbnail);
                }
            }
        }
        let has_source =
            repaired.text.contains("<source") || repaired.text.contains("<atom:source");
        let untitled = feed.entries.iter().any(|e| e.title.is_none());
        if has_source || untitled {
            recover_from(&mut feed, &fallback::read(&repaired.text));
        }
        return Ok(feed);
    }
    let lenient = fallback::read(&repaired.text);
    match primary {
        Ok(mut feed) if feed.entries.len() >= lenient.entries.len() => {
            recover_from(&mut feed, &lenient);
            Ok(feed)
        }
        Ok(feed) => Ok(fill_feed(lenient, feed)),
        Err(_) if !lenient.entries.is_empty() || lenient.title.is_some() => Ok(lenient),
        Err(e) => Err(ParseError::NotAFeed(e)),
    }
}

/// Feed-level fields the fallback missed, from what feed-rs read.
fn fill_feed(mut lenient: RawFeed, primary: RawFeed) -> RawFeed {
    lenient.title = lenient.title.or(primary.title);
    lenient.link = lenient.link.or(primary.link);
    lenient.language = lenient.language.or(primary.language);
    lenient.ttl = lenient.ttl.or(primary.ttl);
    lenient
}

/// Copies what feed-rs drops from the lenient reader's reading of the same document: the
/// `<source>` of syndicated copies, and titles feed-rs does not look for (`dc:title`).
/// Entries are matched by id, else by link, else by position when both read as many.
fn recover_from(feed: &mut RawFeed, lenient: &RawFeed) {
    let same_count = lenient.entries.len() == feed.entries.len();
    for (i, entry) in feed.entries.iter_mut().enumerate() {
        let matched = lenient
            .entries
            .iter()
            .find(|l| l.id.is_some() && l.id == entry.id)
            .or_else(|| {
                lenient
                    .entries
                    .iter()
                    .find(|l| l.link.is_some() && l.link == entry.link)
            })
            .or_else(|| same_count.then(|| &lenient.entries[i]));
        let Some(matched) = matched else { continue };
        if entry.source.is_none() {
            entry.source.clone_from(&matched.source);
        }
        if entry.title.is_none() {
            entry.title.clone_from(&matched.title);
        }
        if entry.published.is_none() {
            entry.published = matched.published;
        }
    }
}
