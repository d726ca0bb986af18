//! The parse stage on small documents written for each way real feeds go wrong: what a
//! subscriber would see (titles, links, text, dates) must come out right anyway.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use support::Feed;
use support::executable::assert_not_executable;
use tributary::model::ParsedFeed;
use tributary::parse::{FeedContext, parse};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
}

fn read_as(bytes: &[u8], content_type: Option<&str>) -> ParsedFeed {
    let ctx = FeedContext {
        url: "https://news.example/feeds/world.xml",
        content_type,
        fetched_at: now(),
    };
    parse(bytes, &ctx).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

fn read(doc: &str) -> ParsedFeed {
    read_as(doc.as_bytes(), None)
}

fn titles(feed: &ParsedFeed) -> Vec<&str> {
    feed.articles.iter().map(|a| a.title.as_str()).collect()
}

/// A channel "News" around hand-written `items` XML.
fn rss(items: &str) -> String {
    Feed::new("News").channel(items).rss()
}

#[test]
fn utf16_with_bom_in_both_byte_orders() {
    let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss version=\"2.0\"><channel>\
               <title>x</title><item><title>Köln</title></item></channel></rss>";
    for big_endian in [true, false] {
        let mut bytes = if big_endian {
            vec![0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE]
        };
        for unit in doc.encode_utf16() {
            bytes.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        assert_eq!(titles(&read_as(&bytes, None)), ["Köln"]);
    }
}

#[test]
fn latin1_body_declared_utf8() {
    let mut bytes = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>\
                      <title>x</title><item><title>"
        .to_vec();
    bytes.extend(b"K\xf6ln: caf\xe9s \xe0 la cr\xe8me");
    bytes.extend(b"</title></item></channel></rss>");
    assert_eq!(titles(&read_as(&bytes, None)), ["Köln: cafés à la crème"]);
}

#[test]
fn charset_from_http_header_and_declaration_after_long_comment() {
    let mut bytes = format!(
        "<!-- {} -->\n<?xml version=\"1.0\" encoding=\"windows-1251\"?>",
        "x".repeat(5000)
    )
    .into_bytes();
    bytes.extend(b"<rss version=\"2.0\"><channel><title>x</title><item><title>\xcf\xf0\xe8\xe2\xe5\xf2</title></item></channel></rss>");
    assert_eq!(titles(&read_as(&bytes, None)), ["Привет"]);
    let bytes = b"<rss version=\"2.0\"><channel><title>x</title><item><title>\xcf\xf0\xe8\xe2\xe5\xf2</title></item></channel></rss>";
    assert_eq!(
        titles(&read_as(bytes, Some("text/xml; charset=windows-1251"))),
        ["Привет"]
    );
}

#[test]
fn html_entities_and_bare_ampersands() {
    let feed = read(&rss(
        "<item><title>Caf&eacute; &amp; AT&T&nbsp;news</title>\
         <description>Ol&aacute; &mdash; R&D</description></item>",
    ));
    assert_eq!(titles(&feed), ["Café & AT&T news"]);
    assert_eq!(feed.articles[0].text, "Olá — R&D");
}

#[test]
fn rss_without_or_with_odd_version() {
    for version in [
        "",
        " version=\"0.94\"",
        " version=\"2.01\"",
        " version=\"0.93\"",
    ] {
        let doc = format!(
            "<rss{version}><channel><title>x</title><item><title>a</title></item></channel></rss>"
        );
        assert_eq!(titles(&read(&doc)), ["a"], "{doc}");
    }
}

#[test]
fn atom_0_3() {
    let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old</title>
        <link rel="alternate" type="text/html" href="https://old.example/"/>
        <entry><title>First</title><link rel="alternate" type="text/html" href="https://old.example/1"/>
        <id>tag:old.example,2004:1</id><issued>2004-01-02T10:00:00Z</issued><modified>2004-01-03T10:00:00Z</modified>
        <content type="text/html" mode="escaped">&lt;p&gt;Hello&lt;/p&gt;</content></entry></feed>"#;
    let feed = read(doc);
    let a = &feed.articles[0];
    assert_eq!(a.title, "First");
    assert_eq!(a.url.as_deref(), Some("https://old.example/1"));
    assert_eq!(a.text, "Hello");
    assert_eq!(
        a.published,
        Some(Utc.with_ymd_and_hms(2004, 1, 2, 10, 0, 0).unwrap())
    );
}

#[test]
fn rss_1_0_items_without_link() {
    let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
        <channel rdf:about="http://example.com/index.rdf"><title>Chan</title><link>http://example.com/</link>
        <items><rdf:Seq><rdf:li resource="http://example.com/1"/></rdf:Seq></items></channel>
        <item rdf:about="http://example.com/1"><title>No link</title></item>
        <item rdf:about="http://example.com/2"><title>Linked</title><link>http://example.com/2</link></item></rdf:RDF>"#;
    assert_eq!(titles(&read(doc)), ["No link", "Linked"]);
}

#[test]
fn unexpected_type_attribute_does_not_reject_the_feed() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text/plain">t</title>
        <entry><title type="TEXT">a</title><summary type="text/html">&lt;b&gt;s&lt;/b&gt;</summary></entry></feed>"#;
    let feed = read(doc);
    assert_eq!(titles(&feed), ["a"]);
    assert_eq!(feed.articles[0].text, "s");
}

#[test]
fn one_empty_element_does_not_reject_the_feed() {
    let doc = rss("<item><title>a</title><media:description/><description></description></item>")
        .replace(
            "<rss version=\"2.0\">",
            "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\">",
        );
    assert_eq!(titles(&read(&doc)), ["a"]);
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>a</title><summary type="html"></summary></entry></feed>"#;
    assert_eq!(titles(&read(doc)), ["a"]);
}

#[test]
fn truncated_document_yields_its_complete_items() {
    let doc = rss("<item><title>one</title></item><item><title>two</title></item><item><title>thr");
    let cut = &doc[..doc.find("thr").unwrap() + 3];
    assert_eq!(titles(&read(cut)), ["one", "two"]);
}

#[test]
fn json_feed_version_1_and_small_deviations() {
    let doc = r#"{"version":"http://jsonfeed.org/version/1","title":"J","items":[
        {"id":1,"url":"https://j.example/1?utm_source=x","title":"One","content_html":"<p>Hi</p>",
         "date_published":"2024-05-01T10:00:00Z"}]}"#;
    let feed = read(doc);
    let a = &feed.articles[0];
    assert_eq!((a.title.as_str(), a.guid.as_deref()), ("One", Some("1")));
    assert_eq!(a.url.as_deref(), Some("https://j.example/1"));
    assert_eq!(a.text, "Hi");
}

