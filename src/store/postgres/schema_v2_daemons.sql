-- Version 2: several daemons on one database (ARCHITECTURE.md, "Several daemons").

-- A due feed is polled by the daemon that leased it: `claim_feeds` takes the feeds that are
-- due and not leased (or whose lease ran out: its daemon died), FOR UPDATE SKIP LOCKED, and
-- saving the poll's fetch state ends the lease.
ALTER TABLE feeds ADD COLUMN lease_holder TEXT;
ALTER TABLE feeds ADD COLUMN lease_until  BIGINT;

-- One daemon at a time places copies into stories (it holds the placer advisory lock); the
-- others write what they fetched and parsed here, with their feeds' fetch state, and the
-- placer stores and places it in order, deleting each row in the transaction that placed it.
CREATE TABLE handover (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    feed_id    BIGINT NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    fetched_at BIGINT NOT NULL,
    articles   TEXT NOT NULL              -- JSON array of model::Article
);

-- Which daemon placed last: a placer that finds another's name here reloads its dedup index
-- from the stories before it places (the other may have placed since it last looked).
CREATE TABLE placer (
    one    BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    holder TEXT NOT NULL
);
INSERT INTO placer (holder) VALUES ('');
