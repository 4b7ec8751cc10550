//! `onair live` and `onair record`: run a media pipeline until it is done.
//!
//! While running: a status line on stderr every second; `b [LABEL]` on stdin
//! adds a bookmark, `q` stops; Ctrl-C and SIGTERM stop cleanly and finalise
//! the recording.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use onair_media::compose::{Corner, Placement};
use onair_media::encode::{EncodingConfig, Preset};
use onair_media::output::url::IngestUrl;
use onair_media::golive::GoLive;
use onair_media::pipeline::{Destination, Limits, OverlayConfig, PipelineConfig, StopReason};
use onair_media::source::camera::CameraMode;
use onair_media::source::{AudioInput, VideoSpec};

/// What to capture.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// Video: test | file:PATH | screen[:N] | window:TITLE|0xID | camera[:N] | none
    #[arg(long, default_value = "camera", value_name = "SOURCE")]
    video: VideoSpec,
    /// Picture-in-picture layer over --video (e.g. camera over screen): test | file:PATH | screen[:N] | window:TITLE | camera[:N]
    #[arg(long, value_name = "SOURCE")]
    overlay: Option<VideoSpec>,
    /// Corner for --overlay: top-left | top-right | bottom-left | bottom-right
    #[arg(long, default_value = "bottom-right")]
    overlay_corner: Corner,
    /// Width of --overlay as a percentage of the picture.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(5..=100))]
    overlay_size: u32,
    /// Audio: test | file:PATH | mic[:N] | desktop (what the computer plays) | none;
    /// repeat to mix sources, e.g. --audio mic --audio desktop
    #[arg(long, default_value = "mic", value_name = "SOURCE")]
    audio: Vec<AudioInput>,
    /// Loop file sources forever.
    #[arg(long = "loop")]
    looped: bool,
    /// Camera mode, e.g. 1280x720@30 (the closest the camera offers is used).
    #[arg(long, value_name = "WxH@FPS")]
    camera_mode: Option<CameraMode>,
    /// Beauty filter on the camera layer: SMOOTH[,WHITEN], each 0-100 (a file
    /// source counts as a camera; screens are never retouched).
    #[arg(long, value_name = "SMOOTH[,WHITEN]")]
    beauty: Option<onair_beauty::BeautyParams>,
}

/// How to encode.
#[derive(Debug, clap::Args)]
pub struct EncodingArgs {
    /// 480p30 | 720p30 | 1080p30 | 1080p60
    #[arg(long, default_value = "720p30")]
    preset: Preset,
    /// Video bitrate in kbit/s (default: the preset's).
    #[arg(long, value_name = "KBPS", value_parser = clap::value_parser!(u32).range(100..=100_000))]
    video_bitrate: Option<u32>,
    /// Audio bitrate in kbit/s (default: 128, or 160 at 1080p).
    #[arg(long, value_name = "KBPS", value_parser = clap::value_parser!(u32).range(32..=512))]
    audio_bitrate: Option<u32>,
    /// Seconds between keyframes (default 2; 1 for `live --to relay://ROOM`,
    /// whose HLS segments follow the keyframes: shorter segments, lower latency).
    #[arg(long, value_name = "SECONDS")]
    keyint: Option<f32>,
    /// x264 speed preset (ultrafast … veryslow).
    #[arg(long, default_value = "veryfast")]
    x264_preset: String,
    /// auto (a hardware encoder if one works, else x264) | x264 | an FFmpeg encoder name
    #[arg(long, default_value = "auto")]
    encoder: String,
}

