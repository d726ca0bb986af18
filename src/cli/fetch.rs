//! `fetch [FEED...]`: poll feeds once now, ignoring schedule and backoff, with a progress
//! bar on a terminal (one line per feed otherwise) and a summary; exit 1 if a feed failed.

use parking_lot::Mutex;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};

use super::{load_config, open_store};
use crate::config::normalize_feed_url;
use crate::daemon::{PollReport, Scheduler};
use crate::model::FetchStatus;
use crate::schedule::SystemClock;

/// Counts for the summary line.
#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    not_modified: usize,
    failed: usize,
    new_articles: usize,
    new_stories: usize,
    merged: usize,
    story_merges: usize,
}

impl Tally {
    fn add(&mut self, r: &PollReport) {
        match r.status {
            FetchStatus::Ok => self.ok += 1,
            FetchStatus::NotModified => self.not_modified += 1,
            FetchStatus::Error | FetchStatus::RateLimited | FetchStatus::Gone => self.failed += 1,
        }
        self.new_articles += r.ingest.new_articles;
        self.new_stories += r.ingest.new_stories;
        self.merged += r.ingest.merged;
        self.story_merges += r.ingest.story_merges;
    }
}

/// One line about one poll.
fn line(r: &PollReport) -> String {
    match r.status {
        FetchStatus::Ok => format!(
            "ok            {}: {} new, {} updated ({} bytes in {} ms)",
            r.name,
            r.ingest.new_articles,
            r.ingest.updated_articles,
            r.bytes,
            r.elapsed.as_millis()
        ),
        FetchStatus::NotModified => format!("not modified  {}", r.name),
        _ => format!(
            "failed        {}: {}",
            r.name,
            r.error.as_deref().unwrap_or("unknown error")
        ),
    }
}

/// Runs `fetch`.
pub fn run(config_path: &Path, names: &[String]) -> Result<ExitCode> {
    let config = load_config(config_path)?;
    let store = Arc::new(Mutex::new(open_store(&config)?));
    let scheduler = Scheduler::new(&config, store.clone(), Arc::new(SystemClock))?;
    let scheduled = scheduler.feeds();
    let mut ids = Vec::new();
    if names.is_empty() {
        let states = store.lock().fetch_states()?;
        for feed in &scheduled {
            if states.iter().any(|s| s.feed_id == feed.id && s.gone) {
                println!(
                    "skipped       {}: it answered 410 Gone; `tributary feeds enable {:?}` polls it again",
                    feed.name, feed.name
                );
                continue;
            }
            ids.push(feed.id);
        }
    } else {
        for name in names {
            let Some(f) = config.find_feed(name) else {
                bail!("no feed named {name:?} in {}", config.path.display());
            };
            if !f.enabled {
                bail!(
                    "{:?} is disabled in {}: set enabled = true there",
                    f.name(),
                    config.path.display()
                );
            }
            let key = normalize_feed_url(f.url());
            if let Some(feed) = scheduled.iter().find(|s| s.key == key)
                && !ids.contains(&feed.id)
            {
                ids.push(feed.id);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(ids.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} feeds {elapsed} {wide_msg}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let mut tally = Tally::default();
    runtime.block_on(scheduler.poll_now(&ids, |r| {
        tally.add(r);
        match &bar {
            Some(bar) => {
                if r.status != FetchStatus::Ok && r.status != FetchStatus::NotModified {
                    bar.println(line(r));
                }
                bar.set_message(r.name.clone());
                bar.inc(1);
            }
            None => println!("{}", line(r)),
        }
    }))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!(
        "{} feeds: {} ok, {} not modified, {} failed; {} new articles, {} new stories, {} merged copies{}",
        tally.ok + tally.not_modified + tally.failed,
        tally.ok,
        tally.not_modified,
        tally.failed,
        tally.new_articles,
        tally.new_stories,
        tally.merged,
        match tally.story_merges {
            0 => String::new(),
            n => format!(", {n} stories merged into older ones"),
        }
    );
    // The pages of the items just stored, so `export` and `stories` see their full text.
    let pages = runtime.block_on(scheduler.fetch_pages())?;
    if pages.total() > 0 {
        println!(
            "{} article pages: {} full texts, {} without an article, {} failed, {} refused{}{}",
            pages.total(),
            pages.completed,
            pages.no_article,
            pages.failed,
            pages.refused,
            match pages.story_merges {
                0 => String::new(),
                n => format!("; {n} stories merged by full texts"),
            },
            match pages.stories_split {
                0 => String::new(),
                n => format!("; {n} copies left a story their full text did not match"),
            }
        );
    }
    Ok(if tally.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
