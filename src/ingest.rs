//! Ingest: one parsed feed into the store, as one transaction — the join between the
//! parse, dedup and store stages that the daemon and `fetch` both use.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::model::ParsedFeed;
use crate::store::{Store, Upsert};

/// What ingesting one feed's document changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Copies never seen before.
    pub new_articles: usize,
    /// Existing copies whose text or title changed.
    pub updated_articles: usize,
    /// Stories founded by new copies.
    pub new_stories: usize,
    /// New copies that joined an existing story.
    pub merged: usize,
}

/// Stores the articles of `parsed` for feed `feed_id`, all or nothing.
pub fn ingest(
    store: &mut Store,
    feed_id: i64,
    parsed: &ParsedFeed,
    now: DateTime<Utc>,
) -> Result<IngestReport> {
    let mut report = IngestReport::default();
    let mut batch = store.begin()?;
    for article in &parsed.articles {
        match batch.upsert_article(feed_id, article, now)? {
            Upsert::New { article } => {
                batch.new_story(article, now)?;
                report.new_articles += 1;
                report.new_stories += 1;
            }
            Upsert::Updated { story, .. } => {
                if let Some(story) = story {
                    batch.touch_story(story, now)?;
                }
                report.updated_articles += 1;
            }
            Upsert::Unchanged { .. } => {}
        }
    }
    batch.commit()?;
    Ok(report)
}
