//! `check`: validate feeds.toml and the database.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::{load_config, open_store};

/// Loads the config (any problem is exit 2 with file, line and key), then opens the
/// database and runs its consistency checks.
pub fn run(config_path: &Path) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let enabled = config.feeds.iter().filter(|f| f.enabled).count();
    println!(
        "{}: ok, {} feeds ({enabled} enabled)",
        config.path.display(),
        config.feeds.len()
    );
    let store = open_store(&config)?;
    let problems = store.check()?;
    let (feeds, articles, stories) = store.counts()?;
    if problems.is_empty() {
        println!(
            "{}: ok, {feeds} feeds, {articles} articles, {stories} stories",
            store.location()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        eprintln!("{}: {p}", store.location());
    }
    anyhow::bail!(
        "the database {} has {} problems",
        store.location(),
        problems.len()
    )
}
