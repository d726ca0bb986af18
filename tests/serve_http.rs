//! The merged feed over real HTTP on 127.0.0.1: every format parses back with the right
//! entries, ids, copies and links; hostile input comes out safe and well-formed; validators,
//! 304s, 400s, filters, compression; and `export` writes the bytes the server sends. The
//! story page (copies side by side, 301 for absorbed ids, 404), the sources page, no
//! credentials in any public response, each story's language and its own `updated`.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use tributary::config::Config;
use tributary::model::{Article, MatchKind};
use tributary::serve::{FeedService, routes};
use tributary::store::{FeedSpec, Store, Upsert};

use support::executable::{assert_not_executable, is_executable};

const HOSTILE_HTML: &str = r#"<p onclick="alert(2)">Council <SCRIPT>alert(3)</SCRIPT> votes
<img src=x onerror="alert(4)"> <a href="javascript:alert(5)">more</a> <a href=" jav&#x09;ascript:alert(6)">x</a>
<iframe src="https://evil.example/"></iframe><svg onload="alert(7)"></svg><style>body{}</style>
<ScRiPt src="https://evil.example/x.js"></sCrIpT><object data="x"></object>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg4KTwvc2NyaXB0Pg==">d</a></p>"#;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_752_487_200 + secs, 0).unwrap()
}

/// A config, a store with known stories, and a server on 127.0.0.1.
struct Fixture {
    _dir: tempfile::TempDir,
    config_path: PathBuf,
    config: Arc<Config>,
    feeds: Vec<i64>,
    /// Story ids: [three copies, single newest, hostile, huge title].
    stories: Vec<i64>,
    base: String,
    http: reqwest::Client,
}

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
base_url = "http://feeds.example/news/"
title = "Test river"

[storage]
path = "t.db"

[[feeds]]
name = "Alpha Wire"
url = "https://alpha.example/rss"
tags = ["world"]

[[feeds]]
name = "Beta Post"
url = "https://beta.example/rss"
tags = ["world", "asia"]

[[feeds]]
name = "Gamma <Times> & Co"
url = "https://gamma.example/rss"
"#;

fn article(key: &str, title: &str, secs: i64) -> Article {
    Article {
        key: key.into(),
        guid: Some(key.into()),
        url: Some(format!("https://{key}.example/story")),
        title: title.into(),
        summary_html: Some(format!("<p>Summary of {key}.</p>")),
        content_html: Some(format!("<p>Full text of {key}.</p>")),
        text: format!("Full text of {key}."),
        authors: vec![format!("Reporter {key}")],
        categories: vec!["Politics".into()],
        published: Some(at(secs)),
        ..Default::default()
    }
}

fn new_article(batch: &mut tributary::store::Batch<'_>, feed: i64, a: &Article) -> i64 {
    match batch.upsert_article(feed, a, at(1000)).unwrap() {
        Upsert::New { article } => article,
        other => panic!("expected a new article, got {other:?}"),
    }
}

fn seed(store: &mut Store, config: &Config) -> (Vec<i64>, Vec<i64>) {
    let specs: Vec<FeedSpec> = config
        .feeds
        .iter()
        .map(|f| FeedSpec::of(config, f))
        .collect();
    let ids = store.sync_feeds(&specs).unwrap();
    let feeds: Vec<i64> = specs.iter().map(|s| ids[&s.url]).collect();
    let now = at(1000);
    let mut b = store.begin().unwrap();
    let a1 = new_article(
        &mut b,
        feeds[0],
        &article("a1", "Harbour vote tonight", 100),
    );
    let b1 = new_article(&mut b, feeds[1], &article("b1", "Harbour vote set", 110));
    let g1 = new_article(&mut b, feeds[2], &article("g1", "Vote on harbour", 120));
    let s1 = b.new_story(a1, now).unwrap();
    b.join_story(b1, s1, MatchKind::Content, 0.7, "", now)
        .unwrap();
    b.join_story(g1, s1, MatchKind::Title, 1.0, "", now)
        .unwrap();
    let b2 = new_article(
        &mut b,
        feeds[1],
        &article("b2", "Markets close higher", 200),
    );
    let s2 = b.new_story(b2, now).unwrap();
    let mut evil = article(
        "evil",
        "Harbour <script>alert(1)</script> \u{1}\u{7}\u{1b} vote\u{FFFE}",
        50,
    );
    evil.url = Some("javascript:alert(1)".into());
    evil.summary_html = Some(HOSTILE_HTML.into());
    evil.content_html = Some(HOSTILE_HTML.into());
    evil.authors = vec!["<b onmouseover=x>Mallory</b>\u{0}".into()];
    evil.categories = vec!["<script>".into()];
    let e = new_article(&mut b, feeds[2], &evil);
    let s3 = b.new_story(e, now).unwrap();
    let huge = article("huge", &"Very long title ".repeat(65_536), 40);
    let h = new_article(&mut b, feeds[0], &huge);
    let s4 = b.new_story(h, now).unwrap();
    b.commit().unwrap();
    (feeds, vec![s1, s2, s3, s4])
}

