//! `stories --json` and `explain URL` through the binary, on a database filled by the
//! library's ingest (parse → dedup → store) from feed documents.

mod support;

use std::process::Command;

use chrono::{TimeZone, Utc};
use support::{Feed, Item, bin};
use tributary::config::DedupConfig;
use tributary::ingest::{ingest_with, open_dedup};
use tributary::parse::{FeedContext, parse};
use tributary::store::{FeedSpec, Store};

const WIRE: &str = "The central bank of Examplestan raised its main interest rate by 50 basis points to 27.75% on Tuesday, its sixth increase this year, as it fights inflation running at 33.9%. The monetary policy committee voted unanimously for the rise, governor Adaeze Okafor told a news conference in the capital. Analysts polled last week had expected a smaller increase of 25 basis points. The currency firmed 1.2% against the dollar after the decision. The bank has raised rates by a cumulative 875 basis points since February.";

/// When every document is fetched: two hours after the items' publication.
fn fetched_at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 25, 12, 0, 0).unwrap()
}

/// A one-item feed: the item's title, link, guid and plain-text description.
fn rss(title: &str, link: &str, guid: &str, body: &str) -> String {
    Feed::new("T")
        .link("https://x.example/")
        .description("d")
        .item(
            Item::new(title, link)
                .guid(guid)
                .published("Tue, 25 Nov 2025 10:00:00 GMT")
                .description(body),
        )
        .rss()
}

