//! The one HTML safety policy: a single configured ammonia `Builder` that the parse stage
//! (feed summaries and content, article pages) and the serve stage (defence in depth on the
//! way out) both clean with.
//!
//! ammonia's allowlist keeps formatting tags and drops script, style, iframe, object,
//! embed, form, every event-handler attribute and every `style`; URLs are limited to
//! [`ALLOWED_URL_SCHEMES`] (so no `javascript:`, `vbscript:` or `data:`); relative URLs are
//! resolved against the base the caller gives (the entry, the page, the copy) and kept only
//! when that makes them http(s), dropped when there is no base; links get [`LINK_REL`];
//! comments go.
//!
//! A fast path writes the fragments that are safe by construction without building a DOM:
//! text without `&` or `<` and the attribute-free, properly nested inline tags of
//! [`FAST_PATH_INLINE`] the policy allows. Its contract is *safe and text-equivalent* to
//! ammonia's output (the same text, by the one HTML → text); anything else, however
//! harmless, goes to ammonia.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use url::Url;

use super::policy::{ALLOWED_URL_SCHEMES, FAST_PATH_INLINE, FAST_PATH_MAX_DEPTH, LINK_REL};

thread_local! {
    /// The base that relative URLs in the fragment being cleaned resolve against.
    static BASE: RefCell<Option<Url>> = const { RefCell::new(None) };
    /// The configured sanitiser (ammonia's `Builder` is not `Sync`; one per thread).
    static SANITIZER: Builder<'static> = policy();
}

/// The policy: the one place the sanitiser is configured.
fn policy() -> Builder<'static> {
    let mut builder = Builder::default();
    builder
        .url_schemes(ALLOWED_URL_SCHEMES.iter().copied().collect::<HashSet<_>>())
        .url_relative(UrlRelative::Custom(Box::new(resolve_relative)))
        .link_rel(Some(LINK_REL))
        .strip_comments(true);
    builder
}

fn resolve_relative(relative: &str) -> Option<Cow<'_, str>> {
    BASE.with(|base| {
        let url = base.borrow().as_ref()?.join(relative).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| Cow::Owned(url.into()))
    })
}

/// Sanitises an HTML fragment; relative URLs resolve against `base` (and are dropped when
/// there is none).
pub fn clean(html: &str, base: Option<&Url>) -> String {
    if let Some(cleaned) = fast_clean(html) {
        return cleaned;
    }
    BASE.with(|b| *b.borrow_mut() = base.cloned());
    let document = SANITIZER.with(|s| s.clean(html));
    BASE.with(|b| *b.borrow_mut() = None);
    // Serialised straight into one buffer (`to_string` goes through a second one).
    let mut out = Vec::with_capacity(html.len() + html.len() / 8);
    if document.write_to(&mut out).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The inline tags the fast path writes: [`FAST_PATH_INLINE`] as far as the policy allows
/// them, read from the configured `Builder` so the fast path cannot allow more than it.
static FAST_INLINE: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let allowed = policy().clone_tags();
    FAST_PATH_INLINE
        .iter()
        .copied()
        .filter(|t| allowed.contains(t))
        .collect()
});

/// Whether the policy keeps `<br>`, which the fast path then writes.
static FAST_BR: LazyLock<bool> = LazyLock::new(|| policy().clone_tags().contains("br"));

/// The fast path: `html` cleaned without a DOM when it is safe by construction — text
/// without `&` or `<` (no reference to read, nothing that opens markup) and no control
/// characters, and the tags of [`FAST_INLINE`] written exactly `<b>`/`</b>`, properly
/// nested and closed, plus `<br>` (`<br/>`, `<br />`). Nothing in it can carry a URL, an
/// event handler or a style, and an HTML parser builds such a fragment as written, so it
/// is written out as written with its text escaped. `None` for anything else.
fn fast_clean(html: &str) -> Option<String> {
    if memchr::memchr(b'&', html.as_bytes()).is_some() {
        return None;
    }
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    let mut open: Vec<&str> = Vec::new();
    let mut rest = html;
    loop {
        let lt = memchr::memchr(b'<', rest.as_bytes()).unwrap_or(rest.len());
        push_fast_text(&mut out, &rest[..lt])?;
        rest = &rest[lt..];
        if rest.is_empty() {
            break;
        }
        let gt = memchr::memchr(b'>', rest.as_bytes())?;
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            if open.pop() != Some(name) {
                return None;
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        } else if matches!(tag, "br" | "br/" | "br /") && *FAST_BR {
            out.push_str("<br>");
        } else if FAST_INLINE.contains(tag) && open.len() < FAST_PATH_MAX_DEPTH {
            open.push(tag);
            out.push('<');
            out.push_str(tag);
            out.push('>');
        } else {
            return None;
        }
    }
    open.is_empty().then_some(out)
}

