//! The call router, sans IO: which device is in which call, what each
//! signaling request does, and the ring / grace timers. Inputs come in with
//! the time as a parameter; frames for connections and audit rows come out
//! of [`Router::poll_output`]. The driver (`driver.rs`) owns the channel,
//! the clock and the store. Account rules (user exists, blocks, stranger
//! control) are checked by the driver before an invite gets here, since they
//! need the store.
//!
//! Every request naming a call is checked against the requesting
//! *connection*: only the two devices bound to a call (and, while it rings,
//! the callee's ringing devices) may act on it, so nothing from a third
//! party is ever forwarded.

use onair_proto::*;
use std::collections::{HashMap, VecDeque};

pub type ConnId = u64;

#[derive(Debug, Clone)]
pub struct RouterConfig {
    pub ring_timeout_ms: i64,
    pub grace_ms: i64,
    pub require_consent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuditOp {
    Created { call_id: String, caller: String, callee: String, at: i64 },
    Accepted { call_id: String, at: i64 },
    Ended { call_id: String, reason: EndReason, at: i64 },
    Event { call_id: String, event: AuditEvent, by: String, at: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this frame on this connection.
    Send(ConnId, ServerFrame),
    /// Write this to the audit log.
    Audit(AuditOp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rec {
    Off,
    /// Consent mode: asked, waiting for the other side.
    Pending,
    On,
}

struct Call {
    users: [String; 2], // [caller, callee]
    /// The device of each side; None while that side's connection is lost
    /// (and, for the callee, before an answer).
    conns: [Option<ConnId>; 2],
    ringing: Vec<ConnId>,
    accepted: bool,
    ring_deadline: i64,
    /// When a side that lost its connection gives up the call.
    lost: [Option<i64>; 2],
    rec: [Rec; 2],
}

const CALLER: usize = 0;
const CALLEE: usize = 1;

struct Conn {
    user: String,
    call: Option<String>,
}

type R<T> = Result<T, (ErrorCode, String)>;

fn no<T>(code: ErrorCode, msg: impl Into<String>) -> R<T> {
    Err((code, msg.into()))
}

pub struct Router {
    cfg: RouterConfig,
    conns: HashMap<ConnId, Conn>,
    calls: HashMap<String, Call>,
    new_id: Box<dyn FnMut() -> String + Send>,
    out: VecDeque<Output>,
}

impl Router {
    /// `new_id` makes call ids (`c` + 16 hex digits; random in the relay).
    pub fn new(cfg: RouterConfig, new_id: Box<dyn FnMut() -> String + Send>) -> Self {
        Router { cfg, conns: HashMap::new(), calls: HashMap::new(), new_id, out: VecDeque::new() }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Calls in progress (ringing or accepted).
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// The earliest time [`Router::handle_timeout`] has something to do.
    pub fn next_deadline(&self) -> Option<i64> {
        self.calls
            .values()
            .flat_map(|c| [(!c.accepted).then_some(c.ring_deadline), c.lost[0], c.lost[1]])
            .flatten()
            .min()
    }

    /// Whether this call is in memory (ringing or accepted).
    pub fn knows(&self, call_id: &str) -> bool {
        self.calls.contains_key(call_id)
    }

    /// Whether connection `conn` is bound to a call (ringing or in one).
    pub fn in_call(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.call.is_some())
    }

    /// Takes back an answered call that this relay forgot (it restarted
    /// while the call went on peer to peer): the driver found it answered
    /// and not ended in the audit store. Both sides start as lost, each with
    /// the reconnect grace to `call_resume`; a side that does not come back
    /// in time ends the call as `peer_lost`, as after any lost connection.
    /// `recording` (caller, callee) comes from the audit's start/stop rows,
    /// so a side that resumes hears that the other is recording; a consent
    /// request that was waiting is lost (the requester may ask again).
    pub fn adopt(&mut self, now: i64, call_id: &str, caller: &str, callee: &str, recording: [bool; 2]) {
        if self.calls.contains_key(call_id) {
            return;
        }
        let lost = Some(now + self.cfg.grace_ms);
        self.calls.insert(
            call_id.to_string(),
            Call {
                users: [caller.to_string(), callee.to_string()],
                conns: [None, None],
                ringing: Vec::new(),
                accepted: true,
                ring_deadline: now,
                lost: [lost, lost],
                rec: recording.map(|on| if on { Rec::On } else { Rec::Off }),
            },
        );
    }

    pub fn opened(&mut self, conn: ConnId, user: &str) {
        self.conns.insert(conn, Conn { user: user.to_string(), call: None });
    }

    /// A connection closed. Before an answer this ends or narrows the call
    /// at once; an accepted call waits `grace_ms` for a `call_resume`.
    pub fn closed(&mut self, now: i64, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else { return };
        let Some(id) = c.call else { return };
        let Some(call) = self.calls.get_mut(&id) else { return };
        if !call.accepted {
            if call.conns[CALLER] == Some(conn) {
                let by = call.users[CALLER].clone();
                self.end(now, &id, EndReason::Cancelled, Some(by));
            } else {
                call.ringing.retain(|&r| r != conn);
                if call.ringing.is_empty() {
                    self.end(now, &id, EndReason::PeerLost, None);
                }
            }
            return;
        }
        let Some(side) = call.conns.iter().position(|&c| c == Some(conn)) else { return };
        call.conns[side] = None;
        call.lost[side] = Some(now + self.cfg.grace_ms);
        if let Some(other) = call.conns[1 - side] {
            self.send_ev(other, Event::CallPeer { call_id: id, connected: false });
        }
    }

    /// Ends rings past their timeout and calls whose lost side did not
    /// come back in time.
    pub fn handle_timeout(&mut self, now: i64) {
        let mut due = Vec::new();
        for (id, c) in &self.calls {
            if !c.accepted && now >= c.ring_deadline {
                due.push((id.clone(), EndReason::Timeout));
            } else if c.lost.iter().flatten().any(|&d| now >= d) {
                due.push((id.clone(), EndReason::PeerLost));
            }
        }
        for (id, reason) in due {
            self.end(now, &id, reason, None);
        }
    }

    /// The relay is stopping. Calls still ringing end (`shutdown`); answered
    /// calls do not: their media flows peer to peer, so the participants go
    /// on talking, reconnect, and resume them on the restarted relay, which
    /// takes them back from the audit record ([`Router::adopt`]).
    pub fn shutdown(&mut self, now: i64) {
        let ids: Vec<String> = self.calls.iter().filter(|(_, c)| !c.accepted).map(|(id, _)| id.clone()).collect();
        for id in ids {
            self.end(now, &id, EndReason::Shutdown, None);
        }
    }

    /// One call request from `conn` (already signed in). The answer (a
    /// `res` with `req_id`) is queued first, then any events it causes.
    pub fn request(&mut self, now: i64, conn: ConnId, req_id: u64, req: Request) {
        let mut events = Vec::new();
        // An ending call queues its `call_ended` frames straight away; the
        // answer still goes first.
        let mark = self.out.len();
        let res = self.dispatch(now, conn, req, &mut events);
        let frame = match res {
            Ok(r) => ServerFrame::ok(req_id, r),
            Err((code, msg)) => ServerFrame::err(req_id, code, msg),
        };
        self.out.insert(mark, Output::Send(conn, frame));
        self.out.extend(events);
    }

    fn dispatch(&mut self, now: i64, conn: ConnId, req: Request, ev: &mut Vec<Output>) -> R<Response> {
        let Some(me) = self.conns.get(&conn).map(|c| c.user.clone()) else {
            return no(ErrorCode::Unauthorized, "send hello first");
        };
        match req {
            Request::CallInvite { to, media } => self.invite(now, conn, &me, to, media, ev),
            Request::CallAccept { call_id } => {
                let call = self.ringing_for_callee(&call_id, conn, &me)?;
                call.accepted = true;
                call.conns[CALLEE] = Some(conn);
                let others: Vec<ConnId> = call.ringing.drain(..).filter(|&c| c != conn).collect();
                let caller = call.conns[CALLER];
                for o in others {
                    self.detach(o);
                    ev.push(ended(o, &call_id, EndReason::AnsweredElsewhere, Some(&me)));
                }
                if let Some(c) = caller {
                    ev.push(Output::Send(c, event(Event::CallAccepted { call_id: call_id.clone() })));
                }
                ev.push(Output::Audit(AuditOp::Accepted { call_id, at: now }));
                Ok(Response::Done)
            }
            Request::CallDecline { call_id } => {
                self.ringing_for_callee(&call_id, conn, &me)?;
                self.end(now, &call_id, EndReason::Declined, Some(me));
                Ok(Response::Done)
            }
            Request::CallCancel { call_id } => {
                let (side, call) = self.member(&call_id, conn, &me)?;
                if side != CALLER || call.accepted {
                    return no(ErrorCode::WrongState, "only the caller may cancel, before an answer; hang up instead");
                }
                self.end(now, &call_id, EndReason::Cancelled, Some(me));
                Ok(Response::Done)
            }
            Request::CallHangup { call_id } => {
                let (side, call) = self.member(&call_id, conn, &me)?;
                let reason = match (call.accepted, side) {
                    (true, _) => EndReason::Hangup,
                    (false, CALLER) => EndReason::Cancelled,
                    (false, _) => EndReason::Declined,
                };
                self.end(now, &call_id, reason, Some(me));
                Ok(Response::Done)
            }
            Request::CallResume { call_id } => self.resume(conn, &me, call_id, ev),
            Request::CallSdp { call_id, kind, sdp } => {
                let other = self.relay_target(&call_id, conn, &me)?;
                check_sdp(&sdp).map_err(|e| (ErrorCode::BadSdp, e.to_string()))?;
                if let Some(o) = other {
                    ev.push(Output::Send(o, event(Event::CallSdp { call_id, from: me, kind, sdp })));
                }
                Ok(Response::Done)
            }
            Request::CallIce { call_id, candidate } => {
                let other = self.relay_target(&call_id, conn, &me)?;
                if candidate.as_ref().is_some_and(|c| !check_candidate(c)) {
                    return no(ErrorCode::BadSdp, "not an ICE candidate line (candidate:…, at most 1 KiB)");
                }
                if let Some(o) = other {
                    ev.push(Output::Send(o, event(Event::CallIce { call_id, from: me, candidate })));
                }
                Ok(Response::Done)
            }
            Request::CallRecord { call_id, action } => self.record(now, conn, &me, call_id, action, ev),
            Request::CallConsent { call_id, accept } => self.consent(now, conn, &me, call_id, accept, ev),
            Request::CallMedia { call_id, muted, camera_off } => {
                // Forwarded as is: two booleans, nothing to check but membership.
                if let Some(o) = self.relay_target(&call_id, conn, &me)? {
                    ev.push(Output::Send(o, event(Event::CallMedia { call_id, from: me, muted, camera_off })));
                }
                Ok(Response::Done)
            }
            _ => no(ErrorCode::Invalid, "not a call signaling request"),
        }
    }

    fn invite(&mut self, now: i64, conn: ConnId, me: &str, to: String, media: Vec<MediaKind>, ev: &mut Vec<Output>) -> R<Response> {
        if to == me {
            return no(ErrorCode::Invalid, "you cannot call yourself");
        }
        if media.is_empty() || media.len() > 2 {
            return no(ErrorCode::Invalid, "media must list audio and/or video");
        }
        if self.conns.get(&conn).is_some_and(|c| c.call.is_some()) {
            return no(ErrorCode::Busy, "this device is already in a call");
        }
        let devices: Vec<ConnId> = self.conns.iter().filter(|(_, c)| c.user == to).map(|(&id, _)| id).collect();
        if devices.is_empty() {
            return no(ErrorCode::Offline, format!("{to} is not online"));
        }
        let mut free: Vec<ConnId> = devices.into_iter().filter(|id| self.conns[id].call.is_none()).collect();
        if free.is_empty() {
            return no(ErrorCode::Busy, format!("{to} is in another call"));
        }
        free.sort_unstable();
        let mut call_id = (self.new_id)();
        while self.calls.contains_key(&call_id) {
            call_id = (self.new_id)();
        }
        for &d in free.iter().chain([&conn]) {
            if let Some(c) = self.conns.get_mut(&d) {
                c.call = Some(call_id.clone());
            }
        }
        for &d in &free {
            ev.push(Output::Send(d, event(Event::CallIncoming { call_id: call_id.clone(), from: me.to_string(), media: media.clone() })));
        }
        ev.push(Output::Send(conn, event(Event::CallRinging { call_id: call_id.clone() })));
        ev.push(Output::Audit(AuditOp::Created { call_id: call_id.clone(), caller: me.to_string(), callee: to.clone(), at: now }));
        self.calls.insert(
            call_id.clone(),
            Call {
                users: [me.to_string(), to],
                conns: [Some(conn), None],
                ringing: free,
                accepted: false,
                ring_deadline: now + self.cfg.ring_timeout_ms,
                lost: [None, None],
                rec: [Rec::Off, Rec::Off],
            },
        );
        Ok(Response::Call { call_id })
    }

    fn resume(&mut self, conn: ConnId, me: &str, call_id: String, ev: &mut Vec<Output>) -> R<Response> {
        let busy = self.conns.get(&conn).is_some_and(|c| c.call.as_ref().is_some_and(|c| *c != call_id));
        let call = self.calls.get_mut(&call_id).ok_or((ErrorCode::NoSuchCall, "no such call (it may have ended)".to_string()))?;
        let Some(side) = call.users.iter().position(|u| u == me) else {
            return no(ErrorCode::NotParticipant, "not your call");
        };
        if !call.accepted {
            return no(ErrorCode::WrongState, "only an answered call can be resumed");
        }
        if call.conns[side] == Some(conn) {
            return Ok(Response::Done);
        }
        if call.conns[side].is_some() {
            return no(ErrorCode::NotParticipant, "the call is still connected on another device");
        }
        if busy {
            return no(ErrorCode::Busy, "this device is in another call");
        }
        call.conns[side] = Some(conn);
        call.lost[side] = None;
        let other = call.conns[1 - side];
        // Tell the returning side what it may have missed about recording.
        let (mine, theirs) = (call.rec[side], call.rec[1 - side]);
        let by_other = call.users[1 - side].clone();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.call = Some(call_id.clone());
        }
        if let Some(o) = other {
            ev.push(Output::Send(o, event(Event::CallPeer { call_id: call_id.clone(), connected: true })));
            if mine == Rec::Pending {
                ev.push(Output::Send(o, event(Event::CallConsentRequest { call_id: call_id.clone(), by: me.to_string() })));
            }
        }
        match theirs {
            Rec::On => ev.push(Output::Send(conn, event(Event::CallRecording { call_id, by: by_other, action: RecordAction::Start }))),
            Rec::Pending => ev.push(Output::Send(conn, event(Event::CallConsentRequest { call_id, by: by_other }))),
            Rec::Off => {}
        }
        Ok(Response::Done)
    }

    fn record(&mut self, now: i64, conn: ConnId, me: &str, call_id: String, action: RecordAction, ev: &mut Vec<Output>) -> R<Response> {
        let consent = self.cfg.require_consent;
        let (side, call) = self.member(&call_id, conn, me)?;
        if !call.accepted {
            return no(ErrorCode::WrongState, "the call has not been answered");
        }
        let other = call.conns[1 - side];
        let audit = |event| Output::Audit(AuditOp::Event { call_id: call_id.clone(), event, by: me.to_string(), at: now });
        let to_other = |ev: &mut Vec<Output>, e: Event| {
            if let Some(o) = other {
                ev.push(Output::Send(o, event(e)));
            }
        };
        match (action, call.rec[side]) {
            (RecordAction::Start, Rec::Off) if !consent => {
                call.rec[side] = Rec::On;
                ev.push(audit(AuditEvent::Start));
                to_other(ev, Event::CallRecording { call_id: call_id.clone(), by: me.to_string(), action: RecordAction::Start });
                Ok(Response::Recording { call_id, may_record: true })
            }
            (RecordAction::Start, Rec::Off) => {
                call.rec[side] = Rec::Pending;
                ev.push(audit(AuditEvent::Requested));
                to_other(ev, Event::CallConsentRequest { call_id: call_id.clone(), by: me.to_string() });
                Ok(Response::Recording { call_id, may_record: false })
            }
            (RecordAction::Start, _) => no(ErrorCode::WrongState, "already recording, or waiting for consent"),
            (RecordAction::Stop, Rec::Off) => no(ErrorCode::WrongState, "not recording"),
            (RecordAction::Stop, was) => {
                // Stopping a pending request withdraws it: the other side's
                // prompt goes away with the `stop`.
                call.rec[side] = Rec::Off;
                if was == Rec::On {
                    ev.push(audit(AuditEvent::Stop));
                }
                to_other(ev, Event::CallRecording { call_id: call_id.clone(), by: me.to_string(), action: RecordAction::Stop });
                Ok(Response::Done)
            }
        }
    }

    fn consent(&mut self, now: i64, conn: ConnId, me: &str, call_id: String, accept: bool, ev: &mut Vec<Output>) -> R<Response> {
        let (side, call) = self.member(&call_id, conn, me)?;
        let req = 1 - side;
        if call.rec[req] != Rec::Pending {
            return no(ErrorCode::WrongState, "no recording request is waiting for your answer");
        }
        let requester = call.users[req].clone();
        let req_conn = call.conns[req];
        call.rec[req] = if accept { Rec::On } else { Rec::Off };
        if let Some(c) = req_conn {
            ev.push(Output::Send(c, event(Event::CallConsentResult { call_id: call_id.clone(), by: me.to_string(), accepted: accept })));
        }
        if accept {
            ev.push(Output::Send(conn, event(Event::CallRecording { call_id: call_id.clone(), by: requester.clone(), action: RecordAction::Start })));
            ev.push(Output::Audit(AuditOp::Event { call_id, event: AuditEvent::Start, by: requester, at: now }));
        } else {
            ev.push(Output::Audit(AuditOp::Event { call_id, event: AuditEvent::Declined, by: me.to_string(), at: now }));
        }
        Ok(Response::Done)
    }

    /// The side `me` is on, if `conn` is the device bound to it.
    fn member(&mut self, call_id: &str, conn: ConnId, me: &str) -> R<(usize, &mut Call)> {
        let Some(call) = self.calls.get_mut(call_id) else {
            return no(ErrorCode::NoSuchCall, "no such call (it may have ended)");
        };
        let Some(side) = call.users.iter().position(|u| u == me) else {
            return no(ErrorCode::NotParticipant, "not your call");
        };
        let bound = call.conns[side] == Some(conn) || (side == CALLEE && !call.accepted && call.ringing.contains(&conn));
        if !bound {
            return no(ErrorCode::NotParticipant, "this call is on another of your devices");
        }
        Ok((side, call))
    }

    fn ringing_for_callee(&mut self, call_id: &str, conn: ConnId, me: &str) -> R<&mut Call> {
        let (side, call) = self.member(call_id, conn, me)?;
        if side != CALLEE || call.accepted {
            return no(ErrorCode::WrongState, "only a ringing callee may accept or decline");
        }
        Ok(call)
    }

    /// For SDP / ICE: the other side's device (None while it is away).
    fn relay_target(&mut self, call_id: &str, conn: ConnId, me: &str) -> R<Option<ConnId>> {
        let (side, call) = self.member(call_id, conn, me)?;
        if !call.accepted {
            return no(ErrorCode::WrongState, "SDP and ICE flow only after the call is answered");
        }
        Ok(call.conns[1 - side])
    }

    fn detach(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.call = None;
        }
    }

    fn end(&mut self, now: i64, call_id: &str, reason: EndReason, by: Option<String>) {
        let Some(call) = self.calls.remove(call_id) else { return };
        for side in [CALLER, CALLEE] {
            if call.rec[side] == Rec::On {
                self.out.push_back(Output::Audit(AuditOp::Event { call_id: call_id.into(), event: AuditEvent::Stop, by: call.users[side].clone(), at: now }));
            }
        }
        let mut to: Vec<ConnId> = call.conns.iter().flatten().copied().chain(call.ringing.iter().copied()).collect();
        to.dedup();
        for c in to {
            self.detach(c);
            self.out.push_back(ended(c, call_id, reason, by.as_deref()));
        }
        self.out.push_back(Output::Audit(AuditOp::Ended { call_id: call_id.into(), reason, at: now }));
    }

    fn send_ev(&mut self, conn: ConnId, ev: Event) {
        self.out.push_back(Output::Send(conn, event(ev)));
    }
}

fn event(ev: Event) -> ServerFrame {
    ServerFrame::Event { ev }
}

fn ended(conn: ConnId, call_id: &str, reason: EndReason, by: Option<&str>) -> Output {
    Output::Send(conn, event(Event::CallEnded { call_id: call_id.into(), reason, by: by.map(str::to_string) }))
}
