//! An article page → the article: what `full_text` fetches an item's link for.
//!
//! The page's bytes are decoded like a feed's (`decode.rs`), checked to be an HTML page of
//! a depth a tree walk can take, handed to `dom_smoothie` (Mozilla Readability's algorithm;
//! chosen over `readabilityrs` and `legible` on Readability's own 130 test pages, see
//! ARCHITECTURE.md), and its article goes through the one sanitiser (`markup::sanitize`,
//! relative URLs resolved against the page) and the one HTML → text (`markup::text`). A page
//! that yields no article (a paywall, a consent wall, a page of links) is an error naming
//! why; it never panics (the caller runs it under `catch_unwind` as well).

use url::Url;

use super::decode;
use super::policy::{MAX_LINKED_SHARE, MAX_PAGE_DEPTH, MAX_PAGE_ELEMENTS, MIN_PAGE_ARTICLE_WORDS};
use crate::markup::sanitize;
use crate::markup::text::html_to_text;
use crate::markup::whitespace::one_line;

/// The article a page carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageArticle {
    /// The article, sanitised HTML.
    pub html: String,
    /// Its text, one paragraph per line (what dedup reads).
    pub text: String,
    /// Words of `text`.
    pub words: usize,
    /// The page's headline, when it has one.
    pub title: Option<String>,
    /// The page's byline, when it has one.
    pub byline: Option<String>,
}

/// Why a page gave no article.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// Not an HTML page (a PDF, an image, binary data).
    #[error("the page is not HTML: {0}")]
    NotHtml(String),
    /// Elements nested deeper than [`MAX_PAGE_DEPTH`].
    #[error("the page nests elements more than {MAX_PAGE_DEPTH} deep")]
    TooDeep,
    /// Readability found no article, or one too short to be one.
    #[error("the page holds no article: {0}")]
    NoArticle(String),
}

/// Extracts the article of the page `body` (served as `content_type`) found at `url`.
pub fn extract(
    body: &[u8],
    content_type: Option<&str>,
    url: &Url,
) -> Result<PageArticle, PageError> {
    sniff(body, content_type)?;
    let html = decode::decode(body, content_type);
    if nesting_depth(&html) > MAX_PAGE_DEPTH {
        return Err(PageError::TooDeep);
    }
    let config = dom_smoothie::Config {
        max_elements_to_parse: MAX_PAGE_ELEMENTS,
        ..dom_smoothie::Config::default()
    };
    let mut reader =
        dom_smoothie::Readability::new(html.as_str(), Some(url.as_str()), Some(config))
            .map_err(|e| PageError::NoArticle(e.to_string()))?;
    let article = reader
        .parse()
        .map_err(|e| PageError::NoArticle(e.to_string()))?;
    let html = sanitize::clean(&article.content, Some(url));
    let text = html_to_text(&html);
    let words = text.split_whitespace().count();
    if words < MIN_PAGE_ARTICLE_WORDS {
        return Err(PageError::NoArticle(format!(
            "{words} words of text where an article has at least {MIN_PAGE_ARTICLE_WORDS}"
        )));
    }
    let linked = linked_words(&html);
    if linked as f64 > MAX_LINKED_SHARE * words as f64 {
        return Err(PageError::NoArticle(format!(
            "{linked} of its {words} words are links: a page of links, not an article"
        )));
    }
    let line = |s: &str| Some(one_line(s)).filter(|s| !s.is_empty());
    Ok(PageArticle {
        html,
        text,
        words,
        title: line(&article.title),
        byline: article.byline.as_deref().map(without_by).and_then(line),
    })
}

/// The text of an article stored as sanitised HTML (a page that answered 304 gives the
/// article extracted before): the same conversion [`extract`] uses.
pub fn text_of(html: &str) -> String {
    html_to_text(html)
}

/// A byline without its leading "By " ("By Ann Reporter" names Ann Reporter).
fn without_by(byline: &str) -> &str {
    let b = byline.trim();
    match b.get(..3) {
        Some(by) if by.eq_ignore_ascii_case("by ") => b[3..].trim_start(),
        _ => b,
    }
}

/// Words inside links in the article `html`.
fn linked_words(html: &str) -> usize {
    let fragment = scraper::Html::parse_fragment(html);
    let Ok(links) = scraper::Selector::parse("a") else {
        return 0;
    };
    fragment
        .select(&links)
        .map(|a| {
            a.text()
                .map(|t| t.split_whitespace().count())
                .sum::<usize>()
        })
        .sum()
}

