//! The sources page `/sources`: each feed's health, one section per feed, in the river
//! page's style (`html.rs`). Times are absolute, so the page is the same bytes until a poll
//! changes something (its validators hash them).

use maud::{Markup, html};

use super::html::{shell, when};
use crate::serve::sources::{Source, Sources};

fn source(f: &Source) -> Markup {
    let failing = f.error_count > 0;
    html! {
        section aria-label=(f.name) {
            h2 { (f.name) }
            dl {
                dt { "Feed" } dd { a href=(f.url) { (f.url) } }
                @if let Some(t) = &f.title { dt { "Calls itself" } dd { (t) } }
                @if let Some(u) = &f.site_url { dt { "Website" } dd { a href=(u.as_str()) { (u.as_str()) } } }
                @if !f.tags.is_empty() { dt { "Tags" } dd { (f.tags.join(", ")) } }
                dt { "Last fetch" }
                dd {
                    @if let Some(t) = f.last_fetch {
                        time datetime=(t.to_rfc3339()) { (when(t)) } ": "
                    }
                    (f.result)
                }
                dt { "Next fetch" }
                dd {
                    @if !f.polled { "not polled" }
                    @else if let Some(t) = f.next_fetch { time datetime=(t.to_rfc3339()) { (when(t)) } }
                    @else { "as soon as the daemon runs" }
                }
                dt { "Errors" }
                dd.bad[failing] {
                    @if failing {
                        (f.error_count) " in a row"
                        @if let Some(e) = &f.last_error { "; last: " (e) }
                    } @else { "none" }
                }
                @if let Some(to) = &f.moved_to { dt { "Moved to" } dd { (to) } }
                dt { "Articles" } dd { (f.articles) " stored" }
                dt { "Merged" }
                dd {
                    (f.merged_elsewhere)
                    @if f.merged_elsewhere == 1 { " copy" } @else { " copies" }
                    " merged into other outlets' stories"
                }
            }
        }
    }
}

/// The sources page.
pub fn render(s: &Sources) -> Vec<u8> {
    let title = format!("Sources — {}", s.site_title);
    let failing = s.feeds.iter().filter(|f| f.error_count > 0).count();
    let body = html! {
        header {
            h1 { "Sources" }
            p.sub {
                a href="./" { (s.site_title) } ": " (s.feeds.len()) " feeds, "
                (failing) " failing. "
                a href="feeds.opml" { "OPML" }
            }
        }
        main {
            @if s.feeds.is_empty() { p { "No feeds are configured." } }
            @for f in &s.feeds { (source(f)) }
        }
        footer { a href="./" { "All stories" } ". Served by tributary." }
    };
    shell("en", &title, html! {}, body)
}
