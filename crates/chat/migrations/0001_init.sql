-- Chat cache schema v1.
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE conversations (
    id        TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,            -- 'dm' | 'group'
    name      TEXT NOT NULL DEFAULT '',
    owner     TEXT,
    members   TEXT NOT NULL DEFAULT '[]',  -- JSON array of user names
    cursor    INTEGER NOT NULL DEFAULT 0,  -- highest seq fetched, in order
    my_read   INTEGER NOT NULL DEFAULT 0,  -- what I have read locally
    read_sent INTEGER NOT NULL DEFAULT 0   -- what the relay knows I read
);

-- Other members' read marks (read receipts).
CREATE TABLE reads (
    conv TEXT NOT NULL,
    user TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    PRIMARY KEY (conv, user)
);

-- Messages, mine and others'. `id` is the sender's client id, unique per
-- sender; `seq` is null until the relay has it.
-- state: 'pending' | 'sent' | 'failed' | 'received' | 'recalled'
CREATE TABLE messages (
    rid        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL,
    conv       TEXT NOT NULL,
    seq        INTEGER,
    sender     TEXT NOT NULL,
    text       TEXT NOT NULL,
    state      TEXT NOT NULL,
    error      TEXT,
    sent_at    INTEGER NOT NULL,
    burn_secs  INTEGER,
    burn_at    INTEGER,
    attachment TEXT,
    UNIQUE (sender, id)
);
CREATE UNIQUE INDEX messages_conv_seq ON messages(conv, seq) WHERE seq IS NOT NULL;
CREATE INDEX messages_conv_rid ON messages(conv, rid);

-- Messages still to deliver, in the order they were written.
CREATE TABLE outbox (
    rid      INTEGER PRIMARY KEY,
    msg_id   TEXT NOT NULL UNIQUE,
    target   TEXT NOT NULL,             -- JSON of proto::Target
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);

CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='rid');
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.rid, new.text);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rid, old.text);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rid, old.text);
    INSERT INTO messages_fts(rowid, text) VALUES (new.rid, new.text);
END;
