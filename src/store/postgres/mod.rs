//! The store's PostgreSQL backend: the connection, its schema and migrations, and the SQL of
//! each concern ported so far (one file per concern, beside the SQLite one it mirrors:
//! `feeds.rs` for `store/feeds.rs`, …).
//!
//! The client is sfackler's synchronous `postgres` (over tokio-postgres): the store's API is
//! synchronous, called from the writer thread, the CLI and the server's blocking pool, the
//! same places rusqlite is; one client per [`Store`](super::Store), as one SQLite connection
//! is. The synchronous client runs its own small runtime and panics when called from inside
//! an async task: every store call must stay on a blocking thread, as it already must for
//! SQLite's sake (ARCHITECTURE.md, "store").
//!
//! Migrations run at start under a PostgreSQL advisory lock ([`MIGRATION_LOCK`]), so two
//! daemons starting together apply each version once: the second waits for the first and
//! then finds nothing to do.

pub(crate) mod articles;
pub mod copy;
pub(crate) mod dedup;
mod feeds;
pub(crate) mod fetch_state;
mod merged;
pub(crate) mod pages;
pub(crate) mod placing;
mod retention;
pub mod scratch;
pub(crate) mod search;
mod tls;

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::Statement;
use postgres::types::ToSql;

use crate::config::DatabaseUrl;

use super::{Result, StoreError};

/// The schema, one entry per version; never edit a released entry, append a new one.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_v2_daemons.sql"),
    include_str!("schema_v3_search.sql"),
];

/// The version whose migration ends by indexing the stored copies for search.
const SEARCH_VERSION: i64 = 3;

/// The advisory-lock key that serialises schema migrations between processes: any fixed
/// number no other application on the database uses ("trib" in ASCII).
pub(crate) const MIGRATION_LOCK: i64 = 0x7472_6962;

/// One open PostgreSQL session. The client needs `&mut` for every statement while the
/// store's readers take `&self`; the store is never shared between threads without a lock
/// (it is `Send`, not `Sync`), so a `RefCell` is enough. `None` only while being dropped.
pub(crate) struct Pg {
    client: RefCell<Option<postgres::Client>>,
    /// The session's statements prepared by batches, by their SQL.
    statements: RefCell<Statements>,
    /// Where to open a new session when the server ended this one.
    url: DatabaseUrl,
}

impl Drop for Pg {
    /// Closing the session blocks on the client's own runtime, which panics on an async
    /// worker (the daemon drops the server's stores there when it stops): there, it closes
    /// on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::Builder::new()
                .name("pg-close".into())
                .spawn(move || drop(client));
        }
    }
}

/// What a statement on a closed session says (only reachable while the store is dropped).
const CLOSED: StoreError = StoreError::WrongBackend("the PostgreSQL session is closed");

impl Pg {
    /// Connects to `url` and brings the schema up to date.
    pub(crate) fn connect(url: &DatabaseUrl) -> Result<Pg> {
        let mut client = session(url)?;
        migrate(&mut client)?;
        // Copies an older daemon stored without indexing them (a rolling upgrade).
        let mut tx = client.transaction()?;
        search::index_stored_copies(&mut tx)?;
        tx.commit()?;
        Ok(Pg {
            client: RefCell::new(Some(client)),
            statements: RefCell::default(),
            url: url.clone(),
        })
    }

    /// Connects to `url` without touching the schema (a reader beside a store that opened
    /// the database first).
    pub(crate) fn connect_reader(url: &DatabaseUrl) -> Result<Pg> {
        let client = session(url)?;
        Ok(Pg {
            client: RefCell::new(Some(client)),
            statements: RefCell::default(),
            url: url.clone(),
        })
    }

    /// Starts a batch's transaction.
    pub(crate) fn begin(&mut self) -> Result<PgTx<'_>> {
        let Pg {
            client,
            statements,
            url,
        } = self;
        let client = client.get_mut();
        if reopen_if_closed(client, url)? {
            statements.get_mut().clear();
        }
        Ok(PgTx {
            tx: client.as_mut().ok_or(CLOSED)?.transaction()?,
            statements,
        })
    }

    /// Runs `f` with the client.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut client = self.client.borrow_mut();
        if reopen_if_closed(&mut client, &self.url)? {
            self.statements.borrow_mut().clear();
        }
        Ok(f(client.as_mut().ok_or(CLOSED)?)?)
    }

    /// The schema version the database is at.
    pub(crate) fn schema_version(&self) -> Result<i64> {
        self.with(|c| {
            c.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])?
                .try_get(0)
        })
    }

    /// The database-wide checks of `tributary check`: the schema version, and the
    /// invariant that every article is in one story (PostgreSQL enforces its foreign keys
    /// itself, and checks its pages as it reads them).
    pub(crate) fn check(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let version = self.schema_version()?;
        if version != MIGRATIONS.len() as i64 {
            problems.push(format!(
                "schema: version {version}, expected {}",
                MIGRATIONS.len()
            ));
        }
        let (orphans, empty): (i64, i64) = self.with(|c| {
            let row = c.query_one(
                "SELECT (SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM copies c WHERE c.article_id = a.id)),
                        (SELECT count(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM copies c WHERE c.story_id = s.id))",
                &[],
            )?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        })?;
        if orphans > 0 {
            problems.push(format!("{orphans} articles belong to no story"));
        }
        if empty > 0 {
            problems.push(format!("{empty} stories have no copies"));
        }
        Ok(problems)
    }

    /// (feeds, articles, stories).
    pub(crate) fn counts(&self) -> Result<(i64, i64, i64)> {
        self.with(|c| {
            let row = c.query_one(
                "SELECT (SELECT count(*) FROM feeds), (SELECT count(*) FROM articles), (SELECT count(*) FROM stories)",
                &[],
            )?;
            Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
        })
    }

    /// The instance id.
    pub(crate) fn instance_id(&self) -> Result<String> {
        self.with(|c| {
            c.query_one("SELECT value FROM meta WHERE key = 'instance'", &[])?
                .try_get(0)
        })
    }

    /// Stores `minted` as the instance id unless the database has one (whichever process
    /// gets there first wins).
    pub(crate) fn ensure_instance_id(&self, minted: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES ('instance', $1) ON CONFLICT (key) DO NOTHING",
                &[&minted],
            )
        })?;
        Ok(())
    }

    /// Whether the server answers a trivial query.
    pub(crate) fn ping(&self) -> bool {
        self.with(|c| c.simple_query("SELECT 1")).is_ok()
    }
}

