-- Attachments whose message was recalled or burned: the row leaves
-- `attachments` in the same transaction as the tombstone (downloads 404 at
-- once), and the id waits here until the relay has removed the file.
CREATE TABLE attachment_trash (
    id TEXT PRIMARY KEY
);
