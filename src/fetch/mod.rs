//! The fetch stage: getting a feed's bytes over HTTP, politely.
//!
//! One [`Fetcher`] (one shared reqwest client, one connection pool) serves the whole
//! process. A poll sends the stored validators (conditional GET), follows at most
//! [`policy::MAX_REDIRECTS`] redirects itself so a permanent move can be recorded, reads the
//! body as a stream cut at `[fetch].max_body`, and gives up at `[fetch].timeout` however
//! slowly the server drips bytes. It never fails: every way a poll can end is a
//! [`FetchOutcome`] the schedule stage turns into fetch state, a failure a typed
//! [`FetchError`] whose [`kind`](FetchError::kind) the metrics and `feeds list` count.
//!
//! Article pages ([`Fetcher::fetch_page`]) go the same way with one difference: their
//! URLs come from feeds, not from the operator, so each hop is checked by [`guard`] and a
//! page client whose resolver refuses non-public addresses (the feed's own host excepted).

pub mod discover;
mod error;
pub mod guard;
mod headers;
pub mod policy;
mod websub;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION};

use crate::config::FetchConfig;
pub use error::{FetchError, TransportStage};

/// A fetched document, as `feeds add` looks at it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL the body came from, after redirects.
    pub url: url::Url,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// What to poll and the validators from the last successful poll.
#[derive(Debug, Clone, Copy)]
pub struct FetchRequest<'a> {
    /// The URL to request (the permanent redirect target when one is recorded).
    pub url: &'a url::Url,
    /// Sent as `If-None-Match`.
    pub etag: Option<&'a str>,
    /// Sent as `If-Modified-Since`.
    pub last_modified: Option<&'a str>,
}

/// The validators and freshness a 200 or 304 carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
    /// `Cache-Control: max-age` or `Expires`, as a duration from now.
    pub fresh_for: Option<Duration>,
}

/// How one poll ended.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// A new document.
    Modified {
        /// The body, at most `max_body` bytes, decompressed.
        body: Vec<u8>,
        /// The `Content-Type` header.
        content_type: Option<String>,
        /// Validators and freshness to store.
        validators: Validators,
    },
    /// 304: unchanged since the validators were issued.
    NotModified {
        /// Updated validators, when the 304 carried any.
        validators: Validators,
    },
    /// 410: the feed is gone for good.
    Gone,
    /// 429 or 503 with a `Retry-After` the server wants honoured.
    RateLimited {
        /// How long the server asked us to wait (not yet bounded).
        retry_after: Duration,
    },
    /// Anything else: transport, timeout, size, redirect or HTTP failure.
    Failed {
        /// Why; its `Display` is the one sentence for `feeds list` and the log.
        error: FetchError,
    },
}

/// A poll's outcome with what was observed on the way.
#[derive(Debug, Clone)]
pub struct FetchReport {
    /// How it ended.
    pub outcome: FetchOutcome,
    /// The URL that gave the final answer.
    pub url: url::Url,
    /// Where a chain of permanent redirects (301/308) led, to use from now on.
    pub moved_to: Option<url::Url>,
    /// The final HTTP status, when a response arrived.
    pub http: Option<u16>,
    /// Body bytes received (after decompression).
    pub bytes: u64,
    /// Wall time of the whole poll.
    pub elapsed: Duration,
}

/// An item's article page to fetch, and the feed that linked it.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// The item's link.
    pub url: &'a url::Url,
    /// The host of the feed that carried the link: pages there are fetched wherever it
    /// is (a feed served from a private network may link its own pages).
    pub feed_host: Option<&'a str>,
    /// Sent as `If-None-Match`.
    pub etag: Option<&'a str>,
    /// Sent as `If-Modified-Since`.
    pub last_modified: Option<&'a str>,
}

