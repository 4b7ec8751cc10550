//! `onair watch ROOM`: play a live room's HLS headless — decode every video
//! frame, count drops and stalls, and (with the test source) measure
//! push-to-viewer latency from the frames' capture stamps.
//!
//! Latency of a frame = wall clock when `watch` decoded it − (the room's
//! clock anchor + the frame's capture stamp). The anchor is the relay's
//! min(arrival wall clock − presentation time) over the publisher's video
//! packets, i.e. when capture time 0 happened as seen by the fastest packet.
//! So the figure covers relay ingest → HLS segmenting → playlist → HTTP →
//! demux → decode, plus whatever capture+encode+push took beyond the fastest
//! frame's. Publisher and viewer share this machine's clock (loopback).

use super::chat_common::{home, runtime};
use super::room::get;
use anyhow::{bail, Context};
use ffmpeg_next::{codec, format, media, Dictionary, Rational};
use onair_chat::net::{Http, RelayUrl};
use onair_chat::rooms::RoomInfo;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Room id.
    room: String,
    /// Relay URL (default: the signed-in account's relay).
    #[arg(long)]
    relay: Option<String>,
    /// Stop after this many seconds (default: until the live ends or Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// How long to wait for the room to go live.
    #[arg(long, default_value_t = 30.0)]
    wait: f64,
    /// Write the counters as one JSON object to FILE.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
    /// The low-latency stream (fragmented MP4 pushed frame by frame, what
    /// the app plays with Media Source Extensions) instead of HLS.
    #[arg(long)]
    low_latency: bool,
    /// With --low-latency: the HTTP-FLV stream instead of fragmented MP4.
    #[arg(long, requires = "low_latency")]
    flv: bool,
    /// Which rendition: `auto` or `source` (the publisher's), or a rung of the
    /// relay's ladder (`720p`, `480p`, `360p`, …).
    #[arg(long, default_value = "auto")]
    quality: String,
    /// Save what was received (stream copy) to FILE (.ts or .mp4).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// A player that starts 3 s after its first frame and pauses to rebuffer
/// when a frame is due before it arrived: each pause is a stall.
const PLAYOUT_BUFFER_S: f64 = 3.0;

fn wall_ms() -> i64 {
    onair_chat::now_ms()
}

