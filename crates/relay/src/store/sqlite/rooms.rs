//! SQLite rooms (migrations 0002, 0007, 0008).

use super::super::rooms::{key_hash, RoomRow, RoomStore};
use super::super::Result;
use super::SqliteStore;
use rusqlite::{params, Connection, OptionalExtension};

const COLS: &str = "id, owner, title, category, stream_key, created_at, private, ladder";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RoomRow> {
    Ok(RoomRow { id: r.get(0)?, owner: r.get(1)?, title: r.get(2)?, category: r.get(3)?, key_hash: r.get(4)?, created_at: r.get(5)?, private: r.get(6)?, ladder: r.get(7)? })
}

/// Replaces stream keys an older relay stored in clear with their hashes,
/// so an upgraded relay keeps accepting them and no longer holds them.
pub(super) fn hash_plain_keys(c: &Connection) -> Result<()> {
    let plain: Vec<(String, String)> = {
        let mut st = c.prepare("SELECT id, stream_key FROM rooms WHERE stream_key NOT LIKE 'sha256:%'")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows
    };
    if plain.is_empty() {
        return Ok(());
    }
    c.execute_batch("BEGIN")?;
    for (id, key) in &plain {
        if let Err(e) = c.execute("UPDATE rooms SET stream_key = ?2 WHERE id = ?1", params![id, key_hash(key)]) {
            let _ = c.execute_batch("ROLLBACK");
            return Err(e.into());
        }
    }
    c.execute_batch("COMMIT")?;
    tracing::info!(rooms = plain.len(), "stream keys stored in clear were replaced by their hashes");
    Ok(())
}

impl RoomStore for SqliteStore {
    fn create_room(&self, r: &RoomRow) -> Result<()> {
        self.c()?.execute(
            "INSERT INTO rooms (id, owner, title, category, stream_key, created_at, private, ladder) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![r.id, r.owner, r.title, r.category, r.key_hash, r.created_at, r.private, r.ladder],
        )?;
        Ok(())
    }

    fn room(&self, id: &str) -> Result<Option<RoomRow>> {
        Ok(self.r()?.query_row(&format!("SELECT {COLS} FROM rooms WHERE id = ?1"), [id], row).optional()?)
    }

    fn room_by_key_hash(&self, hash: &str) -> Result<Option<RoomRow>> {
        Ok(self.r()?.query_row(&format!("SELECT {COLS} FROM rooms WHERE stream_key = ?1"), [hash], row).optional()?)
    }

    fn rooms(&self) -> Result<Vec<RoomRow>> {
        let c = self.r()?;
        let mut st = c.prepare(&format!("SELECT {COLS} FROM rooms ORDER BY created_at DESC, id"))?;
        let rows = st.query_map([], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_room_key_hash(&self, id: &str, hash: &str) -> Result<()> {
        self.c()?.execute("UPDATE rooms SET stream_key = ?2 WHERE id = ?1", params![id, hash])?;
        Ok(())
    }

    fn secret(&self, name: &str, fresh: &dyn Fn() -> Vec<u8>) -> Result<Vec<u8>> {
        let c = self.c()?;
        c.execute("INSERT OR IGNORE INTO relay_secrets (name, value) VALUES (?1, ?2)", params![name, fresh()])?;
        Ok(c.query_row("SELECT value FROM relay_secrets WHERE name = ?1", [name], |r| r.get(0))?)
    }

    fn add_room_member(&self, room: &str, user: &str, at: i64) -> Result<()> {
        self.c()?.execute("INSERT OR IGNORE INTO room_members (room, user, added_at) VALUES (?1, ?2, ?3)", params![room, user, at])?;
        Ok(())
    }

    fn remove_room_member(&self, room: &str, user: &str) -> Result<bool> {
        Ok(self.c()?.execute("DELETE FROM room_members WHERE room = ?1 AND user = ?2", params![room, user])? > 0)
    }

    fn room_members(&self, room: &str) -> Result<Vec<String>> {
        let c = self.r()?;
        let mut st = c.prepare("SELECT user FROM room_members WHERE room = ?1 ORDER BY user")?;
        let rows = st.query_map([room], |r| r.get(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn is_room_member(&self, room: &str, user: &str) -> Result<bool> {
        Ok(self.r()?.query_row("SELECT 1 FROM room_members WHERE room = ?1 AND user = ?2", params![room, user], |_| Ok(())).optional()?.is_some())
    }
}

#[cfg(test)]
mod tests {
    /// A relay.db from before 0007 (keys in clear) opens with the keys
    /// hashed, and the old key still finds its room.
    #[test]
    fn plaintext_keys_are_hashed_on_open() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("relay.db");
        {
            let c = rusqlite::Connection::open(&p).unwrap();
            for (i, (_, sql)) in super::super::MIGRATIONS.iter().take(6).enumerate() {
                c.execute_batch(&format!("BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;", i + 1)).unwrap();
            }
            c.execute("INSERT INTO users (name, pw_hash, created_at) VALUES ('ann', 'x', 1)", []).unwrap();
            c.execute("INSERT INTO rooms (id, owner, title, category, stream_key, created_at) VALUES ('r1', 'ann', 'T', '', 'live_plain', 1)", []).unwrap();
        }
        let s = super::SqliteStore::open(&p).unwrap();
        use super::RoomStore;
        assert_eq!(s.room_by_key_hash(&super::key_hash("live_plain")).unwrap().map(|r| r.id), Some("r1".into()));
        let stored: String = s.c().unwrap().query_row("SELECT stream_key FROM rooms", [], |r| r.get(0)).unwrap();
        assert!(!stored.contains("live_plain") && stored.starts_with("sha256:"), "{stored}");
    }
}
