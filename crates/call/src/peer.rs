//! One WebRTC peer connection with our two send tracks (H.264 video, Opus
//! audio), and what it tells us (candidates, state, remote tracks) as a
//! stream of [`PeerEvent`]s on a bounded channel.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry,
    RTCStatsReportEntry, StatsSelector, MediaEngine,
};

use crate::codecs;
use crate::feedback::{Feedback, FeedbackTap};
use crate::error::{rtc_err, CallError, Result};

pub use onair_proto::{IceCandidate, IceServer};

/// How to set up the connection.
#[derive(Clone, Debug)]
pub struct PeerOptions {
    pub ice_servers: Vec<IceServer>,
    /// Use only TURN relay candidates (tests the TURN path; hides our address).
    pub relay_only: bool,
    /// The local address to gather host candidates on; `0.0.0.0` means every
    /// non-loopback interface.
    pub bind_ip: IpAddr,
    /// Where GCC's estimate starts (bit/s): the send's starting bitrate.
    pub start_bps: u64,
}

impl Default for PeerOptions {
    fn default() -> Self {
        PeerOptions { ice_servers: Vec::new(), relay_only: false, bind_ip: IpAddr::from([0, 0, 0, 0]), start_bps: 1_250_000 }
    }
}

/// What the connection reports.
pub enum PeerEvent {
    Candidate(IceCandidate),
    GatheringComplete,
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>, RtpCodecKind),
}

impl std::fmt::Debug for PeerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerEvent::Candidate(c) => write!(f, "Candidate({})", c.candidate),
            PeerEvent::GatheringComplete => write!(f, "GatheringComplete"),
            PeerEvent::State(s) => write!(f, "State({s})"),
            PeerEvent::Track(_, k) => write!(f, "Track({k})"),
        }
    }
}

struct Handler {
    tx: mpsc::Sender<PeerEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(c) => {
                let c = IceCandidate {
                    candidate: c.candidate,
                    sdp_mid: c.sdp_mid,
                    sdp_m_line_index: c.sdp_mline_index,
                    username_fragment: c.username_fragment,
                };
                let _ = self.tx.send(PeerEvent::Candidate(c)).await;
            }
            Err(e) => tracing::warn!("a local ICE candidate could not be encoded: {e}"),
        }
    }
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.tx.send(PeerEvent::GatheringComplete).await;
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(PeerEvent::State(state)).await;
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let _ = self.tx.send(PeerEvent::Track(track, kind)).await;
    }
}

/// The connection and our send tracks.
pub struct Peer {
    pc: Arc<dyn PeerConnection>,
    pub video: Arc<TrackLocalStaticSample>,
    pub audio: Arc<TrackLocalStaticSample>,
    pub video_ssrc: u32,
    pub audio_ssrc: u32,
    /// What the other side's RTCP says about our streams.
    pub feedback: Arc<Feedback>,
}

fn track(kind: RtpCodecKind, ssrc: u32, codec: rtc::rtp_transceiver::rtp_sender::RTCRtpCodec) -> Result<Arc<TrackLocalStaticSample>> {
    let t = MediaStreamTrack::new(
        "onair".into(),
        format!("onair-{kind}"),
        format!("onair {kind}"),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec,
            ..Default::default()
        }],
    );
    Ok(Arc::new(TrackLocalStaticSample::new(Instant::now(), t).map_err(rtc_err("creating a track"))?))
}

fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() as u32 | 1
}

/// webrtc-rs's default interceptors (NACK, TWCC feedback, RTCP reports),
/// with the NACK generator limited, plus the sender side of TWCC and our
/// estimator (`bwe.rs`; its estimate reaches the session through
/// `congestion::CongestionTap`).
fn interceptors(engine: &mut MediaEngine, start_bps: u64) -> Result<Registry> {
    use rtc::interceptor::{CongestionControlBuilder, NackGeneratorBuilder, NackResponderBuilder, Slot, TwccSenderBuilder};
    use webrtc::peer_connection::{configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only};
    // The codecs carry the nack / nack pli feedback lines themselves (codecs.rs).
    let registry = Registry::new()
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(Slot::NackGenerator, NackGeneratorBuilder::new().with_interval(crate::jitter::NACK_INTERVAL).with_max_nacks_per_packet(crate::jitter::MAX_NACKS).build());
    configure_simulcast_extension_headers(engine).map_err(rtc_err("setting up interceptors"))?;
    let registry = configure_twcc_receiver_only(registry, engine).map_err(rtc_err("setting up interceptors"))?;
    let bwe = crate::bwe::Estimator::new(start_bps as f64, 100_000.0, 20_000_000.0);
    let registry = registry
        .with(Slot::TwccSender, TwccSenderBuilder::new().build())
        .with(Slot::CongestionControl, CongestionControlBuilder::new(bwe).build());
    Ok(configure_rtcp_reports(registry))
}