/// When to stop by itself.
#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// The longest a recording may run, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 12.0 * 3600.0)]
    max_length: f64,
    /// Stop recording cleanly when less than this much disk space is free (MB).
    #[arg(long, value_name = "MB", default_value_t = 500)]
    min_free_mb: u64,
    /// Write the final counters as one JSON object to FILE.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct LiveArgs {
    /// Ingest URL: rtmp://HOST[:PORT]/APP[/KEY], rtmps://…, or relay://ROOM (a
    /// room on your relay). Repeat to go live to several at once from one
    /// encode; each has its own connection, counters and reconnection.
    #[arg(long, value_name = "URL", required = true)]
    to: Vec<String>,
    /// Stream key, if not in the URL (or set ONAIR_STREAM_KEY). Never printed.
    /// With several --to, each key goes in its own URL.
    #[arg(long, env = "ONAIR_STREAM_KEY", hide_env_values = true)]
    key: Option<String>,
    /// Also record to this MP4 file.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Keep the video bitrate fixed. By default it is dynamic: when a
    /// destination's send queue grows the bitrate steps down, and it steps
    /// back up when the queue drains (each change is reported).
    #[arg(long)]
    fixed_bitrate: bool,
    /// With --to relay://ROOM: the room's cover picture (PNG, JPEG or WebP),
    /// shown in the directory.
    #[arg(long, value_name = "FILE")]
    cover: Option<PathBuf>,
    /// With --to relay://ROOM: the room's category (e.g. games, music, talk).
    #[arg(long, value_name = "NAME")]
    category: Option<String>,
    #[command(flatten)]
    sources: SourceArgs,
    #[command(flatten)]
    encoding: EncodingArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Output MP4 (default: a new file in the library's folder).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Encrypt this recording at rest (AES-256-GCM, key in the OS keychain)
    /// whatever the setting (`onair recordings encrypt on|off`) says; play
    /// it in the app, or `onair recordings export ID --out FILE`.
    #[arg(long)]
    encrypt: bool,
    #[command(flatten)]
    sources: SourceArgs,
    #[command(flatten)]
    encoding: EncodingArgs,
    #[command(flatten)]
    limits: LimitArgs,
}

fn config(s: &SourceArgs, e: &EncodingArgs, l: &LimitArgs) -> anyhow::Result<PipelineConfig> {
    let keyint = e.keyint.unwrap_or(2.0);
    if !(0.1..=60.0).contains(&keyint) {
        anyhow::bail!("--keyint must be between 0.1 and 60 seconds");
    }
    if let Some(d) = l.duration {
        if !(d > 0.0 && d.is_finite()) {
            anyhow::bail!("--duration must be a positive number of seconds");
        }
    }
    Ok(PipelineConfig {
        video: s.video.clone(),
        overlay: s.overlay.clone().map(|source| OverlayConfig {
            source,
            placement: Placement { corner: s.overlay_corner, size_pct: s.overlay_size },
        }),
        audio: s.audio.clone(),
        looped: s.looped,
        camera_mode: s.camera_mode,
        encoding: EncodingConfig {
            preset: e.preset,
            video_kbps: e.video_bitrate,
            audio_kbps: e.audio_bitrate,
            keyint_secs: keyint,
            x264_preset: e.x264_preset.clone(),
            encoder: e.encoder.clone(),
            realtime: false,
        },
        live: Vec::new(),
        record: None,
        limits: Limits {
            duration: l.duration.map(Duration::from_secs_f64),
            max_recording: Some(Duration::from_secs_f64(l.max_length.max(1.0))),
            min_free_bytes: l.min_free_mb << 20,
        },
        beauty: s.beauty,
    })
}

pub fn run_live(mut a: LiveArgs) -> anyhow::Result<i32> {
    if a.to.iter().any(|t| t.starts_with("relay://")) && a.encoding.keyint.is_none() {
        a.encoding.keyint = Some(1.0);
    }
    let mut cfg = config(&a.sources, &a.encoding, &a.limits)?;
    if (a.cover.is_some() || a.category.is_some()) && !a.to.iter().any(|t| t.starts_with("relay://")) {
        anyhow::bail!("--cover and --category set a room on your relay: use them with --to relay://ROOM");
    }
    if a.to.len() > 1 && a.key.is_some() {
        anyhow::bail!("--key (or ONAIR_STREAM_KEY) names one stream key, but there are {} destinations: put each key at the end of its own --to URL", a.to.len());
    }
    for (i, to) in a.to.iter().enumerate() {
        if a.to[..i].contains(to) {
            anyhow::bail!("destination {} is given twice", IngestUrl::parse(to, None).map(|u| u.to_string()).unwrap_or_else(|_| "--to".into()));
        }
        if let Some(room) = to.strip_prefix("relay://") {
            super::follow::studio(room.trim_end_matches('/'), a.category.as_deref(), a.cover.as_deref())?;
        }
        // relay://ROOM: the room's RTMP URL and key, asked of the relay.
        let (url, key) = super::room::resolve_ingest(to, a.key.clone())?;
        let url = IngestUrl::parse(&url, key.as_deref())?;
        let mut d = Destination::new(url);
        if to.starts_with("relay://") {
            d.name = to.clone();
        }
        d.adaptive = !a.fixed_bitrate;
        cfg.live.push(d);
    }
    cfg.record = a.record.map(absolute).transpose()?;
    run(cfg, a.limits.stats_json, false)
}

