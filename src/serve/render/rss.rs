//! RSS 2.0 with the rss crate: `<source url>` names the representative's outlet, the guid is
//! the story's stable id (`isPermaLink="false"`), and `atom:link rel="self"` points back.
//! The story page (every copy side by side) is each item's `<comments>` page, as
//! aggregators' feeds link their discussion pages; `<link>` stays the representative's.
//! RSS declares a language per channel only: the one most stories have.

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Guid, Item, Source};

use crate::serve::document::{Document, Story};

fn item(s: &Story) -> Item {
    let rep = &s.representative;
    Item {
        title: Some(s.title.clone()),
        link: s.link.as_ref().map(|u| u.to_string()),
        description: Some(s.content_html()),
        comments: Some(s.page.to_string()),
        guid: Some(Guid {
            value: s.id.clone(),
            permalink: false,
        }),
        pub_date: Some(s.published.to_rfc2822()),
        source: Some(Source {
            url: rep.feed_url.clone(),
            title: Some(rep.outlet.clone()),
        }),
        categories: s
            .categories
            .iter()
            .map(|t| Category {
                name: t.clone(),
                domain: None,
            })
            .collect(),
        dublin_core_ext: Some(DublinCoreExtension {
            creators: s.authors.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The document as RSS 2.0; a page with older stories after it links them with
/// `atom:link rel="next"` (RFC 5005 paged feeds).
pub fn render(doc: &Document) -> Result<Vec<u8>, super::RenderError> {
    let mut links = vec![Link {
        href: doc.url_of("feed.rss"),
        rel: "self".into(),
        mime_type: Some("application/rss+xml".into()),
        ..Default::default()
    }];
    if let Some(next) = doc.older_url_of("feed.rss") {
        links.push(Link {
            href: next,
            rel: "next".into(),
            mime_type: Some("application/rss+xml".into()),
            ..Default::default()
        });
    }
    links.extend(doc.hub.iter().map(|h| Link {
        href: h.to_string(),
        rel: "hub".into(),
        ..Default::default()
    }));
    let channel = Channel {
        title: doc.title.clone(),
        link: doc.url_of(""),
        description: format!(
            "{}: each story once, with every outlet that carried it.",
            doc.title
        ),
        last_build_date: Some(doc.updated.to_rfc2822()),
        language: doc.declared_lang().map(str::to_string),
        generator: Some(concat!("tributary ", env!("CARGO_PKG_VERSION")).into()),
        atom_ext: Some(AtomExtension { links }),
        items: doc.stories.iter().map(item).collect(),
        ..Default::default()
    };
    let mut out = channel.write_to(Vec::new())?;
    out.push(b'\n');
    Ok(out)
}
