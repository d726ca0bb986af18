//! The binary on a PostgreSQL store (`[storage] url`, or `TRIBUTARY_DATABASE_URL`) gives what
//! it gives on SQLite: the same feeds fetched into both, then `stories --json`, `export`,
//! `feeds list --json` and `check` compared; and `tributary run` on PostgreSQL serves the
//! river page and the Atom feed, and keeps the URL's password out of what it shows.
//!
//! Each test makes a database of its own on the server at 127.0.0.1:5432 and drops it after
//! (`tributary::store::postgres::scratch`); without a server the tests are skipped with the
//! reason printed, unless `TRIBUTARY_CI_STRICT` is set, when they fail.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{Daemon, Feed, Item, TestServer, feed, http_get, prose, tributary};
use tributary::store::postgres::scratch::ScratchDatabase;

/// Three outlets: a wire story that A and B both carry (one merged story), and an item of
/// each outlet's own.
fn serve_feeds() -> TestServer {
    let server = TestServer::start();
    let wire = prose(7, 140);
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        let mut f = Feed::new(name)
            .link(&format!("https://{name}.example/"))
            .description("d")
            .item(
                Item::new(
                    &format!("{name}: own story"),
                    &format!("https://{name}.example/own"),
                )
                .guid(&format!("{name}-own"))
                .published(&format!("Mon, 14 Jul 2025 09:0{i}:00 GMT"))
                .description(&prose(100 + i as u64, 120)),
            );
        if name != "c" {
            f = f.item(
                Item::new(
                    "Harbour council approves the plan",
                    &format!("https://{name}.example/wire"),
                )
                .guid(&format!("{name}-wire"))
                .published(&format!("Mon, 14 Jul 2025 10:0{i}:00 GMT"))
                .description(&wire),
            );
        }
        server.route(&format!("/{name}"), feed(f.rss()));
    }
    server
}

