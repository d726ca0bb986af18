//! The one HTML → text: what titles, the dedup text, an article page's text and the
//! river page's excerpts are made of. Tags dropped, references decoded, the content of
//! script-like elements skipped, whitespace folded within paragraphs and one paragraph per
//! line: the block elements of [`BLOCK_ELEMENTS`] end paragraphs.
//!
//! A scanner rather than an HTML parser: it reads sanitised HTML and feed titles, never
//! decides what is safe (that is `sanitize`'s), and a literal `<` that opens no tag stays
//! text.

use super::entities;
use super::policy::{BLOCK_ELEMENTS, OPAQUE_ELEMENTS};

/// The text of an HTML fragment: tags dropped, references decoded, whitespace collapsed
/// within paragraphs, one paragraph per line.
pub fn html_to_text(html: &str) -> String {
    let mut text = TextBuilder::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
        text.push_inline(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(body) = rest.strip_prefix("<!--") {
            rest = memchr::memmem::find(body.as_bytes(), b"-->").map_or("", |i| &body[i + 3..]);
            continue;
        }
        let Some(gt) = memchr::memchr(b'>', rest.as_bytes()) else {
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let unslashed = tag.trim_start_matches('/');
        let name = &unslashed[..unslashed
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .count()];
        if name.is_empty() && !closing && !tag.starts_with('!') {
            // Not a tag: a literal `<` in text.
            text.push_inline("<");
            text.push_inline(tag);
            text.push_inline(">");
            continue;
        }
        if !closing && OPAQUE_ELEMENTS.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            rest = match find_end_tag(rest, name) {
                Some(i) => {
                    memchr::memchr(b'>', &rest.as_bytes()[i..]).map_or("", |j| &rest[i + j + 1..])
                }
                None => "",
            };
            continue;
        }
        if BLOCK_ELEMENTS.iter().any(|b| b.eq_ignore_ascii_case(name)) {
            text.end_paragraph();
        }
    }
    text.push_inline(rest);
    text.out
}

/// Where `</name` (any case) first occurs in `s`.
fn find_end_tag(s: &str, name: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    memchr::memchr_iter(b'<', bytes).find(|&i| {
        let after = &bytes[i + 1..];
        after.first() == Some(&b'/')
            && after.len() > name.len()
            && after[1..=name.len()].eq_ignore_ascii_case(name.as_bytes())
    })
}

/// The length of the character at byte `i` of `s` and whether it is whitespace
/// (`char::is_whitespace`), bytewise for ASCII and for the lead bytes no space starts with.
fn char_at(s: &str, i: usize) -> (usize, bool) {
    let b = s.as_bytes()[i];
    match b {
        0x00..=0x7F => (1, matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')),
        // Every non-ASCII space starts with one of these (U+0085, U+00A0, U+1680,
        // U+2000..U+205F, U+3000).
        0xC2 | 0xE1 | 0xE2 | 0xE3 => {
            let c = s[i..].chars().next().unwrap_or(' ');
            (c.len_utf8(), c.is_whitespace())
        }
        0x80..=0xDF => (2, false),
        0xE0..=0xEF => (3, false),
        _ => (4, false),
    }
}

/// Plain text built paragraph by paragraph: words within a paragraph joined by one space,
/// paragraphs by one line break, empty ones dropped.
struct TextBuilder {
    out: String,
    line_has_words: bool,
    space_pending: bool,
    break_pending: bool,
}

impl TextBuilder {
    fn with_capacity(capacity: usize) -> Self {
        TextBuilder {
            out: String::with_capacity(capacity),
            line_has_words: false,
            space_pending: false,
            break_pending: false,
        }
    }

    /// Text inside a paragraph, references decoded: its line breaks are only whitespace.
    fn push_inline(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let decoded = entities::decode(text);
        let text: &str = &decoded;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let (len, space) = char_at(text, i);
            i += len;
            if space {
                if self.line_has_words {
                    self.space_pending = true;
                }
                continue;
            }
            let start = i - len;
            // The rest of the word, its printable ASCII bytes at once.
            while i < bytes.len() {
                if (b'!'..=b'~').contains(&bytes[i]) {
                    i += 1;
                    continue;
                }
                let (len, space) = char_at(text, i);
                if space {
                    break;
                }
                i += len;
            }
            self.push_word(&text[start..i]);
        }
    }

    fn push_word(&mut self, word: &str) {
        if self.break_pending {
            self.out.push('\n');
        } else if self.space_pending {
            self.out.push(' ');
        }
        self.break_pending = false;
        self.space_pending = false;
        self.line_has_words = true;
        self.out.push_str(word);
    }

    fn end_paragraph(&mut self) {
        if self.line_has_words {
            self.break_pending = true;
        }
        self.line_has_words = false;
        self.space_pending = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_become_lines() {
        assert_eq!(
            html_to_text(
                "<p>One  <b>two</b>\n three</p><p>Four&nbsp;&amp; five<br>six</p><script>x()</script>"
            ),
            "One two three\nFour & five\nsix"
        );
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
    }

    /// The first, simpler implementation: `html_to_text` must give exactly its output.
    fn reference_html_to_text(html: &str) -> String {
        let mut raw = String::new();
        let mut rest = html;
        let push_inline = |raw: &mut String, text: &str| {
            raw.push_str(&entities::decode(text).replace('\n', " "));
        };
        while let Some(lt) = rest.find('<') {
            push_inline(&mut raw, &rest[..lt]);
            rest = &rest[lt..];
            if let Some(body) = rest.strip_prefix("<!--") {
                rest = body.find("-->").map_or("", |i| &body[i + 3..]);
                continue;
            }
            let Some(gt) = rest.find('>') else {
                rest = "";
                break;
            };
            let tag = &rest[1..gt];
            rest = &rest[gt + 1..];
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if name.is_empty() && !closing && !tag.starts_with('!') {
                raw.push('<');
                push_inline(&mut raw, tag);
                raw.push('>');
                continue;
            }
            if !closing && OPAQUE_ELEMENTS.contains(&name.as_str()) {
                let end = format!("</{name}");
                let lower = rest.to_ascii_lowercase();
                rest = match lower.find(&end) {
                    Some(i) => rest[i..].find('>').map_or("", |j| &rest[i + j + 1..]),
                    None => "",
                };
                continue;
            }
            if BLOCK_ELEMENTS.contains(&name.as_str()) {
                raw.push('\n');
            }
        }
        push_inline(&mut raw, rest);
        let lines: Vec<String> = raw
            .split('\n')
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect();
        lines.join("\n")
    }

    proptest::proptest! {
        #[test]
        fn html_to_text_matches_the_reference(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<p>", "</p>", "<P >", "<br/>", "<b>", "</B>", "<script>", "</SCRIPT>", "</scriptx>",
                "<style>", "<!--", "-->", "<!doctype x>", "<", ">", "</", "&amp;", "&nbsp;", "&#10;",
                "&lt;p&gt;", "&", " ", "\n", "\t", "\u{a0}", "x", "word", "é", "<li>", "</div>",
                "<figcaption>", "<title>", "< 3", "<![CDATA[", "]]>",
            ]), 0..30),
        ) {
            let html = parts.concat();
            proptest::prop_assert_eq!(html_to_text(&html), reference_html_to_text(&html), "{:?}", html);
        }
    }

    #[test]
    fn char_at_agrees_with_char_is_whitespace() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let s = format!("{c}x");
            assert_eq!(char_at(&s, 0), (c.len_utf8(), c.is_whitespace()), "{c:?}");
        }
    }
}
