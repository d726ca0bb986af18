-- Full-text search (SQLite keeps it in the FTS5 table `search`, its v8): each copy's title
-- and plain text as a tsvector of the words `store/search.rs` reads from them (the way
-- SQLite's FTS5 tokeniser reads them, so both backends find the same copies), behind a GIN
-- index. A row per copy, which leaves with its article. The stored copies are indexed by
-- the migration's Rust step (`store/postgres/search.rs`).
CREATE TABLE search (
    article_id BIGINT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    terms      TSVECTOR NOT NULL
);
CREATE INDEX search_terms ON search USING GIN (terms) WITH (gin_pending_list_limit = 16384);
