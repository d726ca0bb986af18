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
//! A failure of the whole database is no feed's fault ([`StoreError::is_whole_database`]:
//! the disk is full, an I/O error, corruption, a lock held past the busy timeout). The
//! daemon's writer ([`Writer::persist_through_outages`]) then records nothing against the
//! feeds: it puts the writes back at the head of its queue, logs one error for the episode,
//! and tries again after [`policy::write_retry_wait`] (1 s doubling to a minute); once a
//! commit leaves its queue empty it logs that the database is writable again (a failure
//! within [`RELAPSE`] of that continues the episode: a warning, not a second error; a
//! disk hovering at full lets small writes through now and then). Meanwhile the polls
//! wait for their answers, so each feed keeps its place and its fetch state, and fetching
//! stops once the queue is full. Elsewhere (`tributary fetch`) the polls are answered at
//! once with the failure, which is not saved either: the database cannot take it.
//!
//! The thread is the process's own priority, and the threads that prepare documents for it
//! ([`Preparers`]) a lower one: the writer is the serial stage and should never wait for a
//! core.
//!
//! The writer owns the dedup stage ([`Dedup`]): its index, loaded from the store when a
//! document first needs it or, in the daemon, at start ([`Writer::load_dedup`]; a cycle
//! of 304s never loads it), with the `[dedup]` policy of [`Writer::configure_dedup`], and
//! its learned lines, which the preparing threads share through
//! [`Dedup::learned_lines`] to fingerprint documents while the writer writes.

use parking_lot::{Condvar, Mutex};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::SharedStore;
use super::policy;
use super::preparers::Preparers;
use crate::config::DedupConfig;
use crate::dedup::{Dedup, Fingerprint, LearnedLines, Policy, Staged};
use crate::ingest::{
    IngestReport, PageReport, PageResult, ingest_into, open_dedup_with, record_page,
};
use crate::model::{FailureKind, ParsedFeed};
use crate::store::{FetchState, Store, StoreError};

/// One poll's writes.
pub(crate) struct Job {
    /// The feed's state to save when the writes land.
    pub state: FetchState,
    /// The document fetched, when there is one to store.
    pub document: Option<Document>,
    /// The state to save instead when the document cannot be stored; the writer fills in
    /// its `last_error` and `last_error_kind`.
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
    /// [`Writer::load_dedup`]), taken out while a group is written.
    dedup: Mutex<Option<Dedup>>,
    /// The stage's learned lines, for the preparing threads: reached without the lock
    /// above, which the writer holds while it writes.
    lines: OnceLock<Arc<LearnedLines>>,
    /// The `[dedup]` policy last given ([`Writer::configure_dedup`]): a stage reloaded after a
    /// panic dropped it keeps the operator's window and preferred sources.
    policy: Mutex<Option<Policy>>,
}

impl DedupStage {
    /// The stage's learned lines (shared with the stage once it is loaded).
    fn lines(&self) -> &Arc<LearnedLines> {
        self.lines.get_or_init(Arc::default)
    }

    /// Loads the stage from `store` with `policy`, keeping the lines learned so far.
    fn open(&self, store: &Store, policy: Policy) -> Result<Dedup, StoreError> {
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
    /// Whether a whole-database failure holds the writes back to retry them
    /// ([`Writer::persist_through_outages`]) rather than answering them with the failure.
    persist: AtomicBool,
    /// Whether the database is failing as a whole now (an episode is open).
    failing: AtomicBool,
    /// Who this process is among daemons sharing a database, and whether it places.
    placer: Placer,
    /// Whether this writer places what other daemons hand over (a daemon on PostgreSQL,
    /// [`Writer::place_handed_over`]).
    consume: AtomicBool,
    /// Told when copies handed over were placed ([`Writer::placed`]).
    placed: Arc<tokio::sync::Notify>,
}

/// This process among the daemons sharing a PostgreSQL database.
struct Placer {
    /// Its name ([`daemon_name`]).
    me: String,
    /// Whether it held the placer role when it last looked (always on SQLite).
    role: AtomicBool,
}

impl Placer {
    fn new() -> Placer {
        Placer {
            me: daemon_name(),
            role: AtomicBool::new(true),
        }
    }
}

/// Why a group's transaction failed.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    /// The store refused: a feed's data, or the whole database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An ingest (or a page's) panicked; the transaction rolled back.
    #[error("internal error: {0} panicked")]
    Panicked(&'static str),
}

impl WriteError {
    /// The store's error when it is a failure of the whole database.
    fn whole_database(self) -> Result<StoreError, WriteError> {
        match self {
            WriteError::Store(e) if e.is_whole_database() => Ok(e),
            e => Err(e),
        }
    }

