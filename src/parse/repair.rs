//! XML repairs in front of feed-rs: one lenient pass that turns what real feeds send into
//! well-formed XML feed-rs accepts, without changing what the document says.
//!
//! The pass escapes bare `&` and stray `<`, turns HTML named entities into characters,
//! quotes attributes and drops duplicate ones, closes unclosed elements and drops stray end
//! tags, removes comments, processing instructions, the DOCTYPE and the XML declaration
//! (the text is UTF-8 now), binds namespace prefixes used without a declaration, reads
//! `<rss>` of any version as 2.0 and Atom 0.3 as 1.0, normalises Atom `type` attributes,
//! drops empty elements that carry nothing (feed-rs rejects a whole feed over one), and cuts
//! a truncated document back to its last complete entry.

use std::borrow::Cow;
use std::collections::HashSet;

use super::policy::MAX_DEPTH;
use crate::markup::entities::{self, Reference};
use crate::markup::escape;

/// What kind of document the bytes turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// XML: RSS, RDF, Atom, or something else with a root element.
    Xml,
    /// JSON Feed (or any JSON object).
    Json,
    /// Neither.
    Other,
}

/// A repaired document.
#[derive(Debug, Clone)]
pub struct Repaired {
    /// The repaired text, UTF-8 without a declaration.
    pub text: String,
    /// What it is.
    pub format: Format,
    /// How many complete `item`/`entry` elements the document holds: a reader that returns
    /// fewer has dropped some.
    pub entries: usize,
    /// Per entry, in order, the first `media:thumbnail`/`itunes:image` URL: feed-rs keeps
    /// thumbnails only beside `media:content`.
    pub thumbnails: Vec<Option<String>>,
    /// The feed's own link as written (RSS `channel/link`, Atom `feed/link` with no `rel` or
    /// `rel="alternate"`): relative links resolve against it before the feed's URL.
    pub link: Option<String>,
}

/// Repairs a decoded document.
pub fn repair(text: &str) -> Repaired {
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    match start.as_bytes().first() {
        Some(b'{') => super::json::repair(start),
        Some(_) if start.contains('<') => Scanner::new(text).run(),
        _ => Repaired {
            text: String::new(),
            format: Format::Other,
            entries: 0,
            thumbnails: Vec::new(),
            link: None,
        },
    }
}

/// Attributes that carry nothing when their element is empty (`<title type="html"/>`).
const IGNORABLE_ATTRS: &[&str] = &[
    "type",
    "mode",
    "xml:lang",
    "xml:base",
    "xml:space",
    "lang",
    "ispermalink",
    "version",
];

/// Empty HTML elements that mean something without attributes (inside inline XHTML).
const MEANINGFUL_EMPTY: &[&str] = &["br", "hr", "wbr"];

/// Well-known namespace prefixes feeds use without declaring them.
const KNOWN_PREFIXES: &[(&str, &str)] = &[
    ("dc", "http://purl.org/dc/elements/1.1/"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("content", "http://purl.org/rss/1.0/modules/content/"),
    ("media", "http://search.yahoo.com/mrss/"),
    ("atom", "http://www.w3.org/2005/Atom"),
    ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("slash", "http://purl.org/rss/1.0/modules/slash/"),
    ("wfw", "http://wellformedweb.org/CommentAPI/"),
    ("sy", "http://purl.org/rss/1.0/modules/syndication/"),
    ("georss", "http://www.georss.org/georss"),
    ("podcast", "https://podcastindex.org/namespace/1.0"),
    ("xhtml", "http://www.w3.org/1999/xhtml"),
];

const ATOM_10: &str = "http://www.w3.org/2005/Atom";

struct Attr<'s> {
    name: Cow<'s, str>,
    value: Cow<'s, str>,
}

struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    out: String,
    stack: Vec<Cow<'a, str>>,
    root_seen: bool,
    /// Where in `out` the root start tag's attributes end: undeclared prefixes go there.
    root_attrs_end: Option<usize>,
    atom: bool,
    atom03: bool,
    declared: HashSet<String>,
    used: Vec<String>,
    last_entry_end: Option<(usize, usize)>,
    entries: usize,
    thumbnails: Vec<Option<String>>,
    link: Option<String>,
}

impl<'a> Scanner<'a> {
    fn new(src: &'a str) -> Self {
        Scanner {
            src,
            pos: 0,
            out: String::with_capacity(src.len() + src.len() / 16),
            stack: Vec::new(),
            root_seen: false,
            root_attrs_end: None,
            atom: false,
            atom03: false,
            declared: HashSet::new(),
            used: Vec::new(),
            last_entry_end: None,
            entries: 0,
            thumbnails: Vec::new(),
            link: None,
        }
    }

    fn run(mut self) -> Repaired {
        while self.pos < self.src.len() {
            if self.root_seen && self.stack.is_empty() {
                break;
            }
            let rest = &self.src[self.pos..];
            let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) else {
                self.text(rest);
                self.pos = self.src.len();
                break;
            };
            self.text(&rest[..lt]);
            self.pos += lt;
            if !self.markup() {
                break;
            }
        }
        self.finish()
    }

    /// Handles the markup at `pos` (which is at a `<`); false when the document ends inside it.
    fn markup(&mut self) -> bool {
        let rest = &self.src[self.pos..];
        if let Some(body) = rest.strip_prefix("<!--") {
            return self.skip_past(body, "-->", 4);
        }
        if let Some(body) = rest.strip_prefix("<![CDATA[") {
            let Some(end) = memchr::memmem::find(body.as_bytes(), b"]]>") else {
                return false;
            };
            if !self.stack.is_empty() {
                self.out.push_str(&rest[..9 + end + 3]);
            }
            self.pos += 9 + end + 3;
            return true;
        }
        if let Some(body) = rest.strip_prefix("<?") {
            return self.skip_past(body, "?>", 2);
        }
        if rest.starts_with("<!") {
            return match doctype_len(rest) {
                Some(len) => {
                    self.pos += len;
                    true
                }
                None => false,
            };
        }
        if let Some(body) = rest.strip_prefix("</") {
            let Some(gt) = memchr::memchr(b'>', body.as_bytes()) else {
                return false;
            };
            let name = body[..gt].trim();
            self.end_tag(name);
            self.pos += 2 + gt + 1;
            return true;
        }
        let starts_name = rest[1..].chars().next().is_some_and(is_name_start);
        if !starts_name {
            if !self.stack.is_empty() {
                escape::push_text(&mut self.out, "<");
            }
            self.pos += 1;
            return true;
        }
        self.start_tag()
    }

    fn skip_past(&mut self, body: &str, end: &str, open_len: usize) -> bool {
        match memchr::memmem::find(body.as_bytes(), end.as_bytes()) {
            Some(i) => {
                self.pos += open_len + i + end.len();
                true
            }
            None => false,
        }
    }

    fn start_tag(&mut self) -> bool {
        let src = self.src;
        let Some(tag) = parse_start_tag(&src[self.pos..]) else {
            return false;
        };
        self.pos += tag.len;
        let mut name = Cow::Borrowed(tag.name);
        let mut attrs = tag.attrs;
        let is_root = !self.root_seen;
        if is_root {
            self.root_seen = true;
            self.fix_root(&name, &mut attrs);
        }
        if self.stack.len() >= MAX_DEPTH {
            return true;
        }
        if self.atom03 {
            name = Cow::Owned(rename_atom03(&name));
        }
        if self.atom {
            fix_atom_type(&name, &mut attrs);
        }
        let local = local_name(&name);
        let entry = is_entry(local);
        let carries_nothing = attrs.iter().all(|a| {
            IGNORABLE_ATTRS
                .iter()
                .any(|i| i.eq_ignore_ascii_case(&a.name))
        }) && !MEANINGFUL_EMPTY
            .iter()
            .any(|m| m.eq_ignore_ascii_case(local));
        if !is_root && !entry && carries_nothing {
            if tag.self_closing {
                return true;
            }
            if let Some(len) = immediate_end(&self.src[self.pos..], tag.name) {
                self.pos += len;
                return true;
            }
        }
        self.note_prefixes(&name, &attrs);
        if self.link.is_none() && self.entries == 0 && name == "link" {
            self.note_feed_link(&attrs, tag.self_closing);
        }
        if let Some(Some(None)) = (!entry).then(|| self.thumbnails.last()) {
            let is_thumbnail = matches!(&*name, "media:thumbnail" | "itunes:image");
            let url = attrs.iter().find(|a| a.name == "url" || a.name == "href");
            if let (true, Some(url)) = (is_thumbnail, url)
                && let Some(last) = self.thumbnails.last_mut()
            {
                *last = Some(entities::decode(&url.value).into_owned());
            }
        }
        self.out.push('<');
        self.out.push_str(&name);
        for attr in &attrs {
            self.out.push(' ');
            self.out.push_str(&attr.name);
            self.out.push_str("=\"");
            push_escaped(&mut self.out, &attr.value, true);
            self.out.push('"');
        }
        if is_root {
            self.root_attrs_end = Some(self.out.len());
        }
        if tag.self_closing {
            self.out.push_str("/>");
            if is_root {
                self.stack.clear();
            }
        } else {
            self.out.push('>');
            self.stack.push(name);
        }
        if entry {
            self.entries += 1;
            self.thumbnails.push(None);
            if tag.self_closing {
                self.last_entry_end = Some((self.out.len(), self.stack.len()));
            }
        }
        true
    }

    /// Notes the feed's own link when the `link` element starting at `pos` is one.
    fn note_feed_link(&mut self, attrs: &[Attr<'_>], self_closing: bool) {
        let parent = self.stack.last().map(|p| local_name(p));
        let link = match parent {
            Some("feed") if self.atom => attrs
                .iter()
                .find(|a| a.name == "href")
                .filter(|_| {
                    attrs
                        .iter()
                        .find(|a| a.name == "rel")
                        .is_none_or(|rel| rel.value.trim() == "alternate")
                })
                .map(|href| entities::decode(&href.value)),
            Some("channel") if !self.atom && !self_closing => {
                let rest = &self.src[self.pos..];
                memchr::memmem::find(rest.as_bytes(), b"</link>")
                    .map(|end| &rest[..end])
                    .filter(|text| !text.contains('<'))
                    .map(entities::decode)
            }
            _ => None,
        };
        self.link = link.map(|l| l.trim().to_string()).filter(|l| !l.is_empty());
    }

    fn fix_root(&mut self, name: &str, attrs: &mut Vec<Attr<'_>>) {
        match local_name(name) {
            "rss" => {
                // feed-rs only knows 2.0, 0.91 and 0.92; every other `<rss>` is read as 2.0,
                // which is a superset of them all.
                attrs.retain(|a| a.name != "version");
                attrs.push(Attr {
                    name: "version".into(),
                    value: "2.0".into(),
                });
            }
            "feed" => {
                self.atom = true;
                for attr in attrs.iter_mut() {
                    if attr.name == "xmlns" && attr.value.contains("purl.org/atom") {
                        self.atom03 = true;
                        attr.value = ATOM_10.into();
                    }
                }
                attrs.retain(|a| !(self.atom03 && a.name == "version"));
            }
            _ => {}
        }
    }

    fn note_prefixes(&mut self, name: &str, attrs: &[Attr<'_>]) {
        for attr in attrs {
            if let Some(prefix) = attr.name.strip_prefix("xmlns:") {
                self.declared.insert(prefix.to_string());
            }
        }
        let names = std::iter::once(name).chain(attrs.iter().map(|a| a.name.as_ref()));
        for n in names {
            if let Some((prefix, _)) = n.split_once(':')
                && prefix != "xml"
                && prefix != "xmlns"
                && !self.used.iter().any(|p| p == prefix)
            {
                self.used.push(prefix.to_string());
            }
        }
    }

    fn end_tag(&mut self, raw: &str) {
        let renamed;
        let name = if self.atom03 {
            renamed = rename_atom03(raw);
            renamed.as_str()
        } else {
            raw
        };
        let Some(at) = self.stack.iter().rposition(|open| open == name) else {
            return;
        };
        while self.stack.len() > at {
            let Some(open) = self.stack.pop() else { break };
            self.out.push_str("</");
            self.out.push_str(&open);
            self.out.push('>');
            if is_entry(local_name(&open)) {
                self.last_entry_end = Some((self.out.len(), self.stack.len()));
            }
        }
    }

    fn text(&mut self, text: &str) {
        if !self.stack.is_empty() {
            push_escaped(&mut self.out, text, false);
        }
    }

    fn finish(mut self) -> Repaired {
        if !self.stack.is_empty() {
            // Cut an unfinished document back to its last complete entry.
            // Unclosed at the end means the document was cut short: keep whole entries only.
            if let Some((len, depth)) = self.last_entry_end {
                self.out.truncate(len);
                self.stack.truncate(depth);
            }
            while let Some(open) = self.stack.pop() {
                self.out.push_str("</");
                self.out.push_str(&open);
                self.out.push('>');
            }
        }
        if let Some(at) = self.root_attrs_end {
            let mut decls = String::new();
            for prefix in self
                .used
                .iter()
                .filter(|p| !self.declared.contains(p.as_str()))
            {
                let uri = KNOWN_PREFIXES
                    .iter()
                    .find(|(p, _)| p == prefix)
                    .map(|(_, uri)| (*uri).to_string())
                    .unwrap_or_else(|| format!("urn:x-undeclared:{prefix}"));
                decls.push_str(&format!(" xmlns:{prefix}=\"{uri}\""));
            }
            self.out.insert_str(at, &decls);
        }
        Repaired {
            text: self.out,
            format: Format::Xml,
            entries: self.entries,
            thumbnails: self.thumbnails,
            link: self.link,
        }
    }
}

fn is_entry(local: &str) -> bool {
    local.eq_ignore_ascii_case("item") || local == "entry"
}

/// The local part of a qualified name.
pub fn local_name(name: &str) -> &str {
    memchr::memrchr(b':', name.as_bytes()).map_or(name, |i| &name[i + 1..])
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.' | '\u{B7}')
}

struct StartTag<'s> {
    name: &'s str,
    attrs: Vec<Attr<'s>>,
    self_closing: bool,
    len: usize,
}

