//! The codecs a call offers and accepts.
//!
//! Video is H.264 only (our engine's encoder). Browsers name the same codec
//! under several profiles: Chrome offers constrained baseline (`42e01f`),
//! baseline (`42001f`), main (`4d001f`) and high (`640c1f`/`64001f`), each in
//! packetization mode 1 and some in mode 0; Safari offers `42e01f` and
//! `640c1f`. We register all of them so negotiation succeeds whichever the
//! other side prefers. What we *send* is always constrained baseline in
//! packetization mode 1 (see `EncodingConfig::realtime`): every profile above
//! decodes it, so the choice made by the answer never changes our encoder.
//! Audio is Opus at 48 kHz stereo (`minptime=10;useinbandfec=1`, as browsers).

use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use webrtc::peer_connection::MediaEngine;

use crate::error::{CallError, Result};

pub const MIME_H264: &str = "video/H264";
pub const MIME_OPUS: &str = "audio/opus";
/// The codec of the video we send.
pub const SEND_H264_FMTP: &str = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
/// Payload type of our Opus (the number browsers use).
pub const OPUS_PT: u8 = 111;

/// `(payload type, fmtp)` of every H.264 variant we accept, most preferred first.
pub const H264_VARIANTS: &[(u8, &str)] = &[
    (125, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
    (102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"),
    (112, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"),
    (114, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f"),
    (116, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f"),
    // Mode 0 (one NAL unit per packet): receivable as is; we never send it.
    (108, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"),
    (127, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f"),
];

fn video_feedback() -> Vec<RTCPFeedback> {
    [("goog-remb", ""), ("ccm", "fir"), ("nack", ""), ("nack", "pli")]
        .iter()
        .map(|(t, p)| RTCPFeedback { typ: t.to_string(), parameter: p.to_string() })
        .collect()
}

/// The codec of the video track we send.
pub fn send_video_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_H264.into(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: SEND_H264_FMTP.into(),
        rtcp_feedback: video_feedback(),
    }
}

/// The codec of the audio track we send.
pub fn send_audio_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_OPUS.into(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
        rtcp_feedback: vec![],
    }
}

/// A media engine with every codec above registered.
pub fn media_engine() -> Result<MediaEngine> {
    let mut m = MediaEngine::default();
    let err = |e: webrtc::error::Error| CallError::WebRtc { what: "registering codecs".into(), reason: e.to_string() };
    m.register_codec(RTCRtpCodecParameters { rtp_codec: send_audio_codec(), payload_type: OPUS_PT }, RtpCodecKind::Audio)
        .map_err(err)?;
    for (pt, fmtp) in H264_VARIANTS {
        let rtp_codec = RTCRtpCodec { sdp_fmtp_line: fmtp.to_string(), ..send_video_codec() };
        m.register_codec(RTCRtpCodecParameters { rtp_codec, payload_type: *pt }, RtpCodecKind::Video).map_err(err)?;
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    #[test]
    fn registers_every_profile() {
        let profiles: Vec<&str> = super::H264_VARIANTS.iter().map(|(_, f)| &f[f.len() - 6..]).collect();
        for p in ["42e01f", "42001f", "4d001f", "640c1f"] {
            assert!(profiles.contains(&p), "{p} missing");
        }
        super::media_engine().expect("codecs register");
    }
}