/// Refuses what is not an HTML page: a declared type that is not HTML (or text), or a body
/// that starts like a PDF or holds NUL bytes (binary data served as `text/html`).
fn sniff(body: &[u8], content_type: Option<&str>) -> Result<(), PageError> {
    if let Some(ct) = content_type {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let htmlish = mime.is_empty()
            || mime == "text/html"
            || mime == "application/xhtml+xml"
            || mime == "text/plain"
            || mime == "application/octet-stream";
        if !htmlish {
            return Err(PageError::NotHtml(format!("it is served as {mime}")));
        }
    }
    let head = &body[..body.len().min(1024)];
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &head[i..]);
    if start.starts_with(b"%PDF") {
        return Err(PageError::NotHtml("it is a PDF document".into()));
    }
    if head.contains(&0) && !head.starts_with(&[0xFF, 0xFE]) && !head.starts_with(&[0xFE, 0xFF]) {
        return Err(PageError::NotHtml("it is binary data".into()));
    }
    Ok(())
}

/// Elements that never contain others, or that the HTML parser closes by itself when the
/// next one opens (so unclosed ones do not nest).
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "p", "li", "option", "td", "th", "tr", "dt", "dd", "!doctype", "!--",
];

/// How deep the page's elements nest, counted over its tags (a cheap scan, not a parse):
/// tree walks over a page nested tens of thousands deep would exhaust a thread's stack.
fn nesting_depth(html: &str) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &bytes[i..]) {
        let at = i + off + 1;
        i = at;
        let Some(&next) = bytes.get(at) else { break };
        if next == b'/' {
            depth = depth.saturating_sub(1);
            continue;
        }
        if !(next.is_ascii_alphabetic() || next == b'!') {
            continue;
        }
        let name_end = bytes[at..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
            .map_or(bytes.len(), |p| at + p);
        let name = html[at..name_end].to_ascii_lowercase();
        let tag_end = memchr::memchr(b'>', &bytes[at..]).map_or(bytes.len(), |p| at + p);
        let self_closing = tag_end > at && bytes[tag_end - 1] == b'/';
        if self_closing || NOT_NESTING.iter().any(|n| name.starts_with(n)) {
            continue;
        }
        depth += 1;
        max = max.max(depth);
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("http://news.example/world/a.html").unwrap()
    }

    fn page(body: &str) -> String {
        format!(
            "<html><head><title>Storm hits the coast - News</title></head><body>\
             <nav><a href='/'>Home</a> <a href='/world'>World</a></nav>\
             <article><h1>Storm hits the coast</h1><p class='byline'>By Ann Reporter</p>{body}</article>\
             <footer>Copyright News</footer></body></html>"
        )
    }

    fn paragraphs(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "<p>Paragraph {i} of the report says the storm reached the coast at dawn, \
                     flooding roads and cutting power to thousands of homes in the region, \
                     officials said on <a href='/live/{i}'>Tuesday</a>.</p>"
                )
            })
            .collect()
    }

    #[test]
    fn an_article_page_gives_its_text_and_resolved_links() {
        let a = extract(page(&paragraphs(8)).as_bytes(), Some("text/html"), &url()).unwrap();
        assert!(a.text.contains("Paragraph 7 of the report"), "{}", a.text);
        assert!(!a.text.contains("Copyright News"));
        assert!(a.html.contains("http://news.example/live/3"), "{}", a.html);
        assert!(a.words > 150);
        assert!(a.title.unwrap().starts_with("Storm hits the coast"));
        assert_eq!(a.byline.as_deref(), Some("Ann Reporter"));
    }

    #[test]
    fn a_page_without_an_article_is_an_error_not_a_panic() {
        let links: String = (0..40)
            .map(|i| format!("<a href='/{i}'>Link {i}</a> "))
            .collect();
        let e = extract(links.as_bytes(), Some("text/html"), &url()).unwrap_err();
        assert!(matches!(e, PageError::NoArticle(_)), "{e}");
        assert!(extract(b"", None, &url()).is_err());
    }

    #[test]
    fn pdfs_and_binary_data_are_not_pages() {
        let e = extract(b"%PDF-1.7\n...", Some("text/html"), &url()).unwrap_err();
        assert_eq!(e, PageError::NotHtml("it is a PDF document".into()));
        let e = extract(b"\x89PNG\r\n\x1a\n\0\0\0", Some("text/html"), &url()).unwrap_err();
        assert!(matches!(e, PageError::NotHtml(_)));
        let e = extract(b"<p>x</p>", Some("image/png"), &url()).unwrap_err();
        assert!(matches!(e, PageError::NotHtml(_)));
    }

    #[test]
    fn endless_nesting_is_refused_before_any_tree_walk() {
        let deep = format!("{}{}", "<div>".repeat(100_000), paragraphs(3));
        assert_eq!(
            extract(deep.as_bytes(), Some("text/html"), &url()).unwrap_err(),
            PageError::TooDeep
        );
        // Unclosed paragraphs and list items do not nest.
        let flat = page(&format!(
            "{}{}",
            "<p>one two three".repeat(2000),
            paragraphs(4)
        ));
        assert!(nesting_depth(&flat) < 10);
    }
}
