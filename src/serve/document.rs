//! What a merged-feed document says, independent of its format: the stories a query selects,
//! read from the store and made safe to publish. The renderers (`render/`) turn one
//! [`Document`] into Atom, RSS, JSON Feed or the river page; the server and `export` both
//! build it here, so they write the same bytes for the same query.

use chrono::{DateTime, Utc};

use super::policy::{MAX_CATEGORIES, MAX_SUMMARY_CHARS};
use super::query::FeedQuery;
use super::safe;
use crate::config::{Config, normalize_feed_url};
use crate::markup::chars::text_chars;
use crate::markup::escape;
use crate::markup::whitespace::one_line;
use crate::store::{MergedCopy, MergedStory, MergedVersion, Store, StoreError, StoryFilter};

/// A merged-feed document ready to render.
#[derive(Debug, Clone)]
pub struct Document {
    /// The feed's title (`[server].title`, plus the filter when there is one).
    pub title: String,
    /// Where the server is reachable (`[server].base_url`, ending in `/`).
    pub base_url: url::Url,
    /// The database's instance id: part of every entry id.
    pub instance: String,
    /// The query that selected the stories.
    pub query: FeedQuery,
    /// The latest change among the stories (or when the newest feed was added, for none).
    pub updated: DateTime<Utc>,
    /// The stories, newest first.
    pub stories: Vec<Story>,
    /// Every tag in feeds.toml, sorted: the river page's filters.
    pub tags: Vec<String>,
    /// The WebSub hub the document advertises (`[server].websub_hub`), when the daemon
    /// pings it for this query ([`FeedQuery::is_websub_topic`]).
    pub hub: Option<url::Url>,
}

/// One story of a document: the representative copy's words, and the outlets.
#[derive(Debug, Clone)]
pub struct Story {
    /// The stable entry id: `urn:tributary:{instance}:story:{id}`.
    pub id: String,
    /// The representative's title, one line, XML-safe, of bounded length.
    pub title: String,
    /// The representative's URL, when it is an absolute http(s) URL.
    pub link: Option<url::Url>,
    /// The representative's authors, else its outlet.
    pub authors: Vec<String>,
    /// The union of the copies' categories.
    pub categories: Vec<String>,
    /// The story's first publication time (what the feed is ordered by).
    pub published: DateTime<Utc>,
    /// When the story last changed.
    pub updated: DateTime<Utc>,
    /// The representative copy.
    pub representative: Copy,
    /// The other copies, oldest first.
    pub others: Vec<Copy>,
    /// The representative's stored HTML body (content, else summary), not yet re-sanitised.
    body: String,
    /// The representative's stored summary (else body), for the river page's excerpt.
    summary: String,
}

/// One outlet's copy of a story.
#[derive(Debug, Clone)]
pub struct Copy {
    /// The outlet's name.
    pub outlet: String,
    /// The outlet's feed URL.
    pub feed_url: String,
    /// The outlet's website.
    pub site_url: Option<url::Url>,
    /// The copy's URL, when it is an absolute http(s) URL.
    pub url: Option<url::Url>,
    /// The copy's title, one line.
    pub title: String,
    /// Its publication time.
    pub published: DateTime<Utc>,
    /// Its update time, when given.
    pub updated: Option<DateTime<Utc>>,
}

/// Why a document could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The query names a feed or tag that does not exist (a 404 with this reason).
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The renderer failed.
    #[error(transparent)]
    Render(#[from] super::render::RenderError),
}

/// The store filter for `query`, or NotFound when it names an unknown feed or tag.
pub fn filter_for(store: &Store, query: &FeedQuery) -> Result<StoryFilter, LoadError> {
    let mut filter = StoryFilter {
        limit: query.limit,
        ..Default::default()
    };
    if let Some(tag) = &query.tag {
        if !store.tag_exists(tag)? {
            return Err(LoadError::NotFound(format!("no feed has the tag {tag:?}")));
        }
        filter.tag = Some(tag.clone());
    }
    if let Some(feed) = &query.feed {
        let url = url::Url::parse(feed).ok().map(|u| normalize_feed_url(&u));
        let ids = store.feed_ids_named(feed, url.as_deref())?;
        if ids.is_empty() {
            return Err(LoadError::NotFound(format!("no feed named {feed:?}")));
        }
        filter.feeds = Some(ids);
    }
    Ok(filter)
}

/// What the validators of the document for `query` derive from, without reading article
/// text: the version of the selection in the store.
pub fn version(store: &Store, query: &FeedQuery) -> Result<MergedVersion, LoadError> {
    Ok(store.merged_version(&filter_for(store, query)?)?)
}

/// Reads the stories `query` selects and prepares them for rendering.
pub fn load(store: &Store, config: &Config, query: &FeedQuery) -> Result<Document, LoadError> {
    let filter = filter_for(store, query)?;
    let instance = store.instance_id()?;
    let stories = store.merged_stories(&filter)?;
    let updated = match stories.iter().map(|s| s.last_changed).max() {
        Some(t) => t,
        None => store.newest_feed_created()?.unwrap_or_default(),
    };
    Ok(Document {
        title: feed_title(config, query),
        base_url: base_url(config),
        query: query.clone(),
        updated,
        stories: stories.iter().map(|s| story(&instance, s)).collect(),
        instance,
        tags: tags(config),
        hub: config
            .server
            .websub_hub
            .as_ref()
            .filter(|_| query.is_websub_topic())
            .map(|h| h.0.clone()),
    })
}

