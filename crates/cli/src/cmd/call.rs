//! `onair call USER` and `onair call --answer`: a 1:1 video call through the
//! relay, driven by `onair_call::driver`. This file only parses options,
//! reads stdin commands and prints; the call itself lives in `crates/call`.
//!
//! While in a call, stdin takes: mute | unmute | camera off | camera on |
//! share screen | share camera | share test | share file:PATH |
//! record start | record stop | b [LABEL] | consent yes | consent no | hangup

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use onair_call::driver::{self, CallOptions, Command, Role};
use onair_call::peer::{IceServer, PeerOptions};
use onair_call::presets::CallPreset;
use onair_call::send::SendConfig;
use onair_media::source::{AudioSpec, VideoSpec};
use tokio::sync::mpsc;

use super::chat_common::home;

#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// Whom to call (omit with --answer).
    #[arg(required_unless_present = "answer")]
    user: Option<String>,
    /// Wait for an incoming call and answer it.
    #[arg(long, conflicts_with = "user")]
    answer: bool,
    /// With --answer: only answer this user (others are declined).
    #[arg(long, requires = "answer", value_name = "USER")]
    from: Option<String>,
    /// Video: test | file:PATH | screen[:N] | window:TITLE|0xID | camera[:N] | none
    #[arg(long, default_value = "camera", value_name = "SOURCE")]
    video: VideoSpec,
    /// Audio: test | file:PATH | mic[:N] | none
    #[arg(long, default_value = "mic", value_name = "SOURCE")]
    audio: AudioSpec,
    /// Loop file sources.
    #[arg(long = "loop")]
    looped: bool,
    /// Camera mode, e.g. 1280x720@30 (the closest the camera offers is used).
    #[arg(long, value_name = "WxH@FPS")]
    camera_mode: Option<onair_media::source::camera::CameraMode>,
    /// Beauty filter on the camera layer: SMOOTH[,WHITEN], each 0-100.
    #[arg(long, value_name = "SMOOTH[,WHITEN]")]
    beauty: Option<onair_beauty::BeautyParams>,
    /// Quality: 360p | 720p | 1080p (30 fps; size and bitrate range). --size,
    /// --fps, --video-bitrate and --max-bitrate override parts of it.
    #[arg(long, default_value = "720p", value_name = "360p|720p|1080p")]
    preset: CallPreset,
    /// Picture size sent, WxH (even numbers; default: the preset's).
    #[arg(long, value_name = "WxH")]
    size: Option<String>,
    /// Frames per second (default: the preset's, 30).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=60))]
    fps: Option<u32>,
    /// Starting video bitrate (kbit/s); congestion control moves it between the
    /// preset's minimum and --max-bitrate (default: the preset's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(100..=20_000))]
    video_bitrate: Option<u32>,
    #[arg(long, value_parser = clap::value_parser!(u32).range(150..=20_000))]
    max_bitrate: Option<u32>,
    /// x264 speed preset (ultrafast … veryslow).
    #[arg(long, default_value = "veryfast")]
    x264_preset: String,
    /// Hang up after this many seconds in the call.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// Record the call (both pictures side by side, both voices) to this MP4.
    /// Recording starts with `record start` on stdin, or at once with --record-now.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Start recording as soon as the call connects (needs --record).
    #[arg(long, requires = "record")]
    record_now: bool,
    /// Have the relay record the call as soon as it is answered (server-side,
    /// encrypted there; the other side's consent rules apply). During the call:
    /// `record cloud start` / `record cloud stop` / `record cloud yes|no` on stdin.
    #[arg(long)]
    record_cloud: bool,
    /// Quality of a server recording: 360p | 720p | 1080p | audio (default: the relay's).
    #[arg(long, value_name = "TIER")]
    cloud_tier: Option<onair_proto::cloud::Tier>,
    /// Do not play the other side's sound (it is still received, measured and recorded).
    #[arg(long)]
    no_speaker: bool,
    /// Send the microphone as it is: no echo cancellation, noise suppression or gain control.
    #[arg(long)]
    no_audio_processing: bool,
    /// Answer the other side's request to record without asking: yes | no.
    #[arg(long, value_name = "yes|no")]
    accept_recording: Option<YesNo>,
    /// Write the call's counters as one JSON object to FILE: rewritten about
    /// once a second during the call (atomically), final at the end.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
    /// Relay URL (default: the signed-in account's).
    #[arg(long)]
    relay: Option<String>,
    /// Use only TURN relay candidates (env ONAIR_ICE_RELAY_ONLY=1).
    #[arg(long, env = "ONAIR_ICE_RELAY_ONLY")]
    ice_relay_only: bool,
    /// Local address for ICE host candidates (0.0.0.0: every non-loopback interface).
    #[arg(long, default_value = "0.0.0.0", env = "ONAIR_ICE_IP")]
    ice_ip: std::net::IpAddr,
    /// Extra STUN/TURN server URL (the relay's are used too).
    #[arg(long, value_name = "URL")]
    ice_server: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
