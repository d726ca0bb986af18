//! WebSub for subscribers: after a commit that changed the merged feeds, the daemon tells
//! `[server].websub_hub` which documents changed (the self URLs of the documents that
//! advertise it, `serve::document::websub_topics`), at most once per
//! [`policy::WEBSUB_MIN_INTERVAL`]: changes that come while a ping waits for its turn
//! are told in that one ping. A hub that fails is logged and tried again at the next change;
//! a subscriber misses at most what the next ping covers, and still has its own polling.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};

use super::policy;
use crate::fetch::Fetcher;
use crate::schedule::Clock;

/// Where to ping and what to tell.
#[derive(Debug, Clone)]
pub(crate) struct Hub {
    /// `[server].websub_hub`.
    pub url: url::Url,
    /// The documents that advertise it.
    pub topics: Vec<String>,
}

/// When the next ping may go, the last one having gone at `last`.
pub(crate) fn next_ping(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    let interval = chrono::Duration::from_std(policy::WEBSUB_MIN_INTERVAL).unwrap_or_default();
    match last {
        Some(last) => now.max(last + interval),
        None => now,
    }
}

/// Pings the hub after each `changed` notification, throttled, until `stop`. `current`
/// gives the hub and client in force (a reload may change or remove the hub).
pub(crate) async fn run(
    changed: &Notify,
    current: impl Fn() -> (Option<Arc<Hub>>, Fetcher),
    clock: &dyn Clock,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = None;
    loop {
        tokio::select! {
            _ = changed.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let at = next_ping(last, clock.now());
        tokio::select! {
            _ = clock.sleep_until(at) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let (hub, fetcher) = current();
        let Some(hub) = hub else { continue };
        last = Some(clock.now());
        publish(&fetcher, &hub).await;
    }
}

/// Tells the hub of every topic; one log line for the round.
async fn publish(fetcher: &Fetcher, hub: &Hub) {
    let mut failed = None;
    for topic in &hub.topics {
        let result = fetcher.publish(&hub.url, topic).await;
        let label = if result.is_ok() { "ok" } else { "failed" };
        metrics::counter!("tributary_websub_pings_total", "result" => label).increment(1);
        if let Err(e) = result {
            failed.get_or_insert((topic, e));
        }
    }
    match failed {
        None => {
            tracing::info!(hub = %hub.url, topics = hub.topics.len(), "told the WebSub hub the merged feeds changed")
        }
        Some((topic, e)) => tracing::warn!(
            hub = %hub.url, topic = %topic, error = %e,
            "cannot tell the WebSub hub the merged feeds changed; told again at the next change"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_ping_goes_at_once_and_the_next_a_minute_after_the_last() {
        let t0 = DateTime::from_timestamp(1_752_487_200, 0).unwrap();
        let s = |n: i64| t0 + chrono::Duration::seconds(n);
        assert_eq!(next_ping(None, t0), t0);
        assert_eq!(next_ping(Some(t0), s(1)), s(60));
        assert_eq!(next_ping(Some(t0), s(59)), s(60));
        assert_eq!(next_ping(Some(t0), s(600)), s(600));
    }
}
