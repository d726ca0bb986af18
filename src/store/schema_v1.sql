-- Version 1 of the tributary database. Times are Unix seconds (UTC).

-- Facts about this database itself (`instance`: a random id minted once, so merged-feed
-- entry ids are never reused by another database).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per source URL ever configured, with its fetch state. Rows outlive their
-- feeds.toml entry so stored articles keep their outlet until retention removes them.
CREATE TABLE feeds (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL UNIQUE,     -- normalised configured URL
    name            TEXT NOT NULL,            -- name in feeds.toml (updated on sync)
    title           TEXT,                     -- the title the feed gives itself
    site_url        TEXT,                     -- the feed's website
    etag            TEXT,
    last_modified   TEXT,
    last_fetch      INTEGER,                  -- when the last poll ended
    last_status     TEXT,                     -- model::FetchStatus word
    last_http       INTEGER,                  -- HTTP status of the last poll
    last_error      TEXT,
    error_count     INTEGER NOT NULL DEFAULT 0, -- consecutive failures
    next_fetch      INTEGER,                  -- when the scheduler polls it next
    redirect_url    TEXT,                     -- permanent redirect target, used from then on
    gone            INTEGER NOT NULL DEFAULT 0, -- 410 seen: not polled until re-enabled
    interval_floor  INTEGER,                  -- seconds, from <ttl>/Cache-Control/Expires
    created         INTEGER NOT NULL
);

-- One row per copy as fetched: (feed, key) is its identity, so a re-fetch updates it.
CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,              -- stable key within the feed
    guid          TEXT,
    url           TEXT,                       -- canonical URL
    title         TEXT NOT NULL,
    summary       TEXT,                       -- sanitised HTML
    content       TEXT,                       -- sanitised HTML
    text          TEXT NOT NULL,              -- plain text, for dedup
    authors       TEXT NOT NULL DEFAULT '[]', -- JSON array of names
    categories    TEXT NOT NULL DEFAULT '[]', -- JSON array of terms
    language      TEXT,
    enclosures    TEXT NOT NULL DEFAULT '[]', -- JSON array of model::Enclosure
    image         TEXT,
    source_title  TEXT,                       -- Atom <source> / RSS <source>
    source_url    TEXT,
    source_id     TEXT,
    published     INTEGER NOT NULL,           -- feed's date, else first_seen
    updated       INTEGER,
    date_clamped  INTEGER NOT NULL DEFAULT 0,
    first_seen    INTEGER NOT NULL,
    last_changed  INTEGER NOT NULL,
    content_hash  INTEGER NOT NULL,           -- xxh3 of what the reader sees; detects updates
    UNIQUE (feed_id, key)
);
CREATE INDEX articles_url ON articles(url) WHERE url IS NOT NULL;
CREATE INDEX articles_guid ON articles(guid) WHERE guid IS NOT NULL;
CREATE INDEX articles_published ON articles(published);

-- A story: one piece of news, carried by one or more copies. Its id never changes and,
-- with AUTOINCREMENT, is never reused after pruning.
CREATE TABLE stories (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    representative  INTEGER REFERENCES articles(id) ON DELETE SET NULL,
    first_published INTEGER NOT NULL,
    last_changed    INTEGER NOT NULL
);
CREATE INDEX stories_first_published ON stories(first_published DESC, id DESC);
CREATE INDEX stories_last_changed ON stories(last_changed);

-- Membership: every article is in exactly one story, with how it got there.
CREATE TABLE copies (
    article_id  INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    story_id    INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    match       TEXT NOT NULL,                -- model::MatchKind word
    score       REAL NOT NULL,
    thresholds  TEXT NOT NULL DEFAULT '',     -- the rule and thresholds in force
    joined      INTEGER NOT NULL
);
CREATE INDEX copies_story ON copies(story_id);

-- Tags of each configured feed, mirrored from feeds.toml for the merged feed's filters.
CREATE TABLE feed_tags (
    feed_id  INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (tag, feed_id)
) WITHOUT ROWID;
