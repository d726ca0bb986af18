//! The daemon (`tributary run`): the one place that wires the scheduler, the HTTP server,
//! the store, config reloads, signals and the systemd notify protocol together.
//!
//! Life cycle: open the database, bind the listener, tell systemd `READY=1`; poll and serve
//! until SIGTERM/SIGINT; then `STOPPING=1`, stop scheduling, give in-flight polls
//! [`policy::SHUTDOWN_GRACE`] to commit, and exit 0. SIGHUP or a change of feeds.toml
//! reloads the sources; a broken edit is logged and the config in force stays. The
//! daemon's numbers (writer groups and queue, retention, shutdown, watchdog) are in
//! [`policy`].

mod pages;
pub mod policy;
mod poll;
mod preparers;
mod scheduler;
mod websub;
mod writer;

pub use pages::PagesReport;
pub use poll::{PollReport, ScheduledFeed};
pub use scheduler::{ReloadSummary, Scheduler, SharedStore};

use parking_lot::{Mutex, RwLock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::config::Config;
use crate::schedule::SystemClock;
use crate::serve::{AppState, FeedService, database_answers};
use crate::store::Store;

/// Runs the daemon until SIGTERM/SIGINT. Returns exit status 0 after a graceful stop.
pub fn run(config_path: &Path) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let metrics = install_metrics();
    let allowance = u32::try_from(policy::OPEN_ALLOWANCE.as_micros()).unwrap_or(u32::MAX);
    notify(&[
        NotifyState::Status("opening the database"),
        NotifyState::ExtendTimeoutUsec(allowance),
    ]);
    let location = config.storage.location();
    let store = Arc::new(Mutex::new(Store::open_location(&location)?));
    let server_store = Arc::new(Mutex::new(Store::open_location(&location)?));
    let scheduler = Arc::new(Scheduler::new(
        &config,
        store.clone(),
        Arc::new(SystemClock),
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let config = Arc::new(config);
    let daemon = Daemon {
        config_path: config_path.to_path_buf(),
        feeds: FeedService::new(config.clone()),
        config: Arc::new(RwLock::new(config)),
        store,
        server_store,
        scheduler,
        metrics,
    };
    runtime.block_on(daemon.run())?;
    // Work abandoned at the grace limit on tokio's blocking pool gets a short bound to
    // finish; the writer's thread ends with the last poll's reference to it.
    runtime.shutdown_timeout(policy::STOP_LINGER);
    Ok(ExitCode::SUCCESS)
}

/// The process-wide Prometheus recorder (installed once; `None` if another recorder won).
fn install_metrics() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("tributary_fetch_duration_seconds".into()),
                    &policy::FETCH_BUCKETS,
                )
                .ok()?;
            builder.install_recorder().ok()
        })
        .clone()
}

struct Daemon {
    config_path: PathBuf,
    config: Arc<RwLock<Arc<Config>>>,
    store: Arc<Mutex<Store>>,
    server_store: Arc<Mutex<Store>>,
    scheduler: Arc<Scheduler>,
    feeds: Arc<FeedService>,
    metrics: Option<PrometheusHandle>,
}

/// Tells systemd something; a failure (no socket) is not worth more than a debug line.
fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

impl Daemon {
    fn current(&self) -> Arc<Config> {
        self.config.read().clone()
    }

