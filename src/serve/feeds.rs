//! The subscriber-facing routes: `/feed.atom`, `/feed.rss`, `/feed.json`, the river page
//! `/`, and `/feeds.opml`. Read-only: nothing here changes state.
//!
//! [`FeedService`] holds the config, a few read-only database connections and the document
//! cache; [`routes`] mounts the handlers on a `Router` the daemon merges into its own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;

use super::cache::{Cached, DocCache, Generation, Validators};
use super::document::{self, LoadError};
use super::policy::READ_POOL;
use super::query::FeedQuery;
use super::render::{self, Format};
use crate::config::Config;
use crate::store::{Store, StoreError};

/// The Content-Security-Policy of the river page: nothing runs, nothing loads from
/// elsewhere; the inline style sheet is the only exception, and the search form may only
/// submit to this server.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                        base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The Content-Security-Policy of feed documents opened in a browser.
const FEED_CSP: &str = "default-src 'none'; sandbox";

/// What the subscriber-facing routes share: config, database readers, rendered documents.
pub struct FeedService {
    config: RwLock<Arc<Config>>,
    config_epoch: AtomicU64,
    db_path: PathBuf,
    /// The connection whose `data_version` tells whether anything was committed.
    watch: Mutex<Option<Store>>,
    /// Idle read-only connections for building documents.
    readers: Mutex<Vec<Store>>,
    cache: DocCache,
}

impl FeedService {
    /// A service reading the database `config` names (which must already exist: the daemon
    /// opens it read-write first).
    pub fn new(config: Arc<Config>) -> Arc<FeedService> {
        Arc::new(FeedService {
            db_path: config.storage.path.clone(),
            config: RwLock::new(config),
            config_epoch: AtomicU64::new(0),
            watch: Mutex::new(None),
            readers: Mutex::new(Vec::new()),
            cache: DocCache::default(),
        })
    }

    /// Uses a reloaded config from now on (titles, base URL, tags, the OPML list); cached
    /// documents are dropped. The database path is fixed for the life of the service.
    pub fn set_config(&self, config: Arc<Config>) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
        self.config_epoch.fetch_add(1, Ordering::SeqCst);
        self.cache.clear();
    }

    fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current generation: one `PRAGMA data_version` on the watch connection.
    fn generation(&self) -> Result<Generation, StoreError> {
        let config_epoch = self.config_epoch.load(Ordering::SeqCst);
        let mut watch = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        let store = match watch.take() {
            Some(s) => s,
            None => Store::open_reader(&self.db_path)?,
        };
        // A failing connection is dropped here and reopened on the next request.
        let data_version = store.data_version()?;
        *watch = Some(store);
        Ok(Generation {
            config_epoch,
            data_version,
        })
    }

    /// Runs `f` on a pooled read-only connection, inside one read transaction.
    fn with_reader<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let store = match pooled {
            Some(s) => s,
            None => Store::open_reader(&self.db_path)?,
        };
        let out = store.snapshot(f);
        if out.is_ok() {
            let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            if readers.len() < READ_POOL {
                readers.push(store);
            }
        }
        out
    }

    /// What a document depends on besides the database: the config it shows and the
    /// renderer version.
    fn salt(config: &Config, format: Format, query: &FeedQuery) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for part in [
            env!("CARGO_PKG_VERSION"),
            format.as_str(),
            &query.to_query_string(),
            &config.server.title,
            config.server.base_url.0.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update(&[0]);
        }
        if format == Format::Html {
            for tag in config.feeds.iter().flat_map(|f| &f.tags) {
                h.update(tag.as_bytes());
                h.update(&[0]);
            }
        }
        h.digest()
    }

    /// The slow path: validators from the selection's version in the store, then — unless
    /// the client already has this version — the rendered document. Either way the result is
    /// cached.
    fn build(
        &self,
        format: Format,
        query: FeedQuery,
        generation: Generation,
        headers: &HeaderMap,
    ) -> Result<Arc<Cached>, LoadError> {
        let config = self.config();
        let salt = Self::salt(&config, format, &query);
        let entry = self
            .with_reader(|store| {
                let version = match document::version(store, &query) {
                    Ok(version) => version,
                    Err(LoadError::NotFound(why)) => return Ok(Err(why)),
                    Err(e) => return Err(e),
                };
                let validators = Validators::new(format, &version, salt);
                let body = if validators.fresh_for(headers) {
                    None
                } else {
                    let doc = match document::load(store, &config, &query) {
                        Ok(doc) => doc,
                        Err(LoadError::NotFound(why)) => return Ok(Err(why)),
                        Err(e) => return Err(e),
                    };
                    Some(Bytes::from(render::render(&doc, format)?))
                };
                Ok(Ok(Arc::new(Cached {
                    generation,
                    validators,
                    body,
                })))
            })?
            .map_err(LoadError::NotFound)?;
        self.cache.put((format, query), entry.clone());
        Ok(entry)
    }
}

