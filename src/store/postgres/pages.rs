//! Article pages on PostgreSQL: `store/pages.rs`'s statements in PostgreSQL's dialect
//! (parameters used as text typed with `::text`, which PostgreSQL cannot infer in `CASE`).

use std::collections::HashMap;

use super::PgTx;
use chrono::{DateTime, Utc};

use super::Pg;
use crate::config::FullText;
use crate::model::PageState;
use crate::store::{DuePage, PageCounts, PageRecord, PageWrite, Result, secs, time};

pub(crate) fn feed_full_text(tx: &mut PgTx<'_>, feed: i64) -> Result<FullText> {
    let word: Option<String> = tx
        .query_opt("SELECT full_text FROM feeds WHERE id = $1", &[&feed])?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(word.map_or(FullText::Never, |w| FullText::from_word(&w)))
}

pub(crate) fn want_page(
    tx: &mut PgTx<'_>,
    article: i64,
    url: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO pages (article_id, url, state, due) VALUES ($1, $2, 'wanted', $3)
         ON CONFLICT (article_id) DO UPDATE SET
            url = excluded.url, state = 'wanted', due = excluded.due, attempts = 0,
            reason = NULL, fetched = NULL, final_url = NULL, content = NULL,
            words = NULL, etag = NULL, last_modified = NULL
         WHERE pages.url <> excluded.url",
        &[&article, &url, &secs(now)],
    )?;
    Ok(())
}

pub(crate) fn record_page(
    tx: &mut PgTx<'_>,
    article: i64,
    w: &PageWrite,
    now: DateTime<Utc>,
) -> Result<()> {
    let state = w.state.unwrap_or(PageState::Failed);
    tx.execute(
        "UPDATE pages SET state = $2::text, attempts = attempts + $13, due = $3, reason = $4,
            fetched = $5, final_url = COALESCE($6, final_url),
            content = CASE WHEN $2::text = 'done' THEN COALESCE($7, content) END,
            words = CASE WHEN $2::text = 'done' THEN COALESCE($8, words) END,
            title = COALESCE($9, title), byline = COALESCE($10, byline),
            etag = COALESCE($11, etag), last_modified = COALESCE($12, last_modified)
         WHERE article_id = $1",
        &[
            &article,
            &state.as_str(),
            &w.due.map(secs),
            &w.reason,
            &secs(now),
            &w.final_url,
            &w.content,
            &w.words.map(|n| n as i64),
            &w.title,
            &w.byline,
            &w.etag,
            &w.last_modified,
            &if w.deferred { 0_i64 } else { 1 },
        ],
    )?;
    Ok(())
}

pub(crate) fn fill_from_page(
    tx: &mut PgTx<'_>,
    article: i64,
    title: Option<&str>,
    authors: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE articles SET
            title = CASE WHEN trim(title) = '' AND $2::text IS NOT NULL THEN $2::text ELSE title END,
            authors = CASE WHEN authors = '[]' AND $3::text IS NOT NULL THEN $3::text ELSE authors END
         WHERE id = $1",
        &[&article, &title, &authors],
    )?;
    Ok(())
}

pub(crate) fn page_content(tx: &mut PgTx<'_>, article: i64) -> Result<Option<String>> {
    Ok(tx
        .query_opt(
            "SELECT content FROM pages WHERE article_id = $1 AND state = 'done'",
            &[&article],
        )?
        .map(|r| r.try_get::<_, Option<String>>(0))
        .transpose()?
        .flatten())
}

fn clamp_u32(n: i64) -> u32 {
    n.clamp(0, i64::from(u32::MAX)) as u32
}

impl Pg {
    pub(crate) fn due_pages(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        busy: &dyn Fn(i64) -> bool,
    ) -> Result<Vec<DuePage>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT p.article_id, a.feed_id, COALESCE(f.redirect_url, f.url), p.url, p.attempts,
                        p.etag, p.last_modified
                 FROM pages p JOIN articles a ON a.id = p.article_id JOIN feeds f ON f.id = a.feed_id
                 WHERE p.due IS NOT NULL AND p.due <= $1
                 ORDER BY p.due, p.article_id",
                &[&secs(now)],
            )
        })?;
        let mut due = Vec::new();
        for r in &rows {
            let article: i64 = r.try_get(0)?;
            if busy(article) {
                continue;
            }
            due.push(DuePage {
                article,
                feed_id: r.try_get(1)?,
                feed_url: r.try_get(2)?,
                url: r.try_get(3)?,
                attempts: clamp_u32(r.try_get(4)?),
                etag: r.try_get(5)?,
                last_modified: r.try_get(6)?,
            });
            if due.len() >= limit {
                break;
            }
        }
        Ok(due)
    }

    pub(crate) fn next_page_due(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> = self.with(|c| {
            c.query_one("SELECT MIN(due) FROM pages WHERE due IS NOT NULL", &[])?
                .try_get(0)
        })?;
        Ok(t.map(time))
    }

    pub(crate) fn page(&self, article: i64) -> Result<Option<PageRecord>> {
        let Some(r) = self.with(|c| {
            c.query_opt(
                "SELECT state, url, final_url, attempts, fetched, due, reason, words
                 FROM pages WHERE article_id = $1",
                &[&article],
            )
        })?
        else {
            return Ok(None);
        };
        Ok(Some(PageRecord {
            state: PageState::parse(r.try_get(0)?).unwrap_or(PageState::Failed),
            url: r.try_get(1)?,
            final_url: r.try_get(2)?,
            attempts: clamp_u32(r.try_get(3)?),
            fetched: r.try_get::<_, Option<i64>>(4)?.map(time),
            due: r.try_get::<_, Option<i64>>(5)?.map(time),
            reason: r.try_get(6)?,
            words: r.try_get::<_, Option<i64>>(7)?.map(|n| n.max(0) as usize),
        }))
    }

    pub(crate) fn page_counts(&self) -> Result<HashMap<i64, PageCounts>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT a.feed_id, p.state, COUNT(*) FROM pages p JOIN articles a ON a.id = p.article_id
                 GROUP BY a.feed_id, p.state",
                &[],
            )
        })?;
        let mut counts: HashMap<i64, PageCounts> = HashMap::new();
        for r in &rows {
            if let Some(state) = PageState::parse(r.try_get(1)?) {
                let n: i64 = r.try_get(2)?;
                *counts
                    .entry(r.try_get(0)?)
                    .or_default()
                    .entry(state)
                    .or_default() += n.max(0) as u64;
            }
        }
        Ok(counts)
    }
}
