-- The recording library: one row per recording, its bookmarks, and settings.
CREATE TABLE recordings (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,           -- the final MP4
    part_path   TEXT NOT NULL,           -- the crash-safe fragmented MP4 while recording
    started_at  INTEGER NOT NULL,        -- unix seconds
    ended_at    INTEGER,
    duration_ms INTEGER,
    size_bytes  INTEGER,
    state       TEXT NOT NULL CHECK (state IN ('recording', 'done', 'recovered', 'failed')),
    error       TEXT,
    pinned      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE bookmarks (
    id           INTEGER PRIMARY KEY,
    recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    t_ms         INTEGER NOT NULL,       -- media time from the start of the recording
    label        TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX bookmarks_by_recording ON bookmarks(recording_id, t_ms);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