pub struct YesNo(bool);

impl std::str::FromStr for YesNo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "yes" | "y" | "true" => Ok(YesNo(true)),
            "no" | "n" | "false" => Ok(YesNo(false)),
            _ => Err(format!("expected yes or no, got {s:?}")),
        }
    }
}

fn size(s: &str) -> anyhow::Result<(u32, u32)> {
    let (w, h) = s.split_once('x').context("--size must look like 640x360")?;
    let (w, h): (u32, u32) = (w.parse().context("--size width")?, h.parse().context("--size height")?);
    if w < 64 || h < 64 || w > 1920 || h > 1080 || w % 2 != 0 || h % 2 != 0 {
        bail!("--size must be even, between 64x64 and 1920x1080");
    }
    Ok((w, h))
}

pub fn run(a: CallArgs) -> anyhow::Result<i32> {
    let creds = onair_chat::account::load(&home()).context("sign in first: onair account login")?;
    let relay = a.relay.clone().unwrap_or(creds.relay.clone());
    let ws_url = onair_chat::net::RelayUrl::parse(&relay)?.ws();
    let preset = a.preset.spec();
    let (width, height) = match &a.size {
        Some(s) => size(s)?,
        None => (preset.width, preset.height),
    };
    if let Some(d) = a.duration {
        if !(d > 0.0 && d.is_finite()) {
            bail!("--duration must be a positive number of seconds");
        }
    }
    let record = match &a.record {
        Some(p) if p.is_absolute() => Some(p.clone()),
        Some(p) => Some(std::env::current_dir()?.join(p)),
        None => None,
    };
    let max_kbps = a.max_bitrate.unwrap_or(preset.max_kbps);
    let send = SendConfig {
        video: a.video.clone(),
        audio: a.audio.clone(),
        width,
        height,
        fps: a.fps.unwrap_or(preset.fps),
        video_kbps: a.video_bitrate.unwrap_or(preset.start_kbps).min(max_kbps),
        // A bitrate given below the preset's floor lowers the floor with it.
        min_video_kbps: preset.min_kbps.min(a.video_bitrate.unwrap_or(u32::MAX)).min(max_kbps),
        max_video_kbps: max_kbps,
        beauty: a.beauty,
        looped: a.looped,
        camera_mode: a.camera_mode,
        x264_preset: a.x264_preset.clone(),
        audio_processing: !a.no_audio_processing,
        ..SendConfig::default()
    };
    let peer = PeerOptions {
        ice_servers: a.ice_server.iter().map(|u| IceServer { urls: vec![u.clone()], username: None, credential: None }).collect(),
        relay_only: a.ice_relay_only,
        bind_ip: a.ice_ip,
        ..PeerOptions::default()
    };
    // Live figures: each snapshot replaces the file whole (write + rename),
    // so a reader never sees half a JSON object.
    let (snap_tx, snap_writer) = match a.stats_json.clone() {
        Some(path) => {
            let (tx, mut rx) = mpsc::channel::<driver::CallReport>(1);
            let t = std::thread::spawn(move || {
                while let Some(r) = rx.blocking_recv() {
                    if let Err(e) = write_json(&path, &r) {
                        tracing::debug!("live stats: {e:#}");
                    }
                }
            });
            (Some(tx), Some(t))
        }
        None => (None, None),
    };
    // The relay's cloud_recording pushes, from the call's connection to the watcher.
    let (push_tx, push_rx) = std::sync::mpsc::channel();
    let opts = CallOptions {
        ws_url,
        token: creds.token.clone(),
        role: match &a.user {
            Some(u) => Role::Dial(u.clone()),
            None => Role::Answer { from: a.from.clone() },
        },
        peer,
        send,
        record_path: record,
        record_from_start: a.record_now,
        home: home(),
        library: None,
        play_audio: !a.no_speaker,
        viewer: None,
        duration: a.duration.map(Duration::from_secs_f64),
        auto_consent: a.accept_recording.map(|y| y.0),
        snapshots: snap_tx,
        cloud_pushes: Some(push_tx),
    };

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("starting the async runtime")?;
    let (cmd_tx, cmd_rx) = mpsc::channel::<Command>(16);
    let cloud = std::sync::Arc::new(super::cloud::watch(&relay, creds.token.clone(), a.cloud_tier, a.record_cloud, push_rx)?);
    // While the server records this call, our media also goes to its
    // recorder (a second connection the driver opens); stopped when it ends.
    {
        let (cloud, tx, token, relay) = (cloud.clone(), cmd_tx.clone(), creds.token.clone(), relay.clone());
        let _ = std::thread::Builder::new().name("cloud-leg".into()).spawn(move || {
            let mut last: Option<String> = None;
            loop {
                let now = cloud.running();
                if now != last {
                    let target = now.clone().map(|recording| onair_call::cloud::LegTarget { relay: relay.clone(), token: token.clone(), recording });
                    if tx.blocking_send(Command::CloudLeg(target)).is_err() {
                        break;
                    }
                    last = now;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        });
    }
    let (ui_tx, mut ui_rx) = mpsc::unbounded_channel::<String>();
    // stdin commands on a thread (EOF is normal for scripts: the call goes on).
    let _ = std::thread::Builder::new().name("stdin".into()).spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            // Server recording commands go to the relay, not the call.
            if let Some(c) = cloud_command(&line, cloud.running().is_some()) {
                let _ = cloud.tx.send(c);
                continue;
            }
            match line.parse::<Command>() {
                Ok(c) => {
                    if cmd_tx.blocking_send(c).is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("{e}"),
            }
        }
    });
    let printer = std::thread::spawn(move || {
        while let Some(line) = ui_rx.blocking_recv() {
            println!("{line}");
        }
    });
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let report = rt.block_on(async move {
        let (sig_tx, sig_rx) = mpsc::channel::<Command>(1);
        // Ctrl-C / SIGTERM hang up cleanly (the recording is finalised).
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = sig_tx.send(Command::Hangup).await;
                    break;
                }
            }
        });
        driver::run(opts, merge(cmd_rx, sig_rx), ui_tx).await
    })?;
    let _ = printer.join();
    if let Some(t) = snap_writer {
        let _ = t.join();
    }
    eprintln!(
        "call with {}: {} · sent {} frames, decoded {} of theirs, audio packets {} · rtt {} ms · quality {:.0} · latency p50 {} ms",
        report.peer.as_deref().unwrap_or("-"),
        report.ended,
        report.video_frames_sent,
        report.video_frames_decoded,
        report.audio_packets_received,
        report.rtt_ms.map(|r| format!("{r:.1}")).unwrap_or_else(|| "-".into()),
        report.quality_score,
        report.latency_ms_p50.map(|r| format!("{r:.1}")).unwrap_or_else(|| "-".into()),
    );
    if let Some(p) = &a.stats_json {
        write_json(p, &report)?;
    }
    Ok(if report.connected { 0 } else { 2 })
}

