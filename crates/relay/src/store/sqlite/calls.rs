//! SQLite call audit (migration 0003).

use super::super::calls::{name_of, parse_name, CallStore};
use super::super::Result;
use super::SqliteStore;
use crate::error::StoreError;
use onair_proto::{AuditEntry, AuditEvent, CallAudit, EndReason};
use rusqlite::{params, OptionalExtension};

impl CallStore for SqliteStore {
    fn call_created(&self, id: &str, caller: &str, callee: &str, at: i64) -> Result<()> {
        self.c()?.execute("INSERT INTO calls (id, caller, callee, created_at) VALUES (?1, ?2, ?3, ?4)", params![id, caller, callee, at])?;
        Ok(())
    }

    fn call_accepted(&self, id: &str, at: i64) -> Result<()> {
        self.c()?.execute("UPDATE calls SET accepted_at = ?2 WHERE id = ?1", params![id, at])?;
        Ok(())
    }

    fn call_ended(&self, id: &str, reason: EndReason, at: i64) -> Result<()> {
        self.c()?.execute("UPDATE calls SET ended_at = ?2, end_reason = ?3 WHERE id = ?1", params![id, at, name_of(&reason)])?;
        Ok(())
    }

    fn call_event(&self, id: &str, event: AuditEvent, by: &str, at: i64) -> Result<()> {
        self.c()?.execute("INSERT INTO call_events (call_id, event, by_user, at) VALUES (?1, ?2, ?3, ?4)", params![id, name_of(&event), by, at])?;
        Ok(())
    }

    fn call_audit(&self, id: &str) -> Result<Option<CallAudit>> {
        let c = self.r()?;
        let head = c
            .query_row("SELECT caller, callee, created_at, accepted_at, ended_at, end_reason FROM calls WHERE id = ?1", [id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<i64>>(3)?, r.get::<_, Option<i64>>(4)?, r.get::<_, Option<String>>(5)?))
            })
            .optional()?;
        let Some((caller, callee, created_at, accepted_at, ended_at, reason)) = head else { return Ok(None) };
        let end_reason = match reason {
            Some(r) => Some(parse_name::<EndReason>(&r).ok_or_else(|| StoreError::Corrupt(format!("call end reason {r:?}")))?),
            None => None,
        };
        let mut st = c.prepare("SELECT event, by_user, at FROM call_events WHERE call_id = ?1 ORDER BY n")?;
        let rows = st.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut events = Vec::with_capacity(rows.len());
        for (ev, by, at) in rows {
            let event = parse_name::<AuditEvent>(&ev).ok_or_else(|| StoreError::Corrupt(format!("call event {ev:?}")))?;
            events.push(AuditEntry { event, by, at });
        }
        Ok(Some(CallAudit { call_id: id.to_string(), caller, callee, created_at, accepted_at, ended_at, end_reason, events }))
    }
}
