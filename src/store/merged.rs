//! Reading the merged feed: the stories a query selects, each with its copies, newest first;
//! the cheap version ([`MergedVersion`]) that validates a cached document without reading any
//! article text;
//! and read-only connections for the HTTP server.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, Row, ToSql};

use super::{Backend, Result, Search, Store, StoreError, time};
use crate::config::StoreLocation;

/// Which stories a merged-feed query selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoryFilter {
    /// Only stories with a copy from a feed carrying this tag.
    pub tag: Option<String>,
    /// Only stories with a copy from one of these feeds (database ids).
    pub feeds: Option<Vec<i64>>,
    /// Only stories with a copy that matches this search.
    pub search: Option<Search>,
    /// Only stories older than this position: the next page after a story.
    pub before: Option<Position>,
    /// At most this many stories.
    pub limit: usize,
}

/// Where a story stands in the merged feed's order (newest first by first publication,
/// then by id): a page of older stories starts after it. A position, not a story, so it
/// stays valid when the story it came from is pruned or merged away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// The story's first publication, Unix seconds.
    pub first_published: i64,
    /// The story's id.
    pub id: i64,
}

/// One story as the merged feed shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedStory {
    /// The story id: never changes, never reused.
    pub id: i64,
    /// Its first publication time over all copies: what the feed is ordered by.
    pub first_published: DateTime<Utc>,
    /// When the story last changed (a copy joined, was updated, or the representative moved).
    pub last_changed: DateTime<Utc>,
    /// When the representative last moved to another copy (None: the founding copy still
    /// represents it).
    pub rep_changed: Option<DateTime<Utc>>,
    /// The copy whose title, link and content represent the story.
    pub representative: MergedCopy,
    /// The other copies, oldest first.
    pub others: Vec<MergedCopy>,
}

impl MergedStory {
    /// Where the story stands in the merged feed: the page after it starts here.
    pub fn position(&self) -> Position {
        Position {
            first_published: self.first_published.timestamp(),
            id: self.id,
        }
    }
}

/// One copy of a story, with the outlet that carried it.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedCopy {
    /// Article id.
    pub article: i64,
    /// The outlet's name (the feed's name in feeds.toml).
    pub outlet: String,
    /// The outlet's feed URL.
    pub feed_url: String,
    /// The outlet's website, when known.
    pub site_url: Option<String>,
    /// The copy's canonical URL.
    pub url: Option<String>,
    /// Plain-text title.
    pub title: String,
    /// Sanitised HTML summary.
    pub summary_html: Option<String>,
    /// Sanitised HTML content.
    pub content_html: Option<String>,
    /// Author names.
    pub authors: Vec<String>,
    /// Category terms.
    pub categories: Vec<String>,
    /// Publication time.
    pub published: DateTime<Utc>,
    /// Update time, when the feed gave one.
    pub updated: Option<DateTime<Utc>>,
    /// How it joined the story (`model::MatchKind` word).
    pub matched: String,
    /// The score it joined with.
    pub score: f64,
    /// The dedup rule and thresholds in force when it joined.
    pub thresholds: String,
    /// Its language tag as the entry or its feed gave it.
    pub language: Option<String>,
}

/// The version of a merged-feed selection, what a cached document's validators (`ETag`,
/// `Last-Modified`) are derived from: a hash of everything a rendered document depends on in
/// the database, and the latest change among the selected stories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergedVersion {
    /// xxh3 over the selected stories, their copies' content hashes, dates and outlets.
    pub hash: u64,
    /// The latest `last_changed` of the selected stories (None when nothing is selected).
    pub last_changed: Option<DateTime<Utc>>,
}

/// Named parameters of a statement, each owned or borrowed for `'a`.
type NamedParams<'a> = Vec<(&'static str, Box<dyn ToSql + 'a>)>;

