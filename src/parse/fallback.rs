//! The lenient reader: a small quick-xml pass over the common RSS (0.9x, 1.0, 2.0, CDF) and
//! Atom shapes, used when feed-rs rejects a document or drops entries, and to recover what
//! feed-rs does not keep (`<source>`). Element names are matched by local name, case
//! insensitively; whatever it does not recognise it skips.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::raw::{RawEntry, RawFeed, RawText};
use crate::markup::entities::{self, Reference};
use crate::markup::escape;
use crate::model::{Enclosure, SourceRef};

/// Reads whatever entries the document holds; stops quietly at the first XML error, keeping
/// what was complete.
pub fn read(text: &str) -> RawFeed {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.check_comments = false;
    let mut state = State::default();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => state.start(&e, false),
            Ok(Event::Empty(e)) => {
                state.start(&e, true);
                state.end();
            }
            Ok(Event::End(_)) => state.end(),
            Ok(Event::Text(t)) => state.text(&t.xml10_content()),
            Ok(Event::CData(t)) => state.text(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => state.reference(&r),
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    state.feed
}

type Attrs = Vec<(String, String)>;

/// An element whose text is being collected.
#[derive(Default)]
struct Capture {
    /// Lowercased qualified name.
    name: String,
    attrs: Attrs,
    depth: usize,
    /// Text content, references resolved.
    text: String,
    /// Inner markup, for inline (X)HTML.
    markup: String,
    has_children: bool,
    /// Direct children's (name, attributes, text), for Atom persons and `<source>`.
    children: Vec<(String, Attrs, String)>,
}

#[derive(Default)]
struct State {
    feed: RawFeed,
    /// Lowercased qualified names of the open elements.
    path: Vec<String>,
    entry: Option<(RawEntry, usize)>,
    capture: Option<Capture>,
}

impl State {
    fn start(&mut self, e: &BytesStart<'_>, empty: bool) {
        let name = e.name().as_ref().to_ascii_lowercase();
        let attrs: Attrs = e
            .attributes()
            .flatten()
            .map(|a| {
                let value = entities::decode(&a.value).into_owned();
                (a.key.as_ref().to_ascii_lowercase(), value)
            })
            .collect();
        let depth = self.path.len();
        if let Some(capture) = &mut self.capture {
            capture.has_children = true;
            capture.markup.push('<');
            capture.markup.push_str(e);
            capture.markup.push_str(if empty { "/>" } else { ">" });
            if depth == capture.depth + 1 {
                capture
                    .children
                    .push((local(&name).to_string(), attrs, String::new()));
            }
        } else if self.entry.is_none() && matches!(local(&name), "item" | "entry") {
            let mut entry = RawEntry::default();
            for (key, value) in &attrs {
                match key.as_str() {
                    "xml:base" => entry.base = Some(value.clone()),
                    "xml:lang" => entry.language = Some(value.clone()),
                    "rdf:about" | "about" => entry.id = Some(value.clone()),
                    "href" => entry.link = Some(value.clone()),
                    _ => {}
                }
            }
            self.entry = Some((entry, depth));
        } else if self.wanted(&name, depth) {
            self.capture = Some(Capture {
                name: name.clone(),
                attrs,
                depth,
                ..Default::default()
            });
        } else if self.entry.is_none() && depth == 0 {
            for (key, value) in &attrs {
                if key == "xml:lang" {
                    self.feed.language = Some(value.clone());
                }
            }
        }
        self.path.push(name);
    }

    /// Whether an element at `depth` is a field to collect: a direct child of the entry
    /// (or of the channel/feed, outside entries).
    fn wanted(&self, name: &str, depth: usize) -> bool {
        match &self.entry {
            Some((_, entry_depth)) => depth == entry_depth + 1,
            None => {
                let parent = self.path.last().map(|p| local(p));
                matches!(parent, Some("channel" | "feed"))
                    && matches!(local(name), "title" | "link" | "language" | "ttl")
            }
        }
    }

    fn end(&mut self) {
        let Some(name) = self.path.pop() else { return };
        let depth = self.path.len();
        if let Some(capture) = &mut self.capture {
            if depth > capture.depth {
                capture.markup.push_str("</");
                capture.markup.push_str(&name);
                capture.markup.push('>');
                return;
            }
            if let Some(capture) = self.capture.take() {
                match &mut self.entry {
                    Some((entry, _)) => apply_to_entry(entry, capture),
                    None => apply_to_feed(&mut self.feed, capture),
                }
            }
            return;
        }
        if let Some((_, entry_depth)) = &self.entry
            && *entry_depth == depth
            && let Some((entry, _)) = self.entry.take()
        {
            self.feed.entries.push(entry);
        }
    }

    fn text(&mut self, text: &str) {
        let Some(capture) = &mut self.capture else {
            return;
        };
        capture.text.push_str(text);
        if let Some(child) = capture.children.last_mut()
            && self.path.len() == capture.depth + 2
        {
            child.2.push_str(text);
        }
        escape::push_text(&mut capture.markup, text);
    }

    fn reference(&mut self, r: &quick_xml::events::BytesRef<'_>) {
        let name: &str = r;
        let resolved = match entities::resolve(name) {
            Some(Reference::Xml(c) | Reference::Numeric(c) | Reference::Html(c, None)) => {
                c.to_string()
            }
            Some(Reference::Html(a, Some(b))) => [a, b].iter().collect(),
            None => format!("&{name};"),
        };
        self.text(&resolved);
    }
}

fn local(name: &str) -> &str {
    super::repair::local_name(name)
}

fn prefix(name: &str) -> &str {
    name.rsplit_once(':').map_or("", |(p, _)| p)
}

fn attr<'a>(attrs: &'a Attrs, key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

impl Capture {
    /// The element's value: inline markup when it has child elements, else its text.
    fn body(&self) -> String {
        if self.has_children {
            self.markup.clone()
        } else {
            self.text.clone()
        }
    }

    fn text_field(&self, html: bool) -> Option<RawText> {
        let ty = attr(&self.attrs, "type").unwrap_or("").to_ascii_lowercase();
        let html = html || self.has_children || ty.contains("html");
        let html = html && ty != "text" && ty != "text/plain";
        RawText::new(self.body(), html)
    }

    fn child_text(&self, name: &str) -> Option<String> {
        self.children
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, t)| t.trim().to_string())
            .filter(|t| !t.is_empty())
    }

    fn trimmed_text(&self) -> Option<String> {
        Some(self.text.trim().to_string()).filter(|t| !t.is_empty())
    }
}

