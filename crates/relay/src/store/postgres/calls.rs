//! PostgreSQL call audit.

use super::super::calls::{name_of, parse_name, CallStore};
use super::super::Result;
use super::PostgresStore;
use crate::error::StoreError;
use onair_proto::{AuditEntry, AuditEvent, CallAudit, EndReason};

impl CallStore for PostgresStore {
    fn call_created(&self, id: &str, caller: &str, callee: &str, at: i64) -> Result<()> {
        self.run(|db| {
            db.exec(
                "INSERT INTO calls (id, caller, callee, created_at) VALUES ($1, $2, $3, $4)",
                &[&id, &caller, &callee, &at],
            )
        })?;
        Ok(())
    }

    fn call_accepted(&self, id: &str, at: i64) -> Result<()> {
        self.run(|db| {
            db.exec(
                "UPDATE calls SET accepted_at = $2 WHERE id = $1",
                &[&id, &at],
            )
        })?;
        Ok(())
    }

    fn call_ended(&self, id: &str, reason: EndReason, at: i64) -> Result<()> {
        let reason = name_of(&reason);
        self.run(|db| {
            db.exec(
                "UPDATE calls SET ended_at = $2, end_reason = $3 WHERE id = $1",
                &[&id, &at, &reason],
            )
        })?;
        Ok(())
    }

    fn call_event(&self, id: &str, event: AuditEvent, by: &str, at: i64) -> Result<()> {
        let event = name_of(&event);
        self.run(|db| {
            db.exec(
                "INSERT INTO call_events (call_id, event, by_user, at) VALUES ($1, $2, $3, $4)",
                &[&id, &event, &by, &at],
            )
        })?;
        Ok(())
    }

    fn call_audit(&self, id: &str) -> Result<Option<CallAudit>> {
        let (head, rows) = self.run(|db| {
            let head = db.opt("SELECT caller, callee, created_at, accepted_at, ended_at, end_reason FROM calls WHERE id = $1", &[&id])?;
            let rows = if head.is_some() { db.rows("SELECT event, by_user, at FROM call_events WHERE call_id = $1 ORDER BY n", &[&id])? } else { Vec::new() };
            Ok((head, rows))
        })?;
        let Some(h) = head else { return Ok(None) };
        let reason: Option<String> = h.try_get(5)?;
        let end_reason = match reason {
            Some(r) => Some(
                parse_name::<EndReason>(&r)
                    .ok_or_else(|| StoreError::Corrupt(format!("call end reason {r:?}")))?,
            ),
            None => None,
        };
        let mut events = Vec::with_capacity(rows.len());
        for r in rows {
            let ev: String = r.try_get(0)?;
            let event = parse_name::<AuditEvent>(&ev)
                .ok_or_else(|| StoreError::Corrupt(format!("call event {ev:?}")))?;
            events.push(AuditEntry {
                event,
                by: r.try_get(1)?,
                at: r.try_get(2)?,
            });
        }
        Ok(Some(CallAudit {
            call_id: id.to_string(),
            caller: h.try_get(0)?,
            callee: h.try_get(1)?,
            created_at: h.try_get(2)?,
            accepted_at: h.try_get(3)?,
            ended_at: h.try_get(4)?,
            end_reason,
            events,
        }))
    }
}
