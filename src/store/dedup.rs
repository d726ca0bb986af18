//! What the dedup stage needs from the database: exact-identity lookups (URL, GUID,
//! `<source>`), stored fingerprints for rebuilding the index after a restart, and the
//! story listings `stories` and `explain` print.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::postgres::dedup as pg;
use super::{Backend, Batch, Hot, On, Result, Store, StoreError, time};
use crate::dedup::{Fingerprint, Profile};
use crate::model::MatchKind;

/// A stored fingerprint with the facts the index keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFingerprint {
    /// The article.
    pub article: i64,
    /// Its feed.
    pub feed: i64,
    /// Its story.
    pub story: i64,
    /// Publication time, Unix seconds.
    pub published: i64,
    /// From a preferred source.
    pub preferred: bool,
    /// Whether it represents its story.
    pub representative: bool,
    /// The fingerprint.
    pub fingerprint: Fingerprint,
}

impl StoredFingerprint {
    /// The copy in the form dedup compares.
    pub fn profile(&self) -> Profile {
        Profile::new(
            self.article,
            self.feed,
            self.published,
            self.preferred,
            &self.fingerprint,
        )
    }
}

/// One copy of a story as `stories` and `explain` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyView {
    /// Article id.
    pub article: i64,
    /// The feed's name.
    pub feed: String,
    /// The copy's URL.
    pub url: Option<String>,
    /// Its title.
    pub title: String,
    /// Its publication time.
    pub published: DateTime<Utc>,
    /// How it joined.
    pub kind: MatchKind,
    /// The score it joined with.
    pub score: f64,
    /// The rule and thresholds in force when it joined.
    pub thresholds: String,
    /// Whether it represents the story.
    pub representative: bool,
}

/// A story with its copies, representative first.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryView {
    /// Story id (stable for its life).
    pub id: i64,
    /// First publication of any copy.
    pub published: DateTime<Utc>,
    /// The copies.
    pub copies: Vec<CopyView>,
}

impl StoryView {
    /// The representative's title (the story's title).
    pub fn title(&self) -> &str {
        self.copies
            .iter()
            .find(|c| c.representative)
            .or(self.copies.first())
            .map_or("", |c| c.title.as_str())
    }
}

pub(crate) fn blob(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|h| h.to_le_bytes()).collect()
}

