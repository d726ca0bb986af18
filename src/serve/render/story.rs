//! The story page `/story/{id}`: the story's headline, time and full text (the
//! representative's: its page's text when one was fetched, else the feed's), then every copy
//! side by side — outlet, the headline as that outlet wrote it, time, link, and how it
//! matched in plain words. Same style sheet, shell and safety as the river page (`html.rs`):
//! no script, nothing loaded from elsewhere, readable on a phone, light or dark.

use maud::{Markup, PreEscaped, html};

use super::html::{lang_attr, shell, when};
use crate::serve::document::{Copy, StoryPage};

fn copy(c: &Copy, representative: bool, page_lang: &str) -> Markup {
    html! {
        li.rep[representative] lang=[lang_attr(c.lang.as_deref(), page_lang)] {
            p.meta {
                strong { (c.outlet) }
                @if representative { " · shown above" }
            }
            h3 {
                @if let Some(u) = &c.url { a href=(u.as_str()) { (c.title) } } @else { (c.title) }
            }
            p.meta {
                time datetime=(c.published.to_rfc3339()) { (when(c.published)) }
                @if let Some(u) = c.updated.filter(|u| *u > c.published) {
                    ", updated " time datetime=(u.to_rfc3339()) { (when(u)) }
                }
            }
            p { "Matched: " (c.how_matched()) "." }
        }
    }
}

/// One story's page.
pub fn render(page: &StoryPage) -> Vec<u8> {
    let s = &page.story;
    let rep = &s.representative;
    let copies = s.others.len() + 1;
    let lang = s.lang.as_deref().unwrap_or("und");
    let head = html! {
        link rel="canonical" href=(s.page.as_str());
    };
    let body = html! {
        header {
            p.sub { a href="../" { (page.site_title) } }
        }
        main {
            article {
                h1 { (s.title) }
                p.meta {
                    time datetime=(s.published.to_rfc3339()) { (when(s.published)) }
                    @if s.updated > s.published {
                        " · updated " time datetime=(s.updated.to_rfc3339()) { (when(s.updated)) }
                    }
                    " · "
                    @if let Some(u) = &s.link { a href=(u.as_str()) { (rep.outlet) } } @else { (rep.outlet) }
                }
                div.text { (PreEscaped(s.full_html())) }
            }
            section aria-labelledby="copies" {
                h2 #copies {
                    @if copies == 1 { "One copy" } @else { (copies) " copies" }
                }
                ol.copies {
                    (copy(rep, true, lang))
                    @for c in &s.others { (copy(c, false, lang)) }
                }
            }
        }
        footer {
            a href="../" { "All stories" } " · " a href="../sources" { "Sources" }
            ". Served by tributary."
        }
    };
    let lang = s.lang.as_deref().unwrap_or("und");
    shell(
        lang,
        &format!("{} — {}", s.title, page.site_title),
        head,
        body,
    )
}

/// The 404 page of a story id that names no story, now or before.
pub fn missing(site_title: &str, id: &str) -> Vec<u8> {
    let site_title = crate::serve::safe::title(site_title);
    let body = html! {
        header { p.sub { a href="../" { (site_title) } } }
        main {
            h1 { "No such story" }
            p { "No story has the number " (id) ". It may have been pruned after the retention period." }
            p { a href="../" { "All stories" } }
        }
    };
    shell(
        "en",
        &format!("No such story — {site_title}"),
        html! {},
        body,
    )
}