/// Mounts the subscriber-facing routes, compressed when the client asks.
pub fn routes(service: Arc<FeedService>) -> Router {
    Router::new()
        .route("/", get(river))
        .route("/feed.atom", get(atom))
        .route("/feed.rss", get(rss))
        .route("/feed.json", get(json))
        .route("/feeds.opml", get(opml))
        .layer(CompressionLayer::new())
        .with_state(service)
}

type Svc = State<Arc<FeedService>>;

async fn river(State(s): Svc, RawQuery(q): RawQuery, h: HeaderMap) -> Response {
    document_response(s, Format::Html, q, h).await
}

async fn atom(State(s): Svc, RawQuery(q): RawQuery, h: HeaderMap) -> Response {
    document_response(s, Format::Atom, q, h).await
}

async fn rss(State(s): Svc, RawQuery(q): RawQuery, h: HeaderMap) -> Response {
    document_response(s, Format::Rss, q, h).await
}

async fn json(State(s): Svc, RawQuery(q): RawQuery, h: HeaderMap) -> Response {
    document_response(s, Format::Json, q, h).await
}

async fn opml(State(s): Svc) -> Response {
    let body = crate::opml::for_config(&s.config());
    (
        [
            (header::CONTENT_TYPE, "text/x-opml; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// One line of plain text with a status: the body of every error response.
fn plain(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

fn unavailable(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "cannot serve the merged feed");
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database cannot be read right now; try again shortly",
    )
}

async fn document_response(
    service: Arc<FeedService>,
    format: Format,
    raw: Option<String>,
    headers: HeaderMap,
) -> Response {
    let query = match FeedQuery::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return plain(StatusCode::BAD_REQUEST, &format!("bad query: {e}")),
    };
    let generation = match service.generation() {
        Ok(g) => g,
        Err(e) => return unavailable(&e),
    };
    let key = (format, query);
    if let Some(hit) = service.cache.get(&key, generation) {
        if hit.validators.fresh_for(&headers) {
            return not_modified(&hit.validators);
        }
        if let Some(body) = &hit.body {
            return full(format, &hit.validators, body.clone());
        }
    }
    let (format, query) = key;
    let built = tokio::task::spawn_blocking(move || {
        let entry = service.build(format, query, generation, &headers)?;
        Ok::<_, LoadError>((entry, headers))
    })
    .await;
    match built {
        Ok(Ok((entry, headers))) => match &entry.body {
            Some(body) if !entry.validators.fresh_for(&headers) => {
                full(format, &entry.validators, body.clone())
            }
            _ => not_modified(&entry.validators),
        },
        Ok(Err(LoadError::NotFound(why))) => plain(StatusCode::NOT_FOUND, &why),
        Ok(Err(e)) => unavailable(&e),
        Err(e) => unavailable(&format_args!("the render task failed: {e}")),
    }
}

fn validator_headers(v: &Validators, headers: &mut HeaderMap) {
    for (name, value) in &v.headers {
        headers.insert(name.clone(), value.clone());
    }
}

fn not_modified(v: &Validators) -> Response {
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    validator_headers(v, r.headers_mut());
    r
}

fn full(format: Format, v: &Validators, body: Bytes) -> Response {
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if format == Format::Html {
            PAGE_CSP
        } else {
            FEED_CSP
        }),
    );
    if format == Format::Html {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    validator_headers(v, h);
    r
}
