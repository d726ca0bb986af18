//! Making stored text safe to publish, whatever bytes came in.
//!
//! The parse stage already sanitises article HTML; the writers must not undo that, and as
//! defence in depth every HTML fragment is sanitised once more on the way out (rendering is
//! cached, so this costs once per store change), everything composed here is escaped, and
//! characters XML cannot carry are dropped from every string.

use std::borrow::Cow;

use super::policy::MAX_TITLE_CHARS;

/// Whether XML 1.0 can carry `c` (and it is not a C1 control, which is never text).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` without the characters XML 1.0 cannot carry (control characters, U+FFFE, U+FFFF).
pub fn xml_text(s: &str) -> Cow<'_, str> {
    if s.chars().all(xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| xml_char(c)).collect())
    }
}

/// A one-line plain-text title: XML-safe, whitespace collapsed, cut at
/// [`MAX_TITLE_CHARS`] with an ellipsis, never empty.
pub fn title(s: &str) -> String {
    let s = one_line(&xml_text(s));
    let s = truncate(&s, MAX_TITLE_CHARS);
    if s.is_empty() {
        "Untitled story".to_string()
    } else {
        s
    }
}

/// Whitespace runs (newlines included) collapsed to single spaces, trimmed.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to at most `max` characters, at a word boundary when one is near, with "…".
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    let at_word = cut
        .rfind(' ')
        .filter(|&i| i > cut.len() * 3 / 4)
        .unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end())
}

/// `s` as an absolute http(s) URL, or None: links to anything else (`javascript:`,
/// `data:`, relative paths with no base) are never written.
pub fn http_url(s: Option<&str>) -> Option<url::Url> {
    let u = url::Url::parse(s?.trim()).ok()?;
    matches!(u.scheme(), "http" | "https").then_some(u)
}

/// Sanitised, XML-safe HTML: no script, style, iframe, object, event-handler attribute or
/// `javascript:`/`data:` URL; relative URLs resolved against `base` (or removed without one).
pub fn clean_html(html: &str, base: Option<&url::Url>) -> String {
    let mut b = ammonia::Builder::default();
    b.url_relative(match base {
        Some(base) => ammonia::UrlRelative::RewriteWithBase(base.clone()),
        None => ammonia::UrlRelative::Deny,
    });
    xml_text(&b.clean(&xml_text(html)).to_string()).into_owned()
}

/// The plain text of an HTML fragment (scripts and styles dropped), collapsed to one line and
/// cut to `max` characters: the river page's excerpt.
pub fn excerpt(html: &str, max: usize) -> String {
    let cleaned = clean_html(html, None);
    let doc = scraper::Html::parse_fragment(&cleaned);
    let text: String = doc.root_element().text().collect::<Vec<_>>().join(" ");
    truncate(&one_line(&text), max)
}

/// Escapes text for HTML element content or a quoted attribute value.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in xml_text(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_defused() {
        let html = r#"<p onclick="alert(2)">Council <SCRIPT>alert(3)</SCRIPT> votes
            <img src=x onerror="alert(4)"> <a href="javascript:alert(5)">more</a>
            <a href=" jav&#x09;ascript:alert(6)">x</a><iframe src="https://evil.example/"></iframe>
            <svg onload="alert(7)"></svg><style>body{}</style><ScRiPt>x</sCrIpT>
            <a href="data:text/html;base64,PHNjcmlwdD4=">d</a><a href="/rel">r</a>"#;
        let base = url::Url::parse("https://outlet.example/news/1").unwrap();
        let out = clean_html(html, Some(&base));
        crate::executable_oracle::assert_not_executable("clean_html", &out);
        assert!(out.contains("https://outlet.example/rel"));
        assert_eq!(excerpt(html, 100), "Council votes more x d r");
    }

    #[test]
    fn control_characters_and_long_titles_are_tamed() {
        assert_eq!(xml_text("a\u{0}b\u{1b}c\u{FFFE}\u{85}d"), "abcd");
        assert_eq!(title(" \u{7}line\none \t two "), "line one two");
        let long = title(&"word ".repeat(300_000));
        assert!(long.chars().count() <= MAX_TITLE_CHARS && long.ends_with('…'));
        assert_eq!(title("\u{1}\u{2}"), "Untitled story");
        assert_eq!(
            escape_html("<a href='x'>&"),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
        assert!(http_url(Some("javascript:alert(1)")).is_none());
        assert!(http_url(Some("/relative")).is_none());
        assert!(http_url(Some(" https://ok.example/a ")).is_some());
    }
}
