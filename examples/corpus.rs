//! Corpus benchmark for the parse stage: reads every document listed in
//! `feedparser-reference.jsonl` with our parse stage and with feed-rs alone, and compares
//! both with what Python feedparser read.
//!
//! ```text
//! cargo run --release --example corpus -- ../shared/corpora [--list lost|gained|title|link|date|panic]
//!     [--dump FILE] [--repeat N]
//! ```
//!
//! Prints per corpus folder and in total: documents read, **lost** (feedparser read ≥ 1
//! entry, we read none), gained, first-entry title/link/date disagreements, panics caught,
//! throughput, and the same for feed-rs alone with the cost ratio. Exits non-zero on any
//! panic or when "lost" exceeds the ratchet in `tests/corpus-lost.txt`.
//!
//! `--dump FILE` writes every parse result to FILE (fixed fetch time: two builds' dumps diff
//! byte for byte). `--repeat N` times each document N times with both parsers and counts the
//! fastest of each: on a shared, loaded machine that is what keeps the cost ratio steady.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tributary::parse::{FeedContext, panics_caught, parse};

#[derive(Deserialize)]
struct Reference {
    path: String,
    entries: usize,
    first_title: Option<String>,
    first_link: Option<String>,
    first_date: Option<String>,
}

#[derive(Default, Clone)]
struct Tally {
    docs: usize,
    with_entries: usize,
    bytes: usize,
    lost: usize,
    gained: usize,
    title: usize,
    link: usize,
    date: usize,
    panics: u64,
    time: Duration,
    rs_lost: usize,
    rs_panics: usize,
    rs_time: Duration,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.docs += o.docs;
        self.with_entries += o.with_entries;
        self.bytes += o.bytes;
        self.lost += o.lost;
        self.gained += o.gained;
        self.title += o.title;
        self.link += o.link;
        self.date += o.date;
        self.panics += o.panics;
        self.time += o.time;
        self.rs_lost += o.rs_lost;
        self.rs_panics += o.rs_panics;
        self.rs_time += o.rs_time;
    }

    fn line(&self, name: &str) -> String {
        let mb = self.bytes as f64 / 1e6;
        let secs = self.time.as_secs_f64().max(1e-9);
        let rs_secs = self.rs_time.as_secs_f64().max(1e-9);
        format!(
            "{name:<16} docs {:>5} fp>0 {:>5} | lost {:>4} gained {:>4} title {:>4} link {:>4} date {:>4} panics {:>2} | {:>6.1} MB/s {:>7.0} docs/s | feed-rs: lost {:>4} panics {:>2} {:>6.1} MB/s | cost x{:.2}",
            self.docs,
            self.with_entries,
            self.lost,
            self.gained,
            self.title,
            self.link,
            self.date,
            self.panics,
            mb / secs,
            self.docs as f64 / secs,
            self.rs_lost,
            self.rs_panics,
            mb / rs_secs,
            secs / rs_secs,
        )
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// feedparser keeps markup and references in titles; we give plain text. Compare like with
/// like: tags dropped, the common references decoded.
fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#38;", "&")
        .replace("&#x26;", "&")
        .replace("&amp;", "&");
    squash(&out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(root) = args.first().map(PathBuf::from) else {
        eprintln!(
            "usage: corpus CORPORA_DIR [--list lost|gained|title|link|date|panic] [--dump FILE] [--repeat N]"
        );
        return ExitCode::from(2);
    };
    let list = args
        .iter()
        .position(|a| a == "--list")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
        .max(1);
    let reference = root.join("feedparser-reference.jsonl");
    let Ok(lines) = std::fs::read_to_string(&reference) else {
        println!("corpus: {} not found, skipped", reference.display());
        return ExitCode::SUCCESS;
    };
    // feed-rs panics on some inputs on purpose here; keep the output readable.
    std::panic::set_hook(Box::new(|_| {}));
    // `--dump FILE` writes every parse result (Debug) to FILE, with a fixed fetch time, so
    // two builds' outputs can be diffed byte for byte.
    let dump_path = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let mut dump = String::new();
    let fetched_at: DateTime<Utc> = if dump_path.is_some() {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
    } else {
        Utc::now()
    };
    let mut folders: BTreeMap<String, Tally> = BTreeMap::new();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(r) = serde_json::from_str::<Reference>(line) else {
            continue;
        };
        let Ok(bytes) = std::fs::read(root.join(&r.path)) else {
            continue;
        };
        let folder = r.path.split('/').next().unwrap_or("").to_string();
        let t = folders.entry(folder).or_default();
        t.docs += 1;
        t.bytes += bytes.len();
        let url = format!("http://corpus.invalid/{}", r.path);
        let ctx = FeedContext {
            url: &url,
            content_type: None,
            fetched_at,
        };
        let before = panics_caught();
        let start = Instant::now();
        let ours = parse(&bytes, &ctx);
        let mut fastest = start.elapsed();
        let panicked = panics_caught() - before;
        for _ in 1..repeat {
            let start = Instant::now();
            let again = parse(&bytes, &ctx);
            fastest = fastest.min(start.elapsed());
            drop(again);
        }
        t.time += fastest;
        if dump_path.is_some() {
            dump.push_str(&format!("== {}\n{ours:#?}\n", r.path));
        }
        t.panics += panicked;

        let feed_rs_alone = || {
            catch_unwind(AssertUnwindSafe(|| {
                feed_rs::parser::Builder::new()
                    .sanitize_content(false)
                    .build()
                    .parse(bytes.as_slice())
            }))
        };
        let start = Instant::now();
        let rs = feed_rs_alone();
        let mut fastest = start.elapsed();
        for _ in 1..repeat {
            let start = Instant::now();
            let again = feed_rs_alone();
            fastest = fastest.min(start.elapsed());
            drop(again);
        }
        t.rs_time += fastest;
        let rs_entries = match rs {
            Ok(Ok(feed)) => feed.entries.len(),
            Ok(Err(_)) => 0,
            Err(_) => {
                t.rs_panics += 1;
                0
            }
        };

        let articles = ours.as_ref().map(|f| f.articles.as_slice()).unwrap_or(&[]);
        let mut flags: Vec<&str> = Vec::new();
        if panicked > 0 {
            flags.push("panic");
        }
        if r.entries > 0 {
            t.with_entries += 1;
            if articles.is_empty() {
                t.lost += 1;
                flags.push("lost");
            }
            if rs_entries == 0 {
                t.rs_lost += 1;
            }
        } else if !articles.is_empty() {
            t.gained += 1;
            flags.push("gained");
        }
        let mut detail = String::new();
        if let (Some(first), true) = (articles.first(), r.entries > 0) {
            let want = plain(r.first_title.as_deref().unwrap_or(""));
            if !want.is_empty() && squash(&first.title) != want {
                t.title += 1;
                flags.push("title");
                detail.push_str(&format!(" title {:?} vs {:?}", first.title, want));
            }
            let want = r.first_link.as_deref().unwrap_or("").trim();
            let link_ok = want.is_empty()
                || first.url.as_deref().is_some_and(|u| {
                    u == want
                        || u.trim_end_matches('/')
                            == want.split('#').next().unwrap_or("").trim_end_matches('/')
                        || url_eq(u, want)
                })
                || first.guid.as_deref() == Some(want);
            if !link_ok {
                t.link += 1;
                flags.push("link");
                detail.push_str(&format!(" link {:?} vs {want:?}", first.url));
            }
            let want = r
                .first_date
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok());
            let got = first.published;
            if want.map(|d| d.timestamp()) != got.map(|d| d.timestamp()) {
                t.date += 1;
                flags.push("date");
                detail.push_str(&format!(" date {got:?} vs {want:?}"));
            }
        }
        if let Some(kind) = &list
            && flags.contains(&kind.as_str())
        {
            let err = ours
                .as_ref()
                .err()
                .map(|e| format!(" error: {e}"))
                .unwrap_or_default();
            println!("{kind}: {}{err}{detail}", r.path);
        }
    }
    if let Some(path) = &dump_path
        && let Err(e) = std::fs::write(path, &dump)
    {
        eprintln!("corpus: cannot write {path}: {e}");
    }
    let mut total = Tally::default();
    for (name, t) in &folders {
        println!("{}", t.line(name));
        total.add(t);
    }
    println!("{}", total.line("TOTAL"));
    let real = [
        "feedrs",
        "netnewswire",
        "feedjira",
        "node-feedparser",
        "miniflux",
        "kmp-rssparser",
    ];
    let real_lost: usize = real
        .iter()
        .filter_map(|f| folders.get(*f))
        .map(|t| t.lost)
        .sum();
    println!(
        "lost on real captured feeds ({}): {real_lost}",
        real.join(", ")
    );
    let ratchet = ratchet();
    let mut ok = true;
    if total.panics > 0 {
        println!("FAIL: {} panic(s) caught in the parse stage", total.panics);
        ok = false;
    }
    match ratchet {
        Some(max) if total.lost > max => {
            println!(
                "FAIL: lost {} > ratchet {max} (tests/corpus-lost.txt)",
                total.lost
            );
            ok = false;
        }
        Some(max) => println!("lost {} within ratchet {max}", total.lost),
        None => println!("no ratchet file found"),
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn url_eq(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(mut a), Ok(mut b)) => {
            a.set_fragment(None);
            b.set_fragment(None);
            a.set_query(None);
            b.set_query(None);
            a == b
        }
        _ => false,
    }
}

fn ratchet() -> Option<usize> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-lost.txt");
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?
        .parse()
        .ok()
}