pub fn run_record(a: RecordArgs) -> anyhow::Result<i32> {
    let mut cfg = config(&a.sources, &a.encoding, &a.limits)?;
    cfg.record = Some(match a.out {
        Some(p) => absolute(p)?,
        // The controller's naming, the app's too.
        None => onair_media::golive::new_recording_path(&onair_media::home::data_dir().join("recordings"), "onair", onair_media::library::unix_now()),
    });
    run(cfg, a.limits.stats_json, a.encrypt)
}

fn absolute(p: PathBuf) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p);
    }
    Ok(std::env::current_dir().context("reading the current folder")?.join(p))
}

enum Input {
    Bookmark(Option<String>),
    Quit,
}

/// Reads commands from stdin on a thread; EOF just ends the thread (no stdin
/// is normal for scripts and services).
fn spawn_stdin() -> crossbeam_channel::Receiver<Input> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let _ = std::thread::Builder::new().name("stdin".into()).spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let line = line.trim();
            let cmd = match line.split_once(char::is_whitespace).map(|(c, r)| (c, r.trim())).unwrap_or((line, "")) {
                ("b" | "bookmark", label) => Input::Bookmark((!label.is_empty()).then(|| label.to_string())),
                ("q" | "quit" | "stop", _) => Input::Quit,
                ("", _) => continue,
                (other, _) => {
                    eprintln!("unknown command {other:?}: type `b [LABEL]` for a bookmark or `q` to stop");
                    continue;
                }
            };
            if tx.send(cmd).is_err() {
                break;
            }
        }
    });
    rx
}

