//! One poll of one feed: fetch → parse → ingest, then the fetch state that decides when it
//! is polled next. Every ending is recorded; nothing is dropped silently.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::SharedStore;
use super::writer::{Document, Job, Writer};
use crate::config::CronSchedule;
use crate::fetch::{FetchOutcome, FetchReport, FetchRequest, Fetcher, Validators};
use crate::ingest::IngestReport;
use crate::model::{FailureKind, FetchStatus};
use crate::schedule::limits::{self, Limits};
use crate::schedule::{Clock, plan, policy};
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
    let internal = |e: &dyn std::fmt::Display| {
        let state = failed(
            &feed,
            &old,
            now,
            http,
            FailureKind::Internal,
            format!("internal error: {e}"),
        );
        Job {
            fallback: state.clone(),
            state,
            document: None,
        }
    };
    let job = job.unwrap_or_else(|| internal(&"preparing the document panicked"));
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
            let state = internal(&"the writer crashed").state;
            save(&env.store, &state);
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

/// Turns a fetch into the writes that record it (blocking: parses and fingerprints the
/// document).
fn build_job(
    writer: &Writer,
    feed: &ScheduledFeed,
    old: FetchState,
    fetched: FetchReport,
    now: DateTime<Utc>,
) -> Job {
    let http = fetched.http;
    let moved_to = fetched.moved_to.as_ref().map(url::Url::to_string);
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
                    return only(failed(
                        feed,
                        &old,
                        now,
                        http,
                        FailureKind::Parse,
                        format!("{}: {e}", fetched.url),
                    ));
                }
            };
            let floor = policy::interval_floor(parsed.ttl_minutes, validators.fresh_for);
            let state = succeeded(
                feed,
                &old,
                now,
                FetchStatus::Ok,
                http,
                validators,
                floor,
                moved_to,
            );
            Job {
                state,
                fallback: failed(feed, &old, now, http, FailureKind::Store, String::new()),
                document: Some(Document {
                    fingerprints: writer.fingerprints(feed.id, &parsed),
                    parsed,
                    fetched_at: now,
                }),
            }
        }
        FetchOutcome::NotModified { validators } => {
            let floor = validators
                .fresh_for
                .map(|f| f.min(policy::MAX_INTERVAL_FLOOR))
                .or(old
                    .interval_floor
                    .map(|s| Duration::from_secs(s.max(0) as u64)));
            let validators = Validators {
                etag: validators.etag.or_else(|| old.etag.clone()),
                last_modified: validators
                    .last_modified
                    .or_else(|| old.last_modified.clone()),
                fresh_for: validators.fresh_for,
            };
            only(succeeded(
                feed,
                &old,
                now,
                FetchStatus::NotModified,
                http,
                validators,
                floor,
                moved_to,
            ))
        }
        FetchOutcome::Gone => only(FetchState {
            last_fetch: Some(now),
            last_status: Some(FetchStatus::Gone),
            last_http: http,
            last_error: Some(format!(
                "{} answered 410 Gone: polling stopped until `tributary feeds enable`",
                fetched.url
            )),
            last_error_kind: Some(FailureKind::Gone),
            error_count: old.error_count.saturating_add(1),
            next_fetch: None,
            gone: true,
            ..old
        }),
        FetchOutcome::RateLimited { retry_after } => {
            let wait = policy::retry_wait(retry_after);
            let resume = now + chrono::Duration::from_std(wait).unwrap_or_default();
            only(FetchState {
                last_fetch: Some(now),
                last_status: Some(FetchStatus::RateLimited),
                last_http: http,
                last_error: Some(format!(
                    "{} is rate limiting us (HTTP {}): waiting {} s as it asked",
                    fetched.url,
                    http.unwrap_or_default(),
                    wait.as_secs()
                )),
                last_error_kind: Some(FailureKind::RateLimited),
                error_count: old.error_count.saturating_add(1),
                next_fetch: Some(plan::next_due(&feed.schedule, &feed.key, resume)),
                ..old
            })
        }
        FetchOutcome::Failed { error } => only(failed(
            feed,
            &old,
            now,
            http,
            error.kind(),
            error.to_string(),
        )),
    }
}

/// The state after a 200 or 304: errors cleared, the next slot at or after the floor.
#[allow(clippy::too_many_arguments)]
fn succeeded(
    feed: &ScheduledFeed,
    old: &FetchState,
    now: DateTime<Utc>,
    status: FetchStatus,
    http: Option<u16>,
    validators: Validators,
    floor: Option<Duration>,
    moved_to: Option<String>,
) -> FetchState {
    let earliest = now + chrono::Duration::from_std(floor.unwrap_or_default()).unwrap_or_default();
    FetchState {
        etag: validators.etag,
        last_modified: validators.last_modified,
        last_fetch: Some(now),
        last_status: Some(status),
        last_http: http,
        last_error: None,
        last_error_kind: None,
        error_count: 0,
        next_fetch: Some(plan::next_due(&feed.schedule, &feed.key, earliest)),
        redirect_url: moved_to.or_else(|| old.redirect_url.clone()),
        gone: false,
        interval_floor: floor.map(|f| f.as_secs() as i64),
        ..old.clone()
    }
}

/// The state after a failure: one more error, retried after the backoff.
fn failed(
    feed: &ScheduledFeed,
    old: &FetchState,
    now: DateTime<Utc>,
    http: Option<u16>,
    kind: FailureKind,
    error: String,
) -> FetchState {
    let failures = old.error_count.saturating_add(1);
    let interval = plan::interval(&feed.schedule, now);
    let wait = policy::backoff(interval, failures, &feed.key);
    FetchState {
        last_fetch: Some(now),
        last_status: Some(FetchStatus::Error),
        last_http: http,
        last_error: Some(error),
        last_error_kind: Some(kind),
        error_count: failures,
        next_fetch: Some(now + chrono::Duration::from_std(wait).unwrap_or_default()),
        ..old.clone()
    }
}

fn save(store: &SharedStore, state: &FetchState) {
    let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
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
        None => tracing::info!(
            feed = %r.name,
            status = result,
            http = r.http,
            bytes = r.bytes,
            ms,
            new = r.ingest.new_articles,
            updated = r.ingest.updated_articles,
            next = next.as_deref(),
            "fetched"
        ),
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
