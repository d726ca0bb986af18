//! The store stage: every piece of SQL in tributary lives under this module.
//!
//! SQLite in WAL mode, so the daemon and the CLI can use one database at once (readers never
//! block the writer; writers wait up to [`BUSY_TIMEOUT`] for each other). A feed's ingest
//! is all or nothing inside one transaction (a [`Batch`], which the daemon's writer may
//! share between several feeds), so a kill -9 at any moment leaves the database as it was
//! after the last commit. The schema is versioned with rusqlite_migration from
//! version 1 on.
//!
//! PostgreSQL (`[storage] url`) is the second backend, being built a concern at a time: a
//! [`Store`] holds one connection of either kind, and each operation dispatches on it
//! ([`Store::backend`]), the SQLite statements in this folder's files, the PostgreSQL ones
//! in `postgres/` (one file per concern, the same names).

mod articles;
mod checkpoint;
mod dedup;
mod error;
mod feeds;
mod fetch_state;
mod merged;
mod pages;
mod placing;
pub mod postgres;
mod retention;
mod search;

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use rusqlite::{CachedStatement, Connection, OptionalExtension};
use rusqlite_migration::{M, Migrations};

/// The fetch state the store keeps per feed (`store/fetch_state.rs`); defined in `model`,
/// where the schedule stage reads it.
pub use crate::model::FetchState;
pub use articles::{StoredArticle, Upsert};
pub use checkpoint::Checkpointer;
pub use dedup::{CopyView, StoredFingerprint, StoryView};
pub use error::{StoreError, StoreErrorKind};
pub use feeds::{FeedRow, FeedSpec};
pub use merged::{MergedCopy, MergedStory, MergedVersion, Position, StoryFilter};
pub use pages::{DuePage, PageCounts, PageRecord, PageWrite};
pub use placing::HandedOver;
pub use search::{Search, SearchError};

use crate::config::{DatabaseUrl, StoreLocation};

/// What every store operation returns: its value or a [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How long a writer waits for another process's write to finish before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// How often a waiting writer tries again. SQLite's own busy timeout backs off to 100 ms
/// between tries, and a writer committing back to back (the daemon during a cold import)
/// leaves gaps of microseconds: a CLI process polling that rarely could starve until
/// [`BUSY_TIMEOUT`]. A failed try costs microseconds, so trying every millisecond is cheap.
pub const BUSY_POLL: Duration = Duration::from_millis(1);

/// The busy handler of every connection: try again every [`BUSY_POLL`] until
/// [`BUSY_TIMEOUT`].
fn wait_for_lock(tries: i32) -> bool {
    let limit = BUSY_TIMEOUT.as_micros() / BUSY_POLL.as_micros().max(1);
    if u128::try_from(tries).unwrap_or(0) >= limit {
        return false;
    }
    std::thread::sleep(BUSY_POLL);
    true
}

/// Makes `conn` wait for other writers as [`wait_for_lock`] says.
pub(crate) fn wait_for_writers(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(wait_for_lock))
}

/// The schema, one entry per version; never edit a released entry, append a new one.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("schema_v1.sql")),
        M::up(include_str!("schema_v2_dedup.sql")),
        M::up(include_str!("schema_v3_lean.sql")),
        M::up(include_str!("schema_v4_merges.sql")),
        M::up(include_str!("schema_v5_pages.sql")),
        M::up(include_str!("schema_v6_error_kinds.sql")),
        M::up(include_str!("schema_v7_story_changes.sql")),
        M::up_with_hook(
            include_str!("schema_v8_search.sql"),
            search::index_stored_copies,
        ),
        M::up(include_str!("schema_v9_search_blocks.sql")),
    ])
}

/// Brings the schema up to date. Two processes opening a new database at once race to
/// migrate it; the loser's transaction fails, and on retry it finds the work done.
fn migrate(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    // Two processes opening a new database at once race to create the schema; the loser
    // fails ("table exists" or busy) and succeeds on a retry, when there is nothing to do.
    retry_while_contended(|| migrations().to_latest(conn))
}

