//! What the integration tests share: the HTTP server feeds and pages come from
//! ([`server`]), the feed builder ([`feeds`]), the "is this markup executable" oracle
//! ([`executable`]), the labelled real documents as feeds ([`real_set`]); and the binary
//! as a user runs it: a config folder to run CLI commands in ([`Workspace`]), the daemon
//! with its log ([`Daemon`]), a plain GET to it ([`http_get`]), and [`wait_for`], the one
//! way a test waits.
// Each test binary uses its own part of this module.
#![allow(dead_code, unused_imports)]

pub mod executable;
pub mod real_set;
pub mod server;

// The feed builder is declared in real_set.rs, which the examples include on its own.
pub use real_set::feeds;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use feeds::{Feed, Item, prose, rss};
pub use server::{Reply, TestServer, feed, html, redirect, status, typed};

/// How long one CLI command may take before the test calls it hung (debug builds on two
/// busy cores; the slowest command here waits out a 2 s fetch timeout).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tributary"))
}

/// Runs the binary with `--config config` and `args` (without `TRIBUTARY_DATABASE_URL`, so
/// the config's `[storage]` decides): (exit code, stdout, stderr).
pub fn tributary(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("TRIBUTARY_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// A temp folder with a feeds.toml in it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// A folder whose feeds.toml holds `config`.
    pub fn with_config(config: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("feeds.toml"), config).unwrap();
        Workspace { dir }
    }

    /// The config path.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("feeds.toml")
    }

    /// The config file's text now.
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.config()).unwrap()
    }

    /// `tributary --config <this> ARGS`, not started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("TRIBUTARY_CONFIG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC");
        c
    }

    /// Runs `tributary --config <this> ARGS`, failing the test if it has not exited within
    /// [`COMMAND_LIMIT`]; returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = r.read_to_string(&mut text);
                text
            })
        };
        let out = drain(Box::new(child.stdout.take().unwrap()));
        let err = drain(Box::new(child.stderr.take().unwrap()));
        let mut status = None;
        let exited = wait_for(COMMAND_LIMIT, || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        if !exited {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`tributary {}` still running after {COMMAND_LIMIT:?}",
                args.join(" ")
            );
        }
        (
            status.unwrap().code().unwrap_or(-1),
            out.join().unwrap(),
            err.join().unwrap(),
        )
    }
}

/// `tributary run` with its log lines collected.
pub struct Daemon {
    pub child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Daemon {
    pub fn start(config: &Path) -> Daemon {
        Daemon::start_with(config, &[])
    }

    pub fn start_with(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut command = Command::new(bin());
        command.arg("--config").arg(config).arg("run");
        Daemon::spawn(command, env)
    }

    /// Starts `command` (which runs `tributary run`) and waits for it to say it runs.
    pub fn spawn(mut command: Command, env: &[(&str, &str)]) -> Daemon {
        let mut child = command
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let d = Daemon { child, log };
        assert!(
            d.wait_log("tributary is running", Duration::from_secs(20)),
            "{}",
            d.log_text()
        );
        d
    }

    /// The log, as it grows (to read it after [`Daemon::stop`]).
    pub fn log_handle(&self) -> Arc<Mutex<Vec<String>>> {
        self.log.clone()
    }

    /// The log lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        wait_for(limit, || self.log_text().contains(needle))
    }

    /// The listen address from the start-up line (text or JSON log).
    pub fn addr(&self) -> String {
        let text = self.log_text();
        if let Some(at) = text.find("\"listen\":\"") {
            let rest = &text[at + "\"listen\":\"".len()..];
            return rest[..rest.find('"').unwrap()].to_string();
        }
        let at = text.find("listen=").unwrap() + "listen=".len();
        text[at..].split_whitespace().next().unwrap().to_string()
    }

    /// The log lines that are JSON events (`TRIBUTARY_LOG_FORMAT=json`).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The JSON events whose message starts with `start`.
    pub fn events_saying(&self, start: &str) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["message"].as_str().is_some_and(|m| m.starts_with(start)))
            .collect()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Waits for the exit status after SIGTERM.
    pub fn stop(mut self, limit: Duration) -> std::process::ExitStatus {
        self.signal("TERM");
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "still running {limit:?} after SIGTERM:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the daemon at once (SIGKILL) and reaps it.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET to the daemon, returning (status, body).
/// A plain HTTP/1.0 GET to `addr`, returning (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (status, body)
}

/// The titles of the daemon's merged feed (`/feed.json`, up to 500), or `None` while it
/// cannot be served.
pub fn served_titles(addr: &str) -> Option<Vec<String>> {
    let (status, body) = http_get(addr, "/feed.json?limit=500");
    if status != 200 {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(
        doc["items"]
            .as_array()?
            .iter()
            .filter_map(|i| i["title"].as_str().map(str::to_string))
            .collect(),
    )
}
