//! `tributary fetch` and `tributary run` as a user runs them: the binary against feeds on a
//! server bound to 127.0.0.1, signals sent with kill(1), state read back with the CLI.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{Daemon, Reply, TestServer, bin, feed, http_get, rss, wait_for};

/// A config in a temp dir: `[server]` on a free port, feeds (name, url) polled every second.
fn write_config(dir: &Path, feeds: &[(&str, String)]) -> PathBuf {
    let mut text = String::from(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\npath = \"t.db\"\n\n[fetch]\nschedule = \"* * * * * *\"\ntimeout = \"10s\"\n",
    );
    for (name, url) in feeds {
        text.push_str(&format!(
            "\n[[feeds]]\nname = \"{name}\"\nurl = \"{url}\"\n"
        ));
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn tributary(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn fetch_prints_a_line_per_feed_and_a_summary_and_exits_1_when_one_failed() {
    let server = TestServer::start();
    server.route("/a", feed(rss("A", "a", 3, "")));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[("A", server.url("/a")), ("Missing", server.url("/missing"))],
    );
    let out = tributary(&config, &["fetch"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("A: 3 new"), "{stdout}");
    assert!(
        stdout.contains("Missing:") && stdout.contains("404"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 feeds: 1 ok, 0 not modified, 1 failed; 3 new articles, 3 new stories"),
        "{stdout}"
    );
    // Only the named feed, and now it is unchanged.
    let out = tributary(&config, &["fetch", "A"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("1 feeds: 0 ok, 1 not modified, 0 failed"),
        "{stdout}"
    );
    // The failure is visible in `feeds list --json`.
    let out = tributary(&config, &["feeds", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let missing = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Missing")
        .unwrap();
    assert_eq!(missing["error_count"], 1);
    assert_eq!(missing["last_status"], "error");
    assert!(missing["last_error"].as_str().unwrap().contains("404"));
    assert_eq!(missing["last_error_kind"], "http_status");
    assert!(missing["next_fetch"].is_string());
    let out = tributary(&config, &["feeds", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("errors: 1 in a row, last (http_status): "),
        "{text}"
    );
    let out = tributary(&config, &["fetch", "Nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_serves_healthz_and_metrics_and_reloads_on_file_change_and_sighup() {
    let server = TestServer::start();
    for p in ["/a", "/b", "/c"] {
        server.route(p, feed(rss(p, &p[1..], 2, "")));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("A", server.url("/a"))]);
    let daemon = Daemon::start(&config);
    let addr = daemon.addr();
    let (status, body) = http_get(&addr, "/healthz");
    assert_eq!(status, 200);
    assert!(body.contains("\"ok\""), "{body}");
    assert!(
        wait_for(Duration::from_secs(10), || server.hits("/a") >= 1),
        "{}",
        daemon.log_text()
    );
    assert!(daemon.wait_log("fetched", Duration::from_secs(10)));
    let (status, metrics) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("tributary_fetches_total")
            && metrics.contains("tributary_fetch_duration_seconds"),
        "{metrics}"
    );

    // An edit of the file is noticed without a signal.
    let text = std::fs::read_to_string(&config).unwrap();
    let with_b = format!(
        "{text}\n[[feeds]]\nname = \"B\"\nurl = \"{}\"\n",
        server.url("/b")
    );
    std::fs::write(&config, &with_b).unwrap();
    assert!(
        wait_for(Duration::from_secs(15), || server.hits("/b") >= 1),
        "{}",
        daemon.log_text()
    );

    // A broken edit is logged and the config in force stays (A and B still polled).
    std::fs::write(&config, "[[feeds]]\nname = \n").unwrap();
    assert!(daemon.wait_log("keeping the one in force", Duration::from_secs(15)));
    let (a, b) = (server.hits("/a"), server.hits("/b"));
    assert!(wait_for(Duration::from_secs(10), || server.hits("/a") > a
        && server.hits("/b") > b));

    // SIGHUP reloads: C is added, A removed.
    let with_c = format!(
        "{}\n[[feeds]]\nname = \"B\"\nurl = \"{}\"\n\n[[feeds]]\nname = \"C\"\nurl = \"{}\"\n",
        text.split("[[feeds]]").next().unwrap(),
        server.url("/b"),
        server.url("/c")
    );
    std::fs::write(&config, &with_c).unwrap();
    daemon.signal("HUP");
    assert!(daemon.wait_log("SIGHUP: reloading", Duration::from_secs(10)));
    assert!(
        wait_for(Duration::from_secs(15), || server.hits("/c") >= 1),
        "{}",
        daemon.log_text()
    );
    assert!(
        daemon.wait_log("removed=1", Duration::from_secs(10)),
        "{}",
        daemon.log_text()
    );
    let a = server.hits("/a");
    let b = server.hits("/b");
    assert!(wait_for(Duration::from_secs(10), || server.hits("/b") > b + 1));
    assert!(
        server.hits("/a") <= a + 1,
        "a removed feed stops being polled"
    );

    let status = daemon.stop(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}

/// Failed polls are counted by kind in `/metrics`, and each feed's last one is in
/// `feeds list --json`.
#[test]
fn run_counts_failed_polls_by_kind() {
    let server = TestServer::start();
    server.route(
        "/page",
        support::Reply::Status {
            code: 200,
            headers: vec![],
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[
            ("Missing", server.url("/missing")),
            ("Empty", server.url("/page")),
        ],
    );
    let daemon = Daemon::start(&config);
    let addr = daemon.addr();
    let counted = |metrics: &str| {
        metrics.contains("tributary_fetch_failures_total{kind=\"http_status\"}")
            && metrics.contains("tributary_fetch_failures_total{kind=\"parse\"}")
    };
    assert!(
        wait_for(Duration::from_secs(20), || counted(
            &http_get(&addr, "/metrics").1
        )),
        "{}",
        daemon.log_text()
    );
    let out = tributary(&config, &["feeds", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kind = |name: &str| {
        let feed = list.as_array().unwrap().iter().find(|f| f["name"] == name);
        feed.unwrap()["last_error_kind"].clone()
    };
    assert_eq!(kind("Missing"), "http_status");
    assert_eq!(kind("Empty"), "parse");
    let status = daemon.stop(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigterm_while_fetching_exits_0_and_leaves_a_consistent_database() {
    let server = TestServer::start();
    let mut feeds = Vec::new();
    for i in 0..6 {
        let path = format!("/f{i}");
        server.route(
            &path,
            Reply::Slow {
                delay: Duration::from_millis(400 * (i as u64 + 1)),
                body: rss("F", &format!("f{i}"), 20, ""),
            },
        );
        feeds.push((format!("F{i}"), server.url(&path)));
    }
    let feeds: Vec<(&str, String)> = feeds.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &feeds);
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("[fetch]\n", "[fetch]\nper_host = 8\n"),
    )
    .unwrap();
    let daemon = Daemon::start(&config);
    assert!(
        wait_for(Duration::from_secs(15), || server.in_flight() >= 3),
        "{}",
        daemon.log_text()
    );
    let status = daemon.stop(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    let out = tributary(&config, &["check"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn run_speaks_the_systemd_notify_protocol() {
    use std::os::unix::net::UnixDatagram;
    let server = TestServer::start();
    server.route("/a", feed(rss("A", "a", 1, "")));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("A", server.url("/a"))]);
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = received.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Ok(n) = socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                let stop = msg.contains("STOPPING=1");
                sink.lock().unwrap().push(msg);
                if stop {
                    return;
                }
            }
        }
    });
    let daemon = Daemon::start_with(
        &config,
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let has = |needle: &str| received.lock().unwrap().iter().any(|m| m.contains(needle));
    assert!(wait_for(Duration::from_secs(10), || has("READY=1")));
    assert!(wait_for(Duration::from_secs(10), || has("WATCHDOG=1")));
    daemon.signal("HUP");
    assert!(wait_for(Duration::from_secs(10), || has("RELOADING=1")));
    let status = daemon.stop(Duration::from_secs(15));
    assert!(status.success());
    reader.join().unwrap();
    let all = received.lock().unwrap().join("|");
    let ready = all.find("READY=1").unwrap();
    let reloading = all.find("RELOADING=1").unwrap();
    assert!(ready < reloading, "{all}");
    assert!(
        all[reloading..].contains("READY=1"),
        "ready again after the reload: {all}"
    );
    assert!(all.trim_end().ends_with("STOPPING=1"), "{all}");
}

/// Folders for a daemon whose database lives on a small file system of its own: a tmpfs of
/// [`SMALL_FS`] mounted over `db/` in a mount namespace that only the daemon sees
/// (`unshare --user --map-root-user --mount`, so it needs no privilege where unprivileged
/// user namespaces are allowed, and no mount outlives the daemon; where neither root nor
/// user namespaces are available the test fails with unshare's error). The test reaches that
/// file system through `/proc/PID/root`, the daemon's own view of the file tree, and runs
/// the CLI in the daemon's namespaces (`nsenter`: SQLite resolves `/proc/PID/root` to `/`).
struct SmallDisk {
    dir: tempfile::TempDir,
}

/// The tmpfs's size: the first polls' database fits many times over.
const SMALL_FS: &str = "8m";

impl SmallDisk {
    fn new() -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        SmallDisk { dir }
    }

    /// The mount point, as the daemon names it.
    fn mount(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    /// `path` on the small file system, as this process reaches it.
    fn inside(&self, daemon: &Daemon, name: &str) -> PathBuf {
        let mount = self.mount();
        PathBuf::from(format!("/proc/{}/root", daemon.child.id()))
            .join(mount.strip_prefix("/").unwrap())
            .join(name)
    }

    /// Starts `tributary run` with `config` inside the namespace, the tmpfs mounted.
    fn start(&self, config: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut command = Command::new("unshare");
        command
            .args([
                "--user",
                "--map-root-user",
                "--mount",
                "--propagation",
                "private",
            ])
            .args(["--", "sh", "-c"])
            .arg(
                r#"mount -t tmpfs -o "size=$1" tributary-test "$2" && exec "$3" --config "$4" run"#,
            )
            .arg("sh")
            .arg(SMALL_FS)
            .arg(self.mount())
            .arg(bin())
            .arg(config);
        Daemon::spawn(command, env)
    }

    /// `tributary --config CONFIG ARGS` in the daemon's namespaces, so it opens the same
    /// database.
    fn cli(&self, daemon: &Daemon, config: &Path, args: &[&str]) -> std::process::Output {
        Command::new("nsenter")
            .args([
                "--target",
                &daemon.child.id().to_string(),
                "--user",
                "--mount",
                "--preserve-credentials",
                "--",
            ])
            .arg(bin())
            .arg("--config")
            .arg(config)
            .args(args)
            .output()
            .unwrap()
    }
}

/// Writes zeros to `path` until the file system has no room left; returns the bytes written.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("cannot fill {}: {e}", path.display()),
        }
    }
    let _ = file.sync_all();
    written
}

/// An RSS document of `first` short items (as [`rss`] writes them) and `more` long ones,
/// every word its own: nothing in it matches anything in another feed.
fn long_rss(prefix: &str, first: usize, more: usize) -> String {
    let short = rss("F", prefix, first, "");
    let long: String = (0..more)
        .map(|k| {
            let words: String = (0..300).map(|w| format!("{prefix}n{k}w{w} ")).collect();
            format!(
                "<item><title>{prefix} dispatch {k} on the {prefix}n{k} findings</title>\
                 <link>https://{prefix}.example/n{k}</link><guid>{prefix}-n{k}</guid>\
                 <description>{words}</description></item>"
            )
        })
        .collect();
    short.replace("</channel>", &format!("{long}</channel>"))
}

/// The titles of the merged feed's stories, read from the daemon's HTTP server.
fn served_titles(addr: &str) -> Vec<String> {
    support::served_titles(addr).expect("the merged feed is served")
}

/// The issue's disk-full test: the database on a file system that fills up while the
/// daemon polls, for real — a tmpfs of 8 MiB whose free space the test takes with a
/// ballast file, so SQLite's own writes on the daemon's write path get ENOSPC (SQLITE_FULL),
/// as on a full disk. Then the daemon keeps serving the merged feed, logs one error (not
/// one per feed), blames no feed (no error count, no backoff: the polls wait and are
/// written later), retries after 1 s, 2 s, ... , and once the ballast is deleted resumes by
/// itself, with everything committed before still there and everything fetched meanwhile
/// stored.
#[test]
fn a_full_disk_is_waited_out_without_blaming_feeds_and_nothing_committed_is_lost() {
    const FEEDS: usize = 6;
    let server = TestServer::start();
    for i in 0..FEEDS {
        server.route(&format!("/f{i}"), feed(rss("F", &format!("f{i}"), 3, "")));
    }
    let disk = SmallDisk::new();
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\npath = \"{}\"\n\n\
         [fetch]\nschedule = \"* * * * * *\"\ntimeout = \"10s\"\nper_host = 8\n",
        disk.mount().join("t.db").display()
    );
    for i in 0..FEEDS {
        let url = server.url(&format!("/f{i}"));
        text.push_str(&format!("\n[[feeds]]\nname = \"F{i}\"\nurl = \"{url}\"\n"));
    }
    let config = disk.dir.path().join("feeds.toml");
    std::fs::write(&config, &text).unwrap();
    let daemon = disk.start(
        &config,
        &[
            ("TRIBUTARY_LOG_FORMAT", "json"),
            ("RUST_LOG", "info,tributary::daemon::writer=debug"),
        ],
    );
    let addr = daemon.addr();

    // The first polls commit: 3 stories per feed.
    let first = FEEDS * 3;
    assert!(
        wait_for(Duration::from_secs(30), || served_titles(&addr).len()
            == first),
        "{}",
        daemon.log_text()
    );
    let committed = served_titles(&addr);

    // The disk fills up, and the feeds publish 40 long items each: the cycle's writes
    // cannot all fit.
    let ballast = disk.inside(&daemon, "ballast");
    assert!(fill(&ballast) > 0);
    for i in 0..FEEDS {
        let prefix = format!("f{i}");
        server.route(
            &format!("/f{i}"),
            support::Reply::Feed {
                body: long_rss(&prefix, 3, 40),
                etag: Some("\"v2\"".into()),
                last_modified: None,
                headers: vec![],
            },
        );
    }
    let failing = "cannot write to the database";
    assert!(
        wait_for(Duration::from_secs(30), || !daemon
            .events_saying(failing)
            .is_empty()),
        "{}",
        daemon.log_text()
    );
    let error = &daemon.events_saying(failing)[0];
    assert_eq!(error["level"], "ERROR", "{error}");
    assert_eq!(error["kind"], "full", "{error}");

    // It retries with a doubling wait, and meanwhile serves what was committed.
    let retrying = "the database still cannot be written";
    assert!(
        wait_for(Duration::from_secs(30), || daemon
            .events_saying(retrying)
            .len()
            >= 3),
        "{}",
        daemon.log_text()
    );
    let waits: Vec<f64> = daemon
        .events_saying(retrying)
        .iter()
        .map(|e| e["retry_in_s"].as_f64().unwrap())
        .collect();
    assert_eq!(waits[..3], [1.0, 2.0, 4.0], "{}", daemon.log_text());
    let mut served = served_titles(&addr);
    served.sort();
    let mut before = committed.clone();
    before.sort();
    assert_eq!(served, before, "the merged feed keeps being served");
    let (status, _) = http_get(&addr, "/healthz");
    assert_eq!(status, 200);
    let (_, metrics) = http_get(&addr, "/metrics");
    assert!(
        metrics.contains("tributary_store_failures_total{kind=\"full\"}")
            && metrics.contains("tributary_database_failing 1"),
        "{metrics}"
    );

    // Room again: the daemon resumes by itself and stores what it fetched meanwhile.
    std::fs::remove_file(&ballast).unwrap();
    assert!(
        wait_for(Duration::from_secs(90), || !daemon
            .events_saying("the database can be written again")
            .is_empty()),
        "{}",
        daemon.log_text()
    );
    let all = FEEDS * (3 + 40);
    assert!(
        wait_for(Duration::from_secs(30), || served_titles(&addr).len()
            == all),
        "{}",
        daemon.log_text()
    );
    let after = served_titles(&addr);
    for title in &committed {
        assert!(after.contains(title), "{title} was lost");
    }

    // One error for the episode, none per feed; no feed counts it against itself.
    let errors: Vec<_> = daemon
        .events()
        .into_iter()
        .filter(|e| e["level"] == "ERROR" || e["message"] == "fetch failed")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let out = disk.cli(&daemon, &config, &["feeds", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in list.as_array().unwrap() {
        assert_eq!(f["error_count"], 0, "{f}");
        assert_eq!(f["last_error"], serde_json::Value::Null, "{f}");
        assert_eq!(f["last_error_kind"], serde_json::Value::Null, "{f}");
        assert_eq!(f["articles"], 43, "{f}");
    }
    let (_, metrics) = http_get(&addr, "/metrics");
    assert!(
        metrics.contains("tributary_database_failing 0"),
        "{metrics}"
    );
    let out = disk.cli(&daemon, &config, &["check"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let status = daemon.stop(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_fresh_start_polls_feeds_never_polled_at_once_and_says_so() {
    let server = TestServer::start();
    for p in ["/a", "/b"] {
        server.route(p, feed(rss(p, &p[1..], 3, "")));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[("A", server.url("/a")), ("B", server.url("/b"))],
    );
    // An hourly schedule: only "never polled means due now" can poll them within seconds.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("schedule = \"* * * * * *\"", "schedule = \"0 * * * *\"");
    std::fs::write(&config, text).unwrap();
    let daemon = Daemon::start(&config);
    let addr = daemon.addr();
    assert!(
        daemon.wait_log("polling 2 of 2 feeds now", Duration::from_secs(10)),
        "{}",
        daemon.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(10), || {
            let (status, body) = http_get(&addr, "/");
            status == 200 && body.matches("<article").count() == 6
        }),
        "{}",
        daemon.log_text()
    );
    assert_eq!(daemon.stop(Duration::from_secs(10)).code(), Some(0));
}

#[test]
fn run_advertises_the_websub_hub_and_pings_it_after_a_change_at_most_once_a_minute() {
    let server = TestServer::start();
    server.route("/a", feed(rss("A", "a", 2, "")));
    server.route("/hub", support::status(204, &[]));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[("A", server.url("/a"))]);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[server]\n",
        &format!(
            "[server]\nbase_url = \"https://news.example/merged/\"\nwebsub_hub = \"{}\"\n",
            server.url("/hub")
        ),
    );
    std::fs::write(&config, text).unwrap();
    let daemon = Daemon::start(&config);
    let addr = daemon.addr();
    let pings = || -> Vec<support::server::Seen> {
        server
            .seen()
            .into_iter()
            .filter(|s| s.path == "/hub")
            .collect()
    };
    // The first commit that stored stories is told at once, one ping per feed format.
    assert!(
        wait_for(Duration::from_secs(15), || pings().len() >= 3),
        "{}",
        daemon.log_text()
    );
    let mut topics: Vec<String> = pings()
        .iter()
        .map(|p| {
            assert_eq!(p.method, "POST");
            let form: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(p.body.as_bytes())
                    .into_owned()
                    .collect();
            assert_eq!(form.get("hub.mode").map(String::as_str), Some("publish"));
            form.get("hub.url").cloned().unwrap_or_default()
        })
        .collect();
    topics.sort();
    // The topics are the feeds' self links, under `base_url`.
    let base = "https://news.example/merged/";
    assert_eq!(
        topics,
        ["feed.atom", "feed.json", "feed.rss"].map(|f| format!("{base}{f}"))
    );
    // Each feed names the hub beside its self link, so a reader can subscribe there.
    let hub = server.url("/hub");
    let (_, atom) = http_get(&addr, "/feed.atom");
    assert!(
        atom.contains(&format!("<link href=\"{hub}\" rel=\"hub\"/>")),
        "{atom}"
    );
    let (_, rss_doc) = http_get(&addr, "/feed.rss");
    assert!(
        rss_doc.contains(&format!("<atom:link href=\"{hub}\" rel=\"hub\"/>")),
        "{rss_doc}"
    );
    let (_, json) = http_get(&addr, "/feed.json");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["hubs"][0]["type"], "WebSub");
    assert_eq!(json["hubs"][0]["url"], hub.as_str());
    // A document the hub never hears about does not send subscribers there.
    let (_, one_feed) = http_get(&addr, "/feed.atom?feed=A");
    assert!(!one_feed.contains("rel=\"hub\""), "{one_feed}");
    // A second change within the minute is stored and served, but not told yet.
    server.route(
        "/a",
        support::typed("application/rss+xml", rss("A", "a", 3, "").into_bytes()),
    );
    assert!(
        wait_for(Duration::from_secs(15), || {
            let (_, body) = http_get(&addr, "/");
            body.matches("<article").count() == 3
        }),
        "{}",
        daemon.log_text()
    );
    assert_eq!(pings().len(), 3, "a second ping within the minute");
    assert_eq!(daemon.stop(Duration::from_secs(10)).code(), Some(0));
}
