//! The schedule stage: the policy of *when* each feed is polled, with no I/O of its own.
//!
//! Each feed's slot is its cron schedule plus a stable per-feed offset ([`plan`]); after
//! each poll the feed-state machine ([`state::next_state`]) gives its next state and due
//! time: failures back off, rate limits and cache hints are honoured, a 410 stops it, with
//! the numbers in [`policy`]; requests in flight are bounded overall and per host
//! ([`limits`]). Time comes from a [`Clock`], so tests move it by hand. The loop that acts
//! on these decisions — fetch, parse, ingest, record — is the daemon's wiring
//! (`crate::daemon`).

pub mod clock;
pub mod limits;
pub mod plan;
pub mod policy;
pub mod state;

pub use clock::{Clock, ManualClock, SystemClock};
