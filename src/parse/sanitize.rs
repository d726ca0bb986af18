//! The one HTML sanitiser: a single configured ammonia `Builder` that every summary and
//! content goes through exactly once.
//!
//! ammonia's allowlist keeps formatting tags and drops script, style, iframe, object,
//! embed, form, every event-handler attribute and every `style`; URLs are limited to
//! [`ALLOWED_URL_SCHEMES`] (so no `javascript:`, `vbscript:` or `data:`); relative URLs
//! are rewritten against the entry's base; links get `rel="noopener noreferrer"`.
//!
//! Fragments that provably hold nothing ammonia would change beyond what it does to every
//! tag (text, well-nested simple tags with quoted, allowlisted or harmless attributes) skip
//! the DOM and are written directly, to the same output byte for byte.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;

use ammonia::{Builder, UrlRelative};
use url::Url;

use super::entities::Reference;
use super::policy::{ALLOWED_URL_SCHEMES, FAST_PATH_MAX_DEPTH, FAST_PATH_TAGS};

thread_local! {
    /// The base that relative URLs in the fragment being cleaned resolve against.
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
    /// The configured sanitiser (ammonia's `Builder` is not `Sync`; one per thread).
    static SANITIZER: Builder<'static> = configured();
}

fn configured() -> Builder<'static> {
    let mut builder = Builder::default();
    builder
        .url_schemes(ALLOWED_URL_SCHEMES.iter().copied().collect::<HashSet<_>>())
        .url_relative(UrlRelative::Custom(Box::new(resolve_relative)))
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true);
    builder
}

fn resolve_relative(relative: &str) -> Option<Cow<'_, str>> {
    BASE.with(|base| resolve_against(base.borrow().as_ref(), relative))
}

/// A relative URL resolved against `base`, kept only when that makes it http(s).
fn resolve_against<'a>(base: Option<&Url>, relative: &str) -> Option<Cow<'a, str>> {
    let url = base?.join(relative).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| Cow::Owned(url.into()))
}

