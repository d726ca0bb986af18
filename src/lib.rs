//! tributary: a feed aggregation daemon that merges syndicated copies of one story.
//!
//! The pipeline, one module per stage (see ARCHITECTURE.md):
//! `schedule → fetch → parse → dedup → store → serve`, plus `config`, `model`, `markup`
//! (the text toolkit every stage shares) and `cli`. `unsafe` code is denied everywhere but
//! in `platform`, the one module of operating-system and CPU calls.

#![deny(unsafe_code)]

pub mod cli;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod fetch;
pub mod ingest;
pub mod markup;
pub mod model;
pub mod opml;
pub mod parse;
#[allow(unsafe_code)]
pub mod platform;
pub mod schedule;
pub mod serve;
pub mod store;

/// The tests' "is this markup executable" oracle, shared with the integration tests.
#[cfg(test)]
#[path = "../tests/support/executable.rs"]
pub(crate) mod executable_oracle;
