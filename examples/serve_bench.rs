//! Benchmark of the merged feed over HTTP: a store of 1,000,000 articles, `wrk` against
//! `/feed.atom?limit=50` for full responses and for 304s, and nginx serving the same bytes
//! as a static file in the same run, for scale; before that, uncached searches (`q=`) and a
//! deep page of older stories (`before=`), one request at a time.
//!
//! ```sh
//! apt-get install -y wrk nginx-light       # once
//! cargo run --release --example serve_bench -- [--articles 1000000] [--dir target/serve-bench]
//!                                               [--duration 10] [--connections 32] [--threads 2]
//! ```
//!
//! The store is built once in `--dir` and reused by later runs with the same `--articles`.
//! Prints one line per measurement and a JSON summary line. Targets (issue 6): full
//! responses ≥ 5,000 req/s with p99 ≤ 20 ms; 304s ≥ 20,000 req/s; full responses at least
//! half of nginx's rate.
//!
//! `--pages 1` measures the story page and the sources page instead (no nginx): `wrk`
//! requests `/story/{id}` for ids drawn at random over the whole store (the story page is
//! never cached, so every request reads the store), then the same with `If-None-Match` of
//! one story (304), and the first (uncached) `/sources`. Target (issue 16): `/story/{id}`
//! p99 ≤ 50 ms uncached under `wrk -c8` (`--connections 8`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use tributary::config::Config;
use tributary::model::{Article, MatchKind};
use tributary::store::{FeedSpec, Store, Upsert};

struct Args {
    articles: usize,
    dir: PathBuf,
    duration: u32,
    connections: u32,
    threads: u32,
    pages: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        articles: 1_000_000,
        dir: PathBuf::from("target/serve-bench"),
        duration: 10,
        connections: 32,
        threads: 2,
        pages: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--articles" => a.articles = value.parse()?,
            "--dir" => a.dir = value.into(),
            "--duration" => a.duration = value.parse()?,
            "--connections" => a.connections = value.parse()?,
            "--threads" => a.threads = value.parse()?,
            "--pages" => a.pages = value == "1" || value == "true",
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(a)
}

const FEEDS: usize = 100;

fn config_text(port: u16) -> String {
    let mut s = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"http://127.0.0.1:{port}/\"\n\
         title = \"Benchmark river\"\n\n[storage]\npath = \"bench.db\"\n"
    );
    for i in 0..FEEDS {
        s.push_str(&format!(
            "\n[[feeds]]\nname = \"Outlet {i:03}\"\nurl = \"https://outlet{i:03}.example/rss\"\ntags = [\"{}\"]\n",
            ["world", "business", "science", "sport"][i % 4]
        ));
    }
    s
}

fn article(n: usize, published: DateTime<Utc>) -> Article {
    let words = "harbour council vote minister statement markets rally weather storm election \
                 court ruling energy prices talks summit agreement rescue flood vaccine";
    let w: Vec<&str> = words.split_whitespace().collect();
    let title: Vec<&str> = (0..9).map(|k| w[(n * 7 + k * 3) % w.len()]).collect();
    let para: Vec<&str> = (0..45).map(|k| w[(n * 11 + k * 5) % w.len()]).collect();
    let para = para.join(" ");
    Article {
        key: format!("item-{n}"),
        guid: Some(format!("https://news.example/{n}")),
        url: Some(format!("https://news.example/story/{n}")),
        title: format!("{} {n}", title.join(" ")),
        summary_html: Some(format!("<p>{para}.</p>")),
        content_html: Some(format!(
            "<p>{para}.</p><p>{para}, <a href=\"https://news.example/more/{n}\">more</a>.</p><p>{para}.</p>"
        )),
        text: para,
        authors: vec![format!("Reporter {}", n % 500)],
        categories: vec!["News".into()],
        published: Some(published),
        ..Default::default()
    }
}

