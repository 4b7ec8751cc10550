-- Relay schema v1. User names are the keys: they never change.
CREATE TABLE users (
    name        TEXT PRIMARY KEY,
    pw_hash     TEXT NOT NULL,
    accept_from TEXT NOT NULL DEFAULT 'anyone',
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER
);

-- Bearer tokens, stored as SHA-256 of the token so a leaked database
-- does not hand out sessions.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);

-- One row per direction: (user, other) with user's view of other.
-- state: 'friends' | 'outgoing' | 'incoming'.
CREATE TABLE friends (
    user  TEXT NOT NULL,
    other TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (user, other)
);

CREATE TABLE blocks (
    user    TEXT NOT NULL,
    blocked TEXT NOT NULL,
    PRIMARY KEY (user, blocked)
);

CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,          -- 'dm' | 'group'
    name       TEXT NOT NULL,
    owner      TEXT,
    created_at INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
    conv     TEXT NOT NULL REFERENCES conversations(id),
    user     TEXT NOT NULL,
    joined   INTEGER NOT NULL,
    read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conv, user)
);
CREATE INDEX members_by_user ON members(user);

-- The log of each conversation. kind: 'message' | 'recall' | 'burn'.
CREATE TABLE entries (
    conv       TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    id         TEXT NOT NULL,
    sender     TEXT NOT NULL,
    sent_at    INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    text       TEXT NOT NULL DEFAULT '',
    ref_seq    INTEGER,
    burn_secs  INTEGER,
    attachment TEXT,
    deleted    INTEGER NOT NULL DEFAULT 0,
    burn_at    INTEGER,
    PRIMARY KEY (conv, seq)
) WITHOUT ROWID;
-- Makes a resend with the same client id idempotent.
CREATE UNIQUE INDEX entries_client_id ON entries(sender, id) WHERE kind = 'message';
CREATE INDEX entries_burn ON entries(burn_at) WHERE burn_at IS NOT NULL AND deleted = 0;

CREATE TABLE attachments (
    id         TEXT PRIMARY KEY,
    conv       TEXT NOT NULL,
    owner      TEXT NOT NULL,
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
