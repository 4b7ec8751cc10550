-- History reads pending messages (seq IS NULL) per conversation; with the
-- plain (conv, rid) index that scanned the whole conversation. A partial
-- index holds only the few pending rows.
DROP INDEX messages_conv_rid;
CREATE INDEX messages_pending ON messages(conv, rid) WHERE seq IS NULL;
