//! Repair + parse + normalise over arbitrary bytes: must never panic (a panic caught inside
//! the parse stage counts as a finding too), never hang, and every article it returns must
//! honour the model's promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary::parse::{FeedContext, panics_caught, parse};

fuzz_target!(|data: &[u8]| {
    let fetched_at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let ctx = FeedContext {
        url: "https://fuzz.example/feed/rss.xml",
        content_type: Some("application/rss+xml; charset=utf-8"),
        fetched_at,
    };
    let before = panics_caught();
    if let Ok(feed) = parse(data, &ctx) {
        for a in &feed.articles {
            assert!(!a.title.trim().is_empty(), "empty title");
            assert!(!a.key.is_empty(), "empty key");
            for html in a.summary_html.iter().chain(a.content_html.iter()) {
                let lower = html.to_ascii_lowercase();
                assert!(!lower.contains("<script"), "script survived: {html}");
                assert!(!lower.contains("javascript:") || !lower.contains("href=\"javascript:"));
            }
        }
    }
    assert_eq!(panics_caught(), before, "a panic was caught inside the parse stage");
});
