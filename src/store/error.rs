//! The store's errors, sorted by what the caller can do about them.
//!
//! A writer must tell a feed's failure (a row its data could not make: write the other
//! feeds, record the error against that one) from the whole database's: the disk is full,
//! the file cannot be read or written, it is corrupt, or another process kept it locked
//! past [`BUSY_TIMEOUT`](super::BUSY_TIMEOUT). No write can succeed then until time or the
//! operator mends it, and no feed is to blame. SQLite says which by its result code,
//! PostgreSQL by its SQLSTATE or a lost connection; [`StoreError::from`] sorts them, and
//! [`StoreError::is_whole_database`] answers the writer's question. Each message is one
//! sentence for the log and `feeds list`; none holds a database URL's password (the
//! PostgreSQL client's errors do not repeat its connection string).

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLITE_BUSY or SQLITE_LOCKED: another connection held the lock past the busy timeout.
    #[error("the database is locked by another process: {0}")]
    Busy(rusqlite::Error),
    /// SQLITE_FULL: no room left for the database or its journal on its file system.
    #[error("the database's disk is full: {0}")]
    Full(rusqlite::Error),
    /// SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged or not a database.
    #[error("the database is corrupt: {0}")]
    Corrupt(rusqlite::Error),
    /// SQLITE_IOERR (any extended code), SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM:
    /// the operating system refused a read or a write of the file.
    #[error("the database cannot be read or written: {0}")]
    Io(rusqlite::Error),
    /// Any other SQLite error: a constraint, a statement, a value out of range.
    #[error("{0}")]
    Other(rusqlite::Error),
    /// A PostgreSQL error, sorted into its [`StoreErrorKind`] by [`classify_postgres`].
    #[error("{}", describe_postgres(.0))]
    Postgres(postgres::Error),
    /// The database URL's TLS settings (`sslmode`, `sslrootcert`) cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// An SQLite-only step met a PostgreSQL store (a bug: each operation picks its
    /// backend's SQL first).
    #[error("{0}")]
    WrongBackend(&'static str),
    /// The PostgreSQL database's schema is newer than this build knows.
    #[error(
        "the database's schema is version {found}, newer than this build's {known}: upgrade tributary"
    )]
    SchemaTooNew {
        /// The version in the database.
        found: i64,
        /// The newest version this build has.
        known: i64,
    },
    /// `migrate-store` refuses a target that already holds a store.
    #[error(
        "the target database is not empty ({feeds} feeds, {articles} articles, {stories} stories): migrate into an empty database"
    )]
    NotEmpty {
        /// Feed rows there.
        feeds: i64,
        /// Article rows there.
        articles: i64,
        /// Story rows there.
        stories: i64,
    },
    /// A write named a feed that has no row (an ingest for a feed it did not sync).
    #[error("feed {0} is not in the database")]
    NoFeed(i64),
    /// A fetched document could not be written out for the placer (`store/placing.rs`).
    #[error("cannot hand the document over: {0}")]
    HandOver(String),
    /// The folder for a new database could not be made.
    #[error("cannot create the database folder {}: {error}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot bring the schema up to date: {0}")]
    Migration(rusqlite_migration::Error),
    /// A thread of the store (the background checkpoints) could not be started.
    #[error("cannot start the {what} thread: {error}")]
    Thread {
        /// Which thread.
        what: &'static str,
        /// Why.
        error: std::io::Error,
    },
    /// Opening the database at `path` failed.
    #[error("cannot open the database {path}: {error}")]
    Open {
        /// The database file or URL (without its credentials).
        path: String,
        /// Why.
        error: Box<StoreError>,
    },
}

/// The class of a [`StoreError`]: for metrics, logs and the writer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// Locked by another process past the busy timeout.
    Busy,
    /// No room on the file system.
    Full,
    /// The file is damaged.
    Corrupt,
    /// The operating system refused a read or write.
    Io,
    /// Anything else: a failure of one operation, not of the database.
    Other,
}

impl StoreErrorKind {
    /// The word for metrics labels and log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::Busy => "busy",
            StoreErrorKind::Full => "full",
            StoreErrorKind::Corrupt => "corrupt",
            StoreErrorKind::Io => "io",
            StoreErrorKind::Other => "other",
        }
    }
}

