//! Several `tributary run` daemons on one PostgreSQL database (ARCHITECTURE.md, "Several
//! daemons"): each due feed is polled by one of them (leases), one places copies into
//! stories and the others hand their documents over to it, and the stories are the ones a
//! single daemon on SQLite makes of the same feeds.
//!
//! Each test makes a database of its own on the server at 127.0.0.1:5432 and drops it after;
//! without a server the tests are skipped with the reason printed, unless
//! `TRIBUTARY_CI_STRICT` is set, when they fail.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{Daemon, Feed, Item, Reply, TestServer, prose, tributary};
use tributary::store::postgres::scratch::ScratchDatabase;

/// Feeds served, each answering after this long: long enough that the first daemon is still
/// polling when the others start.
const FEED_DELAY: Duration = Duration::from_millis(150);

/// `[fetch] lease` of the test that kills daemons: how long the feeds a killed daemon was
/// polling wait for another (longer than a poll takes here, even in a debug build behind
/// a busy placer).
const SHORT_LEASE: &str = "lease = \"8s\"";

/// `feeds` outlets on one server. Each carries a story of its own and one of the wire
/// stories, which every third outlet shares (outlets i, i + feeds/3 and i + 2·feeds/3 carry
/// wire story i): merges across feeds that different daemons poll.
fn serve(feeds: usize) -> TestServer {
    let server = TestServer::start();
    let wires = feeds / 3;
    for i in 0..feeds {
        let w = i % wires;
        let body = Feed::new(&format!("Outlet {i}"))
            .link(&format!("https://o{i}.example/"))
            .description("d")
            .item(
                Item::new(
                    &format!("Outlet {i} reports on its own town"),
                    &format!("https://o{i}.example/own"),
                )
                .guid(&format!("o{i}-own"))
                .published("Mon, 14 Jul 2025 09:00:00 GMT")
                .description(&prose(10_000 + i as u64, 120)),
            )
            .item(
                Item::new(
                    &format!("Wire story number {w} about the harbour"),
                    &format!("https://o{i}.example/wire/{w}"),
                )
                .guid(&format!("o{i}-wire-{w}"))
                .published("Mon, 14 Jul 2025 10:00:00 GMT")
                .description(&prose(w as u64, 140)),
            )
            .rss();
        server.route(
            &format!("/f{i}"),
            Reply::Slow {
                delay: FEED_DELAY,
                body,
            },
        );
    }
    server
}