fn apply_to_feed(feed: &mut RawFeed, capture: Capture) {
    match local(&capture.name) {
        "title" if feed.title.is_none() => feed.title = capture.text_field(false),
        "link" if feed.link.is_none() => feed.link = link_of(&capture),
        "language" => feed.language = capture.trimmed_text(),
        "ttl" => feed.ttl = capture.text.trim().parse().ok(),
        _ => {}
    }
}

fn link_of(capture: &Capture) -> Option<String> {
    match attr(&capture.attrs, "href") {
        Some(href) => {
            let rel = attr(&capture.attrs, "rel").unwrap_or("alternate");
            (rel == "alternate").then(|| href.to_string())
        }
        None => capture.trimmed_text(),
    }
}

fn apply_to_entry(entry: &mut RawEntry, capture: Capture) {
    let name = capture.name.as_str();
    let (ns, local) = (prefix(name), local(name));
    let plain = matches!(ns, "" | "atom");
    match (ns, local) {
        ("" | "atom" | "dc", "title") if entry.title.is_none() => {
            entry.title = capture.text_field(false);
        }
        (_, "link") if plain => {
            let rel = attr(&capture.attrs, "rel").unwrap_or("alternate");
            if let (Some(href), "enclosure") = (attr(&capture.attrs, "href"), rel) {
                entry.enclosures.push(Enclosure {
                    url: href.to_string(),
                    mime: attr(&capture.attrs, "type").map(str::to_string),
                    length: attr(&capture.attrs, "length").and_then(|l| l.parse().ok()),
                });
            } else if let Some(link) = link_of(&capture).filter(|_| entry.link.is_none()) {
                entry.link = Some(link);
            }
        }
        (_, "guid" | "id") if plain => {
            if let Some(id) = capture.trimmed_text() {
                entry.id = Some(id);
            }
        }
        ("" | "atom" | "dc", "description" | "summary" | "abstract") if entry.summary.is_none() => {
            entry.summary = capture.text_field(ns != "atom" && local != "summary");
        }
        ("content", "encoded") | ("" | "atom" | "xhtml", "content" | "body" | "fullitem")
            if entry.content.is_none() =>
        {
            entry.content = capture.text_field(local != "content" || ns == "content");
        }
        (
            "" | "atom" | "dc" | "dcterms",
            "pubdate" | "published" | "issued" | "date" | "created",
        ) if entry.published.is_none() => {
            entry.published = capture.trimmed_text().and_then(|t| super::date::parse(&t));
        }
        ("" | "atom" | "dcterms", "updated" | "modified" | "lastbuilddate")
            if entry.updated.is_none() =>
        {
            entry.updated = capture.trimmed_text().and_then(|t| super::date::parse(&t));
        }
        ("" | "atom" | "dc" | "itunes", "author" | "creator") => {
            if let Some(name) = capture
                .child_text("name")
                .or_else(|| capture.trimmed_text())
            {
                entry.authors.push(name);
            }
        }
        ("" | "atom" | "dc", "category" | "subject") => {
            let term = attr(&capture.attrs, "label")
                .or_else(|| attr(&capture.attrs, "term"))
                .map(str::to_string)
                .or_else(|| capture.trimmed_text());
            entry.categories.extend(term);
        }
        ("" | "dc", "language") => entry.language = capture.trimmed_text(),
        ("", "enclosure") | ("media", "content") => {
            if let Some(url) = attr(&capture.attrs, "url") {
                entry.enclosures.push(Enclosure {
                    url: url.to_string(),
                    mime: attr(&capture.attrs, "type").map(str::to_string),
                    length: attr(&capture.attrs, "length")
                        .or_else(|| attr(&capture.attrs, "filesize"))
                        .and_then(|l| l.parse().ok()),
                });
            }
        }
        ("media" | "itunes", "thumbnail" | "image") if entry.image.is_none() => {
            entry.image = attr(&capture.attrs, "url")
                .or_else(|| attr(&capture.attrs, "href"))
                .map(str::to_string);
        }
        (_, "source") if plain => {
            let url = attr(&capture.attrs, "url").map(str::to_string).or_else(|| {
                capture
                    .children
                    .iter()
                    .filter(|(n, _, _)| n == "link")
                    .find_map(|(_, attrs, text)| {
                        attr(attrs, "href")
                            .map(str::to_string)
                            .or_else(|| Some(text.trim().to_string()).filter(|t| !t.is_empty()))
                    })
            });
            let title = capture.child_text("title").or_else(|| {
                (capture.children.is_empty())
                    .then(|| capture.trimmed_text())
                    .flatten()
            });
            let id = capture.child_text("id");
            if url.is_some() || title.is_some() || id.is_some() {
                entry.source = Some(SourceRef { title, url, id });
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_atom_and_rdf_shapes() {
        let rss = read(
            "<rss><channel><title>C</title><link>http://c/</link><item><title>A &amp; B</title>\
             <link>http://c/1</link><guid>g1</guid><description>&lt;p&gt;x&lt;/p&gt;</description>\
             <pubDate>Mon, 02 Jan 2023 10:00:00 GMT</pubDate><source url=\"http://o/rss\">Origin</source>\
             </item></channel></rss>",
        );
        assert_eq!(rss.title.unwrap().body, "C");
        let e = &rss.entries[0];
        assert_eq!(e.title.as_ref().unwrap().body, "A & B");
        assert_eq!(e.link.as_deref(), Some("http://c/1"));
        assert_eq!(e.summary.as_ref().unwrap().body, "<p>x</p>");
        assert!(e.published.is_some());
        let source = e.source.as_ref().unwrap();
        assert_eq!(
            (source.title.as_deref(), source.url.as_deref()),
            (Some("Origin"), Some("http://o/rss"))
        );

        let atom = read(
            "<feed><entry><title type=\"html\">T</title><link rel=\"alternate\" href=\"/a\"/>\
             <author><name>Ann</name><email>a@x</email></author>\
             <content type=\"xhtml\"><div><p>hi</p></div></content>\
             <source><id>urn:o</id><title>Orig</title><link href=\"http://o/\"/></source></entry></feed>",
        );
        let e = &atom.entries[0];
        assert_eq!(e.link.as_deref(), Some("/a"));
        assert_eq!(e.authors, vec!["Ann".to_string()]);
        assert_eq!(e.content.as_ref().unwrap().body, "<div><p>hi</p></div>");
        assert_eq!(e.source.as_ref().unwrap().id.as_deref(), Some("urn:o"));

        let rdf = read("<rdf:RDF><item rdf:about=\"http://x/1\"><title>t</title></item></rdf:RDF>");
        assert_eq!(rdf.entries[0].id.as_deref(), Some("http://x/1"));
    }
}
