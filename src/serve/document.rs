//! What a merged-feed document says, independent of its format: the stories a query selects,
//! read from the store and made safe to publish. The renderers (`render/`) turn one
//! [`Document`] into Atom, RSS, JSON Feed or the river page; the server and `export` both
//! build it here, so they write the same bytes for the same query.

use chrono::{DateTime, Utc};

use super::policy::{MAX_CATEGORIES, MAX_SUMMARY_CHARS};
use super::query::FeedQuery;
use super::safe;
use crate::config::{Config, normalize_feed_url};
use crate::dedup::wording::match_in_words;
use crate::markup::chars::text_chars;
use crate::markup::escape;
use crate::markup::whitespace::one_line;
use crate::model::MatchKind;
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
    /// The document's language: the one most of its stories declare, else `und`
    /// (undetermined).
    pub lang: String,
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
    /// The story's number (its id in the store): its page is `story/{number}`.
    pub number: i64,
    /// The absolute URL of its page, `[server].base_url` + `story/{number}`.
    pub page: url::Url,
    /// Its language tag (the representative's, from the entry or its feed), when it has a
    /// well-formed one.
    pub lang: Option<String>,
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
    /// When the story itself last changed: the newest of its copies' own publication and
    /// update times, or when its representative moved to another copy — not the time of
    /// the poll that stored it.
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
    /// Its language tag, when well-formed.
    pub lang: Option<String>,
    /// How it joined the story (the dedup stage's match kind).
    pub kind: MatchKind,
    /// The score it joined with.
    pub score: f64,
    /// The dedup rule text stored with it.
    pub rule: String,
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
    let base_url = base_url(config);
    let stories: Vec<Story> = stories
        .iter()
        .map(|s| story(&instance, &base_url, s))
        .collect();
    Ok(Document {
        title: feed_title(config, query),
        lang: most_common_lang(&stories),
        base_url,
        query: query.clone(),
        updated,
        stories,
        older,
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

/// The language most stories declare (ties: the first in alphabetical order), else `und`.
fn most_common_lang(stories: &[Story]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for lang in stories.iter().filter_map(|s| s.lang.as_deref()) {
        *counts.entry(lang).or_default() += 1;
    }
    let mut best: Option<(&str, usize)> = None;
    for (lang, n) in counts {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((lang, n));
        }
    }
    best.map_or_else(|| "und".to_string(), |(l, _)| l.to_string())
}

/// What the story page shows, or where the story went.
#[derive(Debug)]
pub enum StoryLookup {
    /// The story, ready to render.
    Found(Box<StoryPage>),
    /// The id was absorbed by a merge: the story that holds its copies now.
    Moved(i64),
    /// No story has, or had, this id.
    Missing,
}

/// One story's page: the story with every copy.
#[derive(Debug, Clone)]
pub struct StoryPage {
    /// The site's title (`[server].title`).
    pub site_title: String,
    /// The story.
    pub story: Story,
}

/// The version of story `id`'s page (its validators), or where it went.
pub fn story_version(
    store: &Store,
    id: i64,
) -> Result<Result<MergedVersion, StoryLookup>, LoadError> {
    let version = store.merged_story_version(id)?;
    if version.last_changed.is_some() {
        return Ok(Ok(version));
    }
    Ok(Err(match store.story_survivor(id)? {
        Some(to) => StoryLookup::Moved(to),
        None => StoryLookup::Missing,
    }))
}

/// Reads story `id` for its page.
pub fn load_story(store: &Store, config: &Config, id: i64) -> Result<StoryLookup, LoadError> {
    let Some(s) = store.merged_story(id)? else {
        return Ok(match store.story_survivor(id)? {
            Some(to) => StoryLookup::Moved(to),
            None => StoryLookup::Missing,
        });
    };
    let instance = store.instance_id()?;
    Ok(StoryLookup::Found(Box::new(StoryPage {
        site_title: safe::title(&config.server.title),
        story: story(&instance, &base_url(config), &s),
    })))
}

/// The absolute URL of story `id`'s page under `base` (which ends in `/`).
pub fn story_url(base: &url::Url, id: i64) -> url::Url {
    base.join(&format!("story/{id}"))
        .unwrap_or_else(|_| base.clone())
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
pub fn base_url(config: &Config) -> url::Url {
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
        lang: c.language.as_deref().and_then(safe::language),
        kind: MatchKind::parse(&c.matched).unwrap_or(MatchKind::Content),
        score: c.score,
        rule: c.thresholds.clone(),
    }
}

fn story(instance: &str, base: &url::Url, s: &MergedStory) -> Story {
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
    // The story's own last change, never before its first publication.
    let updated = std::iter::once(rep)
        .chain(&s.others)
        .map(|c| c.updated.map_or(c.published, |u| u.max(c.published)))
        .chain(s.rep_changed)
        .fold(s.first_published, DateTime::max);
    Story {
        id: format!("urn:tributary:{instance}:story:{}", s.id),
        number: s.id,
        page: story_url(base, s.id),
        lang: representative.lang.clone(),
        title: representative.title.clone(),
        link: representative.url.clone(),
        authors,
        categories,
        published: s.first_published,
        updated,
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

    /// The document's language when it is known (not `und`): what feeds declare.
    pub fn declared_lang(&self) -> Option<&str> {
        (self.lang != "und").then_some(self.lang.as_str())
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

impl Copy {
    /// How this copy joined its story, in plain words.
    pub fn how_matched(&self) -> String {
        match_in_words(self.kind, self.score, &self.rule)
    }
}

impl Story {
    /// The representative's sanitised HTML: its page's full text when one was fetched, else
    /// the feed's content, else its summary.
    pub fn full_html(&self) -> String {
        safe::clean_html(&self.body, self.link.as_ref())
    }

    /// The representative's sanitised HTML, ending with the other outlets, each linked.
    pub fn content_html(&self) -> String {
        let mut html = self.full_html();
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
