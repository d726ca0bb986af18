//! Whitespace folding for plain text: a title or a name on one line ([`one_line`]), a text
//! as its lines with runs of whitespace folded ([`for_each_line`]: what dedup reads).
//! Whitespace is Unicode's (`char::is_whitespace`) throughout, as in HTML → text.

/// Whitespace runs (newlines included) collapsed to single spaces, trimmed.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, w) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Splits a plain text into its lines, trimmed, with whitespace runs inside each folded to
/// one space and empty lines skipped: calls `each` with every line in order. The text is
/// taken as written: a `<p>` in it is four characters of text, not markup.
pub fn for_each_line(text: &str, mut each: impl FnMut(&str)) {
    let mut spaced = String::new();
    // Lines end at '\n' (and the trim removes a '\r' before it, as `str::lines` would).
    let mut start = 0;
    let bytes = text.as_bytes();
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for end in ends {
        let l = text[start..end].trim();
        start = end + 1;
        if l.is_empty() {
            continue;
        }
        if needs_collapsing(l) {
            spaced.clear();
            for (i, w) in l.split_whitespace().enumerate() {
                if i > 0 {
                    spaced.push(' ');
                }
                spaced.push_str(w);
            }
            each(&spaced);
        } else {
            each(l);
        }
    }
}

/// Whether a line holds a run of spaces, a tab or a no-break space (U+00A0, bytes C2 A0
/// in UTF-8, where C2 can only start a character): `l.contains("  ") ||
/// l.contains(['\t', '\u{a0}'])` in one pass over the bytes.
fn needs_collapsing(l: &str) -> bool {
    let b = l.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    // Without an early exit, so the comparisons run many bytes at a time: lines are short,
    // and almost never need collapsing.
    let pairs = b.iter().zip(&b[1..]).fold(false, |hit, (&prev, &c)| {
        hit | (c == b'\t') | ((c == b' ') & (prev == b' ')) | ((c == 0xA0) & (prev == 0xC2))
    });
    pairs | (first == b'\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_line(text, |l| out.push(l.to_string()));
        out
    }

    #[test]
    fn lines_are_trimmed_folded_and_taken_as_written() {
        assert_eq!(
            lines(" One  &amp;\ttwo \r\n\n<p>Three\u{a0} four</p>\n"),
            ["One &amp; two", "<p>Three four</p>"]
        );
        assert_eq!(one_line(" \u{7}line\none \t two "), "\u{7}line one two");
    }

    proptest::proptest! {
        #[test]
        fn collapsing_is_found_exactly_where_it_is_needed(
            text in proptest::collection::vec(proptest::sample::select(vec![
                "a", " ", "  ", "\t", "\u{a0}", "\u{2003}", "é", "\n", "x y",
            ]), 0..20),
        ) {
            let text = text.concat();
            proptest::prop_assert_eq!(
                needs_collapsing(&text),
                text.contains("  ") || text.contains(['\t', '\u{a0}'])
            );
        }
    }
}
