//! Charset: from the BOM, the HTTP `Content-Type`, the XML declaration, or detection, to
//! one UTF-8 string without a declaration (so feed-rs reads it as the UTF-8 it is).

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::policy::{DECLARATION_SNIFF_BYTES, DETECTION_SAMPLE_BYTES};
use crate::markup::chars::xml_chars;

/// Decodes the fetched bytes to text, whatever charset they came in.
///
/// Valid UTF-8 is taken as UTF-8 even when something else is declared: a legacy-charset
/// text with non-ASCII bytes is almost never valid UTF-8, while mislabelled UTF-8 is
/// common. Otherwise the declared charset is used unless it is UTF-8 (which the bytes just
/// disproved), and detection decides when nothing usable is declared.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    // Valid UTF-8 without a BOM (the common case): validated once, no decoder pass.
    if Encoding::for_bom(bytes).is_none()
        && utf16_without_bom(bytes).is_none()
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        return clean_chars(Cow::Borrowed(text)).into_owned();
    }
    let (encoding, body) = choose(bytes, content_type);
    let text = match std::str::from_utf8(body) {
        // Already validated UTF-8 (the common case): no second pass through the decoder.
        Ok(text) if encoding == UTF_8 => Cow::Borrowed(text),
        _ => encoding.decode_without_bom_handling(body).0,
    };
    clean_chars(text).into_owned()
}

fn choose<'b>(bytes: &'b [u8], content_type: Option<&str>) -> (&'static Encoding, &'b [u8]) {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        return (encoding, &bytes[bom..]);
    }
    if let Some(encoding) = utf16_without_bom(bytes) {
        return (encoding, bytes);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return (UTF_8, bytes);
    }
    let declared = content_type
        .and_then(http_charset)
        .into_iter()
        .chain(declared_charset(bytes))
        .find(|e| *e != UTF_8 && *e != UTF_16LE && *e != UTF_16BE);
    if let Some(encoding) = declared {
        return (encoding, bytes);
    }
    let mut detector = chardetng::EncodingDetector::new();
    let sample = &bytes[..bytes.len().min(DETECTION_SAMPLE_BYTES)];
    detector.feed(sample, sample.len() == bytes.len());
    (detector.guess(None, true), bytes)
}

/// `<\0?\0` or `\0<\0?`: UTF-16 that came without its BOM.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    match bytes {
        [b'<', 0, b, 0, ..] if *b != 0 => Some(UTF_16LE),
        [0, b'<', 0, b, ..] if *b != 0 => Some(UTF_16BE),
        _ => None,
    }
}

/// The `charset` parameter of a `Content-Type` header.
fn http_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes()))
            .flatten()
    })
}

/// The `encoding` of an XML declaration near the start (possibly after a comment).
fn declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(DECLARATION_SNIFF_BYTES)];
    let start = find(head, b"<?xml")?;
    let decl = &head[start..];
    let decl = &decl[..find(decl, b"?>").unwrap_or(decl.len())];
    let at = find(decl, b"encoding")? + b"encoding".len();
    let rest = decl[at..]
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let end = rest.iter().position(|&b| b == quote)?;
    Encoding::for_label(&rest[..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Drops characters XML forbids (stray control characters are common in feeds and make a
/// strict reader reject the whole document).
fn clean_chars(text: Cow<'_, str>) -> Cow<'_, str> {
    // Bytewise first: forbidden characters are ASCII controls or U+FFFE/U+FFFF (EF BF BE/BF).
    // In blocks without an early exit, which the compiler vectorises.
    let suspect = text.as_bytes().chunks(64).any(|chunk| {
        chunk.iter().fold(false, |found, &b| {
            found | ((b < 0x20) & !matches!(b, b'\t' | b'\n' | b'\r')) | (b == 0xEF)
        })
    });
    if !suspect {
        return text;
    }
    match xml_chars(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cleaned) => Cow::Owned(cleaned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in s.encode_utf16() {
            let b = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            out.extend_from_slice(&b);
        }
        out
    }

    #[test]
    fn utf16_with_a_bom_in_either_byte_order() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>Köln</rss>";
        assert!(decode(&utf16(doc, true), None).contains("Köln"));
        assert!(decode(&utf16(doc, false), None).contains("Köln"));
    }

    #[test]
    fn latin1_declared_as_utf8_is_detected() {
        let doc = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss><title>K\xf6ln caf\xe9 \xe0 la cr\xe8me br\xfbl\xe9e</title></rss>";
        assert!(decode(doc, None).contains("Köln café à la crème brûlée"));
    }

    #[test]
    fn declared_and_http_charsets_are_used() {
        let doc =
            b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><t>\xcf\xf0\xe8\xe2\xe5\xf2</t>";
        assert!(decode(doc, None).contains("Привет"));
        let doc = b"<t>\xcf\xf0\xe8\xe2\xe5\xf2</t>";
        assert!(decode(doc, Some("text/xml; charset=\"windows-1251\"")).contains("Привет"));
    }

    #[test]
    fn declaration_after_a_comment_is_found() {
        let doc = b"<!-- c -->\n<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>K\xf6ln</t>";
        assert!(decode(doc, None).contains("Köln"));
    }
}