/// The conditions of `filter` on the story `s` other than its search, each a SQL
/// expression over the parameters [`filter_params`] binds.
fn filter_conditions(filter: &StoryFilter) -> Vec<&'static str> {
    let mut cond = Vec::new();
    if filter.tag.is_some() {
        cond.push(
            "EXISTS (SELECT 1 FROM copies c JOIN articles a ON a.id = c.article_id
                     JOIN feed_tags t ON t.feed_id = a.feed_id AND t.tag = :tag
                     WHERE c.story_id = s.id)",
        );
    }
    if filter.feeds.is_some() {
        cond.push(
            "EXISTS (SELECT 1 FROM copies c JOIN articles a ON a.id = c.article_id
                     WHERE c.story_id = s.id AND a.feed_id IN (SELECT value FROM json_each(:feeds)))",
        );
    }
    if filter.before.is_some() {
        cond.push("(s.first_published, s.id) < (:before_published, :before_id)");
    }
    cond
}

/// The named parameters of [`filter_conditions`].
fn filter_params(filter: &StoryFilter) -> NamedParams<'_> {
    let mut p: NamedParams<'_> = Vec::new();
    if let Some(tag) = &filter.tag {
        p.push((":tag", Box::new(tag.as_str())));
    }
    if let Some(feeds) = &filter.feeds {
        p.push((":feeds", Box::new(JsonIds(feeds))));
    }
    if let Some(before) = filter.before {
        p.push((":before_published", Box::new(before.first_published)));
        p.push((":before_id", Box::new(before.id)));
    }
    p
}

/// The selection every merged-feed query shares, as a CTE named `sel`, and its parameters.
/// A search is answered first, by walking its matches ([`super::search::matching_stories`]); the
/// selection then keeps the stories it found.
fn selection<'f>(conn: &Connection, filter: &'f StoryFilter) -> Result<(String, NamedParams<'f>)> {
    let mut cond = filter_conditions(filter);
    let mut params = filter_params(filter);
    if let Some(q) = &filter.search {
        let bound: Vec<(&str, &dyn ToSql)> = params.iter().map(|(k, v)| (*k, &**v)).collect();
        let found = super::search::matching_stories(conn, q, &cond, &bound, filter.limit)?;
        cond.push(super::search::STORY_FOUND);
        params.push((":found", Box::new(JsonIds(found))));
    }
    let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
    params.push((":limit", Box::new(limit)));
    let cond = if cond.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", cond.join(" AND "))
    };
    let cte = format!(
        "WITH sel AS (SELECT s.id, s.representative, s.first_published, s.last_changed,
                             s.rep_changed
                      FROM stories s {cond}
                      ORDER BY s.first_published DESC, s.id DESC LIMIT :limit)"
    );
    Ok((cte, params))
}

/// The selection of the story page: one story by id (`:story`), as a CTE named `sel`.
const ONE_STORY_CTE: &str =
    "WITH sel AS (SELECT id, representative, first_published, last_changed, rep_changed
                  FROM stories WHERE id = :story)";

/// The longest chain of merges [`Store::story_survivor`] follows.
const MAX_MERGE_HOPS: usize = 64;

/// A list of ids passed to SQL as a JSON array (for `json_each`), borrowed or owned.
pub(super) struct JsonIds<T: AsRef<[i64]>>(pub(super) T);

impl<T: AsRef<[i64]>> ToSql for JsonIds<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let list: Vec<String> = self.0.as_ref().iter().map(i64::to_string).collect();
        Ok(ToSqlOutput::Owned(Value::Text(format!(
            "[{}]",
            list.join(",")
        ))))
    }
}

/// A text column read leniently: invalid UTF-8 that reached the database becomes U+FFFD
/// instead of failing the whole document.
fn text(r: &Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(opt_text(r, i)?.unwrap_or_default())
}

fn opt_text(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    Ok(match r.get_ref(i)? {
        ValueRef::Null => None,
        ValueRef::Text(b) | ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
    })
}

