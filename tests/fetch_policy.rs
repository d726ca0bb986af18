//! The fetch and schedule stages against a real HTTP server on 127.0.0.1, one test per
//! behaviour of issue 3. Time is driven through the scheduler's ManualClock, never slept.

mod support;

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use support::{Reply, TestServer, feed, rss, status};
use tributary::config::Config;
use tributary::daemon::{PollReport, Scheduler, SharedStore};
use tributary::model::FetchStatus;
use tributary::schedule::{Clock, ManualClock};
use tributary::store::{FetchState, Store};

struct Rig {
    _dir: tempfile::TempDir,
    store: SharedStore,
    clock: Arc<ManualClock>,
    sched: Scheduler,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap()
}

/// A config with `[fetch]` lines `fetch` and the feeds (name, url), and a scheduler on a
/// manual clock over a fresh database.
fn rig(fetch: &str, feeds: &[(&str, String)]) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("[storage]\npath = \"t.db\"\n\n[fetch]\n{fetch}\n");
    for (name, url) in feeds {
        text.push_str(&format!(
            "\n[[feeds]]\nname = \"{name}\"\nurl = \"{url}\"\n"
        ));
    }
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::load(&path).unwrap();
    let store = Arc::new(Mutex::new(Store::open(&config.storage.path).unwrap()));
    let clock = Arc::new(ManualClock::new(start()));
    let sched = Scheduler::new(&config, store.clone(), clock.clone()).unwrap();
    Rig {
        _dir: dir,
        store,
        clock,
        sched,
    }
}

impl Rig {
    fn id(&self, name: &str) -> i64 {
        self.sched
            .feeds()
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .id
    }

    /// Polls the named feeds now (what `tributary fetch` does).
    async fn poll(&self, names: &[&str]) -> Vec<PollReport> {
        let ids: Vec<i64> = names.iter().map(|n| self.id(n)).collect();
        self.sched.poll_now(&ids, |_| {}).await.unwrap()
    }

    async fn poll_one(&self, name: &str) -> PollReport {
        self.poll(&[name]).await.remove(0)
    }

    fn state(&self, name: &str) -> FetchState {
        let id = self.id(name);
        self.store.lock().fetch_state(id).unwrap().unwrap()
    }

    fn articles(&self) -> i64 {
        self.store.lock().counts().unwrap().1
    }

