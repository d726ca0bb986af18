-- Version 9: what lets a search read its matches newest first and stop when its page is
-- full (store/search.rs, "Walking the matches"). FTS5 hands a term's matches over in rowid
-- (article id) order, latest stored first when asked; articles are stored roughly in the
-- order they were published, but not exactly (a feed's backlog, an item dated tomorrow). A
-- block is 1,024 consecutive article ids (`id >> 10`); `latest` is the latest publication any
-- copy in it ever had, so the latest of the blocks up to an id bounds every match at or
-- below it. A bound only: a copy deleted or re-dated earlier leaves it as it was.
CREATE TABLE search_blocks (
    block  INTEGER PRIMARY KEY,
    latest INTEGER NOT NULL
);
INSERT INTO search_blocks (block, latest)
    SELECT id >> 10, max(published) FROM articles GROUP BY id >> 10;
-- The writer raises a block's `latest` as it stores or re-dates a copy (search::note_published).
