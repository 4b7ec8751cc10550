-- Server-side call recordings (issue 16): one row per recording, its
-- per-file key wrapped by the relay's master key, bookmarks (chapters),
-- the access audit, and each user's standing answer to being recorded.
CREATE TABLE cloud_recordings (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL,
    caller      TEXT NOT NULL,
    callee      TEXT NOT NULL,
    started_by  TEXT NOT NULL,
    tier        TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    duration_ms INTEGER NOT NULL DEFAULT 0,
    bytes       INTEGER NOT NULL DEFAULT 0,
    wrapped_key BLOB NOT NULL,
    pinned      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cloud_recordings_caller ON cloud_recordings(caller);
CREATE INDEX cloud_recordings_callee ON cloud_recordings(callee);
CREATE TABLE cloud_bookmarks (
    n       INTEGER PRIMARY KEY,
    rec_id  TEXT NOT NULL,
    t_ms    INTEGER NOT NULL,
    by_user TEXT NOT NULL,
    label   TEXT NOT NULL
);
CREATE INDEX cloud_bookmarks_rec ON cloud_bookmarks(rec_id, n);
CREATE TABLE cloud_access (
    n         INTEGER PRIMARY KEY,
    rec_id    TEXT NOT NULL,
    user_name TEXT NOT NULL,
    action    TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX cloud_access_rec ON cloud_access(rec_id, n);
CREATE TABLE recording_consent (
    user_name TEXT PRIMARY KEY,
    answer    TEXT NOT NULL
);
