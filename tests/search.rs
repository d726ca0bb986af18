//! Search and older stories, as a subscriber and a script see them over real HTTP on
//! 127.0.0.1: `q=` finds words, phrases and prefixes in any copy of a story, newest first;
//! hostile searches are 400s with one line, never 500s; a saved search has validators of its
//! own; following the "next" links walks every story once, while new stories arrive and
//! retention prunes the story a cursor points at; and `stories --search` from the binary.

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use tributary::config::Config;
use tributary::dedup::Dedup;
use tributary::ingest::{ingest_with, open_dedup};
use tributary::model::{Article, ParsedFeed};
use tributary::serve::{FeedService, routes};
use tributary::store::{FeedSpec, Store};

use support::{Feed, Item, TestServer, Workspace, feed, prose};

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
base_url = "http://feeds.example/"
title = "Test river"

[storage]
path = "t.db"

[[feeds]]
name = "Alpha Wire"
url = "https://alpha.example/rss"

[[feeds]]
name = "Beta Post"
url = "https://beta.example/rss"
"#;

/// `hours` after a fixed moment.
fn at(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_752_487_200 + hours * 3600, 0).unwrap()
}

/// A copy with its own link and `text` (its own words, so no two copies merge by content).
fn copy(key: &str, title: &str, text: &str, hours: i64) -> Article {
    Article {
        key: key.into(),
        guid: Some(format!("urn:test:{key}")),
        url: Some(format!("https://news.example/{key}")),
        title: title.into(),
        content_html: Some(format!("<p>{text}</p>")),
        text: text.into(),
        published: Some(at(hours)),
        ..Default::default()
    }
}

/// A store fed through ingest (as the daemon feeds it) and the routes on 127.0.0.1.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    dedup: Dedup,
    feeds: Vec<i64>,
    base: String,
    http: reqwest::Client,
}

