//! Benchmark of the dedup stage at a million articles.
//!
//! ```text
//! nice -n 19 cargo run --release --example dedup-bench              # stage only, 1,000,000 articles
//! nice -n 19 cargo run --release --example dedup-bench -- --restart 1000000   # + store and restart
//! nice -n 19 cargo run --release --example dedup-bench -- --restart 200000 --db PATH   # keep the database
//! nice -n 19 cargo run --release --example dedup-bench -- --load PATH   # restart an existing database
//! ```
//! Generates articles over 14 days (about 71,000 a day from 2,000 feeds; the `[dedup]`
//! window of 72 h holds about 215,000 of them): 30% copies of wire stories (2–12 outlets
//! each, trimmed, with datelines and chrome, a fifth cut to a 40-word description), 5%
//! hard negatives (another report of a wire story's event: same names and numbers, new
//! sentences), the rest originals. Prints the stage's throughput and per-article cost at
//! 10k, 100k and 1M articles seen (with the median batch of each window, which a burst of
//! other work on shared cores moves least), the peak RSS (VmHWM), and with `--restart N` the time to
//! rebuild the index from a store holding N articles (`TMPDIR` says where the database
//! goes: about 3.4 KB an article), or with `--load PATH` from an existing database.

use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};
use tributary::config::DedupConfig;
use tributary::dedup::policy::EVICT_FLOOR_STORIES;
use tributary::dedup::{Dedup, Fingerprint, Policy, Profile, Staged};
use tributary::ingest::{ingest_with, open_dedup};
use tributary::model::{Article, ParsedFeed};
use tributary::store::{FeedSpec, Store};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A vocabulary with a Zipf-like rank distribution, like the words of news text.
struct Vocab {
    words: Vec<String>,
    cum: Vec<f64>,
    /// For each of [`BUCKETS`] equal slices of `[0, total]`, the range of `cum` indexes a
    /// point in it can land on: the binary search then runs over a few entries only (the
    /// same answer as over the whole table, faster).
    buckets: Vec<(u32, u32)>,
}

const BUCKETS: usize = 1 << 14;

impl Vocab {
    fn new() -> Vocab {
        let syl = [
            "ka", "to", "ri", "men", "sa", "lo", "ve", "dan", "pri", "ul", "or", "est", "in", "ba",
            "tes", "gor", "ni", "al", "der", "mo",
        ];
        let mut rng = Rng(7);
        let mut words = Vec::new();
        for _ in 0..30_000 {
            let n = 1 + rng.below(3) as usize;
            words.push(
                (0..n)
                    .map(|_| syl[rng.below(syl.len() as u64) as usize])
                    .collect::<String>(),
            );
        }
        let mut cum = Vec::with_capacity(words.len());
        let mut total = 0.0;
        for r in 0..words.len() {
            total += 1.0 / (r as f64 + 2.0);
            cum.push(total);
        }
        let step = total / BUCKETS as f64;
        let buckets = (0..BUCKETS)
            .map(|b| {
                let lo = cum.partition_point(|&c| c < b as f64 * step);
                let hi = cum.partition_point(|&c| c < (b + 1) as f64 * step);
                (lo as u32, hi as u32)
            })
            .collect();
        Vocab {
            words,
            cum,
            buckets,
        }
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let total = self.cum[self.cum.len() - 1];
        let x = (rng.next() as f64 / u64::MAX as f64) * total;
        let b = ((x / total * BUCKETS as f64) as usize).min(BUCKETS - 1);
        let (lo, hi) = self.buckets[b];
        // Bucket bounds are computed with the same float steps; widen by one on each side
        // so a rounding difference cannot move the answer out of the range searched.
        let lo = (lo as usize).saturating_sub(1);
        let hi = (hi as usize + 1).min(self.cum.len());
        let i = (lo + self.cum[lo..hi].partition_point(|&c| c < x)).min(self.words.len() - 1);
        debug_assert_eq!(
            i,
            self.cum
                .partition_point(|&c| c < x)
                .min(self.words.len() - 1)
        );
        &self.words[i]
    }

    /// A sentence determined by its seed, with `names` mixed in.
    fn sentence(&self, seed: u64, names: &[String], out: &mut String) {
        let mut rng = Rng(seed);
        let n = 12 + rng.below(14) as usize;
        for i in 0..n {
            if i > 0 {
                out.push(' ');
            }
            if !names.is_empty() && i % 7 == 3 {
                out.push_str(&names[rng.below(names.len() as u64) as usize]);
            } else {
                out.push_str(self.word(&mut rng));
            }
        }
        out.push('.');
    }
}

