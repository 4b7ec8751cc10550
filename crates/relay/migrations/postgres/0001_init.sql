-- The relay's schema on PostgreSQL (issue 14): what SQLite's migrations
-- 0001-0008 built, in one step. Names and ids compare byte-wise (COLLATE
-- "C"), as SQLite's do, so lists come back in the same order on both
-- backends. `user` is reserved in PostgreSQL: the column is `user_name`.
-- Times are milliseconds since the epoch (BIGINT), as in SQLite.

CREATE TABLE users (
    name        TEXT COLLATE "C" PRIMARY KEY,
    pw_hash     TEXT NOT NULL,
    accept_from TEXT NOT NULL DEFAULT 'anyone',
    created_at  BIGINT NOT NULL,
    last_seen   BIGINT,
    -- A deleted account keeps its row, so its name is never handed out again.
    deleted_at  BIGINT
);

-- Bearer tokens, as SHA-256 of the token.
CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY,
    user_name  TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX tokens_user ON tokens(user_name);

-- One row per direction: user_name's view of other.
CREATE TABLE friends (
    user_name TEXT COLLATE "C" NOT NULL,
    other     TEXT COLLATE "C" NOT NULL,
    state     TEXT NOT NULL,
    PRIMARY KEY (user_name, other)
);
CREATE INDEX friends_other ON friends(other);

CREATE TABLE blocks (
    user_name TEXT COLLATE "C" NOT NULL,
    blocked   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_name, blocked)
);
CREATE INDEX blocks_blocked ON blocks(blocked);

CREATE TABLE conversations (
    id         TEXT COLLATE "C" PRIMARY KEY,
    kind       TEXT NOT NULL,          -- 'dm' | 'group'
    name       TEXT NOT NULL,
    owner      TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    -- Bumped under the row's lock by each append: dense per conversation.
    last_seq   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE members (
    conv      TEXT COLLATE "C" NOT NULL REFERENCES conversations(id),
    user_name TEXT COLLATE "C" NOT NULL,
    joined    BIGINT NOT NULL,
    read_seq  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conv, user_name)
);
CREATE INDEX members_by_user ON members(user_name);

-- The log of each conversation. kind: 'message' | 'recall' | 'burn'.
CREATE TABLE entries (
    conv       TEXT COLLATE "C" NOT NULL,
    seq        BIGINT NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    sender     TEXT COLLATE "C" NOT NULL,
    sent_at    BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    text       TEXT NOT NULL DEFAULT '',
    ref_seq    BIGINT,
    burn_secs  BIGINT,
    attachment JSONB,
    deleted    BOOLEAN NOT NULL DEFAULT FALSE,
    burn_at    BIGINT,
    PRIMARY KEY (conv, seq)
);
-- Makes a resend with the same client id idempotent, across nodes too.
CREATE UNIQUE INDEX entries_client_id ON entries(sender, id) WHERE kind = 'message';
CREATE INDEX entries_burn ON entries(burn_at) WHERE burn_at IS NOT NULL AND NOT deleted;

CREATE TABLE attachments (
    id         TEXT COLLATE "C" PRIMARY KEY,
    conv       TEXT COLLATE "C" NOT NULL,
    owner      TEXT COLLATE "C" NOT NULL,
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_owner ON attachments(owner);

-- Attachments whose message was recalled or burned, until a node has
-- removed the file.
CREATE TABLE attachment_trash (
    id TEXT COLLATE "C" PRIMARY KEY
);

-- Uploads of the last 24 hours, for quotas (pruned as new uploads arrive).
CREATE TABLE upload_log (
    owner TEXT COLLATE "C" NOT NULL,
    at    BIGINT NOT NULL,
    size  BIGINT NOT NULL
);
CREATE INDEX upload_log_owner_at ON upload_log(owner, at);
CREATE INDEX upload_log_at ON upload_log(at);

-- Live rooms; stream_key holds "sha256:" + the hex digest, never the key.
CREATE TABLE rooms (
    id         TEXT COLLATE "C" PRIMARY KEY,
    owner      TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    title      TEXT NOT NULL,
    category   TEXT NOT NULL DEFAULT '',
    stream_key TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    private    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX rooms_owner ON rooms(owner);

CREATE TABLE room_members (
    room      TEXT COLLATE "C" NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_name TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (room, user_name)
);
CREATE INDEX room_members_user ON room_members(user_name);

-- Secrets of the relay (ticket signing): made once, shared by every node.
CREATE TABLE relay_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- 1:1 calls: who called whom, how it ended, and the recording audit trail.
CREATE TABLE calls (
    id          TEXT COLLATE "C" PRIMARY KEY,
    caller      TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    callee      TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    created_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    ended_at    BIGINT,
    end_reason  TEXT
);
CREATE INDEX calls_caller ON calls(caller);
CREATE INDEX calls_callee ON calls(callee);
CREATE TABLE call_events (
    n       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id TEXT COLLATE "C" NOT NULL REFERENCES calls(id),
    event   TEXT NOT NULL,
    by_user TEXT COLLATE "C" NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX call_events_call ON call_events(call_id, n);
