//! Fetch state on PostgreSQL: `store/fetch_state.rs`'s statements in PostgreSQL's dialect.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::Pg;
use crate::model::{FailureKind, FetchState, FetchStatus};
use crate::store::{Result, secs, time};

pub(super) const COLUMNS: &str =
    "id, url, etag, last_modified, last_fetch, last_status, last_http, last_error,
    error_count, next_fetch, redirect_url, gone, interval_floor, last_error_kind";

pub(super) fn read_state(r: &Row) -> Result<FetchState, postgres::Error> {
    Ok(FetchState {
        feed_id: r.try_get(0)?,
        url: r.try_get(1)?,
        etag: r.try_get(2)?,
        last_modified: r.try_get(3)?,
        last_fetch: r.try_get::<_, Option<i64>>(4)?.map(time),
        last_status: r
            .try_get::<_, Option<String>>(5)?
            .as_deref()
            .and_then(FetchStatus::parse),
        last_http: r
            .try_get::<_, Option<i64>>(6)?
            .and_then(|h| u16::try_from(h).ok()),
        last_error: r.try_get(7)?,
        error_count: u32::try_from(r.try_get::<_, i64>(8)?).unwrap_or(u32::MAX),
        next_fetch: r.try_get::<_, Option<i64>>(9)?.map(time),
        redirect_url: r.try_get(10)?,
        gone: r.try_get::<_, i64>(11)? != 0,
        interval_floor: r.try_get(12)?,
        last_error_kind: r
            .try_get::<_, Option<String>>(13)?
            .as_deref()
            .and_then(FailureKind::parse),
    })
}

impl Pg {
    pub(crate) fn fetch_state(&self, feed_id: i64) -> Result<Option<FetchState>> {
        let sql = format!("SELECT {COLUMNS} FROM feeds WHERE id = $1");
        self.with(|c| {
            c.query_opt(&sql, &[&feed_id])?
                .as_ref()
                .map(read_state)
                .transpose()
        })
    }

    pub(crate) fn fetch_states(&self) -> Result<Vec<FetchState>> {
        let sql = format!("SELECT {COLUMNS} FROM feeds ORDER BY id");
        self.with(|c| c.query(&sql, &[])?.iter().map(read_state).collect())
    }

    pub(crate) fn save_fetch_state(
        &self,
        state: &FetchState,
        title: Option<&str>,
        site_url: Option<&str>,
    ) -> Result<()> {
        self.with(|c| write_state(c, state, title, site_url))
    }

    pub(crate) fn set_next_fetch(&self, due: &[(i64, DateTime<Utc>)]) -> Result<()> {
        // Another daemon's writes to the same rows meanwhile.
        super::retry_on_deadlock(|| self.set_next_fetch_once(due))
    }

    fn set_next_fetch_once(&self, due: &[(i64, DateTime<Utc>)]) -> Result<()> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let stmt = tx.prepare("UPDATE feeds SET next_fetch = $2 WHERE id = $1")?;
            for (id, at) in due {
                tx.execute(&stmt, &[id, &secs(*at)])?;
            }
            tx.commit()
        })
    }
}

/// Writes a feed's state after a poll, on `c` (the client or a batch's transaction).
pub(crate) fn write_state(
    c: &mut impl postgres::GenericClient,
    state: &FetchState,
    title: Option<&str>,
    site_url: Option<&str>,
) -> Result<(), postgres::Error> {
    c.execute(
        "UPDATE feeds SET etag = $2, last_modified = $3, last_fetch = $4, last_status = $5,
                 last_http = $6, last_error = $7, error_count = $8, next_fetch = $9,
                 redirect_url = $10, gone = $11, interval_floor = $12,
                 title = coalesce($13, title), site_url = coalesce($14, site_url),
                 last_error_kind = $15, lease_holder = NULL, lease_until = NULL
             WHERE id = $1",
        &[
            &state.feed_id,
            &state.etag,
            &state.last_modified,
            &state.last_fetch.map(secs),
            &state.last_status.map(FetchStatus::as_str),
            &state.last_http.map(i64::from),
            &state.last_error,
            &i64::from(state.error_count),
            &state.next_fetch.map(secs),
            &state.redirect_url,
            &i64::from(state.gone),
            &state.interval_floor,
            &title,
            &site_url,
            &state.last_error_kind.map(FailureKind::as_str),
        ],
    )?;
    Ok(())
}