#[test]
fn double_encoded_utf8_title_is_repaired() {
    let feed = read(&rss(
        "<item><title>FÃ¶rderprogramme fÃ¼r StÃ¤dte</title></item>",
    ));
    assert_eq!(titles(&feed), ["Förderprogramme für Städte"]);
}

#[test]
fn canonical_urls_and_bases() {
    let feed = read(&rss(
        r#"<item><title>a</title><link>/world/a?utm_source=rss&amp;id=7&amp;fbclid=x#top</link></item>
           <item><title>b</title><guid>HTTPS://News.Example:443/b</guid></item>
           <item xml:base="https://other.example/x/"><title>c</title><link>c.html</link></item>"#,
    ));
    let urls: Vec<_> = feed.articles.iter().map(|a| a.url.as_deref()).collect();
    assert_eq!(
        urls,
        [
            Some("https://news.example/world/a?id=7"),
            Some("https://news.example/b"),
            Some("https://other.example/x/c.html")
        ]
    );
}

#[test]
fn titles_are_plain_text_and_never_empty() {
    let feed = read(&rss(
        "<item><title>&lt;b&gt;Bold&lt;/b&gt;   title\n here</title></item>\
         <item><description>&lt;p&gt;A story without a title, told in many words, \
         more than twelve of them in all.&lt;/p&gt;</description></item>",
    ));
    assert_eq!(
        titles(&feed),
        [
            "Bold title here",
            "A story without a title, told in many words, more than twelve…"
        ]
    );
}

#[test]
fn content_is_sanitised_once_and_text_keeps_paragraphs() {
    let feed = read(&rss(
        r#"<item><title>a</title><link>https://news.example/a/</link><description><![CDATA[<p onclick="x()">First <a href="rel/1">para</a>.</p><script>alert(1)</script><p>Second <img src="javascript:alert(1)"> para.</p><iframe src="https://evil.example/"></iframe>]]></description></item>"#,
    ));
    let a = &feed.articles[0];
    let html = a.summary_html.as_deref().unwrap();
    assert_not_executable("summary_html", html);
    assert!(
        html.contains(
            r#"<a href="https://news.example/a/rel/1" rel="noopener noreferrer">para</a>"#
        ),
        "{html}"
    );
    assert_eq!(a.text, "First para.\nSecond para.");
}

