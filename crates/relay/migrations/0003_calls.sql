-- 1:1 calls (issue 5): who called whom and how it ended, and the audit
-- trail of recording (requested / start / stop / declined, by whom, when).
-- Signaling itself (SDP, ICE) is never stored.
CREATE TABLE calls (
    id          TEXT PRIMARY KEY,
    caller      TEXT NOT NULL REFERENCES users(name),
    callee      TEXT NOT NULL REFERENCES users(name),
    created_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    ended_at    INTEGER,
    end_reason  TEXT
);
CREATE INDEX calls_caller ON calls(caller);
CREATE INDEX calls_callee ON calls(callee);
CREATE TABLE call_events (
    n       INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls(id),
    event   TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX call_events_call ON call_events(call_id, n);