pub(crate) fn unblob(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn fingerprint_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Fingerprint> {
    Ok(Fingerprint {
        words: r.get(at)?,
        text_hash: r.get::<_, i64>(at + 1)? as u64,
        title_hash: r.get::<_, Option<i64>>(at + 2)?.map(|h| h as u64),
        credit: r.get(at + 3)?,
        lede_len: r.get(at + 4)?,
        dense_len: r.get(at + 5)?,
        site: r.get(at + 6)?,
        shingles: r
            .get::<_, Option<Vec<u8>>>(at + 7)?
            .map(|b| unblob(&b))
            .unwrap_or_default(),
        title_words: r
            .get::<_, Option<Vec<u8>>>(at + 8)?
            .map(|b| unblob(&b))
            .unwrap_or_default(),
        numbers: r
            .get::<_, Option<Vec<u8>>>(at + 9)?
            .map(|b| unblob(&b))
            .unwrap_or_default(),
    })
}

/// Whether `e` is an insert refused for a row with its primary key already there.
fn is_primary_key_conflict(e: &StoreError) -> bool {
    e.is_constraint(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// The statement that writes a fingerprint row, after `$verb` (`INSERT`, `INSERT OR REPLACE`).
macro_rules! fingerprint_insert {
    ($verb:literal) => {
        concat!(
            $verb,
            " INTO fingerprints (article_id, feed_id, published, words, text_hash, title_hash, \
             credit, preferred, lede_len, dense_len, shingles, title_words, numbers, site) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        )
    };
}

const FP_COLUMNS: &str =
    "f.words, f.text_hash, f.title_hash, f.credit, f.lede_len, f.dense_len, f.site";

impl Batch<'_> {
    /// Stores the fingerprint of a new copy, `article`. A plain insert: `OR REPLACE` makes
    /// SQLite journal every page the statement touches, in case it has to undo half of it.
    pub fn add_fingerprint(
        &mut self,
        article: i64,
        feed: i64,
        published: i64,
        preferred: bool,
        fp: &Fingerprint,
    ) -> Result<()> {
        let added = self.write_fingerprint(
            Some(Hot::AddFingerprint),
            fingerprint_insert!("INSERT"),
            (article, feed, published, preferred),
            fp,
        );
        match added {
            // A row left by an article deleted without cascades (by hand: `sqlite3` enforces
            // no foreign keys by default) whose row id the new article took. Refusing it
            // would refuse every new article of every feed: each takes the same free id.
            Err(e) if is_primary_key_conflict(&e) => {
                self.replace_fingerprint(article, feed, published, preferred, fp)
            }
            added => added,
        }
    }

    /// Replaces the fingerprint of `article`, an updated copy.
    pub fn replace_fingerprint(
        &mut self,
        article: i64,
        feed: i64,
        published: i64,
        preferred: bool,
        fp: &Fingerprint,
    ) -> Result<()> {
        self.write_fingerprint(
            None,
            fingerprint_insert!("INSERT OR REPLACE"),
            (article, feed, published, preferred),
            fp,
        )
    }

    fn write_fingerprint(
        &mut self,
        slot: Option<Hot>,
        sql: &str,
        (article, feed, published, preferred): (i64, i64, i64, bool),
        fp: &Fingerprint,
    ) -> Result<()> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => {
                return pg::write_fingerprint(&mut tx, (article, feed, published, preferred), fp);
            }
        };
        let row = params![
            article,
            feed,
            published,
            fp.words,
            fp.text_hash as i64,
            fp.title_hash.map(|h| h as i64),
            fp.credit,
            preferred,
            fp.lede_len,
            fp.dense_len,
            blob(&fp.shingles),
            blob(&fp.title_words),
            blob(&fp.numbers),
            fp.site,
        ];
        match slot {
            Some(slot) => b.with_hot(slot, sql, |s| s.execute(row))?,
            None => b.tx.prepare_cached(sql)?.execute(row)?,
        };
        Ok(())
    }

    /// The story of a copy in another feed with the canonical URL `url`.
    pub fn story_by_url(&self, url: &str, feed: i64) -> Result<Option<i64>> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::story_by_url(&mut tx, url, feed),
        };
        b.with_hot(
            Hot::StoryByUrl,
            "SELECT c.story_id FROM articles a JOIN copies c ON c.article_id = a.id \
             WHERE a.url = ?1 AND a.feed_id != ?2 ORDER BY a.id LIMIT 1",
            |s| s.query_row(params![url, feed], |r| r.get(0)).optional(),
        )
    }

    /// The story of a copy in another feed with the GUID `guid`.
    pub fn story_by_guid(&self, guid: &str, feed: i64) -> Result<Option<i64>> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::story_by_guid(&mut tx, guid, feed),
        };
        b.with_hot(
            Hot::StoryByGuid,
            "SELECT c.story_id FROM articles a JOIN copies c ON c.article_id = a.id \
             WHERE a.guid = ?1 AND a.feed_id != ?2 ORDER BY a.id LIMIT 1",
            |s| s.query_row(params![guid, feed], |r| r.get(0)).optional(),
        )
    }

    /// Whether story `story` exists (the index may remember one pruned meanwhile).
    pub fn story_exists(&self, story: i64) -> Result<bool> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::story_exists(&mut tx, story),
        };
        let found = b.with_hot(
            Hot::StoryExists,
            "SELECT 1 FROM stories WHERE id = ?1",
            |s| s.query_row([story], |_| Ok(())).optional(),
        )?;
        Ok(found.is_some())
    }

    /// The story and match kind of a stored copy.
    pub fn copy_of(&self, article: i64) -> Result<Option<(i64, MatchKind)>> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::copy_of(&mut tx, article),
        };
        Ok(b.tx
            .prepare_cached("SELECT story_id, match FROM copies WHERE article_id = ?1")?
            .query_row([article], |r| {
                Ok((
                    r.get(0)?,
                    MatchKind::parse(&r.get::<_, String>(1)?).unwrap_or(MatchKind::First),
                ))
            })
            .optional()?)
    }

    /// The other copies of `story` with their fingerprints (to choose a new representative
    /// when the current one leaves).
    pub fn story_fingerprints(&self, story: i64) -> Result<Vec<StoredFingerprint>> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::story_fingerprints(&mut tx, story),
        };
        let sql = format!(
            "SELECT f.article_id, f.feed_id, c.story_id, f.published, f.preferred, {FP_COLUMNS}, f.shingles, f.title_words, f.numbers \
             FROM copies c JOIN fingerprints f ON f.article_id = c.article_id WHERE c.story_id = ?1"
        );
        let mut stmt = b.tx.prepare_cached(&sql)?;
        let rows = stmt.query_map([story], |r| {
            Ok(StoredFingerprint {
                article: r.get(0)?,
                feed: r.get(1)?,
                story: r.get(2)?,
                published: r.get(3)?,
                preferred: r.get(4)?,
                representative: false,
                fingerprint: fingerprint_from_row(r, 5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The name of feed `feed` (for the `[dedup].prefer` rule); an error when the feed is
    /// not in the database, which is what keeps an ingest's rows pointing at a feed.
    pub fn feed_name(&self, feed: i64) -> Result<String> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::feed_name(&mut tx, feed),
        };
        b.tx.prepare_cached("SELECT name FROM feeds WHERE id = ?1")?
            .query_row([feed], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NoFeed(feed))
    }
}

impl Store {
    /// The newest publication time among stored fingerprints.
    pub fn newest_fingerprint(&self) -> Result<Option<i64>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.newest_fingerprint(),
        };
        Ok(conn.query_row("SELECT max(published) FROM fingerprints", [], |r| r.get(0))?)
    }

    /// The publication time of the `n`-th newest fingerprint (0 is the newest).
    pub fn nth_newest_fingerprint(&self, n: usize) -> Result<Option<i64>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.nth_newest_fingerprint(n),
        };
        Ok(conn
            .query_row(
                "SELECT published FROM fingerprints ORDER BY published DESC LIMIT 1 OFFSET ?1",
                [i64::try_from(n).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Calls `each` for every fingerprint published at or after `since` whose article is
    /// in a story, with its shingles, title words and numbers (the index keeps several
    /// copies of each story, not only its representative). In the order they were
    /// stored (article id), the order the index saw them in: the table is read in its own
    /// order from the first row of the period on, not row by row through the date index
    /// (half the time at a million stored).
    pub fn for_each_live_fingerprint(
        &self,
        since: i64,
        mut each: impl FnMut(StoredFingerprint),
    ) -> Result<()> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.for_each_live_fingerprint(since, &mut each),
        };
        let sql = format!(
            "SELECT f.article_id, f.feed_id, c.story_id, f.published, f.preferred, \
                s.representative = f.article_id, {FP_COLUMNS}, \
                f.shingles, f.title_words, f.numbers \
             FROM fingerprints f JOIN copies c ON c.article_id = f.article_id \
             JOIN stories s ON s.id = c.story_id \
             WHERE f.article_id >= (SELECT min(article_id) FROM fingerprints WHERE published >= ?1) \
                AND f.published >= ?1 \
             ORDER BY f.article_id"
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([since])?;
        while let Some(r) = rows.next()? {
            each(StoredFingerprint {
                article: r.get(0)?,
                feed: r.get(1)?,
                story: r.get(2)?,
                published: r.get(3)?,
                preferred: r.get(4)?,
                representative: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
                fingerprint: fingerprint_from_row(r, 6)?,
            });
        }
        Ok(())
    }

    /// The stored fingerprint of one article.
    pub fn fingerprint(&self, article: i64) -> Result<Option<StoredFingerprint>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.fingerprint(article),
        };
        let sql = format!(
            "SELECT f.article_id, f.feed_id, c.story_id, f.published, f.preferred, \
                s.representative = f.article_id, {FP_COLUMNS}, f.shingles, f.title_words, f.numbers \
             FROM fingerprints f JOIN copies c ON c.article_id = f.article_id \
             JOIN stories s ON s.id = c.story_id WHERE f.article_id = ?1"
        );
        Ok(conn
            .query_row(&sql, [article], |r| {
                Ok(StoredFingerprint {
                    article: r.get(0)?,
                    feed: r.get(1)?,
                    story: r.get(2)?,
                    published: r.get(3)?,
                    preferred: r.get(4)?,
                    representative: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
                    fingerprint: fingerprint_from_row(r, 6)?,
                })
            })
            .optional()?)
    }

    /// The stored articles with URL `url` (newest first).
    pub fn articles_by_url(&self, url: &str) -> Result<Vec<i64>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.articles_by_url(url),
        };
        let mut stmt =
            conn.prepare_cached("SELECT id FROM articles WHERE url = ?1 ORDER BY id DESC")?;
        let ids = stmt.query_map([url], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    /// The `limit` most recent stories (by first publication, newest first), each with
    /// its copies, representative first.
    pub fn recent_stories(&self, limit: usize) -> Result<Vec<StoryView>> {
        self.stories_where(
            "SELECT id, representative, first_published FROM stories ORDER BY first_published DESC, id DESC LIMIT ?1",
            i64::try_from(limit).unwrap_or(i64::MAX),
        )
    }

    /// The stories merged into `story`: (absorbed id, when, why), oldest merge first.
    pub fn merges_into(&self, story: i64) -> Result<Vec<(i64, DateTime<Utc>, String)>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.merges_into(story),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT absorbed, merged, reason FROM story_merges WHERE survivor = ?1 ORDER BY merged, absorbed",
        )?;
        let rows = stmt.query_map([story], |r| Ok((r.get(0)?, time(r.get(1)?), r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The story that absorbed `story`, when it was merged into another.
    pub fn merged_into(&self, story: i64) -> Result<Option<i64>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.merged_into(story),
        };
        Ok(conn
            .prepare_cached("SELECT survivor FROM story_merges WHERE absorbed = ?1")?
            .query_row([story], |r| r.get(0))
            .optional()?)
    }

    /// One story with its copies.
    pub fn story(&self, story: i64) -> Result<Option<StoryView>> {
        Ok(self
            .stories_where(
                "SELECT id, representative, first_published FROM stories WHERE id = ?1",
                story,
            )?
            .pop())
    }

    /// The stories the query `top` selects (`id, representative, first_published`, with
    /// its one parameter `?1`), each with its copies.
    fn stories_where(&self, top: &str, arg: i64) -> Result<Vec<StoryView>> {
        match self.backend() {
            Backend::Sqlite(conn) => sqlite_stories_where(conn, top, [arg]),
            Backend::Postgres(pg) => pg.stories_where(&top.replace("?1", "$1"), &[&arg]),
        }
    }
}

