//! JSON Feed 1.1 (https://jsonfeed.org/version/1.1) with our own serde structs (the JSON
//! Feed crates are unmaintained). Each item carries an `_tributary` extension listing every
//! copy of the story and its page (`page`: every copy side by side); `url` stays the
//! representative's link, as SPEC.md has it (`external_url` means a page the item is
//! about, which the story page is not). Items carry their own `language`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::serve::document::{Copy, Document, Story};

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    /// The page of older stories, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<JsonHub>,
    items: Vec<JsonItem<'a>>,
}

/// A JSON Feed `hubs` entry: where to subscribe for real-time notification.
#[derive(Serialize)]
struct JsonHub {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_html: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    date_published: String,
    date_modified: String,
    authors: Vec<JsonAuthor<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(rename = "_tributary")]
    tributary: Extension<'a>,
}

#[derive(Serialize)]
struct JsonAuthor<'a> {
    name: &'a str,
}

/// The `_tributary` extension object.
#[derive(Serialize)]
struct Extension<'a> {
    /// The story's page: every copy side by side.
    page: &'a str,
    /// Every copy, the representative first.
    copies: Vec<JsonCopy<'a>>,
}

#[derive(Serialize)]
struct JsonCopy<'a> {
    outlet: &'a str,
    feed_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    published: String,
    representative: bool,
}

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn copy(c: &Copy, representative: bool) -> JsonCopy<'_> {
    JsonCopy {
        outlet: &c.outlet,
        feed_url: &c.feed_url,
        url: c.url.as_ref().map(|u| u.as_str()),
        title: &c.title,
        published: date(c.published),
        representative,
    }
}

fn item(s: &Story) -> JsonItem<'_> {
    JsonItem {
        id: &s.id,
        url: s.link.as_ref().map(|u| u.as_str()),
        title: &s.title,
        content_html: s.content_html(),
        summary: s.summary_text(),
        date_published: date(s.published),
        date_modified: date(s.updated),
        authors: s.authors.iter().map(|a| JsonAuthor { name: a }).collect(),
        tags: &s.categories,
        language: s.lang.as_deref(),
        tributary: Extension {
            page: s.page.as_str(),
            copies: std::iter::once(copy(&s.representative, true))
                .chain(s.others.iter().map(|c| copy(c, false)))
                .collect(),
        },
    }
}

/// The document as JSON Feed 1.1.
pub fn render(doc: &Document) -> Result<Vec<u8>, super::RenderError> {
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &doc.title,
        home_page_url: doc.url_of(""),
        feed_url: doc.url_of("feed.json"),
        next_url: doc.older_url_of("feed.json"),
        description: format!(
            "{}: each story once, with every outlet that carried it.",
            doc.title
        ),
        language: doc.declared_lang(),
        hubs: doc
            .hub
            .iter()
            .map(|h| JsonHub {
                kind: "WebSub",
                url: h.to_string(),
            })
            .collect(),
        items: doc.stories.iter().map(item).collect(),
    };
    let mut out = serde_json::to_vec(&feed)?;
    out.push(b'\n');
    Ok(out)
}