async fn start() -> Fixture {
    start_with(CONFIG).await
}

/// [`start`] with another feeds.toml (its first three feeds get the fixture's stories).
async fn start_with(config_text: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("feeds.toml");
    std::fs::write(&config_path, config_text).unwrap();
    let config = Arc::new(Config::load(&config_path).unwrap());
    let mut store = Store::open(&config.storage.path).unwrap();
    let (feeds, stories) = seed(&mut store, &config);
    let base = serve(config.clone()).await;
    Fixture {
        _dir: dir,
        config_path,
        config,
        feeds,
        stories,
        base,
        http: reqwest::Client::builder()
            .no_gzip()
            .no_brotli()
            .build()
            .unwrap(),
    }
}

/// Starts the routes on a fresh port; returns the base URL.
async fn serve(config: Arc<Config>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = routes(FeedService::new(config));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

impl Fixture {
    async fn get(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        self.get_with(path, &[]).await
    }

    async fn get_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        (status, headers, resp.bytes().await.unwrap().to_vec())
    }

    fn store(&self) -> Store {
        Store::open(&self.config.storage.path).unwrap()
    }

    fn instance(&self) -> String {
        self.store().instance_id().unwrap()
    }

    fn entry_id(&self, story: i64) -> String {
        format!("urn:tributary:{}:story:{story}", self.instance())
    }
}

