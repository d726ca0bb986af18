//! What the dedup stage needs from the database, on PostgreSQL: `store/dedup.rs`'s
//! statements in PostgreSQL's dialect.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::PgTx;

use super::Pg;
use crate::dedup::Fingerprint;
use crate::model::MatchKind;
use crate::store::dedup::{blob, unblob};
use crate::store::{CopyView, Result, StoreError, StoredFingerprint, StoryView, time};

const FP_COLUMNS: &str =
    "f.words, f.text_hash, f.title_hash, f.credit, f.lede_len, f.dense_len, f.site";

fn small(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn fingerprint_from_row(r: &Row, at: usize) -> Result<Fingerprint, postgres::Error> {
    Ok(Fingerprint {
        words: small(r.try_get(at)?),
        text_hash: r.try_get::<_, i64>(at + 1)? as u64,
        title_hash: r.try_get::<_, Option<i64>>(at + 2)?.map(|h| h as u64),
        credit: r.try_get::<_, i64>(at + 3)? != 0,
        lede_len: small(r.try_get(at + 4)?),
        dense_len: small(r.try_get(at + 5)?),
        site: small(r.try_get(at + 6)?),
        shingles: unblob(r.try_get(at + 7)?),
        title_words: unblob(r.try_get(at + 8)?),
        numbers: unblob(r.try_get(at + 9)?),
    })
}

/// A [`StoredFingerprint`] from columns (article, feed, story, published, preferred,
/// representative, fingerprint…).
fn stored_from_row(r: &Row) -> Result<StoredFingerprint, postgres::Error> {
    Ok(StoredFingerprint {
        article: r.try_get(0)?,
        feed: r.try_get(1)?,
        story: r.try_get(2)?,
        published: r.try_get(3)?,
        preferred: r.try_get::<_, i64>(4)? != 0,
        representative: r.try_get::<_, Option<bool>>(5)?.unwrap_or(false),
        fingerprint: fingerprint_from_row(r, 6)?,
    })
}

/// Writes (or, on conflict, replaces) the fingerprint of `article`.
pub(crate) fn write_fingerprint(
    tx: &mut PgTx<'_>,
    (article, feed, published, preferred): (i64, i64, i64, bool),
    fp: &Fingerprint,
) -> Result<()> {
    tx.execute(
        "INSERT INTO fingerprints (article_id, feed_id, published, words, text_hash, title_hash, \
            credit, preferred, lede_len, dense_len, shingles, title_words, numbers, site) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (article_id) DO UPDATE SET feed_id = excluded.feed_id, \
            published = excluded.published, words = excluded.words, \
            text_hash = excluded.text_hash, title_hash = excluded.title_hash, \
            credit = excluded.credit, preferred = excluded.preferred, \
            lede_len = excluded.lede_len, dense_len = excluded.dense_len, \
            shingles = excluded.shingles, title_words = excluded.title_words, \
            numbers = excluded.numbers, site = excluded.site",
        &[
            &article,
            &feed,
            &published,
            &i64::from(fp.words),
            &(fp.text_hash as i64),
            &fp.title_hash.map(|h| h as i64),
            &i64::from(fp.credit),
            &i64::from(preferred),
            &i64::from(fp.lede_len),
            &i64::from(fp.dense_len),
            &blob(&fp.shingles),
            &blob(&fp.title_words),
            &blob(&fp.numbers),
            &i64::from(fp.site),
        ],
    )?;
    Ok(())
}

/// The story of the first copy in another feed whose `url` or `guid` is `key`. The
/// articles are found first by their own index (a materialised CTE: no plan may walk the
/// primary key in id order looking for them), and each one's story by key (a scalar
/// subquery, not a join): during a cold import the planner's statistics lag the tables,
/// and the plans it then picks walk all of `articles` or `copies` for every lookup
/// (`poll_bench` cold took 480–664 s instead of a minute).
fn one_id(c: &mut PgTx<'_>, sql: &str, key: &str, feed: i64) -> Result<Option<i64>> {
    Ok(c.query_opt(sql, &[&key, &feed])?
        .map(|r| r.try_get(0))
        .transpose()?)
}

pub(crate) fn story_by_url(tx: &mut PgTx<'_>, url: &str, feed: i64) -> Result<Option<i64>> {
    one_id(
        tx,
        "WITH found AS MATERIALIZED \
            (SELECT a.id FROM articles a WHERE a.url = $1 AND a.feed_id != $2) \
         SELECT story FROM (SELECT f.id, \
            (SELECT c.story_id FROM copies c WHERE c.article_id = f.id) AS story FROM found f) AS s \
         WHERE story IS NOT NULL ORDER BY id LIMIT 1",
        url,
        feed,
    )
}

pub(crate) fn story_by_guid(tx: &mut PgTx<'_>, guid: &str, feed: i64) -> Result<Option<i64>> {
    one_id(
        tx,
        "WITH found AS MATERIALIZED \
            (SELECT a.id FROM articles a WHERE a.guid = $1 AND a.feed_id != $2) \
         SELECT story FROM (SELECT f.id, \
            (SELECT c.story_id FROM copies c WHERE c.article_id = f.id) AS story FROM found f) AS s \
         WHERE story IS NOT NULL ORDER BY id LIMIT 1",
        guid,
        feed,
    )
}

pub(crate) fn story_exists(tx: &mut PgTx<'_>, story: i64) -> Result<bool> {
    Ok(tx
        .query_opt("SELECT 1 FROM stories WHERE id = $1", &[&story])?
        .is_some())
}

pub(crate) fn copy_of(tx: &mut PgTx<'_>, article: i64) -> Result<Option<(i64, MatchKind)>> {
    let Some(r) = tx.query_opt(
        "SELECT story_id, match FROM copies WHERE article_id = $1",
        &[&article],
    )?
    else {
        return Ok(None);
    };
    let kind = MatchKind::parse(r.try_get(1)?).unwrap_or(MatchKind::First);
    Ok(Some((r.try_get(0)?, kind)))
}

pub(crate) fn story_fingerprints(tx: &mut PgTx<'_>, story: i64) -> Result<Vec<StoredFingerprint>> {
    let sql = format!(
        "SELECT f.article_id, f.feed_id, c.story_id, f.published, f.preferred, false, {FP_COLUMNS}, \
            f.shingles, f.title_words, f.numbers \
         FROM copies c JOIN fingerprints f ON f.article_id = c.article_id WHERE c.story_id = $1"
    );
    Ok(tx
        .query(&sql, &[&story])?
        .iter()
        .map(stored_from_row)
        .collect::<Result<_, _>>()?)
}

pub(crate) fn feed_name(tx: &mut PgTx<'_>, feed: i64) -> Result<String> {
    tx.query_opt("SELECT name FROM feeds WHERE id = $1", &[&feed])?
        .map(|r| r.try_get(0))
        .transpose()?
        .ok_or(StoreError::NoFeed(feed))
}

impl Pg {
    pub(crate) fn newest_fingerprint(&self) -> Result<Option<i64>> {
        self.with(|c| {
            c.query_one("SELECT max(published) FROM fingerprints", &[])?
                .try_get(0)
        })
    }

    pub(crate) fn nth_newest_fingerprint(&self, n: usize) -> Result<Option<i64>> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.with(|c| {
            c.query_opt(
                "SELECT published FROM fingerprints ORDER BY published DESC LIMIT 1 OFFSET $1",
                &[&n],
            )?
            .map(|r| r.try_get(0))
            .transpose()
        })
    }

    pub(crate) fn for_each_live_fingerprint(
        &self,
        since: i64,
        each: &mut dyn FnMut(StoredFingerprint),
    ) -> Result<()> {
        let sql = format!(
            "SELECT f.article_id, f.feed_id, c.story_id, f.published, f.preferred, \
                s.representative = f.article_id, {FP_COLUMNS}, \
                f.shingles, f.title_words, f.numbers \
             FROM fingerprints f JOIN copies c ON c.article_id = f.article_id \
             JOIN stories s ON s.id = c.story_id \
             WHERE f.published >= $1 \
             ORDER BY f.article_id"
        );
        self.with(|c| {
            // A portal streams the rows, so a million fingerprints are never all in memory.
            let mut tx = c.transaction()?;
            let portal = tx.bind(sql.as_str(), &[&since])?;
            loop {
                let rows = tx.query_portal(&portal, 1000)?;
                if rows.is_empty() {
                    break;
                }
                for r in &rows {
                    each(stored_from_row(r)?);
                }
            }
            tx.commit()
        })
    }

    pub(crate) fn fingerprint(&self, article: i64) -> Result<Option<StoredFingerprint>> {
        let sql = format!(
            "SELECT f.article_id, f.feed_id, c.story_id, f.published, f.preferred, \
                s.representative = f.article_id, {FP_COLUMNS}, f.shingles, f.title_words, f.numbers \
             FROM fingerprints f JOIN copies c ON c.article_id = f.article_id \
             JOIN stories s ON s.id = c.story_id WHERE f.article_id = $1"
        );
        self.with(|c| {
            c.query_opt(&sql, &[&article])?
                .as_ref()
                .map(stored_from_row)
                .transpose()
        })
    }

    pub(crate) fn articles_by_url(&self, url: &str) -> Result<Vec<i64>> {
        self.with(|c| {
            c.query(
                "SELECT id FROM articles WHERE url = $1 ORDER BY id DESC",
                &[&url],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect()
        })
    }

    pub(crate) fn merges_into(&self, story: i64) -> Result<Vec<(i64, DateTime<Utc>, String)>> {
        self.with(|c| {
            c.query(
                "SELECT absorbed, merged, reason FROM story_merges WHERE survivor = $1 ORDER BY merged, absorbed",
                &[&story],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, time(r.try_get(1)?), r.try_get(2)?)))
            .collect()
        })
    }

    pub(crate) fn merged_into(&self, story: i64) -> Result<Option<i64>> {
        self.with(|c| {
            c.query_opt(
                "SELECT survivor FROM story_merges WHERE absorbed = $1",
                &[&story],
            )?
            .map(|r| r.try_get(0))
            .transpose()
        })
    }

    /// `top` selects (id, representative, first_published) of the stories wanted, with
    /// `params` as `$1`, ….
    pub(crate) fn stories_where(
        &self,
        top: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<StoryView>> {
        let sql = format!(
            "WITH top AS ({top}) \
             SELECT top.id, top.first_published, a.id, fd.name, a.url, a.title, a.published, c.match, \
                c.score, c.thresholds, a.id = top.representative \
             FROM top JOIN copies c ON c.story_id = top.id JOIN articles a ON a.id = c.article_id \
             JOIN feeds fd ON fd.id = a.feed_id \
             ORDER BY top.first_published DESC, top.id DESC, a.id = top.representative DESC, a.published, a.id"
        );
        let rows = self.with(|c| c.query(&sql, params))?;
        let mut out: Vec<StoryView> = Vec::new();
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            if out.last().is_none_or(|s| s.id != id) {
                out.push(StoryView {
                    id,
                    published: time(r.try_get(1)?),
                    copies: Vec::new(),
                });
            }
            let copy = CopyView {
                article: r.try_get(2)?,
                feed: r.try_get(3)?,
                url: r.try_get(4)?,
                title: r.try_get(5)?,
                published: time(r.try_get(6)?),
                kind: MatchKind::parse(r.try_get(7)?).unwrap_or(MatchKind::First),
                score: r.try_get(8)?,
                thresholds: r.try_get(9)?,
                representative: r.try_get::<_, Option<bool>>(10)?.unwrap_or(false),
            };
            if let Some(s) = out.last_mut() {
                s.copies.push(copy);
            }
        }
        Ok(out)
    }
}
