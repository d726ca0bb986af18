//! Full text and dedup end to end on the real dev sets: every document of
//! `tests/data/real-dev.json` and `tests/data/real-dev2.json` becomes a one-item RSS feed
//! (title, a link, a 45-word description, pubDate as `tests/support/real_set.rs` computes)
//! whose link is a local article page holding the document's text (header chrome, `<h1>`,
//! one `<p>` per text line, footer). The feeds are polled and the pages fetched through the
//! same code as `tributary fetch` (Scheduler::poll_now, then fetch_pages), and the stories
//! are scored like shared/tools/harness.py does: pairwise precision and recall over the
//! must-merge groups (documents sharing a story_id); pairs touching a soft document (role
//! `rewrite-crediting-wire` or borderline) that are not must-merge pairs are left out.
//!
//! Runs: `full_text = "auto"` (the pages give the full text), `full_text = "never"` (the
//! 45-word descriptions alone), and for reference the feeds carrying the text themselves
//! (`content:encoded`, `never`).
//!
//! ```text
//! cargo run --release --example fulltext-dedup [-- SET.json ...] [--hosts N] [--errors]
//! ```
//! Each document's feed and page are on a loopback address of their own (127.0.0.1 … 185):
//! dedup keys an outlet by its link's host (`fingerprint::site_key`, port ignored) and
//! keeps two items of one outlet apart unless one republishes the other, so serving every
//! page from 127.0.0.1 would make all 185 documents one outlet and merge next to nothing.
//! `--hosts N` puts them on N addresses round robin instead (`--hosts 1`: all on 127.0.0.1,
//! which also paces the pages at 60 a minute, about two minutes for the `auto` run).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tributary::model::FetchStatus;

#[path = "common/bench_support.rs"]
mod bench_support;
#[path = "common/real_score.rs"]
mod real_score;
#[path = "../tests/support/real_set.rs"]
mod real_set;
use real_score::{Counts, Pair, judge_pairs, url_key};
use real_set::esc;

/// One document as served.
struct Served {
    /// The one-item feed with a 45-word description (`lede`).
    lede: Vec<u8>,
    /// The one-item feed carrying the text (`content:encoded`).
    full: Vec<u8>,
    /// The article page.
    page: String,
}

/// One labelled document.
struct Doc {
    id: String,
    story: String,
    event: String,
    soft: bool,
    feed_name: String,
    /// Base URL of its host.
    base: String,
    index: usize,
}

impl Doc {
    fn page_url(&self) -> String {
        format!("{}/page/{}.html", self.base, self.index)
    }
}

/// `d`'s feed from real_set.rs with its link pointing at `page_url`.
fn feed_with_link(d: &serde_json::Value, index: usize, lede: bool, page_url: &str) -> Vec<u8> {
    let feed =
        String::from_utf8(real_set::real_item_feed(d, index, lede, None)).unwrap_or_default();
    let original = format!("<link>{}</link>", esc(d["url"].as_str().unwrap_or("")));
    feed.replacen(&original, &format!("<link>{}</link>", esc(page_url)), 1)
        .into_bytes()
}

/// The article page of `d`: outlet chrome around an `<article>` with one `<p>` a line.
fn article_page(d: &serde_json::Value) -> String {
    let s = |k: &str| esc(d[k].as_str().unwrap_or(""));
    let (title, outlet) = (s("title"), s("outlet"));
    let body: String = d["text"]
        .as_str()
        .unwrap_or("")
        .split('\n')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>\n", esc(p)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n\
         <header><a class=\"logo\" href=\"/\">{outlet}</a><nav><a href=\"/world\">World</a> <a href=\"/business\">Business</a> \
         <a href=\"/sport\">Sport</a> <a href=\"/opinion\">Opinion</a> <a href=\"/subscribe\">Subscribe</a></nav></header>\n\
         <article><h1>{title}</h1>\n{body}</article>\n\
         <footer><p>© {outlet}. All rights reserved.</p><a href=\"/privacy\">Privacy</a> <a href=\"/terms\">Terms</a> \
         <a href=\"/contact\">Contact us</a></footer>\n</body></html>\n",
        s("language")
    )
}