/// Builds the store: `articles` copies in stories of one to three copies from different
/// outlets, one story every 30 seconds.
fn populate(config: &Config, articles: usize) -> Result<()> {
    let mut store = Store::open(&config.storage.path)?;
    let (_, have, _) = store.counts()?;
    if have as usize >= articles {
        println!(
            "store: reusing {have} articles in {}",
            config.storage.path.display()
        );
        return Ok(());
    }
    if have > 0 {
        bail!(
            "{} holds {have} articles, not {articles}: remove it first",
            config.storage.path.display()
        );
    }
    let specs: Vec<FeedSpec> = config
        .feeds
        .iter()
        .map(|f| FeedSpec::of(config, f))
        .collect();
    let ids = store.sync_feeds(&specs)?;
    let feeds: Vec<i64> = specs.iter().map(|s| ids[&s.url]).collect();
    let start = Instant::now();
    let epoch = DateTime::from_timestamp(1_700_000_000, 0).context("epoch")?;
    let mut n = 0usize;
    let mut story_no = 0usize;
    while n < articles {
        let mut batch = store.begin()?;
        let end = (n + 20_000).min(articles);
        while n < end {
            let copies = (story_no % 3 + 1).min(end - n);
            let when = epoch + chrono::Duration::seconds(30 * story_no as i64);
            let mut story = None;
            for c in 0..copies {
                let feed = feeds[(story_no * 7 + c * 13) % feeds.len()];
                let a = article(n, when + chrono::Duration::seconds(c as i64 * 60));
                let Upsert::New { article: id } = batch.upsert_article(feed, &a, when)? else {
                    bail!("article {n} was not new");
                };
                batch.index_copy(id, &a.title, &a.text, true)?;
                match story {
                    None => story = Some(batch.new_story(id, when)?),
                    Some(s) => batch.join_story(id, s, MatchKind::Content, 0.6, "", when)?,
                }
                n += 1;
            }
            story_no += 1;
        }
        batch.commit()?;
        if n.is_multiple_of(200_000) || n == articles {
            println!("store: {n} articles, {:.0?}", start.elapsed());
        }
    }
    Ok(())
}

/// Requests/s and p99 latency (ms) from wrk's `--latency` output.
fn parse_wrk(out: &str) -> Result<(f64, f64)> {
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .context("wrk printed no Requests/sec")?
        .trim()
        .parse()?;
    let p99 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .context("wrk printed no 99% latency")?
        .trim();
    let ms = if let Some(v) = p99.strip_suffix("us") {
        v.parse::<f64>()? / 1000.0
    } else if let Some(v) = p99.strip_suffix("ms") {
        v.parse()?
    } else if let Some(v) = p99.strip_suffix('s') {
        v.parse::<f64>()? * 1000.0
    } else {
        bail!("cannot read the latency {p99}")
    };
    Ok((rps, ms))
}

fn wrk(a: &Args, url: &str, header: Option<&str>) -> Result<(f64, f64, String)> {
    wrk_with(a, url, header, None)
}

