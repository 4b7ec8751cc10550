//! SQLite rooms (migration 0002).

use super::super::rooms::{RoomRow, RoomStore};
use super::super::Result;
use super::SqliteStore;
use rusqlite::{params, OptionalExtension};

const COLS: &str = "id, owner, title, category, stream_key, created_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RoomRow> {
    Ok(RoomRow { id: r.get(0)?, owner: r.get(1)?, title: r.get(2)?, category: r.get(3)?, stream_key: r.get(4)?, created_at: r.get(5)? })
}

impl RoomStore for SqliteStore {
    fn create_room(&self, r: &RoomRow) -> Result<()> {
        self.c()?.execute(
            "INSERT INTO rooms (id, owner, title, category, stream_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![r.id, r.owner, r.title, r.category, r.stream_key, r.created_at],
        )?;
        Ok(())
    }

    fn room(&self, id: &str) -> Result<Option<RoomRow>> {
        Ok(self.c()?.query_row(&format!("SELECT {COLS} FROM rooms WHERE id = ?1"), [id], row).optional()?)
    }

    fn room_by_key(&self, key: &str) -> Result<Option<RoomRow>> {
        Ok(self.c()?.query_row(&format!("SELECT {COLS} FROM rooms WHERE stream_key = ?1"), [key], row).optional()?)
    }

    fn rooms(&self) -> Result<Vec<RoomRow>> {
        let c = self.c()?;
        let mut st = c.prepare(&format!("SELECT {COLS} FROM rooms ORDER BY created_at DESC, id"))?;
        let rows = st.query_map([], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn set_room_key(&self, id: &str, key: &str) -> Result<()> {
        self.c()?.execute("UPDATE rooms SET stream_key = ?2 WHERE id = ?1", params![id, key])?;
        Ok(())
    }
}
