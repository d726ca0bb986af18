//! Shared by the benchmarks and evaluations that poll: the generated outlet feeds, a
//! scheduler set up as `tributary fetch` sets it up, a seeded random stream and the process
//! measurements. Included with `#[path]`, so each example uses what it needs.
#![allow(dead_code)]

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

use tributary::config::Config;
use tributary::daemon::Scheduler;
use tributary::schedule::SystemClock;
use tributary::store::Store;

/// The multi-threaded tokio runtime the examples poll and serve on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// A scheduler on the system clock over a fresh store, as `tributary fetch` builds it.
pub struct Polling {
    pub scheduler: Scheduler,
    pub store: Arc<Mutex<Store>>,
    /// Every configured feed's id, in config order.
    pub ids: Vec<i64>,
    /// Holds feeds.toml and the database; removed on drop.
    _dir: tempfile::TempDir,
}

/// Writes a feeds.toml into a temporary directory (the store there, `fetch` as the body of
/// `[fetch]`, then one `[[feeds]]` per (name, url)), loads it and opens its store and
/// scheduler. With `TRIBUTARY_DATABASE_URL` set, the store is that PostgreSQL database.
pub fn polling(
    fetch: &str,
    feeds: impl IntoIterator<Item = (String, String)>,
) -> anyhow::Result<Polling> {
    let dir = tempfile::tempdir()?;
    let mut text = format!(
        "[storage]\npath = \"{}\"\n\n[fetch]\n{fetch}",
        dir.path().join("bench.db").display()
    );
    for (name, url) in feeds {
        text.push_str(&format!(
            "\n[[feeds]]\nname = {}\nurl = \"{url}\"\n",
            serde_json::to_string(&name)?
        ));
    }
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, text)?;
    // `TRIBUTARY_DATABASE_URL` (an empty PostgreSQL database) puts the store there instead.
    let config = Config::load(&path)?;
    let store = Arc::new(Mutex::new(Store::open_location(
        &config.storage.location(),
    )?));
    let scheduler = Scheduler::new(&config, store.clone(), Arc::new(SystemClock))?;
    let ids = scheduler.feeds().iter().map(|f| f.id).collect();
    Ok(Polling {
        scheduler,
        store,
        ids,
        _dir: dir,
    })
}

/// User + system CPU time of this process, from /proc/self/stat (clock ticks of 1/100 s).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |x| x.1);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields after the name start at field 3 (state); utime is field 14, stime 15.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Peak resident set size of this process in KiB (VmHWM).
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One outlet's feed: `entries` items with distinct titles, links, GUIDs and text (words
/// drawn from a seeded generator, so outlets do not all repeat one templated story).
pub fn document(i: usize, entries: usize) -> String {
    let mut items = String::new();
    for k in 0..entries {
        let mut words = Words::new((i * 1_000_003 + k) as u64);
        let title = words.take(8);
        let text: Vec<String> = (0..3).map(|_| words.take(25)).collect();
        items.push_str(&format!(
            "<item><title>{title}</title>\
             <link>https://outlet{i}.example/news/{k}</link><guid>https://outlet{i}.example/news/{k}</guid>\
             <pubDate>Mon, 14 Jul 2025 {:02}:{:02}:00 GMT</pubDate>\
             <description>&lt;p&gt;{}.&lt;/p&gt;&lt;p&gt;{}.&lt;/p&gt;&lt;p&gt;{}.&lt;/p&gt;</description></item>",
            k % 24,
            (k * 7 + i) % 60,
            text[0],
            text[1],
            text[2],
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Outlet {i}</title>\
         <link>https://outlet{i}.example/</link><description>News from outlet {i}</description>{items}</channel></rss>"
    )
}

/// A deterministic xorshift64* stream.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A deterministic stream of made-up words (two or three syllables each).
pub struct Words(Rng);

const SYLLABLES: [&str; 32] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "bra", "den", "fi", "gor", "hal", "jun", "kel",
    "lan", "mor", "nis", "pol", "quar", "ris", "sto", "tan", "ul", "ver", "wen", "yal", "zor",
    "cha", "dri", "esk", "thu",
];

impl Words {
    fn new(seed: u64) -> Words {
        Words(Rng::new(seed))
    }

    fn take(&mut self, n: usize) -> String {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let r = self.0.next();
            let len = 2 + (r % 2) as usize;
            let word: String = (0..len)
                .map(|j| SYLLABLES[((r >> (8 + 5 * j)) & 31) as usize])
                .collect();
            out.push(word);
        }
        out.join(" ")
    }
}

/// Starts this example again as the feed server child ([`serve_feeds`], which the example's
/// `main` runs when given `--serve FEEDS ENTRIES`), in a process of its own so that its
/// CPU does not count as the poller's; returns it and its port.
pub fn spawn_feed_server(
    feeds: usize,
    entries: usize,
) -> anyhow::Result<(std::process::Child, u16)> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["--serve", &feeds.to_string(), &entries.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("the feed server has no stdout"))?;
    let mut port = String::new();
    std::io::BufReader::new(stdout).read_line(&mut port)?;
    Ok((child, port.trim().parse()?))
}

/// The feed server child (`EXAMPLE --serve FEEDS ENTRIES`): prints its port, then serves `feeds` RSS documents of `entries` items with ETag/Last-Modified and
/// answers matching conditional requests with 304.
pub fn serve_feeds(feeds: usize, entries: usize) -> anyhow::Result<()> {
    use std::io::Write;

    use axum::extract::Path;
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;

    let docs: Arc<Vec<String>> = Arc::new((0..feeds).map(|i| document(i, entries)).collect());
    let runtime = runtime()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut out = std::io::stdout();
        writeln!(out, "{}", listener.local_addr()?.port())?;
        out.flush()?;
        let app = axum::Router::new().route(
            "/feed/{name}",
            axum::routing::get(move |Path(name): Path<String>, h: HeaderMap| {
                let docs = docs.clone();
                async move {
                    let i: usize = name.trim_end_matches(".xml").parse().unwrap_or(usize::MAX);
                    let Some(doc) = docs.get(i) else {
                        return StatusCode::NOT_FOUND.into_response();
                    };
                    let etag = format!("\"{i}-v1\"");
                    if h.get(header::IF_NONE_MATCH)
                        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
                    {
                        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
                    }
                    (
                        [
                            (header::ETAG, etag),
                            (header::CONTENT_TYPE, "application/rss+xml".to_string()),
                            (
                                header::LAST_MODIFIED,
                                "Mon, 14 Jul 2025 12:00:00 GMT".to_string(),
                            ),
                        ],
                        doc.clone(),
                    )
                        .into_response()
                }
            }),
        );
        axum::serve(listener, app).await?;
        anyhow::Ok(())
    })
}