fn wrk_with(
    a: &Args,
    url: &str,
    header: Option<&str>,
    script: Option<&Path>,
) -> Result<(f64, f64, String)> {
    let mut cmd = Command::new("wrk");
    if let Some(script) = script {
        cmd.arg("-s").arg(script);
    }
    cmd.args([
        "-t",
        &a.threads.to_string(),
        "-c",
        &a.connections.to_string(),
        "-d",
        &format!("{}s", a.duration),
        "--latency",
    ]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    let out = cmd
        .arg(url)
        .output()
        .context("cannot run wrk (apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let non_2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .map(str::trim)
        .unwrap_or("")
        .to_string();
    let (rps, p99) = parse_wrk(&text)?;
    Ok((rps, p99, non_2xx))
}

/// nginx serving `root` on `port`, in the foreground, until the child is killed.
fn nginx(dir: &Path, root: &Path, port: u16) -> Result<std::process::Child> {
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off; worker_processes 2; pid {dir}/nginx.pid; error_log {dir}/nginx-error.log;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;\n\
               types {{ application/atom+xml atom; }}\n\
               server {{ listen 127.0.0.1:{port}; root {root}; etag on; }} }}\n",
            dir = dir.display(),
            root = root.display()
        ),
    )?;
    Command::new("nginx")
        .args([
            "-c",
            &conf.display().to_string(),
            "-p",
            &dir.display().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start nginx (apt-get install nginx-light)")
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn main() -> Result<()> {
    let a = args()?;
    std::fs::create_dir_all(&a.dir)?;
    let dir = std::path::absolute(&a.dir)?;
    let port = free_port()?;
    let config_path = dir.join("feeds.toml");
    std::fs::write(&config_path, config_text(port))?;
    let config = Arc::new(Config::load(&config_path)?);
    populate(&config, a.articles)?;

    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))?;
    let app = tributary::serve::routes(tributary::serve::FeedService::new(config.clone()));
    runtime.spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://127.0.0.1:{port}/feed.atom?limit=50");

    let client = reqwest::Client::builder().no_gzip().build()?;
    let get = |url: &str| {
        runtime.block_on(async {
            let r = client.get(url).send().await?;
            let status = r.status().as_u16();
            let etag = r
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            Ok::<_, reqwest::Error>((status, etag, r.bytes().await?))
        })
    };
    if a.pages {
        return pages(&a, &dir, &config, port, &get);
    }
    let t = Instant::now();
    let (_, etag, body) = get(&url)?;
    let etag = etag.context("no ETag")?;
    let cold = t.elapsed();
    println!(
        "document: {} bytes, first (uncached) response {:.1} ms, ETag {etag}",
        body.len(),
        cold.as_secs_f64() * 1000.0
    );

    // Uncached: every request a query string not asked before (the cache is keyed by it).
    let base = format!("http://127.0.0.1:{port}/feed.atom");
    let middle = a.articles / 2;
    let cases = [
        (
            "q=harbour (a word in half the copies)",
            "q=harbour".to_string(),
        ),
        (
            "q=\"harbour minister\" (a phrase in a tenth of the copies)",
            "q=%22harbour+minister%22".to_string(),
        ),
        (
            "q=\"harbour council\" (a phrase of two common words found nowhere)",
            "q=%22harbour+council%22".to_string(),
        ),
        ("q=harb* (prefix)", "q=harb*".to_string()),
        ("q=<one title's number> (one copy)", format!("q={middle}")),
        ("no q (the river, for scale)", String::new()),
    ];
    for (name, q) in cases {
        let mut ms = Vec::new();
        for limit in 45..50 {
            let sep = if q.is_empty() { "" } else { "&" };
            let t = Instant::now();
            let (status, _, _) = get(&format!("{base}?{q}{sep}limit={limit}"))?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            if status != 200 {
                bail!("{name}: status {status}");
            }
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "uncached {name}: min {:.1} ms, median {:.1} ms, max {:.1} ms",
            ms[0], ms[2], ms[4]
        );
    }
    // A page deep in the past: follow `next` links from the first page a few times.
    let mut next = format!("{base}?limit=50");
    let t = Instant::now();
    for _ in 0..20 {
        let (_, _, body) = get(&next)?;
        let feed = atom_syndication::Feed::read_from(&body[..])?;
        next = feed
            .links()
            .iter()
            .find(|l| l.rel() == "next")
            .map(|l| l.href().to_string())
            .context("a next link")?;
    }
    println!(
        "older pages: 20 followed, {:.1} ms each",
        t.elapsed().as_secs_f64() * 1000.0 / 20.0
    );

    let static_root = dir.join("static");
    std::fs::create_dir_all(&static_root)?;
    std::fs::write(static_root.join("feed.atom"), &body)?;
    let nginx_port = free_port()?;
    let mut nginx = nginx(&dir, &static_root, nginx_port)?;
    let nginx_url = format!("http://127.0.0.1:{nginx_port}/feed.atom");
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while !matches!(get(&nginx_url), Ok((200, _, _))) {
        if Instant::now() > deadline {
            let _ = nginx.kill();
            bail!("nginx did not answer on {nginx_url}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // Searches under load, each likely a query string not asked before (so uncached): one
    // or two of the 20 words, every word in about half the copies, and a page size of 50-99.
    let script = dir.join("random-search.lua");
    std::fs::write(
        &script,
        "math.randomseed(16)\n\
         words = {\"harbour\", \"council\", \"vote\", \"minister\", \"statement\", \"markets\", \"rally\", \
         \"weather\", \"storm\", \"election\", \"court\", \"ruling\", \"energy\", \"prices\", \"talks\", \
         \"summit\", \"agreement\", \"rescue\", \"flood\", \"vaccine\"}\n\
         request = function()\n\
           local q = words[math.random(#words)]\n\
           local second = math.random(0, #words)\n\
           if second > 0 then q = q .. \"+\" .. words[second] end\n\
           return wrk.format(\"GET\", \"/feed.atom?q=\" .. q .. \"&limit=\" .. math.random(50, 99))\n\
         end\n",
    )?;
    let search = wrk_with(&a, &url, None, Some(&script));
    let inm = format!("If-None-Match: {etag}");
    let full = wrk(&a, &url, None);
    let not_modified = wrk(&a, &url, Some(&inm));
    let stat = wrk(&a, &nginx_url, None);
    // `-s quit` stops the workers too; killing the master alone would orphan them.
    let _ = Command::new("nginx")
        .args(["-c", &dir.join("nginx.conf").display().to_string()])
        .args(["-p", &dir.display().to_string(), "-s", "quit"])
        .status();
    let _ = nginx.wait();
    let (full, not_modified, stat, search) = (full?, not_modified?, stat?, search?);
    let line = |name: &str, r: &(f64, f64, String)| {
        println!(
            "{name:<28} {:>9.0} req/s   p99 {:>6.2} ms   {}",
            r.0, r.1, r.2
        );
    };
    println!(
        "wrk -t{} -c{} -d{}s, {} articles, {} bytes per document",
        a.threads,
        a.connections,
        a.duration,
        a.articles,
        body.len()
    );
    line("tributary full (200)", &full);
    line("tributary If-None-Match (304)", &not_modified);
    line("nginx static file (200)", &stat);
    line("q= random common words (200)", &search);
    let ratio = full.0 / stat.0;
    println!("full / nginx: {ratio:.2}");
    println!(
        "{}",
        serde_json::json!({
            "articles": a.articles, "bytes": body.len(),
            "full_rps": full.0.round(), "full_p99_ms": full.1,
            "not_modified_rps": not_modified.0.round(), "not_modified_p99_ms": not_modified.1,
            "nginx_rps": stat.0.round(), "nginx_p99_ms": stat.1, "full_over_nginx": (ratio * 100.0).round() / 100.0,
            "search_rps": search.0.round(), "search_p99_ms": search.1, "search_target_met": search.1 <= 50.0,
            "targets_met": full.0 >= 5000.0 && full.1 <= 20.0 && not_modified.0 >= 20000.0 && ratio >= 0.5,
        })
    );
    Ok(())
}

type Get<'a> =
    dyn Fn(&str) -> Result<(u16, Option<String>, axum::body::Bytes), reqwest::Error> + 'a;

/// `--pages 1`: the story page at random ids, its 304, and the first `/sources`.
fn pages(a: &Args, dir: &Path, config: &Config, port: u16, get: &Get<'_>) -> Result<()> {
    let (_, _, stories) = Store::open(&config.storage.path)?.counts()?;
    let base = format!("http://127.0.0.1:{port}");
    let t = Instant::now();
    let (status, etag, body) = get(&format!("{base}/story/1"))?;
    let first = t.elapsed();
    if status != 200 {
        bail!("/story/1 answered {status}");
    }
    let etag = etag.context("no ETag on the story page")?;
    println!(
        "story page: {} bytes, first response {:.1} ms",
        body.len(),
        first.as_secs_f64() * 1000.0
    );
    let script = dir.join("random-story.lua");
    std::fs::write(
        &script,
        format!(
            "math.randomseed(16)\nrequest = function()\n  return wrk.format(\"GET\", \"/story/\" .. math.random(1, {stories}))\nend\n"
        ),
    )?;
    let random = wrk_with(a, &format!("{base}/story/1"), None, Some(&script))?;
    let inm = format!("If-None-Match: {etag}");
    let not_modified = wrk(a, &format!("{base}/story/1"), Some(&inm))?;
    let t = Instant::now();
    let (status, _, sources) = get(&format!("{base}/sources"))?;
    let sources_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "wrk -t{} -c{} -d{}s, {} articles, {stories} stories",
        a.threads, a.connections, a.duration, a.articles
    );
    for (name, r) in [
        ("/story/{random id} (200)", &random),
        ("/story/1 If-None-Match (304)", &not_modified),
    ] {
        println!(
            "{name:<30} {:>9.0} req/s   p99 {:>6.2} ms   {}",
            r.0, r.1, r.2
        );
    }
    println!(
        "/sources first (uncached): {status}, {} bytes, {sources_ms:.1} ms",
        sources.len()
    );
    println!(
        "{}",
        serde_json::json!({
            "articles": a.articles, "stories": stories, "connections": a.connections,
            "story_rps": random.0.round(), "story_p99_ms": random.1,
            "story_304_rps": not_modified.0.round(), "story_304_p99_ms": not_modified.1,
            "sources_first_ms": (sources_ms * 10.0).round() / 10.0,
            "story_target_met": random.1 <= 50.0,
        })
    );
    Ok(())
}
