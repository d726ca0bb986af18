-- Version 8: when each story's representative last moved to another copy (NULL while the
-- founding copy still represents it). A merged-feed entry's `updated` is the story's own
-- last change: the newest of its copies' own dates, or this, when the copy whose title,
-- link and text the entry shows was replaced. `stories.last_changed` is no use for that:
-- it is the time of the poll that last touched the story, the same for every story one
-- poll stored.
ALTER TABLE stories ADD COLUMN rep_changed INTEGER;