/// Sanitises an HTML fragment; relative URLs resolve against `base` (and are dropped when
/// there is none).
pub fn clean(html: &str, base: Option<&Url>) -> String {
    let (mut cleaned, consumed) = fast_prefix(html, base);
    if consumed == html.len() {
        return cleaned;
    }
    BASE.with(|b| *b.borrow_mut() = base.cloned());
    let document = SANITIZER.with(|s| s.clean(&html[consumed..]));
    BASE.with(|b| *b.borrow_mut() = None);
    // Serialised straight into one buffer (`to_string` goes through a second one).
    let mut out = std::mem::take(&mut cleaned).into_bytes();
    if document.write_to(&mut out).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The fast path: fragments that provably hold nothing ammonia would read differently from
/// how they are written — text, well-formed character references and properly nested
/// [`FAST_PATH_TAGS`] with quoted attributes (those ammonia's allowlist keeps are written,
/// with `href`/`src` URLs it keeps and resolves exactly as ammonia does; the others are
/// dropped, as ammonia drops them), plus `<math>` and empty `<iframe>` elements, of which
/// ammonia keeps only whitespace — are written out exactly as ammonia would serialise
/// them, without building a DOM (most summaries are plain text or simple markup). `None` for
/// anything else, including anything merely unusual: any other tag, an unquoted or repeated
/// attribute, a URL ammonia would drop, CDATA, a `<` that does not open one of those tags,
/// references that decode to `<` or `>` in text or are not terminated the one way browsers
/// all read the same, control characters, unclosed or misnested tags, text in a table
/// outside its cells. Those go to ammonia.
///
/// The nesting rules keep to what an HTML parser builds as written (no list item outside a
/// list, no block inside inline formatting, no link inside a link, tables only as
/// sections, rows and cells), apart from the implied tags it adds the same way every time
/// (a block start tag closes a paragraph, a row written directly in a table gets a
/// `tbody`, `</table>` closes the section), so the output is the input with references
/// decoded, text re-escaped and attributes filtered as ammonia filters them (and the end
/// tags of void elements read as the parser reads them: `</br>` as `<br>`, the others
/// ignored).
#[cfg(test)]
fn fast_clean(html: &str, base: Option<&Url>) -> Option<String> {
    let (out, consumed) = fast_prefix(html, base);
    (consumed == html.len()).then_some(out)
}

/// The longest start of `html` the fast path takes that ends at the top level (no element
/// open), cleaned, and its length. An HTML parser leaves the top level in the state it
/// started in (no open elements, no active formatting), so the rest parses on its own
/// exactly as it would have after that start.
fn fast_prefix(html: &str, base: Option<&Url>) -> (String, usize) {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut top_level = (0, 0);
    let completed = fast_scan(html, base, &mut out, &mut top_level).is_some();
    if completed {
        return (out, html.len());
    }
    out.truncate(top_level.0);
    (out, top_level.1)
}

/// Cleans `html` into `out` while the fast path takes it, noting in `top_level` the output
/// and input lengths at each point where no element is open; `None` where it stops.
fn fast_scan(
    html: &str,
    base: Option<&Url>,
    out: &mut String,
    top_level: &mut (usize, usize),
) -> Option<()> {
    let mut open: Vec<FastTag> = Vec::new();
    let mut rest = html;
    loop {
        let special = memchr::memchr2(b'<', b'&', rest.as_bytes()).unwrap_or(rest.len());
        push_fast_text(out, &rest[..special], open.last().copied())?;
        rest = &rest[special..];
        if open.is_empty() {
            *top_level = (out.len(), html.len() - rest.len());
        }
        match rest.as_bytes().first() {
            None => break,
            Some(b'&') => {
                let (decoded, len) = fast_reference(rest)?;
                match decoded {
                    Decoded::Literal => push_fast_text(out, "&", open.last().copied())?,
                    Decoded::Chars(a, b) => {
                        for c in std::iter::once(a).chain(b) {
                            let mut buf = [0u8; 4];
                            push_fast_text(out, c.encode_utf8(&mut buf), open.last().copied())?;
                        }
                    }
                }
                rest = &rest[len..];
            }
            Some(_) if rest.starts_with("<!--") => rest = skip_comment(rest)?,
            Some(_) => {
                if let Some(len) = ignored_tag(rest) {
                    rest = &rest[len..];
                    continue;
                }
                let parent = open.last().copied();
                if let Some(name) = rest.strip_prefix("</") {
                    let name_len = name.bytes().take_while(u8::is_ascii_alphanumeric).count();
                    let tag = FastTag::from_name(&name[..name_len])?;
                    if name.as_bytes().get(name_len) != Some(&b'>') {
                        return None;
                    }
                    if tag.is_void() {
                        // An HTML parser reads `</br>` as `<br>` and ignores the end tag
                        // of any other void element (none is ever open).
                        if tag.name() == "br" {
                            if !tag.may_be_child_of(parent) {
                                return None;
                            }
                            out.push_str("<br>");
                        }
                        rest = &name[name_len + 1..];
                        continue;
                    }
                    let implied = implied_table_closes(tag, &open, true);
                    if implied > 0 && open.len() > implied && open[open.len() - implied - 1] == tag
                    {
                        // `</tr>` closes the cell left open in the row, `</tbody>` the row
                        // and cell, `</table>` the section (written or implied) as well.
                        for _ in 0..implied {
                            close_last(&mut open, out);
                        }
                    } else if parent != Some(tag) {
                        // The end tag of a block first closes the paragraphs and list
                        // items left open inside it (the parser's implied end tags).
                        let implied = open
                            .iter()
                            .rev()
                            .take_while(|t| t.closes_implicitly_before_end_of(tag))
                            .count();
                        if implied == 0 || open.len() < implied + 1 {
                            return None;
                        }
                        if open[open.len() - implied - 1] != tag {
                            return None;
                        }
                        for _ in 0..implied {
                            close_last(&mut open, out);
                        }
                    }
                    close_last(&mut open, out);
                    rest = &name[name_len + 1..];
                    continue;
                }
                if let Some(skip) = unwrapped_element(rest) {
                    // Placed like an inline element (not in a list or a table).
                    if !FastTag::IMG.may_be_child_of(parent) {
                        return None;
                    }
                    rest = &rest[skip(rest, out)?..];
                    continue;
                }
                let tag_start = out.len();
                let (tag, len) = fast_start_tag(rest, base, out)?;
                // A block start tag closes the paragraph it would otherwise be in, and a
                // list item closes the item (and the paragraph in it) before it.
                let mut parent = parent;
                let mut closed = String::new();
                if tag.role() == Role::Item && parent.is_some_and(|p| p.role() == Role::Item) {
                    closed.push_str("</li>");
                    open.pop();
                    parent = open.last().copied();
                } else if tag.role() == Role::Item
                    && parent == Some(FastTag::P)
                    && open.len() >= 2
                    && open[open.len() - 2].role() == Role::Item
                {
                    closed.push_str("</p></li>");
                    open.truncate(open.len() - 2);
                    parent = open.last().copied();
                } else if tag.closes_a_paragraph() && parent == Some(FastTag::P) {
                    closed.push_str("</p>");
                    open.pop();
                    parent = open.last().copied();
                } else {
                    // A cell closes the cell before it, a row the row (and cell), a section
                    // the section (and row and cell).
                    for _ in 0..implied_table_closes(tag, &open, false) {
                        close_last(&mut open, &mut closed);
                    }
                    parent = open.last().copied();
                }
                if !closed.is_empty() {
                    out.insert_str(tag_start, &closed);
                }
                let in_link = tag == FastTag::A && open.contains(&FastTag::A);
                if open.len() >= FAST_PATH_MAX_DEPTH || in_link || !tag.may_be_child_of(parent) {
                    return None;
                }
                if tag.role() == Role::Row && parent.is_some_and(|p| p.role() == Role::Table) {
                    // A row written directly in a table goes into a `tbody` the parser
                    // opens for it.
                    out.insert_str(tag_start, "<tbody>");
                    open.push(FastTag::TBODY);
                }
                if !tag.is_void() {
                    open.push(tag);
                }
                rest = &rest[len..];
                if tag.name() == "pre" {
                    // The parser drops a line feed right after `<pre>` (one written as a
                    // reference too: those are left to ammonia).
                    if rest.starts_with('&') {
                        return None;
                    }
                    rest = rest.strip_prefix('\n').unwrap_or(rest);
                }
            }
        }
    }
    // The end of the input closes whatever is still open (tables are left to ammonia).
    if open.iter().any(|t| {
        matches!(
            t.role(),
            Role::Table | Role::Section | Role::Row | Role::Cell
        )
    }) {
        return None;
    }
    while !open.is_empty() {
        close_last(&mut open, out);
    }
    Some(())
}

/// How the element whose start tag begins `s` is skipped, when it is one ammonia removes
/// while keeping only whitespace of what it holds: `<math>` (MathML), `<iframe>`,
/// `<script>` and `<style>`.
type Skip = fn(&str, &mut String) -> Option<usize>;

fn unwrapped_element(s: &str) -> Option<Skip> {
    let named = |name: &str| {
        s.get(1..=name.len()) == Some(name)
            && matches!(
                s.as_bytes().get(name.len() + 1),
                Some(b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>')
            )
    };
    if named("math") {
        Some(skip_math)
    } else if named("iframe") {
        Some(skip_iframe)
    } else if named("script") {
        Some(|s, _| skip_removed_with_content(s, "script"))
    } else if named("style") {
        Some(|s, _| skip_removed_with_content(s, "style"))
    } else {
        None
    }
}

/// Skips the `<script>` or `<style>` element (`name`) at the start of `s`, which ammonia
/// removes with its content, and returns its length. Its content is raw text up to the
/// first `</name` (in any case) followed by the end of the tag; `None` when script data
/// could enter its escaped states (`<!--`), where that would not end it.
fn skip_removed_with_content(s: &str, name: &str) -> Option<usize> {
    let (attributes, _) = skip_attributes(&s[1 + name.len()..])?;
    let start = 1 + name.len() + attributes;
    let body = &s.as_bytes()[start..];
    let mut from = 0;
    let end = loop {
        let at = from + memchr::memmem::find(&body[from..], b"</")?;
        let after = &body[at + 2..];
        if after.len() > name.len() && after[..name.len()].eq_ignore_ascii_case(name.as_bytes()) {
            break at;
        }
        from = at + 2;
    };
    if memchr::memmem::find(&body[..end], b"<!--").is_some() {
        return None;
    }
    let after_name = start + end + "</".len() + name.len();
    match s.as_bytes().get(after_name)? {
        b'>' => Some(after_name + 1),
        b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' => {
            let (attributes, _) = skip_attributes(&s[after_name..])?;
            Some(after_name + attributes)
        }
        _ => None,
    }
}

/// MathML elements the fast path reads inside `<math>`: none of them leaves foreign
/// content (no HTML tag name, no `annotation-xml`, `mglyph` or `malignmark`).
const MATH_ELEMENTS: &[&str] = &[
    "semantics",
    "annotation",
    "mrow",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "msup",
    "msub",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
    "mstyle",
    "munder",
    "mover",
    "munderover",
    "mtable",
    "mtr",
    "mtd",
    "mpadded",
    "mphantom",
    "menclose",
    "merror",
];

/// MathML text integration points: a start tag in one is read as HTML.
const MATH_TEXT_ELEMENTS: &[&str] = &["mi", "mn", "mo", "ms", "mtext"];

/// Skips the `<math>` element at the start of `s`, writing what ammonia keeps of it, and
/// returns its length. ammonia unwraps `math` (not allowlisted) and removes every MathML
/// element directly under it with all it holds (an unexpected namespace), so only the text
/// directly in `math` stays: taken when it is whitespace. `None` for anything the parser
/// might read as HTML inside (HTML tags, tags in text integration points, CDATA) or that
/// is not properly nested and closed.
fn skip_math(s: &str, out: &mut String) -> Option<usize> {
    let (attributes, self_closing) = skip_attributes(&s["<math".len()..])?;
    let mut i = "<math".len() + attributes;
    if self_closing {
        return Some(i);
    }
    let bytes = s.as_bytes();
    let mut open: Vec<&str> = vec!["math"];
    loop {
        let text_len = memchr::memchr(b'<', &bytes[i..])?;
        if open.len() == 1 {
            let text = &s[i..i + text_len];
            if !text.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n')) {
                return None;
            }
            out.push_str(text);
        }
        i += text_len;
        let rest = &s[i..];
        if rest.starts_with("<!--") {
            i = s.len() - skip_comment(rest)?.len();
            continue;
        }
        if let Some(end) = rest.strip_prefix("</") {
            let name_len = end.bytes().take_while(u8::is_ascii_lowercase).count();
            if end.as_bytes().get(name_len) != Some(&b'>') || open.last() != Some(&&end[..name_len])
            {
                return None;
            }
            open.pop();
            i += "</>".len() + name_len;
            if open.is_empty() {
                return Some(i);
            }
            continue;
        }
        let start = &rest[1..];
        let name_len = start.bytes().take_while(u8::is_ascii_lowercase).count();
        let name = &start[..name_len];
        let in_text_element = open.last().is_some_and(|e| MATH_TEXT_ELEMENTS.contains(e));
        if !MATH_ELEMENTS.contains(&name) || in_text_element {
            return None;
        }
        let (attributes, self_closing) = skip_attributes(&start[name_len..])?;
        i += 1 + name_len + attributes;
        if !self_closing {
            if open.len() >= FAST_PATH_MAX_DEPTH {
                return None;
            }
            open.push(name);
        }
    }
}

/// Skips the `<iframe>` element at the start of `s` when it holds only whitespace, writing
/// that whitespace (ammonia unwraps `iframe`, keeping its text), and returns its length.
fn skip_iframe(s: &str, out: &mut String) -> Option<usize> {
    let (attributes, _) = skip_attributes(&s["<iframe".len()..])?;
    let start = "<iframe".len() + attributes;
    let body = &s[start..];
    let space = body
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n'))
        .count();
    let end = body.as_bytes().get(space..space + "</iframe>".len())?;
    if !end.eq_ignore_ascii_case(b"</iframe>") {
        return None;
    }
    out.push_str(&body[..space]);
    Some(start + space + "</iframe>".len())
}

/// The length of the rest of a start tag, `s` starting right after its name, read as an
/// HTML tokenizer reads attributes (whatever they hold), and whether it ends in `/>`;
/// `None` when the input ends first.
fn skip_attributes(s: &str) -> Option<(usize, bool)> {
    let b = s.as_bytes();
    let space = |c: u8| matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ');
    let mut i = 0;
    loop {
        // Before an attribute name.
        let c = *b.get(i)?;
        if space(c) {
            i += 1;
            continue;
        }
        if c == b'>' {
            return Some((i + 1, false));
        }
        if c == b'/' {
            i += 1;
            if *b.get(i)? == b'>' {
                return Some((i + 1, true));
            }
            continue;
        }
        // The name: its first character is part of it whatever it is (even `=`).
        i += 1;
        while !matches!(
            *b.get(i)?,
            b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>' | b'='
        ) {
            i += 1;
        }
        while space(*b.get(i)?) {
            i += 1;
        }
        if b[i] != b'=' {
            continue;
        }
        i += 1;
        while space(*b.get(i)?) {
            i += 1;
        }
        match b[i] {
            q @ (b'"' | b'\'') => i += 1 + memchr::memchr(q, &b[i + 1..])? + 1,
            b'>' => return Some((i + 1, false)),
            _ => {
                while !matches!(*b.get(i)?, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'>') {
                    i += 1;
                }
            }
        }
    }
}

