//! The fetch stage: getting a feed's bytes over HTTP.

pub mod discover;

use std::time::Duration;

use anyhow::{Context, Result};

/// A fetched document and what the server said about it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL the body came from, after redirects.
    pub url: url::Url,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A plain GET with a total timeout and a body limit: enough for `feeds add` to look at a
/// URL before it is added.
pub async fn get_once(
    url: &url::Url,
    timeout: Duration,
    max_body: u64,
    user_agent: &str,
) -> Result<Fetched> {
    let client = reqwest::Client::builder()
        .user_agent(user_agent)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .context("cannot set up the HTTP client")?;
    let mut resp = client
        .get(url.clone())
        .send()
        .await
        .with_context(|| format!("cannot fetch {url}"))?;
    let status = resp.status();
    if !status.is_success() {
        anyhow::bail!("{url} answered HTTP {status}");
    }
    let final_url = resp.url().clone();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .with_context(|| format!("cannot read the body of {url}"))?
    {
        if body.len() as u64 + chunk.len() as u64 > max_body {
            anyhow::bail!("{url} sent more than {max_body} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        url: final_url,
        content_type,
        body,
    })
}
