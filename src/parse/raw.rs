//! What a reader (feed-rs or the fallback) found in a document, before normalisation: the
//! one shape the normaliser reads, whichever reader produced it.

use chrono::{DateTime, Utc};

use crate::model::{Enclosure, SourceRef};

/// A feed as read, fields as the document gave them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawFeed {
    /// Feed title.
    pub title: Option<RawText>,
    /// The feed's website, possibly relative.
    pub link: Option<String>,
    /// Feed-level language.
    pub language: Option<String>,
    /// RSS `<ttl>` minutes.
    pub ttl: Option<u32>,
    /// The entries in document order.
    pub entries: Vec<RawEntry>,
}

/// A text field and whether it holds HTML.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawText {
    /// The text or HTML.
    pub body: String,
    /// True when `body` is HTML.
    pub html: bool,
}

impl RawText {
    /// A text field, `None` when blank.
    pub fn new(body: String, html: bool) -> Option<Self> {
        (!body.trim().is_empty()).then_some(RawText { body, html })
    }
}

/// One entry as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    /// The id/guid as given.
    pub id: Option<String>,
    /// Title.
    pub title: Option<RawText>,
    /// The alternate link, possibly relative.
    pub link: Option<String>,
    /// `xml:base` in effect for the entry.
    pub base: Option<String>,
    /// Summary / description.
    pub summary: Option<RawText>,
    /// Full content.
    pub content: Option<RawText>,
    /// Author names.
    pub authors: Vec<String>,
    /// Category terms.
    pub categories: Vec<String>,
    /// Language.
    pub language: Option<String>,
    /// Media attachments, URLs possibly relative.
    pub enclosures: Vec<Enclosure>,
    /// A representative image URL.
    pub image: Option<String>,
    /// Publication date.
    pub published: Option<DateTime<Utc>>,
    /// Update date.
    pub updated: Option<DateTime<Utc>>,
    /// The original outlet, for syndicated copies.
    pub source: Option<SourceRef>,
}
