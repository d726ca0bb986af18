//! A labelled real-news document (the `tests/data/real-*.json` format) as the one-item RSS
//! feed `shared/tools/make_case.py` serves for it: a 40-word description plus the full text
//! as `content:encoded`, or (`lede`) a 45-word description alone. Shared by
//! `tests/dedup_real.rs`, `examples/dedup-eval.rs` and `examples/fulltext-dedup.rs`, so
//! they judge the same feeds. The XML is written by the tests' feed builder (`feeds.rs`).

use chrono::{Duration, NaiveDate, TimeZone, Utc};

// The tests' feed builder, declared here because the examples include this file alone.
#[allow(dead_code)]
#[path = "feeds.rs"]
pub mod feeds;

pub use feeds::esc;
use feeds::{Feed, Item};

/// The feed of document `d`, the `index`-th of its set (which spreads publication times
/// over the day, as make_case.py does). `date` overrides the document's date (YYYY-MM-DD).
pub fn real_item_feed(
    d: &serde_json::Value,
    index: usize,
    lede: bool,
    date: Option<&str>,
) -> Vec<u8> {
    let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
    let mut day: String = match date {
        Some(day) => day.to_string(),
        None => s("date").chars().take(10).collect(),
    };
    if day.len() == 7 {
        day.push_str("-15");
    }
    let when = NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok().map(|d| {
        Utc.from_utc_datetime(&d.and_hms_opt(8, 0, 0).unwrap_or_default())
            + Duration::minutes(7 * (index as i64 % 60))
    });
    let text = s("text");
    let words: Vec<&str> = text.split_whitespace().collect();
    let n = if lede { 45 } else { 40 };
    let mut desc = words[..n.min(words.len())].join(" ");
    if words.len() > n {
        desc.push('…');
    }
    let mut item = Item::new(&s("title"), &s("url"))
        .guid(&format!("{}-{index}", s("id")))
        .description(&desc);
    if let Some(w) = when {
        item = item.published(&w.to_rfc2822());
    }
    if !lede {
        let content: String = text
            .split('\n')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("<p>{}</p>", esc(p)))
            .collect();
        item = item.content(&content);
    }
    let outlet = s("outlet");
    Feed::new(&outlet)
        .link(&format!("https://{outlet}/"))
        .description("news")
        .channel(&format!("<language>{}</language>", esc(&s("language"))))
        .item(item)
        .rss()
        .into_bytes()
}
