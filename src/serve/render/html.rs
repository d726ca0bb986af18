//! The river page `/`: server-rendered HTML (maud, checked at compile time), readable
//! without JavaScript on a phone or a desktop, with landmarks, one heading per story, tag
//! filters, a search box (a plain GET form), an "Older stories" link to the next page, and
//! `<link rel="alternate">` to the three feeds so readers autodiscover them. Story text
//! appears only as plain-text excerpts; the page loads nothing from elsewhere.
//! Each story declares its own `lang`, the page the one most stories have.
//!
//! The style sheet and the page shell ([`shell`]) are shared with the story page
//! (`story.rs`) and the sources page (`sources.rs`), so the three look and behave alike.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::serve::document::{Document, Story};
use crate::serve::policy::EXCERPT_CHARS;
use crate::serve::query::FeedQuery;

/// The page's whole style sheet: small, inline, light and dark, readable widths.
const CSS: &str = "\
:root{color-scheme:light dark;--fg:#1a1a1a;--muted:#555;--bg:#fdfdfb;--line:#ddd;--link:#0645ad}\
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--muted:#aaa;--bg:#141414;--line:#333;--link:#8ab4f8}}\
*{box-sizing:border-box}\
body{margin:0;background:var(--bg);color:var(--fg);font:1.05rem/1.55 system-ui,-apple-system,'Segoe UI',sans-serif}\
header,nav,main,footer{max-width:46rem;margin:0 auto;padding:0 1rem}\
header{padding-top:1.5rem}\
h1{font-size:1.6rem;margin:0 0 .25rem}\
h1 a{color:inherit;text-decoration:none}\
a{color:var(--link)}\
a:focus-visible{outline:2px solid var(--link);outline-offset:2px}\
.sub,.meta,.outlets,footer{color:var(--muted);font-size:.92rem}\
nav ul{list-style:none;padding:0;margin:.75rem 0;display:flex;flex-wrap:wrap;gap:.4rem}\
nav a{display:inline-block;padding:.15rem .6rem;border:1px solid var(--line);border-radius:1rem;text-decoration:none}\
nav a[aria-current]{background:var(--link);color:var(--bg);border-color:var(--link)}\
article,main>section{border-top:1px solid var(--line);padding:1rem 0}\
h2{font-size:1.2rem;line-height:1.3;margin:0 0 .3rem;overflow-wrap:anywhere}\
h2 a{text-decoration:none}h2 a:hover{text-decoration:underline}\
p{margin:.35rem 0;overflow-wrap:anywhere}\
footer{padding:1rem;margin-top:1rem}\
form{display:flex;gap:.4rem;margin:.75rem 0}\
input,button{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:.4rem;padding:.3rem .6rem}\
input{flex:1;min-width:0}\
.older{border-top:1px solid var(--line);padding-top:1rem;font-weight:600}\
.text{overflow-wrap:anywhere}.text img,.text video{max-width:100%;height:auto}\
.text pre,.text table{display:block;overflow-x:auto}\
.copies{list-style:none;padding:0;margin:.5rem 0;display:grid;gap:.75rem;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr))}\
.copies li{border:1px solid var(--line);border-radius:.5rem;padding:.6rem .8rem}\
.copies li.rep{border-color:var(--link)}\
h3{font-size:1rem;line-height:1.3;margin:.25rem 0;overflow-wrap:anywhere}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}\
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}\
.bad{color:#b00020}@media (prefers-color-scheme:dark){.bad{color:#ff8a80}}";

/// A time as every page writes it.
pub(super) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The `lang` attribute of an element inside a page declared `page`: its own language, or
/// `""` (unknown) when it has none and the page declares one it would otherwise inherit.
pub(super) fn lang_attr<'a>(own: Option<&'a str>, page: &str) -> Option<&'a str> {
    own.or((page != "und").then_some(""))
}

/// A whole page: the document shell every HTML page shares (charset, viewport, the style
/// sheet, no favicon request), with the page's own `<head>` additions and body.
pub(super) fn shell(lang: &str, title: &str, head: Markup, body: Markup) -> Vec<u8> {
    html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                (head)
                link rel="icon" href="data:,";
                style { (maud::PreEscaped(CSS)) }
            }
            body { (body) }
        }
    }
    .into_string()
    .into_bytes()
}

fn filter_link(doc: &Document, tag: Option<&str>) -> String {
    let q = FeedQuery {
        tag: tag.map(str::to_string),
        feed: None,
        q: doc.query.q.clone(),
        limit: doc.query.limit,
        before: None,
    };
    format!("./{}", q.suffix())
}

/// The page after this one, relative like the page's other links.
fn older_link(doc: &Document) -> Option<String> {
    let q = FeedQuery {
        before: Some(doc.older?),
        ..doc.query.clone()
    };
    Some(format!("./{}", q.suffix()))
}

