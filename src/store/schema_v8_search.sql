-- Version 8: full-text search over every copy's title and plain text (store/search.rs).
-- FTS5 without content of its own: it keeps the terms and their positions (detail=full, so
-- phrases work), not the text, which the articles (and pages) already hold as HTML.
-- contentless_delete lets a copy's row be replaced or deleted by rowid alone (the article
-- id). Words are Unicode letters and digits, case and accents folded.
CREATE VIRTUAL TABLE search USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- A copy leaves the index with its article, whatever deletes it (retention, a cascade).
CREATE TRIGGER articles_unsearch AFTER DELETE ON articles BEGIN
    DELETE FROM search WHERE rowid = old.id;
END;

-- Terms wait in memory until the transaction commits or they fill this many bytes, then go
-- to disk as one segment. The default 1 MiB made a cold cycle's group of feeds (24-32 feeds
-- of 50 entries: 2-4 MiB of terms) write several small segments, each merged again later:
-- 8 MiB cut the index's instructions by 40 % (BENCHMARKS.md "Search").
INSERT INTO search (search, rank) VALUES ('hashsize', 8388608);
-- Segments are merged, a little at each write, once 16 share a level (FTS5's default: 4):
-- each posting is rewritten about half as often, a third fewer instructions for the index,
-- while a search reads at most a few dozen segments per term. Merging stays incremental
-- (automerge=0 costs the same but leaves whole levels to one write's crisis merge).
INSERT INTO search (search, rank) VALUES ('automerge', 16);