/// `path` under `base` with `query`'s canonical query string: a document's self link.
fn url_of(base: &url::Url, path: &str, query: &FeedQuery) -> String {
    let mut u = base.join(path).unwrap_or_else(|_| base.clone());
    let q = query.to_query_string();
    u.set_query((!q.is_empty()).then_some(q.as_str()));
    u.to_string()
}

/// Every tag in feeds.toml, sorted and once each.
pub fn tags(config: &Config) -> Vec<String> {
    let mut tags: Vec<String> = config
        .feeds
        .iter()
        .flat_map(|f| f.tags.iter().cloned())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// The self URLs of every document that advertises the hub: what the daemon tells
/// `[server].websub_hub` changed after a commit that changed the merged feed. Built as the
/// documents build their self links, so a topic is byte for byte the self link a subscriber
/// found.
pub fn websub_topics(config: &Config) -> Vec<String> {
    let queries =
        std::iter::once(FeedQuery::default()).chain(tags(config).into_iter().map(|tag| {
            FeedQuery {
                tag: Some(tag),
                ..FeedQuery::default()
            }
        }));
    let base = base_url(config);
    let mut topics = Vec::new();
    for query in queries {
        for format in super::render::Format::FEEDS {
            topics.push(url_of(&base, format.path(), &query));
        }
    }
    topics
}

/// `[server].base_url` with a trailing slash, so relative joins stay under its path.
fn base_url(config: &Config) -> url::Url {
    let mut u = config.server.base_url.0.clone();
    if !u.path().ends_with('/') {
        let path = format!("{}/", u.path());
        u.set_path(&path);
    }
    u.set_query(None);
    u.set_fragment(None);
    u
}

fn feed_title(config: &Config, query: &FeedQuery) -> String {
    let mut parts = vec![config.server.title.trim().to_string()];
    if let Some(tag) = &query.tag {
        parts.push(format!("tag {tag}"));
    }
    if let Some(feed) = &query.feed {
        parts.push(feed.clone());
    }
    safe::title(&parts.join(" — "))
}

fn copy(c: &MergedCopy) -> Copy {
    Copy {
        outlet: safe::title(&c.outlet),
        feed_url: text_chars(&c.feed_url).into_owned(),
        site_url: safe::http_url(c.site_url.as_deref()),
        url: safe::http_url(c.url.as_deref()),
        title: safe::title(&c.title),
        published: c.published,
        updated: c.updated,
    }
}

fn story(instance: &str, s: &MergedStory) -> Story {
    let rep = &s.representative;
    let representative = copy(rep);
    let mut authors: Vec<String> = rep
        .authors
        .iter()
        .map(|a| one_line(&text_chars(a)))
        .filter(|a| !a.is_empty())
        .collect();
    if authors.is_empty() {
        authors.push(representative.outlet.clone());
    }
    let mut categories: Vec<String> = Vec::new();
    for term in std::iter::once(rep)
        .chain(&s.others)
        .flat_map(|c| &c.categories)
    {
        let term = safe::title(term);
        if categories.len() < MAX_CATEGORIES
            && !categories.iter().any(|t| t.eq_ignore_ascii_case(&term))
        {
            categories.push(term);
        }
    }
    let body = rep
        .content_html
        .as_deref()
        .filter(|h| !h.trim().is_empty())
        .or(rep.summary_html.as_deref())
        .unwrap_or_default()
        .to_string();
    let summary = rep
        .summary_html
        .as_deref()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or(&body)
        .to_string();
    Story {
        id: format!("urn:tributary:{instance}:story:{}", s.id),
        title: representative.title.clone(),
        link: representative.url.clone(),
        authors,
        categories,
        published: s.first_published,
        updated: s.last_changed,
        others: s.others.iter().map(copy).collect(),
        representative,
        body,
        summary,
    }
}

impl Document {
    /// The absolute URL of this document in `path` form (`feed.atom`, `feed.rss`, ...),
    /// with the query: the self link.
    pub fn url_of(&self, path: &str) -> String {
        url_of(&self.base_url, path, &self.query)
    }

    /// The id of the document itself: stable for the database and the filter.
    pub fn feed_id(&self) -> String {
        let mut id = format!("urn:tributary:{}:feed", self.instance);
        let filter = FeedQuery {
            limit: super::policy::DEFAULT_LIMIT,
            ..self.query.clone()
        };
        let q = filter.to_query_string();
        if !q.is_empty() {
            id.push('?');
            id.push_str(&q);
        }
        id
    }
}

impl Story {
    /// The representative's sanitised HTML, ending with the other outlets, each linked.
    pub fn content_html(&self) -> String {
        let mut html = safe::clean_html(&self.body, self.link.as_ref());
        if !self.others.is_empty() {
            let links: Vec<String> = self
                .others
                .iter()
                .map(|c| match &c.url {
                    Some(u) => format!(
                        "<a href=\"{}\">{}</a>",
                        escape::attribute(u.as_str()),
                        escape::text(&c.outlet)
                    ),
                    None => escape::text(&c.outlet).into_owned(),
                })
                .collect();
            html.push_str(&format!("<p>Also carried by {}.</p>", links.join(", ")));
        }
        html
    }

    /// A plain-text excerpt of the representative's summary, `max` characters at most.
    pub fn excerpt(&self, max: usize) -> String {
        safe::excerpt(&self.summary, max)
    }

    /// The representative's summary as plain text (at most [`MAX_SUMMARY_CHARS`]), when it
    /// is not the content itself: a feed's description beside the full text of its page
    /// or of the feed.
    pub fn summary_text(&self) -> Option<String> {
        (self.summary != self.body)
            .then(|| safe::excerpt(&self.summary, MAX_SUMMARY_CHARS))
            .filter(|s| !s.is_empty())
    }
}
