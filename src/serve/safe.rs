//! Making stored text safe to publish, whatever bytes came in.
//!
//! The parse stage already sanitises article HTML; the writers must not undo that, and as
//! defence in depth every HTML fragment is sanitised once more on the way out, by the same
//! policy (`markup::sanitize`; rendering is cached, so this costs once per store change),
//! everything composed is escaped (`markup::escape`), and characters published text never
//! holds are dropped from every string (`markup::chars`).

use super::policy::{MAX_LANGUAGE_CHARS, MAX_TITLE_CHARS};
use crate::markup::chars::text_chars;
use crate::markup::sanitize;
use crate::markup::text::html_to_text;
use crate::markup::whitespace::one_line;

/// A one-line plain-text title: XML-safe, whitespace collapsed, cut at
/// [`MAX_TITLE_CHARS`] with an ellipsis, never empty.
pub fn title(s: &str) -> String {
    let s = one_line(&text_chars(s));
    let s = truncate(&s, MAX_TITLE_CHARS);
    if s.is_empty() {
        "Untitled story".to_string()
    } else {
        s
    }
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
    text_chars(&sanitize::clean(&text_chars(html), base)).into_owned()
}

/// The plain text of an HTML fragment (scripts and styles dropped), collapsed to one line and
/// cut to `max` characters: the river page's excerpt.
pub fn excerpt(html: &str, max: usize) -> String {
    truncate(&one_line(&html_to_text(&clean_html(html, None))), max)
}

/// A language tag fit for `lang`/`xml:lang`, or None: the shape of BCP 47 (letters, then
/// subtags of letters and digits, at most 8 each, joined by `-`; `_` as written by some
/// feeds read as `-`), the primary subtag lower case. Feeds write anything here.
pub fn language(s: &str) -> Option<String> {
    let s = s.trim().replace('_', "-");
    let mut parts = s.split('-');
    let primary = parts.next()?;
    let primary_ok =
        (2..=8).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok = parts
        .clone()
        .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    (primary_ok && rest_ok && s.len() <= MAX_LANGUAGE_CHARS).then(|| {
        std::iter::once(primary.to_ascii_lowercase())
            .chain(parts.map(str::to_string))
            .collect::<Vec<_>>()
            .join("-")
    })
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
        assert_eq!(excerpt(html, 100), "Council votes more x dr");
        assert_eq!(
            excerpt("<p>caf<b>é</b> U.<i>S</i>.</p><p>next</p>", 100),
            "café U.S. next"
        );
    }

    #[test]
    fn control_characters_and_long_titles_are_tamed() {
        assert_eq!(title(" \u{7}line\none \t two "), "line one two");
        let long = title(&"word ".repeat(300_000));
        assert!(long.chars().count() <= MAX_TITLE_CHARS && long.ends_with('…'));
        assert_eq!(title("\u{1}\u{2}"), "Untitled story");
        assert!(http_url(Some("javascript:alert(1)")).is_none());
        assert!(http_url(Some("/relative")).is_none());
        assert!(http_url(Some(" https://ok.example/a ")).is_some());
    }

    #[test]
    fn language_tags_are_checked_for_shape() {
        assert_eq!(language("es").as_deref(), Some("es"));
        assert_eq!(language(" fr_FR ").as_deref(), Some("fr-FR"));
        assert_eq!(language("EN-us").as_deref(), Some("en-us"));
        for bad in ["", "e", "en--", "\"><script>", "english language", "x-"] {
            assert_eq!(language(bad), None, "{bad:?}");
        }
    }
}
