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
use crate::store::{
    MergedCopy, MergedStory, MergedVersion, Position, Store, StoreError, StoryFilter,
};

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
    /// Where the next page of older stories starts, when there are older stories.
    pub older: Option<Position>,
    /// Every tag in feeds.toml, sorted: the river page's filters.
    pub tags: Vec<String>,
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

/// The store filter for `query`, or NotFound when it names an unknown feed or tag. It
/// selects one story more than the page shows: whether there is an older page is part of
/// the document (its next link), so of its version too.
pub fn filter_for(store: &Store, query: &FeedQuery) -> Result<StoryFilter, LoadError> {
    let mut filter = StoryFilter {
        search: query.q.clone(),
        before: query.before,
        limit: query.limit.saturating_add(1),
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
    let mut stories = store.merged_stories(&filter)?;
    let older = if stories.len() > query.limit {
        stories.truncate(query.limit);
        stories.last().map(MergedStory::position)
    } else {
        None
    };
    let updated = match stories.iter().map(|s| s.last_changed).max() {
        Some(t) => t,
        None => store.newest_feed_created()?.unwrap_or_default(),
    };
    let mut tags: Vec<String> = config
        .feeds
        .iter()
        .flat_map(|f| f.tags.iter().cloned())
        .collect();
    tags.sort();
    tags.dedup();
    Ok(Document {
        title: feed_title(config, query),
        base_url: base_url(config),
        query: query.clone(),
        updated,
        stories: stories.iter().map(|s| story(&instance, s)).collect(),
        older,
        instance,
        tags,
    })
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
    if let Some(search) = &query.q {
        parts.push(format!("search: {search}"));
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
        let mut u = self
            .base_url
            .join(path)
            .unwrap_or_else(|_| self.base_url.clone());
        let q = self.query.to_query_string();
        u.set_query((!q.is_empty()).then_some(q.as_str()));
        u.to_string()
    }

    /// The URL of the page of older stories in `path` form, when there is one: RFC 5005's
    /// `next` link, JSON Feed's `next_url`, the river's "Older stories".
    pub fn older_url_of(&self, path: &str) -> Option<String> {
        let before = self.older?;
        let mut u = self
            .base_url
            .join(path)
            .unwrap_or_else(|_| self.base_url.clone());
        let q = FeedQuery {
            before: Some(before),
            ..self.query.clone()
        }
        .to_query_string();
        u.set_query(Some(&q));
        Some(u.to_string())
    }

    /// The id of the document itself: stable for the database and the filter, the same
    /// on every page.
    pub fn feed_id(&self) -> String {
        let mut id = format!("urn:tributary:{}:feed", self.instance);
        let q = self.query.first_page().to_query_string();
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
