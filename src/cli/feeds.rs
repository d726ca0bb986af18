//! `feeds add | remove | list | import | export | enable`: managing sources.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use serde_json::json;

use super::feeds_file::{LockedFile, NewFeed};
use super::{AddArgs, FeedsCommand, load_config, open_store};
use crate::config::FullText;
use crate::config::{Config, CronSchedule, HttpUrl, normalize_feed_url};
use crate::model::PageState;
use crate::store::{FeedRow, FeedSpec, PageCounts};

/// Runs one `feeds` subcommand.
pub fn run(config_path: &Path, cmd: &FeedsCommand) -> Result<ExitCode> {
    match cmd {
        FeedsCommand::Add(args) => add(config_path, args),
        FeedsCommand::Remove { feed } => {
            let mut file = LockedFile::open(config_path)?;
            let name = file.remove(feed)?;
            file.save()?;
            println!("removed {name:?} (its stored articles stay until retention)");
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::List { json } => list(&load_config(config_path)?, *json),
        FeedsCommand::Import { file } => import(config_path, file),
        FeedsCommand::Export => {
            let config = load_config(config_path)?;
            print!(
                "{}",
                crate::opml::for_config(&config, crate::opml::Credentials::Keep)
            );
            Ok(ExitCode::SUCCESS)
        }
        FeedsCommand::Enable { feed } => enable(&load_config(config_path)?, feed),
    }
}

/// What `feeds add` found at a URL.
struct Probe {
    url: url::Url,
    title: Option<String>,
    entries: usize,
}

fn add(config_path: &Path, args: &AddArgs) -> Result<ExitCode> {
    let given: HttpUrl = args.url.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    if let Some(s) = &args.schedule {
        s.parse::<CronSchedule>().map_err(|e| anyhow::anyhow!(e))?;
    }
    // Refuse duplicates before going to the network; checked again under the lock.
    if let Ok(file) = LockedFile::open(config_path).and_then(|f| f.config())
        && let Some(f) = file.find_feed(given.0.as_str())
    {
        bail!(
            "{} is already in {} as {:?}",
            given.0,
            config_path.display(),
            f.name()
        );
    }
    let probe = if args.no_check {
        Probe {
            url: given.0.clone(),
            title: None,
            entries: 0,
        }
    } else {
        let settings = Config::load(config_path)
            .map(|c| c.fetch)
            .unwrap_or_default();
        match probe(&given.0, &settings) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("tributary: {}", super::one_sentence(&e));
                eprintln!("tributary: nothing added (use --no-check to add it anyway)");
                return Ok(ExitCode::from(1));
            }
        }
    };
    let name = args
        .name
        .clone()
        .or_else(|| probe.title.clone().filter(|t| !t.trim().is_empty()))
        .unwrap_or_else(|| probe.url.host_str().unwrap_or("feed").to_string());
    let feed = NewFeed {
        name: name.trim().to_string(),
        url: probe.url.clone(),
        tags: args.tags.clone(),
        schedule: args.schedule.clone(),
    };
    let mut file = LockedFile::open(config_path)?;
    file.add(&feed)?;
    file.save()?;
    if probe.url != given.0 {
        println!("{} advertises the feed {}", given.0, probe.url);
    }
    if args.no_check {
        println!("added {:?} ({}) without checking it", feed.name, feed.url);
    } else {
        println!(
            "added {:?} ({}): {}, {} {}",
            feed.name,
            feed.url,
            probe.title.as_deref().unwrap_or("untitled feed"),
            probe.entries,
            if probe.entries == 1 {
                "entry"
            } else {
                "entries"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Fetches `url`; if it is an HTML page, follows the first feed it advertises that parses.
fn probe(url: &url::Url, settings: &crate::config::FetchConfig) -> Result<Probe> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let fetcher = crate::fetch::Fetcher::new(settings)?;
    runtime.block_on(async {
        let get = |u: url::Url| {
            let fetcher = &fetcher;
            async move { fetcher.get(&u).await.map_err(anyhow::Error::from) }
        };
        let page = get(url.clone()).await?;
        if crate::fetch::discover::looks_like_html(page.content_type.as_deref(), &page.body) {
            let html = String::from_utf8_lossy(&page.body);
            let advertised = crate::fetch::discover::advertised_feeds(&html, &page.url);
            if advertised.is_empty() {
                bail!("{url} is a web page that advertises no feed");
            }
            let mut last_err = None;
            for candidate in advertised {
                match get(candidate.clone())
                    .await
                    .and_then(|f| parse_probe(&candidate, &f))
                {
                    Ok(p) => return Ok(p),
                    Err(e) => last_err = Some(e),
                }
            }
            return Err(
                last_err.unwrap_or_else(|| anyhow::anyhow!("no advertised feed could be read"))
            );
        }
        parse_probe(url, &page)
    })
}

fn parse_probe(url: &url::Url, fetched: &crate::fetch::Fetched) -> Result<Probe> {
    let ctx = crate::parse::FeedContext {
        url: fetched.url.as_str(),
        content_type: fetched.content_type.as_deref(),
        fetched_at: Utc::now(),
    };
    let parsed =
        crate::parse::parse(&fetched.body, &ctx).with_context(|| format!("{url} is not a feed"))?;
    Ok(Probe {
        url: url.clone(),
        title: parsed.title,
        entries: parsed.articles.len(),
    })
}

/// Each configured feed paired with its stored state (if it was ever synced).
type Rows<'a> = Vec<(&'a crate::config::FeedConfig, Option<FeedRow>)>;

/// [`Rows`] and, per feed id, how its article pages went.
fn rows_for(config: &Config) -> Result<(Rows<'_>, HashMap<i64, PageCounts>)> {
    let mut store = open_store(config)?;
    let specs: Vec<FeedSpec> = config
        .feeds
        .iter()
        .map(|f| FeedSpec::of(config, f))
        .collect();
    store.sync_feeds(&specs)?;
    Ok((store.configured_feed_rows(config)?, store.page_counts()?))
}

/// How many of a feed's article pages ended in `state`.
fn pages_in(pages: &HashMap<i64, PageCounts>, feed: Option<&FeedRow>, state: PageState) -> u64 {
    feed.and_then(|r| pages.get(&r.id))
        .and_then(|c| c.get(&state).copied())
        .unwrap_or(0)
}

fn list(config: &Config, as_json: bool) -> Result<ExitCode> {
    let (rows, pages) = rows_for(config)?;
    let count = |r: Option<&FeedRow>, state| pages_in(&pages, r, state);
    if as_json {
        let out: Vec<_> = rows
            .iter()
            .map(|(f, r)| {
                let r = r.as_ref();
                json!({
                    "name": f.name(),
                    "url": f.url().as_str(),
                    "tags": f.tags,
                    "enabled": f.enabled,
                    "schedule": config.schedule_of(f).pattern,
                    "title": r.and_then(|r| r.title.clone()),
                    "last_fetch": r.and_then(|r| r.last_fetch).map(|t| t.to_rfc3339()),
                    "last_status": r.and_then(|r| r.last_status).map(|s| s.as_str()),
                    "last_http": r.and_then(|r| r.last_http),
                    "last_error": r.and_then(|r| r.last_error.clone()),
                    "last_error_kind": r.and_then(|r| r.last_error_kind).map(|k| k.as_str()),
                    "error_count": r.map_or(0, |r| r.error_count),
                    "next_fetch": r.and_then(|r| r.next_fetch).map(|t| t.to_rfc3339()),
                    "redirect_url": r.and_then(|r| r.redirect_url.clone()),
                    "gone": r.is_some_and(|r| r.gone),
                    "articles": r.map_or(0, |r| r.articles),
                    "full_text": config.full_text_of(f).as_str(),
                    "pages": {
                        "completed": count(r, PageState::Done),
                        "no_article": count(r, PageState::Empty),
                        "failed": count(r, PageState::Failed),
                        "refused": count(r, PageState::Refused),
                        "waiting": count(r, PageState::Wanted),
                    },
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no feeds in {}", config.path.display());
    }
    for (f, r) in &rows {
        let tags = if f.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", f.tags.join(", "))
        };
        println!("{}{tags}\n  {}", f.name(), f.url());
        let Some(r) = r else { continue };
        let when = |t: Option<chrono::DateTime<Utc>>| {
            t.map_or("never".to_string(), |t| {
                t.format("%Y-%m-%d %H:%M UTC").to_string()
            })
        };
        let status = r.last_status.map_or("not fetched yet", |s| s.as_str());
        println!(
            "  last fetch: {} ({status}), next: {}, {} articles",
            when(r.last_fetch),
            if f.enabled && !r.gone {
                when(r.next_fetch)
            } else {
                "disabled".into()
            },
            r.articles
        );
        let full_text = config.full_text_of(f);
        if full_text != FullText::Never || pages.contains_key(&r.id) {
            let r = Some(r);
            println!(
                "  full text ({}): {} pages completed, {} without an article, {} failed, {} refused, {} waiting",
                full_text.as_str(),
                count(r, PageState::Done),
                count(r, PageState::Empty),
                count(r, PageState::Failed),
                count(r, PageState::Refused),
                count(r, PageState::Wanted),
            );
        }
        if r.error_count > 0 || r.last_error.is_some() {
            let kind = r
                .last_error_kind
                .map_or(String::new(), |k| format!(" ({})", k.as_str()));
            println!(
                "  errors: {} in a row, last{kind}: {}",
                r.error_count,
                r.last_error.as_deref().unwrap_or("-")
            );
        }
        if r.gone {
            println!(
                "  gone: the server answered 410; run `tributary feeds enable {:?}` to poll it again",
                f.name()
            );
        }
        if let Some(to) = &r.redirect_url {
            println!("  moved permanently to {to}: update its url in feeds.toml");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn import(config_path: &Path, opml_path: &Path) -> Result<ExitCode> {
    let bytes =
        std::fs::read(opml_path).with_context(|| format!("cannot read {}", opml_path.display()))?;
    let subs = crate::opml::read(&bytes)
        .with_context(|| format!("{} is not usable OPML", opml_path.display()))?;
    let mut file = LockedFile::open(config_path)?;
    let (mut added, mut duplicates, mut invalid) = (0usize, 0usize, 0usize);
    for sub in subs {
        let Ok(HttpUrl(url)) = sub.url.parse::<HttpUrl>() else {
            eprintln!(
                "skipped {:?}: {:?} is not an http(s) URL",
                sub.name, sub.url
            );
            invalid += 1;
            continue;
        };
        let config = file.config()?;
        if config.find_feed(url.as_str()).is_some() {
            duplicates += 1;
            continue;
        }
        let mut name = sub.name.trim().to_string();
        if name.is_empty() || config.feeds.iter().any(|f| f.name() == name) {
            name = format!("{name} ({})", url.host_str().unwrap_or("feed"))
                .trim()
                .to_string();
        }
        let mut n = 2;
        let base = name.clone();
        while config.feeds.iter().any(|f| f.name() == name) {
            name = format!("{base} {n}");
            n += 1;
        }
        file.add(&NewFeed {
            name,
            url,
            tags: sub.tags,
            schedule: None,
        })?;
        added += 1;
    }
    file.save()?;
    println!(
        "imported {added} feeds; skipped {duplicates} already present and {invalid} without a usable URL"
    );
    Ok(ExitCode::SUCCESS)
}

fn enable(config: &Config, feed: &str) -> Result<ExitCode> {
    let Some(f) = config.find_feed(feed) else {
        bail!("no feed named {feed:?} in {}", config.path.display());
    };
    if !f.enabled {
        bail!(
            "{:?} is disabled in {}: set enabled = true there",
            f.name(),
            config.path.display()
        );
    }
    let mut store = open_store(config)?;
    store.sync_feeds(&[FeedSpec::of(config, f)])?;
    store.reenable_feed(&normalize_feed_url(f.url()))?;
    println!(
        "{:?} will be polled again at its next scheduled time",
        f.name()
    );
    Ok(ExitCode::SUCCESS)
}