    /// The class recorded against the feed.
    fn kind(&self) -> FailureKind {
        match self {
            WriteError::Store(_) => FailureKind::Store,
            WriteError::Panicked(_) => FailureKind::Internal,
        }
    }
}

/// Writes a whole-database failure held back: the error and the writes, to try again.
type Held<T> = (StoreError, Vec<T>);

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
            persist: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            placer: Placer::new(),
            consume: AtomicBool::new(false),
            placed: Arc::default(),
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

    /// From now on, writes that fail for the whole database are kept and retried with
    /// backoff until they commit, instead of being answered with the failure: the daemon,
    /// whose polls can wait and whose feeds must not be blamed for a full disk.
    pub fn persist_through_outages(&self) {
        self.shared.persist.store(true, Ordering::SeqCst);
    }

    /// From now on, also places the documents other daemons sharing the PostgreSQL database
    /// hand over, whenever this process holds the placer role (the daemon; a no-op on
    /// SQLite, where nothing is handed over).
    pub fn place_handed_over(&self) {
        // Not the placer until the database says so (the writer asks at once).
        self.shared.placer.role.store(false, Ordering::SeqCst);
        self.shared.consume.store(true, Ordering::SeqCst);
        self.shared.work.notify_one();
    }

    /// Notified each time this writer placed copies other daemons handed over.
    pub fn placed(&self) -> Arc<tokio::sync::Notify> {
        self.shared.placed.clone()
    }

    /// Whether this process placed copies when it last wrote (always on SQLite): only the
    /// placer records article pages, which re-place their copies.
    pub fn is_placer(&self) -> bool {
        self.shared.placer.role.load(Ordering::SeqCst)
    }

    /// This process's name among daemons sharing a database (leases carry it).
    pub fn name(&self) -> &str {
        &self.shared.placer.me
    }

    /// Whether the database is failing as a whole now: the writer holds writes back (the
    /// gauge `tributary_database_failing` says so to operators).
    #[cfg(test)]
    pub fn database_failing(&self) -> bool {
        self.shared.failing.load(Ordering::SeqCst)
    }

    /// Gives the dedup stage `config`'s policy (at start, and on a reload); the stage
    /// itself is loaded by [`Writer::load_dedup`] or by the first group that needs it.
    pub fn configure_dedup(&self, config: &DedupConfig) {
        let policy = Policy::from_config(config);
        *self.shared.dedup.policy.lock() = Some(policy.clone());
        if let Some(d) = self.shared.dedup.dedup.lock().as_mut() {
            d.set_policy(policy);
        }
    }

