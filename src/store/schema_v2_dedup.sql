-- Version 2: dedup fingerprints (src/dedup/fingerprint.rs), one per article, so a restart
-- rebuilds the dedup index from small rows instead of re-reading and re-normalising texts.
CREATE TABLE fingerprints (
    article_id  INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    feed_id     INTEGER NOT NULL,
    published   INTEGER NOT NULL,
    words       INTEGER NOT NULL,           -- words of the cleaned text
    text_hash   INTEGER NOT NULL,           -- equal texts, equal hashes
    title_hash  INTEGER,                    -- title-rule key, when the title qualifies
    credit      INTEGER NOT NULL,           -- the text credits a wire service
    preferred   INTEGER NOT NULL DEFAULT 0, -- from a [dedup].prefer source when stored
    lede_len    INTEGER NOT NULL,           -- shingles starting in the lede
    dense_len   INTEGER NOT NULL,           -- shingles starting in the densely indexed prefix
    shingles    BLOB NOT NULL,              -- u32 little-endian, document order
    title_words BLOB NOT NULL,              -- u32 little-endian, sorted
    numbers     BLOB NOT NULL               -- u32 little-endian, sorted
);
CREATE INDEX fingerprints_published ON fingerprints(published);