/// How one page fetch ended.
#[derive(Debug, Clone)]
pub enum PageOutcome {
    /// The page.
    Fetched {
        /// The body, at most `max_body` bytes, decompressed.
        body: Vec<u8>,
        /// The `Content-Type` header.
        content_type: Option<String>,
        /// Validators and freshness to store.
        validators: Validators,
    },
    /// 304: unchanged since the validators were issued.
    NotModified {
        /// Updated validators, when the 304 carried any.
        validators: Validators,
    },
    /// 429 or 503 with a `Retry-After` the server wants honoured.
    RateLimited {
        /// How long the server asked us to wait (not yet bounded).
        retry_after: Duration,
    },
    /// Anything else: transport, timeout, size, redirect or HTTP failure, 410 included,
    /// and [`FetchError::Refused`]: not fetched because it is not on a public network (or
    /// not http/https), with no connection made to it.
    Failed {
        /// Why; its `Display` is the one sentence for the log.
        error: FetchError,
    },
}

/// A page fetch's outcome with what was observed on the way.
#[derive(Debug, Clone)]
pub struct PageReport {
    /// How it ended.
    pub outcome: PageOutcome,
    /// The URL that gave the final answer (or was refused), after redirects.
    pub url: url::Url,
    /// The last HTTP status received, when a response arrived.
    pub http: Option<u16>,
    /// Body bytes received (after decompression).
    pub bytes: u64,
    /// Wall time of the whole fetch.
    pub elapsed: Duration,
}

/// The shared HTTP clients with the fetch settings in force.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// Feeds (and pages on the linking feed's own host).
    client: reqwest::Client,
    /// Article pages: resolves through a [`guard::GuardedResolver`], no proxy.
    pages: reqwest::Client,
    guard: guard::Guard,
    settings: FetchConfig,
    /// Test hook: names resolved to fixed addresses by both clients.
    resolved: HashMap<String, Vec<SocketAddr>>,
    timeout: Duration,
    max_body: u64,
}

/// Which client a hop goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The feed client: any address.
    Plain,
    /// The page client: public addresses and `private_networks` only.
    Guarded,
}

/// The validators a request sends, and the largest body it accepts.
#[derive(Clone, Copy)]
struct Conditional<'a> {
    etag: Option<&'a str>,
    last_modified: Option<&'a str>,
    max_body: u64,
}

/// What the request loop has seen so far, kept outside the timed future so a timeout
/// still reports the status and redirects observed before it.
struct Progress {
    url: url::Url,
    moved_to: Option<url::Url>,
    http: Option<u16>,
    bytes: u64,
}

impl Fetcher {
    /// Builds the clients from `[fetch]`: User-Agent, connect and total timeouts, body
    /// limit, and for pages the guard over `private_networks`. Redirects are not followed
    /// by the clients; [`Fetcher::fetch`] and [`Fetcher::fetch_page`] follow them.
    pub fn new(settings: &FetchConfig) -> Result<Fetcher, FetchError> {
        Fetcher::build(settings, HashMap::new())
    }

    /// Test hook (like curl's `--resolve`): both clients resolve `host` to `addr` (the
    /// port in a URL wins over `addr`'s). The page client still checks `addr`.
    pub fn with_resolved(mut self, host: &str, addr: SocketAddr) -> Fetcher {
        self.resolved.insert(host.to_ascii_lowercase(), vec![addr]);
        Fetcher::build(&self.settings, self.resolved)
            .expect("the same settings built the clients before")
    }

