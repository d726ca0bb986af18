//! Feed rows: mirroring feeds.toml into the database and listing feeds with their state.

use std::collections::HashMap;

use rusqlite::params;

use super::{Backend, Result, Store, time};
use crate::config::{Config, FeedConfig, FullText};
use crate::model::{FailureKind, FetchStatus};

/// What the store needs to know of a configured feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSpec {
    /// The URL as configured, normalised (`config::normalize_feed_url`): the row's identity.
    pub url: String,
    /// The name in feeds.toml.
    pub name: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Whether its items' pages are fetched (`[fetch].full_text` or its own).
    pub full_text: FullText,
}

impl FeedSpec {
    /// The store's view of a feeds.toml entry of `config` (its URL normalised: the row's
    /// identity).
    pub fn of(config: &Config, f: &FeedConfig) -> FeedSpec {
        FeedSpec {
            url: crate::config::normalize_feed_url(f.url()),
            name: f.name().to_string(),
            tags: f.tags.clone(),
            full_text: config.full_text_of(f),
        }
    }
}

/// A feed with its fetch state, as `feeds list` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedRow {
    /// Database id.
    pub id: i64,
    /// Normalised configured URL.
    pub url: String,
    /// Name from feeds.toml at the last sync.
    pub name: String,
    /// The feed's own title, once fetched.
    pub title: Option<String>,
    /// The feed's website.
    pub site_url: Option<String>,
    /// When the last poll ended.
    pub last_fetch: Option<chrono::DateTime<chrono::Utc>>,
    /// How the last poll ended.
    pub last_status: Option<FetchStatus>,
    /// HTTP status of the last poll.
    pub last_http: Option<u16>,
    /// The last error, while the feed is failing.
    pub last_error: Option<String>,
    /// Its class.
    pub last_error_kind: Option<FailureKind>,
    /// Consecutive failures.
    pub error_count: u32,
    /// When the next poll is due.
    pub next_fetch: Option<chrono::DateTime<chrono::Utc>>,
    /// A permanent redirect target in use instead of the configured URL.
    pub redirect_url: Option<String>,
    /// 410 seen: not polled until re-enabled.
    pub gone: bool,
    /// Stored articles of this feed.
    pub articles: i64,
}