fn json_list(r: &Row<'_>, i: usize) -> rusqlite::Result<Vec<String>> {
    Ok(serde_json::from_str(&text(r, i)?).unwrap_or_default())
}

/// What the merged-feed readers select for the stories of a CTE named `sel` (`id,
/// representative, first_published, last_changed, rep_changed`), a row per copy, grouped
/// by story: the same text on both backends.
pub(crate) const STORIES_OF_SELECTION: &str = "
             SELECT sel.id, sel.representative, sel.first_published, sel.last_changed,
                    a.id, f.name, f.url, f.site_url, a.url, a.title, a.summary,
                    COALESCE(p.content, a.content),
                    a.authors, a.categories, a.published, a.updated, c.match,
                    c.score, c.thresholds, a.language, sel.rep_changed
             FROM sel JOIN copies c ON c.story_id = sel.id
                      JOIN articles a ON a.id = c.article_id
                      JOIN feeds f ON f.id = a.feed_id
                      LEFT JOIN pages p ON p.article_id = a.id AND p.state = 'done'
             ORDER BY sel.first_published DESC, sel.id DESC, a.published, a.id";

/// A story being read: its stored representative's id, the story, its copies.
pub(crate) type StoryRows = Vec<(Option<i64>, MergedStory, Vec<MergedCopy>)>;

/// Adds one row of [`STORIES_OF_SELECTION`] (its story id and copy) to `stories`: to the
/// last story when the row is one of its copies, else as a new story that `head` reads from
/// the row (given the copy, to stand as representative until the stored one is picked).
pub(crate) fn add_copy(
    stories: &mut StoryRows,
    story: i64,
    copy: MergedCopy,
    head: impl FnOnce(MergedCopy) -> Result<(Option<i64>, MergedStory)>,
) -> Result<()> {
    match stories.last_mut() {
        Some((_, s, copies)) if s.id == story => copies.push(copy),
        _ => {
            let (representative, s) = head(copy.clone())?;
            stories.push((representative, s, vec![copy]));
        }
    }
    Ok(())
}

/// Each story with its representative and other copies, from (representative id, story,
/// copies in order) as the queries of both backends read them.
pub(crate) fn with_representatives(
    stories: Vec<(Option<i64>, MergedStory, Vec<MergedCopy>)>,
) -> Vec<MergedStory> {
    stories
        .into_iter()
        .map(|(rep, mut story, mut copies)| {
            // A representative pruned away (SET NULL) falls back to the earliest copy.
            let at = rep
                .and_then(|id| copies.iter().position(|c| c.article == id))
                .unwrap_or(0);
            story.representative = copies.remove(at);
            story.others = copies;
            story
        })
        .collect()
}

impl Store {
    /// [`Store::open_reader`] for the database `[storage]` names: a read-only SQLite
    /// connection, or a PostgreSQL session that leaves the schema alone.
    pub fn open_reader_at(location: &StoreLocation) -> Result<Store> {
        match location {
            StoreLocation::Sqlite(path) => Store::open_reader(path),
            StoreLocation::Postgres(url) => Ok(Store {
                db: super::Db::Postgres(Box::new(
                    super::postgres::Pg::connect_reader(url).map_err(|e| e.opening_at(url))?,
                )),
                location: location.clone(),
                foreign_keys: false,
                _checkpointer: None,
            }),
        }
    }