/// A config in `dir` with `storage` as its `[storage]` table and the three feeds.
fn write_config(dir: &Path, storage: &str, server: &TestServer) -> PathBuf {
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\n{storage}\n\n[fetch]\nschedule = \"0 0 1 1 *\"\ntimeout = \"10s\"\n"
    );
    for name in ["a", "b", "c"] {
        text.push_str(&format!(
            "\n[[feeds]]\nname = \"{}\"\nurl = \"{}\"\n",
            name.to_uppercase(),
            server.url(&format!("/{name}"))
        ));
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The three feeds served, and a config for them on each backend: SQLite in a folder,
/// PostgreSQL in a database of its own.
struct Pair {
    db: ScratchDatabase,
    server: TestServer,
    lite: PathBuf,
    pg: PathBuf,
    _dirs: [tempfile::TempDir; 2],
}

impl Pair {
    /// None (the reason printed) when there is no PostgreSQL server to test against.
    fn new(test: &str) -> Option<Pair> {
        let db = ScratchDatabase::create(test)?;
        let server = serve_feeds();
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let lite = write_config(dirs[0].path(), "path = \"t.db\"", &server);
        let url = format!("url = \"{}\"", db.url().expose());
        let pg = write_config(dirs[1].path(), &url, &server);
        Some(Pair {
            db,
            server,
            lite,
            pg,
            _dirs: dirs,
        })
    }
}

/// `text` without what differs between two databases filled the same way: the instance id
/// in entry ids, and the times of this run (the feeds' items are dated 2025).
fn normalised(text: &str) -> String {
    let instance = regex::Regex::new(r"urn:tributary:[0-9a-f]{16}:").unwrap();
    let now = regex::Regex::new(
        r"(20(2[6-9]|[3-9]\d)-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?( UTC|Z|[+-]\d\d:\d\d)?)|((Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} 20(2[6-9]|[3-9]\d) \d\d:\d\d:\d\d [+-]?\w+)",
    )
    .unwrap();
    let text = instance.replace_all(text, "urn:tributary:INSTANCE:");
    now.replace_all(&text, "NOW").into_owned()
}

/// The `check` summary without the database's name: "ok, 3 feeds, …".
fn check_summary(stdout: &str) -> String {
    let last = stdout.lines().last().unwrap_or("");
    last.split_once(": ")
        .map_or(last, |(_, rest)| rest)
        .to_string()
}

#[test]
fn fetch_then_stories_export_feeds_list_and_check_are_the_same_on_postgres_and_sqlite() {
    let Some(pair) = Pair::new("postgres_cli_same_results") else {
        return;
    };
    let (lite, pg) = (&pair.lite, &pair.pg);

    // One feed at a time: ids are handed out in the order copies are stored, the same on
    // both databases only when the feeds are stored in the same order.
    let timing = regex::Regex::new(r"\(\d+ bytes in \d+ ms\)").unwrap();
    for name in ["A", "B", "C"] {
        let (code, lite_out, err) = tributary(lite, &["fetch", name]);
        assert_eq!(code, 0, "{lite_out}{err}");
        let (code, pg_out, err) = tributary(pg, &["fetch", name]);
        assert_eq!(code, 0, "{pg_out}{err}");
        assert_eq!(
            timing.replace_all(&pg_out, ""),
            timing.replace_all(&lite_out, "")
        );
    }
    // Again: the validators stored in each database make every feed answer 304.
    for config in [lite, pg] {
        let (code, out, err) = tributary(config, &["fetch"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            out.contains("3 feeds: 0 ok, 3 not modified, 0 failed"),
            "{out}"
        );
    }

    for args in [
        &["stories", "--json"][..],
        &["stories", "--search", "harbour", "--json"],
        &[
            "stories",
            "--search",
            "\"council approves\" -nothing",
            "--json",
        ],
        &["stories", "--search", "approv*", "--json"],
        &["stories", "--search", "own story", "--json"],
        &["export"],
        &["export", "--format", "json"],
        &["feeds", "list", "--json"],
    ] {
        let (lite_code, lite_out, lite_err) = tributary(lite, args);
        let (pg_code, pg_out, pg_err) = tributary(pg, args);
        assert_eq!((lite_code, pg_code), (0, 0), "{args:?}: {lite_err}{pg_err}");
        assert_eq!(normalised(&pg_out), normalised(&lite_out), "{args:?}");
    }
    let (_, stories, _) = tributary(pg, &["stories", "--json"]);
    let stories: serde_json::Value = serde_json::from_str(&stories).unwrap();
    let merged = stories
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["copies"].as_array().unwrap().len() == 2)
        .expect("the wire story, merged");
    assert_eq!(merged["title"], "Harbour council approves the plan");

    let (lite_code, lite_out, _) = tributary(lite, &["check"]);
    let (pg_code, pg_out, pg_err) = tributary(pg, &["check"]);
    assert_eq!((lite_code, pg_code), (0, 0), "{pg_out}{pg_err}");
    assert_eq!(check_summary(&pg_out), check_summary(&lite_out));
    assert_eq!(check_summary(&pg_out), "ok, 3 feeds, 5 articles, 4 stories");
}

#[test]
fn run_on_postgres_serves_the_river_and_the_atom_feed_without_showing_the_password() {
    let Some(db) = ScratchDatabase::create("postgres_cli_run") else {
        return;
    };
    let server = serve_feeds();
    let dir = tempfile::tempdir().unwrap();
    // The URL comes from the environment, with a password the server does not check
    // (trust authentication): the config names no storage at all.
    let config = write_config(dir.path(), "", &server);
    let url = db
        .url()
        .expose()
        .replacen("postgres@", "postgres:s3cret-pw@", 1);
    // The feeds were never polled, so the daemon polls them at once: its writer stores
    // them in PostgreSQL.
    let daemon = Daemon::start_with(&config, &[("TRIBUTARY_DATABASE_URL", &url)]);
    let addr = daemon.addr();
    let mut river = String::new();
    let polled = support::wait_for(support::COMMAND_LIMIT, || {
        let (status, body) = http_get(&addr, "/");
        river = body;
        status == 200
            && ["a: own story", "b: own story", "c: own story"]
                .iter()
                .all(|t| river.contains(t))
            && river.contains("Harbour council approves the plan")
    });
    assert!(polled, "{river}\n{}", daemon.log_text());
    assert!(
        river.contains("Harbour council approves the plan"),
        "{river}"
    );
    let (status, atom) = http_get(&addr, "/feed.atom");
    assert_eq!(status, 200, "{atom}");
    assert_eq!(atom.matches("<entry>").count(), 4, "{atom}");
    for path in ["/healthz", "/sources", "/metrics"] {
        let (status, body) = http_get(&addr, path);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.contains("s3cret"), "{path}: {body}");
    }
    // Older pages walk the same four stories, each once.
    let ids = |doc: &str| -> Vec<String> {
        doc.split("<id>")
            .skip(2)
            .filter_map(|p| p.split("</id>").next())
            .map(str::to_string)
            .collect()
    };
    let (_, first) = http_get(&addr, "/feed.atom?limit=2");
    let next = first
        .split("rel=\"next\"")
        .next()
        .and_then(|head| head.rsplit("href=\"").next())
        .and_then(|h| h.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .unwrap_or_default();
    let path = next.find("/feed.atom").map(|i| &next[i..]).unwrap_or("");
    assert!(path.contains("before="), "{first}");
    let (status, second) = http_get(&addr, path);
    assert_eq!(status, 200, "{second}");
    let mut walked = ids(&first);
    walked.extend(ids(&second));
    let mut all = ids(&atom);
    all.sort();
    walked.sort();
    assert_eq!(walked, all, "{first}\n{second}");
    // A search, and a saved search's feed.
    let (status, body) = http_get(&addr, "/feed.atom?q=%22council%20approves%22");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.matches("<entry").count(), 1, "{body}");
    assert!(body.contains("Harbour council approves the plan"), "{body}");
    let (status, body) = http_get(&addr, "/feed.json?q=zzzunknownword");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"items\":[]"), "{body}");
    let log = daemon.log_text();
    assert!(!log.contains("s3cret"), "{log}");
    assert!(log.contains(&format!("database={}", db.url())), "{log}");
    let status = daemon.stop(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    assert!(!dir.path().join("tributary.db").exists());
}

