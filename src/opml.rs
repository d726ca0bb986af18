//! OPML, the exchange format of feed readers: reading the subscription lists other readers
//! export, and writing ours (for `feeds export` and `/feeds.opml`).
//!
//! Reading is a small lenient quick-xml pass rather than the `opml` crate: real exports
//! (Feedly, Inoreader, old NetNewsWire) break its strict schema with missing `version`
//! attributes, odd attribute case and stray elements, and a lost subscription list is worse
//! than a loose reader.

use quick_xml::events::{BytesStart, Event};

use crate::markup::chars::text_chars;
use crate::markup::{entities, escape};

/// One subscription read from an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `title`, else `text`, else the URL.
    pub name: String,
    /// `xmlUrl`.
    pub url: String,
    /// Names of the folders (outer outlines) it sits in, outermost first, plus any
    /// `category` attribute terms.
    pub tags: Vec<String>,
}

/// Why an OPML document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    /// The XML is broken where the reader cannot go on.
    #[error("not well-formed XML near byte {position}: {message}")]
    Xml {
        /// Byte offset of the problem.
        position: u64,
        /// What the XML reader said.
        message: String,
    },
    /// Well-formed but no `<opml>` root.
    #[error("not an OPML document (no <opml> element)")]
    NotOpml,
}

/// The most outlines nested inside each other that we follow; deeper ones are flattened
/// into their ancestor so a hostile file cannot grow the folder stack without bound.
const MAX_DEPTH: usize = 32;

/// Reads every outline with an `xmlUrl`, in document order.
pub fn read(bytes: &[u8]) -> Result<Vec<Subscription>, OpmlError> {
    let text = decode(bytes);
    let mut reader = quick_xml::Reader::from_str(&text);
    reader.config_mut().check_end_names = false;
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut subs = Vec::new();
    let mut saw_opml = false;
    loop {
        let event = reader.read_event().map_err(|e| OpmlError::Xml {
            position: reader.buffer_position(),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(e) | Event::Empty(e) if is_root(&e) => saw_opml = true,
            Event::Start(e) if is_outline(&e) => {
                let sub = subscription(&e, &folders);
                let folder = if sub.is_none() { label(&e) } else { None };
                subs.extend(sub);
                if folders.len() < MAX_DEPTH {
                    folders.push(folder);
                }
            }
            Event::Empty(e) if is_outline(&e) => subs.extend(subscription(&e, &folders)),
            Event::End(e) if e.local_name().as_ref().eq_ignore_ascii_case("outline") => {
                folders.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_opml {
        return Err(OpmlError::NotOpml);
    }
    Ok(subs)
}

/// `<opml>`, or `<outlineDocument>`, its name before OPML 1.0 (Radio UserLand still wrote it).
fn is_root(e: &BytesStart<'_>) -> bool {
    let name = e.local_name();
    name.as_ref().eq_ignore_ascii_case("opml")
        || name.as_ref().eq_ignore_ascii_case("outlineDocument")
}

/// The document as text: a BOM wins, then the XML declaration's encoding, else UTF-8
/// (invalid bytes become U+FFFD rather than an error).
fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    let declared = head
        .strip_prefix("<?xml")
        .and_then(|d| d.split("?>").next())
        .and_then(|d| d.split("encoding=").nth(1))
        .and_then(|v| v.trim_start().get(1..))
        .and_then(|v| v.split(['"', '\'']).next())
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()));
    match declared {
        Some(encoding) if encoding != encoding_rs::UTF_8 => {
            encoding.decode_without_bom_handling(bytes).0
        }
        _ => String::from_utf8_lossy(bytes),
    }
}

fn is_outline(e: &BytesStart<'_>) -> bool {
    e.local_name().as_ref().eq_ignore_ascii_case("outline")
}

/// The value of attribute `name` (ASCII case-insensitive), its references decoded (HTML's
/// named ones too: exports write `&eacute;`) and trimmed.
fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref().eq_ignore_ascii_case(name))
        .and_then(|a| {
            let v = entities::decode(&a.value).trim().to_string();
            (!v.is_empty()).then_some(v)
        })
}

fn label(e: &BytesStart<'_>) -> Option<String> {
    attr(e, "title").or_else(|| attr(e, "text"))
}

fn subscription(e: &BytesStart<'_>, folders: &[Option<String>]) -> Option<Subscription> {
    let url = attr(e, "xmlUrl")?;
    let mut tags: Vec<String> = folders.iter().flatten().cloned().collect();
    if let Some(cats) = attr(e, "category") {
        for c in cats.split(',') {
            let c = c.trim().trim_start_matches('/').trim();
            if !c.is_empty() && !tags.iter().any(|t| t == c) {
                tags.push(c.to_string());
            }
        }
    }
    Some(Subscription {
        name: label(e).unwrap_or_else(|| url.clone()),
        url,
        tags,
    })
}

/// One feed to write: what OPML export needs of a configured feed.
#[derive(Debug, Clone)]
pub struct Outline<'a> {
    /// Name.
    pub name: &'a str,
    /// Feed URL.
    pub url: &'a str,
    /// Website, when known.
    pub html_url: Option<&'a str>,
    /// Tags: the feed appears in one folder per tag, or at the top when it has none.
    pub tags: &'a [String],
}

