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
    assert!(missing["next_fetch"].is_string());
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