#[test]
fn migrate_store_copies_an_sqlite_store_that_then_reads_the_same_on_postgres() {
    let Some(pair) = Pair::new("postgres_cli_migrate_store") else {
        return;
    };
    let (db, server, lite, pg) = (&pair.db, &pair.server, &pair.lite, &pair.pg);
    let (code, out, err) = tributary(lite, &["fetch"]);
    assert_eq!(code, 0, "{out}{err}");

    let to = db
        .url()
        .expose()
        .replacen("postgres@", "postgres:s3cret-pw@", 1);
    let (code, out, err) = tributary(lite, &["migrate-store", "--to", &to]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every table's count matches"), "{out}");
    assert!(
        out.contains("articles") && out.contains("5 ->         5  ok"),
        "{out}"
    );
    assert!(
        !out.contains("s3cret") && !err.contains("s3cret"),
        "{out}{err}"
    );

    // The same stories, the same documents byte for byte (the instance id came along).
    // Search too: the copies were indexed on the way in.
    for args in [
        &["stories", "--json"][..],
        &["stories", "--search", "harbour", "--json"],
        &["export"],
        &["feeds", "list"],
    ] {
        let (_, lite_out, _) = tributary(lite, args);
        let (code, pg_out, err) = tributary(pg, args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert_eq!(pg_out, lite_out, "{args:?}");
    }
    let (code, out, err) = tributary(pg, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    // New rows continue after the copied ids.
    server.route(
        "/c",
        support::Reply::Feed {
            body: Feed::new("c")
                .link("https://c.example/")
                .description("d")
                .item(
                    Item::new("c: later story", "https://c.example/later")
                        .guid("c-later")
                        .published("Mon, 14 Jul 2025 12:00:00 GMT")
                        .description(&prose(300, 120)),
                )
                .rss(),
            etag: Some("\"v2\"".into()),
            last_modified: None,
            headers: vec![],
        },
    );
    let (code, out, err) = tributary(pg, &["fetch", "C"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("C: 1 new"), "{out}");
    let (_, stories, _) = tributary(pg, &["stories", "--json"]);
    let stories: serde_json::Value = serde_json::from_str(&stories).unwrap();
    assert_eq!(stories[0]["title"], "c: later story");
    assert_eq!(stories[0]["id"], 5);

    // A second copy into the same database is refused: it is not empty.
    let (code, out, err) = tributary(lite, &["migrate-store", "--to", &to]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("not empty"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}