    fn build(
        settings: &FetchConfig,
        resolved: HashMap<String, Vec<SocketAddr>>,
    ) -> Result<Fetcher, FetchError> {
        let timeout = settings.timeout.0.max(Duration::from_millis(1));
        let builder = || {
            reqwest::Client::builder()
                .user_agent(settings.user_agent.as_str())
                .connect_timeout(timeout.min(policy::CONNECT_TIMEOUT))
                .pool_idle_timeout(policy::POOL_IDLE_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
        };
        let mut plain = builder();
        for (host, addrs) in &resolved {
            plain = plain.resolve_to_addrs(host, addrs);
        }
        let client = plain.build().map_err(|e| FetchError::Client {
            what: "",
            error: Arc::new(e),
        })?;
        let guard = guard::Guard::new(settings.private_networks.iter().map(|n| n.0).collect());
        let resolver = guard::GuardedResolver::new(guard.clone(), resolved.clone());
        // A proxy would resolve and connect in our place, past the guard.
        let pages = builder()
            .dns_resolver(Arc::new(resolver))
            .no_proxy()
            .build()
            .map_err(|e| FetchError::Client {
                what: " for article pages",
                error: Arc::new(e),
            })?;
        Ok(Fetcher {
            client,
            pages,
            guard,
            settings: settings.clone(),
            resolved,
            timeout,
            max_body: settings.max_body.0,
        })
    }

    /// Polls one feed. Never fails: failures are a [`FetchOutcome::Failed`].
    pub async fn fetch(&self, req: &FetchRequest<'_>) -> FetchReport {
        let conditional = Conditional {
            etag: req.etag,
            last_modified: req.last_modified,
            max_body: self.max_body,
        };
        let (outcome, progress, elapsed) = self
            .timed(req.url, conditional, |_: &url::Url| Ok(Via::Plain))
            .await;
        // A move is only worth recording when the new place actually answered.
        let keep_move = matches!(
            outcome,
            FetchOutcome::Modified { .. } | FetchOutcome::NotModified { .. }
        );
        FetchReport {
            outcome,
            url: progress.url,
            moved_to: progress.moved_to.filter(|_| keep_move),
            http: progress.http,
            bytes: progress.bytes,
            elapsed,
        }
    }

    /// Fetches an item's article page. Every hop (the link and each redirect target) is
    /// checked before anything connects to it: on the linking feed's own host it goes
    /// through the feed client; an IP literal must pass the guard; a name goes through the
    /// page client, whose resolver keeps only addresses the guard lets through. Never
    /// fails: failures (refusals among them) are a [`PageOutcome::Failed`].
    pub async fn fetch_page(&self, req: &PageRequest<'_>) -> PageReport {
        let conditional = Conditional {
            etag: req.etag,
            last_modified: req.last_modified,
            max_body: self.max_body.min(policy::MAX_PAGE_BODY),
        };
        let route = |url: &url::Url| self.page_route(req.feed_host, url);
        let (outcome, progress, elapsed) = self.timed(req.url, conditional, route).await;
        // The one mapping from a feed's outcomes to a page's: a page has no state to retire,
        // so its 410 is a failure like any other.
        let outcome = match outcome {
            FetchOutcome::Modified {
                body,
                content_type,
                validators,
            } => PageOutcome::Fetched {
                body,
                content_type,
                validators,
            },
            FetchOutcome::NotModified { validators } => PageOutcome::NotModified { validators },
            FetchOutcome::Gone => PageOutcome::Failed {
                error: FetchError::Gone {
                    url: progress.url.clone(),
                },
            },
            FetchOutcome::RateLimited { retry_after } => PageOutcome::RateLimited { retry_after },
            FetchOutcome::Failed { error } => PageOutcome::Failed { error },
        };
        PageReport {
            outcome,
            url: progress.url,
            http: progress.http,
            bytes: progress.bytes,
            elapsed,
        }
    }

    /// Which client a page hop to `url` may use, or why it may not be requested at all.
    fn page_route(&self, feed_host: Option<&str>, url: &url::Url) -> Result<Via, FetchError> {
        let refused = |reason: String| FetchError::Refused { reason };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refused(format!(
                "refused: {url} is not an http or https URL"
            )));
        }
        let Some(host) = url.host() else {
            return Err(refused(format!("refused: {url} names no host")));
        };
        if feed_host.is_some_and(|feed| same_host(feed, &host)) {
            return Ok(Via::Plain);
        }
        // IP literals never reach a resolver: check them here.
        let checked = match host {
            url::Host::Domain(_) => return Ok(Via::Guarded),
            url::Host::Ipv4(ip) => self.guard.check(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => self.guard.check(IpAddr::V6(ip)),
        };
        checked
            .map(|()| Via::Guarded)
            .map_err(|why| refused(format!("refused: {url}: {why} ({})", guard::PUBLIC_ONLY)))
    }

