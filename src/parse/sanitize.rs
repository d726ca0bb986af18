//! The one HTML sanitiser: a single configured ammonia `Builder` that every summary and
//! content goes through exactly once.
//!
//! ammonia's allowlist keeps formatting tags and drops script, style, iframe, object,
//! embed, form, every event-handler attribute and every `style`; URLs are limited to
//! [`ALLOWED_URL_SCHEMES`] (so no `javascript:`, `vbscript:` or `data:`); relative URLs
//! are rewritten against the entry's base; links get `rel="noopener noreferrer"`.
//!
//! Fragments that provably hold nothing to sanitise (text and a few attribute-less
//! formatting tags, well formed) skip the DOM and are escaped directly, to the same output.

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
    BASE.with(|base| {
        let base = base.borrow();
        let url = base.as_ref()?.join(relative).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| Cow::Owned(url.into()))
    })
}

/// Sanitises an HTML fragment; relative URLs resolve against `base` (and are dropped when
/// there is none).
pub fn clean(html: &str, base: Option<&Url>) -> String {
    let (mut cleaned, consumed) = fast_prefix(html);
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

/// The fast path: fragments that provably hold nothing to sanitise — text, well-formed
/// character references and properly nested, attribute-less [`FAST_PATH_TAGS`] — are
/// written out exactly as ammonia would serialise them, without building a DOM (most
/// summaries are plain text). `None` for anything else, including anything merely unusual:
/// any attribute, any other tag, comments, CDATA, a `<` that does not open one of those
/// tags, references that decode to `<` or `>` or are not terminated the one way browsers
/// all read the same, control characters, unclosed or misnested tags. Those go to ammonia.
///
/// The nesting rules keep to what an HTML parser builds as written (no `<p>` closed
/// implicitly by a list, no list item outside a list, no block inside inline formatting),
/// so the output is the input with references decoded and text re-escaped.
#[cfg(test)]
fn fast_clean(html: &str) -> Option<String> {
    let (out, consumed) = fast_prefix(html);
    (consumed == html.len()).then_some(out)
}

/// The longest start of `html` the fast path takes that ends at the top level (no element
/// open), cleaned, and its length. An HTML parser leaves the top level in the state it
/// started in (no open elements, no active formatting), so the rest parses on its own
/// exactly as it would have after that start.
fn fast_prefix(html: &str) -> (String, usize) {
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut top_level = (0, 0);
    let completed = fast_scan(html, &mut out, &mut top_level).is_some();
    if completed {
        return (out, html.len());
    }
    out.truncate(top_level.0);
    (out, top_level.1)
}

/// Cleans `html` into `out` while the fast path takes it, noting in `top_level` the output
/// and input lengths at each point where no element is open; `None` where it stops.
fn fast_scan(html: &str, out: &mut String, top_level: &mut (usize, usize)) -> Option<()> {
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
                    Decoded::Literal => out.push_str("&amp;"),
                    Decoded::Chars(a, b) => {
                        for c in std::iter::once(a).chain(b) {
                            if matches!(c, '<' | '>') {
                                return None;
                            }
                            let mut buf = [0u8; 4];
                            push_fast_text(out, c.encode_utf8(&mut buf), open.last().copied())?;
                        }
                    }
                }
                rest = &rest[len..];
            }
            Some(_) => {
                let (token, len) = fast_tag(rest)?;
                let parent = open.last().copied();
                match token {
                    FastToken::Start(tag) => {
                        if open.len() >= FAST_PATH_MAX_DEPTH || !tag.may_be_child_of(parent) {
                            return None;
                        }
                        open.push(tag);
                        out.push('<');
                        out.push_str(tag.name());
                        out.push('>');
                    }
                    FastToken::End(tag) => {
                        if parent != Some(tag) {
                            return None;
                        }
                        open.pop();
                        out.push_str("</");
                        out.push_str(tag.name());
                        out.push('>');
                    }
                    FastToken::Br => {
                        if !FastTag::I.may_be_child_of(parent) {
                            return None;
                        }
                        out.push_str("<br>");
                    }
                }
                rest = &rest[len..];
            }
        }
    }
    open.is_empty().then_some(())
}

/// The tags the fast path passes through (see [`FAST_PATH_TAGS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FastTag {
    P,
    Blockquote,
    Ul,
    Ol,
    Li,
    Em,
    Strong,
    B,
    I,
}

