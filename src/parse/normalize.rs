//! The one normaliser: a [`RawFeed`] (from whichever reader) into the `Article`s every later
//! stage relies on — canonical URLs, plain-text titles, HTML sanitised once, the dedup text,
//! believable dates and a stable identity.

use chrono::{DateTime, Utc};
use url::Url;
use xxhash_rust::xxh3::xxh3_64;

use super::policy::FUTURE_TOLERANCE;
use super::raw::{RawEntry, RawFeed, RawText};
use super::{text, url as urls};
use crate::markup::text::html_to_text;
use crate::markup::whitespace::one_line;
use crate::markup::{escape, sanitize};
use crate::model::{Article, Enclosure, ParsedFeed};

/// Normalises a feed read from the document at `feed_url`, fetched at `fetched_at`.
pub fn normalize(raw: RawFeed, feed_url: &str, fetched_at: DateTime<Utc>) -> ParsedFeed {
    let fetched_from = Url::parse(feed_url).ok();
    let site = raw
        .link
        .as_deref()
        .and_then(|l| urls::canonical(l, fetched_from.as_ref()));
    let feed_base = site.clone().or(fetched_from);
    let feed_language = raw
        .language
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty());
    let articles = raw
        .entries
        .into_iter()
        .filter_map(|e| article(e, feed_base.as_ref(), feed_language.as_deref(), fetched_at))
        .collect();
    ParsedFeed {
        title: raw.title.map(|t| plain_title(&t)).filter(|t| !t.is_empty()),
        site_url: site.map(String::from),
        ttl_minutes: raw.ttl,
        articles,
    }
}

fn article(
    e: RawEntry,
    feed_base: Option<&Url>,
    feed_language: Option<&str>,
    fetched_at: DateTime<Utc>,
) -> Option<Article> {
    // The entry's own xml:base, itself possibly relative to the feed's.
    let base = e
        .base
        .as_deref()
        .and_then(|b| urls::absolute(b, feed_base))
        .and_then(|b| Url::parse(&b).ok())
        .or_else(|| feed_base.cloned());
    let guid = e.id.map(|g| g.trim().to_string()).filter(|g| !g.is_empty());
    let url = e
        .link
        .as_deref()
        .and_then(|l| urls::canonical(l, base.as_ref()))
        .or_else(|| guid.as_deref().and_then(|g| urls::canonical(g, None)));
    let item_base = url.clone().or(base);
    let summary_html = e.summary.as_ref().map(|s| body_html(s, item_base.as_ref()));
    let content_html = match (&e.content, &e.summary) {
        // Feeds that send one text as both: sanitise it once.
        (Some(c), Some(s)) if c == s => summary_html.clone(),
        (c, _) => c.as_ref().map(|c| body_html(c, item_base.as_ref())),
    };
    let best = content_html
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(summary_html.as_deref());
    let body_text = best.map(html_to_text).unwrap_or_default();
    let mut title = e.title.as_ref().map(plain_title).unwrap_or_default();
    if title.is_empty() {
        title = text::first_words(&body_text);
    }
    let enclosures = enclosures(e.enclosures, item_base.as_ref());
    let image = e
        .image
        .as_deref()
        .and_then(|i| urls::absolute(i, item_base.as_ref()))
        .or_else(|| {
            enclosures
                .iter()
                .find(|en| en.mime.as_deref().is_some_and(|m| m.starts_with("image/")))
                .map(|en| en.url.clone())
        });
    if title.is_empty() {
        title = url.as_ref().map(|u| u.to_string()).unwrap_or_default();
    }
    if title.is_empty() {
        title = "Untitled".to_string();
    }
    let limit = fetched_at + FUTURE_TOLERANCE;
    let published = e.published.or(e.updated);
    let date_clamped = published.is_some_and(|d| d > limit);
    let published = published.filter(|d| *d <= limit);
    let updated = e.updated.filter(|d| *d <= limit);
    let url = url.map(String::from);
    let key = match (&guid, &url) {
        (Some(g), _) => g.clone(),
        (None, Some(u)) => u.clone(),
        (None, None) => {
            let date = published.map(|d| d.to_rfc3339()).unwrap_or_default();
            format!(
                "{:016x}",
                xxh3_64(format!("{title}\n{date}\n{body_text}").as_bytes())
            )
        }
    };
    let mut source = e.source;
    if let Some(s) = &mut source {
        s.title = s.title.as_deref().map(one_line).filter(|t| !t.is_empty());
        s.url = s
            .url
            .as_deref()
            .and_then(|u| urls::absolute(u, item_base.as_ref()));
    }
    Some(Article {
        guid,
        key,
        url,
        title,
        summary_html: summary_html.filter(|s| !s.trim().is_empty()),
        content_html: content_html.filter(|c| !c.trim().is_empty()),
        text: body_text,
        authors: dedup(e.authors.iter().map(|a| one_line(a))),
        categories: dedup(e.categories.iter().map(|c| one_line(c))),
        language: e
            .language
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .or_else(|| feed_language.map(str::to_string)),
        enclosures,
        image,
        published,
        updated,
        date_clamped,
        source,
    })
}

/// A title as plain text on one line, with double-encoded UTF-8 repaired.
fn plain_title(t: &RawText) -> String {
    // Titles marked as plain text still carry markup often enough (`&lt;b&gt;`), and a
    // literal `<` followed by a space survives the conversion.
    let line = one_line(&html_to_text(&t.body));
    text::fix_mojibake(&line).unwrap_or(line)
}

/// A summary or content as sanitised HTML (plain-text fields are escaped into HTML first).
fn body_html(t: &RawText, base: Option<&Url>) -> String {
    let body = text::fix_mojibake(&t.body);
    let body = body.as_deref().unwrap_or(&t.body);
    if t.html {
        sanitize::clean(body, base)
    } else {
        let mut html = String::with_capacity(body.len() + 16);
        for (i, para) in body
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .enumerate()
        {
            if i > 0 {
                html.push('\n');
            }
            html.push_str("<p>");
            escape::push_text(&mut html, para.trim());
            html.push_str("</p>");
        }
        html
    }
}

fn enclosures(list: Vec<Enclosure>, base: Option<&Url>) -> Vec<Enclosure> {
    let mut out: Vec<Enclosure> = Vec::new();
    for mut e in list {
        let Some(url) = urls::absolute(&e.url, base) else {
            continue;
        };
        if out.iter().any(|o| o.url == url) {
            continue;
        }
        e.url = url;
        e.mime = e
            .mime
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
        out.push(e);
    }
    out
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
