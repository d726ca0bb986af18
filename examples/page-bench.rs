//! Article-page benchmark (`[fetch] full_text = "always"`): 20 feeds of 50 summary-only
//! items on 20 hosts (127.0.0.1 … 127.0.0.20, one listener each, served in-process), whose
//! pages are ≈ 100 KB of article HTML each (head with styles and scripts, header, nav, a
//! 20–30 paragraph article, a sidebar of links, a footer). Every feed links only pages on
//! its own host, so they are fetched (a feed's own host is always allowed) and no host
//! exceeds its 60-page token bucket.
//!
//! The feeds are polled like `tributary fetch` does (Scheduler::poll_now with the system
//! clock), then the 1,000 pages are fetched and extracted (Scheduler::fetch_pages); both
//! are timed. `extract` alone is timed on one page ×100. Prints one summary line with
//! pages/s, extraction ms per page, and peak RSS (VmHWM).
//!
//! `cargo run --release --example page-bench [HOSTS] [ITEMS_PER_FEED]`
//!
//! Targets: 1,000 pages within 10 s, peak RSS ≤ 250 MB.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tributary::model::FetchStatus;
use tributary::parse::page::extract;

#[path = "common/bench_support.rs"]
mod bench_support;
use bench_support::{Rng, cpu_time, peak_rss_kib};

/// Everyday news vocabulary, so the article text looks like prose to Readability.
const VOCAB: &[&str] = &[
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "on",
    "for",
    "with",
    "at",
    "by",
    "from",
    "as",
    "that",
    "was",
    "were",
    "is",
    "are",
    "has",
    "had",
    "have",
    "will",
    "would",
    "could",
    "said",
    "says",
    "after",
    "before",
    "during",
    "while",
    "since",
    "over",
    "under",
    "about",
    "between",
    "government",
    "minister",
    "officials",
    "police",
    "court",
    "council",
    "city",
    "country",
    "region",
    "village",
    "coast",
    "river",
    "border",
    "election",
    "vote",
    "parliament",
    "party",
    "leader",
    "president",
    "company",
    "market",
    "prices",
    "shares",
    "bank",
    "economy",
    "workers",
    "union",
    "strike",
    "talks",
    "agreement",
    "deal",
    "plan",
    "budget",
    "tax",
    "report",
    "study",
    "researchers",
    "scientists",
    "hospital",
    "patients",
    "doctors",
    "school",
    "students",
    "teachers",
    "families",
    "residents",
    "children",
    "people",
    "week",
    "month",
    "year",
    "morning",
    "evening",
    "night",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "weekend",
    "storm",
    "flood",
    "fire",
    "rain",
    "heat",
    "drought",
    "power",
    "water",
    "roads",
    "bridge",
    "trains",
    "flights",
    "airport",
    "port",
    "ships",
    "fishermen",
    "farmers",
    "harvest",
    "crops",
    "cattle",
    "energy",
    "oil",
    "gas",
    "wind",
    "solar",
    "climate",
    "emissions",
    "target",
    "record",
    "highest",
    "lowest",
    "rise",
    "fall",
    "increase",
    "decline",
    "million",
    "billion",
    "percent",
    "dozens",
    "hundreds",
    "thousands",
    "several",
    "many",
    "few",
    "most",
    "new",
    "old",
    "first",
    "last",
    "next",
    "local",
    "national",
    "foreign",
    "public",
    "private",
    "independent",
    "senior",
    "former",
    "young",
    "announced",
    "confirmed",
    "denied",
    "warned",
    "promised",
    "rejected",
    "approved",
    "launched",
    "opened",
    "closed",
    "arrested",
    "charged",
    "released",
    "injured",
    "killed",
    "rescued",
    "evacuated",
    "damaged",
    "rebuilt",
    "expected",
    "planned",
    "delayed",
    "cancelled",
    "investigation",
    "inquiry",
    "hearing",
    "trial",
    "verdict",
    "appeal",
    "protest",
    "crowd",
    "statement",
    "spokesperson",
    "interview",
    "newspaper",
    "television",
    "radio",
    "online",
    "because",
    "although",
    "however",
    "despite",
    "still",
    "also",
    "only",
    "even",
    "already",
    "again",
    "later",
    "earlier",
    "recently",
    "nearly",
    "almost",
    "more",
    "less",
    "than",
    "their",
    "its",
    "his",
    "her",
    "they",
    "it",
    "he",
    "she",
    "we",
    "this",
    "these",
    "those",
    "not",
    "no",
    "but",
    "or",
    "if",
    "when",
    "where",
    "which",
    "who",
    "what",
    "how",
    "why",
];

