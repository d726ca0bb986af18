//! Canonical article URLs: absolute, scheme and host lowercased, default port, fragment and
//! tracking parameters dropped, every other parameter kept in order. Two copies of one
//! article reached through different campaigns get the same URL.

use url::Url;

use super::policy::{TRACKING_PARAMS, TRACKING_PREFIXES};

/// Resolves `href` against `base` (when relative) and canonicalises it; `None` for what is
/// not an http(s) URL.
pub fn canonical(href: &str, base: Option<&Url>) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let mut url = match Url::parse(href) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(href).ok()?,
        Err(_) => return None,
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    if let Some(query) = url.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !is_tracking(pair))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else if kept.len() != query.split('&').count() {
            let joined = kept.join("&");
            url.set_query(Some(&joined));
        }
    }
    Some(url)
}

/// Resolves any URL (an enclosure, an image) against `base` without dropping parameters.
pub fn absolute(href: &str, base: Option<&Url>) -> Option<String> {
    let href = href.trim();
    match Url::parse(href) {
        Ok(url) => Some(url.to_string()),
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(href).ok().map(String::from),
        Err(_) => None,
    }
}

fn is_tracking(pair: &str) -> bool {
    let key = pair.split('=').next().unwrap_or(pair).to_ascii_lowercase();
    TRACKING_PARAMS.contains(&key.as_str()) || TRACKING_PREFIXES.iter().any(|p| key.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(href: &str, base: &str) -> Option<String> {
        canonical(href, Url::parse(base).ok().as_ref()).map(String::from)
    }

    #[test]
    fn canonical_urls() {
        assert_eq!(
            canon(
                "HTTPS://News.Example.COM:443/a/b?id=3&utm_source=rss&x=1&fbclid=z#frag",
                ""
            )
            .as_deref(),
            Some("https://news.example.com/a/b?id=3&x=1")
        );
        assert_eq!(
            canon("../c?utm_medium=x", "http://e.com/a/b/").as_deref(),
            Some("http://e.com/a/c")
        );
        assert_eq!(
            canon("http://e.com:8080/?b=2&a=1", "").as_deref(),
            Some("http://e.com:8080/?b=2&a=1")
        );
        assert_eq!(canon("urn:uuid:1234", ""), None);
        assert_eq!(canon("javascript:alert(1)", "http://e.com/"), None);
        assert_eq!(canon("/x", ""), None);
    }
}
