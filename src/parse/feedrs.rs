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
    let text = guard_contacts(text);
    let feed = catch_unwind(AssertUnwindSafe(|| parser.parse(text.as_bytes())))
        .map_err(|_| {
            super::note_panic();
            "the feed parser crashed on this document".to_string()
        })?
        .map_err(|e| e.to_string())?;
    Ok(convert(feed))
}

/// RSS contact elements whose text feed-rs splits into name and e-mail.
const CONTACTS: [&str; 3] = ["managingEditor", "webMaster", "author"];

/// feed-rs 3.0.0 (`parse_person_name_email`) cuts a contact's name one byte before or after
/// the e-mail address it finds, which panics when that byte is inside a multi-byte
/// character (found by the fuzzer). A space between the address and such a neighbour, in
/// the text of RSS contact elements only, keeps the cut on a character boundary.
fn guard_contacts(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('@') || text.is_ascii() {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut contacts = ContactFinder::default();
    let mut at = 0;
    while let Some((open, close)) = contacts.next(text, at) {
        out.push_str(&text[at..open]);
        guard_emails(&text[open..close], &mut out);
        at = close;
    }
    out.push_str(&text[at..]);
    out.into()
}

/// Finds contact elements in document order. Each name's next element is remembered until
/// the scan passes it, so the document is searched once per name, not once per contact.
#[derive(Default)]
struct ContactFinder {
    /// Per name in [`CONTACTS`]: not searched yet, the byte range of its next element's
    /// content, or `Err` when no complete element of that name follows.
    next: [Option<Result<(usize, usize), ()>>; 3],
}

impl ContactFinder {
    /// The byte range of the first contact element's content at or after `from`.
    fn next(&mut self, text: &str, from: usize) -> Option<(usize, usize)> {
        for (name, next) in CONTACTS.iter().zip(self.next.iter_mut()) {
            let stale = match next {
                None => true,
                // Stale once the scan is past the element's start tag.
                Some(Ok((open, _))) => *open - name.len() - 2 < from,
                Some(Err(())) => false,
            };
            if stale {
                *next = Some(find_contact(text, from, name).ok_or(()));
            }
        }
        self.next
            .iter()
            .filter_map(|n| n.and_then(Result::ok))
            .min()
    }
}

/// The byte range of the content of the first `name` element starting at or after `from`.
fn find_contact(text: &str, from: usize, name: &str) -> Option<(usize, usize)> {
    // memmem rather than `str::find`: the search runs over the whole rest of the document.
    let rest = &text.as_bytes()[from..];
    let open = memchr::memmem::find(rest, format!("<{name}>").as_bytes())? + name.len() + 2;
    let close = open + memchr::memmem::find(&rest[open..], format!("</{name}>").as_bytes())?;
    Some((from + open, from + close))
}

/// Copies `content` to `out`, with a space between each e-mail-like run and a neighbour
/// that is not ASCII (or ends a character reference, which may decode to one).
fn guard_emails(content: &str, out: &mut String) {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    let risky = |c: Option<char>| c.is_some_and(|c| !c.is_ascii() || c == ';');
    let mut copied = 0;
    for (at, _) in content.match_indices('@') {
        let start = content[..at].trim_end_matches(local).len();
        let end =
            at + 1 + (content[at + 1..].len() - content[at + 1..].trim_start_matches(domain).len());
        let start = content[..start]
            .strip_suffix("mailto:")
            .map_or(start, str::len);
        if start < copied {
            continue;
        }
        out.push_str(&content[copied..start]);
        // feed-rs's pattern also takes a `<[(` before and a `>])` after the address into
        // what it cuts around: a space keeps them out of it.
        let delimited_before = content[..start].ends_with("[(");
        let after = &content[end..];
        let delimited_after = after.starts_with(">])") || after.starts_with("&gt;])");
        if risky(content[..start].chars().next_back()) || delimited_before {
            out.push(' ');
        }
        out.push_str(&content[start..end]);
        if risky(after.chars().next()) || delimited_after {
            out.push(' ');
        }
        copied = end;
    }
    out.push_str(&content[copied..]);
}

/// The pattern feed-rs 3.0.0's `parse_person_name_email` looks for, copied so that
/// [`guard_person_name`] sees the same address feed-rs will.
static EMAIL: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"\b(<\[\()?(mailto:)?([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})(>]\))?\b",
    )
    .ok()
});

/// How many spaces [`guard_person_name`] inserts before it gives a name up.
const MAX_NAME_GUARDS: usize = 4;

/// A person's name (as JSON Feed sends it: already decoded text) that feed-rs 3.0.0 can
/// split into name and e-mail without panicking: where the byte it cuts at (one before or
/// after the address it finds) is inside a multi-byte character, a space goes between the
/// address and that character. `None` (drop the name) if that does not settle it.
pub(super) fn guard_person_name(name: &str) -> Option<std::borrow::Cow<'_, str>> {
    let mut name = std::borrow::Cow::Borrowed(name);
    if name.is_ascii() || !name.contains('@') {
        return Some(name);
    }
    let email = EMAIL.as_ref()?;
    for _ in 0..=MAX_NAME_GUARDS {
        let Some(found) = email.find(&name) else {
            return Some(name);
        };
        let (start, end) = (found.start(), found.end());
        let (cut, gap) = if start > name.len() - end {
            (start - 1, start)
        } else if end < name.len() {
            (end + 1, end)
        } else {
            return Some(name);
        };
        if name.is_char_boundary(cut) {
            return Some(name);
        }
        name.to_mut().insert(gap, ' ');
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The contact scan as first written (every name searched again after each contact):
    /// the reference [`ContactFinder`] must agree with.
    fn guard_contacts_rescanning(text: &str) -> String {
        let next_contact = |text: &str| {
            CONTACTS
                .iter()
                .filter_map(|name| {
                    let open = text.find(&format!("<{name}>"))? + name.len() + 2;
                    let close = open + text[open..].find(&format!("</{name}>"))?;
                    Some((open, close))
                })
                .min()
        };
        if !text.contains('@') || text.is_ascii() {
            return text.to_string();
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some((open, close)) = next_contact(rest) {
            out.push_str(&rest[..open]);
            guard_emails(&rest[open..close], &mut out);
            rest = &rest[close..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn contacts_are_guarded_in_document_order() {
        let doc = "<managingEditor>é@a.example</managingEditor><item><author>x é@b.example</author>\
                   </item><item><author>a@c.example é</author></item><webMaster>é@d.example";
        assert_eq!(guard_contacts(doc), guard_contacts_rescanning(doc));
        assert!(guard_contacts(doc).contains("<author>x é @b.example</author>"));
    }

    proptest::proptest! {
        /// Remembering each name's next element finds the same elements as searching again.
        #[test]
        fn contact_finder_agrees_with_rescanning(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<author>", "</author>", "<managingEditor>", "</managingEditor>", "<webMaster>",
                "</webMaster>", "é@a.example", "b@c.example", "é", "x", " ", "<item>", "</item>",
                "&gt;])", "[(", "mailto:", "<author", "</", ">",
            ]), 0..24),
        ) {
            let doc = parts.concat();
            proptest::prop_assert_eq!(guard_contacts(&doc).into_owned(), guard_contacts_rescanning(&doc));
        }
    }
}
