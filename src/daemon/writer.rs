//! The store's writer in a polling process, with group commit, on a thread of its own.
//!
//! SQLite has one writer, and a commit costs about as much as ingesting a feed of 50 new
//! articles (its WAL frames, and every index page the feed touched). So polls do not each
//! commit: a poll hands its writes to [`Writer::write`] and waits. The writer's thread
//! writes everything queued by then — up to [`policy::WRITE_GROUP_FEEDS`] feeds — as one
//! transaction, with each feed's fetch state beside its articles. If anything in it fails,
//! the transaction rolls back and each feed is written alone, so one broken feed costs only
//! that feed. (Savepoints per feed were measured: their page journaling cost as much as the
//! commits they saved.) The polls are answered only after the commit, so a report never
//! claims what a crash could still take back.
//!
//! The thread is the process's own priority, and the threads that prepare documents for it
//! ([`Preparers`]) a lower one: the writer is the serial stage and should never wait for a
//! core.
//!
//! The writer owns the dedup stage ([`Dedup`]): its index, loaded from the store before the
//! first poll ([`Writer::prepare_dedup`], which also takes a reloaded `[dedup]` policy), and
//! its learned lines, which the preparing threads share through
//! [`Dedup::learned_lines`] to fingerprint documents while the writer writes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::SharedStore;
use super::preparers::Preparers;
use crate::config::DedupConfig;
use crate::dedup::{Dedup, Fingerprint, LearnedLines, Policy, Staged};
use crate::ingest::{
    IngestReport, PageReport, PageResult, ingest_into, open_dedup_with, record_page,
};
use crate::model::ParsedFeed;
use crate::schedule::policy;
use crate::store::{FetchState, Store};

/// One poll's writes.
pub(crate) struct Job {
    /// The feed's state to save when the writes land.
    pub state: FetchState,
    /// The document fetched, when there is one to store.
    pub document: Option<Document>,
    /// The state to save instead when the document cannot be stored; the writer fills in
    /// its `last_error`.
    pub fallback: FetchState,
}

/// A parsed document to store.
pub(crate) struct Document {
    /// The articles.
    pub parsed: ParsedFeed,
    /// Their fingerprints, in order ([`Writer::fingerprints`]).
    pub fingerprints: Vec<Fingerprint>,
    /// When it was fetched (first-seen time of new articles).
    pub fetched_at: DateTime<Utc>,
}

/// What became of a [`Job`]: the state saved and what the ingest changed.
pub(crate) type Written = (FetchState, IngestReport);

/// What the writer sends back to a poll: what was saved, and the job itself, for the
/// poll to free (freeing a parsed document costs as much as a tenth of writing it).
type Answer = (Written, Job);

struct Pending {
    job: Job,
    done: oneshot::Sender<Answer>,
}

/// A page result waiting for the writer, with the channel its fetch waits on.
struct PendingPage {
    page: PageResult,
    done: oneshot::Sender<PageReport>,
}

/// The jobs waiting for the writer's thread.
#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// Article pages fetched, to record (written after the polls queued with them).
    pages: Vec<PendingPage>,
    /// The [`Writer`] is gone: the thread ends once the queue is empty.
    closed: bool,
}

/// The writer's dedup stage: loaded from the store on first use, then kept for the life
/// of the writer.
#[derive(Default)]
struct DedupStage {
    /// The stage; locked by whoever holds the store (the writer's thread for each group,
    /// [`Writer::prepare_dedup`]), taken out while a group is written.
    dedup: Mutex<Option<Dedup>>,
    /// The stage's learned lines, for the preparing threads: reached without the lock
    /// above, which the writer holds while it writes.
    lines: OnceLock<Arc<LearnedLines>>,
    /// The `[dedup]` policy last given ([`Writer::prepare_dedup`]): a stage reloaded after a
    /// panic dropped it keeps the operator's window and preferred sources.
    policy: Mutex<Option<Policy>>,
}

impl DedupStage {
    /// The stage's learned lines (shared with the stage once it is loaded).
    fn lines(&self) -> &Arc<LearnedLines> {
        self.lines.get_or_init(Arc::default)
    }