/// Reads `<name attr=value ...>` leniently: unquoted and valueless attributes, duplicates
/// (the first wins) and junk between attributes are all accepted.
fn parse_start_tag(s: &str) -> Option<StartTag<'_>> {
    let bytes = s.as_bytes();
    let name_end = s[1..]
        .find(|c: char| !is_name_char(c))
        .map_or(s.len(), |i| i + 1);
    let name = &s[1..name_end];
    let name = name.trim_end_matches(':');
    let mut attrs: Vec<Attr<'_>> = Vec::new();
    let mut i = name_end;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        match bytes.get(i)? {
            b'>' => {
                return Some(StartTag {
                    name,
                    attrs,
                    self_closing: false,
                    len: i + 1,
                });
            }
            b'/' if bytes.get(i + 1) == Some(&b'>') => {
                return Some(StartTag {
                    name,
                    attrs,
                    self_closing: true,
                    len: i + 2,
                });
            }
            _ => {}
        }
        let attr_end = s[i..]
            .find(|c: char| c.is_ascii_whitespace() || matches!(c, '=' | '>' | '/'))
            .map_or(s.len(), |k| i + k);
        let attr_name = &s[i..attr_end];
        i = attr_end.max(i + 1);
        let mut j = attr_end;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value = None;
        if bytes.get(j) == Some(&b'=') {
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            match bytes.get(j)? {
                &q @ (b'"' | b'\'') => {
                    let end = s[j + 1..].find(q as char)? + j + 1;
                    value = Some(&s[j + 1..end]);
                    i = end + 1;
                }
                _ => {
                    let end = s[j..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .map_or(s.len(), |k| j + k);
                    value = Some(&s[j..end]);
                    i = end;
                }
            }
        }
        let valid = attr_name.chars().next().is_some_and(is_name_start)
            && attr_name.chars().all(is_name_char)
            && !attr_name.ends_with(':');
        if valid && !attrs.iter().any(|a| a.name == attr_name) {
            attrs.push(Attr {
                name: Cow::Borrowed(attr_name),
                value: Cow::Borrowed(value.unwrap_or(attr_name)),
            });
        }
    }
}

