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

use super::chat_common::home;
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
    /// Low-latency HLS as a part-aware player plays it: each ~200 ms part
    /// as soon as the relay has it (FFmpeg alone waits for whole segments).
    #[arg(long, conflicts_with = "low_latency")]
    ll_hls: bool,
    /// With --low-latency: the HTTP-FLV stream instead of fragmented MP4.
    #[arg(long, requires = "low_latency")]
    flv: bool,
    /// Which rendition: `auto` (adaptive: steps down a rung when the link
    /// falls behind, back up once it keeps up), `source` (the publisher's),
    /// or a rung of the room's ladder (`720p`, `480p`, `360p`, `audio`).
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
    // A worker thread keeps the HTTP client's pooled connections going while
    // this thread sits in FFmpeg (--ll-hls fetches parts meanwhile).
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().context("starting the async runtime")?;
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
    let q = a.quality.as_str();
    if q.is_empty() || !q.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("--quality {q:?}: use auto, source or a rung such as 480p or audio");
    }
    // The renditions the room offers, source first (an older relay: source only).
    let ladder: Vec<String> = if info.ladder.is_empty() { vec!["source".into()] } else { info.ladder.clone() };
    let auto = q == "auto";
    let mut cur = if auto { 0 } else { ladder.iter().position(|r| r == q).unwrap_or(usize::MAX) };
    if cur == usize::MAX {
        bail!("room {} offers no {q:?} rendition: choose one of auto, {}", a.room, ladder.join(", "));
    }
    // A private room's media URLs carry a watch ticket (FFmpeg sends no bearer).
    let ticket = match (&token, info.private) {
        (Some(t), true) => Some(rt.block_on(onair_chat::rooms::watch_ticket(&http, t, &a.room)).with_context(|| format!("a watch ticket for private room {}", a.room))?),
        (None, true) => bail!("room {} is private: sign in as its owner or a member (onair account login)", a.room),
        _ => None,
    };
    onair_media::init();

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let end = a.duration.map(|d| Instant::now() + Duration::from_secs_f64(d));
    let past_end = move || end.is_some_and(|e| Instant::now() > e);
    let mut s = Stats::default();
    let mut samples: Vec<(i64, u64, u64)> = Vec::new(); // (decoded at, index, capture µs)
    let mut out: Option<Saver> = None;
    let mut abr = Abr::new(auto && ladder.len() > 1, ladder.len());
    loop {
        let rung = ladder[cur].as_str();
        let path = media_path(&info, rung, a.low_latency, a.flv);
        // --ll-hls: the parts come down a pipe FFmpeg reads.
        let (url, feeder) = if a.ll_hls {
            let dir = if rung == "source" { format!("/live/{}", info.id) } else { format!("/live/{}/{rung}", info.id) };
            let (url, feeder) = ll_hls_feed(rt.handle().clone(), &http.url, dir, onair_chat::rooms::with_ticket("", ticket.as_ref()))?;
            (url, Some(feeder))
        } else {
            (format!("{}{}", http.url.http(), onair_chat::rooms::with_ticket(&path, ticket.as_ref())), None)
        };
        let opened = open(&url, &a, &stop, end, wait_until).with_context(|| format!("opening {}{path}", http.url.http()));
        let Some(mut ictx) = opened? else { break };
        s.rendition = rung.to_string();
        if out.is_none() {
            out = match &a.out {
                Some(p) => Some(Saver::open(p, &ictx)?),
                None => None,
            };
        }
        let next = play(&mut ictx, &mut s, &mut samples, out.as_mut(), &mut abr, started, &|| stop.load(Ordering::Relaxed) || past_end())?;
        drop(ictx);
        if let Some(f) = feeder {
            f.stop();
        }
        match next {
            Some((step, why)) => {
                let to = (cur as i64 + step).clamp(0, ladder.len() as i64 - 1) as usize;
                if to == cur {
                    break;
                }
                eprintln!("quality: {} -> {} ({why})", ladder[cur], ladder[to]);
                s.switches.push(Switch { at_s: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0, from: ladder[cur].clone(), to: ladder[to].clone(), why });
                abr.switched(step);
                cur = to;
            }
            None => break,
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
        "watched {:.1}s ({}): {} frames received, {} decoded{span}, {} audio frames, {} stalls, {} quality switches, latency p50 {} ms p95 {} ms",
        s.seconds,
        s.rendition,
        s.video_frames_received,
        s.video_frames_decoded,
        s.audio_frames_decoded,
        s.stalls,
        s.switches.len(),
        s.latency_ms_p50.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
        s.latency_ms_p95.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
    );
    if let Some(p) = &a.stats_json {
        std::fs::write(p, json + "\n").with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(0)
}

/// The thread that fetches low-latency HLS parts into a pipe, and the
/// pipe's read end, which FFmpeg opens as `/dev/fd/N`.
struct Feeder {
    stop: Arc<AtomicBool>,
    _reader: std::io::PipeReader,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Feeder {
    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The pipe's read end closes first, so a write in progress fails.
        drop(self._reader);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(not(unix))]
fn ll_hls_feed(_: tokio::runtime::Handle, _: &RelayUrl, _: String, _: String) -> anyhow::Result<(String, Feeder)> {
    bail!("--ll-hls is not built for this system yet: use --low-latency (the fragmented MP4 stream) or plain HLS")
}

#[cfg(unix)]
fn ll_hls_feed(rt: tokio::runtime::Handle, url: &RelayUrl, dir: String, query: String) -> anyhow::Result<(String, Feeder)> {
    use std::os::fd::AsRawFd;
    let (reader, writer) = std::io::pipe().context("a pipe for the low-latency HLS parts")?;
    let stop = Arc::new(AtomicBool::new(false));
    let (http, s) = (Http::new(url.clone()), stop.clone());
    let thread = std::thread::Builder::new().name("ll-hls".into()).spawn(move || {
        if let Err(e) = super::llhls_client::run(&rt, &http, &dir, &query, writer, s) {
            eprintln!("low-latency HLS: {e}");
        }
    })?;
    // FFmpeg opens its own descriptor of the pipe (and closes it); ours
    // stays open for as long as the feeder lives.
    Ok((format!("file:/dev/fd/{}", reader.as_raw_fd()), Feeder { stop, _reader: reader, thread: Some(thread) }))
}

/// The URL path of `rung` in the chosen transport.
fn media_path(info: &RoomInfo, rung: &str, low_latency: bool, flv: bool) -> String {
    match (rung, low_latency, flv) {
        ("source", true, true) => info.flv_path.clone(),
        ("source", true, false) => info.mp4_path.clone(),
        // FFmpeg reads every rendition a multivariant playlist names (and so
        // would make the relay encode them all): one rendition's playlist.
        ("source", false, _) => format!("/live/{}/ll.m3u8", info.id),
        (q, true, true) => format!("/live/{}/{q}/live.flv", info.id),
        (q, true, false) => format!("/live/{}/{q}/live.mp4", info.id),
        (q, false, _) => format!("/live/{}/{q}/ll.m3u8", info.id),
    }
}

/// Opens `url`, retrying while its first segments do not exist yet (a new
/// rung starts at its next keyframe); None when stopped meanwhile.
fn open(url: &str, a: &WatchArgs, stop: &Arc<AtomicBool>, end: Option<Instant>, wait_until: Instant) -> anyhow::Result<Option<format::context::Input>> {
    // A switch later in a session gets as long as the first open did.
    let wait_until = wait_until.max(Instant::now() + Duration::from_secs_f64(a.wait.min(30.0)));
    loop {
        let mut opts = Dictionary::new();
        opts.set("rw_timeout", "10000000");
        if url.starts_with("https://") {
            // FFmpeg checks no certificate unless asked; the relay client does.
            opts.set("tls_verify", "1");
            if let Some(ca) = onair_media::output::mux::ca_file() {
                opts.set("ca_file", &ca);
            }
        }
        if a.low_latency || a.ll_hls {
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
            Ok(c) => return Ok(Some(c)),
            Err(_) if stop.load(Ordering::Relaxed) || end.is_some_and(|e| Instant::now() > e) => return Ok(None),
            Err(e) if Instant::now() < wait_until => {
                tracing::debug!(error = %e, "opening the playlist; retrying");
                std::thread::sleep(Duration::from_millis(250));
            }
            // The caller names the path without its ticket: a ticket is not for logs.
            Err(e) => return Err(e.into()),
        }
    }
}

/// Plays one rendition until it ends, `done` says so, or the adaptive rule
/// wants another rung: Some((+1 down / -1 up, why)).
fn play(
    ictx: &mut format::context::Input,
    s: &mut Stats,
    samples: &mut Vec<(i64, u64, u64)>,
    mut out: Option<&mut Saver>,
    abr: &mut Abr,
    started: Instant,
    done: &dyn Fn() -> bool,
) -> anyhow::Result<Option<(i64, String)>> {
    // The audio-only rung has no picture: its audio is what plays.
    let (kind, ist) = match ictx.streams().best(media::Type::Video) {
        Some(v) => (media::Type::Video, v),
        None => (media::Type::Audio, ictx.streams().best(media::Type::Audio).context("the live has neither video nor audio")?),
    };
    let idx = ist.index();
    let tb = ist.time_base();
    let dec = codec::context::Context::from_parameters(ist.parameters())?.decoder();
    let (mut vdec, mut adec) = match kind {
        media::Type::Video => (Some(dec.video()?), None),
        _ => (None, Some(dec.audio()?)),
    };
    let mut frame = ffmpeg_next::frame::Video::empty();
    let mut sound = ffmpeg_next::frame::Audio::empty();
    let mut playout: Option<f64> = None; // wall s − pts s
    abr.start();
    for (st, pkt) in ictx.packets() {
        if done() {
            return Ok(None);
        }
        if let Some(o) = out.as_deref_mut() {
            o.write(&st, &pkt);
        }
        if st.index() != idx {
            continue;
        }
        let mut pts_s = Vec::new();
        if let Some(dec) = &mut vdec {
            s.video_frames_received += 1;
            if dec.send_packet(&pkt).is_err() {
                s.decode_errors += 1;
                continue;
            }
            while dec.receive_frame(&mut frame).is_ok() {
                s.video_frames_decoded += 1;
                if let Some((i, us)) = onair_media::source::test::read_stamp(frame.data(0), frame.width() as usize, frame.stride(0)) {
                    samples.push((wall_ms(), i, us));
                }
                pts_s.extend(frame.timestamp());
            }
        } else if let Some(dec) = &mut adec {
            if dec.send_packet(&pkt).is_err() {
                s.decode_errors += 1;
                continue;
            }
            while dec.receive_frame(&mut sound).is_ok() {
                s.audio_frames_decoded += 1;
                pts_s.extend(sound.timestamp());
            }
        }
        for pts in pts_s {
            let t = pts as f64 * f64::from(tb.numerator()) / f64::from(tb.denominator().max(1));
            let w = started.elapsed().as_secs_f64();
            match playout {
                None => playout = Some(w - t + PLAYOUT_BUFFER_S),
                Some(off) if w > t + off => {
                    s.stalls += 1;
                    playout = Some(w - t + PLAYOUT_BUFFER_S);
                    if let Some(d) = abr.stalled() {
                        return Ok(Some(d));
                    }
                }
                _ => {}
            }
            if let Some(d) = abr.frame(w, t) {
                return Ok(Some(d));
            }
        }
    }
    Ok(None)
}

/// `--quality auto`: which rung to play, from how far behind the stream's
/// own pace frames arrive (a link slower than the rendition falls further
/// behind with every second; one that keeps up stays where it started).
///
/// HLS arrives a segment at a time, so single frames swing by a segment's
/// length; the figure is the least lag over the last `WINDOW` seconds (the
/// last frame of each burst is on time while the link keeps up). Down a rung
/// once that exceeds `DOWN_LAG`, or at a stall; up a rung after `up_after`
/// seconds within `CALM_LAG`. An up-step that has to come down again soon
/// doubles the wait before the next try (to a minute), so a link that cannot
/// carry the upper rung is not probed over and over.
struct Abr {
    on: bool,
    rungs: usize,
    at: usize,
    /// Session time of the rendition's first frame, and the least `w − t` seen.
    first: Option<(f64, f64)>,
    recent: std::collections::VecDeque<(f64, f64)>,
    calm_since: f64,
    up_after: f64,
    last_up: Option<Instant>,
}

const WINDOW: f64 = 2.5;
const DOWN_LAG: f64 = 1.0;
const CALM_LAG: f64 = 0.5;
const UP_AFTER: f64 = 8.0;

impl Abr {
    fn new(on: bool, rungs: usize) -> Abr {
        Abr { on, rungs, at: 0, first: None, recent: Default::default(), calm_since: 0.0, up_after: UP_AFTER, last_up: None }
    }

    /// A rendition starts: its pace is learnt again.
    fn start(&mut self) {
        self.first = None;
        self.recent.clear();
    }

    fn switched(&mut self, step: i64) {
        self.at = (self.at as i64 + step).clamp(0, self.rungs as i64 - 1) as usize;
        if step < 0 {
            self.last_up = Some(Instant::now());
        } else if self.last_up.is_some_and(|t| t.elapsed().as_secs_f64() < self.up_after + WINDOW) {
            self.up_after = (self.up_after * 2.0).min(60.0);
        }
    }

    fn stalled(&mut self) -> Option<(i64, String)> {
        (self.on && self.at + 1 < self.rungs).then(|| (1, "a stall".to_string()))
    }

    /// A frame due at stream time `t` arrived at session time `w`.
    fn frame(&mut self, w: f64, t: f64) -> Option<(i64, String)> {
        if !self.on {
            return None;
        }
        let (since, base) = self.first.get_or_insert((w, w - t));
        let (since, base) = (*since, base.min(w - t));
        self.first = Some((since, base));
        self.recent.push_back((w, w - t - base));
        while self.recent.front().is_some_and(|(at, _)| w - at > WINDOW) {
            self.recent.pop_front();
        }
        if w - since < WINDOW {
            self.calm_since = w;
            return None;
        }
        let lag = self.recent.iter().map(|(_, l)| *l).fold(f64::MAX, f64::min);
        if lag > DOWN_LAG && self.at + 1 < self.rungs {
            return Some((1, format!("{lag:.1} s behind the stream's pace")));
        }
        if lag > CALM_LAG {
            self.calm_since = w;
        } else if self.at > 0 && w - self.calm_since > self.up_after {
            return Some((-1, format!("kept up for {:.0} s", w - self.calm_since)));
        }
        None
    }
}

#[derive(Default, serde::Serialize)]
struct Stats {
    seconds: f64,
    /// The rendition playing at the end (`source`, `480p`, `audio`, …).
    rendition: String,
    /// Each change of rendition (`--quality auto`).
    switches: Vec<Switch>,
    /// Audio frames decoded (the audio-only rendition).
    audio_frames_decoded: u64,
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

#[derive(serde::Serialize)]
struct Switch {
    /// Seconds since watch started.
    at_s: f64,
    from: String,
    to: String,
    why: String,
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