    /// Moves the clock to `at` and runs one scheduler step; returns who was polled.
    async fn step_at(&self, at: DateTime<Utc>) -> Vec<String> {
        self.clock.set(at);
        let mut names: Vec<String> = self
            .sched
            .poll_due()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        names.sort();
        names
    }
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_then_a_304_sends_the_stored_validators_and_writes_no_articles() {
    let server = TestServer::start();
    server.route("/rss", feed(rss("Outlet", "a", 5, "")));
    let rig = rig("", &[("A", server.url("/rss"))]);
    let first = rig.poll_one("A").await;
    assert_eq!(first.status, FetchStatus::Ok, "{:?}", first.error);
    assert_eq!(first.ingest.new_articles, 5);
    let second = rig.poll_one("A").await;
    assert_eq!(second.status, FetchStatus::NotModified);
    assert_eq!(second.ingest.new_articles, 0);
    let seen = server.seen();
    assert_eq!(seen[0].if_none_match, None);
    assert_eq!(seen[1].if_none_match.as_deref(), Some("\"v1\""));
    assert_eq!(
        seen[1].if_modified_since.as_deref(),
        Some("Mon, 14 Jul 2025 12:00:00 GMT")
    );
    assert_eq!(seen[1].status, 304);
    assert_eq!(rig.articles(), 5);
    let state = rig.state("A");
    assert_eq!(state.last_status, Some(FetchStatus::NotModified));
    assert_eq!(state.error_count, 0);
    assert!(state.next_fetch.unwrap() > rig.clock.now());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_and_brotli_bodies_are_decoded() {
    let server = TestServer::start();
    server.route("/gz", Reply::Gzip(rss("G", "g", 3, "")));
    server.route("/br", Reply::Brotli(rss("B", "b", 4, "")));
    let rig = rig("", &[("G", server.url("/gz")), ("B", server.url("/br"))]);
    let reports = rig.poll(&["G", "B"]).await;
    for r in &reports {
        assert_eq!(r.status, FetchStatus::Ok, "{}: {:?}", r.name, r.error);
    }
    assert_eq!(rig.articles(), 7);
    let ae = server.seen()[0].accept_encoding.clone().unwrap_or_default();
    assert!(ae.contains("gzip") && ae.contains("br"), "{ae}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_max_body_is_that_feeds_error_and_is_not_buffered() {
    let server = TestServer::start();
    server.route("/huge", Reply::Huge(200 << 20));
    let rig = rig("max_body = \"256KiB\"", &[("H", server.url("/huge"))]);
    let r = rig.poll_one("H").await;
    assert_eq!(r.status, FetchStatus::Error);
    assert!(
        r.error.as_deref().unwrap().contains("max_body"),
        "{:?}",
        r.error
    );
    // We read at most one chunk past the limit, and the server was stopped early.
    assert!(
        r.bytes <= (256 << 10) + (64 << 10),
        "read {} bytes",
        r.bytes
    );
    assert!(
        server.huge_sent() < 16 << 20,
        "server sent {}",
        server.huge_sent()
    );
    assert_eq!(rig.state("H").error_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripping_body_is_cut_at_the_total_timeout() {
    let server = TestServer::start();
    server.route(
        "/drip",
        Reply::Drip {
            every: Duration::from_millis(100),
            count: 600,
        },
    );
    let rig = rig("timeout = \"1s\"", &[("D", server.url("/drip"))]);
    let began = std::time::Instant::now();
    let r = rig.poll_one("D").await;
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(r.status, FetchStatus::Error);
    assert!(
        r.error.as_deref().unwrap().contains("timeout"),
        "{:?}",
        r.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_redirect_is_recorded_and_used_a_temporary_one_is_not() {
    let server = TestServer::start();
    server.route("/new", feed(rss("N", "n", 2, "")));
    server.route(
        "/old",
        Reply::Redirect {
            code: 301,
            to: "/new".into(),
        },
    );
    server.route(
        "/tmp",
        Reply::Redirect {
            code: 302,
            to: server.url("/new"),
        },
    );
    let rig = rig(
        "",
        &[("Moved", server.url("/old")), ("Temp", server.url("/tmp"))],
    );
    let r = rig.poll_one("Moved").await;
    assert_eq!(r.status, FetchStatus::Ok);
    assert_eq!(r.moved_to.as_deref(), Some(server.url("/new").as_str()));
    assert_eq!(
        rig.state("Moved").redirect_url.as_deref(),
        Some(server.url("/new").as_str())
    );
    rig.poll_one("Moved").await;
    assert_eq!(
        server.hits("/old"),
        1,
        "the recorded target is polled directly"
    );
    let rows = rig.store.lock().feed_rows().unwrap();
    let row = rows.iter().find(|r| r.name == "Moved").unwrap();
    assert_eq!(
        row.redirect_url.as_deref(),
        Some(server.url("/new").as_str())
    );

    let r = rig.poll_one("Temp").await;
    assert_eq!(r.status, FetchStatus::Ok);
    assert_eq!(rig.state("Temp").redirect_url, None);
    rig.poll_one("Temp").await;
    assert_eq!(
        server.hits("/tmp"),
        2,
        "a temporary redirect is asked again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loops_and_long_chains_are_errors() {
    let server = TestServer::start();
    server.route(
        "/a",
        Reply::Redirect {
            code: 301,
            to: "/b".into(),
        },
    );
    server.route(
        "/b",
        Reply::Redirect {
            code: 302,
            to: "/a".into(),
        },
    );
    for i in 0..7 {
        server.route(
            &format!("/c{i}"),
            Reply::Redirect {
                code: 307,
                to: format!("/c{}", i + 1),
            },
        );
    }
    server.route("/c7", feed(rss("C", "c", 1, "")));
    let rig = rig(
        "",
        &[("Loop", server.url("/a")), ("Chain", server.url("/c0"))],
    );
    let r = rig.poll_one("Loop").await;
    assert_eq!(r.status, FetchStatus::Error);
    assert!(
        r.error.as_deref().unwrap().contains("redirect loop"),
        "{:?}",
        r.error
    );
    assert_eq!(rig.state("Loop").redirect_url, None);
    let r = rig.poll_one("Chain").await;
    assert_eq!(r.status, FetchStatus::Error);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("more than 5 redirects"),
        "{:?}",
        r.error
    );
    assert_eq!(server.hits("/c6"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_stops_polling_until_the_feed_is_enabled_again() {
    let server = TestServer::start();
    server.route(
        "/gone",
        Reply::Status {
            code: 410,
            headers: vec![],
        },
    );
    let rig = rig("", &[("G", server.url("/gone"))]);
    let r = rig.poll_one("G").await;
    assert_eq!(r.status, FetchStatus::Gone);
    let s = rig.state("G");
    assert!(s.gone && s.next_fetch.is_none());
    assert!(s.last_error.unwrap().contains("feeds enable"));
    assert!(
        rig.step_at(start() + chrono::Duration::days(3))
            .await
            .is_empty()
    );
    assert_eq!(server.hits("/gone"), 1);

    server.route("/gone", feed(rss("G", "g", 1, "")));
    let url =
        tributary::config::normalize_feed_url(&url::Url::parse(&server.url("/gone")).unwrap());
    assert!(rig.store.lock().reenable_feed(&url).unwrap());
    // Re-enabled, it gets a slot within its interval and is polled there.
    assert!(rig.step_at(rig.clock.now()).await.is_empty());
    let due = rig.state("G").next_fetch.unwrap();
    assert!(due <= rig.clock.now() + secs(15 * 60));
    assert_eq!(rig.step_at(due).await, vec!["G"]);
    assert!(!rig.state("G").gone);
    assert_eq!(rig.state("G").last_status, Some(FetchStatus::Ok));
}

/// A 429 with `headers` holds its feed back `wait` seconds.
async fn rate_limited_waits_as_asked(headers: &[(&str, &str)], wait: i64) {
    let server = TestServer::start();
    server.route("/busy", status(429, headers));
    server.route("/calm", feed(rss("C", "c", 1, "")));
    let rig = rig(
        "schedule = \"* * * * *\"",
        &[("Busy", server.url("/busy")), ("Calm", server.url("/calm"))],
    );
    let reports = rig.poll(&["Busy", "Calm"]).await;
    let busy = reports.iter().find(|r| r.name == "Busy").unwrap();
    assert_eq!(busy.status, FetchStatus::RateLimited);
    let s = rig.state("Busy");
    let due = s.next_fetch.unwrap();
    // Allow a second of HTTP-date rounding.
    assert!(due >= start() + secs(wait - 1), "{due}");
    assert!(due <= start() + secs(wait + 61), "{due}");
    assert!(s.last_error.unwrap().contains("rate limiting"));
    // The same host's other feed is not held back: it is polled every minute meanwhile.
    let calm_due = rig.state("Calm").next_fetch.unwrap();
    assert_eq!(rig.step_at(calm_due).await, vec!["Calm"]);
    assert_eq!(server.hits("/busy"), 1);
    assert!(rig.step_at(due - secs(1)).await.iter().all(|n| n != "Busy"));
    assert_eq!(server.hits("/busy"), 1);
    assert!(rig.step_at(due).await.iter().any(|n| n == "Busy"));
    assert_eq!(server.hits("/busy"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_429_with_retry_after_seconds() {
    rate_limited_waits_as_asked(&[("Retry-After", "3600")], 3600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_with_retry_after_as_an_http_date() {
    // Measured against the server's Date header, so neither clock matters.
    let headers = [
        ("Date", "Tue, 14 Jul 2020 08:00:00 GMT"),
        ("Retry-After", "Tue, 14 Jul 2020 10:00:00 GMT"),
    ];
    rate_limited_waits_as_asked(&headers, 7200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_back_off_exponentially_and_recover_when_the_server_heals() {
    let server = TestServer::start();
    server.route(
        "/flaky",
        Reply::Status {
            code: 500,
            headers: vec![],
        },
    );
    let rig = rig(
        "schedule = \"*/15 * * * *\"",
        &[("F", server.url("/flaky"))],
    );
    rig.poll_one("F").await;
    let mut waits = Vec::new();
    for round in 1..=4 {
        let s = rig.state("F");
        assert_eq!(s.error_count, round);
        assert_eq!(s.last_http, Some(500));
        assert!(s.last_error.as_deref().unwrap().contains("500"));
        let due = s.next_fetch.unwrap();
        waits.push((due - rig.clock.now()).num_seconds());
        assert!(
            rig.step_at(due - secs(1)).await.is_empty(),
            "not before its time"
        );
        assert_eq!(rig.step_at(due).await, vec!["F"]);
    }
    // 15 min doubling each time, with at most 20% jitter on top.
    for (i, w) in waits.iter().enumerate() {
        let base = 900 * (1 << i);
        assert!(*w >= base && *w <= base + base / 5, "wait {i}: {w}");
    }
    server.route("/flaky", feed(rss("F", "f", 2, "")));
    let due = rig.state("F").next_fetch.unwrap();
    assert_eq!(rig.step_at(due).await, vec!["F"]);
    let s = rig.state("F");
    assert_eq!(s.error_count, 0);
    assert_eq!(s.last_error, None);
    assert_eq!(s.last_status, Some(FetchStatus::Ok));
    assert!(
        s.next_fetch.unwrap() <= rig.clock.now() + secs(15 * 60),
        "back on schedule"
    );
    assert_eq!(rig.articles(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_recorded_and_retried_never_dropped() {
    // Port 1 on 127.0.0.1: nothing listens there.
    let rig = rig("", &[("Down", "http://127.0.0.1:1/rss".into())]);
    let r = rig.poll_one("Down").await;
    assert_eq!(r.status, FetchStatus::Error);
    assert!(
        r.error.as_deref().unwrap().contains("cannot connect"),
        "{:?}",
        r.error
    );
    let rows = rig.store.lock().feed_rows().unwrap();
    assert_eq!(rows[0].error_count, 1);
    assert!(rows[0].last_error.is_some());
    let due = rows[0].next_fetch.unwrap();
    assert_eq!(rig.step_at(due).await, vec!["Down"]);
    assert_eq!(rig.state("Down").error_count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_host_limit_is_never_exceeded() {
    let server = TestServer::start();
    let mut feeds = Vec::new();
    for i in 0..8 {
        let path = format!("/slow{i}");
        server.route(
            &path,
            Reply::Slow {
                delay: Duration::from_millis(100),
                body: rss("S", &format!("s{i}"), 1, ""),
            },
        );
        feeds.push((format!("S{i}"), server.url(&path)));
    }
    let feeds: Vec<(&str, String)> = feeds.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    let rig = rig("concurrency = 16\nper_host = 2", &feeds);
    let names: Vec<&str> = feeds.iter().map(|f| f.0).collect();
    let reports = rig.poll(&names).await;
    assert!(reports.iter().all(|r| r.status == FetchStatus::Ok));
    assert_eq!(server.max_in_flight(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_continue_the_schedule_and_an_outage_polls_each_overdue_feed_once() {
    let server = TestServer::start();
    let names = ["A", "B", "C"];
    let feeds: Vec<(&str, String)> = names
        .iter()
        .map(|n| {
            let path = format!("/{n}");
            server.route(&path, feed(rss(n, n, 1, "")));
            (*n, server.url(&path))
        })
        .collect();
    let rig = rig("", &feeds);
    // Feeds never polled are polled at once (the limits bound the burst)…
    assert_eq!(rig.step_at(start()).await, names);
    // …and then each on its own slot, spread over the interval.
    let dues: Vec<_> = names
        .iter()
        .map(|n| rig.state(n).next_fetch.unwrap())
        .collect();
    assert!(
        dues.iter()
            .all(|d| *d > start() && *d <= start() + secs(900))
    );
    // A restarted scheduler (same database) keeps those slots.
    let again = Scheduler::new(
        &Config::load(&rig._dir.path().join("feeds.toml")).unwrap(),
        rig.store.clone(),
        rig.clock.clone(),
    )
    .unwrap();
    assert!(again.poll_due().await.unwrap().is_empty());
    let again_dues: Vec<_> = names
        .iter()
        .map(|n| rig.state(n).next_fetch.unwrap())
        .collect();
    assert_eq!(dues, again_dues);
    // Down for a day: each overdue feed is polled once, then is back on its schedule.
    assert_eq!(
        rig.step_at(start() + chrono::Duration::days(1)).await,
        names
    );
    for n in names {
        assert_eq!(server.hits(&format!("/{n}")), 2);
        assert!(rig.state(n).next_fetch.unwrap() > rig.clock.now());
    }
    assert!(rig.step_at(rig.clock.now()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_and_cache_headers_raise_the_interval_floor_up_to_a_day() {
    let server = TestServer::start();
    server.route("/ttl", feed(rss("T", "t", 1, "<ttl>120</ttl>")));
    server.route(
        "/cc",
        Reply::Feed {
            body: rss("C", "c", 1, ""),
            etag: None,
            last_modified: None,
            headers: vec![("cache-control".into(), "max-age=3600".into())],
        },
    );
    server.route(
        "/forever",
        Reply::Feed {
            body: rss("F", "f", 1, ""),
            etag: None,
            last_modified: None,
            headers: vec![("cache-control".into(), "max-age=99999999".into())],
        },
    );
    server.route("/short", feed(rss("S", "s", 1, "<ttl>1</ttl>")));
    let rig = rig(
        "schedule = \"*/15 * * * *\"",
        &[
            ("T", server.url("/ttl")),
            ("C", server.url("/cc")),
            ("F", server.url("/forever")),
            ("S", server.url("/short")),
        ],
    );
    let reports = rig.poll(&["T", "C", "F", "S"]).await;
    for r in &reports {
        // Shown only when an assertion below fails: a failed poll backs off past the floor.
        eprintln!("{} {:?} {:?} {:?}", r.name, r.status, r.elapsed, r.error);
    }
    let after = |n: &str| (rig.state(n).next_fetch.unwrap() - start()).num_seconds();
    assert!(
        after("T") >= 7200 && after("T") <= 7200 + 900,
        "{}",
        after("T")
    );
    assert!(
        after("C") >= 3600 && after("C") <= 3600 + 900,
        "{}",
        after("C")
    );
    assert!(
        after("F") >= 86_400 && after("F") <= 86_400 + 900,
        "{}",
        after("F")
    );
    // A short ttl (1 minute) never makes it poll more often than the schedule: the next
    // slot at least a minute ahead (where the slot falls depends on the URL, whose port is
    // random here).
    assert!(after("S") >= 60 && after("S") <= 60 + 900, "{}", after("S"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_loop_polls_when_the_clock_reaches_the_due_time_and_stops_on_request() {
    let server = TestServer::start();
    server.route("/a", feed(rss("A", "a", 1, "")));
    let rig = Arc::new(rig("", &[("A", server.url("/a"))]));
    let (stop, rx) = tokio::sync::watch::channel(false);
    let runner = {
        let rig = rig.clone();
        tokio::spawn(async move { rig.sched.run(rx).await })
    };
    // Never polled, the feed is polled at once; its next poll is due at its slot.
    let due = {
        let rig = rig.clone();
        tokio::task::spawn_blocking(move || {
            let mut due = None;
            support::wait_for(Duration::from_secs(10), || {
                let state = rig.state("A");
                due = state.last_fetch.and(state.next_fetch);
                due.is_some()
            });
            due.unwrap()
        })
        .await
        .unwrap()
    };
    assert!(due > start(), "{due}");
    assert_eq!(
        server.hits("/a"),
        1,
        "not again before the clock reaches the slot"
    );
    rig.clock.set(due);
    let s = server.clone();
    let polled = tokio::task::spawn_blocking(move || {
        support::wait_for(Duration::from_secs(10), || s.hits("/a") == 2)
    })
    .await
    .unwrap();
    assert!(polled);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), runner)
        .await
        .unwrap()
        .unwrap();
    // The poll in flight at the stop was let finish: the unchanged feed answered 304.
    assert_eq!(rig.state("A").last_status, Some(FetchStatus::NotModified));
}
