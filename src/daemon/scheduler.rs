//! The scheduler: the daemon's loop that polls each feed when the schedule stage says it is
//! due (and `fetch` uses to poll at once).
//!
//! The database is the schedule's memory: each feed's next due time is stored, so a restart
//! continues where the last run stopped, and a daemon that was down for a day polls each
//! overdue feed once. A feed without a due time gets one from [`state::first_due`] (at once
//! if never polled, else its next slot, spread over the interval by [`plan`]); after each
//! poll the schedule stage's state machine ([`state::next_state`]) gives the next due time.
//! Time comes from a [`Clock`], so tests move it by hand; how often the loop re-reads the
//! schedule and how long a stop waits are in [`policy`].

use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use super::pages::{Pages, PagesReport};
use super::policy;
use super::poll::{self, PollEnv, PollReport, ScheduledFeed};
use super::websub::{self, Hub};
use super::writer::Writer;
use crate::schedule::limits::Limits;
use crate::schedule::{Clock, plan, state};

use crate::config::{Config, FetchConfig, normalize_feed_url};
use crate::fetch::Fetcher;
use crate::store::{Backend, FeedSpec, FetchState, Store};

/// The database, shared by the polls of one process (SQLite has one writer anyway).
pub type SharedStore = Arc<Mutex<Store>>;

/// What the config says to poll, and how: swapped as a whole on reload.
struct Setup {
    feeds: HashMap<i64, Arc<ScheduledFeed>>,
    fetch: FetchConfig,
    env: PollEnv,
    retention: Duration,
    /// `[server].websub_hub` and the documents that advertise it.
    hub: Option<Arc<Hub>>,
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Feeds now scheduled that were not.
    pub added: usize,
    /// Feeds no longer scheduled.
    pub removed: usize,
    /// Feeds whose URL-independent settings (name, schedule) changed.
    pub changed: usize,
}

/// Polls the configured feeds when they are due (the daemon) or at once (`fetch`).
pub struct Scheduler {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    setup: RwLock<Arc<Setup>>,
    /// The one writer of this process's polls (group commit).
    writer: Arc<Writer>,
    /// Wakes the run loop when the setup changed.
    nudge: tokio::sync::Notify,
    /// Article pages being fetched (`[fetch] full_text`).
    pages: Arc<Pages>,
    /// A commit changed the merged feeds: the WebSub hub is to be told.
    published: tokio::sync::Notify,
}

/// The feeds.toml entries to schedule, as store specs and scheduled feeds.
fn scheduled_feeds(config: &Config, store: &mut Store) -> Result<HashMap<i64, Arc<ScheduledFeed>>> {
    let specs: Vec<FeedSpec> = config
        .feeds
        .iter()
        .map(|f| FeedSpec::of(config, f))
        .collect();
    let ids = store.sync_feeds(&specs)?;
    let mut feeds = HashMap::new();
    for f in config.feeds.iter().filter(|f| f.enabled) {
        let key = normalize_feed_url(f.url());
        let Some(&id) = ids.get(&key) else { continue };
        feeds.insert(
            id,
            Arc::new(ScheduledFeed {
                id,
                name: f.name().to_string(),
                url: f.url().clone(),
                key,
                schedule: config.schedule_of(f).clone(),
            }),
        );
    }
    Ok(feeds)
}

/// Says what the schedule does next, on start and after a reload: how many feeds are polled
/// now (never polled, or overdue) and when the next of the others is.
fn announce(states: &HashMap<i64, FetchState>, now: DateTime<Utc>) {
    let live: Vec<&FetchState> = states.values().filter(|s| !s.gone).collect();
    let due_now = live
        .iter()
        .filter(|s| s.next_fetch.is_none_or(|t| t <= now))
        .count();
    let next = live
        .iter()
        .filter_map(|s| s.next_fetch)
        .filter(|&t| t > now)
        .min();
    match (due_now, next) {
        (0, Some(t)) => tracing::info!(
            "{} feeds, none due: the next poll is at {}",
            live.len(),
            t.format("%H:%M:%S UTC")
        ),
        (0, None) => tracing::info!("no feeds to poll"),
        (n, _) => tracing::info!(
            "polling {n} of {} feeds now, then on their schedules",
            live.len()
        ),
    }
}

