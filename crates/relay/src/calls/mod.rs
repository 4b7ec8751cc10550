//! 1:1 call signaling (issue 5): the relay routes invites, answers, SDP and
//! trickled ICE between the two devices of a call, enforces the ring
//! timeout and the reconnect grace, hands out STUN/TURN servers, asks for
//! recording consent and keeps the recording audit.
//!
//! - [`router`]: the sans-IO rules and timers (`request` / `opened` /
//!   `closed` / `handle_timeout(now)`, outputs via `poll_output`).
//! - [`driver`]: one task owns the router, its clock and the audit writes;
//!   WebSocket sessions feed it through a bounded channel, and it answers
//!   through each connection's queue in the [`crate::hub::Hub`].
//! - [`turn`]: ICE servers and coturn REST-API credentials.
//! - [`web`]: `GET /v1/calls/<id>/audit` and the browser guest page `/call`.
//!
//! ```text
//! ws.rs: SignedIn -> Msg::Opened; call op -> Msg::Request; socket end -> Msg::Closed
//! driver: loop { select(msg, sleep_until(router.next_deadline())) -> router
//!                while let Some(out) = router.poll_output() { hub.send_to | store audit } }
//! ```

pub mod driver;
pub mod router;
pub mod turn;
pub mod web;

#[cfg(test)]
mod tests;

pub use driver::{direct, Calls, Msg};

use onair_proto::Request;

/// Whether a request belongs to the call driver rather than `logic::handle`.
pub fn is_call_op(req: &Request) -> bool {
    matches!(
        req,
        Request::CallInvite { .. }
            | Request::CallAccept { .. }
            | Request::CallDecline { .. }
            | Request::CallCancel { .. }
            | Request::CallHangup { .. }
            | Request::CallResume { .. }
            | Request::CallSdp { .. }
            | Request::CallIce { .. }
            | Request::CallRecord { .. }
            | Request::CallConsent { .. }
            | Request::CallMedia { .. }
            | Request::IceServers
            | Request::CallAudit { .. }
    )
}
