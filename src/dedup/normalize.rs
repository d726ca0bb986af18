//! Text normalisation: plain lines out of whatever the parse stage handed over, Unicode
//! compatibility folding (NFKC), case folding, quote and dash folding, quoted-speech
//! removal and tokenisation (words, or single characters for scripts without spaces).

use unicode_normalization::UnicodeNormalization;

/// Splits a text into trimmed, non-empty lines. Markup (the thin parse hands over HTML)
/// is reduced to text first: block tags become line breaks, other tags vanish, the common
/// entities are decoded.
pub fn plain_lines(text: &str) -> Vec<String> {
    let owned;
    let text = if text.contains('<') && text.contains('>') {
        owned = strip_markup(text);
        owned.as_str()
    } else {
        text
    };
    text.lines()
        .map(|l| {
            let l = l.trim();
            if l.contains("  ") || l.contains(['\t', '\u{a0}']) {
                l.split_whitespace().collect::<Vec<_>>().join(" ")
            } else {
                l.to_string()
            }
        })
        .filter(|l| !l.is_empty())
        .collect()
}

fn strip_markup(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .to_ascii_lowercase();
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if matches!(
            name.as_str(),
            "p" | "br"
                | "div"
                | "li"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "blockquote"
                | "figcaption"
                | "figure"
                | "tr"
                | "ul"
                | "ol"
                | "section"
                | "article"
        ) {
            out.push('\n');
        } else {
            out.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(&decode_entities(rest));
    out
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                "lsquo" => Some('\u{2018}'),
                "rsquo" => Some('\u{2019}'),
                "ldquo" => Some('\u{201C}'),
                "rdquo" => Some('\u{201D}'),
                "ndash" => Some('\u{2013}'),
                "mdash" => Some('\u{2014}'),
                "hellip" => Some('\u{2026}'),
                "laquo" => Some('\u{00AB}'),
                "raquo" => Some('\u{00BB}'),
                _ if name.starts_with("#x") || name.starts_with("#X") => {
                    u32::from_str_radix(&name[2..], 16)
                        .ok()
                        .and_then(char::from_u32)
                }
                _ if name.starts_with('#') => name[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// NFKC (skipped for ASCII, where it is the identity), lower case, and one spelling of
/// each quote and dash: the form every comparison is made in.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if s.is_ascii() {
        out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
        return out;
    }
    for c in s.nfkc() {
        match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => {
                out.push('\'')
            }
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}'
            | '\u{2033}' | '\u{300C}' | '\u{300D}' | '\u{300E}' | '\u{300F}' => out.push('"'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            '\u{00A0}' | '\u{2009}' | '\u{202F}' => out.push(' '),
            c if c.is_uppercase() => out.extend(c.to_lowercase()),
            c => out.push(c),
        }
    }
    out
}

/// A folded line with quoted speech cut out: independent reports quote the same
/// statements, so quotes are no evidence of copying. A quote left open runs to the end of
/// the line (a description cut inside a quote).
pub fn strip_quotes(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len());
    let mut inside = false;
    for c in folded.chars() {
        if c == '"' {
            inside = !inside;
            out.push(' ');
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// Whether a character belongs to a script written without spaces between words, which
/// is tokenised one character at a time.
pub fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0E7F      // Thai
        | 0x0E80..=0x0EFF    // Lao
        | 0x1000..=0x109F    // Myanmar
        | 0x1780..=0x17FF    // Khmer
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified
        | 0xF900..=0xFAFF    // CJK compatibility
        | 0x20000..=0x2FFFF) // CJK extensions B..
}

/// Appends the tokens of a folded text to `out`: runs of letters and digits (a `.` or `,`
/// between digits stays inside the number; anything else, an apostrophe too, splits), and
/// each character of an unspaced script on its own. Returns how many of the tokens were
/// unspaced-script characters.
pub fn tokenize<'a>(folded: &'a str, out: &mut Vec<&'a str>) -> usize {
    let bytes = folded.as_bytes();
    let mut unspaced = 0;
    let mut start: Option<usize> = None;
    let mut iter = folded.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_unspaced_script(c) {
            if let Some(s) = start.take() {
                out.push(&folded[s..i]);
            }
            out.push(&folded[i..i + c.len_utf8()]);
            unspaced += 1;
        } else if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if (c == '.' || c == ',')
            && start.is_some()
            && i > 0
            && bytes[i - 1].is_ascii_digit()
            && iter.peek().is_some_and(|(_, n)| n.is_ascii_digit())
        {
            // inside a number: keep going
        } else if let Some(s) = start.take() {
            out.push(&folded[s..i]);
        }
    }
    if let Some(s) = start {
        out.push(&folded[s..]);
    }
    unspaced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_lines_and_entities_decode() {
        let lines =
            plain_lines("<p>One &amp; two</p><p>Three&nbsp;<b>four</b> &#8220;x&#x201D;</p>");
        assert_eq!(lines, vec!["One & two", "Three four \u{201C}x\u{201D}"]);
    }

    #[test]
    fn folding_unifies_quotes_dashes_case_and_compatibility_forms() {
        assert_eq!(
            fold("\u{201C}Ｈｉ\u{201D} \u{2014} It\u{2019}s"),
            "\"hi\" - it's"
        );
        assert_eq!(fold("ABC"), "abc");
    }

    #[test]
    fn quotes_are_removed_and_an_open_quote_runs_to_the_end() {
        assert_eq!(
            strip_quotes("he said \"no way\" today")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["he", "said", "today"]
        );
        assert_eq!(
            strip_quotes("a \"b c")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["a"]
        );
    }

    #[test]
    fn tokens_keep_numbers_and_split_unspaced_scripts() {
        let mut t = Vec::new();
        let n = tokenize("rates rose 2.75% to 1,200 in 東京都 it's", &mut t);
        assert_eq!(
            t,
            [
                "rates", "rose", "2.75", "to", "1,200", "in", "東", "京", "都", "it", "s"
            ]
        );
        assert_eq!(n, 3);
    }
}
