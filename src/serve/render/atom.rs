//! Atom 1.0 (RFC 4287) with atom_syndication: each entry names the representative's feed in
//! `<source>` and links every other copy with `rel="related"`. Its story page (every copy
//! side by side) is linked with `rel="describedby"` (IANA: "a resource providing
//! information about the link's context"), not `related`, so the related links stay the
//! copies and `alternate` stays the representative's URL, as SPEC.md has them. Each entry's
//! language is its texts' `xml:lang` (an Atom entry has no attribute of its own for it).

use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Source, Text,
};
use chrono::{DateTime, Utc};

use crate::serve::document::{Document, Story};

fn at(t: DateTime<Utc>) -> FixedDateTime {
    t.fixed_offset()
}

fn link(href: impl Into<String>, rel: &str, mime: Option<&str>, title: Option<&str>) -> Link {
    Link {
        href: href.into(),
        rel: rel.into(),
        mime_type: mime.map(str::to_string),
        title: title.map(str::to_string),
        ..Default::default()
    }
}

fn entry(s: &Story) -> Entry {
    let rep = &s.representative;
    let mut links = Vec::new();
    if let Some(u) = &s.link {
        links.push(link(u.as_str(), "alternate", Some("text/html"), None));
    }
    for c in &s.others {
        if let Some(u) = &c.url {
            links.push(link(
                u.as_str(),
                "related",
                Some("text/html"),
                Some(&c.outlet),
            ));
        }
    }
    links.push(link(
        s.page.as_str(),
        "describedby",
        Some("text/html"),
        Some("Every copy of this story side by side"),
    ));
    // A story without a language says so (`xml:lang=""`) rather than inherit the feed's.
    let lang = Some(s.lang.clone().unwrap_or_default());
    let text = |value: &str| Text {
        lang: lang.clone(),
        ..Text::plain(value)
    };
    let mut source_links = vec![link(rep.feed_url.as_str(), "self", None, None)];
    if let Some(site) = &rep.site_url {
        source_links.push(link(site.as_str(), "alternate", Some("text/html"), None));
    }
    Entry {
        title: text(&s.title),
        id: s.id.clone(),
        updated: at(s.updated),
        published: Some(at(s.published)),
        authors: s
            .authors
            .iter()
            .map(|a| Person {
                name: a.clone(),
                ..Default::default()
            })
            .collect(),
        categories: s
            .categories
            .iter()
            .map(|t| Category {
                term: t.clone(),
                ..Default::default()
            })
            .collect(),
        links,
        source: Some(Source {
            title: Text::plain(rep.outlet.as_str()),
            id: rep.feed_url.clone(),
            updated: at(rep.updated.unwrap_or(rep.published)),
            links: source_links,
            ..Default::default()
        }),
        summary: s.summary_text().map(|t| text(&t)),
        content: Some(Content {
            value: Some(s.content_html()),
            content_type: Some("html".into()),
            lang: lang.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The document as Atom 1.0; a page with older stories after it links them (`next`,
/// RFC 5005 paged feeds).
pub fn render(doc: &Document) -> Result<Vec<u8>, super::RenderError> {
    let mut links = vec![
        link(
            doc.url_of("feed.atom"),
            "self",
            Some("application/atom+xml"),
            None,
        ),
        link(doc.url_of(""), "alternate", Some("text/html"), None),
    ];
    if let Some(next) = doc.older_url_of("feed.atom") {
        links.push(link(next, "next", Some("application/atom+xml"), None));
    }
    links.extend(doc.hub.iter().map(|h| link(h.as_str(), "hub", None, None)));
    let feed = Feed {
        title: Text::plain(doc.title.as_str()),
        id: doc.feed_id(),
        updated: at(doc.updated),
        generator: Some(Generator {
            value: "tributary".into(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        links,
        entries: doc.stories.iter().map(entry).collect(),
        lang: doc.declared_lang().map(str::to_string),
        ..Default::default()
    };
    let mut out = feed.write_to(Vec::new())?;
    out.push(b'\n');
    Ok(out)
}
