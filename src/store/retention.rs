//! Retention: removing stories (and their articles) older than `[storage].retention`, a
//! small batch per transaction so the daemon's fetches never wait long for the write lock.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Result, Store, secs};

impl Store {
    /// Deletes up to `limit` stories first published and last changed before `cutoff`,
    /// with all their copies' articles, in one transaction. Returns how many stories went;
    /// call again until it returns 0.
    pub fn prune_stories(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<usize> {
        if let super::Db::Postgres(pg) = &mut self.db {
            return pg.prune_stories(cutoff, limit);
        }
        // The copies and fingerprints of deleted articles go by cascade.
        self.enforce_foreign_keys(true)?;
        let tx = self
            .sqlite_mut()?
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        tx.execute_batch("CREATE TEMP TABLE IF NOT EXISTS prune_batch (id INTEGER PRIMARY KEY)")?;
        tx.execute("DELETE FROM temp.prune_batch", [])?;
        tx.execute(
            "INSERT INTO temp.prune_batch (id)
             SELECT id FROM stories WHERE first_published < ?1 AND last_changed < ?1 LIMIT ?2",
            params![secs(cutoff), limit],
        )?;
        tx.execute(
            "DELETE FROM articles WHERE id IN (
                 SELECT c.article_id FROM copies c JOIN temp.prune_batch p ON p.id = c.story_id)",
            [],
        )?;
        tx.execute(
            "DELETE FROM story_merges WHERE survivor IN (SELECT id FROM temp.prune_batch)",
            [],
        )?;
        let n = tx.execute(
            "DELETE FROM stories WHERE id IN (SELECT id FROM temp.prune_batch)",
            [],
        )?;
        tx.execute("DELETE FROM temp.prune_batch", [])?;
        tx.commit()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {

    use crate::model::Article;
    use crate::store::Upsert;

    /// Written as the daemon writes (an ingest batch, without foreign-key enforcement),
    /// pruned with cascades: no copy or fingerprint outlives its article.
    #[test]
    fn prunes_old_stories_with_their_articles_in_batches() {
        crate::store::on_each_backend("prune", |store| {
            let feed = crate::store::add_test_feed(store);
            let old = crate::store::time(1_000_000);
            let new = crate::store::time(2_000_000);
            let mut batch = store.begin_ingest().unwrap();
            for (i, at) in [(0, old), (1, old), (2, old), (3, new)] {
                let a = Article {
                    key: format!("k{i}"),
                    title: format!("t{i}"),
                    text: format!("x{i}"),
                    published: Some(at),
                    ..Default::default()
                };
                let Upsert::New { article } = batch.upsert_article(feed, &a, at).unwrap() else {
                    panic!("not new");
                };
                batch.new_story(article, at).unwrap();
            }
            batch.commit().unwrap();
            let cutoff = crate::store::time(1_500_000);
            assert_eq!(store.prune_stories(cutoff, 2).unwrap(), 2);
            assert_eq!(store.prune_stories(cutoff, 2).unwrap(), 1);
            assert_eq!(store.prune_stories(cutoff, 2).unwrap(), 0);
            assert_eq!(store.counts().unwrap(), (1, 1, 1));
            assert!(store.check().unwrap().is_empty());
        });
    }
}
