//! Text normalisation: Unicode compatibility folding (NFKC), case folding, quote and dash
//! folding, quoted-speech removal and tokenisation (words, or single characters for
//! scripts without spaces). The stage reads `Article.text`, plain text the parse stage
//! made, line by line (`markup::whitespace::for_each_line`): it never reads markup.

use unicode_normalization::{IsNormalized, UnicodeNormalization};

/// NFKC (skipped for ASCII, where it is the identity), lower case, and one spelling of
/// each quote and dash: the form every comparison is made in.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// [`fold`] into `out` (cleared first), so a caller folding line after line reuses one
/// buffer.
pub fn fold_into(s: &str, out: &mut String) {
    out.clear();
    fold_append(s, out);
}

/// [`fold`] appended to `out`. Returns whether `s` is all ASCII (its folded form is then
/// too, and as long).
///
/// Only the non-ASCII stretches go through NFKC. That gives the same result as normalising
/// the whole line: every ASCII character is a *stable* code point (combining class 0,
/// NFKC_QC=Yes, never the second half of a composition), so normalisation never reaches
/// across one (UAX #15, "Stable Code Points") and each stretch between them normalises on
/// its own. A stretch starts at the ASCII character before it, which a combining mark may
/// attach to ("e" + U+0301 is "é").
pub fn fold_append(s: &str, out: &mut String) -> bool {
    if s.is_ascii() {
        let from = out.len();
        out.push_str(s);
        out[from..].make_ascii_lowercase();
        return true;
    }
    let bytes = s.as_bytes();
    let mut done = 0; // bytes of `s` folded into `out`
    while let Some(first) = bytes[done..].iter().position(|b| !b.is_ascii()) {
        let first = done + first;
        // The stretch: the ASCII character before the first non-ASCII one (when there is
        // one), up to the next ASCII character.
        let start = if first > done { first - 1 } else { first };
        let end = bytes[first..]
            .iter()
            .position(u8::is_ascii)
            .map_or(bytes.len(), |e| first + e);
        push_ascii_lower(&s[done..start], out);
        let stretch = &s[start..end];
        if unicode_normalization::is_nfkc_quick(stretch.chars()) == IsNormalized::Yes {
            stretch.chars().for_each(|c| fold_char(c, out));
        } else {
            stretch.nfkc().for_each(|c| fold_char(c, out));
        }
        done = end;
    }
    push_ascii_lower(&s[done..], out);
    false
}

/// The ASCII stretches of a line that is not all ASCII: lower case, and '`' is a quote
/// there as [`fold_char`] says (an all-ASCII line keeps it: the fast path predates that).
fn push_ascii_lower(ascii: &str, out: &mut String) {
    let from = out.len();
    out.push_str(ascii);
    out[from..].make_ascii_lowercase();
    if ascii.contains('`') {
        let mapped = out[from..].replace('`', "'");
        out.truncate(from);
        out.push_str(&mapped);
    }
}

fn fold_char(c: char, out: &mut String) {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' => {
            out.push('\'')
        }
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{00AB}' | '\u{00BB}'
        | '\u{2033}' | '\u{300C}' | '\u{300D}' | '\u{300E}' | '\u{300F}' => out.push('"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
        '\u{00A0}' | '\u{2009}' | '\u{202F}' => out.push(' '),
        c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
        c if c.is_uppercase() => out.extend(c.to_lowercase()),
        c => out.push(c),
    }
}

/// A folded line with quoted speech cut out: independent reports quote the same
/// statements, so quotes are no evidence of copying. A quote left open runs to the end of
/// the line (a description cut inside a quote).
pub fn strip_quotes(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len());
    strip_quotes_into(folded, &mut out);
    out
}

/// [`strip_quotes`] into `out` (cleared first).
pub fn strip_quotes_into(folded: &str, out: &mut String) {
    out.clear();
    let mut inside = false;
    // '"' is ASCII, so the pieces between quotes are whole UTF-8 sequences.
    for (i, piece) in folded.split('"').enumerate() {
        if i > 0 {
            inside = !inside;
            out.push(' ');
        }
        if !inside {
            out.push_str(piece);
        }
    }
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
    let mut unspaced = 0;
    for_each_token(folded, |t, u| {
        out.push(t);
        unspaced += usize::from(u);
    });
    unspaced
}

/// `u8::is_ascii_alphanumeric` as a table: one load per byte in the tokeniser's inner loop.
static ASCII_ALPHANUMERIC: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

