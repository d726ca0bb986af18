//! Reading the merged feed on PostgreSQL: `store/merged.rs`'s selection and its two readers
//! (the stories, and the version that validates a cached document) in PostgreSQL's
//! dialect. The version hashes the same columns the same way as on SQLite (integers as
//! little-endian i64, text as length and bytes, NULL as one zero byte), so a database
//! moved from one backend to the other keeps its documents' validators.

use chrono::{DateTime, Utc};
use postgres::types::ToSql;

use super::Pg;
use super::search::story_matches;
use crate::store::merged::{STORIES_OF_SELECTION, StoryRows, add_copy};
use crate::store::{MergedCopy, MergedStory, MergedVersion, Result, StoryFilter, time};

/// The selection every merged-feed query shares, as a CTE named `sel`, with its parameters.
/// A search keeps the stories with a matching copy (`store/postgres/search.rs`).
fn selection_cte(filter: &StoryFilter) -> Result<(String, Vec<Box<dyn ToSql + Sync + '_>>)> {
    let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
    let mut params: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(limit)];
    let mut cond = Vec::new();
    if let Some(search) = &filter.search {
        match search.tsquery() {
            Some(query) => {
                params.push(Box::new(query));
                cond.push(story_matches(params.len()));
            }
            // No word the index could hold: nothing matches.
            None => cond.push("FALSE".to_string()),
        }
    }
    if let Some(tag) = &filter.tag {
        params.push(Box::new(tag.as_str()));
        cond.push(format!(
            "EXISTS (SELECT 1 FROM copies c JOIN articles a ON a.id = c.article_id
                     JOIN feed_tags t ON t.feed_id = a.feed_id AND t.tag = ${}
                     WHERE c.story_id = s.id)",
            params.len()
        ));
    }
    if let Some(feeds) = &filter.feeds {
        params.push(Box::new(feeds.as_slice()));
        cond.push(format!(
            "EXISTS (SELECT 1 FROM copies c JOIN articles a ON a.id = c.article_id
                     WHERE c.story_id = s.id AND a.feed_id = ANY(${}))",
            params.len()
        ));
    }
    if let Some(before) = &filter.before {
        params.push(Box::new(before.first_published));
        params.push(Box::new(before.id));
        cond.push(format!(
            "(s.first_published, s.id) < (${}, ${})",
            params.len() - 1,
            params.len()
        ));
    }
    let cond = if cond.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", cond.join(" AND "))
    };
    let cte = format!(
        "WITH sel AS (SELECT s.id, s.representative, s.first_published, s.last_changed,
                             s.rep_changed
                      FROM stories s {cond}
                      ORDER BY s.first_published DESC, s.id DESC LIMIT $1)"
    );
    Ok((cte, params))
}

/// The selection of the story page: one story by id (`$1`), as a CTE named `sel`.
const ONE_STORY_CTE: &str =
    "WITH sel AS (SELECT id, representative, first_published, last_changed, rep_changed
                  FROM stories WHERE id = $1)";

fn json_list(text: Option<&str>) -> Vec<String> {
    serde_json::from_str(text.unwrap_or("")).unwrap_or_default()
}