/// The class SQLite's primary result code puts an error in.
fn classify(e: &rusqlite::Error) -> StoreErrorKind {
    let rusqlite::Error::SqliteFailure(failure, _) = e else {
        return StoreErrorKind::Other;
    };
    match failure.code {
        ErrorCode::DiskFull => StoreErrorKind::Full,
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreErrorKind::Busy,
        ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreErrorKind::Corrupt,
        ErrorCode::SystemIoFailure
        | ErrorCode::CannotOpen
        | ErrorCode::ReadOnly
        | ErrorCode::PermissionDenied
        | ErrorCode::FileLockingProtocolFailed
        | ErrorCode::NoLargeFileSupport => StoreErrorKind::Io,
        _ => StoreErrorKind::Other,
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match classify(&e) {
            StoreErrorKind::Busy => StoreError::Busy(e),
            StoreErrorKind::Full => StoreError::Full(e),
            StoreErrorKind::Corrupt => StoreError::Corrupt(e),
            StoreErrorKind::Io => StoreError::Io(e),
            StoreErrorKind::Other => StoreError::Other(e),
        }
    }
}

/// The class of a PostgreSQL error: a lost or refused connection, the server shutting
/// down or out of disk, a lock or serialization conflict, or damaged data are the whole
/// database's; a statement's own failure (a constraint, a value) is `Other`.
pub(crate) fn classify_postgres(e: &postgres::Error) -> StoreErrorKind {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection (closed, refused, timed out) or a value that did not
        // convert; only the first is the database's.
        let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
        return if e.is_closed() || io {
            StoreErrorKind::Io
        } else {
            StoreErrorKind::Other
        };
    };
    let code = code.code();
    match code {
        // disk_full, insufficient_resources, out_of_memory
        "53100" | "53000" | "53200" => StoreErrorKind::Full,
        // serialization_failure, deadlock_detected, lock_not_available, too_many_connections
        "40001" | "40P01" | "55P03" | "53300" => StoreErrorKind::Busy,
        // data_corrupted, index_corrupted
        "XX001" | "XX002" => StoreErrorKind::Corrupt,
        // class 08 connection exception, 57P0x shutdown/crash/cannot connect now,
        // class 58 system error (I/O), read_only_sql_transaction (a standby)
        _ if code.starts_with("08") || code.starts_with("57P") || code.starts_with("58") => {
            StoreErrorKind::Io
        }
        "25006" => StoreErrorKind::Io,
        _ => StoreErrorKind::Other,
    }
}

/// A PostgreSQL error as one sentence: the server's message when it sent one (the client's
/// own `Display` says only "db error"), with the whole-database prefix of its class.
fn describe_postgres(e: &postgres::Error) -> String {
    let message = match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => db.message().to_string(),
        // "error connecting to server" says nothing without its cause ("Connection refused").
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    };
    let message = crate::config::redact_credentials(&message).into_owned();
    match classify_postgres(e) {
        StoreErrorKind::Busy => format!("the database is busy: {message}"),
        StoreErrorKind::Full => format!("the database's disk is full: {message}"),
        StoreErrorKind::Corrupt => format!("the database is corrupt: {message}"),
        StoreErrorKind::Io => format!("the database cannot be reached: {message}"),
        StoreErrorKind::Other => message,
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        StoreError::Postgres(e)
    }
}

impl From<rusqlite_migration::Error> for StoreError {
    fn from(e: rusqlite_migration::Error) -> StoreError {
        // A migration that failed on SQLite's side is sorted like any other SQLite error.
        match e {
            rusqlite_migration::Error::RusqliteError { err, .. }
                if classify(&err) != StoreErrorKind::Other =>
            {
                StoreError::from(err)
            }
            e => StoreError::Migration(e),
        }
    }
}

