//! Writing copies and stories on PostgreSQL: `store/articles.rs`'s statements in
//! PostgreSQL's dialect (`RETURNING` for new ids, `least` for SQLite's two-argument `min`,
//! `IS NOT DISTINCT FROM` for `IS`).

use super::PgTx;
use chrono::{DateTime, Utc};
use postgres::types::ToSql;

use crate::model::{Article, MatchKind};
use crate::store::articles::{content_hash, json};
use crate::store::{Result, StoredArticle, Upsert, secs, time};

type Tx<'b, 'a> = &'b mut PgTx<'a>;

pub(crate) fn upsert_article(
    tx: Tx,
    feed_id: i64,
    a: &Article,
    now: DateTime<Utc>,
) -> Result<Upsert> {
    let hash = content_hash(a);
    let existing = tx.query_opt(
        "SELECT a.id, a.content_hash, c.story_id FROM articles a \
         LEFT JOIN copies c ON c.article_id = a.id WHERE a.feed_id = $1 AND a.key = $2",
        &[&feed_id, &a.key],
    )?;
    let existing: Option<(i64, i64, Option<i64>)> = match existing {
        Some(r) => Some((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        None => None,
    };
    let src = a.source.as_ref();
    let (source_title, source_url, source_id) = (
        src.and_then(|s| s.title.as_deref()),
        src.and_then(|s| s.url.as_deref()),
        src.and_then(|s| s.id.as_deref()),
    );
    let (authors, categories, enclosures) =
        (json(&a.authors), json(&a.categories), json(&a.enclosures));
    let (clamped, updated, now_secs) = (i64::from(a.date_clamped), a.updated.map(secs), secs(now));
    // The columns both statements write, as $1…$17.
    let shared: [&(dyn ToSql + Sync); 17] = [
        &a.guid,
        &a.url,
        &a.title,
        &a.summary_html,
        &a.content_html,
        &authors,
        &categories,
        &a.language,
        &enclosures,
        &a.image,
        &source_title,
        &source_url,
        &source_id,
        &updated,
        &clamped,
        &now_secs,
        &hash,
    ];
    match existing {
        Some((id, old_hash, _)) if old_hash == hash => Ok(Upsert::Unchanged { article: id }),
        Some((id, _, story)) => {
            let published = a.published.map(secs);
            let params: Vec<&(dyn ToSql + Sync)> = shared
                .iter()
                .copied()
                .chain([&id as _, &published as _])
                .collect();
            tx.execute(
                "UPDATE articles SET guid = $1, url = $2, title = $3, summary = $4, content = $5, \
                    authors = $6, categories = $7, language = $8, enclosures = $9, \
                    image = $10, source_title = $11, source_url = $12, source_id = $13, \
                    updated = $14, date_clamped = $15, last_changed = $16, content_hash = $17, \
                    published = COALESCE($19, published) \
                 WHERE id = $18",
                &params,
            )?;
            Ok(Upsert::Updated { article: id, story })
        }
        None => {
            let published = a.published.map(secs).unwrap_or(secs(now));
            let params: Vec<&(dyn ToSql + Sync)> = shared
                .iter()
                .copied()
                .chain([&feed_id as _, &a.key as _, &published as _])
                .collect();
            let row = tx.query_one(
                "INSERT INTO articles (guid, url, title, summary, content, authors, categories, \
                    language, enclosures, image, source_title, source_url, source_id, updated, \
                    date_clamped, first_seen, last_changed, content_hash, feed_id, key, published) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                    $16, $16, $17, $18, $19, $20) RETURNING id",
                &params,
            )?;
            Ok(Upsert::New {
                article: row.try_get(0)?,
            })
        }
    }
}

pub(crate) fn new_story(tx: Tx, article: i64, now: DateTime<Utc>) -> Result<i64> {
    let story: i64 = tx
        .query_one(
            "INSERT INTO stories (representative, first_published, last_changed) \
             VALUES ($1, (SELECT published FROM articles WHERE id = $1), $2) RETURNING id",
            &[&article, &secs(now)],
        )?
        .try_get(0)?;
    put_copy(tx, article, story, MatchKind::First, 1.0, "", now)?;
    Ok(story)
}

pub(crate) fn join_story(
    tx: Tx,
    article: i64,
    story: i64,
    kind: MatchKind,
    score: f64,
    thresholds: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    put_copy(tx, article, story, kind, score, thresholds, now)?;
    tx.execute(
        "UPDATE stories SET last_changed = $2, \
            first_published = least(first_published, (SELECT published FROM articles WHERE id = $3)) \
         WHERE id = $1",
        &[&story, &secs(now), &article],
    )?;
    Ok(())
}

pub(crate) fn merge_stories(
    tx: Tx,
    absorbed: i64,
    survivor: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE copies SET story_id = $2 WHERE story_id = $1",
        &[&absorbed, &survivor],
    )?;
    tx.execute(
        "UPDATE stories SET last_changed = $3, first_published = least(first_published, \
            coalesce((SELECT first_published FROM stories WHERE id = $1), first_published)) \
         WHERE id = $2",
        &[&absorbed, &survivor, &secs(now)],
    )?;
    tx.execute(
        "UPDATE story_merges SET survivor = $2 WHERE survivor = $1",
        &[&absorbed, &survivor],
    )?;
    tx.execute(
        "INSERT INTO story_merges (absorbed, survivor, merged, reason) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (absorbed) DO UPDATE SET survivor = excluded.survivor, \
            merged = excluded.merged, reason = excluded.reason",
        &[&absorbed, &survivor, &secs(now), &reason],
    )?;
    tx.execute("DELETE FROM stories WHERE id = $1", &[&absorbed])?;
    Ok(())
}

pub(crate) fn set_representative(
    tx: Tx,
    story: i64,
    article: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE stories SET last_changed = $3, \
            rep_changed = CASE WHEN representative IS NOT DISTINCT FROM $2 THEN rep_changed ELSE $3 END, \
            representative = $2 WHERE id = $1",
        &[&story, &article, &secs(now)],
    )?;
    Ok(())
}