/// Runs `step` again while it fails, for up to [`BUSY_TIMEOUT`]: for the few steps of opening
/// a database that SQLite's busy handler does not cover (journal-mode change, first schema).
fn retry_while_contended<T, E>(mut step: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match step() {
            Ok(v) => return Ok(v),
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(BUSY_POLL);
            }
            Err(e) => return Err(e),
        }
    }
}

/// What an SQLite-only step says when it meets a PostgreSQL store (a bug: every operation
/// dispatches on its backend first).
const SQLITE_ONLY: &str = "an SQLite-only step met a PostgreSQL store";

/// An open database.
pub struct Store {
    db: Db,
    location: StoreLocation,
    /// Whether the connection enforces foreign keys now ([`Store::begin_ingest`] turns it
    /// off): setting the pragma invalidates every prepared statement, so it is set only
    /// when it changes.
    foreign_keys: bool,
    /// Writers only. Declared after `conn`, so it is dropped after it (its connection is the
    /// last to close and removes the WAL).
    _checkpointer: Option<Checkpointer>,
}

/// The connection of either backend.
enum Db {
    Sqlite(Connection),
    /// Boxed: the session (its URL and client) is several times an SQLite handle's size.
    Postgres(Box<postgres::Pg>),
}

/// A store's connection, borrowed for one operation: the operation's SQL for that backend.
pub(crate) enum Backend<'a> {
    Sqlite(&'a Connection),
    Postgres(&'a postgres::Pg),
}

/// One transaction: a feed's ingest, or any other group of writes that must land together.
/// Dropped without [`Batch::commit`], it rolls back.
pub struct Batch<'a> {
    db: BatchDb<'a>,
}

