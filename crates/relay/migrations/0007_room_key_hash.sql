-- Stream keys are kept hashed (issue 13): `rooms.stream_key` now holds
-- "sha256:" + the hex SHA-256 of the key, never the key. SQLite cannot hash,
-- so the store converts plaintext keys left by older relays when it opens
-- (SqliteStore::hash_plain_keys); the UNIQUE index keeps holding.
--
-- Publish and watch tickets are signed with a secret of this relay's own,
-- made once and kept here so tickets outlive a restart.
CREATE TABLE relay_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
