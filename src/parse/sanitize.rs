//! The one HTML sanitiser: a single configured ammonia `Builder` that every summary and
//! content goes through exactly once.
//!
//! ammonia's allowlist keeps formatting tags and drops script, style, iframe, object,
//! embed, form, every event-handler attribute and every `style`; URLs are limited to
//! [`ALLOWED_URL_SCHEMES`] (so no `javascript:`, `vbscript:` or `data:`); relative URLs
//! are rewritten against the entry's base; links get `rel="noopener noreferrer"`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;

use ammonia::{Builder, UrlRelative};
use url::Url;

use super::policy::ALLOWED_URL_SCHEMES;

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
    BASE.with(|base| {
        let base = base.borrow();
        let url = base.as_ref()?.join(relative).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| Cow::Owned(url.into()))
    })
}

/// Sanitises an HTML fragment; relative URLs resolve against `base` (and are dropped when
/// there is none).
pub fn clean(html: &str, base: Option<&Url>) -> String {
    if !html.contains('<') {
        // No markup at all: the same text node ammonia would produce, without parsing a
        // document for it (most summaries are like this).
        return escape_text(&super::entities::decode(html));
    }
    BASE.with(|b| *b.borrow_mut() = base.cloned());
    let cleaned = SANITIZER.with(|s| s.clean(html).to_string());
    BASE.with(|b| *b.borrow_mut() = None);
    cleaned
}

/// Text escaped for HTML as ammonia serialises text nodes.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(html: &str) -> String {
        clean(html, Url::parse("https://site.example/news/").ok().as_ref())
    }

    #[test]
    fn plain_text_takes_the_short_way_to_the_same_result() {
        for text in [
            "AT&T &amp; caf&eacute;&nbsp;x > y",
            "plain",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
        ] {
            let short = clean(text, None);
            let long = SANITIZER.with(|s| s.clean(text).to_string());
            assert_eq!(short, long);
        }
    }

    #[test]
    fn relative_urls_and_rel() {
        assert_eq!(
            c("<a href=\"/a\">x</a><img src=\"i.png\">"),
            "<a href=\"https://site.example/a\" rel=\"noopener noreferrer\">x</a><img src=\"https://site.example/news/i.png\">"
        );
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

    /// True when sanitised output still holds something a browser would run.
    pub(crate) fn is_executable(html: &str) -> bool {
        let lower = html.to_ascii_lowercase();
        let tags = [
            "<script", "<style", "<iframe", "<object", "<embed", "<form", "<svg", "<math", "<meta",
            "<base", "<link",
        ];
        tags.iter().any(|t| lower.contains(t))
            || lower.contains("javascript:")
            || lower.contains("vbscript:")
            || lower.contains("data:")
            || lower.contains("expression(")
            || attribute_names(&lower).any(|a| a.starts_with("on") || a == "style")
    }

    fn attribute_names(html: &str) -> impl Iterator<Item = &str> {
        html.split('<').skip(1).flat_map(|tag| {
            let tag = tag.split('>').next().unwrap_or("");
            tag.split_whitespace()
                .skip(1)
                .map(|a| a.split('=').next().unwrap_or(""))
        })
    }

    proptest::proptest! {
        #[test]
        fn output_never_executable(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<script>", "</script>", "<img src=x onerror=alert(1)>", "javascript:",
                "<a href=\"", "\">", "<svg onload=x>", "<style>", "data:", "&#106;", "<",
                ">", "\"", "'", "=", " ", "x", "<iframe>", "onclick=", "<p>", "</p>",
                "vbscript:", "expression(", "<math>", "<!--", "-->", "&lt;script&gt;",
            ]), 0..24),
            tail in "[ -~]{0,40}",
        ) {
            let input = format!("{}{}", parts.concat(), tail);
            let out = c(&input);
            proptest::prop_assert!(!is_executable_markup(&out), "{:?} became {:?}", input, out);
        }
    }

    /// Executable constructs in markup. Sanitised output escapes every `<` of text, so
    /// each literal `<` opens a real tag; text that merely mentions `javascript:` is not a
    /// URL, so only tags and attributes count.
    fn is_executable_markup(html: &str) -> bool {
        let blocked = [
            "script", "style", "iframe", "object", "embed", "form", "svg", "math", "meta", "base",
            "link",
        ];
        for tag in html.to_ascii_lowercase().split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or("");
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if blocked.contains(&name.as_str()) {
                return true;
            }
            let mut rest = &tag[name.len().min(tag.len())..];
            while let Some(eq) = rest.find("=\"") {
                let attr = rest[..eq].split_whitespace().last().unwrap_or("");
                let value_end = rest[eq + 2..].find('"').map_or(rest.len(), |i| eq + 2 + i);
                let value = &rest[eq + 2..value_end];
                if attr.starts_with("on") || attr == "style" {
                    return true;
                }
                let url_attr = matches!(
                    attr,
                    "href" | "src" | "cite" | "action" | "formaction" | "background" | "poster"
                );
                if url_attr
                    && !(value.starts_with("http://")
                        || value.starts_with("https://")
                        || value.starts_with("mailto:"))
                {
                    return true;
                }
                rest = &rest[(value_end + 1).min(rest.len())..];
            }
        }
        false
    }
}
