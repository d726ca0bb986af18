//! The escapers: a string written into markup, one escaper per place it goes. Element
//! content ([`text`]: `&`, `<`, `>`) and a quoted attribute value ([`attribute`]: those and
//! both quotes, so either quoting is safe) follow the same rules in HTML and XML, so these
//! two serve every target: the HTML parse stores and serve publishes, the XML the parse
//! stage's readers rebuild, and OPML. Neither filters characters: callers publishing text
//! drop what XML cannot carry first (`chars`).

use std::borrow::Cow;

/// The reference written for `b` in element content, or `None` when it stands as itself.
fn text_reference(b: u8) -> Option<&'static str> {
    match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        _ => None,
    }
}

/// The reference written for `b` in a quoted attribute value, or `None` when it stands as
/// itself.
fn attribute_reference(b: u8) -> Option<&'static str> {
    match b {
        b'"' => Some("&quot;"),
        b'\'' => Some("&#39;"),
        _ => text_reference(b),
    }
}

/// Where the next byte of `s` that element content must escape is.
fn next_in_text(s: &[u8]) -> Option<usize> {
    memchr::memchr3(b'&', b'<', b'>', s)
}

/// Where the next byte of `s` that an attribute value must escape is.
fn next_in_attribute(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| attribute_reference(b).is_some())
}

/// Appends `s` with each byte `next` finds replaced by its `reference` (both name only
/// ASCII bytes, so the pieces between them are whole characters).
fn push_escaped(
    out: &mut String,
    s: &str,
    next: impl Fn(&[u8]) -> Option<usize>,
    reference: impl Fn(u8) -> Option<&'static str>,
) {
    let mut rest = s;
    while let Some(i) = next(rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push_str(reference(rest.as_bytes()[i]).unwrap_or_default());
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// `s` escaped by `push`, borrowed when `next` finds nothing to escape.
fn escaped(
    s: &str,
    next: impl Fn(&[u8]) -> Option<usize>,
    push: impl Fn(&mut String, &str),
) -> Cow<'_, str> {
    if next(s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + s.len() / 8 + 8);
    push(&mut out, s);
    Cow::Owned(out)
}

/// Appends `s` as element content (HTML or XML).
pub fn push_text(out: &mut String, s: &str) {
    push_escaped(out, s, next_in_text, text_reference);
}

/// `s` as element content (HTML or XML).
pub fn text(s: &str) -> Cow<'_, str> {
    escaped(s, next_in_text, push_text)
}

/// Appends `s` as a quoted attribute value (HTML or XML, either quote).
pub fn push_attribute(out: &mut String, s: &str) {
    push_escaped(out, s, next_in_attribute, attribute_reference);
}

/// `s` as a quoted attribute value (HTML or XML, either quote).
pub fn attribute(s: &str) -> Cow<'_, str> {
    escaped(s, next_in_attribute, push_attribute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markup_and_attributes_escape_quotes_too() {
        assert_eq!(
            text("a < b && c > \"d\" 'e'"),
            "a &lt; b &amp;&amp; c &gt; \"d\" 'e'"
        );
        assert_eq!(
            attribute("<a href='x'>&\"é"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;é"
        );
        assert!(matches!(text("plain café"), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        /// Whatever the string, the escaped form holds no markup character, and decoding it
        /// gives the string back.
        #[test]
        fn escaped_strings_hold_no_markup_and_decode_back(s in "[ -~é\u{a0}]{0,40}") {
            let a = attribute(&s);
            proptest::prop_assert!(!a.contains(['<', '>', '"', '\'']));
            proptest::prop_assert_eq!(super::super::entities::decode(&a), s.as_str());
            let t = text(&s);
            proptest::prop_assert!(!t.contains(['<', '>']));
            proptest::prop_assert_eq!(super::super::entities::decode(&t), s.as_str());
        }
    }
}
