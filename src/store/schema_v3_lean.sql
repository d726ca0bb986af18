-- Version 3: what no query reads, dropped. Every new copy paid for it on the writer, the
-- one serial stage of a poll cycle (`examples/ingest_bench`, `examples/poll_bench`).
-- Articles are looked up by story, URL, GUID and (feed, key), never by date; stories are
-- pruned and served by first_published, never by last_changed alone; a copy's plain text
-- was kept for dedup, which since version 2 keeps its fingerprint instead (and the text
-- can be derived again from the stored HTML).
DROP INDEX IF EXISTS articles_published;
DROP INDEX IF EXISTS stories_last_changed;
ALTER TABLE articles DROP COLUMN text;