/// Writes OPML 2.0. Each feed appears once, in the folder of its first tag (or at the top
/// when it has none), with all its tags in the `category` attribute: readers that subscribe
/// to every outline must not subscribe twice to a feed with two tags.
pub fn write(title: &str, feeds: &[Outline<'_>]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n",
    );
    let _ = writeln!(
        out,
        "    <title>{}</title>",
        escape::text(&text_chars(title))
    );
    out.push_str("  </head>\n  <body>\n");
    let outline = |out: &mut String, f: &Outline<'_>, indent: &str| {
        let _ = write!(
            out,
            "{indent}<outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"",
            attribute(f.name),
            attribute(f.url)
        );
        if let Some(h) = f.html_url {
            let _ = write!(out, " htmlUrl=\"{}\"", attribute(h));
        }
        if f.tags.len() > 1 {
            let cats: Vec<String> = f.tags.iter().map(|t| format!("/{t}")).collect();
            let _ = write!(out, " category=\"{}\"", attribute(&cats.join(",")));
        }
        out.push_str("/>\n");
    };
    let mut folders: Vec<&String> = feeds.iter().filter_map(|f| f.tags.first()).collect();
    folders.sort();
    folders.dedup();
    for tag in folders {
        let _ = writeln!(
            out,
            "    <outline text=\"{0}\" title=\"{0}\">",
            attribute(tag)
        );
        for f in feeds.iter().filter(|f| f.tags.first() == Some(tag)) {
            outline(&mut out, f, "      ");
        }
        out.push_str("    </outline>\n");
    }
    for f in feeds.iter().filter(|f| f.tags.is_empty()) {
        outline(&mut out, f, "    ");
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

/// Whether an OPML list keeps the `user:password@` of feeds behind basic auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// The operator's backup (`feeds export`): imported again, the feeds still work.
    Keep,
    /// Anything public (`/feeds.opml`): never shows a secret.
    Strip,
}

/// The configured feeds as OPML 2.0: what `feeds export` prints (credentials kept) and
/// `/feeds.opml` serves (credentials stripped).
pub fn for_config(config: &crate::config::Config, credentials: Credentials) -> String {
    let urls: Vec<String> = config
        .feeds
        .iter()
        .map(|f| match credentials {
            Credentials::Keep => f.url().to_string(),
            Credentials::Strip => crate::config::public_url(f.url()).to_string(),
        })
        .collect();
    let outlines: Vec<_> = config
        .feeds
        .iter()
        .zip(&urls)
        .map(|(f, url)| Outline {
            name: f.name(),
            url,
            html_url: None,
            tags: &f.tags,
        })
        .collect();
    write(&config.server.title, &outlines)
}

/// `s` as an XML attribute value, without the characters published text never holds.
fn attribute(s: &str) -> String {
    escape::attribute(&text_chars(s)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_folders_become_tags() {
        let doc = br#"<?xml version="1.0"?><opml version="1.0"><head/><body>
            <outline text="News"><outline text="Asia">
              <outline text="Dawn" xmlUrl="https://dawn.example/feed"/>
            </outline></outline>
            <outline TEXT="Loose" XMLURL="https://loose.example/rss" category="/tech,/science"/>
        </body></opml>"#;
        let subs = read(doc).unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0].tags, vec!["News", "Asia"]);
        assert_eq!(subs[0].name, "Dawn");
        assert_eq!(subs[1].tags, vec!["tech", "science"]);
    }

    #[test]
    fn latin1_and_pre_1_0_documents_read() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><outlineDocument><body>\
            <outline text=\"Caf\xe9\" xmlUrl=\"https://cafe.example/rss\"/></body></outlineDocument>";
        let subs = read(doc).unwrap();
        assert_eq!(subs[0].name, "Caf\u{e9}");
    }

    #[test]
    fn references_in_names_are_decoded_html_ones_too() {
        let doc = br#"<opml version="2.0"><body>
            <outline text="Caf&eacute; &amp; Bar&#39;s &nbsp;news" xmlUrl="https://c.example/rss?a=1&amp;b=2"/>
            <outline text="AT&T" xmlUrl="https://att.example/rss"/>
        </body></opml>"#;
        let subs = read(doc).unwrap();
        assert_eq!(subs[0].name, "Caf\u{e9} & Bar's \u{a0}news");
        assert_eq!(subs[0].url, "https://c.example/rss?a=1&b=2");
        assert_eq!(subs[1].name, "AT&T");
    }

    #[test]
    fn export_reads_back() {
        let tags = vec!["world".to_string()];
        let doc = write(
            "t & co",
            &[Outline {
                name: "A <b>",
                url: "https://a.example/?x=1&y=2",
                html_url: None,
                tags: &tags,
            }],
        );
        let subs = read(doc.as_bytes()).unwrap();
        assert_eq!(subs[0].url, "https://a.example/?x=1&y=2");
        assert_eq!(subs[0].name, "A <b>");
        assert_eq!(subs[0].tags, tags);
    }

    #[test]
    fn a_feed_with_two_tags_is_written_once_and_keeps_both() {
        let tags = vec!["world".to_string(), "asia".to_string()];
        let doc = write(
            "t",
            &[Outline {
                name: "A",
                url: "https://a.example/rss",
                html_url: None,
                tags: &tags,
            }],
        );
        let subs = read(doc.as_bytes()).unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].tags, tags);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(read(b"<html><body>no</body></html>").is_err());
        assert!(read(b"<opml><body><outline xmlUrl=\"x\" <<<").is_err() || read(b"<opml>").is_ok());
    }
}
