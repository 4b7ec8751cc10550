//! Calls in storage: the audit record of each call (participants, answer,
//! end, and every recording start / stop / request / decline). Live call
//! state is not stored: it lives in the call router and ends with the
//! process.

use super::Result;
use onair_proto::{AuditEvent, CallAudit, EndReason};

pub trait CallStore {
    fn call_created(&self, id: &str, caller: &str, callee: &str, at: i64) -> Result<()>;
    fn call_accepted(&self, id: &str, at: i64) -> Result<()>;
    fn call_ended(&self, id: &str, reason: EndReason, at: i64) -> Result<()>;
    /// Appends one audit event; events read back in the order written.
    fn call_event(&self, id: &str, event: AuditEvent, by: &str, at: i64) -> Result<()>;
    fn call_audit(&self, id: &str) -> Result<Option<CallAudit>>;
}

/// The wire name of a unit enum variant (`"start"`, `"peer_lost"`), as
/// stored in the database.
pub(crate) fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub(crate) fn parse_name<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// The behaviour every backend's call audit must show (part of the
/// conformance suite; `ann` and `cat` must exist).
pub fn conformance(s: &dyn super::Store) {
    use onair_proto::AuditEntry;
    assert_eq!(s.call_audit("c0000000000000001").unwrap(), None);
    s.call_created("c0000000000000001", "ann", "cat", 10).unwrap();
    let a = s.call_audit("c0000000000000001").unwrap().unwrap();
    assert_eq!((a.caller.as_str(), a.callee.as_str(), a.created_at, a.accepted_at, a.ended_at), ("ann", "cat", 10, None, None));
    assert!(a.events.is_empty());
    s.call_accepted("c0000000000000001", 11).unwrap();
    s.call_event("c0000000000000001", AuditEvent::Requested, "cat", 12).unwrap();
    s.call_event("c0000000000000001", AuditEvent::Start, "cat", 13).unwrap();
    s.call_event("c0000000000000001", AuditEvent::Stop, "cat", 13).unwrap();
    s.call_event("c0000000000000001", AuditEvent::Declined, "ann", 14).unwrap();
    s.call_ended("c0000000000000001", EndReason::PeerLost, 20).unwrap();
    let a = s.call_audit("c0000000000000001").unwrap().unwrap();
    assert_eq!((a.accepted_at, a.ended_at, a.end_reason), (Some(11), Some(20), Some(EndReason::PeerLost)));
    let e = |event, by: &str, at| AuditEntry { event, by: by.into(), at };
    assert_eq!(a.events, [e(AuditEvent::Requested, "cat", 12), e(AuditEvent::Start, "cat", 13), e(AuditEvent::Stop, "cat", 13), e(AuditEvent::Declined, "ann", 14)], "in the order written, even at equal times");
    assert_eq!(name_of(&EndReason::AnsweredElsewhere), "answered_elsewhere");
    assert_eq!(parse_name::<AuditEvent>("declined"), Some(AuditEvent::Declined));
}