impl FastTag {
    const ALL: [FastTag; 9] = [
        FastTag::P,
        FastTag::Blockquote,
        FastTag::Ul,
        FastTag::Ol,
        FastTag::Li,
        FastTag::Em,
        FastTag::Strong,
        FastTag::B,
        FastTag::I,
    ];

    fn name(self) -> &'static str {
        match self {
            FastTag::P => "p",
            FastTag::Blockquote => "blockquote",
            FastTag::Ul => "ul",
            FastTag::Ol => "ol",
            FastTag::Li => "li",
            FastTag::Em => "em",
            FastTag::Strong => "strong",
            FastTag::B => "b",
            FastTag::I => "i",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == name && FAST_PATH_TAGS.contains(&name))
    }

    fn is_inline(self) -> bool {
        matches!(
            self,
            FastTag::Em | FastTag::Strong | FastTag::B | FastTag::I
        )
    }

    /// Where an HTML parser keeps this element as written: a block never inside a
    /// paragraph, a list or inline formatting (it would close or reparent them); a list
    /// item only directly in a list; formatting not directly in a list.
    fn may_be_child_of(self, parent: Option<FastTag>) -> bool {
        let parent_is_flow = matches!(parent, None | Some(FastTag::Blockquote | FastTag::Li));
        match self {
            FastTag::P | FastTag::Blockquote | FastTag::Ul | FastTag::Ol => parent_is_flow,
            FastTag::Li => matches!(parent, Some(FastTag::Ul | FastTag::Ol)),
            _ => parent_is_flow || parent.is_some_and(|p| p == FastTag::P || p.is_inline()),
        }
    }
}

enum FastToken {
    Start(FastTag),
    End(FastTag),
    Br,
}

