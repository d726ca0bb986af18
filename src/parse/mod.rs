//! The parse stage: fetched bytes in, normalised `Article`s out.
//!
//! This first version is a thin use of feed-rs; the repair layer and the full normaliser
//! replace its insides without changing [`parse`]'s signature.

use chrono::{DateTime, Utc};

use crate::model::{Article, ParsedFeed};

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
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses one fetched document into a feed and its articles.
pub fn parse(bytes: &[u8], ctx: &FeedContext<'_>) -> Result<ParsedFeed, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(ctx.url))
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes)))
        .map_err(|_| ParseError("the feed parser crashed on this document".into()))?
        .map_err(|e| ParseError(format!("not a feed: {e}")))?;
    let articles = feed
        .entries
        .into_iter()
        .map(|e| {
            let url = e.links.first().map(|l| l.href.clone());
            let guid = Some(e.id).filter(|s| !s.is_empty());
            let title = e.title.map(|t| t.content).unwrap_or_default();
            let summary = e.summary.map(|s| s.content);
            let content = e.content.and_then(|c| c.body);
            let text = content.clone().or(summary.clone()).unwrap_or_default();
            let key = guid.clone().or(url.clone()).unwrap_or_else(|| {
                format!(
                    "{:016x}",
                    xxhash_rust::xxh3::xxh3_64(format!("{title}\n{text}").as_bytes())
                )
            });
            Article {
                guid,
                key,
                url,
                title,
                summary_html: summary,
                content_html: content,
                text,
                published: e
                    .published
                    .or(e.updated)
                    .filter(|d| *d <= ctx.fetched_at + chrono::Duration::days(1)),
                updated: e.updated,
                ..Default::default()
            }
        })
        .collect();
    Ok(ParsedFeed {
        title: feed.title.map(|t| t.content),
        site_url: feed.links.first().map(|l| l.href.clone()),
        ttl_minutes: feed.ttl,
        articles,
    })
}
