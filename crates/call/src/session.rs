//! The media side of one call: the peer connection, the send path, the
//! receivers, quality and congestion control. The call driver feeds it peer
//! events and ticks it; it knows nothing about signaling.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::media::Sample;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::Result;
use crate::peer::{NetReading, Peer, PeerEvent, PeerOptions};
use crate::quality::{self, BitrateController, RateMeter};
use crate::recv::{self, RecvStats};
use crate::rungs::{Ladder, Step};
use crate::send::{LocalMedia, Outgoing, SendConfig, SendStats};
use crate::tap::Tap;

/// The latest network figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NetQuality {
    pub rtt_ms: Option<f64>,
    pub loss: f64,
    pub jitter_ms: f64,
    pub send_kbps: f64,
    pub recv_kbps: f64,
    pub target_kbps: u32,
    /// GCC's estimate of the whole send (kbit/s), once TWCC feedback came.
    pub gcc_kbps: Option<u32>,
    pub quality_score: f64,
    pub band: Option<quality::Band>,
    /// Our side of the selected ICE pair: `host`, `srflx`, `prflx` or `relay`.
    pub candidate_type: Option<String>,
    /// Each change of the picture size we send, in order.
    pub size_steps: Vec<Step>,
}

pub struct MediaSession {
    pub peer: Arc<Peer>,
    pub local: LocalMedia,
    pub recv: Arc<RecvStats>,
    pub tap: Tap,
    out_rx: Option<mpsc::Receiver<Outgoing>>,
    writer: Option<JoinHandle<()>>,
    controller: BitrateController,
    /// The picture size for the target (None until sending starts).
    ladder: Option<Ladder>,
    size: (u32, u32),
    meter: RateMeter,
    started: Instant,
    pub net: NetQuality,
    got_video: bool,
    got_audio: bool,
    /// Play the other side's sound on the speaker (set before tracks arrive).
    pub play_audio: bool,
    audio_kbps: u32,
    /// The cloud recorder's media leg, while the server records: the
    /// writer sends each encoded sample to it too (no second encode).
    pub leg: crate::cloud::LegSlot,
    /// The leg's publisher (None: no server recording).
    leg_task: Option<JoinHandle<()>>,
    peer_opts: PeerOptions,
}

impl MediaSession {
    /// Opens the sources (failing fast) and the peer connection. Call inside a tokio runtime.
    pub async fn new(peer_opts: &PeerOptions, send: SendConfig) -> Result<(MediaSession, mpsc::Receiver<PeerEvent>)> {
        let (out_tx, out_rx) = mpsc::channel(64);
        let tap = Tap::default();
        let controller = BitrateController::new(send.video_kbps, send.min_video_kbps, send.max_video_kbps);
        let (audio_kbps, start_bps) = (send.audio_kbps, u64::from(send.video_kbps + send.audio_kbps) * 1000);
        let size = (send.width, send.height);
        let local = LocalMedia::start(send, out_tx, tap.clone())?;
        let peer_opts = PeerOptions { start_bps, ..peer_opts.clone() };
        let (peer, events) = Peer::new(&peer_opts).await?;
        let leg_opts = peer_opts.clone();
        // The peer's PLI/FIR make our next frame a keyframe at once.
        peer.feedback.on_keyframe_request(local.keyframe_flag());
        peer.feedback.target_bps.store(start_bps, Ordering::Relaxed);
        // The estimate starts where the send does; webrtc-rs announces it
        // only when it changes (at 10 % loss it may hold there all call).
        peer.feedback.gcc_bps.store(start_bps, Ordering::Relaxed);
        let s = MediaSession {
            peer: Arc::new(peer),
            local,
            recv: Arc::default(),
            tap,
            out_rx: Some(out_rx),
            writer: None,
            controller,
            ladder: None,
            size,
            meter: RateMeter::default(),
            started: Instant::now(),
            net: NetQuality::default(),
            got_video: false,
            got_audio: false,
            play_audio: false,
            audio_kbps,
            leg: Default::default(),
            leg_task: None,
            peer_opts: leg_opts,
        };
        Ok((s, events))
    }

    pub fn send_stats(&self) -> &SendStats {
        &self.local.stats
    }

    /// Handles what the peer connection reported (remote tracks start their
    /// receivers). Returns true when the connection just came up.
    pub async fn on_peer_event(&mut self, ev: PeerEvent) -> Result<()> {
        if let PeerEvent::Track(track, kind) = ev {
            match kind {
                RtpCodecKind::Video if !self.got_video => {
                    self.got_video = true;
                    recv::spawn_video(track, self.recv.clone(), self.tap.clone(), None)?;
                }
                RtpCodecKind::Audio if !self.got_audio => {
                    self.got_audio = true;
                    let reference = self.local.echo_reference.clone();
                    recv::spawn_audio(track, self.recv.clone(), self.tap.clone(), self.play_audio, self.local.notices.clone(), reference, None)?;
                }
                _ => tracing::debug!("ignoring an extra remote {kind} track"),
            }
        }
        Ok(())
    }