#[test]
fn dates_from_what_feeds_send() {
    let doc = rss(
        "<item><title>bst</title><pubDate>Fri, 31 May 2024 10:00:00 BST</pubDate></item>\
         <item><title>iso</title><pubDate>2024-05-31T10:00:00+02:00</pubDate></item>\
         <item><title>noweekday</title><pubDate>31 May 2024 10:00 AEST</pubDate></item>\
         <item><title>dc</title><dc:date>2024-05-31T10:00:00Z</dc:date></item>\
         <item><title>future</title><pubDate>Mon, 01 Jul 2024 10:00:00 GMT</pubDate></item>\
         <item><title>none</title></item>",
    )
    .replace(
        "<rss version=\"2.0\">",
        "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">",
    );
    let feed = read(&doc);
    let dates: Vec<_> = feed
        .articles
        .iter()
        .map(|a| (a.published.map(|d| d.to_rfc3339()), a.date_clamped))
        .collect();
    let at = |s: &str| Some(s.to_string());
    assert_eq!(
        dates,
        [
            (at("2024-05-31T09:00:00+00:00"), false),
            (at("2024-05-31T08:00:00+00:00"), false),
            (at("2024-05-31T00:00:00+00:00"), false),
            (at("2024-05-31T10:00:00+00:00"), false),
            (None, true),
            (None, false),
        ]
    );
}

#[test]
fn source_of_syndicated_copies_is_recovered() {
    let feed = read(&rss(
        r#"<item><title>a</title><guid>g1</guid><source url="https://wire.example/rss">Wire Service</source></item>"#,
    ));
    let s = feed.articles[0].source.as_ref().unwrap();
    assert_eq!(
        (s.title.as_deref(), s.url.as_deref()),
        (Some("Wire Service"), Some("https://wire.example/rss"))
    );
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>e1</id><title>a</title>
        <source><id>tag:wire.example,2024:feed</id><title>Wire</title>
        <link rel="self" href="https://wire.example/atom"/></source></entry></feed>"#;
    let s = read(doc).articles[0].source.clone().unwrap();
    assert_eq!(s.id.as_deref(), Some("tag:wire.example,2024:feed"));
    assert_eq!(s.title.as_deref(), Some("Wire"));
    assert_eq!(s.url.as_deref(), Some("https://wire.example/atom"));
}

