//! A daemon whose PostgreSQL connection goes away: `/healthz` answers 503 while the server
//! cannot be reached, the daemon keeps trying with a growing wait, and once the server is
//! back it recovers by itself and stores what its feeds published meanwhile. The outage is
//! real: the daemon reaches the server through a TCP proxy inside the test, which the test
//! cuts (every open connection closed, new ones closed at once) and then restores.
//!
//! The test makes a database of its own on the server at 127.0.0.1:5432 and drops it after;
//! without a server it is skipped with the reason printed, unless `TRIBUTARY_CI_STRICT` is
//! set, when it fails.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use support::{Daemon, Reply, TestServer, feed, http_get, rss, served_titles, wait_for};
use tributary::store::postgres::scratch::ScratchDatabase;

/// The PostgreSQL server the proxy forwards to.
const SERVER: &str = "127.0.0.1:5432";

/// A TCP proxy in front of [`SERVER`] that can be cut and restored.
struct Proxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    /// Both ends of every connection forwarded, to close them when cut.
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let (o, s) = (open.clone(), streams.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !o.load(Ordering::SeqCst) {
                    // Cut: the connection is closed before a byte is read, as by a server
                    // that is gone.
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(SERVER) else {
                    continue;
                };
                let mut all = s.lock();
                for stream in [&client, &server] {
                    all.push(stream.try_clone().unwrap());
                }
                drop(all);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy {
            addr,
            open,
            streams,
        }
    }

    /// Closes every connection and refuses new ones.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for stream in self.streams.lock().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Forwards new connections again.
    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread of its own until either end closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

#[test]
fn a_lost_database_connection_is_503_then_recovers_by_itself_losing_nothing() {
    const FEEDS: usize = 4;
    let Some(db) = ScratchDatabase::create("postgres_outage") else {
        return;
    };
    let proxy = Proxy::start();
    let url = db.url().expose().replace(SERVER, &proxy.addr.to_string());
    assert_ne!(
        url,
        db.url().expose(),
        "the daemon must go through the proxy"
    );

    let server = TestServer::start();
    for i in 0..FEEDS {
        server.route(&format!("/f{i}"), feed(rss("F", &format!("f{i}"), 3, "")));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\nurl = \"{url}\"\n\n\
         [fetch]\nschedule = \"* * * * * *\"\ntimeout = \"10s\"\nper_host = 8\n"
    );
    for i in 0..FEEDS {
        let feed_url = server.url(&format!("/f{i}"));
        text.push_str(&format!(
            "\n[[feeds]]\nname = \"F{i}\"\nurl = \"{feed_url}\"\n"
        ));
    }
    let config = dir.path().join("feeds.toml");
    std::fs::write(&config, &text).unwrap();
    let daemon = Daemon::start_with(&config, &[("TRIBUTARY_LOG_FORMAT", "json")]);
    let addr = daemon.addr();

    let first = FEEDS * 3;
    assert!(
        wait_for(Duration::from_secs(60), || served_titles(&addr)
            .is_some_and(|t| t.len() == first)),
        "{}",
        daemon.log_text()
    );
    let committed = served_titles(&addr).unwrap();
    assert_eq!(http_get(&addr, "/healthz").0, 200);

    // The connection goes, and the feeds publish more meanwhile.
    proxy.cut();
    for i in 0..FEEDS {
        server.route(
            &format!("/f{i}"),
            Reply::Feed {
                body: rss("F", &format!("f{i}"), 5, ""),
                etag: Some("\"v2\"".into()),
                last_modified: None,
                headers: vec![],
            },
        );
    }
    assert!(
        wait_for(Duration::from_secs(60), || http_get(&addr, "/healthz").0
            == 503),
        "{}",
        daemon.log_text()
    );
    // It keeps trying to claim the feeds due, waiting twice as long each time, and
    // answers 503 meanwhile; never a hang or a crash.
    let retrying = "the feeds due still cannot be claimed";
    assert!(
        wait_for(Duration::from_secs(60), || daemon
            .events_saying(retrying)
            .len()
            >= 2),
        "{}",
        daemon.log_text()
    );
    let first_error = daemon.events_saying("cannot claim the feeds due");
    assert_eq!(first_error.len(), 1, "{}", daemon.log_text());
    assert_eq!(first_error[0]["level"], "ERROR");
    let waits: Vec<f64> = daemon
        .events_saying(retrying)
        .iter()
        .map(|e| e["retry_in_s"].as_f64().unwrap())
        .collect();
    assert_eq!(waits[..2], [2.0, 4.0], "{}", daemon.log_text());
    // ...and does wait that long between attempts (by the log's own times).
    let attempts: Vec<(chrono::DateTime<chrono::FixedOffset>, f64)> = daemon
        .events()
        .iter()
        .filter(|e| {
            e["message"].as_str().is_some_and(|m| {
                m.starts_with("cannot claim the feeds due") || m.starts_with(retrying)
            })
        })
        .map(|e| {
            let at = chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap());
            (at.unwrap(), e["retry_in_s"].as_f64().unwrap())
        })
        .collect();
    for pair in attempts.windows(2) {
        let gap = (pair[1].0 - pair[0].0).as_seconds_f64();
        assert!(
            gap >= pair[0].1 - 0.05,
            "retried after {gap} s, not {} s\n{}",
            pair[0].1,
            daemon.log_text()
        );
    }
    assert_eq!(http_get(&addr, "/healthz").0, 503);

    // The server is back: the daemon notices by itself, and stores what it fetched.
    proxy.restore();
    assert!(
        wait_for(Duration::from_secs(90), || http_get(&addr, "/healthz").0
            == 200),
        "{}",
        daemon.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(90), || !daemon
            .events_saying("the feeds due can be claimed again")
            .is_empty()),
        "{}",
        daemon.log_text()
    );
    let all = FEEDS * 5;
    assert!(
        wait_for(Duration::from_secs(90), || served_titles(&addr)
            .is_some_and(|t| t.len() == all)),
        "{}",
        daemon.log_text()
    );
    let after = served_titles(&addr).unwrap();
    for title in &committed {
        assert!(after.contains(title), "{title} was lost");
    }
    let (code, out, err) = support::tributary(&config, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(daemon.stop(Duration::from_secs(30)).success());
}
