//! tributary beside Python's lemon24/reader, the feed library a Python user would pick, on
//! the same feeds in one run: 200 outlets × 50 entries served from 127.0.0.1 by a child
//! process with ETag/Last-Modified; a cold cycle (every feed new) and an all-304 cycle.
//! tributary is timed as the whole `tributary fetch` process (start, config, database,
//! polls, exit), reader as its `update_feeds(workers=16, scheduled=False)` call (reader's
//! import and `make_reader` are not counted). `[fetch] per_host` is 16 to match reader's 16
//! workers. Prints each side's time and the ratios.
//!
//! `cargo build --release && cargo run --release --example reader_bench [FEEDS] [ENTRIES] [RUNS]`
//!
//! Needs `pip install reader==3.26`; without it, prints tributary's side and says so.
//! Each figure is the best of RUNS (default 3) fresh runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[path = "common/bench_support.rs"]
mod bench_support;

/// reader's side: adds the feeds, then times two updates. Prints `cold all304` in seconds.
const READER_SCRIPT: &str = r#"
import sys, time
from reader import make_reader
db, urls = sys.argv[1], sys.argv[2:]
r = make_reader(db)
for u in urls:
    r.add_feed(u)
times = []
for _ in range(2):
    t = time.perf_counter()
    r.update_feeds(workers=16, scheduled=False)
    times.append(time.perf_counter() - t)
n = sum(1 for _ in r.get_entries())
print(times[0], times[1], n)
"#;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return bench_support::serve_feeds(args[2].parse()?, args[3].parse()?);
    }
    let feeds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let entries: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);
    let runs: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(3);
    let tributary = tributary_binary()?;

    let (mut child, port) = bench_support::spawn_feed_server(feeds, entries)?;
    let urls: Vec<String> = (0..feeds)
        .map(|i| format!("http://127.0.0.1:{port}/feed/{i}.xml"))
        .collect();

    println!("{feeds} feeds x {entries} entries from 127.0.0.1, best of {runs} runs");
    let mut ours = (Duration::MAX, Duration::MAX);
    let mut theirs: Option<(Duration, Duration)> = None;
    for _ in 0..runs {
        let (cold, warm) = tributary_cycles(&tributary, &urls)?;
        ours = (ours.0.min(cold), ours.1.min(warm));
        match reader_cycles(&urls) {
            Ok((cold, warm)) => {
                let best = theirs.get_or_insert((cold, warm));
                *best = (best.0.min(cold), best.1.min(warm));
            }
            Err(e) => {
                println!("reader: not measured ({e:#}); pip install reader==3.26");
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    let s = |d: Duration| d.as_secs_f64();
    println!(
        "tributary fetch (whole process)  cold {:6.3} s  all-304 {:6.3} s",
        s(ours.0),
        s(ours.1)
    );
    if let Some(r) = theirs {
        println!(
            "reader update_feeds(workers=16)  cold {:6.3} s  all-304 {:6.3} s",
            s(r.0),
            s(r.1)
        );
        println!(
            "tributary is {:.1}x reader cold, {:.1}x reader all-304",
            s(r.0) / s(ours.0),
            s(r.1) / s(ours.1)
        );
    }
    Ok(())
}

/// The release binary beside this example (`target/release/examples/..` → `target/release`).
fn tributary_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("tributary"))
        .context("no folder above the example")?;
    if !bin.is_file() {
        bail!(
            "{} is missing: run `cargo build --release` first",
            bin.display()
        );
    }
    Ok(bin)
}

/// Times `tributary fetch` twice on a fresh database: cold, then all-304.
fn tributary_cycles(bin: &Path, urls: &[String]) -> Result<(Duration, Duration)> {
    let dir = tempfile::tempdir()?;
    let mut text = String::from(
        "[storage]\npath = \"bench.db\"\n\n[fetch]\nconcurrency = 32\nper_host = 16\n",
    );
    for (i, url) in urls.iter().enumerate() {
        text.push_str(&format!(
            "\n[[feeds]]\nname = \"Outlet {i}\"\nurl = \"{url}\"\n"
        ));
    }
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, text)?;
    let cycle = || -> Result<Duration> {
        let t = Instant::now();
        let out = Command::new(bin)
            .arg("--config")
            .arg(&config)
            .arg("fetch")
            .output()?;
        let took = t.elapsed();
        if !out.status.success() {
            bail!(
                "tributary fetch failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(took)
    };
    Ok((cycle()?, cycle()?))
}

/// Times reader's two updates on a fresh database.
fn reader_cycles(urls: &[String]) -> Result<(Duration, Duration)> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("reader_side.py");
    std::fs::write(&script, READER_SCRIPT)?;
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir.path().join("reader.sqlite"))
        .args(urls)
        .output()
        .context("cannot start python3")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("{}", err.lines().last().unwrap_or("python3 failed"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<f64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match f[..] {
        [cold, warm, _entries] => {
            Ok((Duration::from_secs_f64(cold), Duration::from_secs_f64(warm)))
        }
        _ => bail!("unexpected output from reader's side: {text}"),
    }
}
