//! SQLite cloud recordings (migration 0010_cloud_recordings).

use super::super::cloud::{CloudMark, CloudRow, CloudStore};
use super::super::Result;
use super::SqliteStore;
use rusqlite::{params, OptionalExtension, Row};

const COLS: &str = "id, call_id, caller, callee, started_by, tier, state, created_at, ended_at, duration_ms, bytes, wrapped_key, pinned";

fn row(r: &Row) -> rusqlite::Result<CloudRow> {
    Ok(CloudRow {
        id: r.get(0)?,
        call_id: r.get(1)?,
        caller: r.get(2)?,
        callee: r.get(3)?,
        started_by: r.get(4)?,
        tier: r.get(5)?,
        state: r.get(6)?,
        created_at: r.get(7)?,
        ended_at: r.get(8)?,
        duration_ms: r.get(9)?,
        bytes: r.get(10)?,
        wrapped_key: r.get(11)?,
        pinned: r.get::<_, i64>(12)? != 0,
    })
}

impl SqliteStore {
    fn cloud_rows(&self, sql: &str, p: impl rusqlite::Params) -> Result<Vec<CloudRow>> {
        let c = self.r()?;
        let mut st = c.prepare(&format!("SELECT {COLS} FROM cloud_recordings {sql}"))?;
        let rows = st.query_map(p, row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

impl CloudStore for SqliteStore {
    fn cloud_create(&self, r: &CloudRow) -> Result<()> {
        self.c()?.execute(
            &format!("INSERT INTO cloud_recordings ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
            params![r.id, r.call_id, r.caller, r.callee, r.started_by, r.tier, r.state, r.created_at, r.ended_at, r.duration_ms, r.bytes, r.wrapped_key, r.pinned as i64],
        )?;
        Ok(())
    }

    fn cloud_get(&self, id: &str) -> Result<Option<CloudRow>> {
        Ok(self.r()?.query_row(&format!("SELECT {COLS} FROM cloud_recordings WHERE id = ?1"), [id], row).optional()?)
    }

    fn cloud_list(&self, user: &str) -> Result<Vec<CloudRow>> {
        self.cloud_rows("WHERE caller = ?1 OR callee = ?1 ORDER BY created_at DESC, id DESC", [user])
    }

    fn cloud_unfinished(&self) -> Result<Vec<CloudRow>> {
        self.cloud_rows("WHERE state IN ('recording', 'pending') ORDER BY created_at", [])
    }

    fn cloud_finish(&self, id: &str, state: &str, ended_at: Option<i64>, duration_ms: i64, bytes: i64) -> Result<()> {
        self.c()?.execute("UPDATE cloud_recordings SET state = ?2, ended_at = ?3, duration_ms = ?4, bytes = ?5 WHERE id = ?1", params![id, state, ended_at, duration_ms, bytes])?;
        Ok(())
    }

    fn cloud_pin(&self, id: &str, pinned: bool) -> Result<()> {
        self.c()?.execute("UPDATE cloud_recordings SET pinned = ?2 WHERE id = ?1", params![id, pinned as i64])?;
        Ok(())
    }

    fn cloud_delete(&self, id: &str) -> Result<()> {
        let mut c = self.c()?;
        let tx = c.transaction()?;
        tx.execute("DELETE FROM cloud_bookmarks WHERE rec_id = ?1", [id])?;
        tx.execute("DELETE FROM cloud_recordings WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    fn cloud_expired(&self, before: i64) -> Result<Vec<String>> {
        let c = self.r()?;
        let mut st = c.prepare("SELECT id FROM cloud_recordings WHERE pinned = 0 AND ended_at IS NOT NULL AND ended_at < ?1 ORDER BY ended_at")?;
        let ids = st.query_map([before], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }

    fn cloud_bookmark(&self, id: &str, m: &CloudMark) -> Result<()> {
        self.c()?.execute("INSERT INTO cloud_bookmarks (rec_id, t_ms, by_user, label) VALUES (?1, ?2, ?3, ?4)", params![id, m.t_ms, m.by, m.label])?;
        Ok(())
    }

    fn cloud_bookmarks(&self, id: &str) -> Result<Vec<CloudMark>> {
        let c = self.r()?;
        let mut st = c.prepare("SELECT t_ms, by_user, label FROM cloud_bookmarks WHERE rec_id = ?1 ORDER BY t_ms, n")?;
        let v = st.query_map([id], |r| Ok(CloudMark { t_ms: r.get(0)?, by: r.get(1)?, label: r.get(2)? }))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    fn cloud_access(&self, id: &str, user: &str, action: &str, at: i64) -> Result<()> {
        self.c()?.execute("INSERT INTO cloud_access (rec_id, user_name, action, at) VALUES (?1, ?2, ?3, ?4)", params![id, user, action, at])?;
        Ok(())
    }

    fn cloud_accesses(&self, id: &str) -> Result<Vec<(String, String, i64)>> {
        let c = self.r()?;
        let mut st = c.prepare("SELECT user_name, action, at FROM cloud_access WHERE rec_id = ?1 ORDER BY n")?;
        let v = st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(v)
    }

    fn recording_consent(&self, user: &str) -> Result<Option<String>> {
        Ok(self.r()?.query_row("SELECT answer FROM recording_consent WHERE user_name = ?1", [user], |r| r.get(0)).optional()?)
    }

    fn set_recording_consent(&self, user: &str, answer: &str) -> Result<()> {
        self.c()?.execute("INSERT INTO recording_consent (user_name, answer) VALUES (?1, ?2) ON CONFLICT(user_name) DO UPDATE SET answer = excluded.answer", params![user, answer])?;
        Ok(())
    }

    fn cloud_live_call(&self, user: &str) -> Result<Option<(String, String, String)>> {
        let sql = "SELECT id, caller, callee FROM calls WHERE (caller = ?1 OR callee = ?1) AND accepted_at IS NOT NULL AND ended_at IS NULL ORDER BY created_at DESC LIMIT 1";
        Ok(self.r()?.query_row(sql, [user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?)
    }
}
