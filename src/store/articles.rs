//! Writing copies and stories: the ingest side of the store.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::postgres::articles as pg;
use super::{Batch, Hot, On, Result, SqliteBatch, secs, time};
use crate::model::{Article, MatchKind};

/// What storing one article did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// A copy never seen before: it still needs a story.
    New { article: i64 },
    /// The same (feed, key) with a changed text or title: an update of that copy.
    Updated { article: i64, story: Option<i64> },
    /// The same (feed, key) and nothing the reader sees changed.
    Unchanged { article: i64 },
}

/// An article as stored, with the facts the store added.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredArticle {
    /// Database id.
    pub id: i64,
    /// The feed it came from.
    pub feed_id: i64,
    /// The article as last fetched (`published` is always set here; `text` is empty: the
    /// store keeps the copy's dedup fingerprint, not its plain text).
    pub article: Article,
    /// When it was first stored.
    pub first_seen: DateTime<Utc>,
}

/// The hash that tells an update from a re-fetch of the same thing: everything a
/// subscriber would see.
pub(crate) fn content_hash(a: &Article) -> i64 {
    let mut h = xxhash_rust::xxh3::Xxh3::with_seed(0x7472_6962); // "trib"
    for part in [
        a.title.as_str(),
        a.url.as_deref().unwrap_or(""),
        a.summary_html.as_deref().unwrap_or(""),
        a.content_html.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update(&[0]);
    }
    h.digest() as i64
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

impl Batch<'_> {
    /// Stores one article of feed `feed_id` seen at `now`: inserts it, or updates the copy
    /// with the same key. A missing publication date becomes the first-seen time.
    pub fn upsert_article(
        &mut self,
        feed_id: i64,
        a: &Article,
        now: DateTime<Utc>,
    ) -> Result<Upsert> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::upsert_article(&mut tx, feed_id, a, now),
        };
        let hash = content_hash(a);
        let existing: Option<(i64, i64, Option<i64>)> = b.with_hot(
            Hot::FindArticle,
            "SELECT a.id, a.content_hash, c.story_id FROM articles a \
             LEFT JOIN copies c ON c.article_id = a.id WHERE a.feed_id = ?1 AND a.key = ?2",
            |s| {
                s.query_row(params![feed_id, a.key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            },
        )?;
        let src = a.source.as_ref();
        match existing {
            Some((id, old_hash, _)) if old_hash == hash => Ok(Upsert::Unchanged { article: id }),
            Some((id, _, story)) => {
                b.tx
                    .prepare_cached(
                        "UPDATE articles SET guid = ?2, url = ?3, title = ?4, summary = ?5, content = ?6, \
                            authors = ?7, categories = ?8, language = ?9, enclosures = ?10, \
                            image = ?11, source_title = ?12, source_url = ?13, source_id = ?14, \
                            published = COALESCE(?15, published), updated = ?16, date_clamped = ?17, \
                            last_changed = ?18, content_hash = ?19 \
                         WHERE id = ?1",
                    )?
                    .execute(params![
                        id,
                        a.guid,
                        a.url,
                        a.title,
                        a.summary_html,
                        a.content_html,
                        json(&a.authors),
                        json(&a.categories),
                        a.language,
                        json(&a.enclosures),
                        a.image,
                        src.and_then(|s| s.title.as_deref()),
                        src.and_then(|s| s.url.as_deref()),
                        src.and_then(|s| s.id.as_deref()),
                        a.published.map(secs),
                        a.updated.map(secs),
                        a.date_clamped,
                        secs(now),
                        hash,
                    ])?;
                if let Some(published) = a.published {
                    super::search::note_published(b, id, secs(published))?;
                }
                Ok(Upsert::Updated { article: id, story })
            }
            None => {
                // `execute` and the rowid rather than `RETURNING`, which makes SQLite build an
                // ephemeral table per row (BENCHMARKS.md, "Polling").
                b.with_hot(
                        Hot::InsertArticle,
                        "INSERT INTO articles (feed_id, key, guid, url, title, summary, content, authors, \
                            categories, language, enclosures, image, source_title, source_url, source_id, \
                            published, updated, date_clamped, first_seen, last_changed, content_hash) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                            ?16, ?17, ?18, ?19, ?19, ?20)",
                    |s| s.execute(params![
                            feed_id,
                            a.key,
                            a.guid,
                            a.url,
                            a.title,
                            a.summary_html,
                            a.content_html,
                            json(&a.authors),
                            json(&a.categories),
                            a.language,
                            json(&a.enclosures),
                            a.image,
                            src.and_then(|s| s.title.as_deref()),
                            src.and_then(|s| s.url.as_deref()),
                            src.and_then(|s| s.id.as_deref()),
                            a.published.map(secs).unwrap_or(secs(now)),
                            a.updated.map(secs),
                            a.date_clamped,
                            secs(now),
                            hash,
                    ]))?;
                let article = b.tx.last_insert_rowid();
                super::search::note_published(
                    b,
                    article,
                    a.published.map(secs).unwrap_or(secs(now)),
                )?;
                Ok(Upsert::New { article })
            }
        }
    }

    /// Founds a new story whose first copy (and representative) is `article`.
    pub fn new_story(&mut self, article: i64, now: DateTime<Utc>) -> Result<i64> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::new_story(&mut tx, article, now),
        };
        // One row from VALUES, without `RETURNING`: no ephemeral table, no statement journal.
        b.with_hot(
            Hot::NewStory,
            "INSERT INTO stories (representative, first_published, last_changed) \
             VALUES (?1, (SELECT published FROM articles WHERE id = ?1), ?2)",
            |s| s.execute(params![article, secs(now)]),
        )?;
        let story = b.tx.last_insert_rowid();
        Self::put_copy(b, article, story, MatchKind::First, 1.0, "", now)?;
        Ok(story)
    }

    /// Puts `article` into `story` (moving it out of any story it was in), recording how it
    /// matched. An emptied former story is removed.
    pub fn join_story(
        &mut self,
        article: i64,
        story: i64,
        kind: MatchKind,
        score: f64,
        thresholds: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => {
                return pg::join_story(&mut tx, article, story, kind, score, thresholds, now);
            }
        };
        Self::put_copy(b, article, story, kind, score, thresholds, now)?;
        b.with_hot(
            Hot::JoinStory,
            "UPDATE stories SET last_changed = ?2, \
                first_published = min(first_published, (SELECT published FROM articles WHERE id = ?3)) \
             WHERE id = ?1",
            |s| s.execute(params![story, secs(now), article]),
        )?;
        Ok(())
    }

    /// Merges story `absorbed` into `survivor` (a copy showed them to be one story): its
    /// copies move, the survivor's first publication is the earlier of the two, the
    /// absorbed id is recorded with `reason` (and earlier merges into it now point at the
    /// survivor) and its row goes. The representative stays the survivor's; the caller
    /// sets another when the absorbed one ranks higher.
    pub fn merge_stories(
        &mut self,
        absorbed: i64,
        survivor: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => {
                return pg::merge_stories(&mut tx, absorbed, survivor, reason, now);
            }
        };
        let tx = &b.tx;
        tx.prepare_cached("UPDATE copies SET story_id = ?2 WHERE story_id = ?1")?
            .execute(params![absorbed, survivor])?;
        tx.prepare_cached(
            "UPDATE stories SET last_changed = ?3, first_published = min(first_published, \
                coalesce((SELECT first_published FROM stories WHERE id = ?1), first_published)) \
             WHERE id = ?2",
        )?
        .execute(params![absorbed, survivor, secs(now)])?;
        tx.prepare_cached("UPDATE story_merges SET survivor = ?2 WHERE survivor = ?1")?
            .execute(params![absorbed, survivor])?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO story_merges (absorbed, survivor, merged, reason) \
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![absorbed, survivor, secs(now), reason])?;
        tx.prepare_cached("DELETE FROM stories WHERE id = ?1")?
            .execute(params![absorbed])?;
        Ok(())
    }

    /// Makes `article` the copy whose title, link and content represent `story`.
    pub fn set_representative(
        &mut self,
        story: i64,
        article: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::set_representative(&mut tx, story, article, now),
        };
        b.with_hot(
            Hot::SetRepresentative,
            "UPDATE stories SET last_changed = ?3, \
                rep_changed = CASE WHEN representative IS ?2 THEN rep_changed ELSE ?3 END, \
                representative = ?2 WHERE id = ?1",
            |s| s.execute(params![story, article, secs(now)]),
        )?;
        Ok(())
    }

    /// Marks `story` as changed at `now` (an update of one of its copies), so served
    /// documents and their validators change.
    pub fn touch_story(&mut self, story: i64, now: DateTime<Utc>) -> Result<()> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::touch_story(&mut tx, story, now),
        };
        b.tx.prepare_cached("UPDATE stories SET last_changed = ?2 WHERE id = ?1")?
            .execute(params![story, secs(now)])?;
        Ok(())
    }

    fn put_copy(
        b: &SqliteBatch<'_>,
        article: i64,
        story: i64,
        kind: MatchKind,
        score: f64,
        thresholds: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row = params![article, story, kind.as_str(), score, thresholds, secs(now)];
        // Most copies are new: one statement for them; a copy that moves needs the old story.
        let inserted = b.with_hot(
            Hot::InsertCopy,
            "INSERT INTO copies (article_id, story_id, match, score, thresholds, joined) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (article_id) DO NOTHING",
            |s| s.execute(row),
        )?;
        if inserted == 1 {
            return Ok(());
        }
        let old: Option<i64> =
            b.tx.prepare_cached("SELECT story_id FROM copies WHERE article_id = ?1")?
                .query_row([article], |r| r.get(0))
                .optional()?;
        b.tx.prepare_cached(
            "UPDATE copies SET story_id = ?2, match = ?3, score = ?4, thresholds = ?5, joined = ?6 \
                 WHERE article_id = ?1",
        )?
        .execute(row)?;
        if let Some(old) = old.filter(|&o| o != story) {
            b.tx
                .prepare_cached(
                    "DELETE FROM stories WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM copies WHERE story_id = ?1)",
                )?
                .execute([old])?;
            b.tx.prepare_cached("UPDATE stories SET last_changed = ?2 WHERE id = ?1")?
                .execute(params![old, secs(now)])?;
        }
        Ok(())
    }

    /// The stored article with id `id`.
    pub fn article(&self, id: i64) -> Result<Option<StoredArticle>> {
        let b = match self.on() {
            On::Sqlite(b) => b,
            On::Postgres(mut tx) => return pg::read_article(&mut **tx, id),
        };
        read_article(&b.tx, id)
    }
}

