//! Feed rows on PostgreSQL: `store/feeds.rs`'s statements in PostgreSQL's dialect.

use std::collections::HashMap;

use postgres::Row;

use super::Pg;
use crate::model::{FailureKind, FetchStatus};
use crate::store::{FeedRow, FeedSpec, Result, time};

fn read_row(r: &Row) -> Result<FeedRow, postgres::Error> {
    Ok(FeedRow {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        name: r.try_get(2)?,
        title: r.try_get(3)?,
        site_url: r.try_get(4)?,
        last_fetch: r.try_get::<_, Option<i64>>(5)?.map(time),
        last_status: r
            .try_get::<_, Option<String>>(6)?
            .as_deref()
            .and_then(FetchStatus::parse),
        last_http: r
            .try_get::<_, Option<i64>>(7)?
            .and_then(|h| u16::try_from(h).ok()),
        last_error: r.try_get(8)?,
        error_count: u32::try_from(r.try_get::<_, i64>(9)?).unwrap_or(u32::MAX),
        next_fetch: r.try_get::<_, Option<i64>>(10)?.map(time),
        redirect_url: r.try_get(11)?,
        gone: r.try_get::<_, i64>(12)? != 0,
        articles: r.try_get(13)?,
        last_error_kind: r
            .try_get::<_, Option<String>>(14)?
            .as_deref()
            .and_then(FailureKind::parse),
    })
}

impl Pg {
    pub(crate) fn sync_feeds(&self, feeds: &[FeedSpec]) -> Result<HashMap<String, i64>> {
        // Daemons sharing the database write the same rows meanwhile (fetch state, in the
        // order their polls end).
        super::retry_on_deadlock(|| self.sync_feeds_once(feeds))
    }

    fn sync_feeds_once(&self, feeds: &[FeedSpec]) -> Result<HashMap<String, i64>> {
        let now = chrono::Utc::now().timestamp();
        self.with(|c| {
            let mut tx = c.transaction()?;
            let upsert = tx.prepare(
                "INSERT INTO feeds (url, name, created, full_text) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (url) DO UPDATE SET name = excluded.name, full_text = excluded.full_text
                 RETURNING id",
            )?;
            let clear_tags = tx.prepare("DELETE FROM feed_tags WHERE feed_id = $1")?;
            let add_tag = tx.prepare(
                "INSERT INTO feed_tags (feed_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )?;
            let mut ids = HashMap::with_capacity(feeds.len());
            for feed in feeds {
                let id: i64 = tx
                    .query_one(
                        &upsert,
                        &[&feed.url, &feed.name, &now, &feed.full_text.as_str()],
                    )?
                    .try_get(0)?;
                tx.execute(&clear_tags, &[&id])?;
                for tag in &feed.tags {
                    tx.execute(&add_tag, &[&id, tag])?;
                }
                ids.insert(feed.url.clone(), id);
            }
            tx.commit()?;
            Ok(ids)
        })
    }

    pub(crate) fn feed_rows(&self) -> Result<Vec<FeedRow>> {
        self.with(|c| {
            c.query(
                "SELECT f.id, f.url, f.name, f.title, f.site_url, f.last_fetch, f.last_status, f.last_http,
                        f.last_error, f.error_count, f.next_fetch, f.redirect_url, f.gone,
                        (SELECT count(*) FROM articles a WHERE a.feed_id = f.id), f.last_error_kind
                 FROM feeds f ORDER BY f.name",
                &[],
            )?
            .iter()
            .map(read_row)
            .collect()
        })
    }

    pub(crate) fn copies_in_others_stories(&self) -> Result<HashMap<i64, i64>> {
        self.with(|c| {
            c.query(
                "SELECT feed_id, count(*) FROM (
                     SELECT a.feed_id AS feed_id,
                            max(CASE WHEN a.id = s.representative THEN a.feed_id END)
                                OVER (PARTITION BY c.story_id) AS rep_feed
                     FROM articles a JOIN copies c ON c.article_id = a.id
                          JOIN stories s ON s.id = c.story_id) AS per_copy
                 WHERE rep_feed <> feed_id
                 GROUP BY feed_id",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })
    }

    pub(crate) fn reenable_feed(&self, url: &str) -> Result<bool> {
        let n = self.with(|c| {
            c.execute(
                "UPDATE feeds SET gone = 0, error_count = 0, next_fetch = NULL,
                     last_error = NULL, last_error_kind = NULL WHERE url = $1",
                &[&url],
            )
        })?;
        Ok(n > 0)
    }
}
