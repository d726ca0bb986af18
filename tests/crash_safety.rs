//! A process killed with SIGKILL in the middle of a stream of write batches leaves a
//! database that `check` accepts and that holds every batch that was committed — and no
//! part of the one that was not.
//!
//! The writer is this test binary itself, re-run as a child with an environment variable,
//! so the kill lands in real library code writing a real SQLite file.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use tributary::model::Article;
use tributary::store::{FeedSpec, Store, Upsert};

const CHILD_ENV: &str = "TRIBUTARY_CRASH_WRITER_DB";
const BATCH: usize = 200;

/// The writer: batches of BATCH articles, each batch one transaction, reported after commit.
#[test]
fn crash_writer_child() {
    let Ok(db) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut store = Store::open(std::path::Path::new(&db)).unwrap();
    let ids = store
        .sync_feeds(&[FeedSpec {
            url: "https://w.example/rss".into(),
            name: "W".into(),
            tags: vec![],
            full_text: Default::default(),
        }])
        .unwrap();
    let feed = ids["https://w.example/rss"];
    for batch_no in 0..100_000 {
        let now = Utc::now();
        let mut batch = store.begin().unwrap();
        for j in 0..BATCH {
            let a = Article {
                key: format!("{}-{batch_no}-{j}", std::process::id()),
                title: format!("Article {batch_no}-{j}"),
                text: "x".repeat(500),
                ..Default::default()
            };
            if let Upsert::New { article } = batch.upsert_article(feed, &a, now).unwrap() {
                batch.new_story(article, now).unwrap();
            }
        }
        batch.commit().unwrap();
        println!("committed {batch_no}");
    }
}

/// Starts a writer child on `db`; returns it and a channel of its committed batch numbers.
fn start_writer(db: &std::path::Path) -> (std::process::Child, std::sync::mpsc::Receiver<usize>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("committed ") {
                let _ = tx.send(n.parse::<usize>().unwrap());
            }
        }
    });
    (child, rx)
}

/// Waits until the writer reports batch `n` committed; returns the last batch reported.
fn wait_for_batch(rx: &std::sync::mpsc::Receiver<usize>, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = None;
    while last.is_none_or(|l| l < n) {
        let left = deadline.saturating_duration_since(Instant::now());
        last = Some(
            rx.recv_timeout(left)
                .expect("the writer stopped committing"),
        );
    }
    last.unwrap()
}

#[test]
fn sigkill_mid_write_leaves_a_consistent_database_with_every_committed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    // Two processes writing one database at once, as the daemon and the CLI do.
    let (mut first, first_rx) = start_writer(&db);
    let (mut second, second_rx) = start_writer(&db);
    wait_for_batch(&first_rx, 5);
    wait_for_batch(&second_rx, 5);
    first.kill().unwrap(); // SIGKILL, mid-batch or between batches
    second.kill().unwrap();
    first.wait().unwrap();
    second.wait().unwrap();
    let committed = first_rx.try_iter().chain(second_rx.try_iter()).count() + 12;

    let ws =
        support::Workspace::with_config(&format!("[storage]\npath = {:?}\n", db.to_str().unwrap()));
    let (code, out, err) = ws.run(&["check"]);
    assert_eq!(code, 0, "check after SIGKILL: {out}{err}");

    let store = Store::open(&db).unwrap();
    let (_, articles, stories) = store.counts().unwrap();
    assert_eq!(
        articles % BATCH as i64,
        0,
        "a batch was partly written: {articles} articles"
    );
    assert!(
        articles >= (committed * BATCH) as i64,
        "lost committed batches: {articles} < {}",
        committed * BATCH
    );
    assert_eq!(articles, stories);
    assert!(store.check().unwrap().is_empty());
}
