//! `export`: the merged feed to stdout — the same bytes the server sends for the same query
//! (one renderer, two callers), for operators who publish a static file.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{ExportArgs, ExportFormat, load_config, open_store};
use crate::serve::document::{self, LoadError};
use crate::serve::query::FeedQuery;
use crate::serve::render::{self, Format};

/// Runs `export`.
pub fn run(config_path: &Path, args: &ExportArgs) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let query = FeedQuery {
        tag: args.tag.clone(),
        feed: args.feed.clone(),
        limit: args.limit,
        ..Default::default()
    };
    let format = match args.format {
        ExportFormat::Atom => Format::Atom,
        ExportFormat::Rss => Format::Rss,
        ExportFormat::Json => Format::Json,
    };
    let doc = store
        .snapshot(|store| match document::load(store, &config, &query) {
            Ok(doc) => Ok(Ok(doc)),
            Err(LoadError::NotFound(why)) => Ok(Err(why)),
            Err(e) => Err(e),
        })
        .context("cannot read the merged feed from the database")?
        .map_err(anyhow::Error::msg)?;
    let bytes = render::render(&doc, format)?;
    let mut out = std::io::stdout().lock();
    match out.write_all(&bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`export | head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e).context("cannot write the merged feed to stdout"),
    }
}
