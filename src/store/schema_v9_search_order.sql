-- Version 9: the search index reads its matches newest first (store/search.rs, "Walking the
-- matches"). A copy's row in `search` is keyed by its publication minute and then its
-- article id, so FTS5, which reads a term's matches in rowid order either way, hands them
-- over from the latest published down and a search stops after the page it needs instead
-- of collecting every match. The layout (37 bits of article id under the minute, minutes
-- capped below 2^26, the year 2097) is read back by `search::SEARCH_KEY_ID_BITS`.
ALTER TABLE articles ADD COLUMN search_key INTEGER
    GENERATED ALWAYS AS ((min(max(published, 0) / 60, 67108863) << 37) | id) VIRTUAL;

-- A copy leaves the index with its article, whatever deletes it (retention, a cascade)...
DROP TRIGGER articles_unsearch;
CREATE TRIGGER articles_unsearch AFTER DELETE ON articles BEGIN
    DELETE FROM search WHERE rowid = old.search_key;
END;
-- ...and moves when its date changes: the writer indexes it again under the new key.
CREATE TRIGGER articles_search_moves AFTER UPDATE OF published ON articles
    WHEN old.published IS NOT new.published BEGIN
    DELETE FROM search WHERE rowid = old.search_key;
END;

-- Rows keyed by article id (version 8) go; the step after this SQL indexes every copy again.
INSERT INTO search (search) VALUES ('delete-all');