    /// Starts writing encoded media to the tracks (once negotiation is
    /// done, so the payload types are known). Idempotent.
    pub async fn start_sending(&mut self) -> Result<()> {
        let Some(mut rx) = self.out_rx.take() else { return Ok(()) };
        let (vpt, apt) = self.peer.send_payload_types().await?;
        let peer = self.peer.clone();
        let stats: Arc<SendStats> = self.local.stats.clone().into();
        let leg = self.leg.clone();
        // What queued before the connection is stale: start at a keyframe.
        while rx.try_recv().is_ok() {}
        self.local.request_keyframe();
        self.ladder = Some(Ladder::new(self.size.0, self.size.1, Instant::now()));
        self.writer = Some(tokio::spawn(async move {
            while let Some(o) = rx.recv().await {
                let (track, ssrc, pt, data, duration, video) = match o {
                    Outgoing::Video { data, duration } => (&peer.video, peer.video_ssrc, vpt, data, duration, true),
                    Outgoing::Audio { data, duration } => (&peer.audio, peer.audio_ssrc, apt, data, duration, false),
                };
                let sample = Sample { data, duration, ..Sample::new(Instant::now()) };
                match track.sample_writer(ssrc, pt).write_sample(&sample).await {
                    Ok(()) if video => {
                        stats.video_frames_sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(()) => {
                        stats.audio_packets_sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => tracing::debug!("writing a sample: {e}"),
                }
                // The same encoded sample to the recorder's leg, if one is up.
                if let Some(l) = crate::cloud::leg_of(&leg) {
                    let (t, ssrc, pt) = if video { (&l.peer.video, l.peer.video_ssrc, l.vpt) } else { (&l.peer.audio, l.peer.audio_ssrc, l.apt) };
                    if let Err(e) = t.sample_writer(ssrc, pt).write_sample(&sample).await {
                        tracing::debug!("writing a sample to the recorder's leg: {e}");
                    }
                }
            }
        }));
        Ok(())
    }

    /// Reads the connection's statistics, updates the quality figures and
    /// lets congestion control set the encoder's bitrate. Call about once a second.
    pub async fn tick(&mut self) -> &NetQuality {
        let r: NetReading = self.peer.stats().await;
        let i = self.meter.update(self.started.elapsed(), r.bytes_sent, r.bytes_received, r.packets_received, r.packets_lost);
        let rtt_ms = r.rtt_s.or(r.pair_rtt_s).map(|s| s * 1000.0);
        let loss = r.loss.max(i.recv_loss);
        // The jitter buffer waits for retransmissions by it.
        self.recv.set_rtt(rtt_ms.filter(|ms| ms.is_finite() && *ms > 0.0).map(|ms| Duration::from_secs_f64(ms.min(10_000.0) / 1000.0)));
        // Loss and RTT (AIMD) and GCC's delay-based estimate from TWCC
        // feedback: the lower wins (GCC sees a queue build before any loss).
        let mut target = self.controller.update(r.loss, rtt_ms);
        let gcc_kbps = (self.peer.feedback.gcc_bps.load(Ordering::Relaxed) / 1000) as u32;
        if gcc_kbps > 0 {
            target = target.min(gcc_kbps.saturating_sub(self.audio_kbps).max(self.controller.min_kbps()));
        }
        self.local.set_bitrate(target);
        let mut size_steps = std::mem::take(&mut self.net.size_steps);
        if let Some(step) = self.ladder.as_mut().and_then(|l| l.update(Instant::now(), target)) {
            tracing::info!("picture {}x{} at a target of {} kbit/s", step.width, step.height, step.target_kbps);
            self.local.set_size(step.width, step.height);
            size_steps.push(step);
        }
        // Resends get their share of what the whole send may use.
        self.peer.feedback.target_bps.store(u64::from(target + self.audio_kbps) * 1000, Ordering::Relaxed);
        let jitter_ms = r.jitter_s * 1000.0;
        let score = quality::score(rtt_ms.unwrap_or(0.0), jitter_ms, loss);
        self.net = NetQuality {
            rtt_ms,
            loss,
            jitter_ms,
            send_kbps: i.send_kbps,
            recv_kbps: i.recv_kbps,
            target_kbps: target,
            gcc_kbps: (gcc_kbps > 0).then_some(gcc_kbps),
            quality_score: (score * 10.0).round() / 10.0,
            band: Some(quality::band(score)),
            candidate_type: r.local_candidate_type.clone().or(self.net.candidate_type.take()),
            size_steps,
        };
        &self.net
    }

    /// Publishes our media to the cloud recorder (Some) or stops doing so
    /// (None). The leg is a second, send-only peer connection signalled
    /// through the relay; it retries until stopped.
    pub fn set_cloud_leg(&mut self, target: Option<crate::cloud::LegTarget>) {
        if let Some(t) = self.leg_task.take() {
            t.abort();
        }
        crate::cloud::drop_leg(&self.leg);
        if let Some(target) = target {
            let (slot, key, opts) = (self.leg.clone(), self.local.keyframe_flag(), self.peer_opts.clone());
            self.leg_task = Some(tokio::spawn(crate::cloud::publish(target, opts, slot, key)));
        }
    }

    /// Stops media and closes the connection.
    pub async fn close(mut self) {
        let t0 = std::time::Instant::now();
        self.set_cloud_leg(None);
        self.peer.close().await;
        let t1 = t0.elapsed();
        if let Some(w) = self.writer {
            w.abort();
        }
        let local = self.local;
        let _ = tokio::task::spawn_blocking(move || local.stop()).await;
        // A close that keeps the devices for long delays the next call.
        let (conn_ms, media_ms) = (t1.as_millis(), (t0.elapsed() - t1).as_millis());
        if conn_ms + media_ms > 2000 {
            tracing::warn!("closing the call took {conn_ms} ms for the connection and {media_ms} ms for devices and encoders");
        } else {
            tracing::debug!("call closed: connection in {conn_ms} ms, devices and encoders in {media_ms} ms");
        }
    }

    /// How long the session has existed.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }
}
