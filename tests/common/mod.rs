//! A feed server for tests, bound to 127.0.0.1 on a free port: each path answers as told
//! (a feed with validators, compressed bodies, statuses, redirects, huge or dripping
//! bodies, slow answers), and every request is recorded, with the peak number in flight.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// How a path answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with the body and validators; 304 when the request's validators match.
    Feed {
        body: String,
        etag: Option<String>,
        last_modified: Option<String>,
        headers: Vec<(String, String)>,
    },
    /// 200 with the body gzip-compressed.
    Gzip(String),
    /// 200 with the body brotli-compressed.
    Brotli(String),
    /// A bare status with headers.
    Status {
        code: u16,
        headers: Vec<(String, String)>,
    },
    /// A redirect.
    Redirect { code: u16, to: String },
    /// 200 streaming this many bytes of XML-ish filler.
    Huge(usize),
    /// 200 sending one byte every `every`, `count` times.
    Drip { every: Duration, count: usize },
    /// The body after a delay (so concurrent requests overlap).
    Slow { delay: Duration, body: String },
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub accept_encoding: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    seen: Mutex<Vec<Seen>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    huge_sent: Arc<AtomicUsize>,
}

/// The running server.
#[derive(Clone)]
pub struct TestServer {
    pub base: String,
    shared: Arc<Shared>,
}

impl TestServer {
    /// Starts on its own runtime thread, so it serves sync tests and tokio tests alike.
    pub fn start() -> TestServer {
        let shared = Arc::new(Shared::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let state = shared.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(answer).with_state(state);
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = rx.recv().unwrap();
        TestServer {
            base: format!("http://{addr}"),
            shared,
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Makes `path` answer with `reply`.
    pub fn route(&self, path: &str, reply: Reply) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), reply);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Requests for `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }

    /// The most requests ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Bytes of [`Reply::Huge`] bodies produced so far.
    pub fn huge_sent(&self) -> usize {
        self.shared.huge_sent.load(Ordering::SeqCst)
    }
}

/// An RSS document with `n` items whose GUIDs start with `prefix`.
pub fn rss(title: &str, prefix: &str, n: usize, extra_channel: &str) -> String {
    let items: String = (0..n)
        .map(|k| {
            format!(
                "<item><title>{prefix} story {k} about the harbour</title>\
                 <link>https://{prefix}.example/{k}</link><guid>{prefix}-{k}</guid>\
                 <pubDate>Mon, 14 Jul 2025 10:{k:02}:00 GMT</pubDate>\
                 <description>{prefix} reports item {k}: the council approved the plan.</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title>\
         <link>https://{prefix}.example/</link><description>d</description>{extra_channel}{items}</channel></rss>"
    )
}

/// A feed reply with an ETag and Last-Modified.
pub fn feed(body: String) -> Reply {
    Reply::Feed {
        body,
        etag: Some("\"v1\"".into()),
        last_modified: Some("Mon, 14 Jul 2025 12:00:00 GMT".into()),
        headers: vec![],
    }
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn answer(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(shared.clone());
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    drop(req);
    let h = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut seen = Seen {
        path: path.clone(),
        if_none_match: h(header::IF_NONE_MATCH),
        if_modified_since: h(header::IF_MODIFIED_SINCE),
        accept_encoding: h(header::ACCEPT_ENCODING),
        status: 404,
    };
    let reply = shared.routes.lock().unwrap().get(&path).cloned();
    let response = match reply {
        None => status(404, &[]),
        Some(Reply::Feed {
            body,
            etag,
            last_modified,
            headers,
        }) => {
            let fresh = (etag.is_some() && seen.if_none_match == etag)
                || (etag.is_none()
                    && last_modified.is_some()
                    && seen.if_modified_since == last_modified);
            let mut r = if fresh {
                status(304, &[])
            } else {
                Response::new(Body::from(body))
            };
            if let Some(e) = etag {
                r.headers_mut()
                    .insert(header::ETAG, HeaderValue::from_str(&e).unwrap());
            }
            if let Some(l) = last_modified {
                r.headers_mut()
                    .insert(header::LAST_MODIFIED, HeaderValue::from_str(&l).unwrap());
            }
            add_headers(&mut r, &headers);
            r
        }
        Some(Reply::Gzip(body)) => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(body.as_bytes()).unwrap();
            let mut r = Response::new(Body::from(enc.finish().unwrap()));
            add_headers(&mut r, &[("content-encoding".into(), "gzip".into())]);
            r
        }
        Some(Reply::Brotli(body)) => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(body.as_bytes()).unwrap();
            }
            let mut r = Response::new(Body::from(out));
            add_headers(&mut r, &[("content-encoding".into(), "br".into())]);
            r
        }
        Some(Reply::Status { code, headers }) => status(code, &headers),
        Some(Reply::Redirect { code, to }) => status(code, &[("location".into(), to)]),
        Some(Reply::Huge(total)) => {
            let sent = shared.huge_sent.clone();
            let chunk = vec![b'x'; 64 * 1024];
            let stream = futures_util::stream::unfold(0usize, move |done| {
                let chunk = chunk.clone();
                let sent = sent.clone();
                async move {
                    if done >= total {
                        return None;
                    }
                    sent.fetch_add(chunk.len(), Ordering::SeqCst);
                    Some((
                        Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)),
                        done + 64 * 1024,
                    ))
                }
            });
            Response::new(Body::from_stream(stream))
        }
        Some(Reply::Drip { every, count }) => {
            let stream = futures_util::stream::unfold(0usize, move |n| async move {
                if n >= count {
                    return None;
                }
                tokio::time::sleep(every).await;
                Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b" ")),
                    n + 1,
                ))
            });
            Response::new(Body::from_stream(stream))
        }
        Some(Reply::Slow { delay, body }) => {
            tokio::time::sleep(delay).await;
            Response::new(Body::from(body))
        }
    };
    seen.status = response.status().as_u16();
    shared.seen.lock().unwrap().push(seen);
    response
}

fn status(code: u16, headers: &[(String, String)]) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(code).unwrap();
    add_headers(&mut r, headers);
    r
}

fn add_headers(r: &mut Response, headers: &[(String, String)]) {
    for (k, v) in headers {
        r.headers_mut().insert(
            header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
}
