//! `stories [--limit N] [--search Q] [--json]`: recent stories with their copies, or the
//! recent stories a search finds.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use super::{load_config, open_store};
use crate::store::{Search, StoryView};

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The JSON form SPEC.md documents: every copy, the representative first.
pub fn story_json(s: &StoryView) -> serde_json::Value {
    json!({
        "id": s.id,
        "title": s.title(),
        "published": rfc3339(s.published),
        "copies": s.copies.iter().map(|c| json!({
            "feed": c.feed,
            "url": c.url,
            "title": c.title,
            "published": rfc3339(c.published),
            "match": c.kind.as_str(),
            "score": (c.score * 1000.0).round() / 1000.0,
            "representative": c.representative,
        })).collect::<Vec<_>>(),
    })
}

/// Prints the `limit` newest stories (that match `search`, when given).
pub fn run(
    config_path: &Path,
    limit: usize,
    search: Option<&str>,
    as_json: bool,
) -> Result<ExitCode> {
    let search = search
        .map(Search::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--search: {e}"))?;
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let stories = match &search {
        Some(search) => store.search_stories(search, limit)?,
        None => store.recent_stories(limit)?,
    };
    if as_json {
        let doc: Vec<_> = stories.iter().map(story_json).collect();
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    if stories.is_empty() {
        match &search {
            Some(search) => println!("no stories match {search}"),
            None => println!("no stories yet: run `tributary fetch` first"),
        }
    }
    for s in &stories {
        let outlets = s.copies.len();
        println!(
            "#{} {} — {} ({} {})",
            s.id,
            rfc3339(s.published),
            s.title(),
            outlets,
            if outlets == 1 { "copy" } else { "copies" }
        );
        for c in &s.copies {
            let how = if c.representative {
                format!("{}, representative", c.kind.as_str())
            } else {
                format!("{} {:.2}", c.kind.as_str(), c.score)
            };
            println!(
                "    {} [{how}] {}",
                c.feed,
                c.url.as_deref().unwrap_or("(no link)")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
