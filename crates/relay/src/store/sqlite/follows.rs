//! SQLite followers, go-live notices and covers (migration 0011_follows).

use super::super::follows::{Cover, FollowStore, NOTICE_MAX_SILENCE_MS};
use super::super::Result;
use super::SqliteStore;
use rusqlite::{params, OptionalExtension};

impl SqliteStore {
    fn names(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<String>> {
        let c = self.r()?;
        let mut st = c.prepare(sql)?;
        let rows = st.query_map(p, |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl FollowStore for SqliteStore {
    fn follow(&self, follower: &str, target: &str, at: i64) -> Result<bool> {
        Ok(self.c()?.execute("INSERT OR IGNORE INTO follows (follower, target, created_at) VALUES (?1, ?2, ?3)", params![follower, target, at])? > 0)
    }

    fn unfollow(&self, follower: &str, target: &str) -> Result<bool> {
        Ok(self.c()?.execute("DELETE FROM follows WHERE follower = ?1 AND target = ?2", params![follower, target])? > 0)
    }

    fn following(&self, follower: &str) -> Result<Vec<String>> {
        self.names("SELECT target FROM follows WHERE follower = ?1 ORDER BY created_at, target", [follower])
    }

    fn followers(&self, target: &str) -> Result<Vec<String>> {
        self.names("SELECT follower FROM follows WHERE target = ?1 ORDER BY follower", [target])
    }

    fn unfollow_between(&self, a: &str, b: &str) -> Result<()> {
        let c = self.c()?;
        for (x, y) in [(a, b), (b, a)] {
            c.execute(
                "DELETE FROM follows WHERE follower = ?1 AND (target = 'user:' || ?2 OR target IN (SELECT 'room:' || id FROM rooms WHERE owner = ?2))",
                params![x, y],
            )?;
        }
        Ok(())
    }

    fn claim_live_notice(&self, room: &str, now: i64, grace_ms: i64) -> Result<bool> {
        let n = self.c()?.execute(
            "INSERT INTO room_live (room, noticed_at) VALUES (?1, ?2) ON CONFLICT (room) DO UPDATE SET noticed_at = excluded.noticed_at
             WHERE room_live.noticed_at IS NULL
                OR (room_live.ended_at IS NOT NULL AND room_live.ended_at >= room_live.noticed_at AND ?2 - room_live.ended_at >= ?3)
                OR ?2 - room_live.noticed_at >= ?4",
            params![room, now, grace_ms, NOTICE_MAX_SILENCE_MS],
        )?;
        Ok(n > 0)
    }

    fn note_live_ended(&self, room: &str, at: i64) -> Result<()> {
        self.c()?.execute("INSERT INTO room_live (room, ended_at) VALUES (?1, ?2) ON CONFLICT (room) DO UPDATE SET ended_at = excluded.ended_at", params![room, at])?;
        Ok(())
    }

    fn set_room_cover(&self, room: &str, cv: &Cover) -> Result<()> {
        self.c()?.execute(
            "INSERT INTO room_covers (room, mime, bytes, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (room) DO UPDATE SET mime = excluded.mime, bytes = excluded.bytes, updated_at = excluded.updated_at",
            params![room, cv.mime, cv.bytes, cv.updated_at],
        )?;
        Ok(())
    }

    fn room_cover(&self, room: &str) -> Result<Option<Cover>> {
        Ok(self
            .r()?
            .query_row("SELECT mime, bytes, updated_at FROM room_covers WHERE room = ?1", [room], |r| Ok(Cover { mime: r.get(0)?, bytes: r.get(1)?, updated_at: r.get(2)? }))
            .optional()?)
    }

    fn cover_stamps(&self) -> Result<Vec<(String, i64)>> {
        let c = self.r()?;
        let mut st = c.prepare("SELECT room, updated_at FROM room_covers ORDER BY room")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_room_category(&self, room: &str, category: &str) -> Result<()> {
        self.c()?.execute("UPDATE rooms SET category = ?2 WHERE id = ?1", params![room, category])?;
        Ok(())
    }

    fn set_room_title(&self, room: &str, title: &str) -> Result<()> {
        self.c()?.execute("UPDATE rooms SET title = ?2 WHERE id = ?1", params![room, title])?;
        Ok(())
    }
}
