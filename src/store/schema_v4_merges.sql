-- Version 4: stories that merged, and the site of each copy. When a later copy shows two stories to be one, the newer
-- story's copies move to the older one and its row goes; this row keeps the absorbed id
-- (never reused: AUTOINCREMENT) pointing at the story that absorbed it, and why, for
-- `explain` and for redirecting the absorbed story's page. Chains are kept one hop long.
CREATE TABLE story_merges (
    absorbed  INTEGER PRIMARY KEY,
    survivor  INTEGER NOT NULL,
    merged    INTEGER NOT NULL,
    reason    TEXT NOT NULL
);
CREATE INDEX story_merges_survivor ON story_merges(survivor);

-- The site of each copy (dedup::fingerprint::site_key of its link; 0 unknown): one outlet's
-- two articles are held to the same-outlet rule. Rows stored before this version say 0.
ALTER TABLE fingerprints ADD COLUMN site INTEGER NOT NULL DEFAULT 0;
