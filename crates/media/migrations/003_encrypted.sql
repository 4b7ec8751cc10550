-- Recordings encrypted at rest: the recording's own key, wrapped by this
-- computer's master key (kept in the OS keychain), bound to the id. NULL:
-- a plain MP4.
ALTER TABLE recordings ADD COLUMN wrapped_key BLOB;