fn assert_xml_chars(body: &[u8]) {
    let text = std::str::from_utf8(body).expect("documents are UTF-8");
    assert!(
        !text
            .chars()
            .any(|c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}'),
        "a character XML cannot carry was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn atom_parses_back_with_entries_ids_sources_and_related_links() {
    let f = start().await;
    let (status, headers, body) = f.get("/feed.atom").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert_xml_chars(&body);
    let feed = atom_syndication::Feed::read_from(&body[..]).unwrap();
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    let want: Vec<String> = [1, 0, 2, 3]
        .iter()
        .map(|&i| f.entry_id(f.stories[i]))
        .collect();
    assert_eq!(ids, want, "one entry per story, newest first");
    assert!(feed.updated.timestamp() > 0, "feed updated is set");
    assert!(
        feed.links
            .iter()
            .any(|l| l.rel == "self" && l.href == "http://feeds.example/news/feed.atom")
    );

    let merged = &feed.entries[1];
    assert_eq!(merged.title.value, "Harbour vote tonight");
    assert_eq!(
        merged
            .links
            .iter()
            .find(|l| l.rel == "alternate")
            .unwrap()
            .href,
        "https://a1.example/story"
    );
    let related: Vec<(&str, Option<&str>)> = merged
        .links
        .iter()
        .filter(|l| l.rel == "related")
        .map(|l| (l.href.as_str(), l.title.as_deref()))
        .collect();
    assert_eq!(
        related,
        vec![
            ("https://b1.example/story", Some("Beta Post")),
            ("https://g1.example/story", Some("Gamma <Times> & Co")),
        ]
    );
    let source = merged.source.as_ref().unwrap();
    assert_eq!(source.title.value, "Alpha Wire");
    assert_eq!(source.id, "https://alpha.example/rss");
    assert_eq!(merged.authors[0].name, "Reporter a1");
    assert_eq!(merged.categories[0].term, "Politics");
    let content = merged.content.as_ref().unwrap().value.as_deref().unwrap();
    assert!(content.starts_with("<p>Full text of a1.</p>"), "{content}");
    assert!(
        content.ends_with(
            "<p>Also carried by <a href=\"https://b1.example/story\" rel=\"noopener noreferrer\">Beta Post</a>, \
             <a href=\"https://g1.example/story\" rel=\"noopener noreferrer\">Gamma &lt;Times&gt; &amp; Co</a>.</p>"
        ) || content.ends_with(
            "<p>Also carried by <a href=\"https://b1.example/story\">Beta Post</a>, \
             <a href=\"https://g1.example/story\">Gamma &lt;Times&gt; &amp; Co</a>.</p>"
        ),
        "{content}"
    );
    assert_eq!(merged.published.unwrap().timestamp(), at(100).timestamp());

    // A second, independent parser agrees.
    let parsed = feed_rs::parser::parse(&body[..]).unwrap();
    assert_eq!(parsed.entries.len(), 4);
    assert_eq!(parsed.entries[1].id, f.entry_id(f.stories[0]));
}

#[tokio::test(flavor = "multi_thread")]
async fn rss_parses_back_with_guids_and_sources() {
    let f = start().await;
    let (status, headers, body) = f.get("/feed.rss").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    assert_xml_chars(&body);
    let channel = rss::Channel::read_from(&body[..]).unwrap();
    assert_eq!(channel.items.len(), 4);
    let item = &channel.items[1];
    let guid = item.guid.as_ref().unwrap();
    assert_eq!(guid.value, f.entry_id(f.stories[0]));
    assert!(!guid.permalink);
    let source = item.source.as_ref().unwrap();
    assert_eq!(source.url, "https://alpha.example/rss");
    assert_eq!(source.title.as_deref(), Some("Alpha Wire"));
    assert!(
        item.description
            .as_deref()
            .unwrap()
            .contains("Also carried by")
    );
    assert!(
        DateTime::parse_from_rfc2822(item.pub_date.as_deref().unwrap()).unwrap()
            == at(100).fixed_offset()
    );
    assert_eq!(
        channel.atom_ext.as_ref().unwrap().links[0].href,
        "http://feeds.example/news/feed.rss"
    );
    assert_eq!(feed_rs::parser::parse(&body[..]).unwrap().entries.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_feed_parses_back_with_the_copies() {
    let f = start().await;
    let (status, headers, body) = f.get("/feed.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-type"],
        "application/feed+json; charset=utf-8"
    );
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(doc["feed_url"], "http://feeds.example/news/feed.json");
    let items = doc["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let merged = &items[1];
    assert_eq!(merged["id"], f.entry_id(f.stories[0]));
    let copies = merged["_tributary"]["copies"].as_array().unwrap();
    let outlets: Vec<&str> = copies
        .iter()
        .map(|c| c["outlet"].as_str().unwrap())
        .collect();
    assert_eq!(outlets, ["Alpha Wire", "Beta Post", "Gamma <Times> & Co"]);
    assert_eq!(copies[1]["url"], "https://b1.example/story");
    assert_eq!(copies[1]["title"], "Harbour vote set");
    assert!(copies[1]["published"].as_str().unwrap().ends_with('Z'));
    assert_eq!(merged["date_published"], "2025-07-14T10:01:40Z");
    let parsed = feed_rs::parser::parse(&body[..]).unwrap();
    assert_eq!(parsed.entries.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_comes_out_safe_and_well_formed() {
    let f = start().await;
    let mut htmls: Vec<(String, String)> = Vec::new();
    let (_, _, atom) = f.get("/feed.atom").await;
    assert_xml_chars(&atom);
    let feed = atom_syndication::Feed::read_from(&atom[..]).unwrap();
    for e in &feed.entries {
        htmls.push((
            "atom content".into(),
            e.content.as_ref().unwrap().value.clone().unwrap(),
        ));
        assert!(e.title.value.chars().count() <= 500, "titles are bounded");
    }
    let evil = &feed.entries[2];
    assert_eq!(evil.title.value, "Harbour <script>alert(1)</script> vote");
    assert!(
        evil.links.iter().all(|l| !l.href.contains("javascript")),
        "a javascript: link is never written"
    );
    let (_, _, rss) = f.get("/feed.rss").await;
    assert_xml_chars(&rss);
    for item in rss::Channel::read_from(&rss[..]).unwrap().items {
        htmls.push(("rss description".into(), item.description.unwrap()));
    }
    let (_, _, json) = f.get("/feed.json").await;
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    for item in doc["items"].as_array().unwrap() {
        htmls.push((
            "json content_html".into(),
            item["content_html"].as_str().unwrap().into(),
        ));
        assert!(
            item.get("url")
                .is_none_or(|u| u.as_str().unwrap().starts_with("http"))
        );
    }
    let (_, _, page) = f.get("/").await;
    let page = String::from_utf8(page).unwrap();
    // The page's head is its own (its inline style sheet, the feeds' <link>s); what the
    // stories fill is the body, and no script is anywhere.
    let (head, body) = page.split_at(page.find("<body").expect("a <body>"));
    assert_eq!(head.matches("<style").count(), 1, "{head}");
    assert!(!head.contains("<script"), "{head}");
    // So is its search box, a GET form back to the river (CSP `form-action 'self'`).
    let (before, form) = body.split_at(body.find("<form role=\"search\"").expect("a search box"));
    let after = &form[form.find("</form>").expect("a closed form") + "</form>".len()..];
    assert_eq!(after.matches("<form").count(), 0, "one form, ours");
    htmls.push(("river page".into(), format!("{before}{after}")));
    for (where_, html) in &htmls {
        assert_not_executable(where_, html);
    }
    assert!(
        htmls.iter().any(|(_, h)| h.contains("Council")),
        "text survives"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_give_304_without_a_body_until_the_store_changes() {
    let f = start().await;
    for path in ["/feed.atom", "/feed.rss", "/feed.json", "/"] {
        let (status, headers, _) = f.get(path).await;
        assert_eq!(status, StatusCode::OK);
        let etag = headers["etag"].to_str().unwrap().to_string();
        let last_modified = headers["last-modified"].to_str().unwrap().to_string();
        let (status, h, body) = f.get_with(path, &[("If-None-Match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(body.is_empty());
        assert_eq!(h["etag"].to_str().unwrap(), etag);
        let (status, _, _) = f
            .get_with(path, &[("If-Modified-Since", &last_modified)])
            .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        let (status, _, _) = f
            .get_with(path, &[("If-None-Match", "\"something-else\"")])
            .await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    // A conditional request first (nothing cached yet for this query) is answered too.
    let (status, headers, _) = f.get("/feed.atom?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (_, _, before) = f.get("/feed.atom").await;

    // A new story changes the document and its validators.
    let mut store = f.store();
    let mut b = store.begin().unwrap();
    let n = new_article(&mut b, f.feeds[0], &article("n1", "Newest", 500));
    b.new_story(n, at(2000)).unwrap();
    b.commit().unwrap();
    let (status, headers, _) = f
        .get_with("/feed.atom?limit=2", &[("If-None-Match", &etag)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(headers["etag"].to_str().unwrap(), etag);
    let (_, _, after) = f.get("/feed.atom").await;
    assert_ne!(before, after);
    let feed = atom_syndication::Feed::read_from(&after[..]).unwrap();
    assert_eq!(feed.entries[0].title.value, "Newest");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_queries_get_400_with_one_line_and_unknown_names_404() {
    let f = start().await;
    for q in [
        "limit=abc",
        "limit=0",
        "limit=",
        "tags=world",
        "tag=",
        "limit=1&limit=2",
    ] {
        for path in ["/feed.atom", "/feed.rss", "/feed.json", "/"] {
            let (status, _, body) = f.get(&format!("{path}?{q}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}?{q}");
            let text = String::from_utf8(body).unwrap();
            assert_eq!(text.trim_end().lines().count(), 1, "{text}");
        }
    }
    // Above the cap is not an error: readers asking for "everything" get the most served.
    let (status, _, body) = f.get("/feed.json?limit=100000").await;
    assert_eq!(status, StatusCode::OK);
    let all: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(!all["items"].as_array().unwrap().is_empty());
    let (status, _, body) = f.get("/feed.atom?feed=Nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "no feed named \"Nobody\"\n"
    );
    let (status, _, _) = f.get("/feed.rss?tag=sports").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_feed_and_limit_filter_the_stories() {
    let f = start().await;
    let ids = |body: Vec<u8>| -> Vec<String> {
        atom_syndication::Feed::read_from(&body[..])
            .unwrap()
            .entries
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    let (_, _, body) = f.get("/feed.atom?tag=asia").await;
    assert_eq!(
        ids(body),
        vec![f.entry_id(f.stories[1]), f.entry_id(f.stories[0])]
    );
    let (_, _, body) = f.get("/feed.atom?feed=Alpha%20Wire").await;
    assert_eq!(
        ids(body),
        vec![f.entry_id(f.stories[0]), f.entry_id(f.stories[3])]
    );
    let (_, _, body) = f
        .get("/feed.atom?feed=https%3A%2F%2Fgamma.example%2Frss")
        .await;
    assert_eq!(
        ids(body),
        vec![f.entry_id(f.stories[0]), f.entry_id(f.stories[2])]
    );
    let (_, _, body) = f.get("/feed.atom?limit=1").await;
    assert_eq!(ids(body.clone()), vec![f.entry_id(f.stories[1])]);
    let feed = atom_syndication::Feed::read_from(&body[..]).unwrap();
    assert_eq!(
        feed.links.iter().find(|l| l.rel == "self").unwrap().href,
        "http://feeds.example/news/feed.atom?limit=1"
    );
    let (_, _, body) = f.get("/feed.json?tag=world&feed=Beta+Post&limit=1").await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["items"].as_array().unwrap().len(), 1);
    let (_, _, page) = f.get("/?tag=asia").await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("Markets close higher") && !page.contains("Very long title"));
}

#[tokio::test(flavor = "multi_thread")]
async fn entry_ids_survive_updates_refetches_and_restarts() {
    let f = start().await;
    let (_, _, before) = f.get("/feed.json").await;
    let before: serde_json::Value = serde_json::from_slice(&before).unwrap();
    // An update of the representative (same feed, same key) and an unchanged re-fetch.
    let mut store = f.store();
    let mut b = store.begin().unwrap();
    let updated = article("a1", "Harbour vote tonight, updated", 100);
    let Upsert::Updated {
        story: Some(story), ..
    } = b.upsert_article(f.feeds[0], &updated, at(3000)).unwrap()
    else {
        panic!("expected an update")
    };
    b.touch_story(story, at(3000)).unwrap();
    let again = article("b2", "Markets close higher", 200);
    assert!(matches!(
        b.upsert_article(f.feeds[1], &again, at(3000)).unwrap(),
        Upsert::Unchanged { .. }
    ));
    b.commit().unwrap();
    drop(store);
    // A restart: a new service on the same database.
    let base = serve(f.config.clone()).await;
    let body = f
        .http
        .get(format!("{base}/feed.json"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let after: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ids = |d: &serde_json::Value| -> Vec<String> {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&before), ids(&after));
    assert_eq!(after["items"][1]["title"], "Harbour vote tonight, updated");
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_are_compressed_when_asked() {
    let f = start().await;
    let (_, _, plain) = f.get("/feed.atom").await;
    for enc in ["gzip", "br"] {
        let (status, headers, body) = f.get_with("/feed.atom", &[("Accept-Encoding", enc)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-encoding"], enc);
        assert!(body.len() < plain.len());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_river_page_lists_stories_with_outlets_and_links_the_feeds() {
    let f = start().await;
    let (status, headers, body) = f.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
    let page = String::from_utf8(body).unwrap();
    for alt in [
        r#"<link rel="alternate" type="application/atom+xml""#,
        r#"<link rel="alternate" type="application/rss+xml""#,
        r#"<link rel="alternate" type="application/feed+json""#,
    ] {
        assert!(page.contains(alt), "{alt}");
    }
    let order: Vec<usize> = [
        "Markets close higher",
        "Harbour vote tonight",
        "Harbour &lt;script&gt;",
    ]
    .iter()
    .map(|t| page.find(t).unwrap_or_else(|| panic!("{t} missing")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first");
    for link in [
        "https://b1.example/story",
        "https://g1.example/story",
        "Gamma &lt;Times&gt; &amp; Co",
    ] {
        assert!(page.contains(link), "{link}");
    }
    assert!(page.contains(r#"href="./?tag=asia""#));
    assert!(page.contains("<main>") && page.contains("<nav"));
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_lists_every_feed_once() {
    let f = start().await;
    let (status, _, body) = f.get("/feeds.opml").await;
    assert_eq!(status, StatusCode::OK);
    let subs = tributary::opml::read(&body).unwrap();
    let urls: Vec<&str> = subs.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://alpha.example/rss",
            "https://beta.example/rss",
            "https://gamma.example/rss"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_store_gives_well_formed_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, "[storage]\npath = \"empty.db\"\n").unwrap();
    let config = Arc::new(Config::load(&path).unwrap());
    Store::open(&config.storage.path).unwrap();
    let base = serve(config).await;
    let get = |p: &'static str| {
        let url = format!("{base}{p}");
        async move {
            let r = reqwest::get(url).await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{p}");
            r.bytes().await.unwrap()
        }
    };
    let atom = atom_syndication::Feed::read_from(&get("/feed.atom").await[..]).unwrap();
    assert!(atom.entries.is_empty());
    assert!(
        rss::Channel::read_from(&get("/feed.rss").await[..])
            .unwrap()
            .items
            .is_empty()
    );
    let json: serde_json::Value = serde_json::from_slice(&get("/feed.json").await).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 0);
    assert!(
        String::from_utf8(get("/").await.to_vec())
            .unwrap()
            .contains("No stories yet")
    );
}

fn export(config: &Path, args: &[&str]) -> Vec<u8> {
    let out = assert_cmd::Command::cargo_bin("tributary")
        .unwrap()
        .arg("--config")
        .arg(config)
        .arg("export")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_the_bytes_the_server_sends() {
    let f = start().await;
    for (args, path) in [
        (vec![], "/feed.atom"),
        (vec!["--format", "rss"], "/feed.rss"),
        (vec!["--format", "json"], "/feed.json"),
        (
            vec!["--format", "atom", "--tag", "asia", "--limit", "1"],
            "/feed.atom?tag=asia&limit=1",
        ),
        (
            vec!["--format", "rss", "--feed", "Alpha Wire", "--limit", "500"],
            "/feed.rss?feed=Alpha+Wire&limit=500",
        ),
    ] {
        let (_, _, served) = f.get(path).await;
        assert_eq!(export(&f.config_path, &args), served, "{path}");
    }
    // Export has no cap; an unknown feed is an error sentence and exit 2.
    assert_eq!(
        atom_syndication::Feed::read_from(&export(&f.config_path, &["--limit", "100000"])[..])
            .unwrap()
            .entries
            .len(),
        4
    );
    let out = assert_cmd::Command::cargo_bin("tributary")
        .unwrap()
        .arg("--config")
        .arg(&f.config_path)
        .args(["export", "--feed", "Nobody"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tributary: no feed named \"Nobody\"\n"
    );
}

/// The oracle the tests judge sanitised markup with (`tests/support/executable.rs`) names
/// what a browser would run, however it is spelled, and not text that mentions it.
#[test]
fn the_executable_markup_oracle_tells_code_from_text() {
    for html in [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
        "<a href=\" JaVaScRiPt:alert(1)\">x</a>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<img srcset=\"a.png 1x, data:image/svg+xml,x 2x\">",
        "<svg><a xlink:href=\"javascript:alert(1)\">x</a></svg>",
        "<p style=\"x:expression(alert(1))\">x</p>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
        HOSTILE_HTML,
    ] {
        assert!(is_executable(html), "{html:?}");
    }
    for html in [
        "<p>Say javascript: and onerror= in text, &lt;script&gt;</p>",
        "<a href=\"https://e.example/a?u=javascript:x\" title=\"data: 3\">x</a>",
        "<img src=\"https://e.example/i.png\" alt=\"javascript:\">",
        "plain text",
        // A browser reads an element named `scr<script` here, and no script.
        "<scr<script>ipt>alert(1)</script>",
    ] {
        assert!(!is_executable(html), "{html:?}");
    }
}

/// The fixture's feeds plus one behind basic auth, whose last poll failed naming its URL.
fn config_with_secret() -> String {
    format!(
        "{CONFIG}\n[[feeds]]\nname = \"Private Ledger\"\nurl = \"https://reader:s3cret@private.example/feed.xml\"\ntags = [\"members\"]\n"
    )
}

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_story_page_shows_the_text_and_every_copy_side_by_side() {
    let f = start().await;
    let story = f.stories[0];
    let (status, headers, body) = f.get(&format!("/story/{story}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let page = text(&body);
    assert!(page.contains("<h1>Harbour vote tonight</h1>"), "{page}");
    assert!(
        page.contains("<p>Full text of a1.</p>"),
        "the full text: {page}"
    );
    assert!(page.contains(r#"<time datetime="2025-07-14T10:01:40+00:00">"#));
    assert!(page.contains("3 copies"));
    // Each copy: outlet, its own headline, its link and how it matched, in plain words.
    let copies = &page[page.find("<ol class=\"copies\">").unwrap()..];
    let mut from = 0;
    for (outlet, headline, link, how) in [
        (
            "Alpha Wire",
            "Harbour vote tonight",
            "https://a1.example/story",
            "the first copy seen",
        ),
        (
            "Beta Post",
            "Harbour vote set",
            "https://b1.example/story",
            "70% of the shorter text is word for word in the other",
        ),
        (
            "Gamma &lt;Times&gt; &amp; Co",
            "Vote on harbour",
            "https://g1.example/story",
            "same headline, too little text to compare",
        ),
    ] {
        let start = from
            + copies[from..]
                .find(outlet)
                .unwrap_or_else(|| panic!("{outlet}"));
        let end = copies[start..].find("</li>").unwrap() + start;
        let card = &copies[start..end];
        assert!(
            card.contains(&format!(r#"<a href="{link}">{headline}</a>"#)),
            "{card}"
        );
        assert!(card.contains(how), "{outlet}: {card}");
        from = end;
    }
    // The river links each story's page; every feed entry does too, beside its own link.
    let (_, _, river) = f.get("/").await;
    assert!(text(&river).contains(&format!(
        r#"href="story/{story}">all 3 copies side by side"#
    )));
    let page_url = format!("http://feeds.example/news/story/{story}");
    let (_, _, atom) = f.get("/feed.atom").await;
    let atom = atom_syndication::Feed::read_from(&atom[..]).unwrap();
    let entry = atom
        .entries
        .iter()
        .find(|e| e.id == f.entry_id(story))
        .unwrap();
    let rel = |r: &str| {
        entry
            .links
            .iter()
            .filter(|l| l.rel == r)
            .map(|l| l.href.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(rel("describedby"), vec![page_url.clone()]);
    assert_eq!(
        rel("alternate"),
        vec!["https://a1.example/story".to_string()]
    );
    assert_eq!(rel("related").len(), 2, "related links stay the copies");
    let (_, _, json) = f.get("/feed.json").await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let item = &json["items"][1];
    assert_eq!(item["url"], "https://a1.example/story");
    assert_eq!(item["_tributary"]["page"], page_url.as_str());
    let (_, _, rss) = f.get("/feed.rss").await;
    let channel = rss::Channel::read_from(&rss[..]).unwrap();
    assert_eq!(
        channel.items[1].comments.as_deref(),
        Some(page_url.as_str())
    );
    assert_eq!(
        channel.items[1].link.as_deref(),
        Some("https://a1.example/story")
    );

    // Validators like every page: the same version is a 304, a change of the story is not.
    let etag = headers["etag"].to_str().unwrap().to_string();
    let path = format!("/story/{story}");
    let (status, _, body) = f.get_with(&path, &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let mut store = f.store();
    let mut b = store.begin().unwrap();
    let extra = new_article(
        &mut b,
        f.feeds[2],
        &article("g2", "Harbour vote, late copy", 130),
    );
    b.join_story(
        extra,
        story,
        MatchKind::Url,
        1.0,
        "exact identity",
        at(2000),
    )
    .unwrap();
    b.commit().unwrap();
    let (status, _, body) = f.get_with(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::OK);
    let page = text(&body);
    assert!(page.contains("4 copies") && page.contains("same URL as another copy"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_absorbed_story_redirects_to_its_survivor_and_an_unknown_one_is_404() {
    let f = start().await;
    let (survivor, absorbed, absorbed_before) = (f.stories[3], f.stories[1], f.stories[2]);
    let mut store = f.store();
    let mut b = store.begin().unwrap();
    // A merge into a story that is later merged itself: the chain ends at the survivor.
    b.merge_stories(absorbed_before, absorbed, "test", at(3000))
        .unwrap();
    b.merge_stories(absorbed, survivor, "test", at(3001))
        .unwrap();
    b.commit().unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for id in [absorbed, absorbed_before] {
        let r = no_redirects
            .get(format!("{}/story/{id}", f.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY, "story {id}");
        assert_eq!(
            r.headers()["location"],
            format!("http://feeds.example/news/story/{survivor}").as_str()
        );
    }
    let (status, _, body) = f.get(&format!("/story/{survivor}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text(&body).contains("Markets close higher"),
        "the absorbed copies are here"
    );
    for path in ["/story/999999", "/story/0", "/story/abc", "/story/-3"] {
        let (status, headers, body) = f.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert!(text(&body).contains("No such story"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sources_page_shows_each_feeds_health_without_credentials() {
    let f = start_with(&config_with_secret()).await;
    let mut store = f.store();
    let private = store
        .feed_rows()
        .unwrap()
        .into_iter()
        .find(|r| r.name == "Private Ledger")
        .unwrap();
    let mut state = store.fetch_state(private.id).unwrap().unwrap();
    state.last_fetch = Some(at(4000));
    state.last_status = Some(tributary::model::FetchStatus::Error);
    state.last_http = Some(401);
    state.last_error =
        Some("https://reader:s3cret@private.example/feed.xml answered HTTP 401".into());
    state.last_error_kind = tributary::model::FailureKind::parse("http_status");
    state.error_count = 3;
    state.next_fetch = Some(at(5000));
    store.save_fetch_state(&state, None, None).unwrap();

    let (status, headers, body) = f.get("/sources").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let page = text(&body);
    assert!(
        !page.contains("s3cret") && !page.contains("reader:"),
        "{page}"
    );
    let section = |name: &str| {
        let start = page
            .find(&format!("<h2>{name}</h2>"))
            .unwrap_or_else(|| panic!("{name}"));
        let end = page[start..].find("</section>").unwrap() + start;
        page[start..end].to_string()
    };
    let private = section("Private Ledger");
    for want in [
        "https://private.example/feed.xml",
        "members",
        "2025-07-14 11:06 UTC",
        "failed (HTTP 401)",
        "3 in a row; last: https://private.example/feed.xml answered HTTP 401 (http status)",
        "2025-07-14 11:23 UTC",
        "0 stored",
    ] {
        assert!(private.contains(want), "{want}: {private}");
    }
    let beta = section("Beta Post");
    assert!(
        beta.contains("world, asia") && beta.contains("not fetched yet"),
        "{beta}"
    );
    assert!(beta.contains("2 stored"), "{beta}");
    assert!(beta.contains("1 copy merged into other outlets"), "{beta}");
    assert!(section("Alpha Wire").contains("0 copies merged into other outlets"));
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, _, _) = f.get_with("/sources", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_drops_credentials_and_the_operators_export_keeps_them() {
    let f = start_with(&config_with_secret()).await;
    let (status, _, body) = f.get("/feeds.opml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!text(&body).contains("s3cret"));
    let subs = tributary::opml::read(&body).unwrap();
    let private = |subs: &[tributary::opml::Subscription]| {
        subs.iter()
            .find(|s| s.name == "Private Ledger")
            .unwrap()
            .url
            .clone()
    };
    assert_eq!(private(&subs), "https://private.example/feed.xml");
    let out = std::process::Command::new(support::bin())
        .arg("--config")
        .arg(&f.config_path)
        .args(["feeds", "export"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let subs = tributary::opml::read(&out.stdout).unwrap();
    assert_eq!(
        private(&subs),
        "https://reader:s3cret@private.example/feed.xml"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_story_carries_its_language() {
    let f = start().await;
    let mut store = f.store();
    let mut b = store.begin().unwrap();
    for (key, title, secs) in [
        ("es1", "Votación en el puerto", 300),
        ("es2", "Cierre de mercados", 310),
    ] {
        let mut a = article(key, title, secs);
        a.language = Some("es".into());
        let id = new_article(&mut b, f.feeds[1], &a);
        b.new_story(id, at(1000)).unwrap();
    }
    b.commit().unwrap();
    let (_, _, river) = f.get("/").await;
    let river = text(&river);
    assert!(
        river.contains(r#"<html lang="es">"#),
        "a river of Spanish stories is Spanish"
    );
    assert!(!river.contains(r#"lang="en""#));
    assert_eq!(river.matches(r#"<article lang="es">"#).count(), 2);
    assert_eq!(
        river.matches(r#"<article lang="">"#).count(),
        4,
        "the others: unknown"
    );
    let (_, _, atom) = f.get("/feed.atom").await;
    let atom = atom_syndication::Feed::read_from(&atom[..]).unwrap();
    assert_eq!(atom.lang.as_deref(), Some("es"));
    assert_eq!(atom.entries[0].title.lang.as_deref(), Some("es"));
    assert_eq!(
        atom.entries[2].title.lang.as_deref(),
        Some(""),
        "a story without a language does not inherit the feed's"
    );
    let (_, _, json) = f.get("/feed.json").await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["language"], "es");
    assert_eq!(json["items"][0]["language"], "es");
    assert!(json["items"][2].get("language").is_none());
    let (_, _, rss) = f.get("/feed.rss").await;
    assert_eq!(
        rss::Channel::read_from(&rss[..])
            .unwrap()
            .language
            .as_deref(),
        Some("es")
    );
    let (_, _, page) = f.get(&format!("/story/{}", f.stories[1])).await;
    assert!(text(&page).contains(r#"<html lang="und">"#));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_entry_is_updated_when_its_story_changed_not_when_it_was_polled() {
    let f = start().await;
    let updated = |json: &serde_json::Value, story: i64| {
        let id = f.entry_id(story);
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id.as_str())
            .unwrap()["date_modified"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // One poll (at 1000) stored both: each is dated by its own copies.
    let (_, _, json) = f.get("/feed.json").await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(
        updated(&json, f.stories[0]),
        "2025-07-14T10:02:00Z",
        "its newest copy"
    );
    assert_eq!(updated(&json, f.stories[1]), "2025-07-14T10:03:20Z");
    let (_, _, atom) = f.get("/feed.atom").await;
    let atom = atom_syndication::Feed::read_from(&atom[..]).unwrap();
    let mut times: Vec<_> = atom.entries.iter().map(|e| e.updated).collect();
    times.sort();
    times.dedup();
    assert_eq!(
        times.len(),
        atom.entries.len(),
        "no two entries share an updated time"
    );
    // Its representative moves to another copy: that is a change of the story.
    let mut store = f.store();
    let b1 = store.merged_story(f.stories[0]).unwrap().unwrap().others[0].article;
    let mut b = store.begin().unwrap();
    b.set_representative(f.stories[0], b1, at(7000)).unwrap();
    b.commit().unwrap();
    let (_, _, json) = f.get("/feed.json").await;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(updated(&json, f.stories[0]), "2025-07-14T11:56:40Z");
}
