//! Plain text from HTML and from feed text fields: what titles and the dedup fingerprint
//! are made of.

use super::entities;
use super::policy::FALLBACK_TITLE_WORDS;

/// Elements that end a paragraph: their boundaries become line breaks in the text.
const BLOCKS: &[&str] = &[
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

/// Elements whose content is never text.
const OPAQUE: &[&str] = &["script", "style", "template", "noscript", "head", "title"];

/// The text of an HTML fragment: tags dropped, references decoded, whitespace collapsed
/// within paragraphs, one paragraph per line.
pub fn html_to_text(html: &str) -> String {
    let mut raw = String::with_capacity(html.len());
    let mut rest = html;
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
            // Not a tag: a literal `<` in text.
            raw.push('<');
            push_inline(&mut raw, tag);
            raw.push('>');
            continue;
        }
        if !closing && OPAQUE.contains(&name.as_str()) {
            let end = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = match lower.find(&end) {
                Some(i) => rest[i..].find('>').map_or("", |j| &rest[i + j + 1..]),
                None => "",
            };
            continue;
        }
        if BLOCKS.contains(&name.as_str()) {
            raw.push('\n');
        }
    }
    push_inline(&mut raw, rest);
    paragraphs(&raw)
}

/// Text inside a paragraph: its line breaks are only whitespace.
fn push_inline(raw: &mut String, text: &str) {
    let decoded = entities::decode(text);
    if decoded.contains('\n') {
        raw.push_str(&decoded.replace('\n', " "));
    } else {
        raw.push_str(&decoded);
    }
}

/// Collapses whitespace within lines and drops empty lines.
pub fn paragraphs(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for line in raw.split('\n') {
        let mut first = true;
        for word in line.split_whitespace() {
            if first {
                if !out.is_empty() {
                    out.push('\n');
                }
                first = false;
            } else {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// A one-line plain text: what a title is.
pub fn one_line(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first words of a text, standing in for a missing title.
pub fn first_words(text: &str) -> String {
    let words: Vec<&str> = text
        .split_whitespace()
        .take(FALLBACK_TITLE_WORDS + 1)
        .collect();
    if words.len() > FALLBACK_TITLE_WORDS {
        format!("{}…", words[..FALLBACK_TITLE_WORDS].join(" "))
    } else {
        words.join(" ")
    }
}

/// Repairs UTF-8 that was decoded as Windows-1252/Latin-1 somewhere upstream
/// (`FÃ¶rderprogramme` → `Förderprogramme`); anything else is returned unchanged.
pub fn fix_mojibake(s: &str) -> Option<String> {
    // Double-encoded UTF-8 of Latin text shows a lead byte read as `Ã`..`ô` (C3 82..C3 B4)
    // followed by a continuation byte read as Latin-1/Windows-1252: U+0080..U+00BF (C2 xx)
    // or one of Windows-1252's specials (E2/C5/C6/CB xx). A bytewise test before the real one.
    let suspicious = s.as_bytes().windows(3).any(|w| {
        w[0] == 0xC3
            && (0x82..=0xB4).contains(&w[1])
            && matches!(w[2], 0xC2 | 0xE2 | 0xC5 | 0xC6 | 0xCB)
    });
    if !suspicious {
        return None;
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(s);
    if unmappable {
        return None;
    }
    let fixed = String::from_utf8(bytes.into_owned()).ok()?;
    (fixed != s).then_some(fixed)
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

    #[test]
    fn mojibake_is_repaired() {
        assert_eq!(
            fix_mojibake("FÃ¶rderprogramme").as_deref(),
            Some("Förderprogramme")
        );
        assert_eq!(
            fix_mojibake("ActualitÃ©s â€” Le Monde").as_deref(),
            Some("Actualités — Le Monde")
        );
        assert_eq!(fix_mojibake("Förderprogramme"), None);
        assert_eq!(fix_mojibake("Ã la carte"), None);
    }
}
