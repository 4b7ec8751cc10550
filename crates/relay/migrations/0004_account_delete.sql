-- A deleted account keeps its row, with no password hash, so its name is
-- never handed to someone else: the others' conversations with it stay theirs.
ALTER TABLE users ADD COLUMN deleted_at INTEGER;
