//! Article pages: which copies want their page fetched, and what fetching it gave.
//!
//! Ingest marks a copy's page as wanted inside the feed's own transaction (so a crash
//! cannot lose the want), the page fetcher reads the due ones, and the writer records each
//! result with the copy's new fingerprint in one transaction. The article text from a page
//! is kept here, beside the copy's row, not over the feed's own fields: the next poll of
//! the feed compares the feed's item with what the feed said before, not with the page.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::postgres::pages as pg;
use super::{Backend, Batch, On, Result, Store, secs, time};
use crate::config::FullText;
use crate::model::PageState;

/// A page due to be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuePage {
    /// The copy it completes.
    pub article: i64,
    /// The copy's feed.
    pub feed_id: i64,
    /// The URL that feed is polled at (its permanent redirect, when it has one): a page on
    /// the same host is the feed's own.
    pub feed_url: String,
    /// The page: the item's link.
    pub url: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Validators of the last fetch of this page.
    pub etag: Option<String>,
    /// `Last-Modified` of the last fetch of this page.
    pub last_modified: Option<String>,
}

/// What one attempt at a page gave, to record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageWrite {
    /// Where the page stands now.
    pub state: Option<PageState>,
    /// Why it failed, was refused or held no article.
    pub reason: Option<String>,
    /// When to try again (a failure with attempts left); `None` when final.
    pub due: Option<DateTime<Utc>>,
    /// The URL that answered, after redirects.
    pub final_url: Option<String>,
    /// The article, sanitised HTML (a `Done` page).
    pub content: Option<String>,
    /// Words of the article's text.
    pub words: Option<usize>,
    /// The page's headline.
    pub title: Option<String>,
    /// The page's byline.
    pub byline: Option<String>,
    /// Validators to send when the page is fetched again.
    pub etag: Option<String>,
    /// `Last-Modified` to send when the page is fetched again.
    pub last_modified: Option<String>,
    /// Not attempted: held back for its host (not counted as an attempt).
    pub deferred: bool,
}

/// A copy's page as `explain` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRecord {
    /// Where it stands.
    pub state: PageState,
    /// The page asked for.
    pub url: String,
    /// Where it was, after redirects.
    pub final_url: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// When the last attempt ended.
    pub fetched: Option<DateTime<Utc>>,
    /// When it is tried (again).
    pub due: Option<DateTime<Utc>>,
    /// Why it failed, was refused or held no article.
    pub reason: Option<String>,
    /// Words of the article's text (a `Done` page).
    pub words: Option<usize>,
}

/// How many copies of one feed are in each page state.
pub type PageCounts = HashMap<PageState, u64>;

impl Batch<'_> {
    /// `feed`'s `full_text` setting, as last synced from feeds.toml.
    pub fn feed_full_text(&self, feed: i64) -> Result<FullText> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::feed_full_text(&mut tx, feed),
        };
        let word: Option<String> =
            b.tx.prepare_cached("SELECT full_text FROM feeds WHERE id = ?1")?
                .query_row([feed], |r| r.get(0))
                .optional()?;
        Ok(word.map_or(FullText::Never, |w| FullText::from_word(&w)))
    }

    /// Marks `article`'s page at `url` as wanted now: a new copy's, or a copy whose link
    /// changed (its page is another page). A page asked for before at the same URL is left
    /// as it is, whatever became of it: an outlet is asked for each page once.
    pub fn want_page(&mut self, article: i64, url: &str, now: DateTime<Utc>) -> Result<()> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::want_page(&mut tx, article, url, now),
        };
        b.tx.prepare_cached(
            "INSERT INTO pages (article_id, url, state, due) VALUES (?1, ?2, 'wanted', ?3)
                 ON CONFLICT (article_id) DO UPDATE SET
                    url = excluded.url, state = 'wanted', due = excluded.due, attempts = 0,
                    reason = NULL, fetched = NULL, final_url = NULL, content = NULL,
                    words = NULL, etag = NULL, last_modified = NULL
                 WHERE pages.url <> excluded.url",
        )?
        .execute(params![article, url, secs(now)])?;
        Ok(())
    }

    /// Records an attempt at `article`'s page that ended at `now`.
    pub fn record_page(&mut self, article: i64, w: &PageWrite, now: DateTime<Utc>) -> Result<()> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::record_page(&mut tx, article, w, now),
        };
        let state = w.state.unwrap_or(PageState::Failed);
        b.tx.prepare_cached(
            "UPDATE pages SET state = ?2, attempts = attempts + ?13, due = ?3, reason = ?4,
                    fetched = ?5, final_url = COALESCE(?6, final_url),
                    content = CASE WHEN ?2 = 'done' THEN COALESCE(?7, content) END,
                    words = CASE WHEN ?2 = 'done' THEN COALESCE(?8, words) END,
                    title = COALESCE(?9, title), byline = COALESCE(?10, byline),
                    etag = COALESCE(?11, etag), last_modified = COALESCE(?12, last_modified)
                 WHERE article_id = ?1",
        )?
        .execute(params![
            article,
            state.as_str(),
            w.due.map(secs),
            w.reason,
            secs(now),
            w.final_url,
            w.content,
            w.words.map(|n| n as i64),
            w.title,
            w.byline,
            w.etag,
            w.last_modified,
            if w.deferred { 0 } else { 1 },
        ])?;
        Ok(())
    }

    /// Gives `article` the page's headline and byline where its feed gave none (the
    /// feed's own fields, and so its content hash, stay otherwise as the feed wrote them).
    pub fn fill_from_page(
        &mut self,
        article: i64,
        title: Option<&str>,
        byline: Option<&str>,
    ) -> Result<()> {
        let authors = byline.map(|b| serde_json::to_string(&[b]).unwrap_or_default());
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => {
                return pg::fill_from_page(&mut tx, article, title, authors.as_deref());
            }
        };
        b.tx.prepare_cached(
            "UPDATE articles SET
                    title = CASE WHEN trim(title) = '' AND ?2 IS NOT NULL THEN ?2 ELSE title END,
                    authors = CASE WHEN authors = '[]' AND ?3 IS NOT NULL THEN ?3 ELSE authors END
                 WHERE id = ?1",
        )?
        .execute(params![article, title, authors])?;
        Ok(())
    }
}