/// `record cloud start|stop|yes|no`, and `b LABEL` while the server records.
fn cloud_command(line: &str, server_recording: bool) -> Option<super::cloud::CallCloud> {
    use super::cloud::CallCloud;
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["record", "cloud", "start"] => Some(CallCloud::Start),
        ["record", "cloud", "stop"] => Some(CallCloud::Stop),
        ["record", "cloud", "yes"] => Some(CallCloud::Answer(true)),
        ["record", "cloud", "no"] => Some(CallCloud::Answer(false)),
        ["b", rest @ ..] if server_recording => Some(CallCloud::Bookmark(rest.join(" "))),
        _ => None,
    }
}

/// Writes `report` to `path` through a temporary file and a rename.
fn write_json(path: &std::path::Path, report: &driver::CallReport) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, serde_json::to_vec_pretty(report)?).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Two command sources into one.
fn merge(mut a: mpsc::Receiver<Command>, mut b: mpsc::Receiver<Command>) -> mpsc::Receiver<Command> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let (mut a_open, mut b_open) = (true, true);
        while a_open || b_open {
            let c = tokio::select! {
                c = a.recv(), if a_open => match c { Some(c) => c, None => { a_open = false; continue } },
                c = b.recv(), if b_open => match c { Some(c) => c, None => { b_open = false; continue } },
            };
            if tx.send(c).await.is_err() {
                break;
            }
        }
        // Keep the merged channel open: a closed stdin must not end the call.
        std::future::pending::<()>().await;
    });
    rx
}