/// The search box: a GET form back to the river, keeping the page's other filters.
fn search_form(doc: &Document) -> Markup {
    let q = &doc.query;
    html! {
        form role="search" method="get" action="./" {
            input type="search" name="q" aria-label="Search stories" placeholder="Search: words, \"a phrase\", prefix*, -word"
                value=(q.q.as_ref().map(ToString::to_string).unwrap_or_default());
            @if let Some(tag) = &q.tag { input type="hidden" name="tag" value=(tag); }
            @if let Some(feed) = &q.feed { input type="hidden" name="feed" value=(feed); }
            @if q.limit != crate::serve::policy::DEFAULT_LIMIT {
                input type="hidden" name="limit" value=(q.limit);
            }
            button type="submit" { "Search" }
        }
    }
}

fn story(s: &Story, page_lang: &str) -> Markup {
    let rep = &s.representative;
    let excerpt = s.excerpt(EXCERPT_CHARS);
    let copies = s.others.len() + 1;
    html! {
        article lang=[lang_attr(s.lang.as_deref(), page_lang)] {
            h2 {
                @if let Some(link) = &s.link {
                    a href=(link.as_str()) { (s.title) }
                } @else {
                    (s.title)
                }
            }
            p.meta {
                time datetime=(s.published.to_rfc3339()) { (when(s.published)) }
                " · "
                @if let Some(u) = &rep.url { a href=(u.as_str()) { (rep.outlet) } } @else { (rep.outlet) }
                " · "
                a href=(format!("story/{}", s.number)) {
                    @if copies > 1 { "all " (copies) " copies side by side" } @else { "story page" }
                }
            }
            @if !excerpt.is_empty() {
                p { (excerpt) }
            }
            @if !s.others.is_empty() {
                p.outlets {
                    "Also carried by "
                    @for (i, c) in s.others.iter().enumerate() {
                        @if i > 0 { ", " }
                        @if let Some(u) = &c.url {
                            a href=(u.as_str()) title=(c.title) { (c.outlet) }
                        } @else {
                            (c.outlet)
                        }
                    }
                    "."
                }
            }
        }
    }
}

/// The river page.
pub fn render(doc: &Document) -> Vec<u8> {
    let feeds_query = doc.query.first_page().suffix();
    let head = html! {
        link rel="alternate" type="application/atom+xml" title=(format!("{} (Atom)", doc.title)) href=(format!("feed.atom{feeds_query}"));
        link rel="alternate" type="application/rss+xml" title=(format!("{} (RSS)", doc.title)) href=(format!("feed.rss{feeds_query}"));
        link rel="alternate" type="application/feed+json" title=(format!("{} (JSON Feed)", doc.title)) href=(format!("feed.json{feeds_query}"));
    };
    let body = html! {
        header {
            h1 { a href="./" { (doc.title) } }
            p.sub {
                "Each story once, with every outlet that carried it. Subscribe: "
                a href=(format!("feed.atom{feeds_query}")) { "Atom" } " · "
                a href=(format!("feed.rss{feeds_query}")) { "RSS" } " · "
                a href=(format!("feed.json{feeds_query}")) { "JSON Feed" } " · "
                a href="sources" { "sources" } " ("
                a href="feeds.opml" { "OPML" } ")"
            }
            (search_form(doc))
        }
        @if !doc.tags.is_empty() {
            nav aria-label="Filter by tag" {
                ul {
                    li {
                        @if doc.query.tag.is_none() {
                            a href=(filter_link(doc, None)) aria-current="page" { "All" }
                        } @else {
                            a href=(filter_link(doc, None)) { "All" }
                        }
                    }
                    @for tag in &doc.tags {
                        li {
                            @if doc.query.tag.as_deref() == Some(tag.as_str()) {
                                a href=(filter_link(doc, Some(tag))) aria-current="page" { (tag) }
                            } @else {
                                a href=(filter_link(doc, Some(tag))) { (tag) }
                            }
                        }
                    }
                }
            }
        }
        main {
            @if doc.stories.is_empty() {
                @if doc.query.before.is_some() {
                    p { "No older stories." }
                } @else if doc.query.q.is_some() {
                    p { "No stories match this search." }
                } @else {
                    p { "No stories yet." }
                }
            }
            @for s in &doc.stories {
                (story(s, &doc.lang))
            }
            @if let Some(older) = older_link(doc) {
                p.older { a href=(older) rel="next" { "Older stories" } }
            }
        }
        footer {
            "Updated " time datetime=(doc.updated.to_rfc3339()) { (when(doc.updated)) }
            ". " (doc.stories.len()) " stories. Served by tributary."
        }
    };
    shell(&doc.lang, &doc.title, head, body)
}
