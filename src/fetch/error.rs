//! How a fetch can fail, as a type: each way its own variant, so the schedule stage, the
//! metrics and `feeds list` can count failures by kind ([`FetchError::kind`]) while the
//! log and `feeds list` keep showing the one sentence each variant displays.

use std::time::Duration;

use crate::model::FailureKind;

/// What a failed transfer was doing when it failed (for [`FetchError::Transport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportStage {
    /// Resolving the name or connecting (TCP, TLS).
    Connect,
    /// The HTTP client's own timeout fired.
    TimedOut,
    /// Reading or decoding the body.
    Body,
    /// Anything else on the way.
    Other,
}

/// Why a fetch of a feed or an article page yielded no document.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// No complete answer within the total timeout, however slowly bytes came.
    #[error("{url} gave no complete answer within {} s (the fetch timeout)", limit.as_secs_f64())]
    Timeout {
        /// The URL being fetched when time ran out.
        url: url::Url,
        /// The timeout.
        limit: Duration,
    },
    /// The body grew past the size limit; reading stopped there.
    #[error("{url} sent a body larger than {limit} bytes (the max_body limit)")]
    TooLarge {
        /// The URL whose body it was.
        url: url::Url,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A redirect to a URL already visited in this fetch.
    #[error("redirect loop: {url} leads back to {next}")]
    RedirectLoop {
        /// The URL that redirected.
        url: url::Url,
        /// Where it redirected, visited before (boxed: two URLs would make every
        /// `Result<_, FetchError>` twice as large).
        next: Box<url::Url>,
    },
    /// More redirects than [`MAX_REDIRECTS`](super::policy::MAX_REDIRECTS).
    #[error("more than {limit} redirects starting at {start}")]
    TooManyRedirects {
        /// The URL the fetch started at.
        start: url::Url,
        /// The limit.
        limit: usize,
    },
    /// A redirect status without a `Location` that leads to an http(s) URL.
    #[error("{url} answered HTTP {status} without a usable Location")]
    BadRedirect {
        /// The URL that answered.
        url: url::Url,
        /// Its status.
        status: reqwest::StatusCode,
    },
    /// A status that is not a document, a redirect, 304, 410 or a rate limit.
    #[error("{url} answered HTTP {status}")]
    HttpStatus {
        /// The URL that answered.
        url: url::Url,
        /// Its status.
        status: reqwest::StatusCode,
    },
    /// The transfer failed: the name, the connection, TLS, or the body on the way.
    #[error("{}", transport_sentence(url, *stage, cause.as_deref()))]
    Transport {
        /// The URL being fetched.
        url: url::Url,
        /// What the transfer was doing.
        stage: TransportStage,
        /// The innermost cause, which is the one that explains ("Connection refused",
        /// "certificate expired"), when there is one.
        cause: Option<String>,
    },
    /// Not requested: the link leads where the fetch stage must not go (an article page on
    /// a private network, or not an http(s) URL).
    #[error("{reason}")]
    Refused {
        /// One sentence naming the address and its kind.
        reason: String,
    },
    /// 410 Gone (for a page, or a plain GET; a feed's 410 is an outcome of its own).
    #[error("{url} answered 410 Gone")]
    Gone {
        /// The URL that answered.
        url: url::Url,
    },
    /// 429/503 with `Retry-After`, to a plain GET (a poll's is an outcome of its own).
    #[error("{url} is rate limiting us: it asks to retry in {} s", retry_after.as_secs())]
    RateLimited {
        /// The URL requested.
        url: url::Url,
        /// How long it asked us to wait.
        retry_after: Duration,
    },
    /// 304 to a request that sent no validators.
    #[error("{url} answered 304 Not Modified to a plain request")]
    UnexpectedNotModified {
        /// The URL requested.
        url: url::Url,
    },
    /// The HTTP client could not be built from the settings.
    #[error("cannot set up the HTTP client{what}: {error}")]
    Client {
        /// Which client ("" for the feeds', " for article pages").
        what: &'static str,
        /// reqwest's reason.
        error: std::sync::Arc<reqwest::Error>,
    },
}

/// The sentence of a [`FetchError::Transport`]: "cannot connect to URL: reason".
fn transport_sentence(url: &url::Url, stage: TransportStage, cause: Option<&str>) -> String {
    let what = match stage {
        TransportStage::Connect => format!("cannot connect to {url}"),
        TransportStage::TimedOut => format!("{url} timed out"),
        TransportStage::Body => format!("cannot read the body of {url}"),
        TransportStage::Other => format!("cannot fetch {url}"),
    };
    match cause {
        Some(why) => format!("{what}: {why}"),
        None => what,
    }
}

impl FetchError {
    /// The class of the failure, for `feeds list` and the metrics.
    pub fn kind(&self) -> FailureKind {
        match self {
            FetchError::Timeout { .. }
            | FetchError::Transport {
                stage: TransportStage::TimedOut,
                ..
            } => FailureKind::Timeout,
            FetchError::TooLarge { .. } => FailureKind::TooLarge,
            FetchError::RedirectLoop { .. } => FailureKind::RedirectLoop,
            FetchError::TooManyRedirects { .. } => FailureKind::TooManyRedirects,
            FetchError::BadRedirect { .. } => FailureKind::BadRedirect,
            FetchError::HttpStatus { .. } | FetchError::UnexpectedNotModified { .. } => {
                FailureKind::HttpStatus
            }
            FetchError::Transport { .. } => FailureKind::Transport,
            FetchError::Refused { .. } => FailureKind::Refused,
            FetchError::Gone { .. } => FailureKind::Gone,
            FetchError::RateLimited { .. } => FailureKind::RateLimited,
            FetchError::Client { .. } => FailureKind::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    /// The sentences users saw in `feeds list` before the errors had a type stay the same.
    #[test]
    fn each_failure_keeps_its_one_sentence() {
        let u = url("https://a.example/rss");
        let cases = [
            (
                FetchError::Timeout {
                    url: u.clone(),
                    limit: Duration::from_millis(1500),
                },
                "https://a.example/rss gave no complete answer within 1.5 s (the fetch timeout)",
                FailureKind::Timeout,
            ),
            (
                FetchError::TooLarge {
                    url: u.clone(),
                    limit: 100,
                },
                "https://a.example/rss sent a body larger than 100 bytes (the max_body limit)",
                FailureKind::TooLarge,
            ),
            (
                FetchError::HttpStatus {
                    url: u.clone(),
                    status: reqwest::StatusCode::NOT_FOUND,
                },
                "https://a.example/rss answered HTTP 404 Not Found",
                FailureKind::HttpStatus,
            ),
            (
                FetchError::Transport {
                    url: u.clone(),
                    stage: TransportStage::Connect,
                    cause: Some("Connection refused (os error 111)".into()),
                },
                "cannot connect to https://a.example/rss: Connection refused (os error 111)",
                FailureKind::Transport,
            ),
            (
                FetchError::Transport {
                    url: u.clone(),
                    stage: TransportStage::Other,
                    cause: None,
                },
                "cannot fetch https://a.example/rss",
                FailureKind::Transport,
            ),
            (
                FetchError::TooManyRedirects {
                    start: u.clone(),
                    limit: 5,
                },
                "more than 5 redirects starting at https://a.example/rss",
                FailureKind::TooManyRedirects,
            ),
        ];
        for (error, sentence, kind) in cases {
            assert_eq!(error.to_string(), sentence);
            assert_eq!(error.kind(), kind);
        }
    }
}
