-- The owner's quality ladder for a room (issue 18): a comma list of rungs,
-- e.g. 'source,720p,480p,audio'; NULL means the relay's --ladder.
ALTER TABLE rooms ADD COLUMN ladder TEXT;