impl Peer {
    /// Builds the connection (inside a tokio runtime) with both send tracks.
    pub async fn new(opts: &PeerOptions) -> Result<(Peer, mpsc::Receiver<PeerEvent>)> {
        Self::build(opts, true).await
    }

    /// A connection that only receives (a cloud recorder's end of a media
    /// leg): it answers what it is offered as recvonly.
    pub async fn receive_only(opts: &PeerOptions) -> Result<(Peer, mpsc::Receiver<PeerEvent>)> {
        Self::build(opts, false).await
    }

    async fn build(opts: &PeerOptions, send: bool) -> Result<(Peer, mpsc::Receiver<PeerEvent>)> {
        let mut engine = codecs::media_engine()?;
        let feedback = Arc::new(Feedback::default());
        // Wire-most (slot 500 < every default's), so it reads all inbound
        // RTCP before any interceptor consumes it.
        let registry = interceptors(&mut engine, opts.start_bps)?
            .with(rtc::interceptor::Slot::from(500), FeedbackTap::new(feedback.clone()))
            .with(rtc::interceptor::Slot::from(crate::congestion::SLOT), crate::congestion::CongestionTap::new(feedback.clone()));
        let servers = opts
            .ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone().unwrap_or_default(),
                credential: s.credential.clone().unwrap_or_default(),
            })
            .collect();
        let policy = if opts.relay_only { RTCIceTransportPolicy::Relay } else { RTCIceTransportPolicy::All };
        let config = RTCConfigurationBuilder::new().with_ice_servers(servers).with_ice_transport_policy(policy).build();
        // Candidates and state changes are few; tracks must never be lost.
        let (tx, rx) = mpsc::channel(256);
        let runtime = webrtc::runtime::default_runtime()
            .ok_or_else(|| CallError::WebRtc { what: "starting".into(), reason: "no async runtime".into() })?;
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler { tx }))
            .with_runtime(runtime)
            .with_udp_addrs(vec![std::net::SocketAddr::new(opts.bind_ip, 0)])
            .build()
            .await
            .map_err(rtc_err("creating the peer connection"))?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let (video_ssrc, audio_ssrc) = (random_u32(), random_u32().wrapping_add(7919));
        let video = track(RtpCodecKind::Video, video_ssrc, codecs::send_video_codec())?;
        let audio = track(RtpCodecKind::Audio, audio_ssrc, codecs::send_audio_codec())?;
        if send {
            pc.add_track(video.clone() as Arc<dyn TrackLocal>).await.map_err(rtc_err("adding the video track"))?;
            pc.add_track(audio.clone() as Arc<dyn TrackLocal>).await.map_err(rtc_err("adding the audio track"))?;
        }
        Ok((Peer { pc, video, audio, video_ssrc, audio_ssrc, feedback }, rx))
    }

    /// Creates an offer (an ICE restart when `restart_ice`) and sets it locally.
    pub async fn offer(&self, restart_ice: bool) -> Result<String> {
        if restart_ice {
            self.pc.restart_ice().await.map_err(rtc_err("restarting ICE"))?;
        }
        let opts = RTCOfferOptions { ice_restart: restart_ice, ..Default::default() };
        let offer = self.pc.create_offer(Some(opts)).await.map_err(rtc_err("creating an offer"))?;
        let sdp = offer.sdp.clone();
        self.pc.set_local_description(offer).await.map_err(rtc_err("setting the local offer"))?;
        Ok(sdp)
    }

    /// Takes the other side's offer and returns our answer (set locally).
    pub async fn answer(&self, offer_sdp: &str) -> Result<String> {
        let offer = RTCSessionDescription::offer(offer_sdp.to_string()).map_err(|e| CallError::Peer(format!("offer: {e}")))?;
        self.pc.set_remote_description(offer).await.map_err(|e| CallError::Peer(format!("offer refused: {e}")))?;
        let answer = self.pc.create_answer(None).await.map_err(rtc_err("creating an answer"))?;
        let sdp = answer.sdp.clone();
        self.pc.set_local_description(answer).await.map_err(rtc_err("setting the local answer"))?;
        Ok(sdp)
    }

    /// Takes the other side's answer to our offer.
    pub async fn accept_answer(&self, answer_sdp: &str) -> Result<()> {
        let answer = RTCSessionDescription::answer(answer_sdp.to_string()).map_err(|e| CallError::Peer(format!("answer: {e}")))?;
        self.pc.set_remote_description(answer).await.map_err(|e| CallError::Peer(format!("answer refused: {e}")))
    }

    /// The local description as it stands now (after ICE gathering: with
    /// every candidate, as a non-trickle offer or answer needs).
    pub async fn local_sdp(&self) -> Option<String> {
        self.pc.local_description().await.map(|d| d.sdp)
    }

    pub async fn add_candidate(&self, c: &IceCandidate) -> Result<()> {
        let init = RTCIceCandidateInit {
            candidate: c.candidate.clone(),
            sdp_mid: c.sdp_mid.clone(),
            sdp_mline_index: c.sdp_m_line_index,
            username_fragment: c.username_fragment.clone(),
            ..Default::default()
        };
        self.pc.add_ice_candidate(init).await.map_err(|e| CallError::Peer(format!("ICE candidate refused: {e}")))
    }

    /// Payload types the answer settled on for our video and audio senders.
    pub async fn send_payload_types(&self) -> Result<(u8, u8)> {
        let mut video = None;
        let mut audio = None;
        for s in self.pc.get_senders().await {
            let p = s.get_parameters().await.map_err(rtc_err("reading sender parameters"))?;
            for c in &p.rtp_parameters.codecs {
                if c.rtp_codec.mime_type.eq_ignore_ascii_case(codecs::MIME_H264) && video.is_none() {
                    video = Some(c.payload_type);
                }
                if c.rtp_codec.mime_type.eq_ignore_ascii_case(codecs::MIME_OPUS) && audio.is_none() {
                    audio = Some(c.payload_type);
                }
            }
        }
        match (video, audio) {
            (Some(v), Some(a)) => Ok((v, a)),
            _ => Err(CallError::Peer("the other side accepted neither H.264 nor Opus".into())),
        }
    }

    /// One reading of the connection's statistics.
    pub async fn stats(&self) -> NetReading {
        let now = Instant::now();
        let report = self.pc.get_stats(now, StatsSelector::None).await;
        let mut r = NetReading::default();
        // Loss and RTT from the other side's reception reports (our tap;
        // webrtc-rs's remote-inbound figures stay zero). Reports come about
        // once a second; an older one no longer describes the path.
        for ssrc in [self.video_ssrc, self.audio_ssrc] {
            if let Some(rep) = self.feedback.report(ssrc, now, std::time::Duration::from_secs(5)) {
                r.loss = r.loss.max(rep.fraction_lost);
                if let Some(rtt) = rep.rtt {
                    r.rtt_s = Some(r.rtt_s.map_or(rtt.as_secs_f64(), |x: f64| x.max(rtt.as_secs_f64())));
                }
            }
        }
        // The pair carrying the media: the nominated one, else the busiest.
        let mut local_pair_candidate = None;
        let mut best = (false, 0u64);
        for e in report.iter() {
            if let RTCStatsReportEntry::IceCandidatePair(p) = e {
                let rank = (p.nominated, p.packets_sent + p.packets_received);
                if local_pair_candidate.is_none() || rank > best {
                    best = rank;
                    local_pair_candidate = Some(p.local_candidate_id.clone());
                }
            }
        }
        for e in report.iter() {
            match e {
                RTCStatsReportEntry::RemoteInboundRtp(s) => {
                    if s.round_trip_time_measurements > 0 {
                        r.rtt_s = Some(r.rtt_s.map_or(s.round_trip_time, |x: f64| x.max(s.round_trip_time)));
                    }
                    r.loss = r.loss.max(s.fraction_lost);
                }
                RTCStatsReportEntry::IceCandidatePair(p) if p.nominated => {
                    if r.rtt_s.is_none() && p.current_round_trip_time > 0.0 {
                        r.pair_rtt_s = Some(p.current_round_trip_time);
                    }
                }
                RTCStatsReportEntry::InboundRtp(s) => {
                    // Interarrival jitter is in RTP timestamp units (RFC 3550).
                    let clock = match s.received_rtp_stream_stats.rtp_stream_stats.kind {
                        RtpCodecKind::Video => 90_000.0,
                        _ => 48_000.0,
                    };
                    r.jitter_s = r.jitter_s.max(s.received_rtp_stream_stats.jitter / clock);
                    r.bytes_received += s.bytes_received;
                    r.packets_lost += s.received_rtp_stream_stats.packets_lost.max(0) as u64;
                    r.packets_received += s.received_rtp_stream_stats.packets_received;
                }
                RTCStatsReportEntry::OutboundRtp(s) => {
                    r.bytes_sent += s.sent_rtp_stream_stats.bytes_sent;
                }
                RTCStatsReportEntry::LocalCandidate(c) if local_pair_candidate.as_deref() == Some(e.id()) => {
                    r.local_candidate_type = Some(format!("{:?}", c.candidate_type).to_lowercase());
                }
                _ => {}
            }
        }
        r
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// Raw figures from one stats reading; [`crate::quality`] turns a series of
/// them into rates and a score.
#[derive(Clone, Debug, Default)]
pub struct NetReading {
    /// Round-trip time from RTCP receiver reports.
    pub rtt_s: Option<f64>,
    /// Round-trip time of the ICE pair (STUN), when no RTCP RTT exists yet.
    pub pair_rtt_s: Option<f64>,
    /// Fraction of our packets the other side reports lost (last report).
    pub loss: f64,
    /// Interarrival jitter of what we receive.
    pub jitter_s: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub packets_received: u64,
    pub packets_lost: u64,
    /// Type of our candidate in the nominated pair (`host`, `srflx`, `relay`…).
    pub local_candidate_type: Option<String>,
}