/// Prose from bench_support's xorshift64* stream.
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn word(&mut self) -> &'static str {
        VOCAB[self.below(VOCAB.len())]
    }
    /// A sentence of 8–24 words, capitalised, sometimes with a number or a quote.
    fn sentence(&mut self) -> String {
        let n = 8 + self.below(17);
        let mut words: Vec<String> = (0..n).map(|_| self.word().to_string()).collect();
        if self.below(3) == 0 {
            let at = self.below(n);
            words[at] = format!("{}", 2 + self.below(9_000));
        }
        let mut s = words.join(" ");
        if let Some(f) = s.get(..1) {
            s = f.to_uppercase() + &s[1..];
        }
        s.push(if self.below(12) == 0 { '?' } else { '.' });
        s
    }
    fn paragraph(&mut self) -> String {
        let n = 2 + self.below(5);
        (0..n)
            .map(|_| self.sentence())
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn headline(&mut self) -> String {
        let s = self.sentence();
        s.trim_end_matches(['.', '?']).to_string()
    }
}

/// One article: its headline and paragraphs (seeded by host and item).
struct Article {
    title: String,
    paragraphs: Vec<String>,
}

fn article(host: usize, item: usize) -> Article {
    let mut r = Rng::new((host as u64) << 32 | item as u64);
    let title = r.headline();
    let n = 20 + r.below(11);
    Article {
        title,
        paragraphs: (0..n).map(|_| r.paragraph()).collect(),
    }
}

/// The parts of a host's pages around the article: the same on each of its pages.
struct Chrome {
    head: String,
    top: String,
    bottom: String,
}

