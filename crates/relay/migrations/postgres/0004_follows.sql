-- Followers and go-live notices (issue 17): who follows whom (`user:NAME`)
-- or which room (`room:ID`); when each room's go-live notice last went out
-- and its live last ended (one notice per go-live, not per ingest
-- reconnect); the room's cover image (bytes in the store, so every node
-- serves it).
CREATE TABLE IF NOT EXISTS follows (
    follower   TEXT COLLATE "C" NOT NULL,
    target     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (follower, target)
);
CREATE INDEX IF NOT EXISTS follows_target ON follows(target);
CREATE TABLE IF NOT EXISTS room_live (
    room       TEXT PRIMARY KEY,
    noticed_at BIGINT,
    ended_at   BIGINT
);
CREATE TABLE IF NOT EXISTS room_covers (
    room       TEXT PRIMARY KEY,
    mime       TEXT COLLATE "C" NOT NULL,
    bytes      BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
