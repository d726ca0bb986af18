//! Full-text search on PostgreSQL: `store/search.rs`'s index and queries in PostgreSQL's
//! terms. A copy's words ([`index_words`](crate::store::search::index_words)) are written
//! as a `tsvector` with their positions, and a search as a `tsquery` of the same words
//! ([`Search::tsquery`]); PostgreSQL's own parser and dictionaries never see the text, so
//! both backends read text and searches alike. The GIN index answers a search with every
//! matching copy; the selection then keeps the newest stories among theirs.

use postgres::types::ToSql;

use super::{Pg, PgTx};
use crate::markup::text::html_to_text;
use crate::store::search::{Search, tsvector};
use crate::store::{Result, StoryView};

/// Writes a copy's (`$1`) search row from its `tsvector` (`$2`), replacing what it was.
const UPSERT_TERMS: &str = "INSERT INTO search (article_id, terms) \
     VALUES ($1, CAST($2::text AS tsvector)) \
     ON CONFLICT (article_id) DO UPDATE SET terms = excluded.terms";

/// Indexes copy `article` under its title and plain text (again, when its text changed).
pub(crate) fn index_copy(tx: &mut PgTx<'_>, article: i64, title: &str, text: &str) -> Result<()> {
    tx.execute(UPSERT_TERMS, &[&article, &tsvector(title, text)])?;
    Ok(())
}

/// Copies read per statement by [`index_stored_copies`].
const INDEX_BATCH: i64 = 1000;

/// Indexes every stored copy without a search row — its title and the plain text of its
/// article page when one was fetched, else of its content, else of its summary (what ingest
/// indexes): the schema migration that brings search, `migrate-store` (the source's index,
/// SQLite's FTS5 without content, cannot be copied), and each start (copies an older
/// daemon stored during a rolling upgrade). Returns how many it indexed.
pub(crate) fn index_stored_copies(tx: &mut postgres::Transaction<'_>) -> Result<u64> {
    let missing: i64 = tx
        .query_one(
            "SELECT count(*) FROM articles a \
             WHERE NOT EXISTS (SELECT 1 FROM search x WHERE x.article_id = a.id)",
            &[],
        )?
        .try_get(0)?;
    if missing == 0 {
        return Ok(0);
    }
    // Minutes for a large store: say why the start waits.
    tracing::info!(copies = missing, "indexing stored copies for search");
    let read = tx.prepare(
        "SELECT a.id, a.title, COALESCE(p.content, a.content, a.summary) FROM articles a \
         LEFT JOIN pages p ON p.article_id = a.id AND p.state = 'done' \
         WHERE a.id > $1 AND NOT EXISTS (SELECT 1 FROM search x WHERE x.article_id = a.id) \
         ORDER BY a.id LIMIT $2",
    )?;
    let write = tx.prepare(UPSERT_TERMS)?;
    let (mut after, mut indexed) = (0i64, 0u64);
    loop {
        let rows = tx.query(&read, &[&after, &INDEX_BATCH])?;
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            let title: String = r.try_get::<_, Option<String>>(1)?.unwrap_or_default();
            let html: Option<String> = r.try_get(2)?;
            let text = html.as_deref().map(html_to_text).unwrap_or_default();
            tx.execute(&write, &[&id, &tsvector(&title, &text)])?;
            after = id;
            indexed += 1;
        }
        if (rows.len() as i64) < INDEX_BATCH {
            return Ok(indexed);
        }
    }
}

/// The condition on the story `s` that one of its copies matches the `tsquery` bound as
/// parameter `$n`.
pub(crate) fn story_matches(n: usize) -> String {
    format!(
        "s.id IN (SELECT c.story_id FROM search x JOIN copies c ON c.article_id = x.article_id \
                  WHERE x.terms @@ CAST(${n}::text AS tsquery))"
    )
}

impl Pg {
    /// [`Store::search_stories`](crate::store::Store::search_stories) on PostgreSQL.
    pub(crate) fn search_stories(&self, search: &Search, limit: usize) -> Result<Vec<StoryView>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // No word the index could hold: nothing matches.
        let Some(query) = search.tsquery() else {
            return Ok(Vec::new());
        };
        let top = format!(
            "SELECT s.id, s.representative, s.first_published FROM stories s WHERE {} \
             ORDER BY s.first_published DESC, s.id DESC LIMIT $2",
            story_matches(1)
        );
        let params: [&(dyn ToSql + Sync); 2] = [&query, &limit];
        self.stories_where(&top, &params)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;
    use crate::store::postgres::scratch::ScratchDatabase;
    use crate::store::search::Search;

    /// A PostgreSQL database from before search (v2) is indexed by the upgrade: each copy by
    /// its page's article when there is one, else its content, else its summary.
    #[test]
    fn the_upgrade_indexes_the_copies_already_stored() {
        let Some(db) = ScratchDatabase::create("pg_search_upgrade") else {
            return;
        };
        {
            let mut client = super::super::session(db.url()).unwrap();
            super::super::apply_up_to(&mut client, 2).unwrap();
            client
                .batch_execute(crate::store::search::PRE_SEARCH_ROWS)
                .unwrap();
        }
        let store = Store::open_postgres(db.url()).unwrap();
        crate::store::search::assert_finds_pre_search_rows(&store);
        drop(store);

        // A copy an older daemon stored meanwhile, without a search row (a rolling
        // upgrade): the next start indexes it.
        {
            let mut client = super::super::session(db.url()).unwrap();
            client
                .batch_execute(
                    "INSERT INTO articles (id, feed_id, key, title, summary, published, first_seen, last_changed, content_hash)
                         VALUES (4, 1, 'k4', 'Fourth', '<p>Late walrus</p>', 400, 400, 400, 4);
                     INSERT INTO stories (id, representative, first_published, last_changed) VALUES (4, 4, 400, 400);
                     INSERT INTO copies (article_id, story_id, match, score, joined) VALUES (4, 4, 'first', 1.0, 400);",
                )
                .unwrap();
        }
        let store = Store::open_postgres(db.url()).unwrap();
        let found = store
            .search_stories(&Search::parse("walrus").unwrap(), 10)
            .unwrap();
        assert_eq!(found.iter().map(|s| s.id).collect::<Vec<_>>(), [4]);
    }
}