    /// Runs the hops from `start` under the total timeout; returns how they ended, what was
    /// seen on the way and the wall time.
    async fn timed(
        &self,
        start: &url::Url,
        conditional: Conditional<'_>,
        route: impl Fn(&url::Url) -> Result<Via, FetchError>,
    ) -> (FetchOutcome, Progress, Duration) {
        let started = Instant::now();
        let mut progress = Progress {
            url: start.clone(),
            moved_to: None,
            http: None,
            bytes: 0,
        };
        let hops = self.exchange(start, conditional, &route, &mut progress);
        let outcome = match tokio::time::timeout(self.timeout, hops).await {
            Ok(outcome) => outcome,
            Err(_) => FetchOutcome::Failed {
                error: FetchError::Timeout {
                    url: progress.url.clone(),
                    limit: self.timeout,
                },
            },
        };
        (outcome, progress, started.elapsed())
    }

    /// A plain GET (redirects followed, no validators) that must end in a document: what
    /// `feeds add` uses to look at a URL before adding it.
    pub async fn get(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        let report = self
            .fetch(&FetchRequest {
                url,
                etag: None,
                last_modified: None,
            })
            .await;
        match report.outcome {
            FetchOutcome::Modified {
                body, content_type, ..
            } => Ok(Fetched {
                url: report.url,
                content_type,
                body,
            }),
            FetchOutcome::Failed { error } => Err(error),
            FetchOutcome::Gone => Err(FetchError::Gone { url: url.clone() }),
            FetchOutcome::RateLimited { retry_after } => Err(FetchError::RateLimited {
                url: url.clone(),
                retry_after,
            }),
            FetchOutcome::NotModified { .. } => {
                Err(FetchError::UnexpectedNotModified { url: url.clone() })
            }
        }
    }

    /// The redirect loop: requests `progress.url`, through the client `route` picks for
    /// it, until an answer that is not a redirect.
    async fn exchange(
        &self,
        start: &url::Url,
        conditional: Conditional<'_>,
        route: &impl Fn(&url::Url) -> Result<Via, FetchError>,
        progress: &mut Progress,
    ) -> FetchOutcome {
        let failed = |error| FetchOutcome::Failed { error };
        let mut visited = vec![start.clone()];
        let mut all_permanent = true;
        loop {
            let url = progress.url.clone();
            let client = match route(&url) {
                Ok(Via::Plain) => &self.client,
                Ok(Via::Guarded) => &self.pages,
                Err(refused) => return failed(refused),
            };
            let mut request = client.get(url.clone());
            if let Some(etag) = conditional.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = conditional.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
            let resp = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    return match guard_refusal(&e) {
                        Some(refused) => failed(FetchError::Refused {
                            reason: refused.to_string(),
                        }),
                        None => failed(describe(&url, &e)),
                    };
                }
            };
            let status = resp.status();
            progress.http = Some(status.as_u16());
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(next) = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|loc| url.join(loc.trim()).ok())
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                else {
                    return failed(FetchError::BadRedirect { url, status });
                };
                if visited.contains(&next) {
                    return failed(FetchError::RedirectLoop {
                        url,
                        next: Box::new(next),
                    });
                }
                if visited.len() > policy::MAX_REDIRECTS {
                    return failed(FetchError::TooManyRedirects {
                        start: start.clone(),
                        limit: policy::MAX_REDIRECTS,
                    });
                }
                all_permanent &= matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                if all_permanent {
                    progress.moved_to = Some(next.clone());
                }
                visited.push(next.clone());
                progress.url = next;
                continue;
            }
            let headers = resp.headers();
            let validators = Validators {
                etag: header_string(headers, ETAG),
                last_modified: header_string(headers, LAST_MODIFIED),
                fresh_for: headers::fresh_for(headers),
            };
            return match status {
                StatusCode::NOT_MODIFIED => FetchOutcome::NotModified { validators },
                StatusCode::GONE => FetchOutcome::Gone,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    if headers::retry_after(headers).is_some() =>
                {
                    FetchOutcome::RateLimited {
                        retry_after: headers::retry_after(headers).unwrap_or_default(),
                    }
                }
                s if s.is_success() => {
                    let content_type = header_string(headers, CONTENT_TYPE);
                    match self.read_body(resp, progress, conditional.max_body).await {
                        Ok(body) => FetchOutcome::Modified {
                            body,
                            content_type,
                            validators,
                        },
                        Err(error) => failed(error),
                    }
                }
                status => failed(FetchError::HttpStatus { url, status }),
            };
        }
    }

    /// Reads the body chunk by chunk, refusing to hold more than `max_body` bytes.
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        progress: &mut Progress,
        max_body: u64,
    ) -> Result<Vec<u8>, FetchError> {
        let url = progress.url.clone();
        let too_big = || FetchError::TooLarge {
            url: url.clone(),
            limit: max_body,
        };
        let declared = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // Content-Length counts compressed bytes, so it only bounds the first allocation.
        let mut body = Vec::with_capacity(declared.unwrap_or(0).min(max_body) as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    progress.bytes += chunk.len() as u64;
                    if body.len() as u64 + chunk.len() as u64 > max_body {
                        return Err(too_big());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(describe(&url, &e)),
            }
        }
    }
}

