//! The tests' HTTP server: HTTP/1.1 written by hand on a `std::net::TcpListener` bound to
//! a loopback address (127.0.0.1, or another of 127.0.0.0/8 to stand for "another host"),
//! a thread per connection, every answer closing its connection. Written by hand so a
//! path can misbehave in ways a framework would not let it: bodies that never end, binary
//! data as HTML, a 200 MB stream. Each path answers as routed (404 otherwise); every
//! request is recorded with its validators, and the server counts connections and the
//! requests in flight.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// A status, headers and a body of known length, sent as they are.
    Fixed {
        status: u16,
        headers: Vec<(String, String)>,
        body: Arc<Vec<u8>>,
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
    /// A redirect to `to` (absolute or relative).
    Redirect { code: u16, to: String },
    /// 200 streaming this many bytes of filler, 64 KiB at a time.
    Huge(usize),
    /// 200 `text/html` that sends `<html><body><p>`, then one byte every `every`, `count`
    /// times (or until the client hangs up).
    Drip { every: Duration, count: usize },
    /// The body, 200, after a delay (so that concurrent requests overlap).
    Slow { delay: Duration, body: String },
}

/// 200 `text/html; charset=utf-8` with `body`.
pub fn html(body: String) -> Reply {
    typed("text/html; charset=utf-8", body.into_bytes())
}

/// 200 with `body` as `content_type`.
pub fn typed(content_type: &str, body: Vec<u8>) -> Reply {
    Reply::Fixed {
        status: 200,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: Arc::new(body),
    }
}

/// A bare `code` with `headers`.
pub fn status(code: u16, headers: &[(&str, &str)]) -> Reply {
    Reply::Status {
        code,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A 302 to `to`.
pub fn redirect(to: &str) -> Reply {
    Reply::Redirect {
        code: 302,
        to: to.into(),
    }
}

/// A feed document with an ETag and a Last-Modified (so a second poll gets a 304).
pub fn feed(body: String) -> Reply {
    Reply::Feed {
        body,
        etag: Some("\"v1\"".into()),
        last_modified: Some("Mon, 14 Jul 2025 12:00:00 GMT".into()),
        headers: vec![],
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The query string, without the `?`.
    pub query: String,
    /// The request body (a POST's form), as text.
    pub body: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub accept_encoding: Option<String>,
    /// The status it was answered with.
    pub status: u16,
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    seen: Mutex<Vec<Seen>>,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    huge_sent: AtomicUsize,
}

/// The running server; it serves until the test process ends.
#[derive(Clone)]
pub struct TestServer {
    /// `http://IP:PORT`.
    pub base: String,
    shared: Arc<Shared>,
}

impl TestServer {
    /// A server on 127.0.0.1.
    pub fn start() -> TestServer {
        TestServer::start_on("127.0.0.1")
    }

    /// A server on `ip` (an address of 127.0.0.0/8), on a free port.
    pub fn start_on(ip: &str) -> TestServer {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let server = TestServer {
            base: format!("http://{}", listener.local_addr().unwrap()),
            shared: Arc::default(),
        };
        let shared = server.shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = shared.clone();
                std::thread::spawn(move || handle(&shared, conn));
            }
        });
        server
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Makes `path` answer with `reply` from now on.
    pub fn route(&self, path: &str, reply: Reply) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), reply);
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Requests for `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        let seen = self.shared.seen.lock().unwrap();
        seen.iter().filter(|s| s.path == path).count()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests received and not yet answered (a [`Reply::Slow`] counts until its delay
    /// ends).
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Bytes of [`Reply::Huge`] bodies the client has taken so far.
    pub fn huge_sent(&self) -> usize {
        self.shared.huge_sent.load(Ordering::SeqCst)
    }
}

/// One request: its method, target, headers (names lowercased) and body (up to 64 KiB, by
/// `Content-Length`), or None when the client closed the connection or sent no complete head.
struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(s: &mut TcpStream) -> Option<Request> {
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        if head.len() > 64 * 1024 {
            return None;
        }
    };
    let mut body = head.split_off(end + 4);
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split_whitespace();
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0)
        .min(64 * 1024);
    while body.len() < length {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(length);
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

fn handle(shared: &Shared, mut s: TcpStream) {
    let Some(Request {
        method,
        target,
        headers,
        body,
    }) = read_request(&mut s)
    else {
        return;
    };
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let mut seen = Seen {
        method,
        path: path.clone(),
        query,
        body: String::from_utf8_lossy(&body).into_owned(),
        if_none_match: headers.get("if-none-match").cloned(),
        if_modified_since: headers.get("if-modified-since").cloned(),
        accept_encoding: headers.get("accept-encoding").cloned(),
        status: 404,
    };
    let reply = shared.routes.lock().unwrap().get(&path).cloned();
    let reply = reply.unwrap_or(Reply::Status {
        code: 404,
        headers: vec![],
    });
    // What to send: a status, headers and a body, or a stream written below.
    let (code, headers, body): (u16, Vec<(String, String)>, Vec<u8>) = match reply {
        Reply::Feed {
            body,
            etag,
            last_modified,
            headers,
        } => {
            let fresh = (etag.is_some() && seen.if_none_match == etag)
                || (etag.is_none()
                    && last_modified.is_some()
                    && seen.if_modified_since == last_modified);
            let mut h = headers;
            h.extend(etag.map(|e| ("ETag".to_string(), e)));
            h.extend(last_modified.map(|l| ("Last-Modified".to_string(), l)));
            if fresh {
                (304, h, Vec::new())
            } else {
                (200, h, body.into_bytes())
            }
        }
        Reply::Fixed {
            status,
            headers,
            body,
        } => (status, headers, body.to_vec()),
        Reply::Gzip(body) => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(body.as_bytes()).unwrap();
            let h = vec![("Content-Encoding".into(), "gzip".into())];
            (200, h, enc.finish().unwrap())
        }
        Reply::Brotli(body) => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(body.as_bytes()).unwrap();
            }
            (200, vec![("Content-Encoding".into(), "br".into())], out)
        }
        Reply::Status { code, headers } => (code, headers, Vec::new()),
        Reply::Redirect { code, to } => (code, vec![("Location".into(), to)], Vec::new()),
        Reply::Slow { delay, body } => {
            std::thread::sleep(delay);
            (200, vec![], body.into_bytes())
        }
        Reply::Huge(total) => {
            seen.status = 200;
            answered(shared, seen);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let chunk = vec![b'x'; 64 * 1024];
            let mut done = 0;
            while done < total && s.write_all(&chunk).is_ok() {
                shared.huge_sent.fetch_add(chunk.len(), Ordering::SeqCst);
                done += chunk.len();
            }
            return;
        }
        Reply::Drip { every, count } => {
            seen.status = 200;
            answered(shared, seen);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><body><p>",
            );
            // Until the client hangs up or `count` bytes (a safety stop after five minutes).
            let stop = Instant::now() + Duration::from_secs(300);
            for _ in 0..count {
                std::thread::sleep(every);
                if Instant::now() > stop || s.write_all(b"x").is_err() {
                    break;
                }
            }
            return;
        }
    };
    seen.status = code;
    answered(shared, seen);
    let mut head = format!(
        "HTTP/1.1 {code} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(code),
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    // A client that stops reading (a body over its limit) is in its right.
    let _ = s
        .write_all(head.as_bytes())
        .and_then(|()| s.write_all(&body));
}

/// Records the request and ends its time in flight (before the answer is written, so a
/// client that has its answer never sees it still counted).
fn answered(shared: &Shared, seen: Seen) {
    shared.seen.lock().unwrap().push(seen);
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Other",
    }
}