/// How long opening a session may take before the database counts as unreachable: as long
/// as an SQLite writer waits for a lock ([`BUSY_TIMEOUT`](crate::store::BUSY_TIMEOUT)),
/// the store's one bound on waiting for the database.
pub const CONNECT_TIMEOUT: std::time::Duration = crate::store::BUSY_TIMEOUT;

/// A new session on `url`. The server's notices ("relation … already exists, skipping")
/// would reach the log at info level through the client: only warnings are asked for.
fn session(url: &DatabaseUrl) -> Result<postgres::Client> {
    let (url, tls) = tls::settings(url.expose())?;
    let mut config: postgres::Config = url.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let mut client = match tls {
        tls::Tls::Off => config.connect(postgres::NoTls)?,
        tls::Tls::Verified(tls) => config.connect(tls)?,
    };
    client.batch_execute("SET client_min_messages TO WARNING")?;
    Ok(client)
}

/// Opens a new session in place of one the server ended (a restart, a lost connection):
/// the failed statement was the whole database's failure, which the daemon's writer waits
/// out and retries, and the retry finds a working session. While the server stays away,
/// each try fails again as the whole database's. True when a new session was opened (the
/// old one's prepared statements are gone with it).
fn reopen_if_closed(client: &mut Option<postgres::Client>, url: &DatabaseUrl) -> Result<bool> {
    if client.as_ref().is_some_and(postgres::Client::is_closed) {
        *client = Some(session(url)?);
        return Ok(true);
    }
    Ok(false)
}

/// How many times a write the server failed as a deadlock is tried again.
const DEADLOCK_TRIES: usize = 5;

/// Runs `write` (one transaction) again, up to [`DEADLOCK_TRIES`] times, while the server
/// fails it as a deadlock or serialization failure (`Busy`): daemons sharing the database
/// write the same feed rows, and the server breaks a deadlock by failing one transaction.
fn retry_on_deadlock<T>(mut write: impl FnMut() -> Result<T>) -> Result<T> {
    let mut tries = 0;
    loop {
        match write() {
            Err(e) if e.kind() == super::StoreErrorKind::Busy && tries < DEADLOCK_TRIES => {
                tries += 1;
            }
            done => return done,
        }
    }
}

/// A session's prepared statements, by their SQL.
type Statements = HashMap<String, Statement>;

/// The most statements a session keeps prepared: more than the store's distinct statements,
/// so the cache is cleared only if SQL is ever built with varying text.
const MAX_STATEMENTS: usize = 256;

/// A batch's transaction. Its `execute` and `query*` prepare each statement once per
/// session and reuse it: a statement given as text is otherwise prepared and executed in
/// two round trips every time, and a cold poll cycle's ingest is bound by round trips
/// (about sixteen statements per new copy). Anything else is the transaction's own
/// (through `Deref`).
pub(crate) struct PgTx<'a> {
    tx: postgres::Transaction<'a>,
    statements: &'a RefCell<Statements>,
}

impl<'a> PgTx<'a> {
    /// The session's prepared statement for `sql`, prepared now if it is new.
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.tx.prepare(sql)?;
        let mut cache = self.statements.borrow_mut();
        if cache.len() >= MAX_STATEMENTS {
            cache.clear();
        }
        cache.insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.execute(&s, params)
    }

    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query(&s, params)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<postgres::Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_one(&s, params)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_opt(&s, params)
    }

    /// Commits the transaction.
    pub(crate) fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
}

impl<'a> std::ops::Deref for PgTx<'a> {
    type Target = postgres::Transaction<'a>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for PgTx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Applies the versions the database lacks, each in its own transaction, holding
/// [`MIGRATION_LOCK`] throughout.
fn migrate(client: &mut postgres::Client) -> Result<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let outcome = apply_missing(client);
    // A session lock: released when the session ends even if this fails.
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    outcome?;
    unlocked?;
    Ok(())
}

fn apply_missing(client: &mut postgres::Client) -> Result<()> {
    apply_up_to(client, MIGRATIONS.len())
}

/// Applies the versions the database lacks up to `last`.
fn apply_up_to(client: &mut postgres::Client, last: usize) -> Result<()> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version BIGINT PRIMARY KEY,
             applied TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let found: i64 = client
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])?
        .try_get(0)?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (version, sql) in (1..)
        .zip(&MIGRATIONS[..last])
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        if version == SEARCH_VERSION {
            search::index_stored_copies(&mut tx)?;
        }
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )?;
        tx.commit()?;
    }
    Ok(())
}
