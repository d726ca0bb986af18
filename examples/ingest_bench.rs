//! Ingest benchmark: the part of a poll cycle that runs one feed at a time — dedup and the
//! SQLite transaction — measured without HTTP, on the documents of `poll_bench`.
//! Parses and fingerprints every document first (the part that runs in parallel in the
//! daemon, before the writer), then ingests them into a fresh store, then once more with
//! nothing changed.
//!
//! `cargo run --release --example ingest_bench [FEEDS] [ENTRIES] [GROUP]`
//!
//! GROUP feeds are written per transaction, as the daemon's writer groups feeds that wait
//! for it (default `daemon::policy::WRITE_GROUP_FEEDS`, what it groups in `poll_bench`'s
//! cold cycle; 1 = a commit per feed).
//!
//! CPU time is this process's (single-threaded here), so the figures hold up on a machine
//! that other work keeps busy better than wall times do.

use std::time::{Duration, Instant};

use anyhow::Context;
use tributary::config::DedupConfig;
use tributary::daemon::policy::WRITE_GROUP_FEEDS;
use tributary::dedup::{Dedup, Fingerprint};
use tributary::model::ParsedFeed;
use tributary::parse::{FeedContext, parse};
use tributary::store::{FeedSpec, Store};

#[path = "common/bench_support.rs"]
mod bench_support;
use bench_support::{cpu_time, document, peak_rss_kib};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let feeds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let entries: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);
    let group: usize = args
        .get(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or(WRITE_GROUP_FEEDS)
        .max(1);
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(&dir.path().join("bench.db"))?;
    let specs: Vec<FeedSpec> = (0..feeds)
        .map(|i| FeedSpec {
            url: format!("http://127.0.0.1/feed/{i}.xml"),
            name: format!("Outlet {i}"),
            tags: Vec::new(),
            full_text: Default::default(),
        })
        .collect();
    let ids = store.sync_feeds(&specs)?;
    let mut dedup = tributary::ingest::open_dedup(&store, &DedupConfig::default())?;
    let docs: Vec<String> = (0..feeds).map(|i| document(i, entries)).collect();
    let now = chrono::Utc::now();

    let (parsed, parse_cpu, parse_wall) = measure(|| {
        specs
            .iter()
            .zip(&docs)
            .map(|(spec, doc)| {
                let ctx = FeedContext {
                    url: &spec.url,
                    content_type: Some("application/rss+xml"),
                    fetched_at: now,
                };
                parse(doc.as_bytes(), &ctx).with_context(|| spec.url.clone())
            })
            .collect::<anyhow::Result<Vec<ParsedFeed>>>()
    });
    let parsed = parsed?;
    let (prints, print_cpu, print_wall) = measure(|| {
        parsed
            .iter()
            .map(|feed| {
                let mut lines = tributary::dedup::FeedLines::default();
                lines.learn_and_fingerprint(&feed.articles)
            })
            .collect::<Vec<_>>()
    });
    let articles: usize = parsed.iter().map(|p| p.articles.len()).sum();
    report("parse", articles, parse_cpu, parse_wall);
    report("fingerprint", articles, print_cpu, print_wall);

    for (cycle, want_new) in [("ingest (cold)", true), ("ingest (unchanged)", false)] {
        let (new, cpu, wall) = measure(|| -> anyhow::Result<usize> {
            let mut new = 0;
            let feeds: Vec<(i64, &ParsedFeed, &[Fingerprint])> = specs
                .iter()
                .zip(&parsed)
                .zip(&prints)
                .map(|((s, p), f)| (ids[&s.url], p, f.as_slice()))
                .collect();
            for chunk in feeds.chunks(group) {
                new += ingest_group(&mut store, &mut dedup, chunk, now)?;
            }
            Ok(new)
        });
        let new = new?;
        anyhow::ensure!(
            (new == articles) == want_new,
            "{cycle}: {new} new articles of {articles}"
        );
        report(cycle, articles, cpu, wall);
    }
    println!("peak rss {} MiB", peak_rss_kib() / 1024);
    Ok(())
}

/// Ingests `feeds` in one transaction, as the daemon's writer does.
fn ingest_group(
    store: &mut Store,
    dedup: &mut Dedup,
    feeds: &[(i64, &ParsedFeed, &[Fingerprint])],
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    let mut new = 0;
    let mut batch = store.begin_ingest()?;
    let mut staged = tributary::dedup::Staged::default();
    for (id, feed, prints) in feeds {
        let report = tributary::ingest::ingest_into(
            &mut batch,
            dedup,
            &mut staged,
            *id,
            feed,
            Some(prints),
            now,
        )?;
        new += report.new_articles;
    }
    batch.commit()?;
    dedup.apply(staged);
    Ok(new)
}

fn measure<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let (cpu0, t0) = (cpu_time(), Instant::now());
    let out = f();
    (out, cpu_time().saturating_sub(cpu0), t0.elapsed())
}

fn report(what: &str, articles: usize, cpu: Duration, wall: Duration) {
    println!(
        "{what:20} {articles} articles  cpu {:6.3} s  wall {:6.3} s  {:7.1} µs/article  {:8.0} articles/s (cpu)",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / articles.max(1) as f64,
        articles as f64 / cpu.as_secs_f64().max(1e-9),
    );
}
