//! Fetch state in the database: what the schedule remembers about each feed between polls
//! (`model::FetchState`: validators for conditional GET, the last result, the error streak,
//! the next due time, a permanent redirect, the 410 mark and the interval floor), read and
//! written here so a restart continues where it stopped.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Backend, On, Result, Store, secs, time};
use crate::model::{FailureKind, FetchState, FetchStatus};

const COLUMNS: &str =
    "id, url, etag, last_modified, last_fetch, last_status, last_http, last_error,
    error_count, next_fetch, redirect_url, gone, interval_floor, last_error_kind";

fn read_state(r: &rusqlite::Row<'_>) -> rusqlite::Result<FetchState> {
    Ok(FetchState {
        feed_id: r.get(0)?,
        url: r.get(1)?,
        etag: r.get(2)?,
        last_modified: r.get(3)?,
        last_fetch: r.get::<_, Option<i64>>(4)?.map(time),
        last_status: r
            .get::<_, Option<String>>(5)?
            .as_deref()
            .and_then(FetchStatus::parse),
        last_http: r.get(6)?,
        last_error: r.get(7)?,
        error_count: r.get(8)?,
        next_fetch: r.get::<_, Option<i64>>(9)?.map(time),
        redirect_url: r.get(10)?,
        gone: r.get(11)?,
        interval_floor: r.get(12)?,
        last_error_kind: r
            .get::<_, Option<String>>(13)?
            .as_deref()
            .and_then(FailureKind::parse),
    })
}

impl Store {
    /// The fetch state of one feed.
    pub fn fetch_state(&self, feed_id: i64) -> Result<Option<FetchState>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.fetch_state(feed_id),
        };
        let sql = format!("SELECT {COLUMNS} FROM feeds WHERE id = ?1");
        Ok(conn
            .prepare_cached(&sql)?
            .query_row([feed_id], read_state)
            .optional()?)
    }

    /// The fetch state of every feed row (configured or not; the caller filters).
    pub fn fetch_states(&self) -> Result<Vec<FetchState>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.fetch_states(),
        };
        let sql = format!("SELECT {COLUMNS} FROM feeds ORDER BY id");
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], read_state)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Writes back the state after a poll. Title and site URL are updated only when given
    /// (a 304 or an error says nothing about them).
    pub fn save_fetch_state(
        &mut self,
        state: &FetchState,
        title: Option<&str>,
        site_url: Option<&str>,
    ) -> Result<()> {
        match self.backend() {
            Backend::Sqlite(c) => write_state(c, state, title, site_url),
            Backend::Postgres(pg) => pg.save_fetch_state(state, title, site_url),
        }
    }

    /// Sets the next due time of feeds, in one transaction (slots for new feeds, or new
    /// slots after a schedule change).
    pub fn set_next_fetch(&mut self, due: &[(i64, DateTime<Utc>)]) -> Result<()> {
        if due.is_empty() {
            return Ok(());
        }
        // In id order: daemons sharing a PostgreSQL database that give slots at the same
        // time lock the rows in one order, and so never deadlock.
        let mut due = due.to_vec();
        due.sort_by_key(|(id, _)| *id);
        let due = due.as_slice();
        let conn = match &mut self.db {
            super::Db::Sqlite(c) => c,
            super::Db::Postgres(pg) => return pg.set_next_fetch(due),
        };
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached("UPDATE feeds SET next_fetch = ?2 WHERE id = ?1")?;
            for (id, at) in due {
                stmt.execute(params![id, secs(*at)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

impl crate::store::Batch<'_> {
    /// [`Store::save_fetch_state`] inside this batch, so a feed's articles and the state
    /// that says they were fetched land together.
    pub fn save_fetch_state(
        &mut self,
        state: &FetchState,
        title: Option<&str>,
        site_url: Option<&str>,
    ) -> Result<()> {
        match self.on() {
            On::Sqlite(b) => write_state(&b.tx, state, title, site_url),
            On::Postgres(mut tx) => Ok(super::postgres::fetch_state::write_state(
                &mut **tx, state, title, site_url,
            )?),
        }
    }
}

fn write_state(
    conn: &rusqlite::Connection,
    state: &FetchState,
    title: Option<&str>,
    site_url: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE feeds SET etag = ?2, last_modified = ?3, last_fetch = ?4, last_status = ?5,
                 last_http = ?6, last_error = ?7, error_count = ?8, next_fetch = ?9,
                 redirect_url = ?10, gone = ?11, interval_floor = ?12,
                 title = coalesce(?13, title), site_url = coalesce(?14, site_url),
                 last_error_kind = ?15
             WHERE id = ?1",
    )?
    .execute(params![
        state.feed_id,
        state.etag,
        state.last_modified,
        state.last_fetch.map(secs),
        state.last_status.map(FetchStatus::as_str),
        state.last_http,
        state.last_error,
        state.error_count,
        state.next_fetch.map(secs),
        state.redirect_url,
        state.gone,
        state.interval_floor,
        title,
        site_url,
        state.last_error_kind.map(FailureKind::as_str),
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_enable_clears_gone() {
        crate::store::on_each_backend("fetch_state", |store| {
            let id = crate::store::add_test_feed(store);
            let mut s = store.fetch_state(id).unwrap().unwrap();
            assert_eq!(s.error_count, 0);
            assert_eq!(s.next_fetch, None);
            s.etag = Some("\"v1\"".into());
            s.gone = true;
            s.error_count = 3;
            s.last_error = Some("https://a.example/rss answered 410 Gone".into());
            s.last_error_kind = Some(FailureKind::Gone);
            s.last_status = Some(FetchStatus::Gone);
            s.last_fetch = Some(time(1_700_000_000));
            s.interval_floor = Some(3600);
            store.save_fetch_state(&s, Some("Title"), None).unwrap();
            let back = store.fetch_state(id).unwrap().unwrap();
            assert_eq!(back, s);
            assert_eq!(
                store.feed_rows().unwrap()[0].title.as_deref(),
                Some("Title")
            );
            store.reenable_feed("https://a.example/rss").unwrap();
            let back = store.fetch_state(id).unwrap().unwrap();
            assert!(!back.gone);
            assert_eq!(back.error_count, 0);
            assert_eq!((back.last_error, back.last_error_kind), (None, None));
            assert_eq!(back.etag.as_deref(), Some("\"v1\""));
            store.set_next_fetch(&[(id, time(1_800_000_000))]).unwrap();
            assert_eq!(
                store.fetch_states().unwrap()[0].next_fetch,
                Some(time(1_800_000_000))
            );
        });
    }
}