    /// Loads the stage from `store` with `policy`, keeping the lines learned so far.
    fn open(&self, store: &Store, policy: Policy) -> Result<Dedup> {
        let mut dedup = open_dedup_with(store, policy)?;
        let lines = self.lines.get_or_init(|| dedup.learned_lines());
        dedup.share_learned_lines(lines.clone());
        Ok(dedup)
    }
}

/// What the writer's thread shares with the polls.
struct Shared {
    store: SharedStore,
    dedup: DedupStage,
    queue: Mutex<Queue>,
    work: Condvar,
}

/// The writer of one store; shared by every poll of the process.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    room: Arc<Semaphore>,
    preparers: Preparers,
}

impl Writer {
    /// A writer for `store`, with its thread and its preparing threads.
    pub fn new(store: SharedStore) -> Writer {
        let shared = Arc::new(Shared {
            store,
            dedup: DedupStage::default(),
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
        });
        let on_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tributary-writer".into())
            .spawn(move || write_loop(&on_thread))
            .map_err(|e| tracing::error!(error = %e, "cannot start the writer thread"))
            .ok();
        Writer {
            shared,
            thread,
            room: Arc::new(Semaphore::new(policy::WRITE_QUEUE_FEEDS)),
            preparers: Preparers::new(),
        }
    }

    /// Loads the dedup stage from `store` if it is not loaded yet (at startup, so the
    /// first poll does not wait for it), else gives it `config`'s policy (a reload).
    /// `store` is the writer's (locked by the caller).
    pub fn prepare_dedup(&self, store: &Store, config: &DedupConfig) -> Result<()> {
        let policy = Policy::from_config(config);
        *lock(&self.shared.dedup.policy) = Some(policy.clone());
        let mut dedup = lock(&self.shared.dedup.dedup);
        match dedup.as_mut() {
            Some(d) => d.set_policy(policy),
            None => *dedup = Some(self.shared.dedup.open(store, policy)?),
        }
        Ok(())
    }

    /// Learns the lines of every article of `feed`'s document, then fingerprints each
    /// (blocking, CPU; call it before [`Writer::write`], on a preparing thread). The lines
    /// are the dedup stage's, taken out for the feed meanwhile: the writer can write.
    pub fn fingerprints(&self, feed: i64, parsed: &ParsedFeed) -> Vec<Fingerprint> {
        let learned = self.shared.dedup.lines();
        let mut lines = learned.take(feed);
        let prints = lines.learn_and_fingerprint(&parsed.articles);
        learned.put(feed, lines);
        prints
    }

