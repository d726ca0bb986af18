//! Full text (`[fetch] full_text`) as a user sees it: `tributary fetch` polls a feed on
//! 127.0.0.1, fetches the article pages its items link to, and `export`, `explain` and the
//! daemon show the result. The pages come from a small server of our own (a thread per
//! connection on a `std::net::TcpListener`), so they can misbehave in ways a framework
//! would not let them: bodies that never end, redirect loops, binary data as HTML, a page
//! nested 200 000 deep, a 429. Links to 127.0.0.2 stand for "another host on a non-public
//! network": the guard must refuse them without connecting.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{
    Daemon, Reply, TestServer, Workspace, html, http_get, prose, redirect, status, typed, wait_for,
};

// ---------------------------------------------------------------------------------------
// Feeds and pages

/// Story `n`: its headline, its feed summary and its article's paragraphs.
fn title(n: u64) -> String {
    prose(n * 1000 + 1, 6).trim_end_matches('.').to_string()
}

fn summary(n: u64) -> String {
    prose(n * 1000 + 2, 30)
}

fn paragraph(n: u64, k: u64) -> String {
    prose(n * 1000 + 10 + k, 48)
}

/// Story `n`'s article page: the article among site chrome.
fn article_page(n: u64) -> String {
    let paragraphs: String = (0..6)
        .map(|k| format!("<p>{}</p>\n", paragraph(n, k)))
        .collect();
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{t} - The Harbour Times</title></head>\n\
         <body><header><nav><a href=\"/\">Home</a> <a href=\"/world\">World</a> <a href=\"/sport\">Sport</a></nav></header>\n\
         <main><article><h1>{t}</h1><p class=\"byline\">By Ann Reporter</p>\n{paragraphs}</article></main>\n\
         <aside><h2>Most read</h2><ul><li><a href=\"/a\">Ferry timetable changes</a></li><li><a href=\"/b\">Tram depot reopens</a></li></ul></aside>\n\
         <footer><p>Subscribe to our newsletter. Copyright The Harbour Times.</p></footer></body></html>",
        t = title(n)
    )
}

/// One feed item: story `n` linking to `link`, with `content` (content:encoded) if any.
struct Item {
    n: u64,
    link: String,
    content: Option<String>,
}

fn item(n: u64, link: String) -> Item {
    Item {
        n,
        link,
        content: None,
    }
}

/// The Harbour Times' feed of `items`: each with its story's title and summary.
fn feed(items: &[Item]) -> Reply {
    let doc = support::Feed::new("The Harbour Times")
        .link("https://harbour.example/")
        .items(items.iter().map(|i| {
            let it = support::Item::new(&title(i.n), &i.link)
                .guid(&i.link)
                .description(&summary(i.n));
            match &i.content {
                Some(c) => it.content(c),
                None => it,
            }
        }))
        .rss();
    typed("application/rss+xml", doc.into_bytes())
}

// ---------------------------------------------------------------------------------------
// The CLI

/// A feeds.toml: `[fetch]` with `fetch` lines, then `feeds` as (name, url, extra lines).
fn config(fetch: &str, feeds: &[(&str, String, &str)]) -> String {
    let mut text = format!("[storage]\npath = \"t.db\"\n\n[fetch]\n{fetch}\n");
    for (name, url, extra) in feeds {
        text.push_str(&format!(
            "\n[[feeds]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}\n"
        ));
    }
    text
}

/// `fetch`, which must succeed; its stdout.
fn fetch(ws: &Workspace) -> String {
    let (code, out, err) = ws.run(&["fetch"]);
    assert_eq!(code, 0, "fetch failed:\n{out}\n{err}");
    out
}

/// The items of `export --format json`.
fn export_items(ws: &Workspace) -> Vec<Value> {
    let (code, out, err) = ws.run(&["export", "--format", "json", "--limit", "500"]);
    assert_eq!(code, 0, "export failed:\n{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    doc["items"].as_array().unwrap().clone()
}

/// The exported item whose link is `url`.
fn exported<'a>(items: &'a [Value], url: &str) -> &'a Value {
    items.iter().find(|i| i["url"] == url).unwrap_or_else(|| {
        let urls: Vec<&Value> = items.iter().map(|i| &i["url"]).collect();
        panic!("no exported item links to {url}; the items link to {urls:?}")
    })
}

