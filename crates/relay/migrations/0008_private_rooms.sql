-- Private rooms (issue 13): their live streams and replays are for the
-- owner and the members the owner adds; they are not in the directory for
-- anyone else.
ALTER TABLE rooms ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
CREATE TABLE room_members (
    room     TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user     TEXT NOT NULL REFERENCES users(name),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (room, user)
);
CREATE INDEX room_members_user ON room_members(user);
