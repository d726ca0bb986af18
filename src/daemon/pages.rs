//! Article pages in a polling process: fetching the page of each copy that wants one
//! (`[fetch] full_text`), extracting its article on a preparing thread, and handing the
//! result to the writer, which records it and places the copy again with its full text.
//!
//! Pages come after the feed: ingest stores the copy with its feed text and marks its page
//! wanted in the feed's own transaction, so a page never delays a poll's commit and a crash
//! never loses a want. Pages are polite like feeds: they share the per-host and global
//! limits with feed polls, and on top of those a host serves at most
//! [`PAGES_PER_HOST_PER_MINUTE`] pages a minute (a token bucket, so a feed's first burst of
//! new items goes at once and the rest at that pace). A failure is tried again after
//! [`PAGE_RETRY_AFTER`], at most [`PAGE_ATTEMPTS`] times; a `Retry-After` is honoured for
//! the host's other pages too.

use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::policy::{MAX_TURN_WAIT, PAGES_PER_ROUND};
use super::poll::PollEnv;
use crate::fetch::policy::{
    MAX_PAGE_RETRY_AFTER, PAGE_ATTEMPTS, PAGE_RETRY_AFTER, PAGES_PER_HOST_PER_MINUTE,
};
use crate::fetch::{FetchError, PageOutcome, PageRequest, Validators};
use crate::ingest::{PageReport, PageResult};
use crate::model::PageState;
use crate::parse::page;
use crate::store::{DuePage, PageWrite};

/// What one round of page fetches did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagesReport {
    /// Pages whose article replaced the copy's feed text.
    pub completed: usize,
    /// Pages that answered without an article (kept the summary; not asked again).
    pub no_article: usize,
    /// Pages that failed this time (tried again later while attempts remain).
    pub failed: usize,
    /// Links refused: not on a public network.
    pub refused: usize,
    /// Stories merged because a copy with its full text matched them.
    pub story_merges: usize,
    /// Stories founded by copies that, with a full text, no longer matched their story.
    pub stories_split: usize,
}

impl PagesReport {
    fn add(&mut self, state: PageState, changed: PageReport) {
        match state {
            PageState::Done => self.completed += 1,
            PageState::Empty => self.no_article += 1,
            PageState::Refused => self.refused += 1,
            PageState::Failed | PageState::Wanted => self.failed += 1,
        }
        self.story_merges += changed.story_merges;
        self.stories_split += changed.stories_split;
    }

    /// Pages attempted.
    pub fn total(&self) -> usize {
        self.completed + self.no_article + self.failed + self.refused
    }
}

/// A host's page budget: tokens refill at [`PAGES_PER_HOST_PER_MINUTE`] a minute, up to
/// that many.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The page fetching of one process: the pages in flight and each host's budget.
#[derive(Default)]
pub(crate) struct Pages {
    busy: Mutex<HashSet<i64>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Woken after a commit that wanted pages.
    pub wake: tokio::sync::Notify,
}

impl Pages {
    /// Fetches every page due at `now` that is not in flight (up to [`PAGES_PER_ROUND`]),
    /// and waits until each is recorded.
    pub async fn fetch_due(self: &Arc<Self>, env: &PollEnv) -> Result<PagesReport> {
        let now = env.clock.now();
        let due = {
            let store = env.store.clone();
            let pages = self.clone();
            tokio::task::spawn_blocking(move || {
                let store = store.lock();
                let busy = pages.busy.lock();
                store.due_pages(now, PAGES_PER_ROUND, &|a| busy.contains(&a))
            })
            .await
            .context("the page loader crashed")??
        };
        let mut set = JoinSet::new();
        for page in due {
            self.busy.lock().insert(page.article);
            set.spawn(fetch_one(env.clone(), self.clone(), page));
        }
        let mut report = PagesReport::default();
        while let Some(done) = set.join_next().await {
            if let Ok(Some((state, changed))) = done {
                report.add(state, changed);
            }
        }
        Ok(report)
    }

    /// Fetches pages until none is due at the clock's time: what `tributary fetch` waits for
    /// (pages that fail are due again only later, so this ends).
    pub async fn fetch_all_due(self: &Arc<Self>, env: &PollEnv) -> Result<PagesReport> {
        let mut total = PagesReport::default();
        loop {
            let round = self.fetch_due(env).await?;
            if round.total() == 0 {
                return Ok(total);
            }
            total.completed += round.completed;
            total.no_article += round.no_article;
            total.failed += round.failed;
            total.refused += round.refused;
            total.story_merges += round.story_merges;
            total.stories_split += round.stories_split;
        }
    }

