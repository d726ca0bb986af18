//! Politeness limits: `[fetch].concurrency` requests in flight overall and `[fetch].per_host`
//! to any one host.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The semaphores a poll must hold while its request is in flight.
#[derive(Debug)]
pub struct Limits {
    global: Arc<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held while a request is in flight; dropping it frees the slots.
#[derive(Debug)]
pub struct Slot {
    host: OwnedSemaphorePermit,
    global: OwnedSemaphorePermit,
}

impl Slot {
    /// Frees the host once the body is read (so the host is free while we parse) and keeps
    /// the global slot until the document is stored, which bounds memory as well.
    pub fn release_host(self) -> OwnedSemaphorePermit {
        drop(self.host);
        self.global
    }
}

impl Limits {
    /// Limits of `concurrency` overall and `per_host` per host (each at least 1).
    pub fn new(concurrency: usize, per_host: usize) -> Limits {
        Limits {
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot to `host`. The host slot is taken first, so polls queued behind a
    /// busy host never sit on global slots other hosts could use.
    pub async fn acquire(&self, host: &str) -> Option<Slot> {
        let host_sem = {
            let mut hosts = self.hosts.lock();
            hosts
                .entry(host.to_ascii_lowercase())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        let host = host_sem.acquire_owned().await.ok()?;
        let global = self.global.clone().acquire_owned().await.ok()?;
        Some(Slot { host, global })
    }
}
