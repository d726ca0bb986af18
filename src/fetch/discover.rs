//! Feed autodiscovery: the feeds an HTML page advertises with
//! `<link rel="alternate" type="application/rss+xml|atom+xml|feed+json" href=...>`.

use scraper::{Html, Selector};

/// MIME types of the feed formats we read.
const FEED_TYPES: [&str; 4] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
];

/// Whether `body` looks like an HTML page rather than a feed.
pub fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|t| t.to_ascii_lowercase().contains("html")) {
        return true;
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    head.contains("<!doctype html") || head.contains("<html")
}

/// The advertised feed URLs of an HTML page, resolved against `base`, in page order.
pub fn advertised_feeds(html: &str, base: &url::Url) -> Vec<url::Url> {
    let doc = Html::parse_document(html);
    let (Ok(links), Ok(bases)) = (
        Selector::parse("link[rel][href]"),
        Selector::parse("base[href]"),
    ) else {
        return Vec::new();
    };
    let base = doc
        .select(&bases)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| base.join(h).ok())
        .unwrap_or_else(|| base.clone());
    let mut found = Vec::new();
    for link in doc.select(&links) {
        let el = link.value();
        let rel_alternate = el.attr("rel").is_some_and(|r| {
            r.split_ascii_whitespace()
                .any(|w| w.eq_ignore_ascii_case("alternate"))
        });
        let feed_type = el.attr("type").map(|t| t.trim().to_ascii_lowercase());
        if !rel_alternate
            || !feed_type
                .as_deref()
                .is_some_and(|t| FEED_TYPES.contains(&t))
        {
            continue;
        }
        if let Some(url) = el.attr("href").and_then(|h| base.join(h.trim()).ok())
            && matches!(url.scheme(), "http" | "https")
            && !found.contains(&url)
        {
            found.push(url);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_alternate_feeds_resolved_against_the_page() {
        let html = r#"<!doctype html><html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="alternate" type="application/rss+xml" href="/rss.xml" title="RSS">
            <link rel="Alternate" type="application/atom+xml" href="https://other.example/atom">
            <link rel="alternate" type="text/html" href="/fr/">
            </head><body></body></html>"#;
        let base = url::Url::parse("https://news.example/world/").unwrap();
        let got = advertised_feeds(html, &base);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_str(), "https://news.example/rss.xml");
        assert_eq!(got[1].as_str(), "https://other.example/atom");
    }
}