/// The tokens of [`tokenize`], each passed to `each` with whether it is an
/// unspaced-script character, without collecting them. An all-ASCII text (most lines of
/// most news) is classified 64 bytes at a time ([`for_each_ascii_token`]); otherwise ASCII
/// is classified byte by byte and only a non-ASCII character is decoded.
pub fn for_each_token<'a>(folded: &'a str, mut each: impl FnMut(&'a str, bool)) {
    if folded.is_ascii() {
        for_each_ascii_token(folded, |t| each(t, false));
        return;
    }
    let bytes = folded.as_bytes();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            if b.is_ascii_alphanumeric() {
                start.get_or_insert(i);
                // The rest of an ASCII run at once: most of a text is such runs.
                i += 1;
                while i < bytes.len() && ASCII_ALPHANUMERIC[usize::from(bytes[i])] {
                    i += 1;
                }
                continue;
            } else if (b == b'.' || b == b',')
                && start.is_some()
                && i > 0
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                // inside a number: keep going
            } else if let Some(s) = start.take() {
                each(&folded[s..i], false);
            }
            i += 1;
            continue;
        }
        let Some(c) = folded[i..].chars().next() else {
            break;
        };
        let len = c.len_utf8();
        if is_unspaced_script(c) {
            if let Some(s) = start.take() {
                each(&folded[s..i], false);
            }
            each(&folded[i..i + len], true);
        } else if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            each(&folded[s..i], false);
        }
        i += len;
    }
    if let Some(s) = start {
        each(&folded[s..], false);
    }
}

/// Bytes of an ASCII text classified at once by [`ascii_classes`]: a token boundary costs a
/// few bit operations rather than a mispredicted branch per byte.
const BLOCK: usize = 64;