impl Pg {
    pub(crate) fn merged_stories(&self, filter: &StoryFilter) -> Result<Vec<MergedStory>> {
        let (cte, params) = selection_cte(filter)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p).collect();
        self.stories_of(&cte, &params)
    }

    pub(crate) fn merged_story(&self, story: i64) -> Result<Option<MergedStory>> {
        Ok(self.stories_of(ONE_STORY_CTE, &[&story])?.pop())
    }

    pub(crate) fn merged_story_version(&self, story: i64) -> Result<MergedVersion> {
        self.version_of(ONE_STORY_CTE, &[&story])
    }

    pub(crate) fn merged_version(&self, filter: &StoryFilter) -> Result<MergedVersion> {
        let (cte, params) = selection_cte(filter)?;
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p).collect();
        self.version_of(&cte, &params)
    }

    fn stories_of(&self, cte: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<MergedStory>> {
        let sql = format!("{cte} {STORIES_OF_SELECTION}");
        let rows = self.with(|c| c.query(&sql, params))?;
        let mut stories = StoryRows::new();
        for r in &rows {
            let story: i64 = r.try_get(0)?;
            let copy = MergedCopy {
                article: r.try_get(4)?,
                outlet: r.try_get(5)?,
                feed_url: r.try_get(6)?,
                site_url: r.try_get(7)?,
                url: r.try_get(8)?,
                title: r.try_get(9)?,
                summary_html: r.try_get(10)?,
                content_html: r.try_get(11)?,
                authors: json_list(r.try_get(12)?),
                categories: json_list(r.try_get(13)?),
                published: time(r.try_get(14)?),
                updated: r.try_get::<_, Option<i64>>(15)?.map(time),
                matched: r.try_get(16)?,
                score: r.try_get::<_, Option<f64>>(17)?.unwrap_or(0.0),
                thresholds: r.try_get(18)?,
                language: r.try_get(19)?,
            };
            add_copy(&mut stories, story, copy, |copy| {
                Ok((
                    r.try_get(1)?,
                    MergedStory {
                        id: story,
                        first_published: time(r.try_get(2)?),
                        last_changed: time(r.try_get(3)?),
                        rep_changed: r.try_get::<_, Option<i64>>(20)?.map(time),
                        representative: copy,
                        others: Vec::new(),
                    },
                ))
            })?;
        }
        Ok(crate::store::merged::with_representatives(stories))
    }

    fn version_of(&self, cte: &str, params: &[&(dyn ToSql + Sync)]) -> Result<MergedVersion> {
        let sql = format!(
            "{cte}
             SELECT sel.id, sel.representative, sel.first_published, sel.last_changed,
                    a.id, a.content_hash, a.published, a.updated, c.match, f.name, f.url, f.site_url,
                    sel.rep_changed, a.language
             FROM sel JOIN copies c ON c.story_id = sel.id
                      JOIN articles a ON a.id = c.article_id
                      JOIN feeds f ON f.id = a.feed_id
             ORDER BY sel.first_published DESC, sel.id DESC, a.published, a.id"
        );
        let rows = self.with(|c| c.query(&sql, params))?;
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        let mut latest: Option<i64> = None;
        let int = |h: &mut xxhash_rust::xxh3::Xxh3, n: Option<i64>| match n {
            None => h.update(&[0]),
            Some(n) => h.update(&n.to_le_bytes()),
        };
        let text = |h: &mut xxhash_rust::xxh3::Xxh3, t: Option<&str>| match t {
            None => h.update(&[0]),
            Some(t) => {
                h.update(&(t.len() as u64).to_le_bytes());
                h.update(t.as_bytes());
            }
        };
        for r in &rows {
            for i in 0..8 {
                int(&mut h, r.try_get(i)?);
            }
            for i in 8..12 {
                text(&mut h, r.try_get(i)?);
            }
            int(&mut h, r.try_get(12)?);
            text(&mut h, r.try_get(13)?);
            let changed: i64 = r.try_get(3)?;
            latest = Some(latest.map_or(changed, |l| l.max(changed)));
        }
        Ok(MergedVersion {
            hash: h.digest(),
            last_changed: latest.map(time),
        })
    }

    pub(crate) fn feed_ids_named(&self, name: &str, url: Option<&str>) -> Result<Vec<i64>> {
        self.with(|c| {
            c.query(
                "SELECT id FROM feeds WHERE name = $1 OR url = $2 ORDER BY id",
                &[&name, &url],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect()
        })
    }

    pub(crate) fn tag_exists(&self, tag: &str) -> Result<bool> {
        self.with(|c| {
            c.query_one(
                "SELECT EXISTS (SELECT 1 FROM feed_tags WHERE tag = $1)",
                &[&tag],
            )?
            .try_get(0)
        })
    }

    pub(crate) fn newest_feed_created(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> = self.with(|c| {
            c.query_one("SELECT max(created) FROM feeds", &[])?
                .try_get(0)
        })?;
        Ok(t.map(time))
    }

    /// A number that changes whenever a transaction commits on the server (the snapshot's
    /// horizon and in-progress list): writes of other databases on the server change it
    /// too, which costs a cache miss, never a stale document.
    pub(crate) fn data_version(&self) -> Result<i64> {
        let snapshot: String = self.with(|c| {
            c.query_one("SELECT pg_current_snapshot()::text", &[])?
                .try_get(0)
        })?;
        Ok(xxhash_rust::xxh3::xxh3_64(snapshot.as_bytes()) as i64)
    }

    /// Starts the read-only transaction of a snapshot.
    pub(crate) fn begin_snapshot(&self) -> Result<()> {
        self.with(|c| c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    }

    /// Ends it.
    pub(crate) fn end_snapshot(&self) -> Result<()> {
        self.with(|c| c.batch_execute("COMMIT"))
    }
}