/// Appends text escaped as ammonia serialises text nodes; `None` for a control character
/// or a noncharacter (an HTML parser replaces or drops some of them: left to ammonia).
fn push_fast_text(out: &mut String, text: &str) -> Option<()> {
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while let Some(&b) = bytes.get(i) {
        let (len, escaped) = match b {
            b'>' => (1, "&gt;"),
            b'\t' | b'\n' | b' '..=b'~' => {
                i += 1;
                continue;
            }
            0x80.. => match text[i..].chars().next()? {
                '\u{A0}' => (2, "&nbsp;"),
                c if c > '\u{A0}' && !is_noncharacter(c) => {
                    i += c.len_utf8();
                    continue;
                }
                _ => return None,
            },
            _ => return None,
        };
        out.push_str(&text[start..i]);
        out.push_str(escaped);
        i += len;
        start = i;
    }
    out.push_str(&text[start..]);
    Some(())
}

/// Unicode's noncharacters: U+FDD0..U+FDEF and the last two code points of every plane.
fn is_noncharacter(c: char) -> bool {
    matches!(c, '\u{FDD0}'..='\u{FDEF}') || (c as u32) & 0xFFFE == 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::super::text::html_to_text;
    use super::*;

    fn site() -> Option<Url> {
        Url::parse("https://site.example/news/").ok()
    }

    fn c(html: &str) -> String {
        clean(html, site().as_ref())
    }

    /// ammonia alone, resolving against `base`.
    fn ammonia_with(html: &str, base: Option<&Url>) -> String {
        BASE.with(|b| *b.borrow_mut() = base.cloned());
        let out = SANITIZER.with(|s| s.clean(html).to_string());
        BASE.with(|b| *b.borrow_mut() = None);
        out
    }

    /// The fast path's contract on `html`: when it takes it, the output is safe and has
    /// ammonia's text.
    fn fast_path_keeps_its_contract(
        html: &str,
    ) -> Result<bool, proptest::test_runner::TestCaseError> {
        let Some(fast) = fast_clean(html) else {
            return Ok(false);
        };
        proptest::prop_assert!(!is_executable_markup(&fast), "{:?} became {:?}", html, fast);
        proptest::prop_assert_eq!(
            html_to_text(&fast),
            html_to_text(&ammonia_with(html, site().as_ref())),
            "{:?} became {:?}",
            html,
            fast
        );
        Ok(true)
    }

    #[test]
    fn plain_text_and_bare_inline_tags_take_the_short_way_to_ammonias_text() {
        for html in [
            "plain",
            "x > y, \"quoted\" 'single' caf\u{e9}\u{a0}\u{1F600}",
            "One <b>two</b> <i>three <em>four</em></i><br>five<br/>six<br />",
            "<strong><em>x</em></strong><b><b><b><b>deep</b></b></b></b>",
            "<code>a > b</code> <sub>1</sub><sup>2</sup> <span>s</span>",
            "line\nbreaks\tand tabs",
            "",
        ] {
            assert!(
                fast_path_keeps_its_contract(html).is_ok_and(|taken| taken),
                "{html:?}"
            );
        }
    }

    /// Anything with something to sanitise, or that an HTML parser might build differently
    /// from how it is written, goes through ammonia.
    #[test]
    fn everything_else_goes_to_ammonia() {
        for html in [
            "AT&amp;T",
            "a < b",
            "<p>paragraph</p>",
            "<b class=\"x\">attribute</b>",
            "<a href=\"https://e.example/\">link</a>",
            "<B>upper</B>",
            "<b>unclosed",
            "<b><i>misnested</b></i>",
            "</b>stray",
            "<b >spaced</b>",
            "<br></br>",
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<!-- comment -->",
            "<nobr>n</nobr>",
            "carriage\r\nreturn",
            "nul \u{0} and \u{1b} escape and \u{85}",
            "nonchar \u{FFFE}",
        ] {
            assert_eq!(fast_clean(html), None, "{html:?} took the fast path");
            let out = c(html);
            assert!(!is_executable_markup(&out), "{html:?} became {out:?}");
        }
        let deep = "<b>".repeat(FAST_PATH_MAX_DEPTH + 1) + &"</b>".repeat(FAST_PATH_MAX_DEPTH + 1);
        assert_eq!(fast_clean(&deep), None);
    }

    #[test]
    fn relative_urls_resolve_against_the_base_and_links_get_rel() {
        assert_eq!(
            c("<a href=\"/a\">x</a><img src=\"i.png\">"),
            "<a href=\"https://site.example/a\" rel=\"noopener noreferrer\">x</a><img src=\"https://site.example/news/i.png\">"
        );
        assert_eq!(
            clean(
                "<a href=\"/a\">x</a> <a href=\"mailto:a@b.example\">m</a>",
                None
            ),
            "<a rel=\"noopener noreferrer\">x</a> <a href=\"mailto:a@b.example\" rel=\"noopener noreferrer\">m</a>"
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
            "<b><script>alert(1)</script></b>",
            "<b onclick=alert(1)>x</b><i style=\"color:red\">y</i>",
        ];
        for v in vectors {
            let out = c(v);
            assert!(!is_executable(&out), "{v:?} became {out:?}");
            assert!(
                !crate::executable_oracle::is_executable(&out),
                "{v:?} became {out:?}"
            );
        }
    }

    /// True when sanitised output still holds something a browser would run, or even
    /// mentions it (stricter than [`is_executable_markup`]: text counts too).
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

    /// Properly nested bare inline tags around text the fast path takes.
    fn inline_tree() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        let leaf = proptest::sample::select(vec![
            "x",
            " ",
            "word",
            "a > b",
            "\u{a0}",
            "é",
            "\n",
            "\t",
            "\"'",
            "<br>",
            "<br/>",
            "<br />",
            "\u{1F600}",
            "javascript:alert(1)",
            "=",
            "/",
        ])
        .prop_map(str::to_string);
        leaf.prop_recursive(4, 32, 4, |inner| {
            (
                proptest::sample::select(FAST_PATH_INLINE.to_vec()),
                proptest::collection::vec(inner, 0..4),
            )
                .prop_map(|(tag, kids)| format!("<{tag}>{}</{tag}>", kids.concat()))
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
                "<b>", "</b>", "<i>", "</i>", "<br>",
            ]), 0..24),
            tail in "[ -~]{0,40}",
        ) {
            let input = format!("{}{}", parts.concat(), tail);
            let out = c(&input);
            proptest::prop_assert!(!is_executable_markup(&out), "{:?} became {:?}", input, out);
            fast_path_keeps_its_contract(&input)?;
        }

        /// Bare, properly nested inline tags take the fast path, which keeps its contract.
        #[test]
        fn bare_inline_trees_take_the_fast_path(parts in proptest::collection::vec(inline_tree(), 1..4)) {
            let input = parts.concat();
            proptest::prop_assert!(fast_path_keeps_its_contract(&input)?, "{:?} missed the fast path", input);
        }

        /// Trees with something the fast path must refuse here and there: whatever it takes
        /// it keeps its contract, and whatever it refuses ammonia cleans.
        #[test]
        fn near_misses_keep_the_contract(
            trees in proptest::collection::vec(inline_tree(), 0..3),
            junk in proptest::collection::vec(proptest::sample::select(vec![
                "<B>", "</I>", "<b class=x>", "<b >", "</b >", "&amp;", "&", "<", "<p>", "</p>",
                "<a href=\"/x\">", "</a>", "<br></br>", "</br>", "\r", "\u{0}", "\u{85}",
                "<script>", "<!-- c -->", "<nobr>", "<b>", "</b>", "<i>", "</i>", "<span>",
                "</span>", "<>", "</>", "<b/>", "<em>x", "x</em>",
            ]), 0..4),
            at in proptest::collection::vec(0usize..64, 0..4),
        ) {
            let mut input = trees.concat();
            for (piece, at) in junk.iter().zip(at) {
                let mut i = at.min(input.len());
                while !input.is_char_boundary(i) {
                    i -= 1;
                }
                input.insert_str(i, piece);
            }
            fast_path_keeps_its_contract(&input)?;
            let out = c(&input);
            proptest::prop_assert!(!is_executable_markup(&out), "{:?} became {:?}", input, out);
        }
    }
}