/// A generated story: sentence seeds and the names it is about.
struct Story {
    seed: u64,
    sentences: usize,
    names: Vec<String>,
    hour: i64,
}

fn names(rng: &mut Rng) -> Vec<String> {
    let mut v: Vec<String> = (0..4)
        .map(|_| format!("Name{}", rng.below(2_000_000)))
        .collect();
    v.push(format!("{}.{}%", rng.below(90), rng.below(10)));
    v
}

fn story_text(v: &Vocab, s: &Story, from: usize, to: usize) -> String {
    let mut text = String::new();
    for i in from..to.min(s.sentences) {
        if i > from {
            text.push('\n');
        }
        v.sentence(s.seed.wrapping_add(i as u64 * 7919), &s.names, &mut text);
    }
    text
}

const FEEDS: u64 = 2000;
const SPAN_HOURS: i64 = 14 * 24;

/// The `i`-th article of the stream of `n`: (feed, article).
struct Stream {
    v: Vocab,
    rng: Rng,
    n: u64,
    made: u64,
    pending: Vec<(u64, Article)>,
    wires: Vec<Story>,
}

impl Stream {
    fn new(n: u64) -> Stream {
        Stream {
            v: Vocab::new(),
            rng: Rng(42),
            n,
            made: 0,
            pending: Vec::new(),
            wires: Vec::new(),
        }
    }

    fn article(&self, id: u64, title: String, text: String, hour: i64, desc_only: bool) -> Article {
        let published =
            DateTime::<Utc>::from_timestamp(1_750_000_000 + hour * 3600 + (id % 3600) as i64, 0);
        Article {
            guid: Some(format!("urn:bench:{id}")),
            key: format!("k{id}"),
            url: Some(format!("https://outlet.example/a/{id}")),
            title,
            content_html: if desc_only { None } else { Some(String::new()) },
            text,
            published,
            ..Default::default()
        }
    }

    fn next(&mut self) -> Option<(u64, Article)> {
        if let Some(p) = self.pending.pop() {
            return Some(p);
        }
        if self.made >= self.n {
            return None;
        }
        let id = self.made;
        let hour = (id as i64 * SPAN_HOURS) / self.n as i64;
        let roll = self.rng.below(100);
        let story = Story {
            seed: self.rng.next(),
            sentences: if self.rng.below(10) < 3 {
                3
            } else {
                6 + self.rng.below(20) as usize
            },
            names: names(&mut self.rng),
            hour,
        };
        let title = format!(
            "{} {} {} {} {} {}",
            story.names[0],
            self.v.word(&mut self.rng),
            self.v.word(&mut self.rng),
            story.names[1],
            self.v.word(&mut self.rng),
            story.names[4]
        );
        let feed = self.rng.below(FEEDS);
        if roll < 9 && story.sentences > 5 {
            // A wire story: 2–12 copies within 6 hours, trimmed, with chrome.
            let copies = 2 + self.rng.below(11) as usize;
            for c in 0..copies {
                let cid = self.made;
                self.made += 1;
                let keep = story.sentences - self.rng.below(3) as usize;
                let mut text = format!(
                    "Published: 12:{:02}, 14 July 2025\nLONDON (Wire) - {}\nAdvertisement",
                    c,
                    story_text(&self.v, &story, 0, keep)
                );
                let desc_only = self.rng.below(5) == 0;
                if desc_only {
                    text = text
                        .split_whitespace()
                        .skip(5)
                        .take(40)
                        .collect::<Vec<_>>()
                        .join(" ")
                        + "…";
                }
                let delay = self.rng.below(6) as i64;
                let a = self.article(
                    cid,
                    format!("{title} - Outlet {c}"),
                    text,
                    story.hour + delay,
                    desc_only,
                );
                self.pending.push(((feed + c as u64 * 37) % FEEDS, a));
            }
            self.wires.push(story);
            if self.wires.len() > 64 {
                self.wires.remove(0);
            }
        } else if roll < 14 && !self.wires.is_empty() {
            // A hard negative: another report of a recent wire story's event.
            let w = &self.wires[self.rng.below(self.wires.len() as u64) as usize];
            let other = Story {
                seed: self.rng.next(),
                sentences: w.sentences,
                names: w.names.clone(),
                hour: w.hour,
            };
            let text = story_text(&self.v, &other, 0, other.sentences);
            let a = self.article(id, title, text, w.hour + 1, false);
            self.made += 1;
            self.pending.push((feed, a));
        } else {
            let text = story_text(&self.v, &story, 0, story.sentences);
            let a = self.article(id, title, text, hour, story.sentences == 3);
            self.made += 1;
            self.pending.push((feed, a));
        }
        self.pending.pop()
    }
}

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time of the calling thread: what the stage costs on one core, whatever else the
/// machine runs.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Learns from and fingerprints a batch's articles as a fetched document's are: each
/// feed's articles of the batch together ([`tributary::dedup::FeedLines::learn_and_fingerprint`]),
/// with the lines the stage learned for that feed. The fingerprints are in batch order.
fn learn_and_fingerprint(dedup: &mut Dedup, batch: &[(u64, Article)]) -> Vec<Fingerprint> {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| batch[i].0);
    let mut prints = vec![Fingerprint::default(); batch.len()];
    for at in order.chunk_by(|&a, &b| batch[a].0 == batch[b].0) {
        let feed = batch[at[0]].0 as i64;
        let articles: Vec<&Article> = at.iter().map(|&i| &batch[i].1).collect();
        let mut lines = dedup.take_feed_lines(feed);
        for (&i, fp) in at.iter().zip(lines.learn_and_fingerprint(&articles)) {
            prints[i] = fp;
        }
        dedup.put_feed_lines(feed, lines);
    }
    prints
}

