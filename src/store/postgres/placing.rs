//! Several daemons on one PostgreSQL database: feed leases, the placer role and the
//! hand-over of fetched documents to it (`store/placing.rs` is the API the stages call).

use postgres::GenericClient;

use super::Pg;
use super::fetch_state::{COLUMNS, read_state};
use crate::model::FetchState;
use crate::store::Result;

/// The session advisory lock whose holder is the placer ("trpl" in ASCII); any fixed number
/// no other application on the database uses.
pub(crate) const PLACER_ROLE: i64 = 0x7472_706c;
/// The transaction advisory lock every placing transaction takes ("trpx"): even a daemon
/// that lost its session (and its role with it) without noticing places one at a time.
pub(crate) const PLACING: i64 = 0x7472_7078;

impl Pg {
    /// Leases those of `ids` that are due at `now` and not leased by a live daemon, to
    /// `holder` until `until`, and returns their fetch state as it is now in the database.
    /// Rows another daemon is claiming at this moment are skipped, not waited for.
    pub(crate) fn claim_feeds(
        &self,
        ids: &[i64],
        now: i64,
        holder: &str,
        until: i64,
    ) -> Result<Vec<FetchState>> {
        let sql = format!(
            "WITH due AS (
                 SELECT id FROM feeds
                 WHERE id = ANY($1) AND gone = 0 AND next_fetch <= $2
                   AND (lease_until IS NULL OR lease_until <= $2)
                 FOR UPDATE SKIP LOCKED)
             UPDATE feeds SET lease_holder = $3, lease_until = $4 FROM due
             WHERE feeds.id = due.id
             RETURNING {}",
            COLUMNS
                .split(',')
                .map(|c| format!("feeds.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.with(|c| {
            c.query(&sql, &[&ids, &now, &holder, &until])?
                .iter()
                .map(read_state)
                .collect()
        })
    }

    /// Whether this session holds the placer role, taking it if no session does.
    pub(crate) fn claim_placer(&self) -> Result<bool> {
        self.with(|c| {
            let held: bool = c
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                         AND pid = pg_backend_pid() AND granted AND objsubid = 1
                         AND ((classid::bigint << 32) | objid::bigint) = $1)",
                    &[&PLACER_ROLE],
                )?
                .try_get(0)?;
            if held {
                return Ok(true);
            }
            c.query_one("SELECT pg_try_advisory_lock($1)", &[&PLACER_ROLE])?
                .try_get(0)
        })
    }

    /// Whether `me` placed last (its dedup index holds every placement).
    pub(crate) fn placed_last(&self, me: &str) -> Result<bool> {
        self.with(|c| {
            let holder: String = c.query_one("SELECT holder FROM placer", &[])?.try_get(0)?;
            Ok(holder == me)
        })
    }

    /// Records `me` as the daemon placing from now on, after every placing transaction
    /// under way has ended: `me` then reloads its index and finds all they placed.
    pub(crate) fn take_placing(&self, me: &str) -> Result<()> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PLACING])?;
            tx.execute("UPDATE placer SET holder = $1", &[&me])?;
            tx.commit()
        })
    }
}

/// Starts placing in transaction `tx`: waits for any other placing transaction, and says
/// whether `me` still placed last (if not, nothing may be placed with its index).
pub(crate) fn begin_placing(tx: &mut impl GenericClient, me: &str) -> Result<bool> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PLACING])?;
    let holder: String = tx.query_one("SELECT holder FROM placer", &[])?.try_get(0)?;
    Ok(holder == me)
}

/// Queues a fetched document's articles for the placer.
pub(crate) fn hand_over(
    tx: &mut impl GenericClient,
    feed_id: i64,
    fetched_at: i64,
    articles: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO handover (feed_id, fetched_at, articles) VALUES ($1, $2, $3)",
        &[&feed_id, &fetched_at, &articles],
    )?;
    Ok(())
}

/// Takes up to `limit` handed-over documents, oldest first, and deletes them in `tx`: they
/// are gone when `tx` commits, with whatever was placed from them.
pub(crate) fn take_handed_over(
    tx: &mut impl GenericClient,
    limit: i64,
) -> Result<Vec<(i64, i64, String)>> {
    let rows = tx.query(
        "WITH taken AS (
             DELETE FROM handover WHERE id IN (SELECT id FROM handover ORDER BY id LIMIT $1)
             RETURNING id, feed_id, fetched_at, articles)
         SELECT feed_id, fetched_at, articles FROM taken ORDER BY id",
        &[&limit],
    )?;
    Ok(rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<_, postgres::Error>>()?)
}