fn tributary(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

/// A config naming one feed per name (`https://NAME.example/rss`), with its store and
/// dedup index.
struct World {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    store: Store,
    ids: std::collections::HashMap<String, i64>,
    dedup: tributary::dedup::Dedup,
}

impl World {
    fn new(names: &[&str]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("feeds.toml");
        let mut toml = String::from("[storage]\npath = \"t.db\"\n");
        for n in names {
            toml.push_str(&format!(
                "\n[[feeds]]\nname = \"{n}\"\nurl = \"https://{n}.example/rss\"\n"
            ));
        }
        std::fs::write(&config, toml).unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let specs: Vec<FeedSpec> = names
            .iter()
            .map(|n| FeedSpec {
                url: format!("https://{n}.example/rss"),
                name: n.to_string(),
                tags: vec![],
                full_text: Default::default(),
            })
            .collect();
        let ids = store.sync_feeds(&specs).unwrap();
        let dedup = open_dedup(&store, &DedupConfig::default()).unwrap();
        World {
            dir,
            config,
            store,
            ids,
            dedup,
        }
    }

    /// Ingests feed document `xml` as feed `name`'s.
    fn ingest(&mut self, name: &str, xml: &str) {
        let url = format!("https://{name}.example/rss");
        let ctx = FeedContext {
            url: &url,
            content_type: None,
            fetched_at: fetched_at(),
        };
        let parsed = parse(xml.as_bytes(), &ctx).unwrap();
        ingest_with(
            &mut self.store,
            &mut self.dedup,
            self.ids[&url],
            &parsed,
            fetched_at(),
        )
        .unwrap();
    }
}

#[test]
fn stories_json_lists_merged_copies_and_explain_says_why() {
    let mut w = World::new(&["wire", "daily", "other"]);
    let sport = "The football club signed the striker for a record fee of 120 million on Monday after weeks of talks with the selling club, the manager said. The player passed a medical and signed a five-year contract. Supporters gathered outside the stadium to greet the new arrival as the club unveiled the signing to fans.";
    let docs = [
        (
            "wire",
            rss(
                "Examplestan raises rates to 27.75%",
                "https://wire.example/a/1",
                "wire-article-0001",
                &format!("CAPITAL (Wire) - {WIRE}"),
            ),
        ),
        (
            "daily",
            rss(
                "Central bank hikes again - The Daily",
                "https://daily.example/news/rates",
                "daily-article-0001",
                &format!("Advertisement. {WIRE} Read more"),
            ),
        ),
        (
            "other",
            rss(
                "Football club signs striker for record fee",
                "https://other.example/sport/1",
                "other-article-0001",
                sport,
            ),
        ),
    ];
    for (name, xml) in &docs {
        w.ingest(name, xml);
    }
    let (_dir, config) = (w.dir, w.config);
    drop(w.store);

    let out = tributary(&config, &["stories", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stories = doc.as_array().unwrap();
    assert_eq!(stories.len(), 2, "{doc:#}");
    let merged = stories
        .iter()
        .find(|s| s["copies"].as_array().unwrap().len() == 2)
        .unwrap();
    for key in ["id", "title", "published", "copies"] {
        assert!(merged.get(key).is_some(), "missing {key}");
    }
    let copies = merged["copies"].as_array().unwrap();
    for c in copies {
        for key in [
            "feed",
            "url",
            "title",
            "published",
            "match",
            "score",
            "representative",
        ] {
            assert!(c.get(key).is_some(), "copy missing {key}");
        }
    }
    // The wire's own credited copy represents the story and comes first.
    assert_eq!(copies[0]["representative"], true);
    assert_eq!(copies[0]["url"], "https://wire.example/a/1");
    assert_eq!(copies[1]["url"], "https://daily.example/news/rates");
    assert_eq!(copies[1]["representative"], false);
    assert_eq!(copies[1]["match"], "content");
    assert!(copies[1]["score"].as_f64().unwrap() > 0.5);

    let out = tributary(&config, &["explain", "https://daily.example/news/rates"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("content score") && text.contains("overlap >="),
        "{text}"
    );
    // The same plain words as the story page.
    assert!(
        text.contains("of the shorter text is word for word in the other")
            && text.contains("the first copy seen"),
        "{text}"
    );

    let out = tributary(&config, &["explain", "https://nowhere.example/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no stored article"));
}

/// Two halves of a wire text found separate stories; the whole text, arriving third, shows
/// them to be one: `stories` lists one story under the older id, `explain` says why.
#[test]
fn a_copy_matching_two_stories_merges_them_and_explain_shows_the_merge() {
    let mut w = World::new(&["first", "second", "whole"]);
    let more = "The ministry of finance said separately that the budget deficit narrowed to 4.1% of output in the third quarter from 5.3% a year earlier, helped by higher customs revenue and lower fuel subsidies. Economists at two local banks said they expected one more increase before the end of the year, and a pause after that if the currency holds its gains. Trade unions called the decision a blow to households already struggling with the cost of food and transport, and said they would meet next week to decide on their response.";
    let halves = [
        ("first", WIRE.to_string()),
        ("second", more.to_string()),
        ("whole", format!("{WIRE} {more}")),
    ];
    for (i, (name, body)) in halves.iter().enumerate() {
        let xml = rss(
            &format!("Rates story part {i}"),
            &format!("https://{name}.example/news/{i}"),
            &format!("{name}-article-000{i}"),
            body,
        );
        w.ingest(name, &xml);
    }
    let (_dir, config) = (w.dir, w.config);
    drop(w.store);

    let out = tributary(&config, &["stories", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stories = doc.as_array().unwrap();
    assert_eq!(stories.len(), 1, "{doc:#}");
    assert_eq!(stories[0]["id"], 1, "the older story id survives: {doc:#}");
    assert_eq!(stories[0]["copies"].as_array().unwrap().len(), 3);

    let out = tributary(&config, &["explain", "https://second.example/news/1"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("story #2 merged into this one")
            && text.contains("https://whole.example/news/2")
            && text.contains("matched both stories"),
        "{text}"
    );
}

/// `tributary stories | head -1`: the reader goes away before the listing is written; the
/// command stops quietly, as `ls` does, instead of panicking on the closed pipe.
#[test]
fn a_listing_piped_into_a_reader_that_quits_stops_quietly() {
    let mut w = World::new(&["wire"]);
    w.ingest(
        "wire",
        &rss(
            "Rates rise",
            "https://wire.example/a/1",
            "wire-article-0001",
            WIRE,
        ),
    );
    let (_dir, config) = (w.dir, w.config);
    drop(w.store);
    for args in [&["stories"][..], &["export"], &["feeds", "list"]] {
        let mut child = Command::new(bin())
            .arg("--config")
            .arg(&config)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader quits before the first line.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}
