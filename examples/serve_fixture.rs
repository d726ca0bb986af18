//! Seeds a database with known merged stories for the browser and feed-reader checks
//! (`tests/browser.py`, `tests/clients.py`), and prints what a subscriber must see: the
//! stories newest first, each with its outlets.
//!
//! ```sh
//! cargo run --example serve_fixture -- --config DIR/feeds.toml            # seed, print JSON
//! cargo run --example serve_fixture -- --config DIR/feeds.toml --serve    # and serve it
//! cargo run --example serve_fixture -- --config DIR/feeds.toml --no-seed --serve
//! ```
//!
//! The config's `[[feeds]]` must be the three outlets below (the checks write it); their URLs
//! point at 127.0.0.1 so a daemon polling them reaches nothing else.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::DateTime;
use tributary::config::Config;
use tributary::model::{Article, MatchKind};
use tributary::store::{FeedSpec, Store, Upsert};

/// (title, published offset in minutes, outlets as indexes into the config's feeds, the
/// first being the representative).
const STORIES: &[(&str, i64, &[usize])] = &[
    ("Harbour council approves new sea wall", 0, &[0, 1, 2]),
    ("Central bank holds rates steady", 30, &[1, 0]),
    ("Storm closes mountain passes <b>overnight</b>", 60, &[2]),
    ("Rescue teams reach flooded villages", 90, &[0, 2]),
    ("Museum returns looted bronzes", 120, &[1]),
    ("Vaccine trial reports early results", 150, &[2, 1, 0]),
];

const HOSTILE: &str = r#"<p onclick="alert(2)">Details <script>alert(3)</script>
<img src=x onerror="alert(4)"> <a href="javascript:alert(5)">more</a></p>"#;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut config_path = None;
    let mut serve = false;
    let mut seed = true;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => config_path = args.next(),
            "--serve" => serve = true,
            "--no-seed" => seed = false,
            _ => bail!("unknown argument {a}"),
        }
    }
    let config_path = config_path.context("--config PATH is required")?;
    let config = Arc::new(Config::load(config_path.as_ref())?);
    if config.feeds.len() < 3 {
        bail!("the config needs three feeds");
    }
    if seed {
        seed_store(&config)?;
    }
    if serve {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(&config.server.listen).await?;
            let app = tributary::serve::routes(tributary::serve::FeedService::new(config.clone()));
            axum::serve(listener, app).await?;
            Ok::<_, anyhow::Error>(())
        })?;
    }
    Ok(())
}

/// Writes the known stories and prints them, newest first, as JSON.
fn seed_store(config: &Config) -> Result<()> {
    let mut store = Store::open(&config.storage.path)?;
    let specs: Vec<FeedSpec> = config
        .feeds
        .iter()
        .map(|f| FeedSpec::of(config, f))
        .collect();
    let ids = store.sync_feeds(&specs)?;
    let feeds: Vec<i64> = specs.iter().map(|s| ids[&s.url]).collect();
    let base = DateTime::from_timestamp(1_752_487_200, 0).context("time")?;
    let mut expected = Vec::new();
    let mut batch = store.begin()?;
    for (n, (title, minutes, outlets)) in STORIES.iter().enumerate() {
        let when = base + chrono::Duration::minutes(*minutes);
        let mut story = None;
        let mut copies = Vec::new();
        for (k, &o) in outlets.iter().enumerate() {
            let url = format!("https://outlet{o}.example/news/{n}");
            let a = Article {
                key: url.clone(),
                guid: Some(url.clone()),
                url: Some(url.clone()),
                title: if k == 0 {
                    title.to_string()
                } else {
                    format!("{title} (outlet {o})")
                },
                summary_html: Some(if n == 2 {
                    HOSTILE.to_string()
                } else {
                    format!("<p>What happened in story {n}, as told by outlet {o}.</p>")
                }),
                text: format!("What happened in story {n}."),
                published: Some(when + chrono::Duration::minutes(k as i64 * 5)),
                ..Default::default()
            };
            let Upsert::New { article } = batch.upsert_article(feeds[o], &a, when)? else {
                bail!("the database already holds the fixture: use a fresh one");
            };
            // Searchable as ingest makes a copy searchable.
            batch.index_copy(article, &a.title, &a.text, true)?;
            match story {
                None => story = Some(batch.new_story(article, when)?),
                Some(s) => batch.join_story(article, s, MatchKind::Content, 0.6, "", when)?,
            }
            copies.push(serde_json::json!({ "outlet": config.feeds[o].name(), "url": url }));
        }
        expected
            .push(serde_json::json!({ "title": title, "published": minutes, "copies": copies }));
    }
    batch.commit()?;
    expected.reverse(); // newest first
    println!("{}", serde_json::to_string(&expected)?);
    Ok(())
}
