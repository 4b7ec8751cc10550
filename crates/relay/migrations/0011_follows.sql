-- Followers and go-live notices (issue 17): who follows whom (`user:NAME`)
-- or which room (`room:ID`); when each room's go-live notice last went out
-- and its live last ended (one notice per go-live, not per ingest
-- reconnect); the room's cover image (bytes in the store, so every node
-- serves it).
CREATE TABLE follows (
    follower   TEXT NOT NULL,
    target     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (follower, target)
);
CREATE INDEX follows_target ON follows(target);
CREATE TABLE room_live (
    room       TEXT PRIMARY KEY,
    noticed_at INTEGER,
    ended_at   INTEGER
);
CREATE TABLE room_covers (
    room       TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
