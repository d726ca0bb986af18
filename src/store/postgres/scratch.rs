//! Test support shared by the unit and integration tests: a PostgreSQL database of its own
//! for each test, on the server at 127.0.0.1:5432 only, dropped when the test ends, so tests
//! run in parallel and leave nothing behind.
//!
//! Without a reachable server a test is skipped with the reason printed, unless
//! `TRIBUTARY_CI_STRICT` is set (CI sets it), when it fails: CI must not pass by skipping.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::DatabaseUrl;

/// The server the tests use, and the database they connect to to create their own.
pub const SERVER: &str = "postgres://postgres@127.0.0.1:5432";
/// A database that exists on the test server (trust authentication, user `postgres`).
pub const ADMIN_DATABASE: &str = "test";
/// Set (to anything) in CI: an unreachable server fails the tests instead of skipping them.
pub const STRICT_ENV: &str = "TRIBUTARY_CI_STRICT";

/// A database created for one test and dropped with it.
pub struct ScratchDatabase {
    name: String,
    url: DatabaseUrl,
}

impl ScratchDatabase {
    /// Creates a fresh database, or returns `None` (having printed why) when the server
    /// cannot be reached and [`STRICT_ENV`] is not set.
    ///
    /// # Panics
    /// When the server cannot be reached and [`STRICT_ENV`] is set, or it refuses to
    /// create the database.
    pub fn create(test: &str) -> Option<ScratchDatabase> {
        let mut admin = match admin() {
            Ok(client) => client,
            Err(e) if std::env::var_os(STRICT_ENV).is_some() => {
                panic!(
                    "{test}: PostgreSQL at {SERVER} is not reachable and {STRICT_ENV} is set: {e}"
                )
            }
            Err(e) => {
                eprintln!("skipping {test}: PostgreSQL at {SERVER} is not reachable: {e}");
                return None;
            }
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let seed = format!(
            "{test}{}{:?}{}",
            std::process::id(),
            std::time::SystemTime::now(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let name = format!("t_{:016x}", xxhash_rust::xxh3::xxh3_64(seed.as_bytes()));
        if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name}")) {
            panic!("{test}: cannot create database {name}: {e:?}");
        }
        let url = format!("{SERVER}/{name}")
            .parse()
            .unwrap_or_else(|e| panic!("{test}: {e}"));
        Some(ScratchDatabase { name, url })
    }

    /// The database's URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // FORCE ends the sessions a test left open (a daemon it killed, a store it kept).
        match admin() {
            Ok(mut c) => {
                if let Err(e) = c.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )) {
                    eprintln!("cannot drop test database {}: {e:?}", self.name);
                }
            }
            Err(e) => eprintln!("cannot drop test database {}: {e}", self.name),
        }
    }
}

fn admin() -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = format!("{SERVER}/{ADMIN_DATABASE}")
        .parse()
        .map_err(|e: postgres::Error| e)?;
    config.connect_timeout(std::time::Duration::from_secs(5));
    config.connect(postgres::NoTls)
}
