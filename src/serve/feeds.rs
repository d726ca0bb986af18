//! The subscriber-facing routes: `/feed.atom`, `/feed.rss`, `/feed.json`, the river page
//! `/`, a page per story `/story/{id}` (an absorbed id answers 301 with the story that
//! absorbed it), the feeds' health `/sources`, and `/feeds.opml` (without credentials).
//! Read-only: nothing here changes state. Every page carries validators and answers
//! conditional requests with 304.
//!
//! [`FeedService`] holds the config, a few read-only database connections and the document
//! cache; [`routes`] mounts the handlers on a `Router` the daemon merges into its own.

use parking_lot::{Mutex, RwLock};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;

use super::cache::{Cached, DocCache, Generation, Validators};
use super::document::{self, LoadError, StoryLookup};
use super::policy::READ_POOL;
use super::query::FeedQuery;
use super::render::{self, Format};
use crate::config::{Config, StoreLocation};
use crate::store::{MergedVersion, Store, StoreError};

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
    location: StoreLocation,
    /// The connection whose `data_version` tells whether anything was committed.
    watch: Mutex<Option<Store>>,
    /// Idle read-only connections for building documents.
    readers: Mutex<Vec<Store>>,
    cache: DocCache,
    /// The sources page of the current generation (it changes with every poll).
    sources: Mutex<Option<Arc<Cached>>>,
}

impl FeedService {
    /// A service reading the database `config` names (which must already exist: the daemon
    /// opens it read-write first).
    pub fn new(config: Arc<Config>) -> Arc<FeedService> {
        Arc::new(FeedService {
            location: config.storage.location(),
            config: RwLock::new(config),
            config_epoch: AtomicU64::new(0),
            watch: Mutex::new(None),
            readers: Mutex::new(Vec::new()),
            cache: DocCache::default(),
            sources: Mutex::new(None),
        })
    }

    /// Uses a reloaded config from now on (titles, base URL, tags, the OPML list); cached
    /// documents are dropped. The database path is fixed for the life of the service.
    pub fn set_config(&self, config: Arc<Config>) {
        *self.config.write() = config;
        self.config_epoch.fetch_add(1, Ordering::SeqCst);
        self.cache.clear();
    }

    fn config(&self) -> Arc<Config> {
        self.config.read().clone()
    }

    /// [`FeedService::generation`] from a request's task. SQLite's is one pragma, cheap
    /// enough to run on the task itself; PostgreSQL's is a round trip through the
    /// synchronous client, which must not run on an async worker (it blocks it, and panics
    /// there), so it goes to the blocking pool.
    async fn current_generation(self: &Arc<Self>) -> Result<Generation, String> {
        if matches!(self.location, StoreLocation::Sqlite(_)) {
            return self.generation().map_err(|e| e.to_string());
        }
        let service = self.clone();
        match tokio::task::spawn_blocking(move || service.generation()).await {
            Ok(generation) => generation.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the database generation task failed: {e}")),
        }
    }

