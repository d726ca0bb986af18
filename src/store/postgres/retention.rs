//! Retention on PostgreSQL: `store/retention.rs`'s pruning in PostgreSQL's dialect (the
//! batch's story ids in an array instead of a temporary table).

use chrono::{DateTime, Utc};

use super::Pg;
use crate::store::{Result, secs};

impl Pg {
    pub(crate) fn prune_stories(&mut self, cutoff: DateTime<Utc>, limit: usize) -> Result<usize> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut tx = self.begin()?;
        let ids: Vec<i64> = tx
            .query(
                "SELECT id FROM stories WHERE first_published < $1 AND last_changed < $1 LIMIT $2",
                &[&secs(cutoff), &limit],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        // The copies and fingerprints of deleted articles go by cascade.
        tx.execute(
            "DELETE FROM articles WHERE id IN (
                 SELECT c.article_id FROM copies c WHERE c.story_id = ANY($1))",
            &[&ids],
        )?;
        tx.execute("DELETE FROM story_merges WHERE survivor = ANY($1)", &[&ids])?;
        let n = tx.execute("DELETE FROM stories WHERE id = ANY($1)", &[&ids])?;
        tx.commit()?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}