    /// Opens an existing database for reading only, without touching its schema: the HTTP
    /// server keeps a few of these beside the daemon's writer (WAL lets them read while it
    /// writes).
    pub fn open_reader(path: &Path) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::from(e).opening(path))?;
        super::wait_for_writers(&conn)?;
        Ok(Store {
            db: super::Db::Sqlite(conn),
            location: StoreLocation::Sqlite(path.to_path_buf()),
            foreign_keys: false, // SQLite's default; a reader writes nothing
            _checkpointer: None,
        })
    }

    /// Runs `f` inside one read transaction, so everything it reads comes from one snapshot
    /// of the database even while the daemon writes.
    pub fn snapshot<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        match self.backend() {
            Backend::Sqlite(c) => c
                .execute_batch("BEGIN DEFERRED")
                .map_err(StoreError::from)?,
            Backend::Postgres(pg) => pg.begin_snapshot()?,
        }
        let out = f(self);
        // Ending a read transaction cannot lose anything; a failure here only means it had
        // already ended.
        let _ = match self.backend() {
            Backend::Sqlite(c) => c.execute_batch("COMMIT").map_err(StoreError::from),
            Backend::Postgres(pg) => pg.end_snapshot(),
        };
        out
    }

    /// A number that changes whenever another connection commits to the database: one
    /// cheap pragma, so a server can tell that its cached documents are still current.
    pub fn data_version(&self) -> Result<i64> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.data_version(),
        };
        Ok(conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?)
    }

    /// The ids of the feeds whose name is `name` or whose normalised URL is `url`.
    pub fn feed_ids_named(&self, name: &str, url: Option<&str>) -> Result<Vec<i64>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.feed_ids_named(name, url),
        };
        let mut stmt =
            conn.prepare_cached("SELECT id FROM feeds WHERE name = ?1 OR url = ?2 ORDER BY id")?;
        let ids = stmt.query_map(rusqlite::params![name, url], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether any feed carries `tag`.
    pub fn tag_exists(&self, tag: &str) -> Result<bool> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.tag_exists(tag),
        };
        Ok(conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM feed_tags WHERE tag = ?1)",
            [tag],
            |r| r.get(0),
        )?)
    }

    /// When the newest feed row was created: the `updated` time of a merged feed that has
    /// no stories yet (None when no feed was ever configured).
    pub fn newest_feed_created(&self) -> Result<Option<DateTime<Utc>>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.newest_feed_created(),
        };
        let t: Option<i64> = conn.query_row("SELECT max(created) FROM feeds", [], |r| r.get(0))?;
        Ok(t.map(time))
    }

    /// The stories `filter` selects, newest first (by first publication), each with its
    /// representative and other copies.
    pub fn merged_stories(&self, filter: &StoryFilter) -> Result<Vec<MergedStory>> {
        if let Backend::Postgres(pg) = self.backend() {
            return pg.merged_stories(filter);
        }
        let (cte, params) = selection(self.sqlite()?, filter)?;
        let params: Vec<(&str, &dyn ToSql)> = params.iter().map(|(k, v)| (*k, &**v)).collect();
        self.stories_of(&cte, params.as_slice())
    }

    /// One story (the story page), or None when no story has that id now.
    pub fn merged_story(&self, story: i64) -> Result<Option<MergedStory>> {
        if let Backend::Postgres(pg) = self.backend() {
            return pg.merged_story(story);
        }
        Ok(self
            .stories_of(ONE_STORY_CTE, &[(":story", &story as &dyn ToSql)])?
            .pop())
    }

    /// The [`MergedVersion`] of one story (the story page's validators).
    pub fn merged_story_version(&self, story: i64) -> Result<MergedVersion> {
        if let Backend::Postgres(pg) = self.backend() {
            return pg.merged_story_version(story);
        }
        self.version_of(ONE_STORY_CTE, &[(":story", &story as &dyn ToSql)])
    }

    /// The story that now holds the copies of `story`, an id absorbed by a merge: the
    /// survivor, following a chain of merges (kept one hop long by the writer, but a store
    /// written before that may hold longer ones). None when `story` was never absorbed.
    pub fn story_survivor(&self, story: i64) -> Result<Option<i64>> {
        let mut at = story;
        let mut hops = 0;
        while let Some(next) = self.merged_into(at)? {
            hops += 1;
            // A cycle cannot be written by the writer; a hand-edited one ends here.
            if next == story || hops > MAX_MERGE_HOPS {
                break;
            }
            at = next;
        }
        Ok((at != story).then_some(at))
    }

    /// The stories a CTE named `sel` selects, with their copies, newest first.
    fn stories_of(&self, cte: &str, params: &[(&str, &dyn ToSql)]) -> Result<Vec<MergedStory>> {
        let sql = format!("{cte} {STORIES_OF_SELECTION}");
        let mut stmt = self.sqlite()?.prepare_cached(&sql)?;
        let mut rows = stmt.query(params)?;
        let mut stories = StoryRows::new();
        while let Some(r) = rows.next()? {
            let story: i64 = r.get(0)?;
            let copy = MergedCopy {
                article: r.get(4)?,
                outlet: text(r, 5)?,
                feed_url: text(r, 6)?,
                site_url: opt_text(r, 7)?,
                url: opt_text(r, 8)?,
                title: text(r, 9)?,
                summary_html: opt_text(r, 10)?,
                content_html: opt_text(r, 11)?,
                authors: json_list(r, 12)?,
                categories: json_list(r, 13)?,
                published: time(r.get(14)?),
                updated: r.get::<_, Option<i64>>(15)?.map(time),
                matched: text(r, 16)?,
                score: r.get::<_, Option<f64>>(17)?.unwrap_or(0.0),
                thresholds: text(r, 18)?,
                language: opt_text(r, 19)?,
            };
            add_copy(&mut stories, story, copy, |copy| {
                Ok((
                    r.get(1)?,
                    MergedStory {
                        id: story,
                        first_published: time(r.get(2)?),
                        last_changed: time(r.get(3)?),
                        rep_changed: r.get::<_, Option<i64>>(20)?.map(time),
                        representative: copy,
                        others: Vec::new(),
                    },
                ))
            })?;
        }
        Ok(with_representatives(stories))
    }

    /// The [`MergedVersion`] of what `filter` selects: reads ids, hashes and dates only, so
    /// it costs a fraction of [`Store::merged_stories`].
    pub fn merged_version(&self, filter: &StoryFilter) -> Result<MergedVersion> {
        if let Backend::Postgres(pg) = self.backend() {
            return pg.merged_version(filter);
        }
        let (cte, params) = selection(self.sqlite()?, filter)?;
        let params: Vec<(&str, &dyn ToSql)> = params.iter().map(|(k, v)| (*k, &**v)).collect();
        self.version_of(&cte, params.as_slice())
    }

    fn version_of(&self, cte: &str, params: &[(&str, &dyn ToSql)]) -> Result<MergedVersion> {
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
        let mut stmt = self.sqlite()?.prepare_cached(&sql)?;
        let mut rows = stmt.query(params)?;
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        let mut latest: Option<i64> = None;
        while let Some(r) = rows.next()? {
            for i in 0..14 {
                match r.get_ref(i)? {
                    ValueRef::Null => h.update(&[0]),
                    ValueRef::Integer(n) => h.update(&n.to_le_bytes()),
                    ValueRef::Real(x) => h.update(&x.to_le_bytes()),
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        h.update(&(b.len() as u64).to_le_bytes());
                        h.update(b);
                    }
                }
            }
            let changed: i64 = r.get(3)?;
            latest = Some(latest.map_or(changed, |l| l.max(changed)));
        }
        Ok(MergedVersion {
            hash: h.digest(),
            last_changed: latest.map(time),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Article, MatchKind};
    use crate::store::{FeedSpec, Upsert};

    fn article(key: &str, title: &str, secs: i64) -> Article {
        Article {
            key: key.into(),
            url: Some(format!("https://x.example/{key}")),
            title: title.into(),
            text: "body".into(),
            published: DateTime::from_timestamp(secs, 0),
            ..Default::default()
        }
    }

    #[test]
    fn stories_come_newest_first_with_their_copies_and_filters_apply() {
        crate::store::on_each_backend("merged_stories", |store| {
            let ids = store
                .sync_feeds(&[
                    FeedSpec {
                        url: "https://a.example/rss".into(),
                        name: "A".into(),
                        tags: vec!["world".into()],
                        full_text: Default::default(),
                    },
                    FeedSpec {
                        url: "https://b.example/rss".into(),
                        name: "B".into(),
                        tags: vec![],
                        full_text: Default::default(),
                    },
                ])
                .unwrap();
            let (a, b) = (ids["https://a.example/rss"], ids["https://b.example/rss"]);
            let now = Utc::now();
            let mut batch = store.begin().unwrap();
            let new = |batch: &mut crate::store::Batch<'_>, feed, art: &Article| match batch
                .upsert_article(feed, art, now)
                .unwrap()
            {
                Upsert::New { article } => article,
                other => panic!("{other:?}"),
            };
            let a1 = new(&mut batch, a, &article("a1", "Old", 1_000));
            let b1 = new(&mut batch, b, &article("b1", "Old, copy", 1_100));
            let b2 = new(&mut batch, b, &article("b2", "New", 2_000));
            let s1 = batch.new_story(a1, now).unwrap();
            batch
                .join_story(b1, s1, MatchKind::Content, 0.7, "", now)
                .unwrap();
            batch.set_representative(s1, b1, now).unwrap();
            let s2 = batch.new_story(b2, now).unwrap();
            batch.commit().unwrap();

            let reader = Store::open_reader_at(store.location()).unwrap();
            let all = reader
                .merged_stories(&StoryFilter {
                    limit: 10,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(all.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s2, s1]);
            assert_eq!(all[1].representative.article, b1);
            assert_eq!(all[1].others.len(), 1);
            assert_eq!(all[1].others[0].outlet, "A");
            let tagged = reader
                .merged_stories(&StoryFilter {
                    tag: Some("world".into()),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(tagged.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s1]);
            let by_feed = StoryFilter {
                feeds: Some(reader.feed_ids_named("B", None).unwrap()),
                limit: 1,
                ..Default::default()
            };
            assert_eq!(reader.merged_stories(&by_feed).unwrap()[0].id, s2);

            let before = reader.merged_version(&by_feed).unwrap();
            let generation = reader.data_version().unwrap();
            let mut batch = store.begin().unwrap();
            batch
                .upsert_article(b, &article("b2", "New, edited", 2_000), now)
                .unwrap();
            batch.commit().unwrap();
            assert_ne!(reader.data_version().unwrap(), generation);
            assert_ne!(reader.merged_version(&by_feed).unwrap().hash, before.hash);
            let one = reader.merged_story(s1).unwrap().unwrap();
            assert_eq!(one.others.len(), 1);
            assert_ne!(reader.merged_story_version(s1).unwrap().hash, before.hash);
            assert!(reader.tag_exists("world").unwrap() && !reader.tag_exists("x").unwrap());
        });
    }

    #[test]
    fn invalid_utf8_that_reached_the_database_is_read_lossily() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let ids = store
            .sync_feeds(&[FeedSpec {
                url: "https://a.example/rss".into(),
                name: "A".into(),
                tags: vec![],
                full_text: Default::default(),
            }])
            .unwrap();
        let now = Utc::now();
        let mut batch = store.begin().unwrap();
        let Upsert::New { article: id } = batch
            .upsert_article(ids["https://a.example/rss"], &article("k", "ok", 1), now)
            .unwrap()
        else {
            panic!("new")
        };
        batch.new_story(id, now).unwrap();
        batch.commit().unwrap();
        store
            .sqlite()
            .unwrap()
            .execute(
                "UPDATE articles SET title = CAST(x'41ff42' AS TEXT), content = CAST(x'3cc0' AS TEXT)",
                [],
            )
            .unwrap();
        let stories = store
            .merged_stories(&StoryFilter {
                limit: 5,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(stories[0].representative.title, "A\u{FFFD}B");
        assert_eq!(
            stories[0].representative.content_html.as_deref(),
            Some("<\u{FFFD}")
        );
    }
}
