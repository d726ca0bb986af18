//! The serve stage: the merged feed over HTTP (SPEC.md "HTTP" and "The merged feed").
//!
//! `feeds.rs` holds the subscriber-facing routes; a [`document::Document`] is what one
//! query selects, made safe to publish; `render/` has one renderer per format, shared with
//! `tributary export`; `cache.rs` makes unchanged feeds cost almost nothing to re-serve.

mod cache;
pub mod document;
pub mod feeds;
mod limits;
pub mod query;
pub mod render;
mod safe;

pub use feeds::{FeedService, routes};
pub use limits::{DEFAULT_LIMIT, MAX_LIMIT};
