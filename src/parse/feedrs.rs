//! feed-rs as the primary reader: configured once here (base URI, no id generation, no
//! sanitising, our date parser) and its output mapped to [`RawFeed`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use feed_rs::model::{Entry, Feed, Link, Text};

use super::raw::{RawEntry, RawFeed, RawText};
use crate::model::Enclosure;

/// Reads a repaired document with feed-rs; a panic inside feed-rs is an error like any other.
pub fn read(text: &str, base: &str) -> Result<RawFeed, String> {
    let base = Some(base).filter(|b| !b.is_empty());
    let parser = feed_rs::parser::Builder::new()
        // feed-rs keeps media URLs only when they parse as absolute URLs.
        .base_uri(base)
        // Missing ids stay empty: feed-rs's own fallback hashes the title (which editors
        // change) or is random; the normaliser derives a stable key instead.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .timestamp_parser(super::date::parse)
        .build();
    let feed = catch_unwind(AssertUnwindSafe(|| parser.parse(text.as_bytes())))
        .map_err(|_| {
            super::note_panic();
            "the feed parser crashed on this document".to_string()
        })?
        .map_err(|e| e.to_string())?;
    Ok(convert(feed))
}

fn convert(feed: Feed) -> RawFeed {
    RawFeed {
        title: feed.title.and_then(text),
        link: alternate(&feed.links),
        language: feed.language,
        ttl: feed.ttl,
        entries: feed.entries.into_iter().map(entry).collect(),
    }
}

fn text(t: Text) -> Option<RawText> {
    let html = t.content_type.as_str().contains("html");
    RawText::new(t.content, html)
}

/// The entry's page: the first link with no `rel` or `rel="alternate"`, else the first
/// link that is not an enclosure or a self/edit link.
fn alternate(links: &[Link]) -> Option<String> {
    links
        .iter()
        .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
        .or_else(|| {
            links.iter().find(|l| {
                !matches!(
                    l.rel.as_deref(),
                    Some("enclosure" | "self" | "edit" | "replies" | "hub")
                )
            })
        })
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn entry(e: Entry) -> RawEntry {
    let mut enclosures: Vec<Enclosure> = e
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
        .map(|l| Enclosure {
            url: l.href.clone(),
            mime: l.media_type.clone(),
            length: l.length,
        })
        .collect();
    let mut image = None;
    for media in &e.media {
        for c in &media.content {
            if let Some(url) = &c.url {
                enclosures.push(Enclosure {
                    url: url.to_string(),
                    mime: c.content_type.as_ref().map(|m| m.to_string()),
                    length: c.size,
                });
            }
        }
        if image.is_none() {
            image = media.thumbnails.first().map(|t| t.image.uri.clone());
        }
    }
    let content = e.content.and_then(|c| {
        let html = c.content_type.as_str().contains("html");
        RawText::new(c.body?, html)
    });
    RawEntry {
        id: Some(e.id).filter(|id| !id.trim().is_empty()),
        title: e.title.and_then(text),
        link: alternate(&e.links),
        base: e.base,
        summary: e.summary.and_then(text),
        content,
        authors: e.authors.into_iter().filter_map(|p| p.name).collect(),
        categories: e
            .categories
            .into_iter()
            .map(|c| c.label.unwrap_or(c.term))
            .collect(),
        language: e.language,
        enclosures,
        image,
        published: e.published,
        updated: e.updated,
        source: None,
    }
}