/// How many open table elements the start tag (or, with `end`, the end tag) of `tag` closes
/// implicitly: the parser closes an open cell before a cell, a row (and its cell) before a
/// row, a section before a section; `</tr>`, `</tbody>` and `</table>` close what is open
/// inside them the same way.
fn implied_table_closes(tag: FastTag, open: &[FastTag], end: bool) -> usize {
    let closes = |t: &&FastTag| match (tag.role(), end) {
        (Role::Cell, false) | (Role::Row, true) => t.role() == Role::Cell,
        (Role::Row, false) | (Role::Section, true) => matches!(t.role(), Role::Cell | Role::Row),
        (Role::Section, false) | (Role::Table, true) => {
            matches!(t.role(), Role::Cell | Role::Row | Role::Section)
        }
        _ => false,
    };
    open.iter().rev().take_while(closes).count()
}

/// The length of the `<html>`, `<head>` or `<body>` start or end tag at the start of `s`:
/// inside a fragment the parser ignores them (an `<html>` start tag only adds attributes to
/// the root, which is not written).
fn ignored_tag(s: &str) -> Option<usize> {
    for name in ["html", "head", "body"] {
        let Some(after) = s.strip_prefix('<').and_then(|s| s.strip_prefix(name)) else {
            if let Some(after) = s.strip_prefix("</").and_then(|s| s.strip_prefix(name))
                && after.starts_with('>')
            {
                return Some("</>".len() + name.len());
            }
            continue;
        };
        if matches!(
            after.as_bytes().first(),
            Some(b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>')
        ) {
            let (attributes, _) = skip_attributes(after)?;
            return Some(1 + name.len() + attributes);
        }
    }
    None
}

/// Pops the innermost open element and writes its end tag.
fn close_last(open: &mut Vec<FastTag>, out: &mut String) {
    if let Some(tag) = open.pop() {
        out.push_str("</");
        out.push_str(tag.name());
        out.push('>');
    }
}

/// Skips the comment at the start of `s` (ammonia strips comments) when it ends the one
/// way every parser reads the same (`-->`, not `<!-->`, `<!--->` or `--!>`).
fn skip_comment(s: &str) -> Option<&str> {
    let body = &s[4..];
    if body.starts_with('>') || body.starts_with("->") {
        return None;
    }
    let end = memchr::memmem::find(body.as_bytes(), b"-->")?;
    if memchr::memmem::find(&body.as_bytes()[..end + 3], b"--!>").is_some() {
        return None;
    }
    Some(&body[end + 3..])
}

/// How an HTML parser places an element the fast path passes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A block holding blocks (`blockquote`, `div`).
    Container,
    /// A block holding inline content (`p`, headings).
    Paragraph,
    /// A list, holding only items (and whitespace).
    List,
    /// A list item, directly in a list, holding blocks.
    Item,
    /// Inline formatting, holding inline content.
    Inline,
    /// An inline element without content or end tag (`br`, `img`).
    InlineVoid,
    /// A block without content or end tag (`hr`).
    BlockVoid,
    /// A table, holding only sections (and whitespace).
    Table,
    /// A table section (`tbody`, `thead`, `tfoot`), directly in a table, holding only rows.
    Section,
    /// A table row, directly in a section, holding only cells.
    Row,
    /// A table cell, directly in a row, holding blocks.
    Cell,
}

/// One of the tags the fast path passes through (an index into [`FAST_TAGS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FastTag(u8);

/// The tags the fast path knows how an HTML parser places (see [`FAST_PATH_TAGS`] for the
/// ones it takes).
const FAST_TAGS: &[(&str, Role)] = &[
    ("a", Role::Inline),
    ("p", Role::Paragraph),
    ("h1", Role::Paragraph),
    ("h2", Role::Paragraph),
    ("h3", Role::Paragraph),
    ("h4", Role::Paragraph),
    ("h5", Role::Paragraph),
    ("h6", Role::Paragraph),
    ("blockquote", Role::Container),
    ("div", Role::Container),
    ("article", Role::Container),
    ("aside", Role::Container),
    ("figure", Role::Container),
    ("figcaption", Role::Container),
    ("header", Role::Container),
    ("footer", Role::Container),
    ("nav", Role::Container),
    ("center", Role::Container),
    ("pre", Role::Paragraph),
    ("ul", Role::List),
    ("ol", Role::List),
    ("li", Role::Item),
    ("em", Role::Inline),
    ("strong", Role::Inline),
    ("b", Role::Inline),
    ("i", Role::Inline),
    ("u", Role::Inline),
    ("s", Role::Inline),
    ("span", Role::Inline),
    ("code", Role::Inline),
    ("sub", Role::Inline),
    ("sup", Role::Inline),
    ("small", Role::Inline),
    ("cite", Role::Inline),
    ("abbr", Role::Inline),
    ("time", Role::Inline),
    ("mark", Role::Inline),
    ("q", Role::Inline),
    ("del", Role::Inline),
    ("ins", Role::Inline),
    ("kbd", Role::Inline),
    ("samp", Role::Inline),
    ("var", Role::Inline),
    ("dfn", Role::Inline),
    ("tt", Role::Inline),
    ("strike", Role::Inline),
    ("bdi", Role::Inline),
    ("br", Role::InlineVoid),
    ("img", Role::InlineVoid),
    ("hr", Role::BlockVoid),
    ("table", Role::Table),
    ("tbody", Role::Section),
    ("thead", Role::Section),
    ("tfoot", Role::Section),
    ("tr", Role::Row),
    ("td", Role::Cell),
    ("th", Role::Cell),
];

impl FastTag {
    const A: FastTag = FastTag(0);
    const P: FastTag = FastTag(1);
    const IMG: FastTag = FastTag(48);
    /// The section the parser opens around rows written directly in a table.
    const TBODY: FastTag = FastTag(51);

    /// Whether this start tag closes a `p` that is the current element (every block the
    /// fast path takes does).
    fn closes_a_paragraph(self) -> bool {
        matches!(
            self.role(),
            Role::Container
                | Role::Paragraph
                | Role::List
                | Role::Item
                | Role::BlockVoid
                | Role::Table
        )
    }

    /// Whether this open element is closed by the implied end tags the parser generates
    /// before the end tag of `block` (a container, list or list item): a `p`, or an `li`
    /// unless the end tag is the item's own.
    fn closes_implicitly_before_end_of(self, block: FastTag) -> bool {
        matches!(
            block.role(),
            Role::Container | Role::List | Role::Item | Role::Cell
        ) && (self == FastTag::P || (self.role() == Role::Item && block.role() != Role::Item))
    }

    fn name(self) -> &'static str {
        FAST_TAGS[usize::from(self.0)].0
    }

    fn role(self) -> Role {
        FAST_TAGS[usize::from(self.0)].1
    }

    fn from_name(name: &str) -> Option<Self> {
        if !FAST_PATH_TAGS.contains(&name) || !SANITIZER_ALLOWS.tags.contains(name) {
            return None;
        }
        let i = FAST_TAGS.iter().position(|(n, _)| *n == name)?;
        u8::try_from(i).ok().map(FastTag)
    }

    fn is_void(self) -> bool {
        matches!(self.role(), Role::InlineVoid | Role::BlockVoid)
    }

    /// Where an HTML parser keeps this element as written: a block only where blocks go
    /// (never inside a paragraph, a list or inline formatting, which it would close or
    /// reparent); a list item only directly in a list; inline content not directly in a
    /// list.
    fn may_be_child_of(self, parent: Option<FastTag>) -> bool {
        let parent = parent.map(FastTag::role);
        let parent_is_flow = matches!(
            parent,
            None | Some(Role::Container | Role::Item | Role::Cell)
        );
        match self.role() {
            Role::Container | Role::Paragraph | Role::List | Role::BlockVoid | Role::Table => {
                parent_is_flow
            }
            Role::Item => parent == Some(Role::List),
            // Rows written directly in a table get a `tbody` (see `fast_scan`).
            Role::Section => parent == Some(Role::Table),
            Role::Row => matches!(parent, Some(Role::Table | Role::Section)),
            Role::Cell => parent == Some(Role::Row),
            Role::Inline | Role::InlineVoid => {
                parent_is_flow || matches!(parent, Some(Role::Paragraph | Role::Inline))
            }
        }
    }
}