/// A batch's transaction, of either backend. One batch exists at a time per store, so the
/// SQLite variant's kept statements make no difference worth a box.
#[allow(clippy::large_enum_variant)]
enum BatchDb<'a> {
    Sqlite(SqliteBatch<'a>),
    /// The client wants `&mut` for every statement, the batch's readers take `&self`.
    Postgres(RefCell<postgres::PgTx<'a>>),
}

/// An SQLite transaction with the statements it keeps ([`Hot`]).
pub(crate) struct SqliteBatch<'a> {
    // Declared before `tx`: the statements go back to the cache before the transaction ends.
    hot: RefCell<[Option<CachedStatement<'a>>; HOT_STATEMENTS]>,
    conn: &'a Connection,
    tx: rusqlite::Transaction<'a>,
}

/// A batch's transaction, borrowed for one operation: the operation's SQL for that backend.
pub(crate) enum On<'b, 'a> {
    Sqlite(&'b SqliteBatch<'a>),
    Postgres(std::cell::RefMut<'b, postgres::PgTx<'a>>),
}

/// The statements an ingest runs for every copy, each with a slot in its [`Batch`]. A batch
/// takes each from the connection's statement cache once and keeps it to its end: a cache
/// lookup hashes the SQL text and moves the cache's entries on every use, a cost that shows
/// in a cold ingest (`examples/ingest_bench`; BENCHMARKS.md, "Polling").
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hot {
    FindArticle,
    InsertArticle,
    AddFingerprint,
    NewStory,
    InsertCopy,
    StoryByUrl,
    StoryByGuid,
    StoryExists,
    JoinStory,
    SetRepresentative,
    IndexCopy,
    RaiseSearchBlock,
    AddSearchBlock,
}

const HOT_STATEMENTS: usize = Hot::AddSearchBlock as usize + 1;

impl Store {
    /// Opens the database `[storage]` names.
    pub fn open_location(location: &StoreLocation) -> Result<Store> {
        match location {
            StoreLocation::Sqlite(path) => Store::open(path),
            StoreLocation::Postgres(url) => Store::open_postgres(url),
        }
    }

    /// Connects to the PostgreSQL database at `url` and brings its schema up to date, under
    /// an advisory lock.
    pub fn open_postgres(url: &DatabaseUrl) -> Result<Store> {
        let pg = postgres::Pg::connect(url).map_err(|e| e.opening_at(url))?;
        let store = Store {
            db: Db::Postgres(Box::new(pg)),
            location: StoreLocation::Postgres(url.clone()),
            foreign_keys: true,
            _checkpointer: None,
        };
        store.ensure_instance_id()?;
        Ok(store)
    }

    /// Where the database is (a file, or a URL without its credentials when shown).
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// The connection, for an operation to pick its SQL.
    pub(crate) fn backend(&self) -> Backend<'_> {
        match &self.db {
            Db::Sqlite(c) => Backend::Sqlite(c),
            Db::Postgres(pg) => Backend::Postgres(pg),
        }
    }

    /// The SQLite connection, for a step only SQLite has (pragmas, the SQLite half of an
    /// operation after it dispatched on [`Store::backend`]).
    pub(crate) fn sqlite(&self) -> Result<&Connection> {
        match &self.db {
            Db::Sqlite(c) => Ok(c),
            Db::Postgres(_) => Err(StoreError::WrongBackend(SQLITE_ONLY)),
        }
    }

    /// [`Store::sqlite`], to write.
    pub(crate) fn sqlite_mut(&mut self) -> Result<&mut Connection> {
        match &mut self.db {
            Db::Sqlite(c) => Ok(c),
            Db::Postgres(_) => Err(StoreError::WrongBackend(SQLITE_ONLY)),
        }
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_at(path).map_err(|e| e.opening(path))
    }

    fn open_at(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::Folder {
                path: dir.to_path_buf(),
                error,
            })?;
        }
        let mut conn = Connection::open(path)?;
        wait_for_writers(&conn)?;
        retry_while_contended(|| conn.pragma_update(None, "journal_mode", "WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A 16 MiB page cache cuts a cold ingest's I/O waits (`examples/ingest_bench`).
        conn.pragma_update(None, "cache_size", -16384)?;
        // Checkpoints run on their own thread ([`Checkpointer`]); this connection only
        // checkpoints when the WAL outgrows the bound.
        conn.pragma_update(None, "wal_autocheckpoint", checkpoint::WAL_BOUND_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", checkpoint::WAL_KEEP_BYTES)?;
        migrate(&mut conn)?;
        // Only after the upgrade: a schema change that rewrites a table (v3) journals it
        // as it goes, and in memory that holds as much as the whole table (BENCHMARKS.md,
        // "Upgrades"); temporary files are the place for that. From here
        // on, statement journals (foreign keys need them) are small and stay in memory.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let store = Store {
            db: Db::Sqlite(conn),
            location: StoreLocation::Sqlite(path.to_path_buf()),
            foreign_keys: true,
            _checkpointer: Some(Checkpointer::spawn(path)?),
        };
        store.ensure_instance_id()?;
        Ok(store)
    }

    /// Starts a transaction. Writes wait for other processes' writes (IMMEDIATE), so two
    /// processes never deadlock upgrading read locks.
    pub fn begin(&mut self) -> Result<Batch<'_>> {
        self.begin_enforcing(true)
    }

    /// [`Store::begin`] for an ingest, without foreign-key enforcement: the checks cost
    /// about a tenth of the writer's time (a parent lookup for each of the five rows a new
    /// copy adds), and an ingest keeps the keys by construction — its rows refer to a feed
    /// it checked ([`Batch::feed_name`]) or to rows of the same transaction, and it deletes
    /// only stories without copies. The next [`Store::begin`] (and pruning, which relies on
    /// cascades) turns enforcement back on.
    pub fn begin_ingest(&mut self) -> Result<Batch<'_>> {
        self.begin_enforcing(false)
    }

    fn begin_enforcing(&mut self, foreign_keys: bool) -> Result<Batch<'_>> {
        if matches!(self.db, Db::Sqlite(_)) {
            self.enforce_foreign_keys(foreign_keys)?;
        }
        let conn = match &mut self.db {
            Db::Sqlite(c) => &*c,
            Db::Postgres(pg) => {
                // PostgreSQL checks its foreign keys at every statement; there is no switch.
                let tx = pg.begin()?;
                return Ok(Batch {
                    db: BatchDb::Postgres(RefCell::new(tx)),
                });
            }
        };
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        Ok(Batch {
            db: BatchDb::Sqlite(SqliteBatch {
                hot: RefCell::new(Default::default()),
                conn,
                tx,
            }),
        })
    }

    /// Turns foreign-key enforcement on or off (outside a transaction only: SQLite ignores
    /// the change inside one).
    fn enforce_foreign_keys(&mut self, on: bool) -> Result<()> {
        if self.foreign_keys != on {
            self.sqlite()?.pragma_update(None, "foreign_keys", on)?;
            self.foreign_keys = on;
        }
        Ok(())
    }

    /// A random id minted when the database was created, part of every merged-feed entry id
    /// so that two databases never hand out the same id.
    pub fn instance_id(&self) -> Result<String> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.instance_id(),
        };
        Ok(
            conn.query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })?,
        )
    }

    fn ensure_instance_id(&self) -> Result<()> {
        let seed = format!(
            "{:?}{}{}",
            std::time::SystemTime::now(),
            std::process::id(),
            self.location
        );
        let id = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(seed.as_bytes()));
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.ensure_instance_id(&id),
        };
        let have: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if have.is_none() {
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('instance', ?1)",
                [id],
            )?;
        }
        Ok(())
    }

    /// Whether the database answers a trivial query (for `/healthz` and the watchdog).
    pub fn ping(&self) -> bool {
        match self.backend() {
            Backend::Sqlite(c) => c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).is_ok(),
            Backend::Postgres(pg) => pg.ping(),
        }
    }

    /// Full consistency check for `tributary check`: SQLite's integrity and foreign-key
    /// checks, the schema version, and the invariant that every article is in one story.
    /// Returns the problems found (empty when healthy).
    pub fn check(&self) -> Result<Vec<String>> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.check(),
        };
        let mut problems = Vec::new();
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let row = row?;
            if row != "ok" {
                problems.push(format!("integrity: {row}"));
            }
        }
        let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
        let fk: Vec<String> = stmt
            .query_map([], |r| {
                Ok(format!(
                    "foreign key: {} row {:?}",
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        problems.extend(fk);
        let orphans: i64 = conn.query_row(
            "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM copies c WHERE c.article_id = a.id)",
            [],
            |r| r.get(0),
        )?;
        if orphans > 0 {
            problems.push(format!("{orphans} articles belong to no story"));
        }
        let empty: i64 = conn.query_row(
            "SELECT count(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM copies c WHERE c.story_id = s.id)",
            [],
            |r| r.get(0),
        )?;
        if empty > 0 {
            problems.push(format!("{empty} stories have no copies"));
        }
        Ok(problems)
    }

    /// Counts for the summary lines of `check` and `/healthz`: (feeds, articles, stories).
    pub fn counts(&self) -> Result<(i64, i64, i64)> {
        let conn = match self.backend() {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.counts(),
        };
        Ok(conn.query_row(
            "SELECT (SELECT count(*) FROM feeds), (SELECT count(*) FROM articles), (SELECT count(*) FROM stories)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }
}

impl<'a> Batch<'a> {
    /// Makes the batch's writes durable and visible.
    pub fn commit(self) -> Result<()> {
        match self.db {
            BatchDb::Sqlite(SqliteBatch { hot, tx, .. }) => {
                drop(hot);
                Ok(tx.commit()?)
            }
            BatchDb::Postgres(tx) => Ok(tx.into_inner().commit()?),
        }
    }

    /// The transaction, for an operation to pick its SQL.
    pub(crate) fn on(&self) -> On<'_, 'a> {
        match &self.db {
            BatchDb::Sqlite(b) => On::Sqlite(b),
            BatchDb::Postgres(tx) => On::Postgres(tx.borrow_mut()),
        }
    }
}

impl<'a> SqliteBatch<'a> {
    /// Runs `f` on the statement `sql`, kept in this batch's `slot` from its first use on.
    /// Each slot has one statement: `sql` must be the same at every use of a slot.
    pub(crate) fn with_hot<T>(
        &self,
        slot: Hot,
        sql: &str,
        f: impl FnOnce(&mut CachedStatement<'a>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let mut hot = self.hot.borrow_mut();
        let statement = match &mut hot[slot as usize] {
            Some(statement) => statement,
            empty => empty.insert(self.conn.prepare_cached(sql)?),
        };
        Ok(f(statement)?)
    }
}

/// Unix seconds of a time.
pub(crate) fn secs(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp()
}

/// A time from Unix seconds (out-of-range values become the epoch rather than failing).
pub(crate) fn time(s: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(s, 0).unwrap_or_default()
}

impl Store {
    /// Test hook: caps the database at its size now, or lifts the cap, on this connection
    /// (SQLite's `max_page_count`): a write that needs another page then fails with
    /// SQLITE_FULL exactly as on a full disk.
    #[cfg(test)]
    pub(crate) fn cap_at_current_size(&self, capped: bool) {
        let pages: i64 = if capped { 1 } else { 0xFFFF_FFFE };
        self.sqlite()
            .unwrap()
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .unwrap();
    }
}

/// A store in a temp folder with one feed (`https://a.example/rss`, named "A"): the
/// starting point of the store's unit tests. Keep the folder alive as long as the store.
#[cfg(test)]
pub(crate) fn test_store_with_feed() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("t.db")).unwrap();
    let feed = add_test_feed(&mut store);
    (dir, store, feed)
}

/// Adds the feed of [`test_store_with_feed`] to `store`; returns its id.
#[cfg(test)]
pub(crate) fn add_test_feed(store: &mut Store) -> i64 {
    let url = "https://a.example/rss";
    let ids = store
        .sync_feeds(&[FeedSpec {
            url: url.into(),
            name: "A".into(),
            tags: vec![],
            full_text: Default::default(),
        }])
        .unwrap();
    ids[url]
}

/// Runs `check` on a new SQLite store, then on a new PostgreSQL one (a database of its own,
/// dropped after; skipped with a printed reason when the server is not there, unless
/// `TRIBUTARY_CI_STRICT` is set): the tests of what both backends do.
#[cfg(test)]
pub(crate) fn on_each_backend(test: &str, check: impl Fn(&mut Store)) {
    let dir = tempfile::tempdir().unwrap();
    check(&mut Store::open(&dir.path().join("t.db")).unwrap());
    if let Some(db) = postgres::scratch::ScratchDatabase::create(test) {
        let mut store = Store::open_postgres(db.url()).unwrap();
        check(&mut store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    /// A database made by an earlier version (schema v2, with the plain-text column)
    /// opens as the current one and keeps its articles and stories.
    #[test]
    fn an_older_database_is_brought_up_to_date_keeping_its_articles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrations().to_version(&mut conn, 2).unwrap();
            conn.execute_batch(
                "INSERT INTO feeds (id, url, name, created) VALUES (1, 'https://a.example/rss', 'A', 0);
                 INSERT INTO articles (id, feed_id, key, title, text, published, first_seen, last_changed, content_hash)
                     VALUES (7, 1, 'k', 'Old title', 'old text', 100, 100, 100, 1);
                 INSERT INTO stories (id, representative, first_published, last_changed) VALUES (3, 7, 100, 100);
                 INSERT INTO copies (article_id, story_id, match, score, joined) VALUES (7, 3, 'first', 1.0, 100);",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert!(store.check().unwrap().is_empty());
        assert_eq!(store.counts().unwrap(), (1, 1, 1));
        let stored = store.begin().unwrap().article(7).unwrap().unwrap();
        assert_eq!(stored.article.title, "Old title");
    }

    #[test]
    fn a_new_database_is_consistent_and_has_an_instance_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("sub/t.db")).unwrap();
        assert!(store.check().unwrap().is_empty());
        assert_eq!(store.instance_id().unwrap().len(), 16);
        let again = Store::open(&dir.path().join("sub/t.db")).unwrap();
        assert_eq!(store.instance_id().unwrap(), again.instance_id().unwrap());
    }

    /// On PostgreSQL too: a new database passes `check`, counts nothing and keeps the
    /// instance id the first store minted; a second store finds the schema in place.
    #[test]
    fn a_new_postgres_database_is_consistent_and_keeps_its_instance_id() {
        let Some(db) = postgres::scratch::ScratchDatabase::create("new_postgres_database") else {
            return;
        };
        let store = Store::open_postgres(db.url()).unwrap();
        assert_eq!(store.check().unwrap(), Vec::<String>::new());
        assert_eq!(store.counts().unwrap(), (0, 0, 0));
        assert!(store.ping());
        let id = store.instance_id().unwrap();
        assert_eq!(id.len(), 16);
        let again = Store::open_postgres(db.url()).unwrap();
        assert_eq!(again.instance_id().unwrap(), id);
        assert_eq!(again.location().to_string(), db.url().to_string());
    }

    /// Daemons starting together on a new database: each waits on the migration lock, the
    /// schema is made once, and every one of them opens it.
    #[test]
    fn postgres_stores_opened_at_once_migrate_once() {
        let Some(db) = postgres::scratch::ScratchDatabase::create("opened_at_once") else {
            return;
        };
        let ids: Vec<String> = std::thread::scope(|s| {
            let opens: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        Store::open_postgres(db.url())
                            .unwrap()
                            .instance_id()
                            .unwrap()
                    })
                })
                .collect();
            opens.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
        let store = Store::open_postgres(db.url()).unwrap();
        assert_eq!(store.check().unwrap(), Vec::<String>::new());
    }

    /// `[storage] url` opens a PostgreSQL store, shown without its credentials; a server
    /// that is not there is one sentence that names the URL without them.
    #[test]
    fn a_postgres_location_opens_and_never_shows_its_password() {
        let url: DatabaseUrl = "postgres://app:s3cret@127.0.0.1:1/none".parse().unwrap();
        let e = Store::open_location(&StoreLocation::Postgres(url))
            .err()
            .unwrap();
        assert!(e.is_whole_database(), "{e}");
        let e = e.to_string();
        assert!(
            e.starts_with("cannot open the database postgres://127.0.0.1:1/none: "),
            "{e}"
        );
        assert!(!e.contains("s3cret") && !e.contains('\n'), "{e}");
        let Some(db) = postgres::scratch::ScratchDatabase::create("open_location") else {
            return;
        };
        let store = Store::open_location(&StoreLocation::Postgres(db.url().clone())).unwrap();
        assert!(store.check().unwrap().is_empty());
    }

    /// A connection the server ends is the whole database's failure (the writer keeps the
    /// writes and retries), its sentence says the database cannot be reached, and the
    /// retry works on a new session.
    #[test]
    fn a_lost_postgres_connection_is_a_whole_database_failure() {
        let Some(db) = postgres::scratch::ScratchDatabase::create("lost_connection") else {
            return;
        };
        let mut store = Store::open_postgres(db.url()).unwrap();
        let feed = add_test_feed(&mut store);
        let session = |store: &Store| {
            let Backend::Postgres(pg) = store.backend() else {
                unreachable!()
            };
            pg.with(|c| {
                c.query_one("SELECT pg_backend_pid()", &[])?
                    .try_get::<_, i32>(0)
            })
            .unwrap()
        };
        let pid = session(&store);
        // Ended by the server, as a restart or an administrator would.
        let other = Store::open_postgres(db.url()).unwrap();
        let Backend::Postgres(admin) = other.backend() else {
            unreachable!()
        };
        admin
            .with(|c| c.execute("SELECT pg_terminate_backend($1)", &[&pid]))
            .unwrap();
        let e = store.fetch_state(feed).unwrap_err();
        assert!(e.is_whole_database(), "{e}");
        assert_eq!(e.kind(), StoreErrorKind::Io, "{e}");
        assert!(
            e.to_string()
                .starts_with("the database cannot be reached: "),
            "{e}"
        );
        // The next try opens a new session.
        assert!(store.fetch_state(feed).unwrap().is_some());
        assert_ne!(session(&store), pid);
    }
}