    /// Loads the dedup stage from `store` now if it is not loaded yet (the daemon, at
    /// start, so its first document does not wait for the index); otherwise the first group
    /// with a document to store loads it.
    pub fn load_dedup(&self, store: &Store) -> Result<(), StoreError> {
        let mut dedup = self.shared.dedup.dedup.lock();
        if dedup.is_none() {
            *dedup = Some(
                self.shared
                    .dedup
                    .open(store, stage_policy(&self.shared.dedup))?,
            );
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

    /// Runs `task` (parsing and fingerprinting a document, extracting an article page) on a
    /// preparing thread; `None` if it panicked.
    pub async fn on_preparing_thread<T: Send + 'static>(
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
            let written = write_group(
                &mut self.shared.store.lock(),
                &self.shared.dedup,
                &self.shared.placer,
                vec![Pending { job, done }],
                false,
            );
            if let Err((e, _)) = written {
                tracing::error!(kind = e.kind().as_str(), error = %e, "cannot write to the database");
            }
        } else {
            self.shared.queue.lock().pending.push(Pending { job, done });
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
            let written = write_pages(
                &mut self.shared.store.lock(),
                &self.shared.dedup,
                vec![PendingPage { page, done }],
                false,
            );
            if let Err((e, _)) = written {
                tracing::error!(kind = e.kind().as_str(), error = %e, "cannot write to the database");
            }
        } else {
            self.shared
                .queue
                .lock()
                .pages
                .push(PendingPage { page, done });
            self.shared.work.notify_one();
        }
        answer.await.ok()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shared.queue.lock().closed = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer's thread: writes whatever is queued, a group at a time, until the writer is
/// dropped and the queue is empty. A whole-database failure opens an [`Outage`]: the writes
/// go back to the head of the queue and are tried again after a growing wait.
fn write_loop(shared: &Shared) {
    let mut outage: Option<Outage> = None;
    loop {
        let (group, pages): (Vec<Pending>, Vec<PendingPage>) = {
            let mut queue = shared.queue.lock();
            while queue.pending.is_empty() && queue.pages.is_empty() {
                if queue.closed {
                    return;
                }
                if !shared.consume.load(Ordering::SeqCst) {
                    shared.work.wait(&mut queue);
                } else if shared
                    .work
                    .wait_for(&mut queue, policy::HANDOVER_POLL)
                    .timed_out()
                {
                    // Time to look for documents handed over (and for the placer role).
                    break;
                }
            }
            let n = queue.pending.len().min(policy::WRITE_GROUP_FEEDS);
            let p = queue.pages.len().min(policy::WRITE_GROUP_PAGES);
            (
                queue.pending.drain(..n).collect(),
                queue.pages.drain(..p).collect(),
            )
        };
        let persist = shared.persist.load(Ordering::SeqCst);
        let mut store = shared.store.lock();
        // A panic outside an ingest (which is caught on its own) drops the group's
        // answers — their polls record an internal error — and the thread goes on.
        let dedup = &shared.dedup;
        let mut failure: Option<StoreError> = None;
        let (mut held_polls, mut held_pages) = (Vec::new(), Vec::new());
        if !group.is_empty() {
            match catch_unwind(AssertUnwindSafe(|| {
                write_group(&mut store, dedup, &shared.placer, group, persist)
            })) {
                Ok(Ok(())) => {}
                Ok(Err((e, held))) => {
                    failure = Some(e);
                    held_polls = held;
                }
                Err(_) => tracing::error!("internal error: writing a group of polls panicked"),
            }
        }
        if !pages.is_empty() {
            if failure.is_some() && persist {
                // The database failed a moment ago: the pages wait with the polls.
                held_pages = pages;
            } else {
                match catch_unwind(AssertUnwindSafe(|| {
                    write_pages(&mut store, dedup, pages, persist)
                })) {
                    Ok(Ok(())) => {}
                    Ok(Err((e, held))) => {
                        failure = failure.or(Some(e));
                        held_pages = held;
                    }
                    Err(_) => {
                        tracing::error!("internal error: recording a group of pages panicked")
                    }
                }
            }
        }
        if failure.is_none() && shared.consume.load(Ordering::SeqCst) {
            // The documents other daemons handed over, a few groups at a time between this
            // process's own writes.
            for _ in 0..policy::HANDOVER_GROUPS_PER_TURN {
                match catch_unwind(AssertUnwindSafe(|| place_handed_over(&mut store, shared))) {
                    Ok(Ok(n)) if n > 0 => {
                        shared.placed.notify_one();
                        if n == policy::WRITE_GROUP_FEEDS {
                            continue;
                        }
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "cannot place handed-over documents now")
                    }
                    Err(_) => {
                        tracing::error!("internal error: placing handed-over documents panicked")
                    }
                }
                break;
            }
        }
        drop(store);
        let Some(error) = failure else {
            if let Some(episode) = outage.as_mut() {
                let queue = shared.queue.lock();
                let caught_up = queue.pending.is_empty() && queue.pages.is_empty();
                drop(queue);
                if episode.ended.is_none() && caught_up {
                    episode.end(shared);
                }
            }
            continue;
        };
        let held = held_polls.len() + held_pages.len();
        let episode = match outage.take() {
            Some(episode) if episode.ended.is_none() => episode,
            Some(mut episode) if episode.ended.is_some_and(|t| t.elapsed() < RELAPSE) => {
                episode.relapse(shared, &error);
                episode
            }
            _ => Outage::begin(shared, &error, held),
        };
        let episode = outage.insert(episode);
        episode.failed(&error);
        if held == 0 {
            // Not persisting: the polls were answered with the failure.
            continue;
        }
        {
            let mut queue = shared.queue.lock();
            queue.pending.splice(0..0, held_polls);
            queue.pages.splice(0..0, held_pages);
        }
        let wait = policy::write_retry_wait(episode.attempts);
        tracing::debug!(
            kind = error.kind().as_str(),
            error = %error,
            attempts = episode.attempts,
            retry_in_s = wait.as_secs_f64(),
            "the database still cannot be written; retrying"
        );
        if closed_within(shared, wait) {
            let mut queue = shared.queue.lock();
            let (polls, pages) = (queue.pending.len(), queue.pages.len());
            // Their polls hear nothing back (they were abandoned at shutdown); their feeds'
            // states say they are due, so they are polled again after the restart.
            queue.pending.clear();
            queue.pages.clear();
            tracing::warn!(
                polls,
                pages,
                "stopping while the database cannot be written: these writes are not stored"
            );
            return;
        }
    }
}

/// Waits `wait`, or less if the writer is dropped meanwhile; returns whether it was.
fn closed_within(shared: &Shared, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    let mut queue = shared.queue.lock();
    loop {
        if queue.closed {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        shared.work.wait_for(&mut queue, left);
    }
}

/// A failure this soon after an episode ended continues it (a disk hovering at full lets a
/// small write through now and then): no second error line, and the backoff goes on
/// growing. As long as the writer's longest wait, so a flapping disk is one episode.
const RELAPSE: Duration = policy::WRITE_RETRY_MAX;

/// One episode of whole-database failure, from the first failed write until the writer has
/// caught up (a commit that leaves its queue empty): one error line when it begins, one
/// info line when it ends.
struct Outage {
    since: Instant,
    /// Failed attempts so far.
    attempts: u32,
    /// When it ended, while a failure would still continue it ([`RELAPSE`]).
    ended: Option<Instant>,
}

impl Outage {
    fn begin(shared: &Shared, error: &StoreError, held: usize) -> Outage {
        shared.failing.store(true, Ordering::SeqCst);
        metrics::gauge!("tributary_database_failing").set(1.0);
        if held > 0 {
            tracing::error!(
                kind = error.kind().as_str(),
                error = %error,
                waiting = held,
                "cannot write to the database: no feed is blamed; their writes wait and are \
                 retried with backoff until the database can be written"
            );
        } else {
            tracing::error!(
                kind = error.kind().as_str(),
                error = %error,
                "cannot write to the database: the polls' results are not stored"
            );
        }
        Outage {
            since: Instant::now(),
            attempts: 0,
            ended: None,
        }
    }

    /// The database failed again within [`RELAPSE`] of the episode's end.
    fn relapse(&mut self, shared: &Shared, error: &StoreError) {
        self.ended = None;
        shared.failing.store(true, Ordering::SeqCst);
        metrics::gauge!("tributary_database_failing").set(1.0);
        tracing::warn!(
            kind = error.kind().as_str(),
            error = %error,
            "the database cannot be written again; retrying as before"
        );
    }

    fn failed(&mut self, error: &StoreError) {
        self.attempts = self.attempts.saturating_add(1);
        metrics::counter!("tributary_store_failures_total", "kind" => error.kind().as_str())
            .increment(1);
    }

    fn end(&mut self, shared: &Shared) {
        self.ended = Some(Instant::now());
        shared.failing.store(false, Ordering::SeqCst);
        metrics::gauge!("tributary_database_failing").set(0.0);
        tracing::info!(
            after_s = self.since.elapsed().as_secs(),
            failed_attempts = self.attempts,
            "the database can be written again; the writes held back are stored"
        );
    }
}

/// Takes the dedup stage out of `stage` for a group, loading it (with the last policy
/// given, else the default) when a panic dropped it or it was never loaded.
fn take_dedup(
    store: &Store,
    stage: &DedupStage,
    slot: &mut Option<Dedup>,
) -> Result<Dedup, StoreError> {
    match slot.take() {
        Some(dedup) => Ok(dedup),
        None => stage.open(store, stage_policy(stage)),
    }
}

/// The `[dedup]` policy last configured, else the default.
fn stage_policy(stage: &DedupStage) -> Policy {
    stage
        .policy
        .lock()
        .clone()
        .unwrap_or_else(|| Policy::from_config(&DedupConfig::default()))
}

/// Records a group of pages in one transaction (each alone if that fails) and answers each.
/// A whole-database failure answers none of the pages not yet recorded: with `persist`
/// they come back to be tried again, else they are answered with nothing recorded.
fn write_pages(
    store: &mut Store,
    stage: &DedupStage,
    group: Vec<PendingPage>,
    persist: bool,
) -> Result<(), Held<PendingPage>> {
    let mut slot = stage.dedup.lock();
    let mut dedup = match take_dedup(store, stage, &mut slot) {
        Ok(dedup) => dedup,
        Err(e) if e.is_whole_database() => {
            drop(slot);
            let held = hold_or_answer(group, persist, |p| {
                let _ = p.done.send(PageReport::default());
            });
            return Err((e, held));
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot load the dedup stage to record pages");
            return Ok(());
        }
    };
    let pages: Vec<&PageResult> = group.iter().map(|p| &p.page).collect();
    let (reports, outage) = match record_together(store, &mut dedup, &pages) {
        Ok(reports) => (reports, None),
        Err(e) => match e.whole_database() {
            Ok(e) => (Vec::new(), Some(e)),
            Err(e) => {
                tracing::debug!(error = %e, "page group failed; recording pages one by one");
                let mut reports = Vec::with_capacity(pages.len());
                let mut outage = None;
                for page in &pages {
                    match record_together(store, &mut dedup, std::slice::from_ref(page)) {
                        Ok(mut r) => reports.push(r.remove(0)),
                        Err(e) => match e.whole_database() {
                            Ok(e) => {
                                outage = Some(e);
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(article = page.article, error = %e, "cannot record a page");
                                reports.push(PageReport::default());
                            }
                        },
                    }
                }
                (reports, outage)
            }
        },
    };
    *slot = Some(dedup);
    drop(slot);
    let mut group = group.into_iter();
    for (pending, report) in group.by_ref().zip(reports) {
        let _ = pending.done.send(report);
    }
    match outage {
        None => Ok(()),
        Some(e) => {
            let held = hold_or_answer(group.collect(), persist, |p| {
                let _ = p.done.send(PageReport::default());
            });
            Err((e, held))
        }
    }
}

/// The writes a whole-database failure stopped: kept to retry (`persist`), or each
/// answered by `answer` and none kept.
fn hold_or_answer<T>(rest: Vec<T>, persist: bool, answer: impl Fn(T)) -> Vec<T> {
    if persist {
        return rest;
    }
    rest.into_iter().for_each(answer);
    Vec::new()
}

/// Records `pages` in one transaction, all or nothing; the index learns of the changes
/// once they are committed.
fn record_together(
    store: &mut Store,
    dedup: &mut Dedup,
    pages: &[&PageResult],
) -> Result<Vec<PageReport>, WriteError> {
    let mut batch = store.begin_ingest()?;
    let mut staged = Staged::default();
    let mut reports = Vec::with_capacity(pages.len());
    for page in pages {
        let report = catch_unwind(AssertUnwindSafe(|| {
            record_page(&mut batch, dedup, &mut staged, page, page.fetched_at)
        }))
        .map_err(|_| WriteError::Panicked("recording a page"))??;
        reports.push(report);
    }
    batch.commit()?;
    dedup.apply(staged);
    Ok(reports)
}

/// Where a group's documents go.
#[derive(Debug, Clone, Copy)]
enum Placing<'a> {
    /// Placed into stories here, by the process named so.
    Here(&'a str),
    /// Handed over to the daemon that places (PostgreSQL).
    HandOver,
}

/// A name for this process among the daemons of one database: host, process id and start
/// time, so a restarted daemon is a new one (its predecessor's leases are not its own).
fn daemon_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{host}:{}:{started:x}", std::process::id())
}

/// Whether this process may place copies now (always on SQLite): it holds the placer role
/// or just took it. When another daemon placed since this one did, the index in `slot` is
/// dropped, to be loaded again with what the other placed.
fn ready_to_place(
    store: &Store,
    placer: &Placer,
    slot: &mut Option<Dedup>,
) -> Result<bool, StoreError> {
    let here = store.claim_placer()?;
    let was = placer.role.swap(here, Ordering::SeqCst);
    if here && !store.placed_last(&placer.me)? {
        store.take_placing(&placer.me)?;
        *slot = None;
        tracing::info!("placing copies into stories from now on (the placer role was free)");
    } else if was && !here {
        tracing::info!("another daemon places copies now: handing documents over to it");
    }
    Ok(here)
}

/// Places up to a group of the documents other daemons handed over, when this process holds
/// the placer role; returns how many. One that cannot be placed (a fault of its own, met
/// when placed alone) is dropped with an error, so it does not stop the others.
fn place_handed_over(store: &mut Store, shared: &Shared) -> Result<usize, StoreError> {
    let stage = &shared.dedup;
    let mut slot = stage.dedup.lock();
    if !ready_to_place(store, &shared.placer, &mut slot)? {
        return Ok(0);
    }
    let mut dedup = take_dedup(store, stage, &mut slot)?;
    let mut limit = policy::WRITE_GROUP_FEEDS;
    let placed = loop {
        match place_handed_over_together(store, &mut dedup, &shared.placer.me, limit) {
            Ok(n) => break Ok(n),
            Err(e) => match e.whole_database() {
                Ok(outage) => break Err(outage),
                Err(e) if limit > 1 => {
                    tracing::debug!(error = %e, "placing handed-over documents failed; placing them one by one");
                    limit = 1;
                }
                Err(e) => {
                    // The oldest document fails alone: it goes, so the queue moves on.
                    let dropped = store.begin().and_then(|mut b| {
                        b.take_handed_over(1).and_then(|d| b.commit().map(|()| d))
                    });
                    let feed = dropped.ok().and_then(|d| d.first().map(|d| d.feed_id));
                    tracing::error!(feed, error = %e, "cannot place a handed-over document: dropped");
                    break Ok(0);
                }
            },
        }
    };
    *slot = Some(dedup);
    placed
}

/// Places up to `limit` handed-over documents in one transaction.
fn place_handed_over_together(
    store: &mut Store,
    dedup: &mut Dedup,
    me: &str,
    limit: usize,
) -> Result<usize, WriteError> {
    let mut batch = store.begin_ingest()?;
    if !batch.begin_placing(me)? {
        return Ok(0);
    }
    let docs = batch.take_handed_over(limit)?;
    let mut staged = Staged::default();
    for doc in &docs {
        let parsed = ParsedFeed {
            articles: doc.articles.clone(),
            ..ParsedFeed::default()
        };
        catch_unwind(AssertUnwindSafe(|| {
            ingest_into(
                &mut batch,
                dedup,
                &mut staged,
                doc.feed_id,
                &parsed,
                None,
                doc.fetched_at,
            )
        }))
        .map_err(|_| WriteError::Panicked("the ingest"))??;
    }
    batch.commit()?;
    dedup.apply(staged);
    Ok(docs.len())
}

/// Writes a group and answers each poll in it. The dedup stage is taken out meanwhile (a
/// panic drops it, and the next group loads it again from the store); when it is not
/// loaded yet, it is loaded with the default policy. A whole-database failure answers
/// none of the polls not yet written: with `persist` they come back to be written again,
/// else each is answered with the failure, which is not saved.
fn write_group(
    store: &mut Store,
    stage: &DedupStage,
    placer: &Placer,
    group: Vec<Pending>,
    persist: bool,
) -> Result<(), Held<Pending>> {
    let (jobs, answers): (Vec<Job>, Vec<oneshot::Sender<Answer>>) =
        group.into_iter().map(|p| (p.job, p.done)).unzip();
    let mut slot = stage.dedup.lock();
    let documents = jobs.iter().any(|j| j.document.is_some());
    // Documents are placed here when this process may place (always on SQLite), else handed
    // over to the daemon that does (PostgreSQL).
    let placing = if documents {
        ready_to_place(store, placer, &mut slot).map(|here| {
            if here {
                Placing::Here(&placer.me)
            } else {
                Placing::HandOver
            }
        })
    } else {
        Ok(Placing::HandOver)
    };
    // A group with no document to store (304s, errors) writes fetch state only: it needs no
    // dedup stage, and does not load one (an all-304 cycle costs only its requests); nor
    // does a group handed over.
    let placeholder = !matches!(placing, Ok(Placing::Here(_))) && slot.is_none();
    let taken = match placing {
        Err(e) => Err(e),
        Ok(placing) if placeholder => Ok((Dedup::new(stage_policy(stage)), placing)),
        Ok(placing) => take_dedup(store, stage, &mut slot).map(|d| (d, placing)),
    };
    let (written, outage) = match taken {
        Ok((mut dedup, placing)) => {
            let written = write_or_isolate(store, &mut dedup, &jobs, placing);
            if !placeholder {
                *slot = Some(dedup);
            }
            written
        }
        Err(e) if e.is_whole_database() => (Vec::new(), Some(e)),
        Err(e) => {
            let e = WriteError::from(e);
            (jobs.iter().map(|j| give_up(store, j, &e)).collect(), None)
        }
    };
    drop(slot);
    let mut rest = jobs.into_iter().zip(answers);
    // Each job goes back to its poll with the answer, to be freed off this thread.
    for (w, (job, answer)) in written.into_iter().zip(rest.by_ref()) {
        // A poll abandoned at shutdown no longer listens; its writes landed anyway.
        let _ = answer.send((w, job));
    }
    match outage {
        None => Ok(()),
        Some(e) => {
            let rest = rest.map(|(job, done)| Pending { job, done }).collect();
            let answer = |p: Pending| {
                let written = unstored(&p.job, &e);
                let _ = p.done.send((written, p.job));
            };
            let held = hold_or_answer(rest, persist, answer);
            Err((e, held))
        }
    }
}

/// Writes `jobs` together; if anything in them fails (the whole transaction rolled
/// back), writes each feed alone, so only the feed at fault fails. A whole-database failure
/// stops it: what was written so far, and the failure.
fn write_or_isolate(
    store: &mut Store,
    dedup: &mut Dedup,
    jobs: &[Job],
    placing: Placing<'_>,
) -> (Vec<Written>, Option<StoreError>) {
    let e = match write_together(store, dedup, jobs, placing) {
        Ok(written) => return (written, None),
        Err(e) => match e.whole_database() {
            Ok(outage) => return (Vec::new(), Some(outage)),
            Err(e) => e,
        },
    };
    if jobs.len() == 1 {
        return (vec![give_up(store, &jobs[0], &e)], None);
    }
    tracing::debug!(error = %e, "group write failed; writing feeds one by one");
    let mut written = Vec::with_capacity(jobs.len());
    for job in jobs {
        match write_together(store, dedup, std::slice::from_ref(job), placing) {
            Ok(mut w) => written.push(w.remove(0)),
            Err(e) => match e.whole_database() {
                Ok(outage) => return (written, Some(outage)),
                Err(e) => written.push(give_up(store, job, &e)),
            },
        }
    }
    (written, None)
}

/// Writes `jobs` in one transaction, all or nothing. The dedup index learns of the new
/// stories only once they are committed.
fn write_together(
    store: &mut Store,
    dedup: &mut Dedup,
    jobs: &[Job],
    placing: Placing<'_>,
) -> Result<Vec<Written>, WriteError> {
    let mut batch = store.begin_ingest()?;
    let mut staged = Staged::default();
    let mut written = Vec::with_capacity(jobs.len());
    // Another daemon placed since this one took the role (it lost its session and the role
    // with it): the documents are handed over instead, placed by whoever places now.
    let here = match placing {
        Placing::Here(me) if jobs.iter().any(|j| j.document.is_some()) => {
            batch.begin_placing(me)?
        }
        _ => false,
    };
    for job in jobs {
        let report = match &job.document {
            Some(doc) if !here => {
                batch.hand_over(job.state.feed_id, doc.fetched_at, &doc.parsed.articles)?;
                IngestReport {
                    handed_over: doc.parsed.articles.len(),
                    ..IngestReport::default()
                }
            }
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
                .map_err(|_| WriteError::Panicked("the ingest"))??
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

/// The fallback state of a job that could not be written, with the reason.
fn failure_state(job: &Job, e: &WriteError) -> FetchState {
    let mut state = job.fallback.clone();
    state.last_error = Some(format!("cannot store: {e}"));
    state.last_error_kind = Some(e.kind());
    state
}

/// Records a job that could not be written for a fault of its own: its fallback state,
/// saved on its own.
fn give_up(store: &mut Store, job: &Job, e: &WriteError) -> Written {
    let state = failure_state(job, e);
    if let Err(e) = store.save_fetch_state(&state, None, None) {
        tracing::error!(error = %e, "cannot save fetch state");
    }
    (state, IngestReport::default())
}

/// A job a whole-database failure kept from being written, when the writer does not
/// persist: the failure for its poll's report, saved nowhere (the database cannot take it,
/// and the feed is not to blame).
fn unstored(job: &Job, e: &StoreError) -> Written {
    let reason = format!("cannot store: {e}");
    let state = FetchState {
        last_error: Some(reason),
        last_error_kind: Some(FailureKind::Store),
        ..job.fallback.clone()
    };
    (state, IngestReport::default())
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;
    use std::sync::Arc;

    use super::*;
    use crate::model::FetchStatus;

    fn document(title: &str) -> Document {
        let xml = format!(
            "<rss version=\"2.0\"><channel><title>T</title><item><guid>https://a.example/{title}</guid>\
             <title>{title}</title><description>Some words about {title}.</description></item></channel></rss>"
        );
        parsed(&xml)
    }

    /// A document of `items` long articles: more than the free room in a new database's
    /// pages, so storing it needs new pages.
    fn long_document(title: &str, items: usize) -> Document {
        let body = |i: usize| -> String {
            (0..150)
                .map(|w| format!("{title}w{i}x{w} "))
                .collect::<String>()
        };
        let entries: String = (0..items)
            .map(|i| {
                format!(
                    "<item><guid>https://a.example/{title}/{i}</guid><title>{title} {i}</title>\
                     <description>{}</description></item>",
                    body(i)
                )
            })
            .collect();
        parsed(&format!(
            "<rss version=\"2.0\"><channel><title>T</title>{entries}</channel></rss>"
        ))
    }

    fn parsed(xml: &str) -> Document {
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
        with_document(feed, document(title))
    }

    fn with_document(feed: i64, document: Document) -> Job {
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
            document: Some(document),
            fallback: FetchState {
                last_error_kind: Some(FailureKind::Store),
                ..fallback
            },
        }
    }

    /// `jobs` as a group of pending polls, with the channels their answers come on.
    fn pending(jobs: Vec<Job>) -> (Vec<Pending>, Vec<oneshot::Receiver<Answer>>) {
        jobs.into_iter()
            .map(|job| {
                let (done, answer) = oneshot::channel();
                (Pending { job, done }, answer)
            })
            .unzip()
    }

    /// A group whose transaction finds the disk full (SQLite's size cap on the writer's
    /// connection gives SQLITE_FULL as a full disk does): no feed is blamed or answered,
    /// nothing is saved against them, and the writes come back whole; once there is room
    /// again they are written as if nothing happened.
    #[test]
    fn a_full_disk_blames_no_feed_and_hands_the_writes_back_to_retry() {
        let (_dir, store, feed) = crate::store::test_store_with_feed();
        let stage = DedupStage::default();
        let mut store = store;
        let jobs = (0..3)
            .map(|i| with_document(feed, long_document(&format!("f{i}"), 30)))
            .collect();
        let (group, mut answers) = pending(jobs);
        store.cap_at_current_size(true);
        let Err((error, held)) = write_group(&mut store, &stage, &Placer::new(), group, true)
        else {
            panic!("a write to a full database succeeded");
        };
        assert_eq!(error.kind(), crate::store::StoreErrorKind::Full, "{error}");
        assert_eq!(held.len(), 3);
        assert!(answers.iter_mut().all(|a| a.try_recv().is_err()));
        let saved = store.fetch_state(feed).unwrap().unwrap();
        assert_eq!((saved.error_count, saved.last_status), (0, None));
        assert_eq!(store.counts().unwrap().1, 0);

        store.cap_at_current_size(false);
        assert!(write_group(&mut store, &stage, &Placer::new(), held, true).is_ok());
        for answer in answers {
            let ((state, report), _) = answer.blocking_recv().unwrap();
            assert_eq!((report.new_articles, state.error_count), (30, 0));
        }
        let saved = store.fetch_state(feed).unwrap().unwrap();
        assert_eq!(saved.last_status, Some(FetchStatus::Ok));
        assert_eq!(store.counts().unwrap().1, 90);
    }

    /// Outside the daemon (`tributary fetch`) a full disk answers each poll with the
    /// failure at once; the failure is not saved (it cannot be) nor counted.
    #[test]
    fn without_persisting_a_full_disk_answers_each_poll_and_saves_nothing() {
        let (_dir, store, feed) = crate::store::test_store_with_feed();
        let mut store = store;
        let (group, answers) = pending(vec![
            with_document(feed, long_document("a", 30)),
            with_document(feed, long_document("b", 30)),
        ]);
        store.cap_at_current_size(true);
        let Err((error, held)) = write_group(
            &mut store,
            &DedupStage::default(),
            &Placer::new(),
            group,
            false,
        ) else {
            panic!("a write to a full database succeeded");
        };
        assert!(error.is_whole_database());
        assert!(held.is_empty());
        for answer in answers {
            let ((state, report), _) = answer.blocking_recv().unwrap();
            assert_eq!(report.new_articles, 0);
            assert_eq!(state.last_error_kind, Some(FailureKind::Store));
            let said = state.last_error.unwrap();
            assert!(
                said.starts_with("cannot store: the database's disk is full"),
                "{said}"
            );
        }
        let saved = store.fetch_state(feed).unwrap().unwrap();
        assert_eq!((saved.error_count, saved.last_error), (0, None));
    }

    /// The daemon's writer thread: a poll written while the disk is full waits (the
    /// writer reports the database failing), and is stored and answered by itself once
    /// there is room again.
    #[tokio::test]
    async fn the_writer_waits_out_a_full_disk_and_stores_the_poll_when_room_returns() {
        let (_dir, store, feed) = crate::store::test_store_with_feed();
        let store: SharedStore = Arc::new(Mutex::new(store));
        let writer = Arc::new(Writer::new(store.clone()));
        writer.persist_through_outages();
        store.lock().cap_at_current_size(true);
        let poll = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .write(with_document(feed, long_document("a", 30)))
                    .await
            }
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !writer.database_failing() {
            assert!(
                std::time::Instant::now() < deadline,
                "the write never failed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!poll.is_finished());
        store.lock().cap_at_current_size(false);
        let (state, report) = poll.await.unwrap().expect("the poll was answered");
        assert_eq!((report.new_articles, state.error_count), (30, 0));
        assert_eq!(store.lock().counts().unwrap().1, 30);
        // The episode ends once the writer has caught up (just after it answered).
        while writer.database_failing() {
            assert!(
                std::time::Instant::now() < deadline,
                "the episode never ended"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
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
        assert!(
            write_group(
                &mut store.lock(),
                &DedupStage::default(),
                &Placer::new(),
                group,
                true,
            )
            .is_ok()
        );
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
        let guard = store.lock();
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
                    .on_preparing_thread(move || {
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
        writer.load_dedup(&writer.shared.store.lock()).unwrap();
        let stage = &writer.shared.dedup;
        let dedup = stage.dedup.lock();
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
        let guard = store.lock();
        assert_eq!(guard.counts().unwrap().1, 1);
        assert_eq!(
            guard.fetch_state(feed).unwrap().unwrap().last_status,
            Some(FetchStatus::Ok)
        );
    }
}