/// When `rest` begins with optional whitespace and `</name>`, its length.
fn immediate_end(rest: &str, name: &str) -> Option<usize> {
    let trimmed = rest.trim_start();
    let after = trimmed.strip_prefix("</")?.strip_prefix(name)?;
    let after_ws = after.trim_start();
    after_ws.strip_prefix('>')?;
    Some(rest.len() - after_ws.len() + 1)
}

/// Length of a `<!DOCTYPE ...>` (with an internal subset in brackets) or other `<!...>`.
fn doctype_len(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b'>' if depth == 0 => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Atom 0.3 element names as Atom 1.0 spells them.
fn rename_atom03(name: &str) -> String {
    let (prefix, local) = match name.rsplit_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, name),
    };
    let renamed = match local {
        "issued" => "published",
        "modified" => "updated",
        "tagline" => "subtitle",
        "copyright" => "rights",
        "url" => "uri",
        other => other,
    };
    match prefix {
        Some(p) => format!("{p}:{renamed}"),
        None => renamed.to_string(),
    }
}

/// Atom text constructs accept only `text`, `html` and `xhtml`; feeds send MIME types,
/// Atom 0.3's `mode`, and odd casings, and feed-rs rejects the whole feed over one.
fn fix_atom_type(name: &str, attrs: &mut Vec<Attr<'_>>) {
    let local = local_name(name);
    let text_construct = matches!(
        local,
        "title" | "subtitle" | "summary" | "rights" | "content"
    );
    if !text_construct {
        return;
    }
    let mode = attrs
        .iter()
        .find(|a| a.name == "mode")
        .map(|a| a.value.to_ascii_lowercase());
    let has_src = attrs.iter().any(|a| a.name == "src");
    attrs.retain(|a| a.name != "mode");
    let Some(ty) = attrs.iter_mut().find(|a| a.name == "type") else {
        if mode.as_deref() == Some("escaped") {
            attrs.push(Attr {
                name: "type".into(),
                value: "html".into(),
            });
        }
        return;
    };
    let given = ty.value.trim().to_ascii_lowercase();
    let fixed = match (given.as_str(), mode.as_deref()) {
        (_, Some("escaped")) if given.contains("html") || given.is_empty() => "html",
        ("text" | "text/plain" | "plain", _) => "text",
        ("html" | "text/html" | "escaped", _) => "html",
        ("xhtml" | "application/xhtml+xml" | "text/xhtml", _) => "xhtml",
        _ if local == "content" && has_src => return,
        _ if given.starts_with("text/") => "text",
        _ if given.contains("html") => "html",
        _ => "text",
    };
    ty.value = Cow::Borrowed(fixed);
}