    /// Runs `task` (parsing and fingerprinting a document) on a preparing thread; `None`
    /// if it panicked.
    pub async fn prepare<T: Send + 'static>(
        &self,
        task: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        self.preparers.run(task).await
    }

    /// Waits for room in the queue: parsed documents waiting for the writer are bounded
    /// (memory), and a poll holds its fetch slot until it has room, so fetching slows down
    /// to the writer's pace instead of piling up documents.
    pub async fn room(&self) -> Option<OwnedSemaphorePermit> {
        self.room.clone().acquire_owned().await.ok()
    }

    /// Writes `job` (in a group with whatever else is queued) and returns what was saved.
    /// `None` when the writing crashed (the caller records an internal error).
    pub async fn write(&self, job: Job) -> Option<Written> {
        let (done, answer) = oneshot::channel();
        if self.thread.is_none() {
            write_group(
                &mut lock(&self.shared.store),
                &self.shared.dedup,
                vec![Pending { job, done }],
            );
        } else {
            lock(&self.shared.queue).pending.push(Pending { job, done });
            self.shared.work.notify_one();
        }
        // The job itself is freed here, off the writer's thread.
        answer.await.ok().map(|(written, _job)| written)
    }

    /// Records what fetching an article page gave (in a group with whatever other pages are
    /// queued) and returns what it changed. `None` when the writing crashed.
    pub async fn write_page(&self, page: PageResult) -> Option<PageReport> {
        let (done, answer) = oneshot::channel();
        if self.thread.is_none() {
            write_pages(
                &mut lock(&self.shared.store),
                &self.shared.dedup,
                vec![PendingPage { page, done }],
            );
        } else {
            lock(&self.shared.queue)
                .pages
                .push(PendingPage { page, done });
            self.shared.work.notify_one();
        }
        answer.await.ok()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        lock(&self.shared.queue).closed = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The writer's thread: writes whatever is queued, a group at a time, until the writer is
/// dropped and the queue is empty.
fn write_loop(shared: &Shared) {
    loop {
        let (group, pages): (Vec<Pending>, Vec<PendingPage>) = {
            let mut queue = lock(&shared.queue);
            while queue.pending.is_empty() && queue.pages.is_empty() {
                if queue.closed {
                    return;
                }
                queue = shared.work.wait(queue).unwrap_or_else(|p| p.into_inner());
            }
            let n = queue.pending.len().min(policy::WRITE_GROUP_FEEDS);
            let p = queue.pages.len().min(policy::WRITE_GROUP_PAGES);
            (
                queue.pending.drain(..n).collect(),
                queue.pages.drain(..p).collect(),
            )
        };
        let mut store = lock(&shared.store);
        // A panic outside an ingest (which is caught on its own) drops the group's
        // answers — their polls record an internal error — and the thread goes on.
        let dedup = &shared.dedup;
        if !group.is_empty()
            && catch_unwind(AssertUnwindSafe(|| write_group(&mut store, dedup, group))).is_err()
        {
            tracing::error!("internal error: writing a group of polls panicked");
        }
        if !pages.is_empty()
            && catch_unwind(AssertUnwindSafe(|| write_pages(&mut store, dedup, pages))).is_err()
        {
            tracing::error!("internal error: recording a group of pages panicked");
        }
    }
}

/// Records a group of pages in one transaction (each alone if that fails) and answers each.
fn write_pages(store: &mut Store, stage: &DedupStage, group: Vec<PendingPage>) {
    let (pages, answers): (Vec<PageResult>, Vec<oneshot::Sender<PageReport>>) =
        group.into_iter().map(|p| (p.page, p.done)).unzip();
    let mut slot = lock(&stage.dedup);
    let mut dedup = match slot.take() {
        Some(dedup) => dedup,
        None => {
            let policy = lock(&stage.policy)
                .clone()
                .unwrap_or_else(|| Policy::from_config(&DedupConfig::default()));
            match stage.open(store, policy) {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "cannot load the dedup stage to record pages");
                    return;
                }
            }
        }
    };
    let reports = match record_together(store, &mut dedup, &pages) {
        Ok(reports) => reports,
        Err(e) => {
            tracing::debug!(error = %format!("{e:#}"), "page group failed; recording pages one by one");
            pages
                .iter()
                .map(|page| {
                    record_together(store, &mut dedup, std::slice::from_ref(page))
                        .map(|mut r| r.remove(0))
                        .unwrap_or_else(|e| {
                            tracing::warn!(article = page.article, error = %format!("{e:#}"), "cannot record a page");
                            PageReport::default()
                        })
                })
                .collect()
        }
    };
    *slot = Some(dedup);
    drop(slot);
    for (answer, report) in answers.into_iter().zip(reports) {
        let _ = answer.send(report);
    }
}

/// Records `pages` in one transaction, all or nothing; the index learns of the changes
/// once they are committed.
fn record_together(
    store: &mut Store,
    dedup: &mut Dedup,
    pages: &[PageResult],
) -> Result<Vec<PageReport>> {
    let mut batch = store.begin_ingest()?;
    let mut staged = Staged::default();
    let mut reports = Vec::with_capacity(pages.len());
    for page in pages {
        let report = catch_unwind(AssertUnwindSafe(|| {
            record_page(&mut batch, dedup, &mut staged, page, page.fetched_at)
        }))
        .map_err(|_| anyhow!("internal error: recording a page panicked"))??;
        reports.push(report);
    }
    batch.commit()?;
    dedup.apply(staged);
    Ok(reports)
}

/// Writes a group and answers each poll in it. The dedup stage is taken out meanwhile (a
/// panic drops it, and the next group loads it again from the store); when it is not
/// loaded yet, it is loaded with the default policy.
fn write_group(store: &mut Store, stage: &DedupStage, group: Vec<Pending>) {
    let (jobs, answers): (Vec<Job>, Vec<oneshot::Sender<Answer>>) =
        group.into_iter().map(|p| (p.job, p.done)).unzip();
    let mut slot = lock(&stage.dedup);
    let dedup = match slot.take() {
        Some(dedup) => Ok(dedup),
        None => {
            let policy = lock(&stage.policy)
                .clone()
                .unwrap_or_else(|| Policy::from_config(&DedupConfig::default()));
            stage.open(store, policy)
        }
    };
    let written = match dedup {
        Ok(mut dedup) => {
            let written = write_or_isolate(store, &mut dedup, &jobs);
            *slot = Some(dedup);
            written
        }
        Err(e) => jobs.iter().map(|j| give_up(store, j, &e)).collect(),
    };
    drop(slot);
    // Each job goes back to its poll with the answer, to be freed off this thread.
    for ((answer, w), job) in answers.into_iter().zip(written).zip(jobs) {
        // A poll abandoned at shutdown no longer listens; its writes landed anyway.
        let _ = answer.send((w, job));
    }
}