pub(crate) fn touch_story(tx: Tx, story: i64, now: DateTime<Utc>) -> Result<()> {
    tx.execute(
        "UPDATE stories SET last_changed = $2 WHERE id = $1",
        &[&story, &secs(now)],
    )?;
    Ok(())
}

fn put_copy(
    tx: Tx,
    article: i64,
    story: i64,
    kind: MatchKind,
    score: f64,
    thresholds: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let old: Option<i64> = tx
        .query_opt(
            "SELECT story_id FROM copies WHERE article_id = $1",
            &[&article],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    tx.execute(
        "INSERT INTO copies (article_id, story_id, match, score, thresholds, joined) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (article_id) DO UPDATE SET \
            story_id = excluded.story_id, match = excluded.match, score = excluded.score, \
            thresholds = excluded.thresholds, joined = excluded.joined",
        &[
            &article,
            &story,
            &kind.as_str(),
            &score,
            &thresholds,
            &secs(now),
        ],
    )?;
    if let Some(old) = old.filter(|&o| o != story) {
        tx.execute(
            "DELETE FROM stories WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM copies WHERE story_id = $1)",
            &[&old],
        )?;
        tx.execute(
            "UPDATE stories SET last_changed = $2 WHERE id = $1",
            &[&old, &secs(now)],
        )?;
    }
    Ok(())
}

/// Reads one stored article back into the model.
pub(crate) fn read_article(
    c: &mut impl postgres::GenericClient,
    id: i64,
) -> Result<Option<StoredArticle>> {
    let Some(r) = c.query_opt(
        "SELECT feed_id, key, guid, url, title, summary, content, authors, categories, language, \
            enclosures, image, source_title, source_url, source_id, published, updated, date_clamped, \
            first_seen FROM articles WHERE id = $1",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let source = match (
        r.try_get::<_, Option<String>>(12)?,
        r.try_get::<_, Option<String>>(13)?,
        r.try_get(14)?,
    ) {
        (None, None, None) => None,
        (title, url, id) => Some(crate::model::SourceRef { title, url, id }),
    };
    let article = Article {
        key: r.try_get(1)?,
        guid: r.try_get(2)?,
        url: r.try_get(3)?,
        title: r.try_get(4)?,
        summary_html: r.try_get(5)?,
        content_html: r.try_get(6)?,
        text: String::new(),
        authors: serde_json::from_str(r.try_get(7)?).unwrap_or_default(),
        categories: serde_json::from_str(r.try_get(8)?).unwrap_or_default(),
        language: r.try_get(9)?,
        enclosures: serde_json::from_str(r.try_get(10)?).unwrap_or_default(),
        image: r.try_get(11)?,
        source,
        published: Some(time(r.try_get(15)?)),
        updated: r.try_get::<_, Option<i64>>(16)?.map(time),
        date_clamped: r.try_get::<_, i64>(17)? != 0,
    };
    Ok(Some(StoredArticle {
        id,
        feed_id: r.try_get(0)?,
        article,
        first_seen: time(r.try_get(18)?),
    }))
}
