//! SIGKILL in the middle of a polling cycle leaves a database that `tributary check`
//! accepts, and the next start carries on from it: in the end every item of every feed
//! is stored, none twice.
//!
//! The writes go through the real write path: `tributary run` (fetch, parse, dedup, the
//! writer's group commit) and, at the same time, `tributary fetch` (the CLI's own writer)
//! poll feeds on 127.0.0.1 that grow by [`PER_ROUND`] items each round, and both are
//! killed with SIGKILL while one feed is still being answered, so the cycle is always cut
//! short, and after the daemon has committed some of the round's polls.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use support::{Daemon, Feed, Item, Reply, TestServer, Workspace, prose, wait_for};

/// Feeds answered at once.
const FEEDS: usize = 8;
/// One more feed, whose answer takes a minute in the killed rounds: the cycle is always
/// cut short by the kill.
const SLOW: usize = FEEDS;
/// Items each feed gains per round.
const PER_ROUND: usize = 20;
/// Rounds ended by SIGKILL.
const KILLS: usize = 4;
/// The daemon's polls of a round committed before it is killed.
const COMMITTED_BEFORE_KILL: usize = 3;

fn path(f: usize) -> String {
    format!("/f{f}.xml")
}

fn link(f: usize, k: usize) -> String {
    format!("https://crash.example/f{f}/{k}")
}

/// Feed `f` as it is in round `round`: items 0 .. (round + 1) × PER_ROUND, distinct prose.
fn document(f: usize, round: usize) -> String {
    let seed = |k: usize| (f * 100_000 + k) as u64;
    Feed::new(&format!("Feed {f}"))
        .link(&format!("https://crash.example/f{f}/"))
        .items((0..(round + 1) * PER_ROUND).map(|k| {
            Item::new(&prose(seed(k), 8), &link(f, k))
                .guid(&format!("f{f}-{k}"))
                .description(&prose(seed(k) + 50_000, 60))
        }))
        .rss()
}

/// Routes every feed as it is in `round`; `slow` delays the slow feed by a minute.
fn serve_round(server: &TestServer, round: usize, slow: bool) {
    for f in 0..=SLOW {
        let body = document(f, round);
        let reply = if f == SLOW && slow {
            Reply::Slow {
                delay: Duration::from_secs(60),
                body,
            }
        } else {
            Reply::Feed {
                body,
                etag: Some(format!("\"r{round}\"")),
                last_modified: None,
                headers: vec![],
            }
        };
        server.route(&path(f), reply);
    }
}

/// The links of every stored copy, as `stories --json` lists them (with repeats).
fn stored_links(ws: &Workspace) -> Vec<String> {
    let (code, out, err) = ws.run(&["stories", "--json", "--limit", "1000000"]);
    assert_eq!(code, 0, "stories: {err}");
    let stories: serde_json::Value = serde_json::from_str(&out).unwrap();
    stories
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["copies"].as_array().unwrap().iter())
        .map(|c| c["url"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts `links` holds no item twice and, per feed, a whole document: items 0..n with n
/// a multiple of [`PER_ROUND`] (each poll's items land together); returns items per feed.
fn assert_whole_documents(links: &[String], when: &str) -> BTreeMap<usize, usize> {
    let distinct: BTreeSet<&String> = links.iter().collect();
    assert_eq!(
        distinct.len(),
        links.len(),
        "{when}: an item is stored twice"
    );
    let mut per_feed: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for l in links {
        let rest = l.strip_prefix("https://crash.example/f").unwrap();
        let (f, k) = rest.split_once('/').unwrap();
        per_feed
            .entry(f.parse().unwrap())
            .or_default()
            .insert(k.parse().unwrap());
    }
    per_feed
        .into_iter()
        .map(|(f, items)| {
            let n = items.len();
            assert!(
                n % PER_ROUND == 0 && items.iter().copied().eq(0..n),
                "{when}: feed {f} holds part of a document: {items:?}"
            );
            (f, n)
        })
        .collect()
}

/// The daemon's log lines saying a poll's document was written (logged after the commit).
fn committed_polls(daemon: &Daemon) -> usize {
    daemon
        .log_lines()
        .iter()
        .filter(|l| l.contains("fetched") && l.contains("http=200"))
        .count()
}

#[test]
fn sigkill_mid_cycle_leaves_a_consistent_database_and_the_next_start_stores_every_item_once() {
    let server = TestServer::start();
    let mut config = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\npath = \"t.db\"\n\n\
         [fetch]\nschedule = \"* * * * * *\"\ntimeout = \"120s\"\nper_host = 4\n",
    );
    for f in 0..=SLOW {
        config.push_str(&format!(
            "\n[[feeds]]\nname = \"Feed {f}\"\nurl = \"{}\"\n",
            server.url(&path(f))
        ));
    }
    let ws = Workspace::with_config(&config);

    let mut stored_before = 0;
    for round in 0..KILLS {
        serve_round(&server, round, true);
        let daemon = Daemon::start(&ws.config());
        let mut cli = ws
            .command(&["fetch"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            wait_for(Duration::from_secs(90), || committed_polls(&daemon)
                >= COMMITTED_BEFORE_KILL),
            "round {round}: the daemon committed no polls:\n{}",
            daemon.log_text()
        );
        daemon.kill();
        cli.kill().unwrap();
        cli.wait().unwrap();

        let when = format!("after the kill of round {round}");
        let (code, out, err) = ws.run(&["check"]);
        assert_eq!(code, 0, "{when}: check fails:\n{out}{err}");
        let per_feed = assert_whole_documents(&stored_links(&ws), &when);
        let stored: usize = per_feed.values().sum();
        assert!(
            stored > stored_before,
            "{when}: no progress ({stored} items)"
        );
        assert!(
            per_feed.get(&SLOW).copied().unwrap_or(0) <= round * PER_ROUND,
            "{when}: the slow feed's round was stored before it was answered"
        );
        println!("{when}: {stored} items stored, per feed {per_feed:?}");
        stored_before = stored;
    }

    // The next start, with every feed answering, carries on and stores everything.
    serve_round(&server, KILLS - 1, false);
    let daemon = Daemon::start(&ws.config());
    let every = (SLOW + 1) * KILLS * PER_ROUND;
    let mut links = Vec::new();
    let done = wait_for(Duration::from_secs(120), || {
        links = stored_links(&ws);
        links.len() >= every
    });
    let status = daemon.stop(Duration::from_secs(30));
    assert!(done, "{} of {every} items stored", links.len());
    assert!(status.success(), "{status:?}");
    let per_feed = assert_whole_documents(&stored_links(&ws), "at the end");
    assert_eq!(
        per_feed,
        (0..=SLOW).map(|f| (f, KILLS * PER_ROUND)).collect(),
        "every item of every feed"
    );
    let (code, out, err) = ws.run(&["check"]);
    assert_eq!(code, 0, "{out}{err}");
}
