//! The sources page `/sources`: each configured feed's health as a subscriber may see it —
//! tags, last fetch and its result, next fetch, errors in words, articles, and how many of
//! its copies were merged into other outlets' stories. Read-only, and without secrets: a
//! feed URL's `user:password@` is dropped (`config::public_url`), and so is any in an error
//! sentence (`config::redact_credentials`), since fetch errors name the URL they were about.

use chrono::{DateTime, Utc};

use super::safe;
use crate::config::{Config, public_url, redact_credentials};
use crate::model::FetchStatus;
use crate::store::{Store, StoreError};

/// Everything the sources page shows.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The site's title (`[server].title`).
    pub site_title: String,
    /// The configured feeds, in feeds.toml order.
    pub feeds: Vec<Source>,
}

/// One feed's health.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its name in feeds.toml.
    pub name: String,
    /// Its URL without credentials.
    pub url: String,
    /// The title the feed gives itself, once fetched.
    pub title: Option<String>,
    /// The feed's website, when it names an http(s) one.
    pub site_url: Option<url::Url>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Polled at all (`enabled = true` and no 410 seen).
    pub polled: bool,
    /// When the last poll ended.
    pub last_fetch: Option<DateTime<Utc>>,
    /// How it ended, in words.
    pub result: String,
    /// When the next poll is due.
    pub next_fetch: Option<DateTime<Utc>>,
    /// Consecutive failures.
    pub error_count: u32,
    /// The last error, in words, without credentials.
    pub last_error: Option<String>,
    /// Where the feed moved (a permanent redirect), without credentials.
    pub moved_to: Option<String>,
    /// Its stored articles.
    pub articles: i64,
    /// Its copies in stories another outlet's copy represents.
    pub merged_elsewhere: i64,
}

/// How a poll ended, in words.
fn result_in_words(status: Option<FetchStatus>, http: Option<u16>) -> String {
    let http = http.map_or(String::new(), |h| format!(" (HTTP {h})"));
    match status {
        None => "not fetched yet".into(),
        Some(FetchStatus::Ok) => format!("fetched{http}"),
        Some(FetchStatus::NotModified) => format!("unchanged since the poll before{http}"),
        Some(FetchStatus::Error) => format!("failed{http}"),
        Some(FetchStatus::RateLimited) => {
            format!("rate limited: waiting as the server asked{http}")
        }
        Some(FetchStatus::Gone) => {
            "gone: the server answered 410, so it is not polled until the operator re-enables it"
                .into()
        }
    }
}

/// A URL as stored (text) without its credentials.
fn public(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => public_url(&u).to_string(),
        Err(_) => redact_credentials(url).into_owned(),
    }
}

/// Reads the sources page's content: the configured feeds with their stored state.
pub fn load(store: &Store, config: &Config) -> Result<Sources, StoreError> {
    let elsewhere = store.copies_in_others_stories()?;
    let feeds = store
        .configured_feed_rows(config)?
        .into_iter()
        .map(|(f, row)| {
            let row = row.as_ref();
            let error = row.and_then(|r| {
                let sentence = safe::title(&redact_credentials(r.last_error.as_deref()?));
                Some(match r.last_error_kind {
                    Some(kind) => format!("{sentence} ({})", kind.as_str().replace('_', " ")),
                    None => sentence,
                })
            });
            Source {
                name: safe::title(f.name()),
                url: public_url(f.url()).to_string(),
                title: row.and_then(|r| r.title.as_deref()).map(safe::title),
                site_url: safe::http_url(row.and_then(|r| r.site_url.as_deref()))
                    .map(|u| public_url(&u)),
                tags: f.tags.iter().map(|t| safe::title(t)).collect(),
                polled: f.enabled && !row.is_some_and(|r| r.gone),
                last_fetch: row.and_then(|r| r.last_fetch),
                result: result_in_words(
                    row.and_then(|r| r.last_status),
                    row.and_then(|r| r.last_http),
                ),
                next_fetch: row.and_then(|r| r.next_fetch),
                error_count: row.map_or(0, |r| r.error_count),
                last_error: error,
                moved_to: row.and_then(|r| r.redirect_url.as_deref()).map(public),
                articles: row.map_or(0, |r| r.articles),
                merged_elsewhere: row.and_then(|r| elsewhere.get(&r.id).copied()).unwrap_or(0),
            }
        })
        .collect();
    Ok(Sources {
        site_title: safe::title(&config.server.title),
        feeds,
    })
}

impl Sources {
    /// The latest poll among the feeds: the page's `Last-Modified`.
    pub fn last_changed(&self) -> Option<DateTime<Utc>> {
        self.feeds.iter().filter_map(|f| f.last_fetch).max()
    }
}
