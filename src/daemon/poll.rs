//! One poll of one feed: fetch → parse → ingest, with the fetch state that decides when it
//! is polled next (the schedule stage's state machine, `schedule::state::next_state`,
//! computes it; this file only reports what the poll observed). Every ending is recorded;
//! nothing is dropped silently.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::SharedStore;
use super::writer::{Document, Job, Writer};
use crate::config::CronSchedule;
use crate::fetch::{FetchOutcome, FetchReport, FetchRequest, Fetcher};
use crate::ingest::IngestReport;
use crate::model::{FailureKind, FetchStatus};
use crate::schedule::Clock;
use crate::schedule::limits::{self, Limits};
use crate::schedule::state::{self, Observed, Outcome, next_state};
use crate::store::FetchState;

/// A configured, enabled feed as the scheduler knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledFeed {
    /// Database id.
    pub id: i64,
    /// Name from feeds.toml.
    pub name: String,
    /// The configured URL.
    pub url: url::Url,
    /// The normalised URL: the row's identity and the seed of its schedule offset.
    pub key: String,
    /// The schedule in force for it.
    pub schedule: CronSchedule,
}

impl ScheduledFeed {
    /// The feed as the schedule stage sees it: its key and its schedule.
    pub(crate) fn schedule_feed(&self) -> state::Feed<'_> {
        state::Feed {
            key: &self.key,
            schedule: &self.schedule,
        }
    }
}

/// What one poll did, for the CLI's lines, the log and the metrics.
#[derive(Debug, Clone)]
pub struct PollReport {
    /// Database id of the feed.
    pub feed_id: i64,
    /// Its name.
    pub name: String,
    /// The URL requested (a recorded permanent redirect, else the configured one).
    pub url: String,
    /// How it ended.
    pub status: FetchStatus,
    /// The final HTTP status, if any.
    pub http: Option<u16>,
    /// Body bytes received.
    pub bytes: u64,
    /// Time spent fetching.
    pub elapsed: Duration,
    /// What the ingest changed (all zero unless `status` is `Ok`).
    pub ingest: IngestReport,
    /// The error, for failures.
    pub error: Option<String>,
    /// A permanent redirect seen in this poll.
    pub moved_to: Option<String>,
    /// The fetch state after the poll.
    pub state: FetchState,
}

/// What a poll needs besides the feed.
#[derive(Clone)]
pub(crate) struct PollEnv {
    pub store: SharedStore,
    pub fetcher: Fetcher,
    pub limits: Arc<Limits>,
    pub clock: Arc<dyn Clock>,
    pub writer: Arc<Writer>,
}

/// Polls `feed`, whose state before the poll is `state`, and stores the result.
pub(crate) async fn poll(env: PollEnv, feed: Arc<ScheduledFeed>, state: FetchState) -> PollReport {
    let target = state
        .redirect_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .unwrap_or_else(|| feed.url.clone());
    let host = target.host_str().unwrap_or_default().to_string();
    let slot = env.limits.acquire(&host).await;
    let fetched = env
        .fetcher
        .fetch(&FetchRequest {
            url: &target,
            etag: state.etag.as_deref(),
            last_modified: state.last_modified.as_deref(),
        })
        .await;
    let global = slot.map(limits::Slot::release_host);
    let now = env.clock.now();
    let meta = (
        fetched.http,
        fetched.bytes,
        fetched.elapsed,
        fetched.moved_to.as_ref().map(url::Url::to_string),
    );
    let old = state.clone();
    let task_feed = feed.clone();
    let task_writer = env.writer.clone();
    // Parsing holds the fetch slot: it bounds the documents in memory. Without a document
    // (a 304, an error) there is nothing to parse, and no thread to hand it to.
    let job = if matches!(fetched.outcome, FetchOutcome::Modified { .. }) {
        env.writer
            .on_preparing_thread(move || build_job(&task_writer, &task_feed, state, fetched, now))
            .await
    } else {
        Some(build_job(&task_writer, &task_feed, state, fetched, now))
    };
    let (http, bytes, elapsed, moved_to) = meta;
    let internal = |why: &str| {
        let state = failed_internally(&feed, &old, now, http, why);
        Job {
            fallback: state.clone(),
            state,
            document: None,
        }
    };
    let job = job.unwrap_or_else(|| internal("preparing the document panicked"));
    // The next fetch may start once this document has a place in the writer's queue.
    let room = env.writer.room().await;
    drop(global);
    let done = env.writer.write(job).await;
    drop(room);
    let (state, ingest) = match done {
        Some(written) => written,
        None => {
            // A crash while storing must still move the feed on, or it would be re-polled
            // at once, forever.
            let state = internal("the writer crashed").state;
            // On the blocking pool, as every store call from a task: PostgreSQL's client
            // must not block an async worker.
            let (store, saved) = (env.store.clone(), state.clone());
            let _ = tokio::task::spawn_blocking(move || save(&store, &saved)).await;
            (state, IngestReport::default())
        }
    };
    let report = PollReport {
        feed_id: feed.id,
        name: feed.name.clone(),
        url: target.to_string(),
        status: state.last_status.unwrap_or(FetchStatus::Error),
        http,
        bytes,
        elapsed,
        ingest,
        error: state.last_error.clone(),
        moved_to,
        state,
    };
    record(&report);
    report
}