impl Scheduler {
    /// Mirrors the config's feeds into the store and prepares to poll them.
    pub fn new(config: &Config, store: SharedStore, clock: Arc<dyn Clock>) -> Result<Scheduler> {
        let writer = Arc::new(Writer::new(store.clone()));
        let setup = Self::build(config, &store, &clock, &writer)?;
        Ok(Scheduler {
            store,
            clock,
            setup: RwLock::new(Arc::new(setup)),
            writer,
            nudge: tokio::sync::Notify::new(),
            pages: Arc::new(Pages::default()),
            published: tokio::sync::Notify::new(),
        })
    }

    fn build(
        config: &Config,
        store: &SharedStore,
        clock: &Arc<dyn Clock>,
        writer: &Arc<Writer>,
    ) -> Result<Setup> {
        let feeds = {
            let mut guard = store.lock();
            // The `[dedup]` policy (a reload's too); the index itself loads when first needed
            // (`run` loads it at once).
            writer.configure_dedup(&config.dedup);
            scheduled_feeds(config, &mut guard)?
        };
        Ok(Setup {
            feeds,
            fetch: config.fetch.clone(),
            env: PollEnv {
                store: store.clone(),
                fetcher: Fetcher::new(&config.fetch)?,
                limits: Arc::new(Limits::new(config.fetch.concurrency, config.fetch.per_host)),
                clock: clock.clone(),
                writer: writer.clone(),
            },
            retention: config.storage.retention.0,
            hub: config.server.websub_hub.as_ref().map(|h| {
                Arc::new(Hub {
                    url: h.0.clone(),
                    topics: crate::serve::document::websub_topics(config),
                })
            }),
        })
    }

    fn setup(&self) -> Arc<Setup> {
        self.setup.read().clone()
    }

    /// The feeds being scheduled (configured and enabled).
    pub fn feeds(&self) -> Vec<Arc<ScheduledFeed>> {
        let mut feeds: Vec<_> = self.setup().feeds.values().cloned().collect();
        feeds.sort_by(|a, b| a.name.cmp(&b.name));
        feeds
    }

    /// Takes a new config: added feeds get slots, removed ones stop, a changed schedule
    /// moves its feed to a slot of the new schedule. The fetch settings (limits, timeout,
    /// user agent) apply to polls started from now on.
    pub fn reload(&self, config: &Config) -> Result<ReloadSummary> {
        let new = Self::build(config, &self.store, &self.clock, &self.writer)?;
        let old = self.setup();
        let mut summary = ReloadSummary::default();
        let now = self.clock.now();
        let mut moved = Vec::new();
        for (id, feed) in &new.feeds {
            match old.feeds.get(id) {
                None => summary.added += 1,
                Some(before) if **before != **feed => {
                    summary.changed += 1;
                    if before.schedule != feed.schedule {
                        moved.push((*id, plan::next_due(&feed.schedule, &feed.key, now)));
                    }
                }
                Some(_) => {}
            }
        }
        summary.removed = old
            .feeds
            .keys()
            .filter(|id| !new.feeds.contains_key(id))
            .count();
        // Keep the old limits when they did not change, so in-flight polls keep counting.
        let new = if new.fetch.concurrency == old.fetch.concurrency
            && new.fetch.per_host == old.fetch.per_host
        {
            Setup {
                env: PollEnv {
                    limits: old.env.limits.clone(),
                    ..new.env
                },
                ..new
            }
        } else {
            new
        };
        self.store.lock().set_next_fetch(&moved)?;
        *self.setup.write() = Arc::new(new);
        self.nudge.notify_one();
        Ok(summary)
    }

