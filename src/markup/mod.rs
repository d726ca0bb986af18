//! The text toolkit: everything that reads or writes HTML and XML text, once, for every
//! stage. Like `model`, it sits to the left of the pipeline: parse, dedup, serve and OPML
//! use it, and it uses none of them.
//!
//! One file per job:
//! - [`sanitize`] — the one HTML safety policy (one ammonia `Builder`), with a fast path
//!   for fragments safe by construction;
//! - [`text`] — the one HTML → text (paragraphs as lines);
//! - [`entities`] — the one entity decoder (XML, numeric and HTML named references);
//! - [`escape`] — the escapers, one per target (element content, attribute value);
//! - [`chars`] — the XML-character filter;
//! - [`whitespace`] — whitespace folding (one line, folded lines);
//! - [`policy`] — the element lists, URL schemes and limits all of them share.

pub mod chars;
pub mod entities;
pub mod escape;
pub mod policy;
pub mod sanitize;
pub mod text;
pub mod whitespace;
