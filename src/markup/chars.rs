//! The XML-character filter: which characters a document can carry. Feeds arrive with
//! stray control characters that make a strict XML reader reject the whole document, and
//! anything published must be well-formed XML; both filter here.
//!
//! Two strengths of one rule: [`is_xml_char`] is XML 1.0's `Char` production (what a
//! document may hold at all — the parse stage keeps C1 controls, which double-encoded
//! UTF-8 needs to be repaired), and [`is_text_char`] narrows it to what is ever text
//! (no C1 controls or DEL, which XML 1.0 §2.2 tells authors to avoid): what serve
//! publishes.

use std::borrow::Cow;

/// True for the characters XML 1.0 allows in a document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// True for the characters published text may hold: XML's, without DEL and the C1
/// controls (U+007F..U+009F), which are never text.
pub fn is_text_char(c: char) -> bool {
    is_xml_char(c) && !matches!(c, '\u{7F}'..='\u{9F}')
}

/// `s` without the characters XML 1.0 cannot carry (control characters, U+FFFE, U+FFFF).
pub fn xml_chars(s: &str) -> Cow<'_, str> {
    retain(s, is_xml_char)
}

/// `s` without the characters published text never holds ([`is_text_char`]).
pub fn text_chars(s: &str) -> Cow<'_, str> {
    retain(s, is_text_char)
}

fn retain(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if s.chars().all(&keep) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|&c| keep(c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_noncharacters_are_dropped() {
        assert_eq!(
            xml_chars("a\u{0}b\u{1b}c\u{FFFE}\u{85}d\te"),
            "abc\u{85}d\te"
        );
        assert_eq!(
            text_chars("a\u{0}b\u{1b}c\u{FFFE}\u{85}d\u{7f}\te"),
            "abcd\te"
        );
        assert!(matches!(text_chars("plain é\n"), Cow::Borrowed(_)));
    }
}