    async fn run(self) -> Result<()> {
        // Handlers first: a SIGHUP or SIGTERM during start-up must not kill us uncleanly.
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;

        let config = self.current();
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = watch::channel(false);

        let app = crate::serve::router(
            AppState {
                store: self.server_store.clone(),
                metrics: self.metrics.clone(),
            },
            self.feeds.clone(),
        );
        let mut server_stop = stop_rx.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = server_stop.wait_for(|s| *s).await;
                })
                .await
        });
        let scheduler = self.scheduler.clone();
        let scheduling = tokio::spawn({
            let stop = stop_rx.clone();
            async move { scheduler.run(stop).await }
        });
        tokio::spawn(retention(self.scheduler.clone(), stop_rx.clone()));
        if let Some(handle) = self.metrics.clone() {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(policy::METRICS_UPKEEP);
                loop {
                    tick.tick().await;
                    handle.run_upkeep();
                }
            });
        }
        if let Some(period) = sd_notify::watchdog_enabled() {
            tokio::spawn(watchdog(self.store.clone(), period, stop_rx.clone()));
        }

        tracing::info!(
            listen = %addr,
            feeds = self.scheduler.feeds().len(),
            database = %config.storage.location(),
            "tributary is running"
        );
        notify(&[
            NotifyState::Ready,
            NotifyState::Status(&format!(
                "polling {} feeds, serving on {addr}",
                self.scheduler.feeds().len()
            )),
        ]);

        let mut watcher = FileWatch::new(&self.config_path);
        let mut tick = tokio::time::interval(policy::CONFIG_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
                _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading {}", self.config_path.display());
                    watcher.refresh();
                    self.reload().await;
                }
                _ = tick.tick() => {
                    if watcher.changed() {
                        tracing::info!("{} changed: reloading", self.config_path.display());
                        self.reload().await;
                    }
                }
            }
        }

        notify(&[NotifyState::Stopping]);
        let _ = stop_tx.send(true);
        // The scheduler drains its polls (bounded by SHUTDOWN_GRACE) while the server
        // finishes its requests under the same bound, so the whole stop stays within it.
        let (scheduled, served) = tokio::join!(
            scheduling,
            tokio::time::timeout(policy::SHUTDOWN_GRACE, server)
        );
        if let Err(e) = scheduled {
            tracing::error!(error = %e, "the scheduler crashed");
        }
        match served {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "the HTTP server failed"),
            Ok(Err(e)) => tracing::error!(error = %e, "the HTTP server crashed"),
            Err(_) => tracing::warn!("the HTTP server did not close its connections in time"),
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// Re-reads feeds.toml and applies it; a broken file leaves the config in force.
    async fn reload(&self) {
        let mut states = vec![NotifyState::Reloading];
        if let Ok(now) = NotifyState::monotonic_usec_now() {
            states.push(now);
        }
        notify(&states);
        let path = self.config_path.clone();
        let scheduler = self.scheduler.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let config = Config::load(&path)?;
            let summary = scheduler.reload(&config)?;
            anyhow::Ok((config, summary))
        })
        .await;
        match outcome {
            Ok(Ok((config, summary))) => {
                let old = self.current();
                if old.server.listen != config.server.listen {
                    tracing::warn!(
                        "[server].listen changed to {}: that takes a restart",
                        config.server.listen
                    );
                }
                if old.storage.location() != config.storage.location() {
                    tracing::warn!(
                        "[storage] changed to {}: that takes a restart",
                        config.storage.location()
                    );
                }
                let config = Arc::new(config);
                self.feeds.set_config(config.clone());
                *self.config.write() = config;
                tracing::info!(
                    added = summary.added,
                    removed = summary.removed,
                    changed = summary.changed,
                    feeds = self.scheduler.feeds().len(),
                    "config reloaded"
                );
            }
            Ok(Err(e)) => tracing::error!(
                error = %format!("{e:#}"),
                "the config cannot be used; keeping the one in force"
            ),
            Err(e) => {
                tracing::error!(error = %e, "the reload crashed; keeping the config in force")
            }
        }
        notify(&[NotifyState::Ready]);
    }
}

/// Prunes old stories once a day (the first time shortly after start).
async fn retention(scheduler: Arc<Scheduler>, mut stop: watch::Receiver<bool>) {
    let mut wait = policy::RETENTION_FIRST;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match scheduler.prune().await {
            Ok(0) => tracing::debug!("retention: nothing to prune"),
            Ok(n) => tracing::info!(stories = n, "retention: pruned old stories"),
            Err(e) => tracing::error!(error = %format!("{e:#}"), "retention failed"),
        }
        wait = policy::RETENTION_EVERY;
    }
}

/// Pings systemd's watchdog [`policy::WATCHDOG_PINGS_PER_PERIOD`] times per period, but only
/// while the database answers within that share of the period, so a wedged daemon is
/// restarted.
async fn watchdog(store: Arc<Mutex<Store>>, period: Duration, mut stop: watch::Receiver<bool>) {
    let share = period / policy::WATCHDOG_PINGS_PER_PERIOD;
    let mut tick = tokio::time::interval(share.max(policy::WATCHDOG_MIN_TICK));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if database_answers(&store, share).await {
            notify(&[NotifyState::Watchdog]);
        } else {
            tracing::warn!("the database does not answer: withholding the watchdog ping");
        }
    }
}

/// Notices edits of the config file by its contents (robust to editors that replace the
/// file and to mtimes of coarse granularity).
struct FileWatch {
    path: PathBuf,
    seen: Option<u64>,
}

impl FileWatch {
    fn new(path: &Path) -> FileWatch {
        let mut w = FileWatch {
            path: path.to_path_buf(),
            seen: None,
        };
        w.refresh();
        w
    }

    fn content_hash(&self) -> Option<u64> {
        std::fs::read(&self.path)
            .ok()
            .map(|b| xxhash_rust::xxh3::xxh3_64(&b))
    }

    /// Takes the file as it is now as seen.
    fn refresh(&mut self) {
        self.seen = self.content_hash();
    }

    /// Whether the file changed since last seen (a vanished file counts as a change, whose
    /// reload then fails and is logged).
    fn changed(&mut self) -> bool {
        let now = self.content_hash();
        if now == self.seen {
            return false;
        }
        self.seen = now;
        true
    }
}