pub fn run(a: WatchArgs) -> anyhow::Result<i32> {
    let account = onair_chat::account::load(&home()).ok();
    let relay = match (&a.relay, &account) {
        (Some(r), _) => r.clone(),
        (None, Some(c)) => c.relay.clone(),
        (None, None) => bail!("pass --relay URL or sign in (onair account login)"),
    };
    // The account's token goes only to its own relay: a private room needs it.
    let token = account.filter(|c| c.relay.trim_end_matches('/') == relay.trim_end_matches('/')).map(|c| c.token);
    let http = Http::new(RelayUrl::parse(&relay)?);
    let rt = runtime()?;
    let info_path = format!("/v1/rooms/{}", a.room);
    let started = Instant::now();
    let wait_until = started + Duration::from_secs_f64(a.wait);
    let info: RoomInfo = loop {
        let i: RoomInfo = rt.block_on(get(&http, &info_path, token.as_deref())).with_context(|| format!("room {} on {relay}", a.room))?;
        if i.live {
            break i;
        }
        if Instant::now() > wait_until {
            bail!("room {} is not live (waited {}s)", a.room, a.wait);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("watching {} ({})", info.id, info.title);
    let path = match (a.quality.as_str(), a.low_latency, a.flv) {
        ("auto" | "source", true, true) => info.flv_path.clone(),
        ("auto" | "source", true, false) => info.mp4_path.clone(),
        // FFmpeg reads every rendition a multivariant playlist names (and so
        // would make the relay encode them all): the source's own playlist.
        ("auto" | "source", false, _) => format!("/live/{}/ll.m3u8", info.id),
        (q, ..) if !q.chars().all(|c| c.is_ascii_alphanumeric()) || q.is_empty() => bail!("--quality {q:?}: use auto, source or a rung such as 480p"),
        (q, true, true) => format!("/live/{}/{q}/live.flv", info.id),
        (q, true, false) => format!("/live/{}/{q}/live.mp4", info.id),
        (q, false, _) => format!("/live/{}/{q}/ll.m3u8", info.id),
    };
    // A private room's media URLs carry a watch ticket (FFmpeg sends no bearer).
    let ticket = match (&token, info.private) {
        (Some(t), true) => Some(rt.block_on(onair_chat::rooms::watch_ticket(&http, t, &a.room)).with_context(|| format!("a watch ticket for private room {}", a.room))?),
        (None, true) => bail!("room {} is private: sign in as its owner or a member (onair account login)", a.room),
        _ => None,
    };
    let url = format!("{}{}", http.url.http(), onair_chat::rooms::with_ticket(&path, ticket.as_ref()));
    onair_media::init();

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let end = a.duration.map(|d| Instant::now() + Duration::from_secs_f64(d));
    let past_end = move || end.is_some_and(|e| Instant::now() > e);
    // The first segments may not exist yet: retry opening until the wait is over.
    let mut ictx = loop {
        let mut opts = Dictionary::new();
        opts.set("rw_timeout", "10000000");
        if url.starts_with("https://") {
            // FFmpeg checks no certificate unless asked; the relay client does.
            opts.set("tls_verify", "1");
            if let Some(ca) = onair_media::output::mux::ca_file() {
                opts.set("ca_file", &ca);
            }
        }
        if a.low_latency {
            // The relay starts us at a keyframe with the headers: a short
            // probe is enough, and buffering would only add delay.
            opts.set("analyzeduration", "500000");
            opts.set("fflags", "nobuffer");
        } else {
            // Start at the newest segment: the lowest latency HLS allows.
            opts.set("live_start_index", "-1");
        }
        let (s, hard_end) = (stop.clone(), end.map(|e| e + Duration::from_secs(5)));
        let interrupt = move || s.load(Ordering::Relaxed) || hard_end.is_some_and(|e| Instant::now() > e);
        match format::input_with_interrupt_and_dictionary(&url, interrupt, opts) {
            Ok(c) => break c,
            Err(e) if Instant::now() < wait_until && !stop.load(Ordering::Relaxed) => {
                tracing::debug!(error = %e, "opening the playlist; retrying");
                std::thread::sleep(Duration::from_millis(250));
            }
            // The path without its ticket: a ticket is not for logs.
            Err(e) => return Err(e).with_context(|| format!("opening {}{path}", http.url.http())),
        }
    };
    let ist = ictx.streams().best(media::Type::Video).context("the live has no video stream")?;
    let vidx = ist.index();
    let vtb = ist.time_base();
    let mut dec = codec::context::Context::from_parameters(ist.parameters())?.decoder().video()?;

    let mut out = match &a.out {
        Some(p) => Some(Saver::open(p, &ictx)?),
        None => None,
    };

    let mut s = Stats::default();
    let mut frame = ffmpeg_next::frame::Video::empty();
    let mut samples: Vec<(i64, u64, u64)> = Vec::new(); // (decoded at, index, capture µs)
    let mut playout: Option<f64> = None; // wall s − pts s
    for (st, pkt) in ictx.packets() {
        if stop.load(Ordering::Relaxed) || past_end() {
            break;
        }
        if let Some(o) = &mut out {
            o.write(&st, &pkt);
        }
        if st.index() != vidx {
            continue;
        }
        s.video_frames_received += 1;
        if dec.send_packet(&pkt).is_err() {
            s.decode_errors += 1;
            continue;
        }
        while dec.receive_frame(&mut frame).is_ok() {
            s.video_frames_decoded += 1;
            let now = wall_ms();
            if let Some((idx, us)) = onair_media::source::test::read_stamp(frame.data(0), frame.width() as usize, frame.stride(0)) {
                samples.push((now, idx, us));
            }
            if let Some(pts) = frame.timestamp() {
                let t = pts as f64 * f64::from(vtb.numerator()) / f64::from(vtb.denominator().max(1));
                let w = started.elapsed().as_secs_f64();
                match playout {
                    None => playout = Some(w - t + PLAYOUT_BUFFER_S),
                    Some(off) if w > t + off => {
                        s.stalls += 1;
                        playout = Some(w - t + PLAYOUT_BUFFER_S);
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(o) = out.take() {
        o.finish()?;
    }
    // The anchor only ever decreases while live: read it now, after the frames.
    let anchor = rt.block_on(get::<RoomInfo>(&http, &info_path, token.as_deref())).ok().and_then(|i| i.clock_anchor_ms).or(info.clock_anchor_ms);
    s.finish(&samples, anchor);
    s.seconds = started.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&s)?;
    let span = if s.video_frames_expected > 0 { format!(" (of {} sent in that span)", s.video_frames_expected) } else { String::new() };
    eprintln!(
        "watched {:.1}s: {} frames received, {} decoded{span}, {} stalls, latency p50 {} ms p95 {} ms",
        s.seconds,
        s.video_frames_received,
        s.video_frames_decoded,
        s.stalls,
        s.latency_ms_p50.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
        s.latency_ms_p95.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
    );
    if let Some(p) = &a.stats_json {
        std::fs::write(p, json + "\n").with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(0)
}

#[derive(Default, serde::Serialize)]
struct Stats {
    seconds: f64,
    video_frames_received: u64,
    video_frames_decoded: u64,
    /// Frames the publisher stamped between the first and last decoded one
    /// (test source only; 0 otherwise).
    video_frames_expected: u64,
    /// Distinct stamped frames decoded in that span.
    video_frames_stamped: u64,
    decode_errors: u64,
    stalls: u64,
    latency_ms_p50: Option<i64>,
    latency_ms_p95: Option<i64>,
    latency_ms_max: Option<i64>,
}

impl Stats {
    fn finish(&mut self, samples: &[(i64, u64, u64)], anchor: Option<i64>) {
        // Keep stamps that read as a plausible sequence: other sources give
        // noise here. A stamp counts when the next one is index+1..+60 later.
        let plausible: Vec<&(i64, u64, u64)> = samples
            .windows(2)
            .filter(|w| w[1].1 > w[0].1 && w[1].1 - w[0].1 <= 60 && w[1].2 > w[0].2 && w[1].2 - w[0].2 < 5_000_000)
            .map(|w| &w[0])
            .collect();
        if plausible.len() < samples.len() / 2 || plausible.is_empty() {
            return;
        }
        let mut idx: Vec<u64> = plausible.iter().map(|s| s.1).collect();
        idx.sort_unstable();
        idx.dedup();
        self.video_frames_stamped = idx.len() as u64;
        self.video_frames_expected = idx.last().unwrap_or(&0) - idx.first().unwrap_or(&0) + 1;
        if let Some(anchor) = anchor {
            let mut lat: Vec<i64> = plausible.iter().map(|(at, _, us)| at - (anchor + (*us / 1000) as i64)).collect();
            lat.sort_unstable();
            let pick = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize];
            self.latency_ms_p50 = Some(pick(0.5));
            self.latency_ms_p95 = Some(pick(0.95));
            self.latency_ms_max = lat.last().copied();
        }
    }
}

/// `--out`: the received packets, stream-copied.
struct Saver {
    octx: format::context::Output,
    map: Vec<Option<(usize, Rational, Rational)>>,
    path: PathBuf,
}

impl Saver {
    fn open(path: &std::path::Path, ictx: &format::context::Input) -> anyhow::Result<Saver> {
        let mut octx = format::output(path).with_context(|| format!("creating {}", path.display()))?;
        let mut map = vec![None; ictx.nb_streams() as usize];
        for st in ictx.streams() {
            let t = st.parameters().medium();
            if t != media::Type::Video && t != media::Type::Audio {
                continue;
            }
            let mut ost = octx.add_stream(ffmpeg_next::encoder::find(codec::Id::None))?;
            ost.set_parameters(st.parameters());
            // SAFETY: the stream was just created; a zero tag lets the muxer pick its own.
            unsafe { (*(*ost.as_mut_ptr()).codecpar).codec_tag = 0 };
            map[st.index()] = Some((ost.index(), st.time_base(), Rational(0, 1)));
        }
        octx.write_header().with_context(|| format!("writing {}", path.display()))?;
        for m in map.iter_mut().flatten() {
            m.2 = octx.stream(m.0).map(|s| s.time_base()).unwrap_or(m.1);
        }
        Ok(Saver { octx, map, path: path.to_owned() })
    }

    fn write(&mut self, st: &ffmpeg_next::format::stream::Stream, pkt: &ffmpeg_next::Packet) {
        let Some(Some((o, itb, otb))) = self.map.get(st.index()).copied() else { return };
        let mut p = pkt.clone();
        p.rescale_ts(itb, otb);
        p.set_position(-1);
        p.set_stream(o);
        // A refused packet (a timestamp glitch at a segment edge) is skipped.
        let _ = p.write_interleaved(&mut self.octx);
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.octx.write_trailer().with_context(|| format!("finishing {}", self.path.display()))
    }
}