/// Reads the tag at the start of `s` (which starts with `<`) when it is exactly `<name>`,
/// `</name>` or `<br>`/`<br/>`/`<br />` with a lowercase fast-path name.
fn fast_tag(s: &str) -> Option<(FastToken, usize)> {
    for br in ["<br>", "<br/>", "<br />"] {
        if s.starts_with(br) {
            return Some((FastToken::Br, br.len()));
        }
    }
    let (closing, body) = match s.strip_prefix("</") {
        Some(body) => (true, body),
        None => (false, &s[1..]),
    };
    let name_len = body.bytes().take_while(u8::is_ascii_lowercase).count();
    if body.as_bytes().get(name_len) != Some(&b'>') {
        return None;
    }
    let tag = FastTag::from_name(&body[..name_len])?;
    let len = s.len() - body.len() + name_len + 1;
    Some((
        if closing {
            FastToken::End(tag)
        } else {
            FastToken::Start(tag)
        },
        len,
    ))
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
/// path does not take, or for text directly inside a list.
fn push_fast_text(out: &mut String, text: &str, parent: Option<FastTag>) -> Option<()> {
    let in_list = matches!(parent, Some(FastTag::Ul | FastTag::Ol));
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

    fn c(html: &str) -> String {
        clean(html, Url::parse("https://site.example/news/").ok().as_ref())
    }

    fn ammonia(html: &str) -> String {
        SANITIZER.with(|s| s.clean(html).to_string())
    }

    #[test]
    fn plain_text_takes_the_short_way_to_the_same_result() {
        for text in [
            "AT&T &amp; caf&eacute;&nbsp;x > y",
            "plain",
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
        ] {
            let fast = fast_clean(html).unwrap_or_else(|| panic!("{html:?} missed the fast path"));
            assert_eq!(fast, ammonia(html), "{html:?}");
            assert_eq!(clean(html, None), fast);
        }
    }

    /// Anything with something to sanitise, or that an HTML parser might read differently
    /// from how it is written, goes through ammonia.
    #[test]
    fn adversarial_fragments_skip_the_fast_path() {
        for html in [
            "<p class=\"x\">attribute</p>",
            "<p onclick=alert(1)>x</p>",
            "<b >space</b>",
            "<P>upper</P>",
            "<script>alert(1)</script>",
            "<p><script>alert(1)</script></p>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a>no attributes but not ours</a>",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&#60;script&#62;",
            "&#x3C;script&#x3E;",
            "&LT;b&GT;",
            "&nvlt;",
            "x &lt y",
            "&copy2024 legacy reference without a semicolon",
            "&#60 no semicolon",
            "&#0; &#xD800; &#x110000; &#150;",
            "<p>unclosed",
            "<b><i>misnested</b></i>",
            "<p><ul><li>list closes the paragraph</li></ul></p>",
            "<b><p>block in inline</p></b>",
            "<li>item outside a list</li>",
            "<ul>text in a list<li>x</li></ul>",
            "</p>stray end tag",
            "<!-- comment -->",
            "<![CDATA[<script>alert(1)</script>]]>",
            "<svg><p>x</p></svg>",
            "<math>x</math>",
            "<? pi ?>",
            "a < b",
            "<br>\r\n carriage return",
            "nul \u{0} and \u{1b} escape",
            "<p/>",
            "</br>",
        ] {
            assert_eq!(fast_clean(html), None, "{html:?} took the fast path");
            let out = c(html);
            assert!(!is_executable_markup(&out), "{html:?} became {out:?}");
        }
        let deep = "<b>".repeat(FAST_PATH_MAX_DEPTH + 1) + &"</b>".repeat(FAST_PATH_MAX_DEPTH + 1);
        assert_eq!(fast_clean(&deep), None);
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

    /// Well-formed trees of the fast path's tags (and some it must refuse) around text.
    fn fast_fragment() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy;
        let leaf = proptest::sample::select(vec![
            "x", " ", "&amp;", "&", "&eacute;", "&#233;", "a > b", "\u{a0}", "<br>", "\n", "&T",
            "\"'", "é", "&copy;", "&lt;", "&#x3c;", "\r",
        ])
        .prop_map(str::to_string);
        leaf.prop_recursive(5, 48, 4, |inner| {
            (
                proptest::sample::select(vec![
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
                ]),
                proptest::collection::vec(inner, 0..4),
            )
                .prop_map(|(tag, kids)| format!("<{tag}>{}</{tag}>", kids.concat()))
        })
    }

    proptest::proptest! {
        /// Whatever the fast path takes from a well-formed tree, it writes what ammonia writes.
        #[test]
        fn fast_path_agrees_with_ammonia_on_trees(
            parts in proptest::collection::vec(fast_fragment(), 1..4),
        ) {
            let input = parts.concat();
            if let Some(fast) = fast_clean(&input) {
                proptest::prop_assert_eq!(fast, ammonia(&input), "{:?}", input);
            }
        }

        /// A fragment whose start the fast path takes and whose rest ammonia cleans comes out
        /// as ammonia cleans the whole: the parser is back at the top level where it splits.
        #[test]
        fn split_fragments_agree_with_ammonia(
            start in proptest::collection::vec(fast_fragment(), 0..3),
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<p>", "</p>", "<b>", "</b>", "<i>", "</i>", "<ul>", "<li>", "</li>", "</ul>",
                "<a href=\"/rel\">", "<a href=\"javascript:x\">", "</a>", "<div>", "</div>",
                "<table><tr><td>", "</td>", "<span class=c>", "</span>", "<pre>", "\nx</pre>",
                "<frameset>", "<body onload=x>", "<html lang=x>", "<form>", "<img src=i.png>",
                "<script>", "</script>", "<!--", "-->", "&copy2", "&", "x", " ", "<svg><p>",
                "<math>", "</blockquote>", "<br>", "<select><selectedcontent>",
            ]), 0..12),
            tail in proptest::collection::vec(fast_fragment(), 0..2),
        ) {
            let input = format!("{}{}{}", start.concat(), parts.concat(), tail.concat());
            let base = Url::parse("https://site.example/news/").ok();
            let split = clean(&input, base.as_ref());
            BASE.with(|b| *b.borrow_mut() = base.clone());
            let whole = ammonia(&input);
            BASE.with(|b| *b.borrow_mut() = None);
            proptest::prop_assert_eq!(split, whole, "{:?}", input);
        }

        /// Whatever the fast path takes, it writes exactly what ammonia writes.
        #[test]
        fn fast_path_agrees_with_ammonia(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<p>", "</p>", "<b>", "</b>", "<i>", "</i>", "<em>", "</em>", "<strong>",
                "</strong>", "<ul>", "</ul>", "<ol>", "</ol>", "<li>", "</li>", "<blockquote>",
                "</blockquote>", "<br>", "<br/>", "<br />", "&amp;", "&", "&lt;", "&nbsp;",
                "&eacute;", "&#233;", "&#x41;", "&copy", "&T", "&#", ";", "x", " ", "\n", ">",
                "<", "\"", "'", "\u{a0}", "é", "<a>", "<p class=x>", "<!--", "-->", "<script>",
                "\r", "\t", "&not", "in", "#",
            ]), 0..24),
        ) {
            let input = parts.concat();
            if let Some(fast) = fast_clean(&input) {
                proptest::prop_assert_eq!(fast, ammonia(&input), "{:?}", input);
            }
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