/// Writes `jobs` together; if anything in them fails (the whole transaction rolled
/// back), writes each feed alone, so only the feed at fault fails.
fn write_or_isolate(store: &mut Store, dedup: &mut Dedup, jobs: &[Job]) -> Vec<Written> {
    match write_together(store, dedup, jobs) {
        Ok(written) => written,
        Err(e) if jobs.len() > 1 => {
            tracing::debug!(error = %format!("{e:#}"), "group write failed; writing feeds one by one");
            jobs.iter()
                .map(
                    |job| match write_together(store, dedup, std::slice::from_ref(job)) {
                        Ok(mut w) => w.remove(0),
                        Err(e) => give_up(store, job, &e),
                    },
                )
                .collect()
        }
        Err(e) => jobs.iter().map(|j| give_up(store, j, &e)).collect(),
    }
}

/// Writes `jobs` in one transaction, all or nothing. The dedup index learns of the new
/// stories only once they are committed.
fn write_together(store: &mut Store, dedup: &mut Dedup, jobs: &[Job]) -> Result<Vec<Written>> {
    let mut batch = store.begin_ingest()?;
    let mut staged = Staged::default();
    let mut written = Vec::with_capacity(jobs.len());
    for job in jobs {
        let report = match &job.document {
            Some(doc) => {
                let feed = job.state.feed_id;
                // A panic leaves the index as it was: it changes only on `apply`.
                catch_unwind(AssertUnwindSafe(|| {
                    ingest_into(
                        &mut batch,
                        dedup,
                        &mut staged,
                        feed,
                        &doc.parsed,
                        Some(&doc.fingerprints),
                        doc.fetched_at,
                    )
                }))
                .map_err(|_| anyhow!("internal error: the ingest panicked"))??
            }
            None => IngestReport::default(),
        };
        let parsed = job.document.as_ref().map(|d| &d.parsed);
        batch.save_fetch_state(
            &job.state,
            parsed.and_then(|p| p.title.as_deref()),
            parsed.and_then(|p| p.site_url.as_deref()),
        )?;
        written.push((job.state.clone(), report));
    }
    batch.commit()?;
    dedup.apply(staged);
    Ok(written)
}