    /// Waits until `host` may be sent another page.
    /// Returns how long the host's budget is held back instead, when that is longer than
    /// [`MAX_TURN_WAIT`] (a `Retry-After`): the page is deferred, not waited for.
    async fn take_turn(&self, host: &str) -> Result<(), Duration> {
        let rate = f64::from(PAGES_PER_HOST_PER_MINUTE.max(1)) / 60.0; // tokens a second
        loop {
            let wait = {
                let mut buckets = self.buckets.lock();
                let now = Instant::now();
                let b = buckets.entry(host.to_string()).or_insert(Bucket {
                    tokens: f64::from(PAGES_PER_HOST_PER_MINUTE.max(1)),
                    at: now,
                });
                let refill = now.saturating_duration_since(b.at).as_secs_f64() * rate;
                if refill > 0.0 {
                    b.tokens = (b.tokens + refill).min(f64::from(PAGES_PER_HOST_PER_MINUTE));
                    b.at = now;
                }
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return Ok(());
                }
                Duration::from_secs_f64((1.0 - b.tokens) / rate)
            };
            if wait > MAX_TURN_WAIT {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Holds `host`'s pages back for `wait` (its `Retry-After`).
    fn hold_host(&self, host: &str, wait: Duration) {
        let rate = f64::from(PAGES_PER_HOST_PER_MINUTE.max(1)) / 60.0;
        let mut buckets = self.buckets.lock();
        let b = buckets.entry(host.to_string()).or_insert(Bucket {
            tokens: 0.0,
            at: Instant::now(),
        });
        b.tokens = -(wait.min(MAX_PAGE_RETRY_AFTER).as_secs_f64() * rate);
        b.at = Instant::now();
    }
}

/// Fetches, extracts and records one page; returns its new state and what recording it
/// changed, or `None` when the writer could not record it.
async fn fetch_one(
    env: PollEnv,
    pages: Arc<Pages>,
    due: DuePage,
) -> Option<(PageState, PageReport)> {
    let result = attempt(&env, &pages, &due).await;
    let state = result.write.state.unwrap_or(PageState::Failed);
    if let Some(reason) = &result.write.reason {
        tracing::info!(article = due.article, url = %due.url, state = state.as_str(), reason = %reason, "article page not used");
    }
    let written = env.writer.write_page(result).await;
    pages.busy.lock().remove(&due.article);
    metrics::counter!("tributary_pages_total", "result" => state.as_str()).increment(1);
    written.map(|r| (state, r))
}

/// One attempt at `due`'s page, as the result to record.
async fn attempt(env: &PollEnv, pages: &Pages, due: &DuePage) -> PageResult {
    let give = |write: PageWrite, text: Option<String>, at: DateTime<Utc>| PageResult {
        article: due.article,
        write,
        text,
        fetched_at: at,
    };
    let Ok(url) = url::Url::parse(&due.url) else {
        let write = PageWrite {
            state: Some(PageState::Failed),
            reason: Some(format!("{} is not a URL", due.url)),
            ..PageWrite::default()
        };
        return give(write, None, env.clock.now());
    };
    let feed_host = url::Url::parse(&due.feed_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if let Err(wait) = pages.take_turn(&host).await {
        let now = env.clock.now();
        let write = PageWrite {
            state: Some(PageState::Wanted),
            reason: Some(format!(
                "{host} asked to wait (Retry-After): deferred {} s",
                wait.as_secs()
            )),
            due: Some(now + chrono::Duration::from_std(wait).unwrap_or_default()),
            deferred: true,
            ..PageWrite::default()
        };
        return give(write, None, now);
    }
    let slot = env.limits.acquire(&host).await;
    let report = env
        .fetcher
        .fetch_page(&PageRequest {
            url: &url,
            feed_host: feed_host.as_deref(),
            etag: due.etag.as_deref(),
            last_modified: due.last_modified.as_deref(),
        })
        .await;
    drop(slot);
    let now = env.clock.now();
    let attempts = due.attempts + 1;
    let retry = |reason: String| {
        let again = attempts < PAGE_ATTEMPTS;
        PageWrite {
            state: Some(if again {
                PageState::Wanted
            } else {
                PageState::Failed
            }),
            reason: Some(reason),
            due: again
                .then(|| now + chrono::Duration::from_std(PAGE_RETRY_AFTER).unwrap_or_default()),
            ..PageWrite::default()
        }
    };
    let final_url = Some(report.url.to_string());
    match report.outcome {
        PageOutcome::Fetched {
            body,
            content_type,
            validators,
        } => {
            let base = report.url.clone();
            let extracted = env
                .writer
                .on_preparing_thread(move || page::extract(&body, content_type.as_deref(), &base))
                .await;
            let write = match extracted {
                Some(Ok(article)) => {
                    let text = article.text;
                    let write = PageWrite {
                        state: Some(PageState::Done),
                        final_url,
                        content: Some(article.html),
                        words: Some(article.words),
                        title: article.title,
                        byline: article.byline,
                        ..validated(validators)
                    };
                    return give(write, Some(text), now);
                }
                Some(Err(e)) => PageWrite {
                    state: Some(PageState::Empty),
                    reason: Some(e.to_string()),
                    final_url,
                    ..validated(validators)
                },
                None => PageWrite {
                    state: Some(PageState::Empty),
                    reason: Some("internal error: extracting the article panicked".into()),
                    final_url,
                    ..PageWrite::default()
                },
            };
            give(write, None, now)
        }
        // A retry that sent the validators of an earlier answer: the stored article stands.
        PageOutcome::NotModified { validators } => {
            let write = PageWrite {
                state: Some(PageState::Done),
                reason: Some("the page did not change (304)".into()),
                final_url,
                ..validated(validators)
            };
            give(write, None, now)
        }
        PageOutcome::Failed {
            error: FetchError::Refused { reason },
        } => {
            let write = PageWrite {
                state: Some(PageState::Refused),
                reason: Some(reason),
                final_url,
                ..PageWrite::default()
            };
            give(write, None, now)
        }
        PageOutcome::RateLimited { retry_after } => {
            pages.hold_host(&host, retry_after);
            let wait = retry_after.clamp(PAGE_RETRY_AFTER, MAX_PAGE_RETRY_AFTER);
            let mut write = retry(format!(
                "{} asks to retry in {} s",
                report.url,
                retry_after.as_secs()
            ));
            if write.due.is_some() {
                write.due = Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
            }
            give(write, None, now)
        }
        PageOutcome::Failed { error } => give(retry(error.to_string()), None, now),
    }
}

/// A [`PageWrite`] carrying `v`'s validators.
fn validated(v: Validators) -> PageWrite {
    PageWrite {
        etag: v.etag,
        last_modified: v.last_modified,
        ..PageWrite::default()
    }
}
