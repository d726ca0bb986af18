//! Telling a WebSub hub that a topic changed: the publisher's ping
//! (`POST hub.mode=publish&hub.url=TOPIC`, the convention of PubSubHubbub 0.4 hubs, which
//! the WebSub recommendation leaves to the hub). The hub then fetches the topic and pushes
//! it to its subscribers. The hub is the operator's choice (`[server].websub_hub`), so the
//! request goes through the feed client, not the article-page guard.

use super::{FetchError, Fetcher, describe};

impl Fetcher {
    /// Tells `hub` that `topic` changed. Any 2xx is success (hubs answer 204 or 202);
    /// redirects are not followed, a hub that moved is the operator's to fix.
    pub async fn publish(&self, hub: &url::Url, topic: &str) -> Result<(), FetchError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.mode", "publish")
            .append_pair("hub.url", topic)
            .finish();
        let sent = self
            .client
            .post(hub.clone())
            .timeout(self.timeout)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(FetchError::HttpStatus {
                url: hub.clone(),
                status: r.status(),
            }),
            Err(e) if e.is_timeout() => Err(FetchError::Timeout {
                url: hub.clone(),
                limit: self.timeout,
            }),
            Err(e) => Err(describe(hub, &e)),
        }
    }
}
