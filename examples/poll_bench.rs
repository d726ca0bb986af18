//! Poll-cycle benchmark: 1,000 feeds × 50 entries served from 127.0.0.1 by a child process,
//! polled by the same code path as `tributary fetch` (Scheduler::poll_now): one cold cycle
//! (every feed new: fetch, parse, dedup, store) and one all-304 cycle (conditional GETs).
//! Prints wall time, CPU time (user + system of this process) and peak RSS, then the size
//! of the database the cycles wrote.
//!
//! `cargo run --release --example poll_bench [FEEDS] [ENTRIES]`; with
//! `TRIBUTARY_DATABASE_URL=postgres://…` (an empty database) the store is PostgreSQL.
//!
//! All feeds live on one host here, so `[fetch].per_host` is raised to `concurrency` (32);
//! real deployments spread feeds over many hosts.

use std::time::Instant;

use tributary::model::FetchStatus;

#[path = "common/bench_support.rs"]
mod bench_support;
use bench_support::{cpu_time, peak_rss_kib};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        return bench_support::serve_feeds(args[2].parse()?, args[3].parse()?);
    }
    let feeds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let entries: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);

    let (mut child, port) = bench_support::spawn_feed_server(feeds, entries)?;

    let polling = bench_support::polling(
        "concurrency = 32\nper_host = 32\n",
        (0..feeds).map(|i| {
            (
                format!("Outlet {i}"),
                format!("http://127.0.0.1:{port}/feed/{i}.xml"),
            )
        }),
    )?;
    let (scheduler, ids) = (&polling.scheduler, &polling.ids);
    let runtime = bench_support::runtime()?;

    println!("{feeds} feeds x {entries} entries, concurrency 32, per_host 32");
    for cycle in ["cold", "all-304"] {
        let cpu0 = cpu_time();
        let t0 = Instant::now();
        let reports = runtime.block_on(scheduler.poll_now(ids, |_| {}))?;
        let wall = t0.elapsed();
        let cpu = cpu_time().saturating_sub(cpu0);
        let count = |s: FetchStatus| reports.iter().filter(|r| r.status == s).count();
        let new: usize = reports.iter().map(|r| r.ingest.new_articles).sum();
        println!(
            "{cycle:8} wall {:6.3} s  cpu {:6.3} s  peak rss {:5} MiB  ok {} not-modified {} failed {} new articles {new}",
            wall.as_secs_f64(),
            cpu.as_secs_f64(),
            peak_rss_kib() / 1024,
            count(FetchStatus::Ok),
            count(FetchStatus::NotModified),
            reports.len() - count(FetchStatus::Ok) - count(FetchStatus::NotModified),
        );
    }
    // The database as the cycles left it (SQLite): its pages in use (WAL included), and the
    // search index's share of them.
    let location = polling.store.lock().location().clone();
    if let tributary::config::StoreLocation::Sqlite(db) = location {
        let conn = rusqlite::Connection::open(&db)?;
        let used: i64 = conn.query_row(
            "SELECT (p.page_count - f.freelist_count) * s.page_size \
             FROM pragma_page_count p, pragma_freelist_count f, pragma_page_size s",
            [],
            |r| r.get(0),
        )?;
        let index: i64 = conn
            .query_row(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'search%'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
        println!(
            "database {:.1} MiB in use, of which the search index {:.1} MiB",
            mib(used),
            mib(index)
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
