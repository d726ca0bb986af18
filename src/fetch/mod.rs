//! The fetch stage: getting a feed's bytes over HTTP, politely.
//!
//! One [`Fetcher`] (one shared reqwest client, one connection pool) serves the whole
//! process. A poll sends the stored validators (conditional GET), follows at most
//! [`policy::MAX_REDIRECTS`] redirects itself so a permanent move can be recorded, reads the
//! body as a stream cut at `[fetch].max_body`, and gives up at `[fetch].timeout` however
//! slowly the server drips bytes. It never fails: every way a poll can end is a
//! [`FetchOutcome`] the schedule stage turns into fetch state.

pub mod discover;
mod headers;
pub mod policy;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, LAST_MODIFIED, LOCATION};

use crate::config::FetchConfig;

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
        /// One sentence for `feeds list` and the log.
        error: String,
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

/// The shared HTTP client with the fetch settings in force.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
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
    /// Builds the client from `[fetch]`: User-Agent, connect and total timeouts, body limit.
    /// Redirects are not followed by the client; [`Fetcher::fetch`] follows them itself.
    pub fn new(settings: &FetchConfig) -> Result<Fetcher> {
        let timeout = settings.timeout.0.max(Duration::from_millis(1));
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.as_str())
            .connect_timeout(timeout.min(policy::CONNECT_TIMEOUT))
            .pool_idle_timeout(policy::POOL_IDLE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Fetcher {
            client,
            timeout,
            max_body: settings.max_body.0,
        })
    }

    /// Polls one feed. Never fails: failures are a [`FetchOutcome::Failed`].
    pub async fn fetch(&self, req: &FetchRequest<'_>) -> FetchReport {
        let started = Instant::now();
        let mut progress = Progress {
            url: req.url.clone(),
            moved_to: None,
            http: None,
            bytes: 0,
        };
        let outcome =
            match tokio::time::timeout(self.timeout, self.exchange(req, &mut progress)).await {
                Ok(outcome) => outcome,
                Err(_) => FetchOutcome::Failed {
                    error: format!(
                        "{} gave no complete answer within {} s (the fetch timeout)",
                        progress.url,
                        self.timeout.as_secs_f64()
                    ),
                },
            };
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
            elapsed: started.elapsed(),
        }
    }

    /// A plain GET (redirects followed, no validators) that must end in a document: what
    /// `feeds add` uses to look at a URL before adding it.
    pub async fn get(&self, url: &url::Url) -> Result<Fetched> {
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
            FetchOutcome::Failed { error } => anyhow::bail!("{error}"),
            FetchOutcome::Gone => anyhow::bail!("{url} answered 410 Gone"),
            FetchOutcome::RateLimited { retry_after } => anyhow::bail!(
                "{url} is rate limiting us: it asks to retry in {} s",
                retry_after.as_secs()
            ),
            FetchOutcome::NotModified { .. } => {
                anyhow::bail!("{url} answered 304 Not Modified to a plain request")
            }
        }
    }

    async fn exchange(&self, req: &FetchRequest<'_>, progress: &mut Progress) -> FetchOutcome {
        let failed = |error: String| FetchOutcome::Failed { error };
        let mut visited = vec![req.url.clone()];
        let mut all_permanent = true;
        loop {
            let url = progress.url.clone();
            let mut request = self.client.get(url.clone());
            if let Some(etag) = req.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = req.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
            let resp = match request.send().await {
                Ok(r) => r,
                Err(e) => return failed(describe(&url, &e)),
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
                    return failed(format!(
                        "{url} answered HTTP {status} without a usable Location"
                    ));
                };
                if visited.contains(&next) {
                    return failed(format!("redirect loop: {url} leads back to {next}"));
                }
                if visited.len() > policy::MAX_REDIRECTS {
                    return failed(format!(
                        "more than {} redirects starting at {}",
                        policy::MAX_REDIRECTS,
                        req.url
                    ));
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
                    match self.read_body(resp, progress).await {
                        Ok(body) => FetchOutcome::Modified {
                            body,
                            content_type,
                            validators,
                        },
                        Err(error) => failed(error),
                    }
                }
                s => failed(format!("{url} answered HTTP {s}")),
            };
        }
    }

    /// Reads the body chunk by chunk, refusing to hold more than `max_body` bytes.
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        progress: &mut Progress,
    ) -> Result<Vec<u8>, String> {
        let url = progress.url.clone();
        let too_big = || {
            format!(
                "{url} sent a body larger than {} bytes (the max_body limit)",
                self.max_body
            )
        };
        let declared = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // Content-Length counts compressed bytes, so it only bounds the first allocation.
        let mut body = Vec::with_capacity(declared.unwrap_or(0).min(self.max_body) as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    progress.bytes += chunk.len() as u64;
                    if body.len() as u64 + chunk.len() as u64 > self.max_body {
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

/// A reqwest error as one sentence naming what failed: "cannot connect to URL: reason".
fn describe(url: &url::Url, e: &reqwest::Error) -> String {
    let what = if e.is_connect() {
        format!("cannot connect to {url}")
    } else if e.is_timeout() {
        format!("{url} timed out")
    } else if e.is_body() || e.is_decode() {
        format!("cannot read the body of {url}")
    } else {
        format!("cannot fetch {url}")
    };
    // The innermost cause is the one that explains ("Connection refused", "certificate
    // expired"); the layers between are reqwest/hyper plumbing.
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    let why = root.to_string();
    if why.is_empty() || std::ptr::addr_eq(root, e as &dyn std::error::Error) {
        what
    } else {
        format!("{what}: {why}")
    }
}
