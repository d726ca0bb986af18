-- Version 7: full-text search over every copy's title and plain text (store/search.rs).
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