    /// Reads every scheduled feed's state and gives feeds without a due time their slot.
    async fn load_states(&self, setup: &Setup) -> Result<HashMap<i64, FetchState>> {
        let store = self.store.clone();
        let now = self.clock.now();
        let feeds: Vec<Arc<ScheduledFeed>> = setup.feeds.values().cloned().collect();
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock();
            let mut states: HashMap<i64, FetchState> = guard
                .fetch_states()?
                .into_iter()
                .map(|s| (s.feed_id, s))
                .collect();
            let mut slots = Vec::new();
            for feed in &feeds {
                if let Some(s) = states.get_mut(&feed.id)
                    && s.next_fetch.is_none()
                    && !s.gone
                {
                    let due = state::first_due(s, feed.schedule_feed(), now);
                    s.next_fetch = Some(due);
                    slots.push((feed.id, due));
                }
            }
            guard.set_next_fetch(&slots)?;
            states.retain(|id, _| feeds.iter().any(|f| f.id == *id));
            Ok(states)
        })
        .await
        .context("the state loader crashed")?
    }

    /// Polls the given feeds now, ignoring schedule and backoff (`tributary fetch`), calling
    /// `each` as each poll ends. Returns the reports in completion order.
    pub async fn poll_now(
        &self,
        ids: &[i64],
        mut each: impl FnMut(&PollReport),
    ) -> Result<Vec<PollReport>> {
        let setup = self.setup();
        let mut states = self.load_states(&setup).await?;
        let mut set = JoinSet::new();
        for id in ids {
            let (Some(feed), Some(state)) = (setup.feeds.get(id), states.remove(id)) else {
                continue;
            };
            set.spawn(poll::poll(setup.env.clone(), feed.clone(), state));
        }
        let mut reports = Vec::with_capacity(ids.len());
        while let Some(done) = set.join_next().await {
            let report = done.context("a poll crashed")?;
            each(&report);
            reports.push(report);
        }
        Ok(reports)
    }

    /// Polls every feed due at the clock's current time, waits for them, and returns the
    /// reports: one step of the daemon's loop, for tests driving a
    /// [`ManualClock`](crate::schedule::ManualClock).
    pub async fn poll_due(&self) -> Result<Vec<PollReport>> {
        let setup = self.setup();
        let states = self.load_states(&setup).await?;
        let now = self.clock.now();
        let due: Vec<i64> = states
            .values()
            .filter(|s| !s.gone && s.next_fetch.is_some_and(|t| t <= now))
            .map(|s| s.feed_id)
            .collect();
        self.poll_now(&due, |_| {}).await
    }

    /// The daemon's loop: polls each feed when due until `stop` turns true, then lets
    /// in-flight polls finish for up to [`policy::SHUTDOWN_GRACE`] and abandons the rest
    /// (an abandoned poll's transaction is rolled back, never half-written).
    /// A write the whole database refuses (a full disk) is held and retried by the writer
    /// meanwhile, never counted against the feeds (`Writer::persist_through_outages`).
    pub async fn run(&self, stop: tokio::sync::watch::Receiver<bool>) {
        self.writer.persist_through_outages();
        if matches!(self.store.lock().backend(), Backend::Postgres(_)) {
            // Several daemons may share the database: one places, the others hand over.
            self.writer.place_handed_over();
        }
        // The daemon loads the dedup index at once, so its first document does not wait.
        let (store, writer) = (self.store.clone(), self.writer.clone());
        let loaded = tokio::task::spawn_blocking(move || writer.load_dedup(&store.lock()));
        tokio::join!(
            async {
                if let Ok(Err(e)) = loaded.await {
                    tracing::error!(error = %e, "cannot load the dedup index; the first document retries");
                }
            },
            self.run_feeds(stop.clone()),
            self.run_pages(stop.clone()),
            self.relay_handed_over(stop.clone()),
            websub::run(
                &self.published,
                || {
                    let setup = self.setup();
                    (setup.hub.clone(), setup.env.fetcher.clone())
                },
                self.clock.as_ref(),
                stop
            )
        );
    }

    /// Copies this process placed from other daemons' hand-over changed the merged feeds
    /// and may have pages to fetch: the WebSub hub and the page loop hear of it as they do
    /// of this process's own polls.
    async fn relay_handed_over(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let placed = self.writer.placed();
        loop {
            tokio::select! {
                _ = placed.notified() => {
                    self.published.notify_one();
                    self.pages.wake.notify_one();
                }
                _ = stop.changed() => return,
            }
        }
    }

    /// Fetches every article page due now and those that become due meanwhile, until none
    /// is due (`tributary fetch`, after its polls).
    pub async fn fetch_pages(&self) -> Result<PagesReport> {
        // Recording a page re-places its copy: on PostgreSQL, only while this process holds
        // the placer role (a daemon that does fetches the pages itself).
        let store = self.store.clone();
        let placer = tokio::task::spawn_blocking(move || store.lock().claim_placer())
            .await
            .context("asking for the placer role crashed")??;
        if !placer {
            tracing::info!("article pages are left to the daemon that places copies");
            return Ok(PagesReport::default());
        }
        self.pages.fetch_all_due(&self.setup().env).await
    }

    /// The daemon's page loop: fetches the pages due, then waits for the next one due, a
    /// poll that stored new copies, or `stop`.
    async fn run_pages(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let env = self.setup().env.clone();
            // Recording a page re-places its copy: only the placer does (PostgreSQL).
            let round = async {
                if self.writer.is_placer() {
                    self.pages.fetch_due(&env).await
                } else {
                    Ok(PagesReport::default())
                }
            };
            tokio::select! {
                round = round => match round {
                    Ok(r) if r.total() > 0 => {
                        if r.completed + r.story_merges + r.stories_split > 0 {
                            self.published.notify_one();
                        }
                        tracing::info!(
                            completed = r.completed, no_article = r.no_article, failed = r.failed,
                            refused = r.refused, story_merges = r.story_merges,
                            stories_split = r.stories_split,
                            "article pages fetched"
                        );
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot fetch article pages"),
                },
                _ = stop.changed() => return,
            }
            let store = self.store.clone();
            let next = tokio::task::spawn_blocking(move || store.lock().next_page_due()).await;
            let refresh = self.clock.now()
                + chrono::Duration::from_std(policy::REFRESH_EVERY).unwrap_or_default();
            let wake = match next {
                Ok(Ok(Some(t))) => t.min(refresh),
                _ => refresh,
            };
            tokio::select! {
                _ = self.clock.sleep_until(wake) => {}
                _ = self.pages.wake.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// The feed loop of [`Scheduler::run`].
    async fn run_feeds(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut inflight: JoinSet<PollReport> = JoinSet::new();
        let mut running: HashMap<tokio::task::Id, i64> = HashMap::new();
        let mut busy: HashSet<i64> = HashSet::new();
        let mut states: HashMap<i64, FetchState> = HashMap::new();
        let mut refresh_at = self.clock.now();
        let mut setup = self.setup();
        let mut first = true;
        // Claims failed in a row (the database away), and when to try the next.
        let mut claim_failures = 0u32;
        let mut claim_retry_at: Option<DateTime<Utc>> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            let now = self.clock.now();
            let current = self.setup();
            let new_setup = first || !Arc::ptr_eq(&current, &setup);
            if now >= refresh_at || new_setup {
                setup = current;
                match self.load_states(&setup).await {
                    Ok(s) => states = s,
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "cannot read the schedule")
                    }
                }
                if new_setup {
                    announce(&states, self.clock.now());
                }
                first = false;
                refresh_at =
                    now + chrono::Duration::from_std(policy::REFRESH_EVERY).unwrap_or_default();
                let backing_off = states
                    .values()
                    .filter(|s| s.error_count > 0 && !s.gone)
                    .count();
                metrics::gauge!("tributary_feeds_in_backoff").set(backing_off as f64);
                metrics::gauge!("tributary_feeds").set(setup.feeds.len() as f64);
            }
            let mut next_wake = refresh_at;
            let mut due_now = Vec::new();
            for (id, feed) in &setup.feeds {
                let Some(state) = states.get(id) else {
                    continue;
                };
                if busy.contains(id) || state.gone {
                    continue;
                }
                let Some(due) = state.next_fetch else {
                    continue;
                };
                if due <= now {
                    due_now.push((feed.clone(), state.clone()));
                } else {
                    next_wake = next_wake.min(due);
                }
            }
            // No more at a time than can run at once: on PostgreSQL a feed claimed is leased,
            // and a lease must not run out while its poll waits for a slot. The oldest due
            // go first; the rest are claimed as polls end.
            due_now.sort_by_key(|(f, s)| (s.next_fetch, f.id));
            let (due, room) = (
                due_now.len(),
                setup.fetch.concurrency.saturating_sub(inflight.len()),
            );
            due_now.truncate(room);
            // After a failed claim, nothing is claimed before its retry time.
            if let Some(at) = claim_retry_at
                && now < at
            {
                due_now.clear();
                next_wake = next_wake.min(at);
            }
            let asked = due_now.len();
            let claimed = if asked == 0 {
                Some(Vec::new())
            } else {
                match self.claim(due_now, now, &mut states).await {
                    Ok(claimed) => {
                        if claim_failures > 0 {
                            tracing::info!("the feeds due can be claimed again");
                        }
                        (claim_failures, claim_retry_at) = (0, None);
                        Some(claimed)
                    }
                    // The database is away: try again after a wait that doubles while it
                    // stays away, as the writer does, logging the first failure as an error.
                    Err(error) => {
                        claim_failures += 1;
                        let wait = policy::write_retry_wait(claim_failures);
                        let retry_in_s = wait.as_secs_f64();
                        if claim_failures == 1 {
                            tracing::error!(%error, retry_in_s, "cannot claim the feeds due");
                        } else {
                            tracing::warn!(
                                %error,
                                retry_in_s,
                                "the feeds due still cannot be claimed"
                            );
                        }
                        // From the failure, not the turn's start: a claim may take a while
                        // to fail.
                        let at =
                            self.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
                        claim_retry_at = Some(at);
                        next_wake = next_wake.min(at);
                        None
                    }
                }
            };
            // Feeds left due (beyond the room, or leased elsewhere and now set aside): ask
            // again at once while there is room.
            if let Some(claimed) = &claimed
                && due > claimed.len()
                && asked > 0
                && room > claimed.len()
            {
                next_wake = now;
            }
            for (feed, state) in claimed.unwrap_or_default() {
                let id = feed.id;
                busy.insert(id);
                let handle = inflight.spawn(poll::poll(setup.env.clone(), feed, state));
                running.insert(handle.id(), id);
            }
            tokio::select! {
                _ = self.clock.sleep_until(next_wake) => {}
                Some(done) = inflight.join_next_with_id(), if !inflight.is_empty() => {
                    let (task, report) = match done {
                        Ok((task, report)) => (task, Some(report)),
                        Err(e) => (e.id(), None),
                    };
                    if let Some(id) = running.remove(&task) {
                        busy.remove(&id);
                        match report {
                            Some(r) => {
                                if r.ingest.new_articles + r.ingest.updated_articles > 0 {
                                    self.pages.wake.notify_one();
                                    self.published.notify_one();
                                }
                                states.insert(id, r.state);
                            }
                            // Re-read from the store at once rather than trusting a stale state.
                            None => refresh_at = self.clock.now(),
                        }
                    }
                }
                _ = stop.changed() => {}
                _ = self.nudge.notified() => {}
            }
        }
        if inflight.is_empty() {
            return;
        }
        tracing::info!(
            in_flight = inflight.len(),
            "stopping: waiting for in-flight polls"
        );
        let drain = async { while inflight.join_next().await.is_some() {} };
        if tokio::time::timeout(policy::SHUTDOWN_GRACE, drain)
            .await
            .is_err()
        {
            tracing::warn!(
                abandoned = inflight.len(),
                "stopping: abandoning polls still running after the grace period"
            );
            inflight.abort_all();
            while inflight.join_next().await.is_some() {}
        }
    }

    /// Of the feeds due `now`, those this process polls, each with the state to poll it
    /// from. On SQLite, all of them. On PostgreSQL each due feed is leased to one daemon:
    /// those another daemon leased or polled meanwhile are
    /// left out, with their state as the database has it now (so they wait for their next
    /// due time here); the error when the claim failed (nothing is polled this turn). Leases
    /// last `[fetch] lease` ([`policy::FEED_LEASE`] unless set).
    async fn claim(
        &self,
        due: Vec<(Arc<ScheduledFeed>, FetchState)>,
        now: DateTime<Utc>,
        states: &mut HashMap<i64, FetchState>,
    ) -> Result<Vec<(Arc<ScheduledFeed>, FetchState)>, String> {
        let store = self.store.clone();
        let ids: Vec<i64> = due.iter().map(|(f, _)| f.id).collect();
        let me = self.writer.name().to_string();
        let lease = self.setup().fetch.lease.0;
        let until = now + chrono::Duration::from_std(lease).unwrap_or_default();
        let claimed = tokio::task::spawn_blocking(move || {
            let guard = store.lock();
            let claimed = guard.claim_feeds(&ids, now, &me, until)?;
            // What the others did meanwhile, for the feeds asked for and not claimed.
            let mut fresh = Vec::new();
            if let Some(claimed) = &claimed {
                let got: HashSet<i64> = claimed.iter().map(|s| s.feed_id).collect();
                for id in ids.iter().filter(|id| !got.contains(id)) {
                    fresh.extend(guard.fetch_state(*id)?);
                }
            }
            Ok::<_, crate::store::StoreError>((claimed, fresh))
        })
        .await;
        match claimed {
            Ok(Ok((None, _))) => Ok(due),
            Ok(Ok((Some(claimed), fresh))) => {
                let mut by_id: HashMap<i64, FetchState> =
                    claimed.into_iter().map(|s| (s.feed_id, s)).collect();
                for mut s in fresh {
                    if let Some(known) = states.get_mut(&s.feed_id) {
                        // Still due and not ours: another daemon holds its lease; look again
                        // when the lease runs out (or at the next refresh).
                        if s.next_fetch.is_some_and(|t| t <= now) {
                            s.next_fetch = Some(until);
                        }
                        *known = s;
                    }
                }
                Ok(due
                    .into_iter()
                    .filter_map(|(feed, _)| by_id.remove(&feed.id).map(|s| (feed, s)))
                    .collect())
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("claiming crashed: {e}")),
        }
    }

    /// Deletes stories older than `[storage].retention`, a small batch per transaction.
    /// Returns how many stories went.
    pub async fn prune(&self) -> Result<usize> {
        let retention = self.setup().retention;
        let cutoff = self.clock.now()
            - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let mut total = 0;
        loop {
            let store = self.store.clone();
            let n = tokio::task::spawn_blocking(move || {
                store.lock().prune_stories(cutoff, policy::PRUNE_BATCH)
            })
            .await
            .context("pruning crashed")??;
            total += n;
            if n < policy::PRUNE_BATCH {
                return Ok(total);
            }
        }
    }

    /// The clock the scheduler runs on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// When the clock says it is.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