/// Reads one stored article back into the model.
pub(super) fn read_article(conn: &rusqlite::Connection, id: i64) -> Result<Option<StoredArticle>> {
    let row = conn
        .prepare_cached(
            // The plain text is not stored (schema v3): dedup keeps the fingerprint instead.
            "SELECT feed_id, key, guid, url, title, summary, content, '', authors, categories, language, \
                enclosures, image, source_title, source_url, source_id, published, updated, date_clamped, \
                first_seen FROM articles WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let source = match (r.get::<_, Option<String>>(13)?, r.get::<_, Option<String>>(14)?, r.get(15)?) {
                (None, None, None) => None,
                (title, url, id) => Some(crate::model::SourceRef { title, url, id }),
            };
            let article = Article {
                key: r.get(1)?,
                guid: r.get(2)?,
                url: r.get(3)?,
                title: r.get(4)?,
                summary_html: r.get(5)?,
                content_html: r.get(6)?,
                text: r.get(7)?,
                authors: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                categories: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
                language: r.get(10)?,
                enclosures: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
                image: r.get(12)?,
                source,
                published: Some(time(r.get(16)?)),
                updated: r.get::<_, Option<i64>>(17)?.map(time),
                date_clamped: r.get(18)?,
            };
            Ok(StoredArticle { id, feed_id: r.get(0)?, article, first_seen: time(r.get(19)?) })
        })
        .optional()?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: &str, title: &str) -> Article {
        Article {
            key: key.into(),
            title: title.into(),
            text: "body".into(),
            ..Default::default()
        }
    }

    #[test]
    fn same_key_is_an_update_and_an_unchanged_refetch_writes_nothing() {
        crate::store::on_each_backend("upsert_article", |store| {
            let feed = crate::store::add_test_feed(store);
            let now = Utc::now();
            let mut b = store.begin().unwrap();
            let Upsert::New { article } =
                b.upsert_article(feed, &sample("k1", "First"), now).unwrap()
            else {
                panic!("expected a new article")
            };
            let story = b.new_story(article, now).unwrap();
            assert_eq!(
                b.upsert_article(feed, &sample("k1", "First"), now).unwrap(),
                Upsert::Unchanged { article }
            );
            assert_eq!(
                b.upsert_article(feed, &sample("k1", "First, edited"), now)
                    .unwrap(),
                Upsert::Updated {
                    article,
                    story: Some(story)
                }
            );
            assert_eq!(
                b.article(article).unwrap().unwrap().article.title,
                "First, edited"
            );
            b.commit().unwrap();
            assert!(store.check().unwrap().is_empty());
        });
    }
}
