//! Validators and the rendered-document cache: what makes the common request — a reader
//! polling an unchanged feed — cost one pragma and a hash-map lookup.
//!
//! A cached entry is tagged with the [`Generation`] it was built in: the database's
//! `data_version` (changes whenever anyone commits) and the config epoch (changes on
//! reload). While the generation is unchanged the entry's validators and bytes are current,
//! so a conditional request is answered 304 and a plain one with the stored bytes, neither
//! touching the database beyond the pragma.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::header::{
    CACHE_CONTROL, ETAG, HeaderName, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};

use super::policy::{CACHE_ENTRIES, MAX_AGE};
use super::query::FeedQuery;
use super::render::Format;
use crate::store::MergedVersion;

/// When cached documents were built: equal generations mean nothing they show has changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    /// Bumped on every config reload.
    pub config_epoch: u64,
    /// The database's `PRAGMA data_version` on the server's watch connection.
    pub data_version: i64,
}

/// A document's `ETag` and `Last-Modified`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// A weak entity tag (weak because compression changes the bytes, not the meaning).
    pub etag: String,
    /// The latest change among the selected stories, when any is selected.
    pub last_modified: Option<DateTime<Utc>>,
    /// `ETag`, `Last-Modified` and `Cache-Control`, formatted once: every response of this
    /// version carries them.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Validators {
    /// Validators for the document of `format` and `query` whose selection is at `version`;
    /// `salt` covers whatever else the document depends on (config, program version).
    pub fn new(format: Format, version: &MergedVersion, salt: u64) -> Validators {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&version.hash.to_le_bytes());
        h.update(&salt.to_le_bytes());
        let mut v = Validators {
            etag: format!("W/\"{}-{:016x}\"", format.as_str(), h.digest()),
            last_modified: version.last_changed,
            headers: Vec::new(),
        };
        let cache_control = format!("public, max-age={}", MAX_AGE.as_secs());
        for (name, value) in [
            (ETAG, Some(v.etag.clone())),
            (LAST_MODIFIED, v.http_date()),
            (CACHE_CONTROL, Some(cache_control)),
        ] {
            if let Some(value) = value.and_then(|s| HeaderValue::from_str(&s).ok()) {
                v.headers.push((name, value));
            }
        }
        v
    }

    /// The opaque part of the tag (without `W/` and quotes).
    fn opaque(&self) -> &str {
        self.etag.trim_start_matches("W/").trim_matches('"')
    }

    /// `Last-Modified` as an HTTP date.
    pub fn http_date(&self) -> Option<String> {
        self.last_modified
            .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
    }

    /// Whether a conditional request already has this version (answer 304). As RFC 9110
    /// says, `If-None-Match` wins over `If-Modified-Since` when both are sent.
    pub fn fresh_for(&self, headers: &HeaderMap) -> bool {
        if let Some(inm) = headers.get(IF_NONE_MATCH) {
            let Ok(inm) = inm.to_str() else { return false };
            return inm.split(',').map(str::trim).any(|tag| {
                tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == self.opaque()
            });
        }
        let (Some(ims), Some(lm)) = (headers.get(IF_MODIFIED_SINCE), self.last_modified) else {
            return false;
        };
        ims.to_str()
            .ok()
            .and_then(|s| DateTime::parse_from_rfc2822(s.trim()).ok())
            .is_some_and(|ims| lm.timestamp() <= ims.timestamp())
    }
}

/// One cached document.
#[derive(Debug)]
pub struct Cached {
    /// When it was built.
    pub generation: Generation,
    /// Its validators.
    pub validators: Validators,
    /// The rendered bytes; None when only a conditional request was answered so far.
    pub body: Option<Bytes>,
}

/// Cache key: a format and a canonical query.
pub type Key = (Format, FeedQuery);

/// The rendered documents, one per (format, query), bounded by [`CACHE_ENTRIES`].
#[derive(Debug, Default)]
pub struct DocCache {
    map: Mutex<HashMap<Key, Arc<Cached>>>,
}

impl DocCache {
    /// The entry for `key` if it was built in `generation`.
    pub fn get(&self, key: &Key, generation: Generation) -> Option<Arc<Cached>> {
        let map = self.map.lock();
        map.get(key).filter(|c| c.generation == generation).cloned()
    }

    /// Stores an entry; a full cache is emptied first (stale entries go with it).
    pub fn put(&self, key: Key, entry: Arc<Cached>) {
        let mut map = self.map.lock();
        if map.len() >= CACHE_ENTRIES && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, entry);
    }

    /// Drops everything (on config reload).
    pub fn clear(&self) {
        self.map.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_requests_match_the_right_versions() {
        let version = MergedVersion {
            hash: 7,
            last_changed: DateTime::from_timestamp(1_752_487_200, 0),
        };
        let v = Validators::new(Format::Atom, &version, 1);
        assert!(v.etag.starts_with("W/\"atom-"));
        let mut h = HeaderMap::new();
        assert!(!v.fresh_for(&h));
        h.insert(IF_NONE_MATCH, HeaderValue::from_str(&v.etag).unwrap());
        assert!(v.fresh_for(&h));
        let strong = v.etag.trim_start_matches("W/").to_string();
        h.insert(
            IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", {strong}")).unwrap(),
        );
        assert!(v.fresh_for(&h));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        h.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_str(&v.http_date().unwrap()).unwrap(),
        );
        assert!(
            !v.fresh_for(&h),
            "If-None-Match wins over If-Modified-Since"
        );
        h.remove(IF_NONE_MATCH);
        assert!(v.fresh_for(&h));
        h.insert(
            IF_MODIFIED_SINCE,
            HeaderValue::from_static("Mon, 14 Jul 2025 09:59:59 GMT"),
        );
        assert!(!v.fresh_for(&h));
        h.insert(IF_MODIFIED_SINCE, HeaderValue::from_static("garbage"));
        assert!(!v.fresh_for(&h));
    }
}