/// Records a job that could not be written: its fallback state, saved on its own.
fn give_up(store: &mut Store, job: &Job, e: &anyhow::Error) -> Written {
    let mut state = job.fallback.clone();
    state.last_error = Some(format!("cannot store: {e:#}"));
    if let Err(e) = store.save_fetch_state(&state, None, None) {
        tracing::error!(error = %format!("{e:#}"), "cannot save fetch state");
    }
    (state, IngestReport::default())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::model::FetchStatus;

    fn document(title: &str) -> Document {
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>T</title><item><guid>https://a.example/{title}</guid>\
             <title>{title}</title><description>Some words about {title}.</description></item></channel></rss>"
        );
        let now = chrono::Utc::now();
        let ctx = crate::parse::FeedContext {
            url: "https://a.example/rss",
            content_type: None,
            fetched_at: now,
        };
        Document {
            parsed: crate::parse::parse(xml.as_bytes(), &ctx).unwrap(),
            fingerprints: Vec::new(),
            fetched_at: now,
        }
    }

    fn job(feed: i64, title: &str) -> Job {
        let state = FetchState {
            feed_id: feed,
            last_status: Some(FetchStatus::Ok),
            error_count: 0,
            ..FetchState::default()
        };
        let fallback = FetchState {
            last_status: Some(FetchStatus::Error),
            error_count: 1,
            ..state.clone()
        };
        Job {
            state,
            document: Some(document(title)),
            fallback,
        }
    }

    /// Three polls written as one group, the middle one impossible to store (its feed is
    /// not in the database): the other two land with their articles and fetch state, the
    /// broken one gets its fallback state with the reason.
    #[test]
    fn a_feed_that_cannot_be_stored_costs_only_that_feed_of_its_group() {
        let (_dir, store, feed) = crate::store::test_store_with_feed();
        let store: SharedStore = Arc::new(Mutex::new(store));
        let mut answers = Vec::new();
        let group = [
            job(feed, "first"),
            job(feed + 1000, "broken"),
            job(feed, "second"),
        ]
        .into_iter()
        .map(|job| {
            let (done, answer) = oneshot::channel();
            answers.push(answer);
            Pending { job, done }
        })
        .collect();
        write_group(&mut lock(&store), &DedupStage::default(), group);
        let written: Vec<Written> = answers
            .into_iter()
            .map(|a| a.blocking_recv().unwrap().0)
            .collect();
        assert_eq!(written[0].1.new_articles, 1);
        assert_eq!(written[2].1.new_articles, 1);
        assert_eq!(written[1].1.new_articles, 0);
        assert_eq!(written[1].0.error_count, 1);
        assert!(
            written[1]
                .0
                .last_error
                .as_deref()
                .unwrap()
                .starts_with("cannot store")
        );
        let guard = lock(&store);
        let (_, articles, stories) = guard.counts().unwrap();
        assert_eq!((articles, stories), (2, 2));
        let saved = guard.fetch_state(feed).unwrap().unwrap();
        assert_eq!(saved.last_status, Some(FetchStatus::Ok));
    }

    /// A poll abandoned at shutdown leaves its parse on a preparing thread, which may then
    /// hold the last reference to the writer: dropping it there ends the writer's thread
    /// and closes the pool without waiting on the thread doing it.
    #[tokio::test]
    async fn the_writer_dropped_by_its_own_preparing_thread_does_not_hang() {
        let (_dir, store, _feed) = crate::store::test_store_with_feed();
        let writer = Arc::new(Writer::new(Arc::new(Mutex::new(store))));
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let (running, started) = std::sync::mpsc::channel::<()>();
        let (dropped, done) = std::sync::mpsc::channel::<()>();
        let last = writer.clone();
        let poll = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .prepare(move || {
                        let _ = running.send(());
                        let _ = gate.recv();
                        drop(last);
                        let _ = dropped.send(());
                    })
                    .await
            }
        });
        // Abandon the poll once its task is on a preparing thread.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while started.try_recv().is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the task never started"
            );
            tokio::task::yield_now().await;
        }
        poll.abort();
        let _ = poll.await;
        drop(writer);
        open.send(()).unwrap();
        done.recv_timeout(std::time::Duration::from_secs(30))
            .expect("dropping the writer on its preparing thread hung");
    }

    /// The lines the preparing threads learn with are the writer's dedup stage's, whether
    /// it was loaded before or after the first document was fingerprinted.
    #[test]
    fn the_preparing_threads_learn_into_the_dedup_stages_lines() {
        let (_dir, store, feed) = crate::store::test_store_with_feed();
        let writer = Writer::new(Arc::new(Mutex::new(store)));
        let doc = document("first");
        writer.fingerprints(feed, &doc.parsed);
        writer
            .prepare_dedup(&lock(&writer.shared.store), &DedupConfig::default())
            .unwrap();
        let stage = &writer.shared.dedup;
        let dedup = lock(&stage.dedup);
        let lines = dedup.as_ref().unwrap().learned_lines();
        assert!(Arc::ptr_eq(&lines, stage.lines()));
    }

    /// The public path: `write` answers with what was stored.
    #[tokio::test]
    async fn write_stores_the_document_and_the_state_together() {
        let (_dir, store, feed) = crate::store::test_store_with_feed();
        let store: SharedStore = Arc::new(Mutex::new(store));
        let writer = Writer::new(store.clone());
        let (state, report) = writer.write(job(feed, "only")).await.unwrap();
        assert_eq!(report.new_articles, 1);
        assert_eq!(state.last_status, Some(FetchStatus::Ok));
        let guard = lock(&store);
        assert_eq!(guard.counts().unwrap().1, 1);
        assert_eq!(
            guard.fetch_state(feed).unwrap().unwrap().last_status,
            Some(FetchStatus::Ok)
        );
    }
}
