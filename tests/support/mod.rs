//! Helpers shared by the CLI integration tests: temp config folders and a tiny HTTP server
//! on 127.0.0.1 serving fixed documents.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;

/// A temp folder with a feeds.toml in it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// A folder whose feeds.toml holds `config`.
    pub fn with_config(config: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("feeds.toml"), config).unwrap();
        Workspace { dir }
    }

    /// The config path.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("feeds.toml")
    }

    /// The config file's text now.
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.config()).unwrap()
    }

    /// `tributary --config <this> ARGS`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("tributary").unwrap();
        c.arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("TRIBUTARY_CONFIG");
        c
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// An HTTP server on 127.0.0.1 serving `path -> (content type, body)`; 404 otherwise.
/// It runs on its own thread until the process ends.
pub fn serve(routes: Vec<(&str, &str, String)>) -> String {
    let routes: Arc<HashMap<String, (String, String)>> = Arc::new(
        routes
            .into_iter()
            .map(|(p, t, b)| (p.to_string(), (t.to_string(), b)))
            .collect(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                let routes = routes.clone();
                async move {
                    match routes.get(uri.path()) {
                        Some((t, b)) => axum::response::Response::builder()
                            .header("content-type", t)
                            .body(b.clone())
                            .unwrap(),
                        None => axum::response::Response::builder()
                            .status(404)
                            .body(String::new())
                            .unwrap(),
                    }
                }
            });
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

/// The shared corpora beside the checkout, when present.
pub fn shared_corpora() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    p.is_dir().then_some(p)
}

/// A small RSS document with `n` items.
pub fn rss(title: &str, n: usize) -> String {
    let items: String = (0..n)
        .map(|i| format!("<item><title>Item {i}</title><link>https://news.example/{i}</link><guid>https://news.example/{i}</guid></item>"))
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title><link>https://news.example/</link><description>d</description>{items}</channel></rss>"
    )
}