impl Batch<'_> {
    /// The article `article`'s page gave, sanitised HTML, when it gave one.
    pub fn page_content(&self, article: i64) -> Result<Option<String>> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::page_content(&mut tx, article),
        };
        Ok(b.tx
            .prepare_cached("SELECT content FROM pages WHERE article_id = ?1 AND state = 'done'")?
            .query_row([article], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }
}

impl Store {
    /// Up to `limit` pages due at `now`, the longest waiting first, skipping `busy` ones
    /// (in flight).
    pub fn due_pages(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        busy: &dyn Fn(i64) -> bool,
    ) -> Result<Vec<DuePage>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.due_pages(now, limit, busy),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT p.article_id, a.feed_id, COALESCE(f.redirect_url, f.url), p.url, p.attempts,
                    p.etag, p.last_modified
             FROM pages p JOIN articles a ON a.id = p.article_id JOIN feeds f ON f.id = a.feed_id
             WHERE p.due IS NOT NULL AND p.due <= ?1
             ORDER BY p.due, p.article_id",
        )?;
        let mut rows = stmt.query([secs(now)])?;
        let mut due = Vec::new();
        while let Some(r) = rows.next()? {
            let article: i64 = r.get(0)?;
            if busy(article) {
                continue;
            }
            due.push(DuePage {
                article,
                feed_id: r.get(1)?,
                feed_url: r.get(2)?,
                url: r.get(3)?,
                attempts: r.get::<_, i64>(4)?.clamp(0, u32::MAX as i64) as u32,
                etag: r.get(5)?,
                last_modified: r.get(6)?,
            });
            if due.len() >= limit {
                break;
            }
        }
        Ok(due)
    }

    /// When the next page is due, if any is.
    pub fn next_page_due(&self) -> Result<Option<DateTime<Utc>>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.next_page_due(),
        };
        let t: Option<i64> = conn
            .prepare_cached("SELECT MIN(due) FROM pages WHERE due IS NOT NULL")?
            .query_row([], |r| r.get(0))?;
        Ok(t.map(time))
    }

    /// `article`'s page, when one was wanted.
    pub fn page(&self, article: i64) -> Result<Option<PageRecord>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.page(article),
        };
        conn.prepare_cached(
            "SELECT state, url, final_url, attempts, fetched, due, reason, words
                 FROM pages WHERE article_id = ?1",
        )?
        .query_row([article], |r| {
            let state: String = r.get(0)?;
            Ok(PageRecord {
                state: PageState::parse(&state).unwrap_or(PageState::Failed),
                url: r.get(1)?,
                final_url: r.get(2)?,
                attempts: r.get::<_, i64>(3)?.clamp(0, u32::MAX as i64) as u32,
                fetched: r.get::<_, Option<i64>>(4)?.map(time),
                due: r.get::<_, Option<i64>>(5)?.map(time),
                reason: r.get(6)?,
                words: r.get::<_, Option<i64>>(7)?.map(|n| n.max(0) as usize),
            })
        })
        .optional()
        .map_err(Into::into)
    }

    /// For each feed, how many of its copies' pages are in each state.
    pub fn page_counts(&self) -> Result<HashMap<i64, PageCounts>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.page_counts(),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT a.feed_id, p.state, COUNT(*) FROM pages p JOIN articles a ON a.id = p.article_id
             GROUP BY a.feed_id, p.state",
        )?;
        let mut rows = stmt.query([])?;
        let mut counts: HashMap<i64, PageCounts> = HashMap::new();
        while let Some(r) = rows.next()? {
            let state: String = r.get(1)?;
            if let Some(state) = PageState::parse(&state) {
                let n: i64 = r.get(2)?;
                *counts
                    .entry(r.get(0)?)
                    .or_default()
                    .entry(state)
                    .or_default() += n.max(0) as u64;
            }
        }
        Ok(counts)
    }
}
