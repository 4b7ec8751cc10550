//! PostgreSQL cloud recordings (migration 0003_cloud_recordings).

use super::super::cloud::{CloudMark, CloudRow, CloudStore};
use super::super::Result;
use super::PostgresStore;
use ::postgres::Row;

macro_rules! cols {
    () => {
        "id, call_id, caller, callee, started_by, tier, state, created_at, ended_at, duration_ms, bytes, wrapped_key, pinned"
    };
}

fn row(r: &Row) -> Result<CloudRow> {
    Ok(CloudRow {
        id: r.try_get(0)?,
        call_id: r.try_get(1)?,
        caller: r.try_get(2)?,
        callee: r.try_get(3)?,
        started_by: r.try_get(4)?,
        tier: r.try_get(5)?,
        state: r.try_get(6)?,
        created_at: r.try_get(7)?,
        ended_at: r.try_get(8)?,
        duration_ms: r.try_get(9)?,
        bytes: r.try_get(10)?,
        wrapped_key: r.try_get(11)?,
        pinned: r.try_get::<_, i64>(12)? != 0,
    })
}

impl CloudStore for PostgresStore {
    fn cloud_create(&self, r: &CloudRow) -> Result<()> {
        let pinned = r.pinned as i64;
        self.run(|db| {
            db.exec(
                concat!("INSERT INTO cloud_recordings (", cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"),
                &[&r.id, &r.call_id, &r.caller, &r.callee, &r.started_by, &r.tier, &r.state, &r.created_at, &r.ended_at, &r.duration_ms, &r.bytes, &r.wrapped_key, &pinned],
            )
        })?;
        Ok(())
    }

    fn cloud_get(&self, id: &str) -> Result<Option<CloudRow>> {
        let r = self.run(|db| db.opt(concat!("SELECT ", cols!(), " FROM cloud_recordings WHERE id = $1"), &[&id]))?;
        r.as_ref().map(row).transpose()
    }

    fn cloud_list(&self, user: &str) -> Result<Vec<CloudRow>> {
        let rows = self.run(|db| db.rows(concat!("SELECT ", cols!(), " FROM cloud_recordings WHERE caller = $1 OR callee = $1 ORDER BY created_at DESC, id DESC"), &[&user]))?;
        rows.iter().map(row).collect()
    }

    fn cloud_unfinished(&self) -> Result<Vec<CloudRow>> {
        let rows = self.run(|db| db.rows(concat!("SELECT ", cols!(), " FROM cloud_recordings WHERE state IN ('recording', 'pending') ORDER BY created_at"), &[]))?;
        rows.iter().map(row).collect()
    }

    fn cloud_finish(&self, id: &str, state: &str, ended_at: Option<i64>, duration_ms: i64, bytes: i64) -> Result<()> {
        self.run(|db| db.exec("UPDATE cloud_recordings SET state = $2, ended_at = $3, duration_ms = $4, bytes = $5 WHERE id = $1", &[&id, &state, &ended_at, &duration_ms, &bytes]))?;
        Ok(())
    }

    fn cloud_pin(&self, id: &str, pinned: bool) -> Result<()> {
        let p = pinned as i64;
        self.run(|db| db.exec("UPDATE cloud_recordings SET pinned = $2 WHERE id = $1", &[&id, &p]))?;
        Ok(())
    }

    fn cloud_delete(&self, id: &str) -> Result<()> {
        self.tx(|db| {
            db.exec("DELETE FROM cloud_bookmarks WHERE rec_id = $1", &[&id])?;
            db.exec("DELETE FROM cloud_recordings WHERE id = $1", &[&id])
        })?;
        Ok(())
    }

    fn cloud_expired(&self, before: i64) -> Result<Vec<String>> {
        self.run(|db| db.strings("SELECT id FROM cloud_recordings WHERE pinned = 0 AND ended_at IS NOT NULL AND ended_at < $1 ORDER BY ended_at", &[&before]))
    }

    fn cloud_bookmark(&self, id: &str, m: &CloudMark) -> Result<()> {
        self.run(|db| db.exec("INSERT INTO cloud_bookmarks (rec_id, t_ms, by_user, label) VALUES ($1, $2, $3, $4)", &[&id, &m.t_ms, &m.by, &m.label]))?;
        Ok(())
    }

    fn cloud_bookmarks(&self, id: &str) -> Result<Vec<CloudMark>> {
        let rows = self.run(|db| db.rows("SELECT t_ms, by_user, label FROM cloud_bookmarks WHERE rec_id = $1 ORDER BY t_ms, n", &[&id]))?;
        rows.iter().map(|r| Ok(CloudMark { t_ms: r.try_get(0)?, by: r.try_get(1)?, label: r.try_get(2)? })).collect()
    }

    fn cloud_access(&self, id: &str, user: &str, action: &str, at: i64) -> Result<()> {
        self.run(|db| db.exec("INSERT INTO cloud_access (rec_id, user_name, action, at) VALUES ($1, $2, $3, $4)", &[&id, &user, &action, &at]))?;
        Ok(())
    }

    fn cloud_accesses(&self, id: &str) -> Result<Vec<(String, String, i64)>> {
        let rows = self.run(|db| db.rows("SELECT user_name, action, at FROM cloud_access WHERE rec_id = $1 ORDER BY n", &[&id]))?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    fn recording_consent(&self, user: &str) -> Result<Option<String>> {
        let r = self.run(|db| db.opt("SELECT answer FROM recording_consent WHERE user_name = $1", &[&user]))?;
        Ok(r.map(|r| r.try_get(0)).transpose()?)
    }

    fn set_recording_consent(&self, user: &str, answer: &str) -> Result<()> {
        self.run(|db| db.exec("INSERT INTO recording_consent (user_name, answer) VALUES ($1, $2) ON CONFLICT (user_name) DO UPDATE SET answer = EXCLUDED.answer", &[&user, &answer]))?;
        Ok(())
    }

    fn cloud_live_call(&self, user: &str) -> Result<Option<(String, String, String)>> {
        let r = self.run(|db| db.opt("SELECT id, caller, callee FROM calls WHERE (caller = $1 OR callee = $1) AND accepted_at IS NOT NULL AND ended_at IS NULL ORDER BY created_at DESC LIMIT 1", &[&user]))?;
        r.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).transpose()
    }
}