#[test]
fn identity_is_stable() {
    let doc = rss(
        "<item><title>a</title><guid isPermaLink=\"false\"> g-1 </guid></item>\
         <item><title>b</title><link>https://news.example/b</link></item>\
         <item><title>c</title><description>text</description></item>",
    );
    let one = read(&doc);
    let two = read(&doc);
    let keys: Vec<_> = one.articles.iter().map(|a| a.key.clone()).collect();
    assert_eq!(
        keys[..2],
        ["g-1".to_string(), "https://news.example/b".to_string()]
    );
    assert_eq!(
        keys,
        two.articles
            .iter()
            .map(|a| a.key.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(one.articles[2].guid, None);
}

#[test]
fn authors_categories_language_enclosures_image() {
    let doc = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <channel><title>x</title><language>fr-FR</language>
        <item><title>a</title><dc:creator>Ann Author</dc:creator><category>World</category><category>Europe</category>
        <enclosure url="/audio/1.mp3" type="audio/mpeg" length="1234"/>
        <media:thumbnail url="https://img.example/1.jpg"/></item></channel></rss>"#;
    let a = &read(doc).articles[0];
    assert_eq!(a.authors, ["Ann Author"]);
    assert_eq!(a.categories, ["World", "Europe"]);
    assert!(
        a.language
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("fr-FR"))
    );
    assert_eq!(a.enclosures[0].url, "https://news.example/audio/1.mp3");
    assert_eq!(a.enclosures[0].length, Some(1234));
    assert_eq!(a.image.as_deref(), Some("https://img.example/1.jpg"));
}

#[test]
fn what_is_not_a_feed_is_an_error_with_a_reason() {
    let ctx = FeedContext {
        url: "https://x.example/",
        content_type: None,
        fetched_at: now(),
    };
    let e = parse(b"just some text", &ctx).unwrap_err();
    assert!(e.to_string().contains("neither XML nor JSON"), "{e}");
    let html = parse(b"<html><body>hi</body></html>", &ctx);
    assert!(html.map(|f| f.articles.is_empty()).unwrap_or(true));
}

/// Crashes the corpus run found (each was a panic caught as a feed error before the fix):
/// a `&` whose 32-byte look-ahead ends inside a multi-byte character, a non-ASCII
/// whitespace between attributes, a multi-byte character before a time zone sign.
#[test]
fn regression_multibyte_characters_at_slicing_points() {
    let long = format!("x &{}” y", "a".repeat(31));
    let feed = read(&rss(&format!(
        "<item><title>{long}</title><description>&lt;p&gt;{long}&lt;/p&gt;</description></item>\
         <item><title>c</title><link x=1\u{2003}y=2>https://news.example/c</link></item>\
         <item><title>d</title><pubDate>é1:00+0100 2024</pubDate></item>"
    )));
    assert_eq!(titles(&feed).len(), 3);
    assert_eq!(feed.articles[0].title, long);
    assert_eq!(feed.articles[0].text, long);
}

/// Found by the fuzzer: feed-rs 3.0.0 slices a contact's name at the byte before/after the
/// e-mail address (`parse_person_name_email`), which panics when that is inside a
/// multi-byte character. The feed must still be read, without a panic.
#[test]
fn an_email_glued_to_a_multibyte_character_in_a_contact_does_not_crash_the_parser() {
    let doc = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>\
        <link>https://a.example/</link><managingEditor>‡ed@a.example‡</managingEditor>\
        <item><title>One</title><link>https://a.example/1</link>\
        <author>«news@a.example»</author></item>\
        <item><title>Two</title><link>https://a.example/2</link>\
        <author>é&lt;[(b@a.example</author></item>\
        <item><title>Three</title><link>https://a.example/3</link>\
        <author>c@a.example&gt;])éé</author></item></channel></rss>";
    let before = tributary::parse::panics_caught();
    let ctx = tributary::parse::FeedContext {
        url: "https://a.example/rss",
        content_type: Some("application/rss+xml"),
        fetched_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    };
    let feed = tributary::parse::parse(doc.as_bytes(), &ctx).unwrap();
    assert_eq!(feed.articles.len(), 3);
    assert_eq!(
        tributary::parse::panics_caught(),
        before,
        "feed-rs panicked"
    );
}

/// The same feed-rs 3.0.0 bug (`parse_person_name_email` cutting one byte before or after
/// the e-mail address) reached through JSON Feed author names, which have no fallback
/// reader: every item must still be read, without a panic.
#[test]
fn an_email_glued_to_a_multibyte_character_in_a_json_author_does_not_crash_the_parser() {
    let doc = r#"{"version":"https://jsonfeed.org/version/1.1","title":"T",
        "home_page_url":"https://a.example/","author":{"name":"‡ed@a.example‡"},
        "items":[
          {"id":"1","title":"One","url":"https://a.example/1","content_text":"x",
           "author":{"name":"«news@a.example»"}},
          {"id":"2","title":"Two","url":"https://a.example/2","content_text":"y",
           "authors":[{"name":"é<[(b@a.example"},"c@a.example>])éé"]},
          {"id":"3","title":"Three","url":"https://a.example/3","content_text":"z",
           "authors":[{"name":"José <jose@a.example>"}]}
        ]}"#;
    let before = tributary::parse::panics_caught();
    let ctx = tributary::parse::FeedContext {
        url: "https://a.example/feed.json",
        content_type: Some("application/feed+json"),
        fetched_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    };
    let feed = tributary::parse::parse(doc.as_bytes(), &ctx).unwrap();
    let titles: Vec<&str> = feed.articles.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(titles, ["One", "Two", "Three"]);
    assert_eq!(feed.articles[2].authors, ["José"]);
    assert_eq!(
        tributary::parse::panics_caught(),
        before,
        "feed-rs panicked"
    );
}

/// Relative links resolve against the entry's xml:base, else the feed's own link, else the
/// URL the feed was fetched from.
#[test]
fn relative_links_resolve_against_xml_base_then_the_feeds_link_then_its_url() {
    let ctx = tributary::parse::FeedContext {
        url: "https://feeds.example/x/rss.xml",
        content_type: Some("application/rss+xml"),
        fetched_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    };
    let rss = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>\
        <link>https://www.site.example/blog/</link>\
        <item><title>One</title><link>2024/one.html</link></item></channel></rss>";
    let feed = tributary::parse::parse(rss.as_bytes(), &ctx).unwrap();
    assert_eq!(
        feed.articles[0].url.as_deref(),
        Some("https://www.site.example/blog/2024/one.html")
    );
    let atom = "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title>\
        <link rel=\"self\" href=\"https://feeds.example/x/atom.xml\"/>\
        <link href=\"https://www.site.example/blog/\"/>\
        <entry><id>1</id><title>One</title><link href=\"one.html\"/></entry>\
        <entry xml:base=\"https://other.example/a/\"><id>2</id><title>Two</title><link href=\"two.html\"/></entry>\
        </feed>";
    let feed = tributary::parse::parse(atom.as_bytes(), &ctx).unwrap();
    let urls: Vec<_> = feed.articles.iter().map(|a| a.url.as_deref()).collect();
    assert_eq!(
        urls,
        [
            Some("https://www.site.example/blog/one.html"),
            Some("https://other.example/a/two.html")
        ]
    );
    let bare = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>\
        <item><title>One</title><link>one.html</link></item></channel></rss>";
    let feed = tributary::parse::parse(bare.as_bytes(), &ctx).unwrap();
    assert_eq!(
        feed.articles[0].url.as_deref(),
        Some("https://feeds.example/x/one.html")
    );
}
