//! Several daemons on one PostgreSQL database: FEEDS × ENTRIES generated feeds served from
//! 127.0.0.1 by a child process, polled cold by N `tributary run` daemons (the release
//! binary beside this example) sharing a fresh database on 127.0.0.1:5432. Prints the wall
//! time from the daemons' start until every article is stored (placed into stories), the
//! placing rate that makes, how the polls were shared and each daemon's peak RSS.
//!
//! `cargo build --release && cargo run --release --example daemons_bench -- [DAEMONS] [FEEDS] [ENTRIES]`
//! (defaults 2, 200, 50); run it with 1 and with 2 to compare.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tributary::config::StoreLocation;
use tributary::store::Store;
use tributary::store::postgres::scratch::ScratchDatabase;

#[path = "common/bench_support.rs"]
mod bench_support;

/// How long the cold cycle may take before the benchmark gives up.
const LIMIT: Duration = Duration::from_secs(900);

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return bench_support::serve_feeds(args[2].parse()?, args[3].parse()?);
    }
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (daemons, feeds, entries) = (arg(1, 2), arg(2, 200), arg(3, 50));
    let binary = std::env::current_exe()?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|release| release.join("tributary"))
        .context("no folder above the example")?;
    if !binary.exists() {
        bail!(
            "{} is missing: cargo build --release first",
            binary.display()
        );
    }
    let db = ScratchDatabase::create("daemons_bench").context("no PostgreSQL at 127.0.0.1:5432")?;
    let (mut server, port) = bench_support::spawn_feed_server(feeds, entries)?;
    let dir = tempfile::tempdir()?;
    let mut config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\nurl = \"{}\"\n\n\
         [fetch]\nschedule = \"0 0 1 1 *\"\nconcurrency = 32\nper_host = 32\n",
        db.url().expose()
    );
    for i in 0..feeds {
        config.push_str(&format!(
            "\n[[feeds]]\nname = \"Outlet {i}\"\nurl = \"http://127.0.0.1:{port}/feed/{i}.xml\"\n"
        ));
    }
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, config)?;

    let start = Instant::now();
    let mut children: Vec<(Child, Arc<Mutex<usize>>)> = Vec::new();
    for _ in 0..daemons {
        let mut child = Command::new(&binary)
            .arg("--config")
            .arg(&path)
            .arg("run")
            .env("RUST_LOG", "info")
            .env_remove("TRIBUTARY_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let polled = Arc::new(Mutex::new(0usize));
        let count = polled.clone();
        let stderr = child.stderr.take().context("no stderr")?;
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(" fetched ") {
                    *count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                }
            }
        });
        children.push((child, polled));
    }
    let want = (feeds * entries) as i64;
    let outcome = (|| {
        // Opening migrates under the daemons' lock: it waits for their schema, or makes it.
        let store = Store::open_location(&StoreLocation::Postgres(db.url().clone()))?;
        loop {
            let (_, articles, stories) = store.counts()?;
            if articles >= want {
                return Ok((start.elapsed(), stories));
            }
            if start.elapsed() > LIMIT {
                bail!("{articles} of {want} articles after {LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })();
    let shares: Vec<usize> = children
        .iter()
        .map(|(_, n)| *n.lock().unwrap_or_else(|e| e.into_inner()))
        .collect();
    // Each daemon's peak resident memory, read before it is stopped.
    let peaks: Vec<String> = children
        .iter()
        .map(|(child, _)| {
            std::fs::read_to_string(format!("/proc/{}/status", child.id()))
                .ok()
                .and_then(|status| {
                    status
                        .lines()
                        .find(|l| l.starts_with("VmHWM:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|kb| kb.parse::<u64>().ok())
                })
                .map_or_else(|| "?".to_string(), |kb| format!("{} MiB", kb / 1024))
        })
        .collect();
    for (child, _) in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = server.kill();
    let (wall, stories) = outcome?;
    println!(
        "{daemons} daemons, {feeds} feeds x {entries} entries on PostgreSQL: cold cycle {:.2} s \
         ({want} articles, {stories} stories; placed {:.0} articles/s), polls per daemon \
         {shares:?}, peak RSS per daemon {peaks:?}",
        wall.as_secs_f64(),
        want as f64 / wall.as_secs_f64()
    );
    Ok(())
}