/// Time spent in each part of the stage.
#[derive(Default, Clone, Copy)]
struct Parts {
    /// Learning the feeds' lines and fingerprinting.
    fingerprint: Duration,
    place: Duration,
    apply: Duration,
}

impl Parts {
    fn total(&self) -> Duration {
        self.fingerprint + self.place + self.apply
    }
}

fn stage(n: u64) {
    let mut dedup = Dedup::new(Policy::default());
    let mut stream = Stream::new(n);
    let marks = [10_000u64, 100_000, 1_000_000];
    let mut seen = 0u64;
    let mut cpu = Duration::ZERO;
    let mut parts = Parts::default();
    // (articles seen when the window opened, its CPU time, its articles)
    let mut window: Option<(u64, Duration, u64)> = None;
    // The window's cost per article batch by batch: their median is what a burst of
    // another process's work on the shared cores moves least.
    let mut window_batches: Vec<f64> = Vec::new();
    // (articles seen, µs per article, median batch's µs per article)
    let mut at_marks: Vec<(u64, f64, f64)> = Vec::new();
    let mut next_story = 0i64;
    let mut merged = 0u64;
    let mut story_merges = 0u64;
    let mut words = 0u64;
    let mut batch: Vec<(u64, Article)> = Vec::with_capacity(50);
    let started = Instant::now();
    println!(
        "dedup stage, {n} articles over {} days, window 72h (learn + fingerprint + place + apply, as ingest runs them; CPU time of this thread)",
        SPAN_HOURS / 24
    );
    loop {
        batch.clear();
        while batch.len() < 50 {
            match stream.next() {
                Some(x) => batch.push(x),
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        let c0 = thread_cpu();
        let t = Instant::now();
        let prints = learn_and_fingerprint(&mut dedup, &batch);
        parts.fingerprint += t.elapsed();
        let mut staged = Staged::default();
        for ((feed, a), fp) in batch.iter().zip(prints) {
            let id = a.key[1..].parse::<i64>().unwrap_or(0);
            let tp = Instant::now();
            words += u64::from(fp.words);
            let published = a.published.map_or(0, |p| p.timestamp());
            let profile = Profile::new(id, *feed as i64, published, false, &fp);
            let placement = dedup.place(&profile, &fp, &staged);
            match placement.join {
                Some(c) => {
                    merged += 1;
                    // As ingest does: every story it matches is one, the oldest id survives.
                    let survivor = placement
                        .also
                        .iter()
                        .map(|o| o.story)
                        .fold(c.story, i64::min);
                    for o in placement.also.iter().map(|o| o.story).chain([c.story]) {
                        if o != survivor {
                            let wins = match (
                                dedup.representative(o, &staged),
                                dedup.representative(survivor, &staged),
                            ) {
                                (Some(t), Some(s)) => t.rank() > s.rank(),
                                _ => false,
                            };
                            staged.merge(o, survivor, wins);
                            story_merges += 1;
                        }
                    }
                    let better = dedup
                        .representative(survivor, &staged)
                        .is_some_and(|r| profile.rank() > r.rank());
                    if better {
                        staged.set_representative(survivor, profile, &fp);
                    } else if c.covered {
                        staged.add_title(survivor, fp.title_hash, published);
                    } else {
                        staged.add_copy(survivor, profile, &fp);
                    }
                }
                None => {
                    next_story += 1;
                    staged.set_representative(next_story, profile, &fp);
                }
            }
            parts.place += tp.elapsed();
        }
        let ta = Instant::now();
        dedup.apply(staged);
        parts.apply += ta.elapsed();
        let spent = thread_cpu().saturating_sub(c0);
        cpu += spent;
        let before = seen;
        seen += batch.len() as u64;
        if let Some((from, d, k)) = window.as_mut() {
            *d += spent;
            *k += batch.len() as u64;
            window_batches.push(spent.as_secs_f64() * 1e6 / batch.len() as f64);
            if *k >= 10_000 || seen >= n {
                let per = d.as_secs_f64() * 1e6 / *k as f64;
                window_batches.sort_by(f64::total_cmp);
                let median = window_batches[window_batches.len() / 2];
                println!(
                    "  at {:>9} stored: {per:6.1} µs/article ({:.0} articles/s; median batch {median:.1} µs/article), {} live stories in the index holding {} copies",
                    *from,
                    1e6 / per,
                    dedup.live_stories(),
                    dedup.indexed_copies()
                );
                at_marks.push((*from, per, median));
                window_batches.clear();
                window = None;
            }
        }
        for &m in &marks {
            let at = m.min(n.saturating_sub(10_000));
            if before < at && seen >= at && window.is_none() {
                window = Some((seen, Duration::ZERO, 0));
            }
        }
    }
    let wall = parts.total().as_secs_f64().max(1e-9);
    let share = |d: Duration| 100.0 * d.as_secs_f64() / wall;
    println!(
        "  total: {seen} articles, {merged} merged, {story_merges} stories merged into others; stage {:.1} s CPU = {:.0} articles/s on one core ({:.1} µs/article; wall {:.1} s incl. generation)",
        cpu.as_secs_f64(),
        seen as f64 / cpu.as_secs_f64().max(1e-9),
        cpu.as_secs_f64() * 1e6 / seen.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    println!(
        "  split: learn + fingerprint {:.0}%, place {:.0}%, apply {:.0}%; {:.0} words per article on average",
        share(parts.fingerprint),
        share(parts.place),
        share(parts.apply),
        words as f64 / seen.max(1) as f64
    );
    if let (Some(first), Some(last)) = (at_marks.first(), at_marks.last())
        && at_marks.len() > 1
    {
        println!(
            "  cost at {} stored / cost at {} stored: {:.2}x (target <= 1.5x at 1M / 10k; {:.2}x between the median batches)",
            last.0,
            first.0,
            last.1 / first.1,
            last.2 / first.2
        );
    }
    println!("  peak RSS (VmHWM): {:.0} MB", vm_hwm_mb());
}

fn restart(n: u64, keep: Option<&str>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = match keep {
        Some(p) => std::path::PathBuf::from(p),
        None => dir.path().join("bench.db"),
    };
    let mut store = Store::open(&path)?;
    let specs: Vec<FeedSpec> = (0..FEEDS)
        .map(|i| FeedSpec {
            url: format!("https://f{i}.example/rss"),
            name: format!("F{i}"),
            tags: vec![],
            full_text: Default::default(),
        })
        .collect();
    let ids = store.sync_feeds(&specs)?;
    let feed_ids: Vec<i64> = specs.iter().map(|s| ids[&s.url]).collect();
    let mut dedup = open_dedup(&store, &DedupConfig::default())?;
    let mut stream = Stream::new(n);
    let t = Instant::now();
    let mut done = 0u64;
    loop {
        let mut docs: std::collections::BTreeMap<u64, ParsedFeed> = Default::default();
        for _ in 0..5_000 {
            match stream.next() {
                Some((f, a)) => docs.entry(f).or_default().articles.push(a),
                None => break,
            }
        }
        if docs.is_empty() {
            break;
        }
        let before = done;
        for (f, doc) in docs {
            done += doc.articles.len() as u64;
            ingest_with(
                &mut store,
                &mut dedup,
                feed_ids[f as usize],
                &doc,
                Utc::now(),
            )?;
        }
        if done / 100_000 > before / 100_000 {
            println!(
                "  stored {done} articles ({:.0} articles/s so far)",
                done as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "stored {done} articles through ingest (parse excluded) in {:.1} s = {:.0} articles/s",
        t.elapsed().as_secs_f64(),
        done as f64 / t.elapsed().as_secs_f64()
    );
    drop(dedup);
    drop(store);
    let t = Instant::now();
    let store = Store::open(&path)?;
    let dedup = open_dedup(&store, &DedupConfig::default())?;
    println!(
        "restart: database opened and index rebuilt in {:.2} s ({} live stories)",
        t.elapsed().as_secs_f64(),
        dedup.live_stories()
    );
    Ok(())
}

/// Times what a restart does with an existing database: open it and rebuild the index.
/// First reads the fingerprints the rebuild reads, without building anything, to tell
/// SQLite's share from the index's.
fn load(path: &str) -> Result<()> {
    {
        let store = Store::open(std::path::Path::new(path))?;
        let t = Instant::now();
        // The rows `open_dedup` reads: the window before the newest copy, and at least the
        // newest stories the index keeps anyway.
        let window = Policy::default().window_secs;
        let newest = store.newest_fingerprint()?.unwrap_or(0);
        let since = match store.nth_newest_fingerprint(EVICT_FLOOR_STORIES)? {
            Some(t) => newest.saturating_sub(window.saturating_mul(2)).min(t),
            None => i64::MIN,
        };
        let mut rows = 0u64;
        store.for_each_live_fingerprint(since, |_| rows += 1)?;
        println!(
            "reading the fingerprints a restart reads: {rows} rows in {:.2} s (SQLite alone)",
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    let store = Store::open(std::path::Path::new(path))?;
    let opened = t.elapsed();
    let dedup = open_dedup(&store, &DedupConfig::default())?;
    println!(
        "restart of {path}: database opened in {:.2} s, index rebuilt in {:.2} s more ({} live stories); peak RSS {:.0} MB",
        opened.as_secs_f64(),
        (t.elapsed() - opened).as_secs_f64(),
        dedup.live_stories(),
        vm_hwm_mb()
    );
    Ok(())
}

/// Times learning and fingerprinting alone (no index) over `n` generated articles, in
/// batches of 50 as the stage runs them, and prints a checksum of every fingerprint and
/// profile made: a change that must not alter fingerprints shows the same checksum.
fn fingerprint_only(n: u64) {
    let mut stream = Stream::new(n);
    let mut articles: Vec<(u64, Article)> = Vec::with_capacity(n as usize);
    while let Some(x) = stream.next() {
        articles.push(x);
    }
    let mut dedup = Dedup::new(Policy::default());
    let mut sum = xxhash_rust::xxh3::Xxh3::new();
    let (mut print, mut profile) = (Duration::ZERO, Duration::ZERO);
    for batch in articles.chunks(50) {
        let c1 = thread_cpu();
        let prints = learn_and_fingerprint(&mut dedup, batch);
        let c2 = thread_cpu();
        let profiles: Vec<_> = prints
            .iter()
            .zip(batch)
            .map(|(fp, (feed, a))| {
                let published = a.published.map_or(0, |p| p.timestamp());
                Profile::new(0, *feed as i64, published, false, fp)
            })
            .collect();
        let c3 = thread_cpu();
        print += c2 - c1;
        profile += c3 - c2;
        for (fp, p) in prints.iter().zip(&profiles) {
            sum.update(format!("{fp:?}{p:?}").as_bytes());
        }
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / articles.len().max(1) as f64;
    println!(
        "learn + fingerprint {:.2} + profile {:.2} = {:.2} µs/article CPU over {} articles; checksum {:016x}",
        per(print),
        per(profile),
        per(print + profile),
        articles.len(),
        sum.digest()
    );
}

fn main() -> Result<()> {
    // As the `tributary` binary does.
    tributary::platform::keep_large_allocations_mapped();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--fingerprint") {
        fingerprint_only(
            args.get(i + 1)
                .and_then(|a| a.parse().ok())
                .unwrap_or(50_000),
        );
        return Ok(());
    }
    if let Some(i) = args.iter().position(|a| a == "--load") {
        return load(args.get(i + 1).map_or("", String::as_str));
    }
    let n = args
        .iter()
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(1_000_000);
    if let Some(i) = args.iter().position(|a| a == "--restart") {
        let m = args.get(i + 1).and_then(|a| a.parse().ok()).unwrap_or(n);
        let keep = args
            .iter()
            .position(|a| a == "--db")
            .and_then(|k| args.get(k + 1));
        return restart(m, keep.map(String::as_str));
    }
    stage(n);
    Ok(())
}
