//! The renderers: one [`Document`](super::document::Document) in, one format's bytes out.
//! One renderer per format, shared by the server and `tributary export`; and the two other
//! HTML pages, [`story_page`] and [`sources_page`], in the river page's style.

mod atom;
mod html;
mod json;
mod rss;
mod sources;
mod story;

pub use sources::render as sources_page;
pub use story::{missing as story_missing, render as story_page};

use super::document::Document;

/// Why a renderer could not write its document (its writer refused a value).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The Atom writer failed.
    #[error("cannot write the Atom document: {0}")]
    Atom(#[from] atom_syndication::Error),
    /// The RSS writer failed.
    #[error("cannot write the RSS document: {0}")]
    Rss(#[from] ::rss::Error),
    /// The JSON writer failed.
    #[error("cannot write the JSON Feed document: {0}")]
    Json(#[from] serde_json::Error),
}

/// The formats a merged-feed document can be rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Atom 1.0 (RFC 4287), `/feed.atom`.
    Atom,
    /// RSS 2.0, `/feed.rss`.
    Rss,
    /// JSON Feed 1.1, `/feed.json`.
    Json,
    /// The river page, `/`.
    Html,
}

impl Format {
    /// The feed formats (every format but the river page).
    pub const FEEDS: [Format; 3] = [Format::Atom, Format::Rss, Format::Json];

    /// The `Content-Type` the server sends.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// The path it is served at, relative to `[server].base_url`.
    pub fn path(self) -> &'static str {
        match self {
            Format::Atom => "feed.atom",
            Format::Rss => "feed.rss",
            Format::Json => "feed.json",
            Format::Html => "",
        }
    }

    /// A short word for logs and validators.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}

/// Renders `doc` as `format`.
pub fn render(doc: &Document, format: Format) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Atom => atom::render(doc),
        Format::Rss => rss::render(doc),
        Format::Json => json::render(doc),
        Format::Html => Ok(html::render(doc)),
    }
}