/// [`Store::stories_where`] on SQLite, with any parameters `top` names.
pub(super) fn sqlite_stories_where(
    conn: &Connection,
    top: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoryView>> {
    let sql = format!(
        "WITH top AS ({top}) \
             SELECT top.id, top.first_published, a.id, fd.name, a.url, a.title, a.published, c.match, \
                c.score, c.thresholds, a.id = top.representative \
             FROM top JOIN copies c ON c.story_id = top.id JOIN articles a ON a.id = c.article_id \
             JOIN feeds fd ON fd.id = a.feed_id \
             ORDER BY top.first_published DESC, top.id DESC, a.id = top.representative DESC, a.published, a.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params)?;
    let mut out: Vec<StoryView> = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if out.last().is_none_or(|s| s.id != id) {
            out.push(StoryView {
                id,
                published: time(r.get(1)?),
                copies: Vec::new(),
            });
        }
        let copy = CopyView {
            article: r.get(2)?,
            feed: r.get(3)?,
            url: r.get(4)?,
            title: r.get(5)?,
            published: time(r.get(6)?),
            kind: MatchKind::parse(&r.get::<_, String>(7)?).unwrap_or(MatchKind::First),
            score: r.get(8)?,
            thresholds: r.get(9)?,
            representative: r.get::<_, Option<bool>>(10)?.unwrap_or(false),
        };
        if let Some(s) = out.last_mut() {
            s.copies.push(copy);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::config::DedupConfig;
    use crate::ingest::{ingest_with, open_dedup};
    use crate::model::{Article, ParsedFeed};

    fn document(key: &str, text: &str) -> ParsedFeed {
        ParsedFeed {
            articles: vec![Article {
                key: key.into(),
                title: format!("Story {key}"),
                text: text.into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// The newest article deleted by hand (`sqlite3` enforces no foreign keys by default,
    /// so its fingerprint stays): the next new article takes its row id, and must still be
    /// stored, with its own fingerprint.
    #[test]
    fn a_fingerprint_left_by_a_deletion_without_cascades_does_not_block_new_articles() {
        let (_dir, mut store, feed) = crate::store::test_store_with_feed();
        let now = Utc::now();
        let mut dedup = open_dedup(&store, &DedupConfig::default()).unwrap();
        let first = document("a", "The council approved the budget for the new bridge.");
        ingest_with(&mut store, &mut dedup, feed, &first, now).unwrap();
        store
            .sqlite()
            .unwrap()
            .execute_batch(
                "PRAGMA foreign_keys = OFF; DELETE FROM articles; PRAGMA foreign_keys = ON;",
            )
            .unwrap();
        let second = document("b", "Heavy rain closed three schools in the valley today.");
        let report = ingest_with(&mut store, &mut dedup, feed, &second, now).unwrap();
        assert_eq!(report.new_articles, 1);
        let (_, articles, _) = store.counts().unwrap();
        assert_eq!(articles, 1);
    }
}
