//! The one entity decoder: character references — XML's five, numeric ones, and HTML's
//! named ones, which feeds and OPML exports use freely although XML does not define them.
//! The repair pass, the fallback reader, HTML → text and the OPML reader all read
//! references here.

use std::borrow::Cow;

use super::chars::is_xml_char;
use super::policy::MAX_ENTITY_NAME;

/// What one `&...;` reference stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// One of XML's five predefined entities (`amp`, `lt`, `gt`, `quot`, `apos`).
    Xml(char),
    /// A numeric reference to a character allowed in XML.
    Numeric(char),
    /// An HTML named entity: one or two characters.
    Html(char, Option<char>),
}

/// Reads the reference whose name (between `&` and `;`) is `name`.
pub fn resolve(name: &str) -> Option<Reference> {
    if name.is_empty() || name.len() > MAX_ENTITY_NAME {
        return None;
    }
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        // Windows-1252 code points sent as numeric references (`&#150;`) mean the
        // Windows-1252 character, as browsers read them.
        let c = char::from_u32(code).map(|c| windows_1252_c1(c).unwrap_or(c))?;
        return is_xml_char(c).then_some(Reference::Numeric(c));
    }
    match name {
        "amp" => return Some(Reference::Xml('&')),
        "lt" => return Some(Reference::Xml('<')),
        "gt" => return Some(Reference::Xml('>')),
        "quot" => return Some(Reference::Xml('"')),
        "apos" => return Some(Reference::Xml('\'')),
        _ => {}
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let mut key = String::with_capacity(name.len() + 1);
    key.push_str(name);
    key.push(';');
    let &(a, b) = markup5ever::data::NAMED_ENTITIES.get(key.as_str())?;
    let first = char::from_u32(a)?;
    let second = if b == 0 { None } else { char::from_u32(b) };
    Some(Reference::Html(first, second))
}

fn windows_1252_c1(c: char) -> Option<char> {
    if !('\u{80}'..='\u{9F}').contains(&c) {
        return None;
    }
    let byte = [c as u32 as u8];
    let (decoded, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
    decoded.chars().next()
}

/// Where the `;` closing a reference that starts `s` is, when it comes soon enough. (Searched
/// bytewise: the window may end inside a multi-byte character; `;` never does.)
pub fn reference_end(s: &str) -> Option<usize> {
    let window = &s.as_bytes()[..s.len().min(MAX_ENTITY_NAME + 1)];
    window.iter().position(|&b| b == b';')
}

/// Decodes every reference in `s` (XML, numeric and HTML named); anything that is not a
/// known reference, such as a bare `&`, stays as it is.
pub fn decode(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let window = &rest[1..];
        let resolved =
            reference_end(window).and_then(|semi| Some((semi, resolve(&window[..semi])?)));
        match resolved {
            Some((semi, reference)) => {
                match reference {
                    Reference::Xml(c) | Reference::Numeric(c) => out.push(c),
                    Reference::Html(a, b) => {
                        out.push(a);
                        out.extend(b);
                    }
                }
                rest = &rest[semi + 2..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_xml_numeric_and_html_references() {
        assert_eq!(
            decode("caf&eacute; &amp; bar&#33; &#x41;&nbsp;"),
            "café & bar! A\u{a0}"
        );
        assert_eq!(
            decode("AT&T & co &unknown; &#150;"),
            "AT&T & co &unknown; \u{2013}"
        );
        assert_eq!(decode("&#0; &#xD800;"), "&#0; &#xD800;");
    }
}