impl Store {
    /// Makes the feed rows match the config: inserts new URLs, updates names and tags.
    /// Rows of feeds no longer configured stay (their articles do until retention).
    /// Returns the database id of each configured URL.
    pub fn sync_feeds(&mut self, feeds: &[FeedSpec]) -> Result<HashMap<String, i64>> {
        let conn = match &mut self.db {
            super::Db::Sqlite(c) => c,
            super::Db::Postgres(pg) => return pg.sync_feeds(feeds),
        };
        let now = chrono::Utc::now().timestamp();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut ids = HashMap::with_capacity(feeds.len());
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO feeds (url, name, created, full_text) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (url) DO UPDATE SET name = excluded.name, full_text = excluded.full_text
                 RETURNING id",
            )?;
            let mut clear_tags = tx.prepare_cached("DELETE FROM feed_tags WHERE feed_id = ?1")?;
            let mut add_tag = tx
                .prepare_cached("INSERT OR IGNORE INTO feed_tags (feed_id, tag) VALUES (?1, ?2)")?;
            for feed in feeds {
                let id: i64 = upsert.query_row(
                    params![feed.url, feed.name, now, feed.full_text.as_str()],
                    |r| r.get(0),
                )?;
                clear_tags.execute([id])?;
                for tag in &feed.tags {
                    add_tag.execute(params![id, tag])?;
                }
                ids.insert(feed.url.clone(), id);
            }
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Every feed row with its state and article count, by name.
    pub fn feed_rows(&self) -> Result<Vec<FeedRow>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.feed_rows(),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT f.id, f.url, f.name, f.title, f.site_url, f.last_fetch, f.last_status, f.last_http,
                    f.last_error, f.error_count, f.next_fetch, f.redirect_url, f.gone,
                    (SELECT count(*) FROM articles a WHERE a.feed_id = f.id), f.last_error_kind
             FROM feeds f ORDER BY f.name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FeedRow {
                id: r.get(0)?,
                url: r.get(1)?,
                name: r.get(2)?,
                title: r.get(3)?,
                site_url: r.get(4)?,
                last_fetch: r.get::<_, Option<i64>>(5)?.map(time),
                last_status: r
                    .get::<_, Option<String>>(6)?
                    .as_deref()
                    .and_then(FetchStatus::parse),
                last_http: r.get::<_, Option<u16>>(7)?,
                last_error: r.get(8)?,
                error_count: r.get(9)?,
                next_fetch: r.get::<_, Option<i64>>(10)?.map(time),
                redirect_url: r.get(11)?,
                gone: r.get(12)?,
                articles: r.get(13)?,
                last_error_kind: r
                    .get::<_, Option<String>>(14)?
                    .as_deref()
                    .and_then(FailureKind::parse),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Per feed id, how many of its copies sit in a story another feed's copy represents:
    /// its articles merged into other outlets' stories (the sources page). Reads every
    /// copy: the feed of each article comes from the `(feed_id, key)` index and the
    /// representative's feed from its story's copies (a window over the story), so no
    /// article row is read — looking up each representative's row instead took 6.1 s on
    /// 1,000,000 articles against 2.1 s (`serve_bench --pages 1`, BENCHMARKS.md).
    pub fn copies_in_others_stories(&self) -> Result<HashMap<i64, i64>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.copies_in_others_stories(),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT feed_id, count(*) FROM (
                 SELECT a.feed_id AS feed_id,
                        max(CASE WHEN a.id = s.representative THEN a.feed_id END)
                            OVER (PARTITION BY c.story_id) AS rep_feed
                 FROM articles a JOIN copies c ON c.article_id = a.id
                      JOIN stories s ON s.id = c.story_id)
             WHERE rep_feed <> feed_id
             GROUP BY feed_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Each feed of `config`, in its order, with its row (None before the row exists): what
    /// `feeds list` and the sources page show.
    pub fn configured_feed_rows<'c>(
        &self,
        config: &'c Config,
    ) -> Result<Vec<(&'c FeedConfig, Option<FeedRow>)>> {
        let mut rows: HashMap<String, FeedRow> = self
            .feed_rows()?
            .into_iter()
            .map(|r| (r.url.clone(), r))
            .collect();
        Ok(config
            .feeds
            .iter()
            .map(|f| (f, rows.remove(&crate::config::normalize_feed_url(f.url()))))
            .collect())
    }

    /// Clears the 410 mark of a feed so it is polled again (`feeds enable`). Returns whether
    /// a feed with that URL exists.
    pub fn reenable_feed(&mut self, url: &str) -> Result<bool> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.reenable_feed(url),
        };
        let n = conn.execute(
            "UPDATE feeds SET gone = 0, error_count = 0, next_fetch = NULL,
                 last_error = NULL, last_error_kind = NULL WHERE url = ?1",
            [url],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str, name: &str, tags: &[&str]) -> FeedSpec {
        FeedSpec {
            url: url.into(),
            name: name.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            full_text: FullText::Never,
        }
    }

    #[test]
    fn sync_inserts_then_renames_without_changing_ids() {
        crate::store::on_each_backend("sync_feeds", |store| {
            let a = store
                .sync_feeds(&[spec("https://a.example/rss", "A", &["world"])])
                .unwrap();
            let b = store
                .sync_feeds(&[spec("https://a.example/rss", "A renamed", &[])])
                .unwrap();
            assert_eq!(a, b);
            let rows = store.feed_rows().unwrap();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].name, "A renamed");
            assert_eq!(rows[0].articles, 0);
            assert_eq!(rows[0].last_status, None);
            assert!(store.copies_in_others_stories().unwrap().is_empty());
        });
    }
}