impl StoreError {
    /// The class of the error.
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            StoreError::Busy(_) => StoreErrorKind::Busy,
            StoreError::Full(_) => StoreErrorKind::Full,
            StoreError::Corrupt(_) => StoreErrorKind::Corrupt,
            StoreError::Io(_) | StoreError::Folder { .. } => StoreErrorKind::Io,
            StoreError::Open { error, .. } => error.kind(),
            StoreError::Postgres(e) => classify_postgres(e),
            StoreError::Other(_)
            | StoreError::WrongBackend(_)
            | StoreError::SchemaTooNew { .. }
            | StoreError::NotEmpty { .. }
            | StoreError::NoFeed(_)
            | StoreError::HandOver(_)
            | StoreError::Tls(_)
            | StoreError::Migration(_)
            | StoreError::Thread { .. } => StoreErrorKind::Other,
        }
    }

    /// Whether the failure is the database's rather than the operation's: a full disk, an
    /// I/O error, corruption, or a lock held past the busy timeout. Retrying the same
    /// writes later is right; blaming the data written is not.
    pub fn is_whole_database(&self) -> bool {
        self.kind() != StoreErrorKind::Other
    }

    /// Whether SQLite refused the write for a row whose key is already there, with
    /// `extended_code` (e.g. `SQLITE_CONSTRAINT_PRIMARYKEY`).
    pub(crate) fn is_constraint(&self, extended_code: std::ffi::c_int) -> bool {
        matches!(
            self,
            StoreError::Other(rusqlite::Error::SqliteFailure(f, _)) if f.extended_code == extended_code
        )
    }

    /// This error as the failure to open the database at `path`.
    pub(crate) fn opening(self, path: &std::path::Path) -> StoreError {
        self.opening_at(&path.display())
    }

    /// This error as the failure to open the database `at` (a path, or a URL shown without
    /// its credentials).
    pub(crate) fn opening_at(self, at: &dyn std::fmt::Display) -> StoreError {
        StoreError::Open {
            path: at.to_string(),
            error: Box::new(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error SQLite gives for `code`, with the message it gives.
    fn sqlite(code: std::ffi::c_int) -> rusqlite::Error {
        let message = rusqlite::ffi::code_to_str(code).to_string();
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message))
    }

    /// Each SQLite code lands in the class the writer acts on; extended codes follow their
    /// primary code.
    #[test]
    fn sqlite_codes_are_sorted_into_whole_database_failures_and_the_rest() {
        use rusqlite::ffi;
        let cases = [
            (ffi::SQLITE_FULL, StoreErrorKind::Full),
            (ffi::SQLITE_BUSY, StoreErrorKind::Busy),
            (ffi::SQLITE_LOCKED, StoreErrorKind::Busy),
            (ffi::SQLITE_BUSY_SNAPSHOT, StoreErrorKind::Busy),
            (ffi::SQLITE_CORRUPT, StoreErrorKind::Corrupt),
            (ffi::SQLITE_NOTADB, StoreErrorKind::Corrupt),
            (ffi::SQLITE_IOERR, StoreErrorKind::Io),
            (ffi::SQLITE_IOERR_WRITE, StoreErrorKind::Io),
            (ffi::SQLITE_IOERR_FSYNC, StoreErrorKind::Io),
            (ffi::SQLITE_CANTOPEN, StoreErrorKind::Io),
            (ffi::SQLITE_READONLY, StoreErrorKind::Io),
            (ffi::SQLITE_CONSTRAINT_PRIMARYKEY, StoreErrorKind::Other),
            (ffi::SQLITE_MISMATCH, StoreErrorKind::Other),
        ];
        for (code, kind) in cases {
            let e = StoreError::from(sqlite(code));
            assert_eq!(e.kind(), kind, "code {code}");
            assert_eq!(e.is_whole_database(), kind != StoreErrorKind::Other);
        }
        assert!(!StoreError::NoFeed(3).is_whole_database());
        let opening = StoreError::from(sqlite(ffi::SQLITE_FULL)).opening("t.db".as_ref());
        assert_eq!(opening.kind(), StoreErrorKind::Full);
    }

    #[test]
    fn a_full_disk_says_so_in_one_sentence() {
        let e = StoreError::from(sqlite(rusqlite::ffi::SQLITE_FULL));
        assert_eq!(
            e.to_string(),
            "the database's disk is full: database or disk is full"
        );
    }
}