/// For up to 64 bytes of ASCII (padded with spaces): one bit per byte (bit `i` for byte
/// `i`) saying whether it is a letter or digit, a digit, and a '.' or ','.
fn ascii_classes(bytes: &[u8]) -> (u64, u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte that is at least `c`: exact for bytes below 0x80 (the sum
    // stays below 0x100, so nothing carries into the next byte).
    let at_least = |x: u64, c: u64| x.wrapping_add(ONES * (0x80 - c)) & HIGH;
    // The high bits of the eight bytes gathered into the low eight bits: byte i's bit,
    // shifted to bit 8i, times 2^(7(8-i)) lands on bit 56 + i; every other product lands
    // on a bit of its own below 56 (no carries) or beyond 63.
    let gather = |m: u64| (m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let mut padded = [b' '; BLOCK];
    padded[..bytes.len()].copy_from_slice(bytes);
    let (mut alnum, mut digit, mut point) = (0u64, 0u64, 0u64);
    for (k, chunk) in padded.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let digits = at_least(x, 0x30) & !at_least(x, 0x3a);
        // Upper case folded onto lower case: only A-Z and a-z land in a-z.
        let lower = x | (ONES * 0x20);
        let letters = at_least(lower, 0x61) & !at_least(lower, 0x7b);
        // '.' (0x2e) and ',' (0x2c), and nothing else, become 0x2e.
        let p = x | (ONES * 0x02);
        let points = at_least(p, 0x2e) & !at_least(p, 0x2f);
        alnum |= gather(digits | letters) << (8 * k);
        digit |= gather(digits) << (8 * k);
        point |= gather(points) << (8 * k);
    }
    (alnum, digit, point)
}

/// [`for_each_token`] of an all-ASCII text: the same tokens (runs of letters and digits,
/// a '.' or ',' between two digits kept inside), found from bit masks of 64 bytes.
fn for_each_ascii_token<'a>(text: &'a str, mut each: impl FnMut(&'a str)) {
    let bytes = text.as_bytes();
    let block = |at: usize| ascii_classes(&bytes[at..bytes.len().min(at + BLOCK)]);
    let mut current = block(0);
    // Of the byte before the block: whether it is a digit, whether it is in a token.
    let (mut digit_before, mut word_before) = (0u64, 0u64);
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let next = if at + BLOCK < bytes.len() {
            block(at + BLOCK)
        } else {
            (0, 0, 0)
        };
        let (alnum, digit, point) = current;
        let digit_left = digit << 1 | digit_before;
        let digit_right = digit >> 1 | (next.1 & 1) << 63;
        let word = alnum | (point & digit_left & digit_right);
        let word_left = word << 1 | word_before;
        // Bit i: a token starts at byte i; a token ended at byte i - 1.
        let mut starts = word & !word_left;
        let mut ends = !word & word_left;
        while starts | ends != 0 {
            let s = if starts == 0 {
                64
            } else {
                starts.trailing_zeros()
            };
            let e = if ends == 0 { 64 } else { ends.trailing_zeros() };
            if e < s {
                each(&text[start..at + e as usize]);
                ends &= ends - 1;
            } else {
                start = at + s as usize;
                starts &= starts - 1;
            }
        }
        digit_before = digit >> 63;
        word_before = word >> 63;
        current = next;
        at += BLOCK;
    }
    if word_before != 0 {
        each(&text[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_unifies_quotes_dashes_case_and_compatibility_forms() {
        assert_eq!(
            fold("\u{201C}Ｈｉ\u{201D} \u{2014} It\u{2019}s"),
            "\"hi\" - it's"
        );
        assert_eq!(fold("ABC"), "abc");
        // '`' is a quote only in a line that is not all ASCII (found by the property test).
        assert_eq!(fold("`a\u{a0}"), "'a ");
        assert_eq!(fold("`A"), "`a");
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

    /// The straightforward forms the fast paths replace: they must agree on any input.
    mod reference {
        use unicode_normalization::UnicodeNormalization;

        pub fn fold(s: &str) -> String {
            let mut out = String::new();
            if s.is_ascii() {
                out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
                return out;
            }
            for c in s.nfkc() {
                super::super::fold_char(c, &mut out);
            }
            out
        }

        pub fn strip_quotes(folded: &str) -> String {
            let mut out = String::new();
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

        pub fn tokenize(folded: &str) -> (Vec<&str>, usize) {
            let (bytes, mut out, mut unspaced) = (folded.as_bytes(), Vec::new(), 0);
            let mut start: Option<usize> = None;
            let mut iter = folded.char_indices().peekable();
            while let Some((i, c)) = iter.next() {
                if super::super::is_unspaced_script(c) {
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
                } else if let Some(s) = start.take() {
                    out.push(&folded[s..i]);
                }
            }
            if let Some(s) = start {
                out.push(&folded[s..]);
            }
            (out, unspaced)
        }
    }

    fn tricky_text() -> impl proptest::strategy::Strategy<Value = String> {
        let pieces = vec![
            "a", "E", "z", "7", "0", ".", ",", " ", "  ", "\t", "\n", "\r\n", "\u{b}", "\u{c}",
            "\"", "'", "`", "(", ")", "-", "<", ">", "&amp;", "\u{a0}", "\u{2003}", "\u{301}",
            "\u{308}", "\u{327}", "e\u{301}", "\u{e9}", "\u{c9}", "\u{2018}", "\u{2019}",
            "\u{201c}", "\u{201d}", "\u{2014}", "\u{2026}", "\u{2033}", "\u{b4}", "\u{ff21}",
            "\u{ff41}", "\u{fb01}", "\u{2460}", "\u{1100}", "\u{1161}", "\u{11a8}", "\u{ac00}",
            "\u{6771}", "\u{4eac}", "\u{3042}", "\u{e2a}", "\u{e27}", "\u{130}", "\u{3a3}",
            "\u{df}", "\u{1e9e}", "\u{212b}", "\u{2126}", "\u{f900}", "\u{300c}", "\u{ab}",
            "\u{bb}", "\u{2212}", "\u{202f}", "\u{2009}", "\u{d55c}", "\u{fe64}", "\u{33a1}",
        ];
        proptest::collection::vec(proptest::sample::select(pieces), 0..40).prop_map(|v| v.concat())
    }

    use proptest::strategy::Strategy;

    /// Long ASCII texts (the 64-byte fast path), with numbers and their separators at
    /// every offset, block boundaries included.
    fn ascii_text() -> impl proptest::strategy::Strategy<Value = String> {
        let pieces = vec![
            "a", "E", "z", "Z", "7", "0", "9", ".", ",", " ", "  ", "\t", "\n", "'", "`", "-", "(",
            ")", "@", "[", "`", "{", "/", ":", "\"", "1.5", "2,000", "rates", "Shares", "x9",
            "\u{7f}", "\u{1}", "_", "^", "~", "|",
        ];
        proptest::collection::vec(proptest::sample::select(pieces), 0..300).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn ascii_tokens_are_those_of_the_straightforward_form(text in ascii_text()) {
            let mut tokens = Vec::new();
            let unspaced = tokenize(&text, &mut tokens);
            proptest::prop_assert_eq!((tokens, unspaced), reference::tokenize(&text));
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_agree_with_the_straightforward_forms(text in tricky_text()) {
            let folded = fold(&text);
            proptest::prop_assert_eq!(&folded, &reference::fold(&text));
            proptest::prop_assert_eq!(strip_quotes(&folded), reference::strip_quotes(&folded));
            let mut tokens = Vec::new();
            let unspaced = tokenize(&folded, &mut tokens);
            proptest::prop_assert_eq!((tokens, unspaced), reference::tokenize(&folded));
            proptest::prop_assert_eq!(
                crate::dedup::words::count_words(&folded, usize::MAX),
                folded.split_whitespace().count()
            );
            for limit in 0..12 {
                proptest::prop_assert_eq!(
                    crate::dedup::words::count_words(&folded, limit),
                    folded.split_whitespace().take(limit).count()
                );
            }
        }
    }
}