/// A config in `dir` with `storage` as its `[storage]` table and every feed of `server`.
/// `lease` is the `[fetch] lease` line, or empty for the default.
fn write_config(
    dir: &Path,
    storage: &str,
    server: &TestServer,
    feeds: usize,
    lease: &str,
) -> PathBuf {
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\n{storage}\n\n\
         [fetch]\nschedule = \"0 0 1 1 *\"\ntimeout = \"10s\"\nconcurrency = 8\nper_host = 8\n\
         {lease}\n"
    );
    for i in 0..feeds {
        text.push_str(&format!(
            "\n[[feeds]]\nname = \"Outlet {i}\"\nurl = \"{}\"\n",
            server.url(&format!("/f{i}"))
        ));
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The stories, each as the set of its copies' links: what is merged with what, whatever
/// the ids.
fn stories(config: &Path) -> BTreeSet<BTreeSet<String>> {
    let (code, out, err) = tributary(config, &["stories", "--json", "--limit", "100000"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    doc.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["copies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["url"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

/// The `check` summary line ("…: ok, N feeds, N articles, N stories").
fn check(config: &Path) -> String {
    let (_, out, _) = tributary(config, &["check"]);
    out.lines().last().unwrap_or_default().to_string()
}

/// Feeds in the tests' cold cycle.
const FEEDS: usize = 300;

/// The `check` summary once the cold cycle is stored: two copies per feed, a story of each
/// outlet's own and one per wire story.
fn cycle_done() -> String {
    format!(
        "ok, {FEEDS} feeds, {} articles, {} stories",
        2 * FEEDS,
        FEEDS + FEEDS / 3
    )
}

/// The feeds served, a database of its own, and folders for a PostgreSQL config (`pg`) and
/// an SQLite one.
struct Cycle {
    db: ScratchDatabase,
    server: TestServer,
    dirs: [tempfile::TempDir; 2],
    pg: PathBuf,
}

impl Cycle {
    /// None (the reason printed) without a PostgreSQL server; `lease` as for [`write_config`].
    fn new(test: &str, lease: &str) -> Option<Cycle> {
        let db = ScratchDatabase::create(test)?;
        let server = serve(FEEDS);
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let url = format!("url = \"{}\"", db.url().expose());
        let pg = write_config(dirs[0].path(), &url, &server, FEEDS, lease);
        Some(Cycle {
            db,
            server,
            dirs,
            pg,
        })
    }
}

#[test]
fn three_daemons_poll_each_feed_once_and_merge_as_one_sqlite_daemon_does() {
    let Some(Cycle {
        db: _db,
        server,
        dirs,
        pg,
    }) = Cycle::new("postgres_three_daemons", "")
    else {
        return;
    };
    let feeds = FEEDS;
    let daemons: Vec<Daemon> = (0..3).map(|_| Daemon::start(&pg)).collect();
    let want = cycle_done();
    let mut summary = String::new();
    let done = support::wait_for(support::COMMAND_LIMIT, || {
        summary = check(&pg);
        summary.ends_with(&want)
    });
    let logs: Vec<String> = daemons.iter().map(Daemon::log_text).collect();
    assert!(done, "{summary}\n{}", logs.join("\n-----\n"));

    // Each feed was asked for once, and the polls were shared.
    for i in 0..FEEDS {
        assert_eq!(server.hits(&format!("/f{i}")), 1, "/f{i}");
    }
    let polled: Vec<usize> = logs
        .iter()
        .map(|log| log.lines().filter(|l| l.contains(" fetched")).count())
        .collect();
    assert_eq!(polled.iter().sum::<usize>(), feeds, "{polled:?}");
    assert!(
        polled.iter().filter(|&&n| n > 0).count() >= 2,
        "one daemon polled everything: {polled:?}"
    );
    // Each poll's line counts its entries: new ones where the placer polled, handed over
    // where another daemon did.
    let counted = regex::Regex::new(r" fetched .*(new|handed_over)=(\d+)").unwrap();
    let entries: usize = logs
        .iter()
        .flat_map(|log| counted.captures_iter(log))
        .map(|c| c[2].parse::<usize>().unwrap())
        .sum();
    assert_eq!(entries, 2 * FEEDS, "{}", logs.join("\n-----\n"));
    assert!(logs.iter().any(|log| log.contains("handed_over=2")));

    // One SQLite daemon's stories of the same FEEDS.
    let lite = write_config(dirs[1].path(), "path = \"t.db\"", &server, feeds, "");
    let (code, out, err) = tributary(&lite, &["fetch"]);
    assert_eq!(code, 0, "{out}{err}");
    let one = stories(&lite);
    assert_eq!(one.len(), FEEDS + FEEDS / 3);
    assert_eq!(stories(&pg), one);
    // Every daemon serves the same merged feed, byte for byte.
    let bodies: Vec<(u16, String)> = daemons
        .iter()
        .map(|d| support::http_get(&d.addr(), "/feed.json?limit=500"))
        .collect();
    assert_eq!(bodies[0].0, 200, "{}", bodies[0].1);
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    for d in daemons {
        assert!(d.stop(Duration::from_secs(30)).success());
    }
}

/// kill -9 the placer and a fetching daemon in the middle of the cold cycle: the survivor
/// takes the placer role, reloads the index, places what the others handed over and polls
/// the FEEDS whose leases ran out; every article is stored once, the stories are one SQLite
/// daemon's, `check` passes, and the survivor serves the merged feed throughout.
#[test]
fn a_placer_and_a_fetcher_killed_mid_cycle_lose_nothing() {
    let Some(Cycle {
        db: _db,
        server,
        dirs,
        pg,
    }) = Cycle::new("postgres_daemons_killed", SHORT_LEASE)
    else {
        return;
    };
    let feeds = FEEDS;
    let mut daemons: Vec<Daemon> = (0..3).map(|_| Daemon::start(&pg)).collect();
    // Mid-cycle: some FEEDS polled, most not.
    let started = support::wait_for(support::COMMAND_LIMIT, || server.seen().len() >= FEEDS / 4);
    assert!(started, "{}", daemons[0].log_text());
    let placer = daemons
        .iter()
        .position(|d| {
            d.log_text()
                .contains("placing copies into stories from now on")
        })
        .expect("a placer");
    let fetcher = (0..3).find(|&i| i != placer).unwrap();
    let (first, second) = (placer.max(fetcher), placer.min(fetcher));
    daemons.remove(first).kill();
    daemons.remove(second).kill();
    let survivor = daemons.pop().unwrap();
    let addr = survivor.addr();

    let want = cycle_done();
    let mut summary = String::new();
    let done = support::wait_for(support::COMMAND_LIMIT, || {
        let (status, body) = support::http_get(&addr, "/feed.json?limit=5");
        assert_eq!(status, 200, "{body}");
        summary = check(&pg);
        summary.ends_with(&want)
    });
    assert!(done, "{summary}\n{}", survivor.log_text());
    assert!(
        survivor
            .log_text()
            .contains("placing copies into stories from now on"),
        "{}",
        survivor.log_text()
    );
    // Every feed was polled; again only those the dead were polling.
    let again: Vec<usize> = (0..FEEDS)
        .filter(|i| server.hits(&format!("/f{i}")) != 1)
        .collect();
    for i in 0..FEEDS {
        assert!(server.hits(&format!("/f{i}")) >= 1, "/f{i} never polled");
    }
    assert!(again.len() <= 2 * 8, "polled twice: {again:?}");

    let lite = write_config(dirs[1].path(), "path = \"t.db\"", &server, feeds, "");
    let (code, out, err) = tributary(&lite, &["fetch"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(stories(&pg), stories(&lite));
    assert!(survivor.stop(Duration::from_secs(30)).success());
}