/// Turns a fetch into the writes that record it: the document parsed and fingerprinted
/// (blocking: call it on a preparing thread when there is a document), and the feed's next
/// fetch state from the schedule stage's state machine.
fn build_job(
    writer: &Writer,
    feed: &ScheduledFeed,
    old: FetchState,
    fetched: FetchReport,
    now: DateTime<Utc>,
) -> Job {
    let http = fetched.http;
    let moved_to = fetched.moved_to.as_ref().map(url::Url::to_string);
    let next =
        |outcome: Outcome| next_state(&old, Observed { http, outcome }, feed.schedule_feed(), now);
    let only = |state: FetchState| Job {
        fallback: state.clone(),
        state,
        document: None,
    };
    match fetched.outcome {
        FetchOutcome::Modified {
            body,
            content_type,
            validators,
        } => {
            let ctx = crate::parse::FeedContext {
                url: fetched.url.as_str(),
                content_type: content_type.as_deref(),
                fetched_at: now,
            };
            let parsed = match crate::parse::parse(&body, &ctx) {
                Ok(p) => p,
                Err(e) => {
                    let error = format!("{}: {e}", fetched.url);
                    let kind = FailureKind::Parse;
                    return only(next(Outcome::Failed { kind, error }));
                }
            };
            let state = next(Outcome::Fetched {
                etag: validators.etag,
                last_modified: validators.last_modified,
                fresh_for: validators.fresh_for,
                ttl_minutes: parsed.ttl_minutes,
                moved_to,
            });
            Job {
                state,
                fallback: next(Outcome::Failed {
                    kind: FailureKind::Store,
                    error: String::new(),
                }),
                document: Some(Document {
                    fingerprints: writer.fingerprints(feed.id, &parsed),
                    parsed,
                    fetched_at: now,
                }),
            }
        }
        FetchOutcome::NotModified { validators } => only(next(Outcome::NotModified {
            etag: validators.etag,
            last_modified: validators.last_modified,
            fresh_for: validators.fresh_for,
            moved_to,
        })),
        FetchOutcome::Gone => only(next(Outcome::Gone {
            url: fetched.url.to_string(),
        })),
        FetchOutcome::RateLimited { retry_after } => only(next(Outcome::RateLimited {
            url: fetched.url.to_string(),
            retry_after,
        })),
        FetchOutcome::Failed { error } => only(next(Outcome::Failed {
            kind: error.kind(),
            error: error.to_string(),
        })),
    }
}

/// The state after a poll that failed inside this process (a panic while preparing or
/// writing): one more error, retried after the backoff like any failure.
fn failed_internally(
    feed: &ScheduledFeed,
    old: &FetchState,
    now: DateTime<Utc>,
    http: Option<u16>,
    why: &str,
) -> FetchState {
    let outcome = Outcome::Failed {
        kind: FailureKind::Internal,
        error: format!("internal error: {why}"),
    };
    next_state(old, Observed { http, outcome }, feed.schedule_feed(), now)
}

fn save(store: &SharedStore, state: &FetchState) {
    let mut guard = store.lock();
    if let Err(e) = guard.save_fetch_state(state, None, None) {
        tracing::error!(error = %format!("{e:#}"), "cannot save fetch state");
    }
}

/// The log line and the metrics of one poll.
fn record(r: &PollReport) {
    let result = r.status.as_str();
    metrics::counter!("tributary_fetches_total", "result" => result).increment(1);
    if let (Some(_), Some(kind)) = (&r.error, r.state.last_error_kind) {
        metrics::counter!("tributary_fetch_failures_total", "kind" => kind.as_str()).increment(1);
    }
    metrics::histogram!("tributary_fetch_duration_seconds").record(r.elapsed.as_secs_f64());
    metrics::counter!("tributary_fetch_bytes_total").increment(r.bytes);
    metrics::counter!("tributary_articles_new_total").increment(r.ingest.new_articles as u64);
    metrics::counter!("tributary_articles_updated_total")
        .increment(r.ingest.updated_articles as u64);
    metrics::counter!("tributary_stories_new_total").increment(r.ingest.new_stories as u64);
    metrics::counter!("tributary_merges_total").increment(r.ingest.merged as u64);
    metrics::counter!("tributary_story_merges_total").increment(r.ingest.story_merges as u64);
    let next = r.state.next_fetch.map(|t| t.to_rfc3339());
    let ms = r.elapsed.as_millis() as u64;
    match &r.error {
        // Where another daemon places what this one fetched, the count is of the entries
        // handed over to it (a `None` field is left out of the line).
        None => {
            let handed = r.ingest.handed_over;
            let here = |n: usize| (handed == 0).then_some(n);
            tracing::info!(
                feed = %r.name,
                status = result,
                http = r.http,
                bytes = r.bytes,
                ms,
                new = here(r.ingest.new_articles),
                updated = here(r.ingest.updated_articles),
                handed_over = (handed > 0).then_some(handed),
                next = next.as_deref(),
                "fetched"
            )
        }
        Some(error) => tracing::warn!(
            feed = %r.name,
            status = result,
            http = r.http,
            bytes = r.bytes,
            ms,
            errors = r.state.error_count,
            kind = r.state.last_error_kind.map(FailureKind::as_str),
            next = next.as_deref(),
            error = %error,
            "fetch failed"
        ),
    }
}