/// Reads the start tag at the start of `s` (which starts with `<`) when it is a lowercase
/// fast-path name with quoted attributes the fast path can filter, and writes it to `out`
/// as ammonia would; the tag and its length. `None` (with `out` possibly grown) otherwise.
fn fast_start_tag(s: &str, base: Option<&Url>, out: &mut String) -> Option<(FastTag, usize)> {
    let body = &s[1..];
    let name_len = body.bytes().take_while(u8::is_ascii_alphanumeric).count();
    let tag = FastTag::from_name(&body[..name_len])?;
    let mut rest = &body[name_len..];
    out.push('<');
    out.push_str(tag.name());
    let mut seen: Vec<&str> = Vec::new();
    loop {
        let spaced = rest.len();
        rest = rest.trim_start_matches([' ', '\t', '\n']);
        let spaced = spaced != rest.len();
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        if tag.is_void()
            && let Some(after) = rest.strip_prefix("/>")
        {
            rest = after;
            break;
        }
        if !spaced {
            return None;
        }
        let name_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            .count();
        let name = &rest[..name_len];
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) || seen.contains(&name) {
            return None;
        }
        seen.push(name);
        let quoted = rest[name_len..].strip_prefix('=')?;
        let raw_value = match quoted.as_bytes().first() {
            Some(q @ (b'"' | b'\'')) => {
                let value_len = quoted[1..].find(char::from(*q))?;
                rest = &quoted[1 + value_len + 1..];
                &quoted[1..1 + value_len]
            }
            _ => {
                // Unquoted: only the plainest values, ending where the tag does.
                let value_len = quoted
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                    .count();
                rest = &quoted[value_len..];
                if value_len == 0 || !rest.starts_with([' ', '\t', '\n', '>']) {
                    return None;
                }
                &quoted[..value_len]
            }
        };
        if !SANITIZER_ALLOWS.allows(tag.name(), name) {
            // ammonia drops every attribute its allowlist lacks, whatever its value, and
            // no attribute of these tags changes how the parser builds the tree.
            continue;
        }
        let value = attribute_value(raw_value)?;
        let value = if matches!(name, "href" | "src") {
            // ammonia drops a URL it does not keep (scheme, syntax), not the tag.
            match url_as_ammonia_keeps_it(value, base)? {
                Some(value) => value,
                None => continue,
            }
        } else {
            value
        };
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        push_attribute_text(out, &value);
        out.push('"');
    }
    if tag == FastTag::A {
        out.push_str(" rel=\"noopener noreferrer\"");
    }
    out.push('>');
    Some((tag, s.len() - rest.len()))
}

/// What ammonia's allowlist keeps, read from the configured `Builder` so the fast path
/// cannot drift from it.
struct Allowlist {
    tags: HashSet<&'static str>,
    generic: HashSet<&'static str>,
    per_tag: std::collections::HashMap<&'static str, HashSet<&'static str>>,
}

impl Allowlist {
    fn allows(&self, tag: &str, attribute: &str) -> bool {
        self.generic.contains(attribute)
            || self
                .per_tag
                .get(tag)
                .is_some_and(|names| names.contains(attribute))
    }
}

static SANITIZER_ALLOWS: std::sync::LazyLock<Allowlist> = std::sync::LazyLock::new(|| {
    let builder = configured();
    Allowlist {
        tags: builder.clone_tags(),
        generic: builder.clone_generic_attributes(),
        per_tag: builder.clone_tag_attributes(),
    }
});

/// An attribute value as an HTML parser reads it (references decoded); `None` for what the
/// fast path does not take (controls, ambiguous references).
fn attribute_value(raw: &str) -> Option<Cow<'_, str>> {
    let fits = fast_text_char;
    if !raw.contains('&') {
        return raw.chars().all(fits).then_some(Cow::Borrowed(raw));
    }
    let mut value = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        let text = &rest[..amp];
        if !text.chars().all(fits) {
            return None;
        }
        value.push_str(text);
        let (decoded, len) = fast_reference(&rest[amp..])?;
        match decoded {
            Decoded::Literal => value.push('&'),
            Decoded::Chars(a, b) => value.extend(std::iter::once(a).chain(b)),
        }
        rest = &rest[amp + len..];
    }
    if !rest.chars().all(fits) {
        return None;
    }
    value.push_str(rest);
    Some(Cow::Owned(value))
}

/// A URL attribute's value as ammonia writes it: `Some(Some(url))` kept as written when it
/// parses with an allowed scheme, resolved against `base` when relative; `Some(None)` where
/// ammonia's allowlist filter drops the attribute in place (another scheme, no URL at
/// all). `None` for a relative URL that does not resolve: ammonia drops that one later, by
/// moving its last attribute into its place, which the fast path leaves to ammonia.
fn url_as_ammonia_keeps_it<'a>(
    value: Cow<'a, str>,
    base: Option<&Url>,
) -> Option<Option<Cow<'a, str>>> {
    match Url::parse(&value) {
        Ok(url) => Some(ALLOWED_URL_SCHEMES.contains(&url.scheme()).then_some(value)),
        Err(url::ParseError::RelativeUrlWithoutBase) => resolve_against(base, &value).map(Some),
        Err(_) => Some(None),
    }
}

/// Appends an attribute value escaped as ammonia serialises attribute values.
fn push_attribute_text(out: &mut String, value: &str) {
    let mut start = 0;
    for (i, c) in value.char_indices() {
        let escaped = match c {
            '&' => "&amp;",
            '"' => "&quot;",
            '<' => "&lt;",
            '>' => "&gt;",
            '\u{A0}' => "&nbsp;",
            _ => continue,
        };
        out.push_str(&value[start..i]);
        out.push_str(escaped);
        start = i + c.len_utf8();
    }
    out.push_str(&value[start..]);
}

enum Decoded {
    /// A `&` that starts no reference: a literal ampersand.
    Literal,
    /// What the reference stands for.
    Chars(char, Option<char>),
}

/// Reads the `&` at the start of `s` the way an HTML parser reads it in text, and its length;
/// `None` for the forms whose reading depends on details (no `;`, legacy names without one,
/// out-of-range or remapped numbers).
fn fast_reference(s: &str) -> Option<(Decoded, usize)> {
    let after = &s.as_bytes()[1..];
    if let Some(num) = after.strip_prefix(b"#") {
        let (digits, radix, skip) = match num.first() {
            Some(b'x' | b'X') => (&num[1..], 16, 3),
            _ => (num, 10, 2),
        };
        let len = digits.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let text = std::str::from_utf8(&digits[..len]).ok()?;
        if len == 0
            || len > 7
            || digits.get(len) != Some(&b';')
            || (radix == 10 && !text.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let c = char::from_u32(u32::from_str_radix(text, radix).ok()?)?;
        return fast_text_char(c).then_some((Decoded::Chars(c, None), skip + len + 1));
    }
    let run = after
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if run == 0 {
        return Some((Decoded::Literal, 1));
    }
    let name = &s[1..1 + run];
    if after.get(run) == Some(&b';')
        && let Some(reference) = super::entities::resolve(name)
    {
        let (a, b) = match reference {
            Reference::Xml(c) | Reference::Numeric(c) => (c, None),
            Reference::Html(a, b) => (a, b),
        };
        return Some((Decoded::Chars(a, b), run + 2));
    }
    // Not a complete reference: a literal `&` unless a prefix of the name is one of the
    // legacy names HTML decodes without a `;` (`&copy2024`).
    for k in 1..=run {
        match markup5ever::data::NAMED_ENTITIES.get(&name[..k]) {
            Some(&(code, _)) if code != 0 => return None,
            Some(_) => {}
            None => break,
        }
    }
    Some((Decoded::Literal, 1))
}

/// Characters the fast path passes through: no controls, no noncharacters.
fn fast_text_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | ' '..='~' | '\u{A0}'..)
        && !matches!(c, '\u{FDD0}'..='\u{FDEF}')
        && (c as u32) & 0xFFFE != 0xFFFE
}