fn chrome(host: usize) -> Chrome {
    let mut r = Rng::new(0xC0FFEE ^ host as u64);
    let site = format!("The Daily Outlet {host}");
    let mut head = String::from("<meta charset=\"utf-8\">\n");
    for i in 0..20 {
        head.push_str(&format!(
            "<meta name=\"x-meta-{i}\" content=\"{}\">\n<link rel=\"preload\" href=\"/static/asset-{i}.js\" as=\"script\">\n",
            r.headline()
        ));
    }
    head.push_str("<style>\n");
    for i in 0..180 {
        head.push_str(&format!(
            ".c{i} .block-{i} > a:hover, .grid-{i} {{ margin: {}px {}px; color: #{:06x}; font: 14px/1.4 Georgia, serif; }}\n",
            r.below(40),
            r.below(40),
            r.next() & 0xFF_FFFF
        ));
    }
    head.push_str("</style>\n<script>window.__STATE__ = {\"config\": {");
    for i in 0..450 {
        head.push_str(&format!(
            "\"key{i}\": {{\"id\": {}, \"label\": \"{}\", \"enabled\": {}}}, ",
            r.next() % 100_000,
            r.word(),
            r.below(2) == 0
        ));
    }
    head.push_str("\"end\": true}};\n");
    head.push_str(
        "(function(){var q=[];function t(e){q.push(e);if(q.length>10){navigator.sendBeacon('/collect',JSON.stringify(q));q=[];}}document.addEventListener('click',function(e){t({x:e.clientX,y:e.clientY});});})();\n</script>\n",
    );
    let link = |r: &mut Rng, class: &str| {
        format!(
            "<li class=\"{class}\"><a href=\"/section/{}/{}\" class=\"{class}-link\">{}</a></li>\n",
            r.word(),
            r.below(100_000),
            r.headline()
                .split(' ')
                .take(4 + r.below(5))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let mut top = format!(
        "<div class=\"cookie-banner\"><p>We use cookies to improve your experience. <button>Accept all</button> <button>Settings</button></p></div>\n\
         <header class=\"site-header\"><a class=\"logo\" href=\"/\"><img src=\"/static/logo.svg\" alt=\"{site}\"></a>\
         <form class=\"search\" action=\"/search\"><input name=\"q\" placeholder=\"Search\"><button>Go</button></form>\
         <a class=\"subscribe\" href=\"/subscribe\">Subscribe</a> <a href=\"/login\">Sign in</a></header>\n<nav class=\"main-nav\"><ul>\n"
    );
    for _ in 0..70 {
        top.push_str(&link(&mut r, "nav-item"));
    }
    top.push_str("</ul></nav>\n<div class=\"breadcrumbs\"><a href=\"/\">Home</a> › <a href=\"/world\">World</a></div>\n<main class=\"layout\">\n");
    let mut bottom = String::from(
        "<div class=\"share\"><a href=\"#\">Share on Facebook</a> <a href=\"#\">Share on X</a> <a href=\"#\">Email</a></div>\n</main>\n<aside class=\"sidebar\"><h3>Most read</h3><ol>\n",
    );
    for _ in 0..40 {
        bottom.push_str(&link(&mut r, "most-read"));
    }
    bottom.push_str("</ol><h3>More from the world desk</h3><ul>\n");
    for _ in 0..60 {
        bottom.push_str(&link(&mut r, "related"));
    }
    bottom.push_str("</ul><div class=\"ad\" data-slot=\"sidebar-1\"></div></aside>\n<section class=\"newsletter\"><h3>Sign up for our newsletter</h3><form><input type=\"email\" placeholder=\"you@example.com\"><button>Sign up</button></form></section>\n<footer class=\"site-footer\"><ul>\n");
    for _ in 0..90 {
        bottom.push_str(&link(&mut r, "footer-item"));
    }
    bottom.push_str(&format!(
        "</ul><p>© 2025 {site}. All rights reserved. <a href=\"/privacy\">Privacy</a> <a href=\"/terms\">Terms</a></p></footer>\n"
    ));
    for i in 0..6 {
        bottom.push_str(&format!(
            "<script src=\"/static/bundle-{i}.js\" async></script>\n"
        ));
    }
    bottom.push_str("<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('js',new Date());gtag('config','G-XXXX');</script>\n");
    Chrome { head, top, bottom }
}

/// The page of `host`'s item `item`.
fn page(c: &Chrome, host: usize, item: usize) -> String {
    let a = article(host, item);
    let mut body = String::with_capacity(120_000);
    body.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><title>{} | The Daily Outlet {host}</title>\n{}</head>\n<body class=\"article-page\">\n{}",
        a.title, c.head, c.top
    ));
    body.push_str(&format!(
        "<article class=\"story\"><h1 class=\"headline\">{}</h1>\n<p class=\"byline\">By Reporter {host}-{item}</p><time datetime=\"2025-07-14T08:00:00Z\">14 July 2025</time>\n\
         <figure><img src=\"/img/{item}.jpg\" alt=\"\"><figcaption>A photo of the scene.</figcaption></figure>\n",
        a.title
    ));
    for (i, p) in a.paragraphs.iter().enumerate() {
        if i == 6 {
            body.push_str("<div class=\"ad inline\" data-slot=\"mid\"></div>\n");
        }
        if i % 7 == 3 {
            body.push_str(&format!(
                "<p>{p} <a href=\"/news/{}.html\">Read more</a></p>\n",
                (item + i) % 50
            ));
        } else {
            body.push_str(&format!("<p>{p}</p>\n"));
        }
    }
    body.push_str("</article>\n");
    body.push_str(&c.bottom);
    body.push_str("</body></html>\n");
    body
}

