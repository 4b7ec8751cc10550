-- Live rooms (issue 6). The stream key is kept as issued: its owner can
-- ask for it again (`onair room key`); rotating replaces it.
CREATE TABLE rooms (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL REFERENCES users(name),
    title      TEXT NOT NULL,
    category   TEXT NOT NULL DEFAULT '',
    stream_key TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX rooms_owner ON rooms(owner);
