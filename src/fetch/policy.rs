//! The fetch stage's limits, in one place.

use std::time::Duration;

/// Redirects followed for one poll; one more is an error ("too many redirects").
pub const MAX_REDIRECTS: usize = 5;

/// The longest a TCP/TLS connect may take (bounded further by `[fetch].timeout`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle keep-alive connections are closed after this, so a daemon polling hundreds of
/// hosts every 15 minutes does not hold hundreds of sockets open between cycles.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