/// Writes `text` escaped for XML (`markup::escape`, as an attribute value or as element
/// content), repairing references on the way: XML's own references and valid numeric ones
/// stay, HTML named entities become their characters, anything else starting with `&` is a
/// literal ampersand.
fn push_escaped(out: &mut String, text: &str, in_attribute: bool) {
    let escape = if in_attribute {
        escape::push_attribute
    } else {
        escape::push_text
    };
    let mut rest = text;
    while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
        escape(out, &rest[..amp]);
        rest = &rest[amp + 1..];
        let reference = entities::reference_end(rest)
            .and_then(|semi| Some((semi, entities::resolve(&rest[..semi])?)));
        let Some((semi, reference)) = reference else {
            escape(out, "&");
            continue;
        };
        match reference {
            Reference::Xml(_) => {
                out.push('&');
                out.push_str(&rest[..=semi]);
            }
            Reference::Numeric(c) | Reference::Html(c, None) => {
                escape(out, c.encode_utf8(&mut [0; 4]));
            }
            Reference::Html(a, Some(b)) => {
                escape(out, a.encode_utf8(&mut [0; 4]));
                escape(out, b.encode_utf8(&mut [0; 4]));
            }
        }
        rest = &rest[semi + 1..];
    }
    escape(out, rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(s: &str) -> String {
        repair(s).text
    }

    #[test]
    fn entities_and_bare_ampersands() {
        assert_eq!(
            fixed(
                "<rss version=\"2.0\"><t>AT&T caf&eacute; &amp; &#233; &nbsp;x &bogus;</t></rss>"
            ),
            "<rss version=\"2.0\"><t>AT&amp;T café &amp; é \u{a0}x &amp;bogus;</t></rss>"
        );
    }

    #[test]
    fn rss_version_becomes_2_0() {
        assert!(fixed("<rss><channel/></rss>").starts_with("<rss version=\"2.0\">"));
        assert!(fixed("<rss version='0.94'><channel/></rss>").starts_with("<rss version=\"2.0\">"));
    }

    #[test]
    fn truncated_document_keeps_complete_items() {
        let r = repair("<rss><channel><item><title>a</title></item><item><title>b</ti");
        assert_eq!(
            r.text,
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>"
        );
    }

    #[test]
    fn unclosed_and_stray_tags_are_balanced() {
        assert_eq!(fixed("<a><b><c></b></x></a>"), "<a><b><c></c></b></a>");
    }

    #[test]
    fn empty_elements_that_carry_nothing_are_dropped() {
        assert_eq!(
            fixed("<a><media:description/><t type=\"html\"> </t><e url=\"u\"/></a>"),
            "<a><e url=\"u\"/></a>"
        );
    }

    #[test]
    fn attributes_are_quoted_and_deduplicated() {
        assert_eq!(
            fixed("<a x=1 y='\"' x=2 z>t</a>"),
            "<a x=\"1\" y=\"&quot;\" z=\"z\">t</a>"
        );
    }

    #[test]
    fn undeclared_prefixes_are_bound() {
        let t = fixed(
            "<rss><channel><item><dc:creator>x</dc:creator><foo:bar/></item></channel></rss>",
        );
        assert!(
            t.contains("xmlns:dc=\"http://purl.org/dc/elements/1.1/\""),
            "{t}"
        );
    }

    #[test]
    fn atom_03_is_read_as_1_0() {
        let t = fixed(
            "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><issued>x</issued>\
             <content type=\"text/html\" mode=\"escaped\">y</content></entry></feed>",
        );
        assert_eq!(
            t,
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><published>x</published>\
             <content type=\"html\">y</content></entry></feed>"
        );
    }

    #[test]
    fn comments_declarations_and_doctype_go() {
        assert_eq!(
            fixed(
                "<!-- c --><?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY x \"y\">]>\n<a>1<!--x-->2</a>tail"
            ),
            "<a>12</a>"
        );
    }
}
