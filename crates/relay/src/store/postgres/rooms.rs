//! PostgreSQL rooms: rooms, private-room members and the relay's secrets.

use super::super::rooms::{RoomRow, RoomStore};
use super::super::Result;
use super::PostgresStore;
use ::postgres::Row;

fn row(r: &Row) -> Result<RoomRow> {
    Ok(RoomRow {
        id: r.try_get(0)?,
        owner: r.try_get(1)?,
        title: r.try_get(2)?,
        category: r.try_get(3)?,
        key_hash: r.try_get(4)?,
        created_at: r.try_get(5)?,
        private: r.try_get(6)?,
        ladder: r.try_get(7)?,
    })
}

impl RoomStore for PostgresStore {
    fn create_room(&self, r: &RoomRow) -> Result<()> {
        self.run(|db| {
            db.exec(
                "INSERT INTO rooms (id, owner, title, category, stream_key, created_at, private, ladder) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[&r.id, &r.owner, &r.title, &r.category, &r.key_hash, &r.created_at, &r.private, &r.ladder],
            )
        })?;
        Ok(())
    }

    fn room(&self, id: &str) -> Result<Option<RoomRow>> {
        self.run(|db| db.opt("SELECT id, owner, title, category, stream_key, created_at, private, ladder FROM rooms WHERE id = $1", &[&id]))?.as_ref().map(row).transpose()
    }

    fn room_by_key_hash(&self, hash: &str) -> Result<Option<RoomRow>> {
        self.run(|db| db.opt("SELECT id, owner, title, category, stream_key, created_at, private, ladder FROM rooms WHERE stream_key = $1", &[&hash]))?.as_ref().map(row).transpose()
    }

    fn rooms(&self) -> Result<Vec<RoomRow>> {
        self.run(|db| db.rows("SELECT id, owner, title, category, stream_key, created_at, private, ladder FROM rooms ORDER BY created_at DESC, id", &[]))?.iter().map(row).collect()
    }

    fn set_room_key_hash(&self, id: &str, hash: &str) -> Result<()> {
        self.run(|db| {
            db.exec(
                "UPDATE rooms SET stream_key = $2 WHERE id = $1",
                &[&id, &hash],
            )
        })?;
        Ok(())
    }

    fn secret(&self, name: &str, fresh: &dyn Fn() -> Vec<u8>) -> Result<Vec<u8>> {
        // Made before the connection is taken: `fresh` need not be Send.
        let candidate = fresh();
        let r = self.run(|db| {
            // Whichever node inserts first wins; everyone reads that one.
            db.exec(
                "INSERT INTO relay_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&name, &candidate],
            )?;
            db.opt("SELECT value FROM relay_secrets WHERE name = $1", &[&name])
        })?;
        let r = r.ok_or_else(|| {
            crate::error::StoreError::Corrupt(format!("secret {name:?} vanished"))
        })?;
        Ok(r.try_get(0)?)
    }

    fn add_room_member(&self, room: &str, user: &str, at: i64) -> Result<()> {
        self.run(|db| db.exec("INSERT INTO room_members (room, user_name, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", &[&room, &user, &at]))?;
        Ok(())
    }

    fn remove_room_member(&self, room: &str, user: &str) -> Result<bool> {
        Ok(self.run(|db| {
            db.exec(
                "DELETE FROM room_members WHERE room = $1 AND user_name = $2",
                &[&room, &user],
            )
        })? > 0)
    }

    fn room_members(&self, room: &str) -> Result<Vec<String>> {
        self.run(|db| {
            db.strings(
                "SELECT user_name FROM room_members WHERE room = $1 ORDER BY user_name",
                &[&room],
            )
        })
    }

    fn is_room_member(&self, room: &str, user: &str) -> Result<bool> {
        self.run(|db| {
            db.exists(
                "SELECT 1 FROM room_members WHERE room = $1 AND user_name = $2",
                &[&room, &user],
            )
        })
    }
}