/// The text of an HTML fragment, whitespace folded to single spaces.
fn text(html: &str) -> String {
    let doc = scraper::Html::parse_fragment(html);
    let parts: Vec<&str> = doc.root_element().text().collect();
    fold(&parts.join(" "))
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of an exported item's content.
fn content_text(item: &Value) -> String {
    text(item["content_html"].as_str().unwrap_or_default())
}

/// Asserts the exported item carries story `n`'s article from its page.
fn assert_full_text(item: &Value, n: u64) {
    let content = content_text(item);
    for k in [0, 3, 5] {
        assert!(
            content.contains(&paragraph(n, k)),
            "story {n}: paragraph {k} of its page missing from content_html: {content}"
        );
    }
    assert!(
        !content.contains("Subscribe to our newsletter") && !content.contains("Most read"),
        "story {n}: the page's chrome came along: {content}"
    );
}

/// Asserts the exported item carries only story `n`'s feed summary.
fn assert_summary_only(item: &Value, n: u64) {
    assert_eq!(
        content_text(item),
        summary(n),
        "story {n} should keep its feed summary"
    );
}

// ---------------------------------------------------------------------------------------
// 1–3: when pages are fetched

#[test]
fn always_replaces_each_summary_with_its_pages_article_and_keeps_the_summary() {
    let server = TestServer::start();
    let items: Vec<Item> = (1..=3)
        .map(|n| item(n, server.url(&format!("/articles/{n}.html"))))
        .collect();
    for n in 1..=3 {
        server.route(&format!("/articles/{n}.html"), html(article_page(n)));
    }
    server.route("/feed.xml", feed(&items));
    let ws = Workspace::with_config(&config(
        "timeout = \"10s\"\nfull_text = \"always\"",
        &[("Harbour", server.url("/feed.xml"), "")],
    ));

    let out = fetch(&ws);
    assert!(
        out.contains("3 article pages: 3 full texts, 0 without an article, 0 failed, 0 refused"),
        "{out}"
    );
    let exported_items = export_items(&ws);
    assert_eq!(exported_items.len(), 3, "{exported_items:?}");
    for i in &items {
        assert_eq!(server.hits(&format!("/articles/{}.html", i.n)), 1);
        let e = exported(&exported_items, &i.link);
        assert_full_text(e, i.n);
        assert_eq!(e["title"], title(i.n));
    }
    // The feed's description stays the item's summary.
    for i in &items {
        let e = exported(&exported_items, &i.link);
        assert_eq!(
            e["summary"].as_str().map(text),
            Some(summary(i.n)),
            "the JSON Feed item should carry the feed's description as `summary`: {e}"
        );
    }
}

#[test]
fn auto_fetches_the_page_of_a_summary_but_not_of_a_full_feed_text() {
    let server = TestServer::start();
    let long_text: String = (0..5)
        .map(|k| format!("<p>{}</p>", paragraph(11, 20 + k)))
        .collect();
    let long = Item {
        content: Some(long_text),
        ..item(11, server.url("/long.html"))
    };
    let short = item(12, server.url("/short.html"));
    server.route("/long.html", html(article_page(11)));
    server.route("/short.html", html(article_page(12)));
    server.route("/feed.xml", feed(&[long, short]));
    let ws = Workspace::with_config(&config(
        "timeout = \"10s\"\nfull_text = \"auto\"",
        &[("Harbour", server.url("/feed.xml"), "")],
    ));

    let out = fetch(&ws);
    assert!(out.contains("1 article pages: 1 full texts"), "{out}");
    assert_eq!(
        server.hits("/long.html"),
        0,
        "an item with 240 words of feed text needs no page"
    );
    assert_eq!(server.hits("/short.html"), 1);
    let items = export_items(&ws);
    let long = content_text(exported(&items, &server.url("/long.html")));
    assert!(long.contains(&paragraph(11, 24)), "{long}");
    assert!(!long.contains(&paragraph(11, 0)), "{long}");
    assert_full_text(exported(&items, &server.url("/short.html")), 12);
}

#[test]
fn by_default_no_article_page_is_fetched() {
    let server = TestServer::start();
    let items = [
        item(21, server.url("/a.html")),
        item(22, server.url("/b.html")),
    ];
    server.route("/a.html", html(article_page(21)));
    server.route("/b.html", html(article_page(22)));
    server.route("/feed.xml", feed(&items));
    let ws = Workspace::with_config(&config(
        "timeout = \"10s\"",
        &[("Harbour", server.url("/feed.xml"), "")],
    ));

    let out = fetch(&ws);
    assert!(out.contains("2 new articles"), "{out}");
    assert!(!out.contains("article pages"), "{out}");
    assert_eq!(server.hits("/a.html") + server.hits("/b.html"), 0);
    let exported_items = export_items(&ws);
    for i in &items {
        assert_summary_only(exported(&exported_items, &i.link), i.n);
    }
}

#[test]
fn a_feed_set_to_never_is_not_fetched_under_a_global_always() {
    let server = TestServer::start();
    let quiet = [item(31, server.url("/quiet/1.html"))];
    let loud = [item(32, server.url("/loud/1.html"))];
    server.route("/quiet/1.html", html(article_page(31)));
    server.route("/loud/1.html", html(article_page(32)));
    server.route("/quiet.xml", feed(&quiet));
    server.route("/loud.xml", feed(&loud));
    let ws = Workspace::with_config(&config(
        "timeout = \"10s\"\nfull_text = \"always\"",
        &[
            ("Quiet", server.url("/quiet.xml"), "full_text = \"never\""),
            ("Loud", server.url("/loud.xml"), ""),
        ],
    ));

    let out = fetch(&ws);
    assert!(out.contains("1 article pages: 1 full texts"), "{out}");
    assert_eq!(server.hits("/quiet/1.html"), 0);
    assert_eq!(server.hits("/loud/1.html"), 1);
    let items = export_items(&ws);
    assert_summary_only(exported(&items, &quiet[0].link), 31);
    assert_full_text(exported(&items, &loud[0].link), 32);
}

// ---------------------------------------------------------------------------------------
// 4: request forgery

/// A feed on 127.0.0.1 linking to a page on 127.0.0.2 (another host, loopback) and to a
/// page on its own host that redirects there; returns (feed server, other host, config
/// for `private_networks`).
fn forgery_rig(private_networks: &str) -> (TestServer, TestServer, Workspace) {
    let server = TestServer::start();
    let other = TestServer::start_on("127.0.0.2");
    other.route("/secret.html", html(article_page(41)));
    other.route("/moved.html", html(article_page(42)));
    server.route("/hop.html", redirect(&other.url("/moved.html")));
    server.route(
        "/feed.xml",
        feed(&[
            item(41, other.url("/secret.html")),
            item(42, server.url("/hop.html")),
        ]),
    );
    let ws = Workspace::with_config(&config(
        &format!("timeout = \"10s\"\nfull_text = \"always\"\n{private_networks}"),
        &[("Harbour", server.url("/feed.xml"), "")],
    ));
    (server, other, ws)
}

#[test]
fn a_link_to_another_host_on_a_loopback_address_is_refused_without_connecting() {
    let (server, other, ws) = forgery_rig("");
    let out = fetch(&ws);
    assert!(
        out.contains("2 article pages: 0 full texts, 0 without an article, 0 failed, 2 refused"),
        "{out}"
    );
    assert_eq!(
        other.connections(),
        0,
        "nothing may connect to 127.0.0.2, directly or through a redirect"
    );
    assert_eq!(
        server.hits("/hop.html"),
        1,
        "the feed host's own page is asked"
    );
    let items = export_items(&ws);
    assert_eq!(items.len(), 2);
    assert_summary_only(exported(&items, &other.url("/secret.html")), 41);
    assert_summary_only(exported(&items, &server.url("/hop.html")), 42);

    // Each page's line in `explain` says it was refused and why.
    let mut unexplained = Vec::new();
    for url in [other.url("/secret.html"), server.url("/hop.html")] {
        let (code, out, err) = ws.run(&["explain", &url]);
        assert_eq!(code, 0, "{out}{err}");
        let page = out
            .lines()
            .find(|l| l.trim_start().starts_with("page"))
            .unwrap_or_default();
        if !(page.contains("refused") && page.contains("loopback")) {
            unexplained.push(out);
        }
    }
    assert!(
        unexplained.is_empty(),
        "explain should say each page was refused, and why:\n{}",
        unexplained.join("\n")
    );
}

#[test]
fn private_networks_lets_pages_on_an_allowed_network_be_fetched() {
    let (server, other, ws) = forgery_rig("private_networks = [\"127.0.0.0/8\"]");
    let out = fetch(&ws);
    assert!(
        out.contains("2 article pages: 2 full texts, 0 without an article, 0 failed, 0 refused"),
        "{out}"
    );
    assert_eq!(other.hits("/secret.html"), 1);
    assert_eq!(other.hits("/moved.html"), 1);
    let items = export_items(&ws);
    assert_full_text(exported(&items, &other.url("/secret.html")), 41);
    assert_full_text(exported(&items, &server.url("/hop.html")), 42);
}

// ---------------------------------------------------------------------------------------
// 5: hostile pages

/// The hostile pages, by path; the story numbers of their items are 51.. in this order.
const HOSTILE: &[&str] = &[
    "/drip.html",
    "/huge.html",
    "/loop-a.html",
    "/binary.html",
    "/report.pdf.html",
    "/deep.html",
    "/busy.html",
];
const MALFORMED: u64 = 60;
const GOOD: u64 = 61;

/// Routes the hostile pages, a malformed page with an article in it (story 60) and one
/// good page (story 61) on `server`, and a feed `/feed.xml` linking to each; returns the
/// items.
fn hostile_rig(server: &TestServer) -> Vec<Item> {
    server.route(
        "/drip.html",
        Reply::Drip {
            every: Duration::from_millis(50),
            count: usize::MAX,
        },
    );
    // A 10 MB page: more than any article page is read (fetch::policy::MAX_PAGE_BODY).
    let mut huge = String::from("<html><body><article>");
    while huge.len() < 10_000_000 {
        huge.push_str("<p>Filler of a page far larger than any article, repeated.</p>\n");
    }
    server.route("/huge.html", html(huge));
    server.route("/loop-a.html", redirect(&server.url("/loop-b.html")));
    server.route("/loop-b.html", redirect(&server.url("/loop-a.html")));
    let mut x: u32 = 0x1234_5678;
    let binary: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    server.route("/binary.html", typed("text/html", binary));
    let mut pdf =
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            .to_vec();
    pdf.extend(
        std::iter::repeat_n(
            b"stream\n\x00\x01\x02BT /F1 12 Tf (Hello) Tj ET\nendstream\n",
            200,
        )
        .flatten(),
    );
    server.route("/report.pdf.html", typed("text/html", pdf));
    let mut deep = String::from("<!DOCTYPE html><html><body>");
    for _ in 0..200_000 {
        deep.push_str("<div>");
    }
    deep.push_str(&paragraph(56, 0));
    server.route("/deep.html", html(deep));
    server.route("/busy.html", status(429, &[("Retry-After", "3600")]));
    // Unclosed and stray tags, unquoted attributes, bare ampersands and brackets: what a
    // browser still shows as an article.
    let broken: String = (0..6)
        .map(|k| {
            format!(
                "<p class=body>{}<b><i> &amp more & < less</b></i>\n",
                paragraph(MALFORMED, k)
            )
        })
        .collect();
    server.route(
        "/malformed.html",
        html(format!(
            "<html><head><title>{}</title><body><div id=main class=story <span></div></div>\n<article><h1>{}</h2>{broken}</span></td></article",
            title(MALFORMED),
            title(MALFORMED)
        )),
    );
    server.route("/good.html", html(article_page(GOOD)));
    let mut items: Vec<Item> = HOSTILE
        .iter()
        .zip(51..)
        .map(|(path, n)| item(n, server.url(path)))
        .collect();
    items.push(item(MALFORMED, server.url("/malformed.html")));
    items.push(item(GOOD, server.url("/good.html")));
    server.route("/feed.xml", feed(&items));
    items
}

/// Asserts the export holds every hostile item with its summary, and the malformed and
/// good pages' articles.
fn assert_hostile_export(items: &[Item], exported_items: &[Value]) {
    assert_eq!(
        exported_items.len(),
        items.len(),
        "every item is stored: {exported_items:?}"
    );
    for i in items {
        let e = exported(exported_items, &i.link);
        if i.n == GOOD {
            assert_full_text(e, GOOD);
        } else if i.n == MALFORMED {
            let content = content_text(e);
            for k in 0..6 {
                assert!(content.contains(&paragraph(MALFORMED, k)), "{content}");
            }
        } else {
            assert_summary_only(e, i.n);
        }
    }
}

#[test]
fn hostile_pages_cost_only_their_own_article_and_fetch_still_ends() {
    let server = TestServer::start();
    let items = hostile_rig(&server);
    let ws = Workspace::with_config(&config(
        "timeout = \"2s\"\nfull_text = \"always\"",
        &[("Harbour", server.url("/feed.xml"), "")],
    ));

    let out = fetch(&ws);
    assert!(out.contains("9 new"), "{out}");
    assert!(
        out.contains("9 article pages: 2 full texts, 3 without an article, 4 failed, 0 refused"),
        "{out}"
    );
    for path in HOSTILE {
        assert!(server.hits(path) >= 1, "{path} was never asked");
    }
    assert!(
        server.hits("/loop-a.html") <= 6,
        "a redirect loop is cut short"
    );
    assert_hostile_export(&items, &export_items(&ws));
    let (code, out, err) = ws.run(&["check"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn the_daemon_survives_hostile_pages_and_still_answers_healthz() {
    let server = TestServer::start();
    let items = hostile_rig(&server);
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n{}",
        config(
            "schedule = \"* * * * * *\"\ntimeout = \"2s\"\nfull_text = \"always\"",
            &[("Harbour", server.url("/feed.xml"), "")],
        )
    );
    let ws = Workspace::with_config(&text);
    let daemon = Daemon::start(&ws.config());
    let good = server.url("/good.html");
    assert!(
        wait_for(Duration::from_secs(90), || {
            let items = export_items(&ws);
            items
                .iter()
                .find(|i| i["url"] == good.as_str())
                .is_some_and(|i| content_text(i).contains(&paragraph(GOOD, 5)))
        }),
        "the good page's article never arrived:\n{}",
        daemon.log_text()
    );
    // The round of pages the good one was in has ended, the dripping page included.
    assert!(
        wait_for(Duration::from_secs(60), || daemon
            .log_text()
            .contains("article pages fetched")),
        "{}",
        daemon.log_text()
    );
    let (code, body) = http_get(&daemon.addr(), "/healthz");
    assert_eq!(code, 200, "{body}\n{}", daemon.log_text());
    assert_hostile_export(&items, &export_items(&ws));
    // Later polls of the unchanged feed ask for no page again.
    let polls = server.hits("/feed.xml");
    assert!(
        wait_for(Duration::from_secs(30), || server.hits("/feed.xml")
            >= polls + 2),
        "{}",
        daemon.log_text()
    );
    assert_eq!(server.hits("/good.html"), 1);
    let log = daemon.log_handle();
    let exit = daemon.stop(Duration::from_secs(30));
    assert!(
        exit.success(),
        "{exit:?}\n{}",
        log.lock().unwrap().join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 6: extraction quality on real pages

/// Real pages from Mozilla Readability's test set (`tests/data/pages/`), each with the
/// article Readability.js extracts from it.
const REAL_PAGES: &[&str] = &["001", "daringfireball-1", "mozilla-2", "medium-2"];

/// Lowercase words (runs of letters and digits) of a text.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Word-level F1 of `got` against `want`, counting repeated words (bags of words).
fn f1(got: &[String], want: &[String]) -> f64 {
    let mut left: HashMap<&str, usize> = HashMap::new();
    for w in want {
        *left.entry(w).or_default() += 1;
    }
    let mut common = 0usize;
    for w in got {
        if let Some(c) = left.get_mut(w.as_str())
            && *c > 0
        {
            *c -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / got.len() as f64;
    let recall = common as f64 / want.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

#[test]
fn real_article_pages_give_readabilitys_article_text() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pages");
    let server = TestServer::start();
    let mut items = Vec::new();
    for (name, n) in REAL_PAGES.iter().zip(71..) {
        let source = std::fs::read(data.join(name).join("source.html")).unwrap();
        let path = format!("/real/{name}.html");
        server.route(&path, typed("text/html", source));
        items.push(item(n, server.url(&path)));
    }
    server.route("/feed.xml", feed(&items));
    let ws = Workspace::with_config(&config(
        "timeout = \"10s\"\nfull_text = \"always\"",
        &[("Real", server.url("/feed.xml"), "")],
    ));

    let out = fetch(&ws);
    assert!(
        out.contains(&format!(
            "{0} article pages: {0} full texts",
            REAL_PAGES.len()
        )),
        "{out}"
    );
    let exported_items = export_items(&ws);
    let mut scores = Vec::new();
    for (name, i) in REAL_PAGES.iter().zip(&items) {
        let expected = std::fs::read_to_string(data.join(name).join("expected.html")).unwrap();
        let want = words(&text(&expected));
        let got = words(&content_text(exported(&exported_items, &i.link)));
        scores.push((*name, f1(&got, &want), got.len(), want.len()));
    }
    for (name, score, got, want) in &scores {
        assert!(
            *score >= 0.95,
            "{name}: word F1 {score:.3} ({got} words exported, {want} expected); all: {scores:?}"
        );
    }
}