/// Appends text escaped as ammonia serialises text nodes; `None` for a character the fast
/// path does not take, or for anything but whitespace directly inside a list or a table
/// (the parser moves text out of a table).
fn push_fast_text(out: &mut String, text: &str, parent: Option<FastTag>) -> Option<()> {
    let in_list = parent.is_some_and(|p| {
        matches!(
            p.role(),
            Role::List | Role::Table | Role::Section | Role::Row
        )
    });
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if in_list && !c.is_ascii_whitespace() {
            return None;
        }
        let escaped = match c {
            '&' => "&amp;",
            '>' => "&gt;",
            '<' => "&lt;",
            '\u{A0}' => "&nbsp;",
            c if fast_text_char(c) => continue,
            _ => return None,
        };
        out.push_str(&text[start..i]);
        out.push_str(escaped);
        start = i + c.len_utf8();
    }
    out.push_str(&text[start..]);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executable_oracle::is_executable;

    /// Runs `test` on values of `strategy` as `proptest!` does (a failure is shrunk, its
    /// seed kept in proptest-regressions), and returns how many cases reached what the
    /// property is about (`test` returned `Ok(true)`): a property that holds because the
    /// code refused every case proves nothing, so each caller requires a share of them.
    fn run_counting<S: proptest::strategy::Strategy>(
        config: proptest::test_runner::Config,
        strategy: S,
        test: impl Fn(S::Value) -> Result<bool, proptest::test_runner::TestCaseError>,
    ) -> (u32, u32) {
        use std::sync::atomic::{AtomicU32, Ordering};
        let (ran, reached) = (AtomicU32::new(0), AtomicU32::new(0));
        let config = proptest::test_runner::Config {
            source_file: Some(file!()),
            ..config
        };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        let result = runner.run(&strategy, |value| {
            ran.fetch_add(1, Ordering::Relaxed);
            if test(value)? {
                reached.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}\n{runner}");
        }
        (reached.into_inner(), ran.into_inner())
    }

    /// The fast path takes at least 1 in N of each generator's cases (measured over 515:
    /// tables 70, `<math>` 12, trees 54, pieces 55; each bound is 4 standard deviations or
    /// more below).
    const TABLES_TAKEN: u32 = 16;
    const MATH_TAKEN: u32 = 400;
    const TREES_TAKEN: u32 = 20;
    const PIECES_TAKEN: u32 = 20;

    fn c(html: &str) -> String {
        clean(html, Url::parse("https://site.example/news/").ok().as_ref())
    }

    fn site() -> Option<Url> {
        Url::parse("https://site.example/news/").ok()
    }

    /// ammonia alone, resolving against `base`.
    fn ammonia_with(html: &str, base: Option<&Url>) -> String {
        BASE.with(|b| *b.borrow_mut() = base.cloned());
        let out = SANITIZER.with(|s| s.clean(html).to_string());
        BASE.with(|b| *b.borrow_mut() = None);
        out
    }

    fn ammonia(html: &str) -> String {
        ammonia_with(html, site().as_ref())
    }

    fn fast(html: &str) -> Option<String> {
        fast_clean(html, site().as_ref())
    }

    #[test]
    fn plain_text_takes_the_short_way_to_the_same_result() {
        for text in [
            "AT&T &amp; caf&eacute;&nbsp;x > y",
            "plain",
            "&nvlt; &NotSucceedsTilde; &#x3E;",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "javascript:alert(1)",
            "a=1&b=2 &#233;&#x263A; &; &#38; \"quoted\" 'single'",
        ] {
            assert_eq!(clean(text, None), ammonia(text), "{text:?}");
        }
    }

    /// Fragments the fast path takes: the output is ammonia's, byte for byte.
    #[test]
    fn fast_path_output_is_ammonias() {
        for html in [
            "<p>One <b>two</b> &amp; <i>three</i></p>\n<p>caf&eacute;&nbsp;&#8212; 1 > 0</p>",
            "<ul>\n <li>a <em>b</em></li>\n <li><p>c</p><ol><li>d</li></ol></li>\n</ul>",
            "<blockquote><p>quoted<br>line<br/>two<br />three</p></blockquote>after",
            "<strong><em>x</em></strong><b><b><b><b>deep</b></b></b></b>",
            "<p></p>text only &#x1F600; &quot;q&quot;",
            "<p class=\"x\">attribute</p><b >space</b><a>bare</a>",
            "<p>See <a href=\"/a?x=1&amp;y=2\">this</a> and <a href=\"https://e.example/\" target=\"_blank\" rel=\"nofollow\" title=\"t &quot;q&quot; &amp; &lt;\">that</a>.</p>",
            "<img src=\"i.png\" alt=\"a > b\" width=\"3\" class=\"c\" /><img src='https://cdn.example/x.jpg?a&amp;b' alt=\"\">",
            "<h2>H</h2>\n<div><p>x <span style=\"color:red\">s</span></p><hr><h6 id=\"z\">h</h6></div>",
            "<a href='mailto:a@b.example'>m</a> <a href=\"  https://e.example/x  \">sp</a> <a href=\"//cdn.example/x\">p</a> <a href=\"#frag\">f</a>",
            "<ul><li><a href=\"../up\"><code>c</code><sub>1</sub><sup>2</sup></a></li></ul><blockquote cite=\"x\">q</blockquote>",
            "<a href=\"https://e.example/caf\u{e9}?q=\u{a0}x\" data-x=\"1\">u</a>",
            "&lt;script&gt;alert(1)&lt;/script&gt; &#60;b&#62; &#x3C;i&#x3E; &LT;b&GT;",
            "<pre>\nfirst\n</pre><pre><code>x &lt; y\n  z</code></pre>\n<pre>\n\ntwo</pre>",
            "<figure><img src=\"a.png\" alt=x><figcaption>c</figcaption></figure>",
            "<p class=pp>unquoted <a href=x.html>rel</a></p><!-- more --><p>a<!-- x -->b</p>",
            "<article><header><h1>t</h1></header><p><time>now</time> <q>q</q> <del>d</del></p></article>",
            "<img src=\"i.png\"></img></br><p>a</br>b</img></p></hr><b>c</br></b>",
            "<p align=\"center\" width=\"3\"><img src=\"i.png\" align=\"left\" hspace=\"4\"></p>",
            "<p>unclosed",
            "<p>one\n<p>two <b>b</b>\n<ul>\n<li>\n<p>item\n<li>next\n</ul>\n<p>x<hr><p>y<pre>\nz</pre>",
            "<div><p>a</div><blockquote><p>q</blockquote><ol><li>a<li><p>b</li></ol><p>end <a href=\"/x\">l",
        ] {
            let fast = fast(html).unwrap_or_else(|| panic!("{html:?} missed the fast path"));
            assert_eq!(fast, ammonia(html), "{html:?}");
            assert_eq!(c(html), fast);
        }
    }

    /// Anything with something to sanitise, or that an HTML parser might read differently
    /// from how it is written, goes through ammonia.
    #[test]
    fn adversarial_fragments_skip_the_fast_path() {
        // Quoted attributes and URLs ammonia does not keep are dropped on the fast path as
        // by ammonia.
        for html in [
            "<p onclick=\"alert(1)\">x</p>",
            "<img src=\"x\" onerror=\"alert(1)\" style=\"x:expression(alert(1))\">",
            "<img src=\"data:image/png;base64,AAAA\">",
            "<a href=\"http://[::1\">invalid</a>",
            "<a href=\"java&#x09;script:alert(1)\">x</a>",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"javascript&colon;alert(1)\">x</a>",
            "<script>alert(1)</script>",
            "<p><script>alert(1)</script></p>",
            "<p><style>p { color: red }</STYLE >x</p>",
        ] {
            let out = fast(html);
            assert_eq!(out, Some(ammonia(html)), "{html:?}");
            assert!(!out.is_some_and(|o| is_executable(&o)), "{html:?}");
        }
        // A relative URL with nothing to resolve against: ammonia drops it by moving the
        // tag's last attribute into its place, so the order changes; left to ammonia.
        for html in ["<a href='' title=''></a>", "<img src=\"i.png\" alt=\"a\">"] {
            assert_eq!(fast_clean(html, None), None, "{html:?}");
            assert_eq!(clean(html, None), ammonia_with(html, None), "{html:?}");
        }
        for html in [
            "<p onclick=alert(1)>x</p>",
            "<a href=\"x\" href=\"y\">repeated</a>",
            "<a href = \"x\">spaced</a>",
            "<a href=\"/x\"><a href=\"/y\">nested</a></a>",
            "<a href=\"/x\"><b><a href=\"/y\">nested</a></b></a>",
            "<a href=\"/x\"><p>block in a link</p></a>",
            "<a href=\"/x\"title=\"t\">glued</a>",
            "<div><p>misnested</div></p>",
            "<span/>",
            "<h1><h2>heading in heading</h2></h1>",
            "<p><hr></p>",
            "<!-->",
            "<!--->",
            "<!-- a --!> b -->",
            "<!-- unclosed",
            "<pre>&#10;x</pre>",
            "<p>x <pre>y</pre></p>",
            "<a href=x/>unquoted slash</a>",
            "<a href=a&amp;b>unquoted reference</a>",
            "<P>upper</P>",
            "x &lt y",
            "&copy2024 legacy reference without a semicolon",
            "&#60 no semicolon",
            "&#0; &#xD800; &#x110000; &#150;",
            "<b><i>misnested</b></i>",
            "<p><ul><li>list closes the paragraph</li></ul></p>",
            "<b><p>block in inline</p></b>",
            "<li>item outside a list</li>",
            "<ul>text in a list<li>x</li></ul>",
            "</p>stray end tag",
            "<![CDATA[<script>alert(1)</script>]]>",
            "<svg><p>x</p></svg>",
            "<math>x</math>",
            "<? pi ?>",
            "a < b",
            "<br>\r\n carriage return",
            "nul \u{0} and \u{1b} escape",
            "<p/>",
        ] {
            assert_eq!(fast(html), None, "{html:?} took the fast path");
            let out = c(html);
            assert!(!is_executable(&out), "{html:?} became {out:?}");
        }
        let deep = "<b>".repeat(FAST_PATH_MAX_DEPTH + 1) + &"</b>".repeat(FAST_PATH_MAX_DEPTH + 1);
        assert_eq!(fast(&deep), None);
    }

    #[test]
    fn relative_urls_and_rel() {
        assert_eq!(
            c("<a href=\"/a\">x</a><img src=\"i.png\">"),
            "<a href=\"https://site.example/a\" rel=\"noopener noreferrer\">x</a><img src=\"https://site.example/news/i.png\">"
        );
    }

    /// Tables, MathML and empty frames as feeds write them take the fast path, to ammonia's
    /// output.
    #[test]
    fn tables_math_and_frames_take_the_short_way() {
        for html in [
            "<table>\n<tr>\n<th rowspan=\"2\">\nSize\n</th>\n</tr>\n<tr>\n<td style=\"text-align: right\">\n<math display=\"inline\" xmlns=\"http://www.w3.org/1998/Math/MathML\"><semantics><mrow><mn>3</mn><mspace width=\"0.167em\"></mspace><mn>088</mn></mrow><annotation encoding=\"application/x-tex\">3\\,088</annotation></semantics></math>\n</td>\n</tr>\n</table>",
            "<p>x</p><table class=\"t\"><thead><tr><th>a</th></tr></thead><tbody><tr><td><p>b</td></tr></tbody></table>",
            "<p>x<table><tr><td><table><tr><td>n</td></tr></table></td></tr></table>",
            "<p>An <math><mi>n</mi></math> and <math/> <iframe src=\"https://v.example/e\" allowfullscreen></iframe></p>",
            "<div><iframe width=560 height=315 src=\"https://v.example/\">\n</IFRAME></div>",
        ] {
            assert_eq!(fast(html), Some(ammonia(html)), "{html:?}");
        }
        for html in [
            "<table>x<tr><td>n</td></tr></table>",
            "<table><tr><td>n</td></tr>",
            "<math><mi><b>x</b></mi></math>",
            "<math><annotation-xml encoding=\"text/html\"><p>x</p></annotation-xml></math>",
            "<math>x</math>",
            "<iframe>x</iframe>",
            "<ul><math></math></ul>",
        ] {
            assert_eq!(fast(html), None, "{html:?}");
            assert_eq!(c(html), ammonia(html), "{html:?}");
        }
    }

    /// The classic vectors: nothing executable survives any of them.
    #[test]
    fn classic_xss_vectors() {
        let vectors = [
            "<script>alert(1)</script>",
            "<SCRIPT>alert(1)</SCRIPT>",
            "<ScRiPt src=//evil.example/x.js></ScRiPt>",
            "<scr<script>ipt>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<IMG SRC=\"javascript:alert('XSS');\">",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
            "<a href=\" javascript:alert(1)\">x</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<a href=\"vbscript:msgbox(1)\">x</a>",
            "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
            "<svg onload=alert(1)><script>alert(1)</script></svg>",
            "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<div style=\"width: expression(alert(1))\">x</div>",
            "<style>body{background:url(javascript:alert(1))}</style>",
            "<iframe src=\"https://evil.example/\"></iframe>",
            "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
            "<form action=\"https://evil.example/\"><input name=p></form>",
            "<body onload=alert(1)>",
            "<p onclick=\"alert(1)\" onmouseover=alert(1)>x</p>",
            "<img src=\"x\" onerror=\"alert(1)\"",
            "<a href=\"javascript:alert(1)\"",
            "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
            "<base href=\"javascript:alert(1)//\">",
            "<link rel=stylesheet href=\"javascript:alert(1)\">",
        ];
        for v in vectors {
            let out = c(v);
            assert!(!is_executable(&out), "{v:?} became {out:?}");
        }
    }

    /// Nothing a browser would run survives, and markup that is safe does: an output
    /// escaped to plain text every time would pass the first half alone.
    #[test]
    fn output_never_executable() {
        let strategy = (
            proptest::collection::vec(
                proptest::sample::select(vec![
                    "<script>",
                    "</script>",
                    "<img src=x onerror=alert(1)>",
                    "javascript:",
                    "<a href=\"",
                    "\">",
                    "<svg onload=x>",
                    "<style>",
                    "data:",
                    "&#106;",
                    "<",
                    ">",
                    "\"",
                    "'",
                    "=",
                    " ",
                    "x",
                    "<iframe>",
                    "onclick=",
                    "<p>",
                    "</p>",
                    "vbscript:",
                    "expression(",
                    "<math>",
                    "<!--",
                    "-->",
                    "&lt;script&gt;",
                ]),
                0..24,
            ),
            "[ -~]{0,40}",
        );
        let (kept_markup, ran) = run_counting(
            proptest::test_runner::Config::default(),
            strategy,
            |(parts, tail)| {
                let input = format!("{}{}", parts.concat(), tail);
                let out = c(&input);
                proptest::prop_assert!(!is_executable(&out), "{:?} became {:?}", input, out);
                // Sanitised text has every `<` escaped: a `<` left is an element kept.
                Ok(out.contains('<'))
            },
        );
        assert!(
            kept_markup * 4 >= ran,
            "markup kept in {kept_markup} of {ran} cases"
        );
    }

    /// An attribute as feeds write them (and as they should not): allowlisted, dropped and
    /// refused names; URLs of every kind, references and quotes in the values.
    fn attribute() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        (
            proptest::sample::select(vec![
                "href",
                "src",
                "title",
                "alt",
                "class",
                "target",
                "onclick",
                "style",
                "width",
                "align",
                "hspace",
                "bgcolor",
                "lang",
                "hreflang",
                "data-x",
                "rel",
                "cite",
                "id",
                "xlink:href",
                "HREF",
            ]),
            proptest::collection::vec(
                proptest::sample::select(vec![
                    "/rel",
                    "https://e.example/p?a=1",
                    "&amp;",
                    "&",
                    "\"",
                    "'",
                    "javascript:",
                    "#f",
                    "//h.example/",
                    "mailto:x@y.example",
                    " ",
                    "é",
                    "\u{a0}",
                    "&quot;",
                    "&#x3c;",
                    "<",
                    ">",
                    "../",
                    "\n",
                    "\t",
                    "data:",
                    "?q",
                    "&lt;",
                    "\r",
                    "http://[",
                    "ftp://f/",
                    "x",
                    "&#106;",
                    "&colon;",
                    "&copy",
                    "=",
                    "&#0;",
                    "HTTP://E.example",
                    "tel:1",
                    "a b",
                ]),
                0..4,
            ),
            proptest::bool::ANY,
        )
            .prop_map(|(name, pieces, double)| {
                let quote = if double { '"' } else { '\'' };
                let value: String = pieces.concat().chars().filter(|c| *c != quote).collect();
                format!(" {name}={quote}{value}{quote}")
            })
    }

    /// A start tag of a fast-path tag (or one it must refuse) with a few attributes.
    fn start_tag(
        names: Vec<&'static str>,
    ) -> impl proptest::strategy::Strategy<Value = (String, &'static str)> {
        use proptest::strategy::Strategy;
        (
            proptest::sample::select(names),
            proptest::collection::vec(attribute(), 0..3),
            proptest::sample::select(vec!["", "", "", " ", "/"]),
        )
            .prop_map(|(tag, attrs, end)| (format!("<{tag}{}{end}>", attrs.concat()), tag))
    }

    /// Well-formed trees of the fast path's tags (and some it must refuse) around text.
    fn fast_fragment() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        let leaf = proptest::strategy::Union::new(vec![
            proptest::sample::select(vec![
                "x",
                " ",
                "&amp;",
                "&",
                "&eacute;",
                "&#233;",
                "a > b",
                "\u{a0}",
                "<br>",
                "</br>",
                "</img>",
                "</hr>",
                "\n",
                "&T",
                "\"'",
                "é",
                "&copy;",
                "&lt;",
                "&#x3c;",
                "\r",
                "<hr>",
                "<br/>",
                "<!-- c -->",
                "&#60;",
                "&gt;",
            ])
            .prop_map(str::to_string)
            .boxed(),
            start_tag(vec!["img", "br", "hr"])
                .prop_map(|(tag, _)| tag)
                .boxed(),
        ]);
        leaf.prop_recursive(5, 48, 4, |inner| {
            (
                start_tag(vec![
                    "p",
                    "b",
                    "i",
                    "em",
                    "strong",
                    "ul",
                    "ol",
                    "li",
                    "blockquote",
                    "span",
                    "pre",
                    "a",
                    "a",
                    "a",
                    "div",
                    "h2",
                    "code",
                    "sup",
                    "table",
                    "font",
                    "figure",
                    "time",
                    "pre",
                ]),
                proptest::collection::vec(inner, 0..4),
            )
                .prop_map(|((open, tag), kids)| format!("{open}{}</{tag}>", kids.concat()))
        })
    }

    /// The bases entries have: a page, a directory, none.
    fn any_base() -> impl proptest::strategy::Strategy<Value = Option<Url>> {
        use proptest::strategy::Strategy;
        proptest::sample::select(vec![
            Some("https://site.example/news/"),
            Some("http://other.example/a/b.html?x=1#y"),
            None,
        ])
        .prop_map(|b| b.and_then(|b| Url::parse(b).ok()))
    }

    /// Tables as feeds write them: written or implied sections, whitespace (and the text
    /// the parser would move out) between rows and cells, cells holding fast-path trees or a
    /// nested table, end tags left out now and then.
    fn table_fragment() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::collection::vec;
        use proptest::sample::select;
        use proptest::strategy::Strategy;
        let space = || {
            proptest::strategy::Union::new_weighted(vec![
                (
                    12,
                    select(vec!["", "", "\n", " ", "\n  ", "\t", "&#32;", "<!-- c -->"]).boxed(),
                ),
                (
                    1,
                    select(vec!["x", "&nbsp;", "<br>", "<math></math>", "&", "&copy2"]).boxed(),
                ),
            ])
        };
        let content = proptest::strategy::Union::new_weighted(vec![
            (1, fast_fragment().boxed()),
            (
                3,
                select(vec![
                    "x",
                    "\nx\n",
                    "<code>c</code>",
                    "<b>b</b>",
                    "&amp;",
                    "<br>",
                ])
                .prop_map(str::to_string)
                .boxed(),
            ),
            (
                1,
                select(vec![
                    "<table><tr><td>n</td></tr></table>",
                    "<table>\n<tbody><tr><th>n</th></tr></tbody></table>",
                    "<p>para",
                    "<li>",
                    "<math display=\"inline\"><mi>x</mi></math>",
                    " ",
                ])
                .prop_map(str::to_string)
                .boxed(),
            ),
        ]);
        let cell = (
            select(vec![
                "td", "th", "td", "td", "th", "td", "td", "th", "tr", "p",
            ]),
            select(vec![
                "",
                " style=\"text-align: right\"",
                " colspan=\"2\"",
                " class=c rowspan=3",
                " align=\"left\"",
            ]),
            vec(content, 0..3),
            select(vec![true, true, true, true, true, true, true, false]),
            space(),
        )
            .prop_map(|(tag, attrs, kids, close, after)| {
                let end = if close {
                    format!("</{tag}>")
                } else {
                    String::new()
                };
                format!("<{tag}{attrs}>{}{end}{after}", kids.concat())
            });
        let row = (
            select(vec![
                "<tr>",
                "<tr>",
                "<tr>",
                "<tr>",
                "<tr class=\"r\">",
                "<td>",
            ]),
            space(),
            vec(cell, 0..3),
            select(vec![
                "</tr>", "</tr>", "</tr>", "</tr>", "</tr>", "</tr>", "", "</td>",
            ]),
            space(),
        )
            .prop_map(|(open, before, cells, close, after)| {
                format!("{open}{before}{}{close}{after}", cells.concat())
            });
        let section = (
            select(vec![
                "", "", "", "tbody", "tbody", "thead", "tfoot", "caption",
            ]),
            space(),
            vec(row, 0..3),
            select(vec![true, true, false]),
            space(),
        )
            .prop_map(|(tag, before, rows, close, after)| {
                if tag.is_empty() {
                    format!("{before}{}{after}", rows.concat())
                } else {
                    let end = if close {
                        format!("</{tag}>")
                    } else {
                        String::new()
                    };
                    format!("<{tag}>{before}{}{end}{after}", rows.concat())
                }
            });
        (
            select(vec![
                ("", ""),
                ("", ""),
                ("<p>x", ""),
                ("<div>", "</div>"),
                ("<ul><li>", "</li></ul>"),
                ("<b>", "</b>"),
                ("x", "y"),
                ("<p>", "</p>"),
                ("", "</p>"),
            ]),
            select(vec![
                "<table>",
                "<table>",
                "<table class=\"t\" border=\"1\">",
                "<TABLE>",
                "<table summary=\"s\">",
            ]),
            space(),
            vec(section, 0..2),
            select(vec![
                "</table>",
                "</table>",
                "</table>",
                "</table>",
                "</table>",
                "",
                "</tbody></table>",
                "</tr></table>",
            ]),
        )
            .prop_map(|((before, after), open, space, sections, close)| {
                format!("{before}{open}{space}{}{close}{after}", sections.concat())
            })
    }

    /// `<math>` and `<iframe>` elements as feeds write them, and the shapes that make the
    /// parser read HTML inside MathML or leave it.
    fn math_fragment() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::collection::vec;
        use proptest::sample::select;
        use proptest::strategy::Strategy;
        let attrs = || {
            select(vec![
                "",
                "",
                " display=\"inline\"",
                " xmlns=\"http://www.w3.org/1998/Math/MathML\"",
                " width=\"0.167em\"",
                " a=\"x>y\"",
                " a=b/",
                " ==x",
                " a=\'1\'b",
                " / ",
                " encoding=\"application/x-tex\"",
                " a=\"",
                " x",
            ])
        };
        let leaf = proptest::strategy::Union::new_weighted(vec![
            (
                3,
                select(vec![
                    "",
                    " ",
                    "\n",
                    "x",
                    "x",
                    "1",
                    "&lt;",
                    "&amp;",
                    "<mi/>",
                    "<mspace/>",
                    "<!-- c -->",
                ]),
            ),
            (
                1,
                select(vec![
                    "<![CDATA[x]]>",
                    "<p>",
                    "<b>",
                    "</p>",
                    "</br>",
                    "<MI>",
                    "<svg>",
                    "<mglyph/>",
                    "<font color=red>",
                    "<font>",
                    "< x",
                    "</>",
                    "\u{a0}",
                    "</mi>",
                    "<img src=x>",
                ]),
            ),
        ])
        .prop_map(str::to_string);
        let tree = leaf.prop_recursive(4, 32, 3, move |inner| {
            (
                proptest::strategy::Union::new_weighted(vec![
                    (
                        8,
                        select(vec![
                            "mi",
                            "mn",
                            "mo",
                            "mrow",
                            "semantics",
                            "annotation",
                            "msup",
                            "mfrac",
                            "mtext",
                            "mspace",
                        ]),
                    ),
                    (1, select(vec!["annotation-xml", "mglyph", "div", "mtd"])),
                ]),
                attrs(),
                vec(inner, 0..3),
                select(vec![true, true, true, true, true, true, true, false]),
            )
                .prop_map(|(tag, attrs, kids, close)| {
                    let end = if close {
                        format!("</{tag}>")
                    } else {
                        String::new()
                    };
                    format!("<{tag}{attrs}>{}{end}", kids.concat())
                })
        });
        let math = (
            select(vec![
                "math", "math", "math", "math", "math", "iframe", "MATH", "iframe", "script",
                "script", "style", "SCRIPT",
            ]),
            attrs(),
            select(vec!["", "", "", "/", " /"]),
            vec(
                proptest::strategy::Union::new_weighted(vec![
                    (3, tree.boxed()),
                    (
                        1,
                        select(vec![
                            "<!--",
                            "-->",
                            "</scripts>",
                            "</SCRIPT>",
                            "</style>",
                            "</script/>",
                            "a<b",
                            "</script x=\">\">",
                            "<script>",
                            "</script",
                            "</style\n>",
                        ])
                        .prop_map(str::to_string)
                        .boxed(),
                    ),
                ]),
                0..3,
            ),
            select(vec![
                "</script>",
                "</style>",
                "</math>",
                "</math>",
                "</math>",
                "</math>",
                "</iframe>",
                "</IFRAME>",
                "",
                "</math >",
            ]),
        )
            .prop_map(|(tag, attrs, slash, kids, close)| {
                format!("<{tag}{attrs}{slash}>{}{close}", kids.concat())
            });
        (
            select(vec![
                ("", ""),
                ("", ""),
                ("<p>x", ""),
                ("<div>", "</div>"),
                ("<ul>", "</ul>"),
                ("<b>", "</b>"),
                ("<ul><li>", "</li></ul>"),
                ("<table><tr><td>", "</td></tr></table>"),
                ("<table>", "</table>"),
                ("x", "y"),
            ]),
            vec(math, 1..3),
        )
            .prop_map(|((before, after), maths)| format!("{before}{}{after}", maths.concat()))
    }

    /// Whatever the fast path takes of `input` it writes as ammonia does, and split cleaning
    /// agrees with ammonia on the whole.
    /// Returns whether the fast path took `input`.
    fn agrees_with_ammonia(
        input: &str,
        base: Option<&Url>,
    ) -> Result<bool, proptest::test_runner::TestCaseError> {
        let whole = ammonia_with(input, base);
        let fast = fast_clean(input, base);
        let took = fast.is_some();
        if let Some(fast) = fast {
            proptest::prop_assert_eq!(fast, whole.clone(), "{:?}", input);
        }
        proptest::prop_assert_eq!(clean(input, base), whole, "{:?}", input);
        Ok(took)
    }

    /// Whatever the fast path takes of `input`, it writes what ammonia writes; returns
    /// whether it took it.
    fn fast_agrees_with_ammonia(
        input: &str,
        base: Option<&Url>,
    ) -> Result<bool, proptest::test_runner::TestCaseError> {
        let Some(fast) = fast_clean(input, base) else {
            return Ok(false);
        };
        proptest::prop_assert_eq!(fast, ammonia_with(input, base), "{:?}", input);
        Ok(true)
    }

    /// Whatever the fast path takes of a table, it writes what ammonia writes, and split
    /// cleaning agrees with ammonia on the whole.
    #[test]
    fn fast_path_agrees_with_ammonia_on_tables() {
        let strategy = (
            proptest::collection::vec(table_fragment(), 1..3),
            any_base(),
        );
        let (took, ran) = run_counting(
            proptest::test_runner::Config::with_cases(512),
            strategy,
            |(parts, base)| agrees_with_ammonia(&parts.concat(), base.as_ref()),
        );
        assert!(
            took * TABLES_TAKEN >= ran,
            "the fast path took {took} of {ran} cases"
        );
    }

    /// Whatever the fast path takes of `<math>` and `<iframe>`, it writes what ammonia
    /// writes, and split cleaning agrees with ammonia on the whole.
    #[test]
    fn fast_path_agrees_with_ammonia_on_math() {
        let strategy = (proptest::collection::vec(math_fragment(), 1..3), any_base());
        let (took, ran) = run_counting(
            proptest::test_runner::Config::with_cases(512),
            strategy,
            |(parts, base)| agrees_with_ammonia(&parts.concat(), base.as_ref()),
        );
        assert!(
            took * MATH_TAKEN >= ran,
            "the fast path took {took} of {ran} cases"
        );
    }

    /// Whatever the fast path takes from a well-formed tree, it writes what ammonia writes.
    #[test]
    fn fast_path_agrees_with_ammonia_on_trees() {
        let strategy = (proptest::collection::vec(fast_fragment(), 1..4), any_base());
        let (took, ran) = run_counting(
            proptest::test_runner::Config::with_cases(512),
            strategy,
            |(parts, base)| fast_agrees_with_ammonia(&parts.concat(), base.as_ref()),
        );
        assert!(
            took * TREES_TAKEN >= ran,
            "the fast path took {took} of {ran} cases"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(512))]

        /// A fragment whose start the fast path takes and whose rest ammonia cleans comes out
        /// as ammonia cleans the whole: the parser is back at the top level where it splits.
        #[test]
        fn split_fragments_agree_with_ammonia(
            start in proptest::collection::vec(fast_fragment(), 0..3),
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<p>", "</p>", "<b>", "</b>", "<i>", "</i>", "<ul>", "<li>", "</li>", "</ul>",
                "<a href=\"/rel\">", "<a href=\"javascript:x\">", "</a>", "<div>", "</div>",
                "<table><tr><td>", "</td>", "<span class=c>", "</span>", "<pre>", "\nx</pre>",
                "<frameset>", "<body onload=x>", "<html lang=x>", "</body>", "<head>", "</html>", "<form>", "<img src=i.png>",
                "<script>", "</script>", "<!--", "-->", "&copy2", "&", "x", " ", "<svg><p>",
                "<math>", "</blockquote>", "<br>", "<select><selectedcontent>", "<h3>", "</h3>",
                "<a href=\"https://e.example/\" class=\"c\">", "<img src=\"i.png\" alt=\"a\">",
                "<hr>", "<span class=\"c\">", "<!-- c -->", "<!-->", "<pre>", "</pre>", "\n",
                "<figure>", "</figure>", "<p class=pp>", "</br>", "</img>", "<table><tr><td>",
            ]), 0..12),
            tail in proptest::collection::vec(fast_fragment(), 0..2),
            base in any_base(),
        ) {
            let input = format!("{}{}{}", start.concat(), parts.concat(), tail.concat());
            let split = clean(&input, base.as_ref());
            proptest::prop_assert_eq!(split, ammonia_with(&input, base.as_ref()), "{:?}", input);
        }
    }

    /// Whatever the fast path takes, it writes exactly what ammonia writes.
    #[test]
    fn fast_path_agrees_with_ammonia() {
        let strategy = (
            proptest::collection::vec(
                proptest::sample::select(vec![
                    "<p>",
                    "</p>",
                    "<b>",
                    "</b>",
                    "<i>",
                    "</i>",
                    "<em>",
                    "</em>",
                    "<strong>",
                    "</strong>",
                    "<ul>",
                    "</ul>",
                    "<ol>",
                    "</ol>",
                    "<li>",
                    "</li>",
                    "<blockquote>",
                    "</blockquote>",
                    "<br>",
                    "<br/>",
                    "<br />",
                    "&amp;",
                    "&",
                    "&lt;",
                    "&nbsp;",
                    "&eacute;",
                    "&#233;",
                    "&#x41;",
                    "&copy",
                    "&T",
                    "&#",
                    ";",
                    "x",
                    " ",
                    "\n",
                    ">",
                    "<",
                    "\"",
                    "'",
                    "\u{a0}",
                    "é",
                    "<a>",
                    "<p class=x>",
                    "<!--",
                    "-->",
                    "<script>",
                    "\r",
                    "\t",
                    "&not",
                    "in",
                    "#",
                    "<a href=\"/x\">",
                    "<a href='https://e.example'>",
                    "</a>",
                    "<img src=\"i.png\">",
                    "<span class=\"c\">",
                    "</span>",
                    "<div>",
                    "</div>",
                    "<h1>",
                    "</h1>",
                    "<hr>",
                    "<a href=\"",
                    "=\"",
                    "<img",
                    "/>",
                    " alt=\"",
                    " title=\"",
                    " href=\"",
                    "javascript:",
                    "<a title=\"x\">",
                    "<!--",
                    "-->",
                    "<!-->",
                    "--!>",
                    "<pre>",
                    "</pre>",
                    "<figure>",
                    "</figure>",
                    " class=x",
                    "<p class=pp>",
                    "&#10;",
                    "&#60;",
                    "&gt;",
                    "<a href=x.html>",
                    "<q>",
                    "</q>",
                    "</br>",
                    "</img>",
                    "</hr>",
                    "</br",
                    "<html lang=\"x\">",
                    "<head>",
                    "</head>",
                    "<body class=b>",
                    "</body>",
                    "</html>",
                    "<html",
                    "<bodyx>",
                    "</body >",
                    "<a href=\"bitcoin:1x\">",
                    "<img src=\"data:x\">",
                    "<a href=\"javascript:x\">",
                    "<img src=\"http://[\">",
                ]),
                0..24,
            ),
            any_base(),
        );
        let (took, ran) = run_counting(
            proptest::test_runner::Config::with_cases(512),
            strategy,
            |(parts, base)| fast_agrees_with_ammonia(&parts.concat(), base.as_ref()),
        );
        assert!(
            took * PIECES_TAKEN >= ran,
            "the fast path took {took} of {ran} cases"
        );
    }
}