/// The guard's refusal behind a failed request, when that is why it failed (the page
/// client's resolver found only refused addresses).
fn guard_refusal(e: &reqwest::Error) -> Option<&guard::GuardRefused> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(refused) = err.downcast_ref::<guard::GuardRefused>() {
            return Some(refused);
        }
        next = err.source();
    }
    None
}

/// Whether a URL's host is the feed's host (`feed_host` as `Url::host_str` gives it, or
/// without the brackets of an IPv6 literal): case-insensitive, trailing dot ignored.
fn same_host(feed_host: &str, host: &url::Host<&str>) -> bool {
    let norm = |h: &str| {
        h.trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase()
    };
    let feed = norm(feed_host);
    match host {
        url::Host::Domain(d) => !feed.is_empty() && norm(d) == feed,
        url::Host::Ipv4(ip) => feed.parse::<IpAddr>() == Ok(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => feed.parse::<IpAddr>() == Ok(IpAddr::V6(*ip)),
    }
}

fn header_string(
    headers: &reqwest::header::HeaderMap,
    name: reqwest::header::HeaderName,
) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A reqwest error as a [`FetchError::Transport`]: what failed and its innermost cause.
fn describe(url: &url::Url, e: &reqwest::Error) -> FetchError {
    let stage = if e.is_connect() {
        TransportStage::Connect
    } else if e.is_timeout() {
        TransportStage::TimedOut
    } else if e.is_body() || e.is_decode() {
        TransportStage::Body
    } else {
        TransportStage::Other
    };
    // The innermost cause is the one that explains ("Connection refused", "certificate
    // expired"); the layers between are reqwest/hyper plumbing.
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    let why = root.to_string();
    let cause =
        (!why.is_empty() && !std::ptr::addr_eq(root, e as &dyn std::error::Error)).then_some(why);
    FetchError::Transport {
        url: url.clone(),
        stage,
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IpNet;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn status(head: &str) -> String {
        format!("HTTP/1.1 {head}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    fn redirect(to: &str) -> String {
        status(&format!("302 Found\r\nLocation: {to}"))
    }

    /// Serves `routes` (path → raw response) on `ip`, a free port; 404 elsewhere.
    async fn serve(ip: &str, routes: Vec<(&str, String)>) -> SocketAddr {
        let routes: HashMap<String, String> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = Arc::new(routes);
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let routes = routes.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split(' ').nth(1).unwrap_or("/");
                    let reply = routes
                        .get(path)
                        .cloned()
                        .unwrap_or_else(|| status("404 Not Found"));
                    let _ = conn.write_all(reply.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        addr
    }

    /// A listener on 127.0.0.2 that never answers: the tests assert nothing connected.
    async fn trap() -> TcpListener {
        TcpListener::bind("127.0.0.2:0").await.unwrap()
    }

    /// Whether anything connected to the trap (a connect completes in the kernel's
    /// backlog whether or not we accept).
    async fn sprung(trap: &TcpListener) -> bool {
        tokio::time::timeout(Duration::from_millis(200), trap.accept())
            .await
            .is_ok()
    }

    fn settings(private: &[&str]) -> FetchConfig {
        FetchConfig {
            timeout: crate::config::HumanDuration(Duration::from_secs(10)),
            private_networks: private.iter().map(|n| IpNet(n.parse().unwrap())).collect(),
            ..FetchConfig::default()
        }
    }

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    async fn page(fetcher: &Fetcher, link: &str, feed_host: Option<&str>) -> PageReport {
        fetcher
            .fetch_page(&PageRequest {
                url: &url(link),
                feed_host,
                etag: None,
                last_modified: None,
            })
            .await
    }

    fn body(report: &PageReport) -> &[u8] {
        match &report.outcome {
            PageOutcome::Fetched { body, .. } => body,
            other => panic!("expected a page, got {other:?}"),
        }
    }

    fn reason(report: &PageReport) -> &str {
        match &report.outcome {
            PageOutcome::Failed {
                error: FetchError::Refused { reason },
            } => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_page_on_the_feeds_own_host_is_fetched() {
        let addr = serve("127.0.0.1", vec![("/a", ok("<p>article</p>"))]).await;
        let fetcher = Fetcher::new(&settings(&[])).unwrap();
        let link = format!("http://{addr}/a");
        let report = page(&fetcher, &link, Some("127.0.0.1")).await;
        assert_eq!(body(&report), b"<p>article</p>");
        assert_eq!(report.http, Some(200));
        // The same link from a feed elsewhere is refused.
        let report = page(&fetcher, &link, Some("news.example")).await;
        assert!(reason(&report).contains("a loopback address"));
    }

    #[tokio::test]
    async fn an_ip_literal_link_to_loopback_is_refused_without_connecting() {
        let trap = trap().await;
        let fetcher = Fetcher::new(&settings(&[])).unwrap();
        let link = format!("http://{}/", trap.local_addr().unwrap());
        let report = page(&fetcher, &link, Some("127.0.0.1")).await;
        let why = reason(&report);
        assert!(why.contains("127.0.0.2 is a loopback address"), "{why}");
        assert!(why.contains("private_networks"), "{why}");
        assert_eq!(report.http, None);
        assert!(!sprung(&trap).await, "something connected to 127.0.0.2");
        // The trap does see a connection when there is one.
        let _conn = tokio::net::TcpStream::connect(trap.local_addr().unwrap())
            .await
            .unwrap();
        assert!(sprung(&trap).await);
    }

    #[tokio::test]
    async fn a_redirect_from_the_feeds_host_to_loopback_is_refused() {
        let trap = trap().await;
        let to = format!("http://{}/", trap.local_addr().unwrap());
        let addr = serve(
            "127.0.0.1",
            vec![("/a", ok("article")), ("/r", redirect(&to))],
        )
        .await;
        let fetcher = Fetcher::new(&settings(&[]))
            .unwrap()
            .with_resolved("feeds.test", addr);
        let port = addr.port();
        let report = page(
            &fetcher,
            &format!("http://feeds.test:{port}/a"),
            Some("Feeds.Test"),
        )
        .await;
        assert_eq!(body(&report), b"article");
        let report = page(
            &fetcher,
            &format!("http://feeds.test:{port}/r"),
            Some("feeds.test"),
        )
        .await;
        assert!(reason(&report).contains("a loopback address"), "{report:?}");
        assert_eq!(report.url.as_str(), to);
        assert_eq!(report.http, Some(302));
        assert!(!sprung(&trap).await, "something connected to 127.0.0.2");
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_by_the_resolver() {
        let trap = trap().await;
        let at = trap.local_addr().unwrap();
        let fetcher = Fetcher::new(&settings(&[]))
            .unwrap()
            .with_resolved("evil.test", at);
        let link = format!("http://evil.test:{}/", at.port());
        let report = page(&fetcher, &link, Some("feeds.test")).await;
        assert_eq!(
            reason(&report),
            "refused: evil.test resolves only to 127.0.0.2, a loopback address (an article \
             page must be on a public network; see [fetch] private_networks)"
        );
        assert!(!sprung(&trap).await, "something connected to 127.0.0.2");
        // A redirect to it from the feed's host is refused the same way.
        let addr = serve("127.0.0.1", vec![("/r", redirect(&link))]).await;
        let fetcher = fetcher.with_resolved("feeds.test", addr);
        let report = page(
            &fetcher,
            &format!("http://feeds.test:{}/r", addr.port()),
            Some("feeds.test"),
        )
        .await;
        assert!(reason(&report).contains("evil.test resolves only to 127.0.0.2"));
        assert!(!sprung(&trap).await, "something connected to 127.0.0.2");
    }

    #[tokio::test]
    async fn private_networks_let_pages_through() {
        let addr = serve("127.0.0.2", vec![("/a", ok("inside"))]).await;
        let fetcher = Fetcher::new(&settings(&["127.0.0.0/8"]))
            .unwrap()
            .with_resolved("intranet.test", addr);
        let report = page(&fetcher, &format!("http://{addr}/a"), Some("127.0.0.1")).await;
        assert_eq!(body(&report), b"inside");
        let link = format!("http://intranet.test:{}/a", addr.port());
        let report = page(&fetcher, &link, None).await;
        assert_eq!(body(&report), b"inside");
    }

    #[tokio::test]
    async fn page_statuses_and_schemes() {
        let addr = serve(
            "127.0.0.1",
            vec![
                ("/gone", status("410 Gone")),
                ("/busy", status("429 Too Many Requests\r\nRetry-After: 120")),
                ("/err", status("500 Internal Server Error")),
                ("/ftp", redirect("ftp://127.0.0.1/x")),
            ],
        )
        .await;
        let fetcher = Fetcher::new(&settings(&[])).unwrap();
        let feed = Some("127.0.0.1");
        let report = page(&fetcher, &format!("http://{addr}/gone"), feed).await;
        assert!(
            matches!(&report.outcome, PageOutcome::Failed { error: e @ FetchError::Gone { .. } } if e.to_string().ends_with("answered 410 Gone")),
            "{report:?}"
        );
        let report = page(&fetcher, &format!("http://{addr}/busy"), feed).await;
        assert!(matches!(
            report.outcome,
            PageOutcome::RateLimited { retry_after } if retry_after == Duration::from_secs(120)
        ));
        let report = page(&fetcher, &format!("http://{addr}/err"), feed).await;
        assert!(
            matches!(&report.outcome, PageOutcome::Failed { error: e @ FetchError::HttpStatus { .. } } if e.to_string().contains("HTTP 500"))
        );
        let report = page(&fetcher, &format!("http://{addr}/ftp"), feed).await;
        assert!(
            matches!(report.outcome, PageOutcome::Failed { .. }),
            "{report:?}"
        );
        let report = page(&fetcher, "file:///etc/passwd", feed).await;
        assert!(reason(&report).contains("not an http or https URL"));
    }

    #[test]
    fn the_feed_host_matches_case_and_brackets_insensitively() {
        let same = |feed: &str, link: &str| same_host(feed, &url(link).host().unwrap());
        assert!(same("Feeds.Test", "http://feeds.test/"));
        assert!(same("feeds.test.", "http://FEEDS.test/"));
        assert!(same("[::1]", "http://[::1]:8/"));
        assert!(same("::1", "http://[0::1]/"));
        assert!(!same("feeds.test", "http://feeds.test.evil/"));
        assert!(!same("", "http://127.0.0.1/"));
    }
}