/// The feed of `host`: `items` summary-only items linking its own pages.
fn feed(host: usize, items: usize, base: &str) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>The Daily Outlet {host}</title><link>{base}/</link><description>News</description>"
    );
    let today = chrono::Utc::now().date_naive();
    for k in 0..items {
        let a = article(host, k);
        let summary: Vec<&str> = a.paragraphs[0].split_whitespace().take(40).collect();
        let when = today.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
            + chrono::Duration::minutes((k * 13 + host) as i64 % 600);
        out.push_str(&format!(
            "<item><title>{}</title><link>{base}/news/{k}.html</link><guid>{base}/news/{k}.html</guid><pubDate>{}</pubDate><description>{}…</description></item>",
            a.title,
            when.to_rfc2822(),
            summary.join(" ")
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}

struct Site {
    host: usize,
    items: usize,
    base: String,
    chrome: Chrome,
}

async fn serve_feed(State(s): State<Arc<Site>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/rss+xml")],
        feed(s.host, s.items, &s.base),
    )
}

async fn serve_page(State(s): State<Arc<Site>>, Path(name): Path<String>) -> impl IntoResponse {
    let Ok(item) = name.trim_end_matches(".html").parse::<usize>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if item >= s.items {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page(&s.chrome, s.host, item),
    )
        .into_response()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let hosts: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let items: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);
    let runtime = bench_support::runtime()?;

    // One listener per loopback address, serving that host's feed and pages.
    let mut feed_urls = Vec::new();
    let mut page_bytes = 0usize;
    for h in 1..=hosts {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, h as u8));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::new(ip, 0)))
            .with_context(|| format!("cannot listen on {ip}"))?;
        let base = format!("http://{}", listener.local_addr()?);
        let site = Arc::new(Site {
            host: h,
            items,
            base: base.clone(),
            chrome: chrome(h),
        });
        page_bytes += page(&site.chrome, h, 0).len();
        let app = axum::Router::new()
            .route("/feed.xml", axum::routing::get(serve_feed))
            .route("/news/{name}", axum::routing::get(serve_page))
            .with_state(site);
        runtime.spawn(async move { axum::serve(listener, app).await });
        feed_urls.push(format!("{base}/feed.xml"));
    }

    let polling = bench_support::polling(
        "full_text = \"always\"\n",
        feed_urls
            .iter()
            .enumerate()
            .map(|(i, url)| (format!("Outlet {}", i + 1), url.clone())),
    )?;
    let (scheduler, ids) = (&polling.scheduler, &polling.ids);

    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let reports = runtime.block_on(scheduler.poll_now(ids, |_| {}))?;
    let poll = t0.elapsed();
    let ok = reports
        .iter()
        .filter(|r| r.status == FetchStatus::Ok)
        .count();
    let new: usize = reports.iter().map(|r| r.ingest.new_articles).sum();
    let t1 = Instant::now();
    let pages = runtime.block_on(scheduler.fetch_pages())?;
    let fetch = t1.elapsed();
    let cpu = cpu_time().saturating_sub(cpu0);

    // `extract` alone, on one page.
    let one = page(&chrome(1), 1, 0);
    let url = url::Url::parse(&format!(
        "{}/news/0.html",
        &feed_urls[0].trim_end_matches("/feed.xml")
    ))?;
    let got = extract(one.as_bytes(), Some("text/html; charset=utf-8"), &url)
        .map_err(|e| anyhow::anyhow!("the bench page gives no article: {e}"))?;
    let want: usize = article(1, 0)
        .paragraphs
        .iter()
        .map(|p| p.split_whitespace().count())
        .sum();
    let leaked = ["Subscribe", "Most read", "newsletter", "cookies"]
        .iter()
        .filter(|w| got.text.contains(*w))
        .count();
    let t2 = Instant::now();
    for _ in 0..100 {
        std::hint::black_box(extract(one.as_bytes(), Some("text/html"), &url).ok());
    }
    let extract_ms = t2.elapsed().as_secs_f64() * 1000.0 / 100.0;
    let rss_mib = peak_rss_kib() as f64 / 1024.0;

    println!(
        "{hosts} feeds x {items} items on {hosts} hosts, pages {:.0} KB each (mean of {hosts}); extract on one page: {} of {want} article words, {leaked} chrome markers leaked",
        page_bytes as f64 / hosts as f64 / 1000.0,
        got.words
    );
    println!(
        "poll: {ok}/{} feeds ok, {new} new items; pages: {} full texts, {} without an article, {} failed, {} refused",
        reports.len(),
        pages.completed,
        pages.no_article,
        pages.failed,
        pages.refused
    );
    let n = pages.total();
    println!(
        "summary: poll_now {:.3} s | fetch_pages {:.3} s for {n} pages = {:.0} pages/s | extract {extract_ms:.2} ms/page | cpu {:.2} s | peak RSS {rss_mib:.0} MiB | targets: 1000 pages <= 10 s {}, RSS <= 250 MB {}",
        poll.as_secs_f64(),
        fetch.as_secs_f64(),
        n as f64 / fetch.as_secs_f64().max(1e-9),
        cpu.as_secs_f64(),
        if n >= 1000 && n as f64 / fetch.as_secs_f64().max(1e-9) >= 100.0 {
            "met"
        } else {
            "MISSED"
        },
        if rss_mib * 1.048_576 <= 250.0 {
            "met"
        } else {
            "MISSED"
        },
    );
    runtime.shutdown_background();
    Ok(())
}
