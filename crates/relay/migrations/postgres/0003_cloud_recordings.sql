-- Server-side call recordings (issue 16): one row per recording, its
-- per-file key wrapped by the relay's master key, bookmarks (chapters),
-- the access audit, and each user's standing answer to being recorded.
CREATE TABLE IF NOT EXISTS cloud_recordings (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL,
    caller      TEXT NOT NULL,
    callee      TEXT NOT NULL,
    started_by  TEXT NOT NULL,
    tier        TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    bytes       BIGINT NOT NULL DEFAULT 0,
    wrapped_key BYTEA NOT NULL,
    pinned      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS cloud_recordings_caller ON cloud_recordings(caller);
CREATE INDEX IF NOT EXISTS cloud_recordings_callee ON cloud_recordings(callee);
CREATE TABLE IF NOT EXISTS cloud_bookmarks (
    n       BIGSERIAL PRIMARY KEY,
    rec_id  TEXT NOT NULL,
    t_ms    BIGINT NOT NULL,
    by_user TEXT NOT NULL,
    label   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cloud_bookmarks_rec ON cloud_bookmarks(rec_id, n);
CREATE TABLE IF NOT EXISTS cloud_access (
    n         BIGSERIAL PRIMARY KEY,
    rec_id    TEXT NOT NULL,
    user_name TEXT NOT NULL,
    action    TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS cloud_access_rec ON cloud_access(rec_id, n);
CREATE TABLE IF NOT EXISTS recording_consent (
    user_name TEXT PRIMARY KEY,
    answer    TEXT NOT NULL
);
