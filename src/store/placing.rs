//! Several daemons on one database: which daemon polls a due feed (leases) and which places
//! copies into stories (the placer), for the stages to ask without knowing the backend.
//!
//! SQLite has one daemon: every feed and the placing are its own, and these calls answer so
//! without touching the database. On PostgreSQL (`postgres/placing.rs`) a due feed is leased
//! to one daemon, one daemon holds the placer role, and the others hand their fetched
//! documents over to it through the database.

use chrono::{DateTime, Utc};

use super::{Backend, Batch, On, Result, Store, secs};
use crate::model::{Article, FetchState};

/// A document another daemon fetched and parsed, for the placer to store.
#[derive(Debug, Clone, PartialEq)]
pub struct HandedOver {
    /// The feed it came from.
    pub feed_id: i64,
    /// When it was fetched (first-seen time of its new articles).
    pub fetched_at: DateTime<Utc>,
    /// Its articles, as parsed.
    pub articles: Vec<Article>,
}

impl Store {
    /// Leases those of `ids` that are due at `now` to `holder` until `until`, returning
    /// their current state; `None` when the backend has no leases (SQLite: all are yours).
    pub fn claim_feeds(
        &self,
        ids: &[i64],
        now: DateTime<Utc>,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<Option<Vec<FetchState>>> {
        match self.backend() {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(pg) => pg
                .claim_feeds(ids, secs(now), holder, secs(until))
                .map(Some),
        }
    }

    /// Whether this process may place copies: always on SQLite; on PostgreSQL when its
    /// session holds (or now takes) the placer role.
    pub fn claim_placer(&self) -> Result<bool> {
        match self.backend() {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(pg) => pg.claim_placer(),
        }
    }

    /// Whether `me` placed last, so its dedup index is current (always on SQLite).
    pub fn placed_last(&self, me: &str) -> Result<bool> {
        match self.backend() {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(pg) => pg.placed_last(me),
        }
    }

    /// Records `me` as the daemon placing from now on; its index is to be loaded after this.
    pub fn take_placing(&self, me: &str) -> Result<()> {
        match self.backend() {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(pg) => pg.take_placing(me),
        }
    }
}

impl Batch<'_> {
    /// Starts placing in this batch: false when another daemon placed since `me` did (the
    /// batch must then place nothing; see [`Store::take_placing`]).
    pub fn begin_placing(&mut self, me: &str) -> Result<bool> {
        match self.on() {
            On::Sqlite(_) => Ok(true),
            On::Postgres(mut tx) => super::postgres::placing::begin_placing(&mut **tx, me),
        }
    }

    /// Queues `articles` fetched from `feed_id` for the placer (PostgreSQL only; on SQLite
    /// the one daemon places them itself and nothing is queued).
    pub fn hand_over(
        &mut self,
        feed_id: i64,
        fetched_at: DateTime<Utc>,
        articles: &[Article],
    ) -> Result<()> {
        match self.on() {
            On::Sqlite(_) => Ok(()),
            On::Postgres(mut tx) => {
                let json = serde_json::to_string(articles)
                    .map_err(|e| super::StoreError::HandOver(e.to_string()))?;
                super::postgres::placing::hand_over(&mut **tx, feed_id, secs(fetched_at), &json)
            }
        }
    }

    /// Takes up to `limit` handed-over documents, oldest first; they leave the queue when
    /// this batch commits. A row that does not read back is dropped with a warning.
    pub fn take_handed_over(&mut self, limit: usize) -> Result<Vec<HandedOver>> {
        let rows = match self.on() {
            On::Sqlite(_) => return Ok(Vec::new()),
            On::Postgres(mut tx) => super::postgres::placing::take_handed_over(
                &mut **tx,
                i64::try_from(limit).unwrap_or(i64::MAX),
            )?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for (feed_id, fetched_at, json) in rows {
            match serde_json::from_str::<Vec<Article>>(&json) {
                Ok(articles) => out.push(HandedOver {
                    feed_id,
                    fetched_at: super::time(fetched_at),
                    articles,
                }),
                Err(e) => {
                    tracing::warn!(feed_id, error = %e, "dropping a handed-over document that does not read back")
                }
            }
        }
        Ok(out)
    }
}