impl Fixture {
    async fn start() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feeds.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let config = Arc::new(Config::load(&path).unwrap());
        let mut store = Store::open(&config.storage.path).unwrap();
        let specs: Vec<FeedSpec> = config
            .feeds
            .iter()
            .map(|f| FeedSpec::of(&config, f))
            .collect();
        let ids = store.sync_feeds(&specs).unwrap();
        let feeds = specs.iter().map(|s| ids[&s.url]).collect();
        let dedup = open_dedup(&store, &config.dedup).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = routes(FeedService::new(config.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fixture {
            _dir: dir,
            store,
            dedup,
            feeds,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Ingests `articles` as one poll of feed `feed` at `now`.
    fn ingest(&mut self, feed: usize, articles: Vec<Article>, now: DateTime<Utc>) {
        let parsed = ParsedFeed {
            articles,
            ..Default::default()
        };
        ingest_with(
            &mut self.store,
            &mut self.dedup,
            self.feeds[feed],
            &parsed,
            now,
        )
        .unwrap();
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String, String) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self.http.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let etag = resp
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, etag, resp.text().await.unwrap())
    }

    /// The JSON Feed at `path`: its item titles and its `next_url` made local.
    async fn json_page(&self, path: &str) -> (Vec<String>, Option<String>) {
        let (status, _, body) = self.get(path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        let titles = doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect();
        // The links use [server].base_url; the test server is elsewhere.
        let next = doc["next_url"]
            .as_str()
            .map(|u| u.replace("http://feeds.example", ""));
        (titles, next)
    }
}

fn quoted(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_search_finds_words_phrases_and_prefixes_in_any_copy_newest_first() {
    let mut f = Fixture::start().await;
    let quake = format!("A strong temblor struck New Zealand. {}", prose(1, 40));
    f.ingest(
        0,
        vec![copy("quake", "Temblor shakes Wellington", &quake, 10)],
        at(10),
    );
    // Another outlet's copy of the same story (the same link): its own words count too.
    let mut other = copy(
        "quake-b",
        "Wellington shaken",
        "Seismologists counted aftershocks.",
        11,
    );
    other.url = Some("https://news.example/quake".into());
    f.ingest(1, vec![other], at(11));
    let later = format!("Aftershocks of the temblor continue. {}", prose(2, 40));
    f.ingest(
        0,
        vec![copy("after", "Aftershocks continue", &later, 20)],
        at(20),
    );
    f.ingest(
        0,
        vec![copy("vote", "Wharf vote tonight", &prose(3, 40), 30)],
        at(30),
    );

    for (q, want) in [
        (
            "temblor",
            vec!["Aftershocks continue", "Temblor shakes Wellington"],
        ),
        (
            "TEMBLOR",
            vec!["Aftershocks continue", "Temblor shakes Wellington"],
        ),
        ("seismologists", vec!["Temblor shakes Wellington"]),
        ("\"new zealand\"", vec!["Temblor shakes Wellington"]),
        ("\"zealand new\"", vec![]),
        (
            "temblo*",
            vec!["Aftershocks continue", "Temblor shakes Wellington"],
        ),
        ("temblor -zealand", vec!["Aftershocks continue"]),
        ("wharf", vec!["Wharf vote tonight"]),
        ("tsunami", vec![]),
    ] {
        let (titles, next) = f.json_page(&format!("/feed.json?q={}", quoted(q))).await;
        assert_eq!(titles, want, "q={q}");
        assert_eq!(next, None, "q={q}");
    }
    // Every format and the river page take the search; the river says so.
    for path in ["/feed.atom", "/feed.rss", "/"] {
        let (status, _, body) = f.get(&format!("{path}?q=seismologists"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(body.contains("Temblor shakes Wellington"), "{path}");
        assert!(!body.contains("Wharf vote tonight"), "{path}");
    }
    let (_, _, page) = f.get("/?q=tsunami", &[]).await;
    assert!(page.contains("No stories match this search."));
    assert!(
        page.contains("value=\"tsunami\""),
        "the box shows the search"
    );
    // An empty search box submitted is the river.
    let (status, _, page) = f.get("/?q=", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Wharf vote tonight"));
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_searches_are_refused_in_one_line_or_read_as_words_never_a_500() {
    let mut f = Fixture::start().await;
    let text = format!(
        "Near the shoreline, the assembly (and its title) voted. {}",
        prose(4, 30)
    );
    f.ingest(
        0,
        vec![copy("shoreline", "Shoreline assembly votes", &text, 1)],
        at(1),
    );
    let refused = [
        "*",
        "**",
        "\"",
        "\"\"",
        "()",
        "-",
        "-shoreline",
        "co*",
        "AND OR NOT",
        "(",
    ];
    let ten_kb = "temblor ".repeat(1000);
    let control = "shoreline\u{1}";
    for q in refused.iter().copied().chain([ten_kb.as_str(), control]) {
        for path in ["/", "/feed.atom", "/feed.json"] {
            let (status, _, body) = f.get(&format!("{path}?q={}", quoted(q)), &[]).await;
            // "AND OR NOT" are words to us; they are simply not in the text.
            if q == "AND OR NOT" {
                assert_eq!(status, StatusCode::OK, "{q:?}");
                continue;
            }
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}?q={q:?}: {body}");
            assert_eq!(body.trim_end().lines().count(), 1, "{q:?}: {body}");
            assert!(body.starts_with("bad query: "), "{q:?}: {body}");
        }
    }
    // FTS5's own syntax is read as words: no syntax error can reach the database.
    for q in [
        "NEAR(shoreline assembly)",
        "NEAR",
        "shoreline NEAR/2 assembly",
        "title:shoreline",
        "text:shoreline",
        "{text}:shoreline",
        "(shoreline",
        "shoreline)",
        "shoreline\"",
        "\"shoreline assembly",
        "^shoreline",
        "shoreline + assembly",
        "shoreline:*",
        "'shoreline'",
        "shoreline AND",
        "OR shoreline",
    ] {
        let (status, _, body) = f.get(&format!("/feed.json?q={}", quoted(q)), &[]).await;
        assert_eq!(status, StatusCode::OK, "{q:?}: {body}");
    }
    let (titles, _) = f
        .json_page(&format!("/feed.json?q={}", quoted("(shoreline assembly)")))
        .await;
    assert_eq!(titles, ["Shoreline assembly votes"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_search_has_validators_of_its_own() {
    let mut f = Fixture::start().await;
    f.ingest(
        0,
        vec![copy(
            "q1",
            "Temblor one",
            &format!("temblor {}", prose(5, 30)),
            1,
        )],
        at(1),
    );
    let (status, tag, _) = f.get("/feed.atom?q=temblor", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = f
        .get("/feed.atom?q=temblor", &[("If-None-Match", &tag)])
        .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (_, other, _) = f.get("/feed.atom?q=tsunami", &[]).await;
    assert_ne!(tag, other, "each search is a document of its own");
    // A story the search does not find leaves the saved search unchanged...
    f.ingest(0, vec![copy("v1", "Wharf vote", &prose(6, 30), 2)], at(2));
    let (status, _, _) = f
        .get("/feed.atom?q=temblor", &[("If-None-Match", &tag)])
        .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    // ...one it finds changes it.
    f.ingest(
        1,
        vec![copy(
            "q2",
            "Temblor two",
            &format!("An temblor. {}", prose(7, 30)),
            3,
        )],
        at(3),
    );
    let (status, _, body) = f
        .get("/feed.atom?q=temblor", &[("If-None-Match", &tag)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Temblor two"));
    assert!(
        body.contains("search: temblor"),
        "the feed's title names the search"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn updates_and_pruning_keep_the_index_in_step() {
    let mut f = Fixture::start().await;
    f.ingest(
        0,
        vec![copy(
            "u",
            "Assembly story",
            &format!("magma {}", prose(8, 30)),
            1,
        )],
        at(1),
    );
    assert_eq!(
        f.json_page("/feed.json?q=magma").await.0,
        vec!["Assembly story"]
    );
    // The outlet rewrote the copy: the old words are gone, the new ones found.
    f.ingest(
        0,
        vec![copy(
            "u",
            "Assembly story",
            &format!("icefield {}", prose(8, 30)),
            1,
        )],
        at(2),
    );
    assert!(f.json_page("/feed.json?q=magma").await.0.is_empty());
    assert_eq!(
        f.json_page("/feed.json?q=icefield").await.0,
        vec!["Assembly story"]
    );
    f.store.prune_stories(at(100), 100).unwrap();
    assert!(f.json_page("/feed.json?q=icefield").await.0.is_empty());
    assert!(f.store.check().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn following_next_links_walks_every_story_once_through_arrivals_and_a_prune() {
    let mut f = Fixture::start().await;
    // Twenty stories an hour apart, each last changed when it was published.
    for h in 1..=20 {
        let text = format!(
            "Story number {h}, about the wharf. {}",
            prose(100 + h as u64, 30)
        );
        f.ingest(
            0,
            vec![copy(&format!("s{h}"), &format!("Story {h}"), &text, h)],
            at(h),
        );
    }
    // Stories 2 and 5 gain a copy much later: retention keeps them.
    for h in [2, 5] {
        let mut late = copy(&format!("late{h}"), &format!("Story {h} again"), "More.", h);
        late.url = Some(format!("https://news.example/s{h}"));
        f.ingest(1, vec![late], at(100));
    }
    let mut seen: Vec<String> = Vec::new();
    let (page, next) = f.json_page("/feed.json?limit=5").await;
    assert_eq!(
        page,
        ["Story 20", "Story 19", "Story 18", "Story 17", "Story 16"]
    );
    seen.extend(page);
    let mut next = next.expect("a first page of five links the next");

    // While the script walks: newer stories arrive, retention prunes everything first
    // published and last changed before hour 18 — the story the cursor points at (16)
    // among them — and an old item of a feed added late arrives.
    for h in [30, 31] {
        let text = format!("Newer {h}. {}", prose(200 + h as u64, 30));
        f.ingest(
            0,
            vec![copy(&format!("n{h}"), &format!("Newer {h}"), &text, h)],
            at(h),
        );
    }
    while f.store.prune_stories(at(18), 3).unwrap() > 0 {}
    let old = format!("An old item. {}", prose(300, 30));
    f.ingest(1, vec![copy("old", "Old item", &old, 3)], at(200));

    let mut pages = 1;
    loop {
        let (page, after) = f.json_page(&next).await;
        seen.extend(page);
        pages += 1;
        assert!(pages < 20, "the walk ends");
        match after {
            Some(a) => next = a,
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Story 20", "Story 19", "Story 18", "Story 17", "Story 16", "Story 5", "Old item",
            "Story 2"
        ],
        "each story once, in order; the newer ones belong to the pages before the first"
    );

    // Without changes in between, a walk sees exactly what one big page shows.
    let (all, none) = f.json_page("/feed.json?limit=500").await;
    assert_eq!(none, None);
    let mut walked = Vec::new();
    let mut path = Some("/feed.json?limit=2".to_string());
    while let Some(p) = path {
        let (page, after) = f.json_page(&p).await;
        assert!(page.len() <= 2);
        walked.extend(page);
        path = after;
    }
    assert_eq!(walked, all);
    assert_eq!(walked.iter().collect::<HashSet<_>>().len(), walked.len());

    // A search walks its own pages.
    let mut walked = Vec::new();
    let mut path = Some("/feed.json?q=wharf&limit=1".to_string());
    while let Some(p) = path {
        let (page, after) = f.json_page(&p).await;
        walked.extend(page);
        path = after;
    }
    assert_eq!(
        walked,
        ["Story 20", "Story 19", "Story 18", "Story 5", "Story 2"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_links_older_stories_and_a_bad_cursor_is_a_400() {
    let mut f = Fixture::start().await;
    for h in 1..=3 {
        let text = format!("Report {h}. {}", prose(400 + h as u64, 30));
        f.ingest(
            0,
            vec![copy(&format!("r{h}"), &format!("Report {h}"), &text, h)],
            at(h),
        );
    }
    let (_, _, atom) = f.get("/feed.atom?limit=2", &[]).await;
    let feed = atom_syndication::Feed::read_from(atom.as_bytes()).unwrap();
    let next = feed
        .links()
        .iter()
        .find(|l| l.rel() == "next")
        .expect("rel=next");
    assert!(
        next.href()
            .starts_with("http://feeds.example/feed.atom?limit=2&before=")
    );
    let older = next.href().replace("http://feeds.example", "");
    let (_, _, page2) = f.get(&older, &[]).await;
    let page2 = atom_syndication::Feed::read_from(page2.as_bytes()).unwrap();
    assert_eq!(page2.entries().len(), 1);
    assert_eq!(page2.entries()[0].title().as_str(), "Report 1");
    assert!(
        page2.links().iter().all(|l| l.rel() != "next"),
        "the last page"
    );
    assert_eq!(page2.id(), feed.id(), "every page is the same feed");
    assert!(
        page2
            .links()
            .iter()
            .any(|l| l.rel() == "self" && l.href().contains("before="))
    );

    let (_, _, rss) = f.get("/feed.rss?limit=2", &[]).await;
    assert!(rss.contains("rel=\"next\""), "{rss}");
    let (_, _, rss) = f.get("/feed.rss", &[]).await;
    assert!(!rss.contains("rel=\"next\""), "one page holds them all");

    let (_, _, river) = f.get("/?limit=2", &[]).await;
    let at = river.find("rel=\"next\"").expect("an older-stories link");
    let link = &river[river[..at].rfind("href=\"").unwrap() + 6..];
    let link = &link[..link.find('"').unwrap()].replace("&amp;", "&");
    assert!(river.contains(">Older stories</a>"));
    let (status, _, older_page) = f
        .get(&format!("/{}", link.trim_start_matches("./")), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(older_page.contains("Report 1") && !older_page.contains("Report 3"));
    assert!(!older_page.contains("Older stories"));

    for bad in [
        "x",
        "",
        "00",
        &"g".repeat(32),
        &"0".repeat(32),
        &"f".repeat(33),
    ] {
        let (status, _, body) = f.get(&format!("/feed.json?before={bad}"), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(body.contains("cursor"), "{body}");
        assert_eq!(body.trim_end().lines().count(), 1);
    }
}

/// `stories --search` on a store `fetch` filled from a feed served on 127.0.0.1.
#[test]
fn stories_search_from_the_command_line() {
    let server = TestServer::start();
    let rss = Feed::new("Wire")
        .item(
            Item::new("Temblor shakes Wellington", &server.url("/quake"))
                .description(&format!("A strong temblor struck. {}", prose(9, 30)))
                .published("Mon, 14 Jul 2025 10:00:00 GMT"),
        )
        .item(
            Item::new("Wharf vote tonight", &server.url("/vote"))
                .description(&prose(10, 30))
                .published("Mon, 14 Jul 2025 11:00:00 GMT"),
        )
        .rss();
    server.route("/rss", feed(rss));
    let ws = Workspace::with_config(&format!(
        "[storage]\npath = \"t.db\"\n\n[[feeds]]\nname = \"Wire\"\nurl = \"{}\"\n",
        server.url("/rss")
    ));
    let (code, out, err) = ws.run(&["fetch"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = ws.run(&["stories", "--search", "temblor"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Temblor shakes Wellington"), "{out}");
    assert!(!out.contains("Wharf"), "{out}");
    let (code, out, _) = ws.run(&["stories", "--search", "\"strong temblor\"", "--json"]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["title"], "Temblor shakes Wellington");
    let (code, out, _) = ws.run(&["stories", "--search", "tsunami"]);
    assert_eq!(code, 0);
    assert!(out.contains("no stories match tsunami"), "{out}");
    let (code, _, err) = ws.run(&["stories", "--search", "*"]);
    assert_eq!(code, 2);
    assert!(err.contains("--search: the search has no words"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
