//! `migrate-store --to postgres://…`: copies the SQLite database feeds.toml names into an
//! empty PostgreSQL database (creating its schema), then checks that every table holds as
//! many rows there as here. Run it with the daemon stopped; afterwards point `[storage]`
//! at the URL (`url = …` instead of `path`, or `TRIBUTARY_DATABASE_URL`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::load_config;
use crate::config::{DatabaseUrl, StoreLocation};
use crate::store::Store;

/// Copies, prints each table's count on both sides, and fails when any differs.
pub fn run(config_path: &Path, to: &str) -> Result<ExitCode> {
    let to: DatabaseUrl = to.parse().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let to = &to;
    let config = load_config(config_path)?;
    let StoreLocation::Sqlite(path) = config.storage.location() else {
        bail!(
            "migrate-store copies an SQLite database: [storage] names no `path` (or TRIBUTARY_DATABASE_URL is set)"
        );
    };
    if !path.exists() {
        bail!("there is no database at {}", path.display());
    }
    let from = Store::open(&path)?;
    let mut target = Store::open_postgres(to)?;
    let counts = crate::store::postgres::copy::copy_into(&from, &mut target)
        .with_context(|| format!("cannot copy {} into {to}", path.display()))?;
    let mut differ = false;
    for (table, here, there) in &counts {
        let mark = if here == there { "ok" } else { "DIFFERS" };
        differ |= here != there;
        println!("{table:<13} {here:>9} -> {there:>9}  {mark}");
    }
    if differ {
        bail!("the row counts of {} and {to} differ", path.display());
    }
    println!(
        "copied {} into {to}: every table's count matches",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
