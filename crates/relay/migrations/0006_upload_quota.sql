-- Upload quotas. Bytes kept are the user's attachments; bytes uploaded in
-- the last 24 hours come from this log, which recalling or burning a
-- message does not shorten (so upload-and-recall cannot churn the disk).
-- Rows older than a day are pruned as new uploads arrive.
CREATE INDEX attachments_owner ON attachments(owner);
CREATE TABLE upload_log (
    owner TEXT NOT NULL,
    at    INTEGER NOT NULL,
    size  INTEGER NOT NULL
);
CREATE INDEX upload_log_owner_at ON upload_log(owner, at);
CREATE INDEX upload_log_at ON upload_log(at);

-- A group message is not pushed to members who blocked its sender: one
-- look-up of who blocked the sender, however large the group.
CREATE INDEX blocks_blocked ON blocks(blocked);