fn run(mut cfg: PipelineConfig, stats_json: Option<PathBuf>, encrypt: bool) -> anyhow::Result<i32> {
    let recording = cfg.record.is_some();
    let library = if recording {
        if let Some(dir) = cfg.record.as_ref().and_then(|p| p.parent()) {
            // The default folder is ours to create; a folder the user named must exist.
            if dir.starts_with(onair_media::home::data_dir()) {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let lib = crate::cmd::recordings::open_library()?;
        if encrypt {
            lib.force_encryption();
        }
        Some(Arc::new(lib))
    } else {
        None
    };
    let encrypted = match &library {
        Some(l) => encrypt || l.encrypt_recordings()?,
        None => false,
    };
    let live_names: Vec<String> = cfg.live.iter().map(|d| d.name.clone()).collect();
    let record_path = cfg.record.clone();
    if cfg.video == VideoSpec::None {
        cfg.overlay = None;
    }
    let stop_flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, stop_flag.clone()).context("installing the Ctrl-C handler")?;
    signal_hook::flag::register(signal_hook::consts::SIGTERM, stop_flag.clone()).context("installing the SIGTERM handler")?;

    // The same controller as the app's Go live screen (no preview here).
    let ctl = GoLive::new();
    ctl.start(cfg, library, None)?;
    let status = ctl.status();
    for s in &status.sources {
        eprintln!("source: {s}");
    }
    let encoder = status.encoder.clone();
    if let Some(name) = &encoder {
        eprintln!("video encoder: {name}");
    }
    let stats = || ctl.status().stats.unwrap_or_default();
    for d in &stats().destinations {
        if d.state == "live" {
            eprintln!("live: connected to {}", d.name);
        }
    }
    if let Some(p) = &record_path {
        if encrypted {
            eprintln!("recording to {} (encrypted at rest; `onair recordings export` writes a plain copy)", p.display());
        } else {
            eprintln!("recording to {}", p.display());
        }
    }
    if recording {
        eprintln!("type `b [LABEL]` + Enter for a bookmark, `q` + Enter to stop");
    } else {
        eprintln!("type `q` + Enter (or Ctrl-C) to stop");
    }

    let stdin = spawn_stdin();
    let tty = std::io::stderr().is_terminal();
    let status_every = if tty { Duration::from_secs(1) } else { Duration::from_secs(5) };
    let mut last_status = Instant::now();
    let mut last = stats();
    let reason = loop {
        std::thread::sleep(Duration::from_millis(100));
        if stop_flag.load(Ordering::Relaxed) {
            break None;
        }
        match stdin.try_recv() {
            Ok(Input::Quit) => break None,
            Ok(Input::Bookmark(label)) => match ctl.bookmark(label.as_deref()) {
                Ok(b) => eprintln!("{}bookmark at {:.1} s: {}", if tty { "\n" } else { "" }, b.t_ms as f64 / 1000.0, b.label),
                Err(e) => eprintln!("cannot bookmark: {e}"),
            },
            Err(_) => {}
        }
        if let Some(r) = ctl.ended() {
            break Some(r);
        }
        if last_status.elapsed() >= status_every {
            let now = stats();
            let dt = (now.elapsed_s - last.elapsed_s).max(1e-3);
            let fps = (now.video_frames_encoded - last.video_frames_encoded) as f64 / dt;
            let kbps = (now.bytes_encoded - last.bytes_encoded) as f64 * 8.0 / 1000.0 / dt;
            let state = match (!live_names.is_empty(), recording, now.reconnecting) {
                (true, _, true) => "RECONNECTING",
                (true, true, _) => "LIVE+REC",
                (true, false, _) => "LIVE",
                _ => "REC",
            };
            // With several destinations, say which are down.
            let down: Vec<&str> = now.destinations.iter().filter(|d| d.state != "live").map(|d| d.name.as_str()).collect();
            let state = match (live_names.len() > 1, down.is_empty()) {
                (true, false) => format!("{state} ({} of {} live; down: {})", live_names.len() - down.len(), live_names.len(), down.join(", ")),
                _ => state.to_string(),
            };
            let secs = now.elapsed_s as u64;
            let target = match now.destinations.iter().any(|d| d.bitrate_kbps > 0) {
                true => format!(" (target {})", now.encoder_kbps),
                false => String::new(),
            };
            let line = format!(
                "{state} {:02}:{:02}:{:02}  {fps:.1} fps  {kbps:.0} kbps{target}  dropped {}  reconnects {}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                now.video_frames_dropped,
                now.reconnects
            );
            if tty {
                eprint!("\r{line}   ");
            } else {
                eprintln!("{line}");
            }
            let _ = std::io::stderr().flush();
            last = now;
            last_status = Instant::now();
        }
    };
    if tty {
        eprintln!();
    }
    match &reason {
        Some(StopReason::Duration) | None => eprintln!("stopping…"),
        Some(r) => eprintln!("stopping: {r}"),
    }
    let summary = ctl.stop()?;
    for e in &summary.errors {
        eprintln!("error: {e}");
    }
    if let Some(r) = summary.recording.as_ref().filter(|_| encrypted) {
        eprintln!(
            "saved {} ({:.1} s, {:.1} MB, {} bookmarks), encrypted — a plain copy: onair recordings export {} --out FILE   (library id {})",
            r.path.display(),
            r.duration_ms as f64 / 1000.0,
            r.size_bytes as f64 / 1e6,
            r.bookmarks.len(),
            r.id,
            r.id
        );
    } else if let Some(r) = &summary.recording {
        eprintln!(
            "saved {} ({:.1} s, {:.1} MB, {} bookmarks) — play it with: ffplay {:?}   (library id {})",
            r.path.display(),
            r.duration_ms as f64 / 1000.0,
            r.size_bytes as f64 / 1e6,
            r.bookmarks.len(),
            r.path,
            r.id
        );
    }
    let s = &summary.stats;
    eprintln!(
        "done: {} frames captured, {} encoded, {} dropped, {} bytes sent, {} reconnects",
        s.video_frames_captured, s.video_frames_encoded, s.video_frames_dropped, s.bytes_sent, s.reconnects
    );
    if let Some(path) = stats_json {
        let mut v = serde_json::to_value(s)?;
        v["stop_reason"] = serde_json::Value::String(reason.as_ref().map(|r| r.to_string()).unwrap_or_else(|| "stopped by user".into()));
        v["encoder"] = serde_json::json!(encoder);
        if let Some(r) = &summary.recording {
            v["recording"] = serde_json::to_value(r)?;
        }
        v["errors"] = serde_json::to_value(&summary.errors)?;
        std::fs::write(&path, serde_json::to_vec_pretty(&v)?).with_context(|| format!("writing {}", path.display()))?;
    }
    let failed = matches!(reason, Some(StopReason::Failed(_))) || !summary.errors.is_empty();
    Ok(match reason {
        _ if failed => 1,
        Some(StopReason::LowDiskSpace { .. }) => 3,
        _ => 0,
    })
}