async fn serve(
    State(docs): State<Arc<Vec<Served>>>,
    Path((kind, name)): Path<(String, String)>,
) -> axum::response::Response {
    let Some(i) = name.split('.').next().and_then(|n| n.parse::<usize>().ok()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(d) = docs.get(i) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let rss = "application/rss+xml; charset=utf-8";
    match kind.as_str() {
        "lede" => ([(header::CONTENT_TYPE, rss)], d.lede.clone()).into_response(),
        "full" => ([(header::CONTENT_TYPE, rss)], d.full.clone()).into_response(),
        "page" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            d.page.clone(),
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What one run gave.
struct Outcome {
    all: Counts,
    per_event: BTreeMap<String, Counts>,
    cross_event_fp: usize,
    soft_merged: usize,
    missing: usize,
    errors: Vec<String>,
    summary: String,
}

/// Polls every document's feed (`kind`: lede or full) under `full_text`, fetches the pages,
/// and scores the stories.
fn run(
    runtime: &tokio::runtime::Runtime,
    docs: &[Doc],
    kind: &str,
    full_text: &str,
) -> Result<Outcome> {
    let polling = bench_support::polling(
        &format!("full_text = \"{full_text}\"\n"),
        docs.iter().map(|d| {
            (
                d.feed_name.clone(),
                format!("{}/{kind}/{}.xml", d.base, d.index),
            )
        }),
    )?;
    let (scheduler, store, ids) = (&polling.scheduler, &polling.store, &polling.ids);
    let t0 = Instant::now();
    let reports = runtime.block_on(scheduler.poll_now(ids, |_| {}))?;
    let poll = t0.elapsed();
    let t1 = Instant::now();
    let pages = runtime.block_on(scheduler.fetch_pages())?;
    let fetch = t1.elapsed();
    let ok = reports
        .iter()
        .filter(|r| r.status == FetchStatus::Ok)
        .count();
    let stories = store.lock().recent_stories(usize::MAX)?;
    let summary = format!(
        "{ok}/{} feeds ok in {:.2} s; pages in {:.2} s: {} full texts, {} without an article, {} failed, {} refused, {} story merges; {} stories",
        reports.len(),
        poll.as_secs_f64(),
        fetch.as_secs_f64(),
        pages.completed,
        pages.no_article,
        pages.failed,
        pages.refused,
        pages.story_merges,
        stories.len()
    );

    let url_to_doc: HashMap<String, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (url_key(&d.page_url()), i))
        .collect();
    let mut cluster: HashMap<usize, usize> = HashMap::new();
    for (s, story) in stories.iter().enumerate() {
        for c in &story.copies {
            if let Some(&i) = c.url.as_deref().and_then(|u| url_to_doc.get(&url_key(u))) {
                cluster.insert(i, s);
            }
        }
    }
    let mut out = Outcome {
        all: Counts::default(),
        per_event: BTreeMap::new(),
        cross_event_fp: 0,
        soft_merged: 0,
        missing: docs.len() - cluster.len(),
        errors: Vec::new(),
        summary,
    };
    let mut bad_stories = std::collections::BTreeSet::new();
    let pairs = judge_pairs(
        docs.len(),
        |a, b| docs[a].story == docs[b].story,
        |a| docs[a].soft,
        |a| cluster.get(&a).copied(),
    );
    for (a, b, pair) in pairs {
        let (da, db) = (&docs[a], &docs[b]);
        out.all.add(pair);
        match pair {
            Pair::Tp | Pair::Fn => {
                out.per_event.entry(da.event.clone()).or_default().add(pair);
                if pair == Pair::Fn {
                    out.errors.push(format!("missed {}~{}", da.id, db.id));
                }
            }
            Pair::SoftMerged => out.soft_merged += 1,
            Pair::Fp => {
                if da.event == db.event {
                    out.per_event.entry(da.event.clone()).or_default().fp += 1;
                } else {
                    out.cross_event_fp += 1;
                }
                out.errors.push(format!("false {}~{}", da.id, db.id));
                if let Some(&s) = cluster.get(&a) {
                    bad_stories.insert(s);
                }
            }
        }
    }
    // The stories holding a false pair: their copies, how each joined, and the merges.
    for s in bad_stories {
        let story = &stories[s];
        out.errors
            .push(format!("  story {} (false pairs):", story.id));
        for c in &story.copies {
            let id = c
                .url
                .as_deref()
                .and_then(|u| url_to_doc.get(&url_key(u)))
                .map_or("?", |&i| docs[i].id.as_str());
            out.errors.push(format!(
                "    {id:<34} {:<8} score {:.2} {}{}",
                c.kind.as_str(),
                c.score,
                c.thresholds,
                if c.representative { " (rep)" } else { "" }
            ));
        }
        let merges = store.lock().merges_into(story.id)?;
        for (absorbed, _, why) in merges {
            out.errors
                .push(format!("    merged story {absorbed}: {why}"));
        }
    }
    Ok(out)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let hosts: Option<usize> = args
        .iter()
        .position(|a| a == "--hosts")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok());
    let show_errors = args.iter().any(|a| a == "--errors");
    let mut sets: Vec<String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| a.ends_with(".json") && (*i == 0 || args[i - 1] != "--hosts"))
        .map(|(_, a)| a.clone())
        .collect();
    if sets.is_empty() {
        let root = env!("CARGO_MANIFEST_DIR");
        sets = ["real-dev.json", "real-dev2.json"]
            .iter()
            .map(|f| format!("{root}/tests/data/{f}"))
            .collect();
    }
    let mut values: Vec<serde_json::Value> = Vec::new();
    for f in &sets {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {f}"))?;
        let v: Vec<serde_json::Value> = serde_json::from_str(&text)?;
        values.extend(v);
    }

    let hosts = hosts.unwrap_or(values.len()).clamp(1, 254);
    let runtime = bench_support::runtime()?;
    let mut listeners = Vec::new();
    let mut bases = Vec::new();
    for h in 1..=hosts {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, h as u8));
        let l = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::new(ip, 0)))
            .with_context(|| format!("cannot listen on {ip}"))?;
        bases.push(format!("http://{}", l.local_addr()?));
        listeners.push(l);
    }
    let mut docs = Vec::new();
    let mut served = Vec::new();
    for (i, d) in values.iter().enumerate() {
        let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
        let doc = Doc {
            id: s("id"),
            story: s("story_id"),
            event: s("event_id"),
            soft: s("role") == "rewrite-crediting-wire" || d["borderline"].as_bool() == Some(true),
            feed_name: format!("{} ({})", s("outlet"), s("id")),
            base: bases[i % hosts].clone(),
            index: i,
        };
        let url = doc.page_url();
        served.push(Served {
            lede: feed_with_link(d, i, true, &url),
            full: feed_with_link(d, i, false, &url),
            page: article_page(d),
        });
        docs.push(doc);
    }
    let served = Arc::new(served);
    for l in listeners {
        let app = axum::Router::new()
            .route("/{kind}/{name}", axum::routing::get(serve))
            .with_state(served.clone());
        runtime.spawn(async move { axum::serve(l, app).await });
    }
    let ids: HashSet<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    println!(
        "{} documents ({} ids) from {}, on {hosts} host(s)",
        docs.len(),
        ids.len(),
        sets.iter()
            .map(|s| s.rsplit('/').next().unwrap_or(s))
            .collect::<Vec<_>>()
            .join(" + ")
    );

    let runs = [
        (
            "lede",
            "auto",
            "45-word descriptions + pages (full_text = auto)",
        ),
        (
            "lede",
            "never",
            "45-word descriptions alone (full_text = never)",
        ),
        (
            "full",
            "never",
            "feed carries the text (content:encoded, never)",
        ),
    ];
    let mut outcomes = Vec::new();
    for (kind, full_text, label) in runs {
        let o = run(&runtime, &docs, kind, full_text)?;
        println!("== {label}\n   {}", o.summary);
        println!(
            "   P {:.4}  R {:.4}  tp {}  fp {}  fn {}  (soft merged {}, cross-event fp {}, missing {})",
            o.all.p(),
            o.all.r(),
            o.all.tp,
            o.all.fp,
            o.all.fn_,
            o.soft_merged,
            o.cross_event_fp,
            o.missing
        );
        outcomes.push((label, o));
    }
    println!("per event (tp/fp/fn):  auto | never | feed text");
    let events: Vec<String> = outcomes[0].1.per_event.keys().cloned().collect();
    for ev in events {
        let cell = |o: &Outcome| {
            let c = o.per_event.get(&ev).copied().unwrap_or_default();
            format!("{:>3}/{:<2}/{:<3}", c.tp, c.fp, c.fn_)
        };
        println!(
            "  {ev:<44} {} | {} | {}",
            cell(&outcomes[0].1),
            cell(&outcomes[1].1),
            cell(&outcomes[2].1)
        );
    }
    if show_errors {
        for (label, o) in &outcomes {
            println!("errors, {label}:");
            for e in &o.errors {
                println!("  {e}");
            }
        }
    }
    runtime.shutdown_background();
    Ok(())
}
