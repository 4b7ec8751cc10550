//! PostgreSQL followers, go-live notices and covers (migration 0004_follows).

use super::super::follows::{Cover, FollowStore, NOTICE_MAX_SILENCE_MS};
use super::super::Result;
use super::PostgresStore;

impl FollowStore for PostgresStore {
    fn follow(&self, follower: &str, target: &str, at: i64) -> Result<bool> {
        Ok(self.run(|db| db.exec("INSERT INTO follows (follower, target, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &[&follower, &target, &at]))? > 0)
    }

    fn unfollow(&self, follower: &str, target: &str) -> Result<bool> {
        Ok(self.run(|db| db.exec("DELETE FROM follows WHERE follower = $1 AND target = $2", &[&follower, &target]))? > 0)
    }

    fn following(&self, follower: &str) -> Result<Vec<String>> {
        self.run(|db| db.strings("SELECT target FROM follows WHERE follower = $1 ORDER BY created_at, target", &[&follower]))
    }

    fn followers(&self, target: &str) -> Result<Vec<String>> {
        self.run(|db| db.strings("SELECT follower FROM follows WHERE target = $1 ORDER BY follower", &[&target]))
    }

    fn unfollow_between(&self, a: &str, b: &str) -> Result<()> {
        self.tx(|db| {
            for (x, y) in [(a, b), (b, a)] {
                db.exec("DELETE FROM follows WHERE follower = $1 AND (target = 'user:' || $2 OR target IN (SELECT 'room:' || id FROM rooms WHERE owner = $2))", &[&x, &y])?;
            }
            Ok(())
        })
    }

    fn claim_live_notice(&self, room: &str, now: i64, grace_ms: i64) -> Result<bool> {
        let n = self.run(|db| {
            db.exec(
                "INSERT INTO room_live (room, noticed_at) VALUES ($1, $2) ON CONFLICT (room) DO UPDATE SET noticed_at = EXCLUDED.noticed_at
                 WHERE room_live.noticed_at IS NULL
                    OR (room_live.ended_at IS NOT NULL AND room_live.ended_at >= room_live.noticed_at AND $2 - room_live.ended_at >= $3)
                    OR $2 - room_live.noticed_at >= $4",
                &[&room, &now, &grace_ms, &NOTICE_MAX_SILENCE_MS],
            )
        })?;
        Ok(n > 0)
    }

    fn note_live_ended(&self, room: &str, at: i64) -> Result<()> {
        self.run(|db| db.exec("INSERT INTO room_live (room, ended_at) VALUES ($1, $2) ON CONFLICT (room) DO UPDATE SET ended_at = EXCLUDED.ended_at", &[&room, &at]))?;
        Ok(())
    }

    fn set_room_cover(&self, room: &str, cv: &Cover) -> Result<()> {
        self.run(|db| {
            db.exec(
                "INSERT INTO room_covers (room, mime, bytes, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (room) DO UPDATE SET mime = EXCLUDED.mime, bytes = EXCLUDED.bytes, updated_at = EXCLUDED.updated_at",
                &[&room, &cv.mime, &cv.bytes, &cv.updated_at],
            )
        })?;
        Ok(())
    }

    fn room_cover(&self, room: &str) -> Result<Option<Cover>> {
        let r = self.run(|db| db.opt("SELECT mime, bytes, updated_at FROM room_covers WHERE room = $1", &[&room]))?;
        r.map(|r| Ok(Cover { mime: r.try_get(0)?, bytes: r.try_get(1)?, updated_at: r.try_get(2)? })).transpose()
    }

    fn cover_stamps(&self) -> Result<Vec<(String, i64)>> {
        let rows = self.run(|db| db.rows("SELECT room, updated_at FROM room_covers ORDER BY room", &[]))?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    fn set_room_category(&self, room: &str, category: &str) -> Result<()> {
        self.run(|db| db.exec("UPDATE rooms SET category = $2 WHERE id = $1", &[&room, &category]))?;
        Ok(())
    }

    fn set_room_title(&self, room: &str, title: &str) -> Result<()> {
        self.run(|db| db.exec("UPDATE rooms SET title = $2 WHERE id = $1", &[&room, &title]))?;
        Ok(())
    }
}