    /// The current generation: one `PRAGMA data_version` on the watch connection (on
    /// PostgreSQL, a hash of the server's snapshot).
    fn generation(&self) -> Result<Generation, StoreError> {
        let config_epoch = self.config_epoch.load(Ordering::SeqCst);
        let mut watch = self.watch.lock();
        let store = match watch.take() {
            Some(s) => s,
            None => Store::open_reader_at(&self.location)?,
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
        let pooled = self.readers.lock().pop();
        let store = match pooled {
            Some(s) => s,
            None => Store::open_reader_at(&self.location)?,
        };
        let out = store.snapshot(f);
        if out.is_ok() {
            let mut readers = self.readers.lock();
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
            config
                .server
                .websub_hub
                .as_ref()
                .map_or("", |h| h.0.as_str()),
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
        .route("/story/{id}", get(story))
        .route("/sources", get(sources))
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
    let body = crate::opml::for_config(&s.config(), crate::opml::Credentials::Strip);
    (
        [
            (header::CONTENT_TYPE, "text/x-opml; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// What the story page's route comes to.
enum StoryAnswer {
    /// 200 or 304 (no body).
    Page(Validators, Option<Bytes>),
    /// 301 to this absolute URL.
    Moved(String),
    /// 404 with this page.
    Missing(Bytes),
}

impl FeedService {
    /// Story `id`'s page: validators from the story's version, then (unless the client has
    /// this version) the page; or where the story went; or a 404 page.
    fn story_page(&self, id: Option<i64>, headers: &HeaderMap) -> Result<StoryAnswer, LoadError> {
        let config = self.config();
        let missing =
            |id: &str| StoryAnswer::Missing(render::story_missing(&config.server.title, id).into());
        let Some(id) = id else {
            return Ok(missing("?"));
        };
        let moved = |to: i64| {
            let base = document::base_url(&config);
            StoryAnswer::Moved(document::story_url(&base, to).to_string())
        };
        self.with_reader(|store| {
            let version = match document::story_version(store, id)? {
                Ok(v) => v,
                Err(StoryLookup::Moved(to)) => return Ok(moved(to)),
                Err(_) => return Ok(missing(&id.to_string())),
            };
            let salt = Self::salt(&config, Format::Html, &FeedQuery::default())
                ^ xxhash_rust::xxh3::xxh3_64(format!("story/{id}").as_bytes());
            let validators = Validators::new(Format::Html, &version, salt);
            if validators.fresh_for(headers) {
                return Ok(StoryAnswer::Page(validators, None));
            }
            Ok(match document::load_story(store, &config, id)? {
                StoryLookup::Found(page) => {
                    StoryAnswer::Page(validators, Some(render::story_page(&page).into()))
                }
                StoryLookup::Moved(to) => moved(to),
                StoryLookup::Missing => missing(&id.to_string()),
            })
        })
    }

    /// The sources page of `generation`, built once per generation.
    fn sources_page(&self, generation: Generation) -> Result<Arc<Cached>, LoadError> {
        let mut slot = self.sources.lock();
        if let Some(hit) = slot.as_ref().filter(|c| c.generation == generation) {
            return Ok(hit.clone());
        }
        let config = self.config();
        let page = self.with_reader(|store| super::sources::load(store, &config))?;
        let body = render::sources_page(&page);
        let version = MergedVersion {
            hash: xxhash_rust::xxh3::xxh3_64(&body),
            last_changed: page.last_changed(),
        };
        let entry = Arc::new(Cached {
            generation,
            validators: Validators::new(Format::Html, &version, 0),
            body: Some(body.into()),
        });
        *slot = Some(entry.clone());
        Ok(entry)
    }
}

async fn story(State(s): Svc, Path(id): Path<String>, headers: HeaderMap) -> Response {
    // Story ids are positive; anything else names no story.
    let id = id.parse::<i64>().ok().filter(|&n| n > 0);
    let answer = tokio::task::spawn_blocking(move || {
        let answer = s.story_page(id, &headers)?;
        Ok::<_, LoadError>((answer, headers))
    })
    .await;
    match answer {
        Ok(Ok((StoryAnswer::Page(v, Some(body)), headers))) if !v.fresh_for(&headers) => {
            full(Format::Html, &v, body)
        }
        Ok(Ok((StoryAnswer::Page(v, _), _))) => not_modified(&v),
        Ok(Ok((StoryAnswer::Moved(to), _))) => match HeaderValue::from_str(&to) {
            Ok(location) => {
                let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
                r.headers_mut().insert(header::LOCATION, location);
                r
            }
            Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "bad redirect target"),
        },
        Ok(Ok((StoryAnswer::Missing(body), _))) => {
            let mut r = page_response(body);
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
        Ok(Err(e)) => unavailable(&e),
        Err(e) => unavailable(&format_args!("the story page task failed: {e}")),
    }
}

async fn sources(State(s): Svc, headers: HeaderMap) -> Response {
    let generation = match s.current_generation().await {
        Ok(g) => g,
        Err(e) => return unavailable(&e),
    };
    match tokio::task::spawn_blocking(move || s.sources_page(generation)).await {
        Ok(Ok(entry)) => match &entry.body {
            Some(body) if !entry.validators.fresh_for(&headers) => {
                full(Format::Html, &entry.validators, body.clone())
            }
            _ => not_modified(&entry.validators),
        },
        Ok(Err(e)) => unavailable(&e),
        Err(e) => unavailable(&format_args!("the sources page task failed: {e}")),
    }
}

/// An HTML page without validators (the 404 page), with the pages' headers.
fn page_response(body: Bytes) -> Response {
    let mut r = Response::new(Body::from(body));
    html_headers(Format::Html, r.headers_mut());
    r
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
    let generation = match service.current_generation().await {
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
        // What this store cannot do: the request's, not an outage.
        Ok(Err(LoadError::Store(StoreError::WrongBackend(why)))) => {
            plain(StatusCode::NOT_IMPLEMENTED, why)
        }
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
    html_headers(format, h);
    validator_headers(v, h);
    r
}

/// The content type and the safety headers of a document of `format`.
fn html_headers(format: Format, h: &mut HeaderMap) {
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
}
