//! The text toolkit's lists and numbers, in one place, each with its reason: which HTML
//! elements end a paragraph or hold no text, what the sanitiser lets links point to and
//! how much its fast path takes, how long an entity name can be.

/// URL schemes allowed in sanitised HTML; everything else (`javascript:`, `vbscript:`,
/// `data:`, ...) is removed with its attribute. The web's own, mail, telephone, file
/// transfer and torrent links: what articles link to.
pub const ALLOWED_URL_SCHEMES: &[&str] = &["http", "https", "mailto", "ftp", "tel", "magnet"];

/// The `rel` every sanitised link gets: the linked page can neither script the reader's
/// window (`noopener`) nor learn which article linked it (`noreferrer`).
pub const LINK_REL: &str = "noopener noreferrer";

/// Elements that end a paragraph: their boundaries become line breaks in the text. HTML's
/// block-level elements that articles use (`td`/`th` are not among them: a table row is one
/// line).
pub const BLOCK_ELEMENTS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "figure",
    "figcaption",
    "hr",
    "dd",
    "dt",
    "dl",
    "aside",
    "address",
    "main",
    "nav",
    "details",
    "summary",
];

/// Elements whose content is never text (scripts, styles, templates, a page's head).
pub const OPAQUE_ELEMENTS: &[&str] = &["script", "style", "template", "noscript", "head", "title"];

/// Tags the sanitiser's fast path writes itself when they come without attributes and
/// properly nested: HTML's phrasing elements that an HTML parser builds exactly as written
/// there (no `a`, which closes an open `a`; no `nobr`, which closes an open `nobr`; no ruby
/// parts, which imply end tags). Whatever else a fragment holds sends it to ammonia; the
/// fast path also takes only those of these the policy allows.
pub const FAST_PATH_INLINE: &[&str] = &[
    "b", "i", "em", "strong", "u", "s", "strike", "tt", "small", "code", "sub", "sup", "span",
    "cite", "abbr", "q", "mark", "del", "ins", "kbd", "samp", "var", "dfn", "bdi", "time",
];

/// Nesting depth past which the sanitiser's fast path hands a fragment to ammonia: inline
/// formatting in articles nests two or three deep.
pub const FAST_PATH_MAX_DEPTH: usize = 32;

/// Longest entity name considered when decoding `&name;` references (the longest HTML
/// entity, `&CounterClockwiseContourIntegral;`, has 31 characters).
pub const MAX_ENTITY_NAME: usize = 32;
