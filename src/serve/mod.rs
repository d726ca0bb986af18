//! The serve stage: the merged feed over HTTP (SPEC.md "HTTP" and "The merged feed").
//!
//! `feeds.rs` holds the subscriber-facing routes; a [`document::Document`] is what one
//! query selects, made safe to publish; `render/` has one renderer per format, shared with
//! `tributary export`; `cache.rs` makes unchanged feeds cost almost nothing to re-serve;
//! `ops.rs` answers the operator (`/healthz`, `/metrics`). The stage's numbers are in
//! [`policy`].

mod cache;
pub mod document;
pub mod feeds;
mod ops;
pub mod policy;
pub mod query;
pub mod render;
mod safe;
pub mod sources;

pub use feeds::{FeedService, routes};
pub use ops::{AppState, database_answers};

/// Every route of the daemon: the subscriber-facing documents and the operator's
/// `/healthz` and `/metrics`. The one place the daemon gets its router from.
pub fn router(ops: AppState, feeds: std::sync::Arc<FeedService>) -> axum::Router {
    routes(feeds).merge(ops::routes(ops))
}
