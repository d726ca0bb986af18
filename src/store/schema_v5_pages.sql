-- Version 5: full text from article pages. Each feed's `full_text` setting, mirrored from
-- feeds.toml (ingest decides inside the feed's transaction which new copies want their
-- page), and one row per copy whose page is wanted or was fetched.
ALTER TABLE feeds ADD COLUMN full_text TEXT NOT NULL DEFAULT 'never';

CREATE TABLE pages (
    article_id     INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    url            TEXT NOT NULL,             -- the page asked for: the item's link
    state          TEXT NOT NULL,             -- model::PageState word
    attempts       INTEGER NOT NULL DEFAULT 0,
    due            INTEGER,                   -- when it is (re)tried; NULL once final
    reason         TEXT,                      -- why it failed, was refused or had no article
    fetched        INTEGER,                   -- when the last attempt ended
    final_url      TEXT,                      -- where the page was, after redirects
    content        TEXT,                      -- the article, sanitised HTML (state 'done')
    words          INTEGER,                   -- words of its text
    title          TEXT,                      -- the page's headline
    byline         TEXT,                      -- the page's byline
    etag           TEXT,
    last_modified  TEXT
);
CREATE INDEX pages_due ON pages(due) WHERE due IS NOT NULL;
