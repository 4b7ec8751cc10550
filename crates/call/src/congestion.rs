//! Our congestion-control seam in webrtc-rs's interceptor chain, between
//! the NACK responder (app-ward) and the TWCC sender and GCC (wire-ward):
//!
//! ```text
//!  app ─▶ NACK responder (4000) ─▶ [CongestionTap 3500: resend cap] ─▶ TWCC seq (2000) ─▶ GCC history (1000) ─▶ FeedbackTap (500) ─▶ wire
//!  app ◀─ …                      ◀─ [CongestionTap: read GCC's target] ◀──────────────── GCC: TWCC feedback → estimate ◀─ wire
//! ```
//!
//! Resends over their budget ([`crate::resend`]) are dropped here, before
//! they get a transport-wide number, so GCC's history holds only what went
//! out. GCC's estimate rides the read leg as an attribute on the feedback
//! packet that produced it; this reads it into [`Feedback::gcc_bps`] for the
//! session, which lets it cap the encoder's target. No pacer: the encoder's
//! own rate control is the pacing, and a pacer at the estimate would queue
//! every keyframe.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Attribute, Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

use crate::feedback::Feedback;

/// Where it sits: app-ward of GCC, the TWCC sender and the pacer's slot, wire-ward of the NACK responder.
pub const SLOT: usize = 3_500;

pub struct CongestionTap {
    shared: Arc<Feedback>,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl CongestionTap {
    pub fn new(shared: Arc<Feedback>) -> Self {
        CongestionTap { shared, read_queue: VecDeque::new(), write_queue: VecDeque::new() }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for CongestionTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Some(Attribute::TargetBitrateChanged { bits_per_second }) = msg.message.get(&Attribute::TargetBitrateChanged { bits_per_second: 0.0 }) {
            if bits_per_second.is_finite() && *bits_per_second > 0.0 {
                self.shared.gcc_bps.store(*bits_per_second as u64, Ordering::Relaxed);
            }
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtp(p) = &msg.message.packet {
            if !self.shared.may_send(p.header.ssrc, p.header.sequence_number, p.payload.len() + 12, msg.now) {
                return Ok(()); // a resend over budget: dropped here
            }
        }
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for CongestionTap {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        if let Some(rtx) = info.ssrc_rtx {
            self.shared.rtx_ssrc(rtx);
        }
    }
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
