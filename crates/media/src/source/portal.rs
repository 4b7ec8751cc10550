//! Wayland screen and window capture through xdg-desktop-portal's ScreenCast
//! and PipeWire.
//!
//! A Wayland compositor shows no other program's pixels to a client, so
//! x11grab sees only XWayland's windows there. The desktop's portal
//! (`org.freedesktop.portal.ScreenCast` on the session bus) asks the user
//! what to share, then hands over a PipeWire stream of it: the source opens
//! a portal session (CreateSession → SelectSources → Start), takes the
//! stream's node and the PipeWire connection the portal opens for us
//! (OpenPipeWireRemote), and reads raw frames on a thread of its own. The
//! session lives as long as the source and is closed when it is dropped.
//!
//! Frames arrive only when the screen changes (xdg-desktop-portal-wlr copies
//! on damage), so [`PortalVideo`] repeats the newest picture at the job's
//! rate, as x11grab does. Buffers are shared memory: the stream offers no
//! DMA-BUF modifiers, so the producer falls back to memfd/SHM, which is
//! mapped and copied (with its stride) into BGRx/RGBx/BGRA/RGBA frames.
//!
//! Specs: plain `screen` in a Wayland session (`WAYLAND_DISPLAY` set),
//! `screen:wayland` anywhere, and `window:wayland` (a window, picked in the
//! portal's dialog; the portal must offer windows: xdg-desktop-portal-wlr 0.7
//! offers whole outputs only).

use crate::{MediaError, Result};

/// What the portal is asked to let the user pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Monitor,
    Window,
}

/// The spec argument (`screen:wayland`, `window:wayland`) that asks for the portal.
pub const SPEC_ARG: &str = "wayland";

/// Whether this is a Wayland session, where plain `screen` goes through the
/// portal (x11grab would capture only XWayland's windows).
pub fn wayland_session() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
        || std::env::var("XDG_SESSION_TYPE").is_ok_and(|v| v == "wayland")
}

/// Whether a `screen[:ARG]` spec is captured through the portal here.
pub fn wants_screen(display: Option<&str>) -> bool {
    match display {
        Some(a) => a == SPEC_ARG,
        None => cfg!(all(target_os = "linux", feature = "wayland")) && wayland_session(),
    }
}

/// What to do when no portal answers.
pub const NO_PORTAL: &str = "no screen-sharing portal answered: install xdg-desktop-portal and the portal for your desktop (xdg-desktop-portal-gnome, xdg-desktop-portal-kde or xdg-desktop-portal-wlr) and log in again, or log in to an X11 session";

fn failed(what: Pick, reason: impl Into<String>) -> MediaError {
    let display = match what {
        Pick::Monitor => "Wayland screen (portal)",
        Pick::Window => "Wayland window (portal)",
    };
    MediaError::Screen {
        display: display.into(),
        reason: reason.into(),
    }
}

/// What `onair devices` says about the portal: `Ok((version, windows offered))`
/// or why none answered. Asked only in a Wayland session (elsewhere it
/// would start a portal daemon for nothing), within a second or two.
pub fn probe() -> std::result::Result<(u32, bool), String> {
    imp::probe()
}

#[cfg(all(target_os = "linux", feature = "wayland"))]
pub use imp::PortalVideo;

#[cfg(not(all(target_os = "linux", feature = "wayland")))]
mod imp {
    use super::*;
    use crate::frame::Clock;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    pub fn probe() -> std::result::Result<(u32, bool), String> {
        Err(if cfg!(target_os = "linux") {
            "this build of onair has no Wayland capture (rebuild with the `wayland` feature)".into()
        } else {
            "the screen-sharing portal is a Linux desktop's".into()
        })
    }

    /// Not built here: says so.
    pub fn open(
        pick: Pick,
        _w: u32,
        _h: u32,
        _fps: u32,
        _clock: Clock,
        _stop: Arc<AtomicBool>,
    ) -> Result<Box<dyn crate::source::VideoSource>> {
        if cfg!(target_os = "linux") {
            let _ = pick;
            Err(MediaError::NotBuilt {
                what: "Wayland screen capture",
                feature: "wayland",
            })
        } else {
            Err(failed(
                pick,
                "the screen-sharing portal is for Linux desktops: use --video screen",
            ))
        }
    }
}

#[cfg(not(all(target_os = "linux", feature = "wayland")))]
pub use imp::open;

/// Opens a portal capture: the user picks in the portal's dialog (or the
/// portal's configuration picks), and frames arrive at `fps` in `w`×`h`.
#[cfg(all(target_os = "linux", feature = "wayland"))]
pub fn open(
    pick: Pick,
    w: u32,
    h: u32,
    fps: u32,
    clock: crate::frame::Clock,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Result<Box<dyn crate::source::VideoSource>> {
    Ok(Box::new(PortalVideo::open(pick, w, h, fps, clock, stop)?))
}

#[cfg(all(target_os = "linux", feature = "wayland"))]
mod imp {
    use super::*;
    use std::time::Duration;

    /// How long the portal may take to answer a call that shows no dialog.
    const ANSWER: Duration = Duration::from_secs(10);
    /// How long the user may take in the portal's "share your screen" dialog.
    const CHOOSE: Duration = Duration::from_secs(180);
    /// How long to wait for the first picture once the stream is connected.
    /// xdg-desktop-portal-wlr copies only on damage, so a screen that does not
    /// change sends nothing: after this the source starts black and shows the
    /// screen as soon as anything on it changes.
    const FIRST_FRAME: Duration = Duration::from_secs(3);
    use std::os::fd::OwnedFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::thread::JoinHandle;
    use std::time::Instant;

    use ashpd::desktop::screencast::{CursorMode, Screencast, SelectSourcesOptions, SourceType};
    use ashpd::desktop::{PersistMode, ResponseError};
    use ashpd::zbus;
    use ffmpeg_next::format::Pixel;
    use ffmpeg_next::frame;

    use crate::convert::Fitter;
    use crate::frame::{Clock, VideoFrame};
    use crate::source::VideoSource;

    /// Turns a portal or D-Bus failure into what the user should do.
    fn explain(pick: Pick, e: ashpd::Error) -> MediaError {
        failed(pick, reason(e))
    }

    fn reason(e: ashpd::Error) -> String {
        use ashpd::Error as E;
        match &e {
            E::Response(ResponseError::Cancelled) => {
                "screen sharing was cancelled in the desktop's dialog: start again and pick what to share".to_string()
            }
            E::Response(ResponseError::Other) => {
                "the screen-sharing portal refused (the desktop may not allow sharing here, or nothing could be picked)".to_string()
            }
            E::Zbus(zbus::Error::Address(_)) | E::Zbus(zbus::Error::InputOutput(_)) | E::Zbus(zbus::Error::Connection(..)) => {
                format!("{NO_PORTAL} (no D-Bus session bus: {e})")
            }
            E::PortalNotFound(_)
            | E::RequiresVersion(..)
            | E::NoResponse
            | E::Zbus(zbus::Error::FDO(_))
            | E::Zbus(zbus::Error::MethodError(..))
            | E::Zbus(zbus::Error::InterfaceNotFound) => format!("{NO_PORTAL} ({e})"),
            _ => format!("the screen-sharing portal failed: {e}"),
        }
    }

    pub fn probe() -> std::result::Result<(u32, bool), String> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name("portal-probe".into())
            .spawn(move || {
                let r = futures_executor::block_on(async {
                    let sc = Screencast::new().await?;
                    let types = sc.available_source_types().await?;
                    Ok::<_, ashpd::Error>((sc.version(), types.contains(SourceType::Window)))
                });
                let _ = tx.send(r.map_err(reason));
            })
            .map_err(|e| e.to_string())?;
        rx.recv_timeout(Duration::from_secs(2))
            .unwrap_or_else(|_| Err(NO_PORTAL.to_string()))
    }

    /// Where the portal's restore token for `pick` is kept (this machine's
    /// data folder): not a secret (it names a choice the portal keeps),
    /// but only this user's.
    fn token_path(pick: Pick) -> std::path::PathBuf {
        crate::home::data_dir().join(match pick {
            Pick::Monitor => "portal-screen.token",
            Pick::Window => "portal-window.token",
        })
    }

    fn read_token(pick: Pick) -> Option<String> {
        let t = std::fs::read_to_string(token_path(pick)).ok()?;
        let t = t.trim();
        // The portal makes UUIDs; anything else in the file is not ours.
        (!t.is_empty()
            && t.len() <= 128
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then(|| t.to_string())
    }

    fn write_token(pick: Pick, token: &str) {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = token_path(pick);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let r = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(token.as_bytes()));
        if let Err(e) = r {
            tracing::warn!(path = %path.display(), "cannot keep the screen-sharing portal's restore token: {e}");
        }
    }

    /// What the portal session hands over.
    struct Started {
        node: u32,
        size: Option<(i32, i32)>,
        fd: OwnedFd,
    }

    /// Runs the portal session on a thread of its own: it answers once with
    /// the stream (or the error), then holds the session open until `close`
    /// is dropped or sent to, and closes it.
    fn start_session(
        pick: Pick,
    ) -> Result<(Started, crossbeam_channel::Sender<()>, JoinHandle<()>)> {
        let (tx, rx) = crossbeam_channel::bounded::<std::result::Result<Started, MediaError>>(1);
        let (close_tx, close_rx) = crossbeam_channel::bounded::<()>(1);
        let (step_tx, step_rx) = crossbeam_channel::unbounded::<&'static str>();
        let thread = std::thread::Builder::new()
            .name("portal-session".into())
            .spawn(move || {
                let run = async {
                    let sc = Screencast::new().await?;
                    let wanted = match pick {
                        Pick::Monitor => SourceType::Monitor,
                        Pick::Window => SourceType::Window,
                    };
                    let offered = sc.available_source_types().await?;
                    if !offered.contains(wanted) {
                        return Ok(Err(failed(
                            pick,
                            match pick {
                                Pick::Window => "this desktop's screen-sharing portal offers whole screens only, not windows: share the screen with --video screen",
                                Pick::Monitor => "this desktop's screen-sharing portal offers no screens",
                            },
                        )));
                    }
                    let session = sc.create_session(Default::default()).await?;
                    let cursor = sc.available_cursor_modes().await.ok().filter(|m| m.contains(CursorMode::Embedded)).map(|_| CursorMode::Embedded);
                    // Version 4 remembers the user's choice: the token from
                    // the last start skips the dialog (until revoked).
                    let persist = sc.version() >= 4;
                    let token = if persist { read_token(pick) } else { None };
                    let mut opts = SelectSourcesOptions::default().set_sources(Some(wanted.into())).set_multiple(false).set_cursor_mode(cursor);
                    if persist {
                        opts = opts.set_persist_mode(PersistMode::ExplicitlyRevoked).set_restore_token(token.as_deref());
                    }
                    // A chooser may show from here on (xdg-desktop-portal-wlr's
                    // at SelectSources, GNOME's and KDE's at Start).
                    let _ = step_tx.send("choose");
                    sc.select_sources(&session, opts).await?.response()?;
                    let streams = sc.start(&session, None, Default::default()).await?.response()?;
                    let _ = step_tx.send("answered");
                    if let Some(t) = streams.restore_token() {
                        write_token(pick, t);
                    }
                    let Some(stream) = streams.streams().first() else {
                        let _ = session.close().await;
                        return Ok(Err(failed(pick, "the screen-sharing portal started no stream")));
                    };
                    let fd = sc.open_pipe_wire_remote(&session, Default::default()).await?;
                    Ok::<_, ashpd::Error>(Ok((session, Started { node: stream.pipe_wire_node_id(), size: stream.size(), fd })))
                };
                match futures_executor::block_on(run) {
                    Ok(Ok((session, started))) => {
                        if tx.send(Ok(started)).is_ok() {
                            // Hold the session until the source goes.
                            let _ = close_rx.recv();
                        }
                        let _ = futures_executor::block_on(session.close());
                    }
                    Ok(Err(e)) => {
                        let _ = tx.send(Err(e));
                    }
                    Err(e) => {
                        let _ = tx.send(Err(explain(pick, e)));
                    }
                }
            })
            .map_err(|e| failed(pick, format!("cannot start a thread: {e}")))?;
        // No dialog shows before Start, so the portal answers quickly up to
        // there; then the user may take a while to choose.
        let mut deadline = Instant::now() + ANSWER;
        loop {
            crossbeam_channel::select! {
                recv(rx) -> r => {
                    return match r {
                        Ok(Ok(s)) => Ok((s, close_tx, thread)),
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err(failed(pick, "the screen-sharing portal's thread ended")),
                    };
                }
                recv(step_rx) -> s => match s {
                    Ok("choose") => deadline = Instant::now() + CHOOSE,
                    Ok(_) => deadline = Instant::now() + ANSWER,
                    Err(_) => {}
                },
                default(deadline.saturating_duration_since(Instant::now())) => {
                    // The session thread closes what it opened when the portal answers at last.
                    return Err(failed(pick, format!("{NO_PORTAL} (no answer in time)")));
                }
            }
        }
    }

    /// The newest frame from the PipeWire thread, or why the stream ended.
    #[derive(Default)]
    struct Slot {
        frame: Option<frame::Video>,
        ended: Option<String>,
        format: Option<String>,
    }

    struct Mailbox {
        slot: Mutex<Slot>,
        ready: Condvar,
    }

    impl Mailbox {
        fn put(&self, f: impl FnOnce(&mut Slot)) {
            let mut s = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut s);
            self.ready.notify_all();
        }
    }

    /// `screen` on Wayland: frames of a portal ScreenCast stream.
    pub struct PortalVideo {
        what: String,
        pick: Pick,
        mailbox: Arc<Mailbox>,
        fitter: Fitter,
        fitter_size: (u32, u32),
        clock: Clock,
        period: Duration,
        next_due: Option<Duration>,
        last: Option<VideoFrame>,
        last_pts: Option<Duration>,
        stop: Arc<AtomicBool>,
        quit: Arc<AtomicBool>,
        stream_thread: Option<JoinHandle<()>>,
        close: Option<crossbeam_channel::Sender<()>>,
        session_thread: Option<JoinHandle<()>>,
    }

    impl PortalVideo {
        pub fn open(
            pick: Pick,
            w: u32,
            h: u32,
            fps: u32,
            clock: Clock,
            stop: Arc<AtomicBool>,
        ) -> Result<Self> {
            crate::init();
            let (started, close, session_thread) = start_session(pick)?;
            let mailbox = Arc::new(Mailbox {
                slot: Mutex::new(Slot::default()),
                ready: Condvar::new(),
            });
            let quit = Arc::new(AtomicBool::new(false));
            let node = started.node;
            let size = started.size;
            let (ok_tx, ok_rx) = crossbeam_channel::bounded::<std::result::Result<(), String>>(1);
            let (mb, q) = (mailbox.clone(), quit.clone());
            let stream_thread = std::thread::Builder::new()
                .name("pipewire-screen".into())
                .spawn(move || {
                    if let Err(e) = stream::run(started.fd, node, mb.clone(), q, ok_tx.clone()) {
                        let _ = ok_tx.try_send(Err(e.clone()));
                        mb.put(|s| s.ended = Some(e));
                    }
                })
                .map_err(|e| failed(pick, format!("cannot start a thread: {e}")))?;
            let mut src = PortalVideo {
                what: match size {
                    Some((sw, sh)) => format!(
                        "{} {sw}x{sh}, PipeWire node {node}",
                        if pick == Pick::Window {
                            "window"
                        } else {
                            "screen"
                        }
                    ),
                    None => format!("PipeWire node {node}"),
                },
                pick,
                mailbox,
                fitter: Fitter::new(w, h),
                fitter_size: (w, h),
                clock,
                period: Duration::from_nanos(1_000_000_000 / u64::from(fps.max(1))),
                next_due: None,
                last: None,
                last_pts: None,
                stop,
                quit,
                stream_thread: Some(stream_thread),
                close: Some(close),
                session_thread: Some(session_thread),
            };
            match ok_rx.recv_timeout(ANSWER) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    return Err(failed(
                        pick,
                        format!("cannot read the portal's PipeWire stream: {e}"),
                    ))
                }
                Err(_) => {
                    return Err(failed(
                        pick,
                        "the portal's PipeWire stream did not connect in time",
                    ))
                }
            }
            // The first picture, so that a job that starts has something to show.
            src.wait_first()?;
            Ok(src)
        }

        fn wait_first(&mut self) -> Result<()> {
            let deadline = Instant::now() + FIRST_FRAME;
            let mb = self.mailbox.clone();
            let mut s = mb.slot.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(f) = s.frame.take() {
                    drop(s);
                    self.last = Some(self.fitter.fit(&f)?);
                    return Ok(());
                }
                if let Some(e) = &s.ended {
                    return Err(failed(self.pick, e.clone()));
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || self.stop.load(Ordering::Relaxed) {
                    let Some(fmt) = s.format.clone() else {
                        return Err(failed(self.pick, format!("the portal's PipeWire stream agreed no picture format in {FIRST_FRAME:?}")));
                    };
                    tracing::warn!(format = %fmt, "no picture from the screen-sharing portal yet (it sends one when the screen changes): starting black");
                    self.last = Some(VideoFrame::black(self.fitter_size.0, self.fitter_size.1));
                    return Ok(());
                }
                s = mb
                    .ready
                    .wait_timeout(s, left.min(Duration::from_millis(100)))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
    }

    impl VideoSource for PortalVideo {
        fn describe(&self) -> String {
            format!("{} (xdg-desktop-portal ScreenCast)", self.what)
        }

        fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
            let now = self.clock.now();
            // Paced at the job's rate against the clock; after a stall, or
            // when the clock restarts, pacing starts again from now.
            let due = match self.next_due {
                Some(d) if d + self.period * 4 >= now && d <= now + self.period * 4 => d,
                _ => now,
            };
            self.clock.sleep_until(due, &self.stop);
            if self.stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            self.next_due = Some(due + self.period);
            let (newest, ended) = {
                let mut s = self.mailbox.slot.lock().unwrap_or_else(|p| p.into_inner());
                (s.frame.take(), s.ended.clone())
            };
            if let Some(e) = ended {
                return Err(failed(self.pick, e));
            }
            if let Some(f) = newest {
                self.last = Some(self.fitter.fit(&f)?);
            }
            let Some(mut out) = self.last.clone() else {
                return Err(failed(self.pick, "no picture yet"));
            };
            let mut pts = self.clock.now();
            if let Some(l) = self.last_pts {
                if pts <= l {
                    pts = l + Duration::from_millis(1);
                }
            }
            self.last_pts = Some(pts);
            out.pts = pts;
            Ok(Some(out))
        }
    }

    impl Drop for PortalVideo {
        fn drop(&mut self) {
            self.quit.store(true, Ordering::Relaxed);
            if let Some(t) = self.stream_thread.take() {
                let _ = t.join();
            }
            // Closing the portal session stops the compositor's cast.
            if let Some(c) = self.close.take() {
                let _ = c.send(());
            }
            if let Some(t) = self.session_thread.take() {
                let _ = t.join();
            }
        }
    }

    /// The PipeWire side: a stream on the portal's connection, its loop
    /// iterated here until `quit`.
    mod stream {
        use super::*;
        use pipewire as pw;
        use pw::spa;
        use pw::spa::param::video::{VideoFormat, VideoInfoRaw};
        use pw::spa::pod::Pod;

        struct State {
            info: VideoInfoRaw,
            pixel: Option<Pixel>,
            mailbox: Arc<Mailbox>,
            streaming: bool,
        }

        fn pixel_of(f: VideoFormat) -> Option<Pixel> {
            // SPA names bytes in memory order, as FFmpeg's packed formats do.
            Some(match f {
                VideoFormat::BGRx => Pixel::BGRZ,
                VideoFormat::RGBx => Pixel::RGBZ,
                VideoFormat::xRGB => Pixel::ZRGB,
                VideoFormat::xBGR => Pixel::ZBGR,
                VideoFormat::BGRA => Pixel::BGRA,
                VideoFormat::RGBA => Pixel::RGBA,
                _ => return None,
            })
        }

        fn format_params() -> std::result::Result<Vec<u8>, String> {
            let obj = pw::spa::pod::object!(
                spa::utils::SpaTypes::ObjectParamFormat,
                spa::param::ParamType::EnumFormat,
                pw::spa::pod::property!(
                    spa::param::format::FormatProperties::MediaType,
                    Id,
                    spa::param::format::MediaType::Video
                ),
                pw::spa::pod::property!(
                    spa::param::format::FormatProperties::MediaSubtype,
                    Id,
                    spa::param::format::MediaSubtype::Raw
                ),
                pw::spa::pod::property!(
                    spa::param::format::FormatProperties::VideoFormat,
                    Choice,
                    Enum,
                    Id,
                    VideoFormat::BGRx,
                    VideoFormat::BGRx,
                    VideoFormat::RGBx,
                    VideoFormat::BGRA,
                    VideoFormat::RGBA,
                    VideoFormat::xRGB,
                    VideoFormat::xBGR
                ),
                pw::spa::pod::property!(
                    spa::param::format::FormatProperties::VideoSize,
                    Choice,
                    Range,
                    Rectangle,
                    spa::utils::Rectangle {
                        width: 1920,
                        height: 1080
                    },
                    spa::utils::Rectangle {
                        width: 1,
                        height: 1
                    },
                    spa::utils::Rectangle {
                        width: 8192,
                        height: 8192
                    }
                ),
                pw::spa::pod::property!(
                    spa::param::format::FormatProperties::VideoFramerate,
                    Choice,
                    Range,
                    Fraction,
                    spa::utils::Fraction { num: 30, denom: 1 },
                    spa::utils::Fraction { num: 0, denom: 1 },
                    spa::utils::Fraction {
                        num: 1000,
                        denom: 1
                    }
                ),
            );
            pw::spa::pod::serialize::PodSerializer::serialize(
                std::io::Cursor::new(Vec::new()),
                &pw::spa::pod::Value::Object(obj),
            )
            .map(|(c, _)| c.into_inner())
            .map_err(|e| format!("{e:?}"))
        }

        /// Copies one buffer's picture (rows of `stride` bytes) into a frame.
        fn copy_frame(st: &State, data: &mut spa::buffer::Data) -> Option<frame::Video> {
            let pixel = st.pixel?;
            let size = st.info.size();
            let (w, h) = (size.width, size.height);
            if w == 0 || h == 0 || w > 16384 || h > 16384 {
                return None;
            }
            let chunk = data.chunk();
            let (offset, len) = (chunk.offset() as usize, chunk.size() as usize);
            let row = w as usize * 4;
            let stride = match chunk.stride() {
                s if s > 0 => s as usize,
                _ => row,
            };
            if stride < row || len == 0 {
                return None;
            }
            let bytes = data.data()?;
            let end = offset.checked_add(len)?.min(bytes.len());
            let src = bytes.get(offset..end)?;
            if src.len() < stride * (h as usize - 1) + row {
                return None;
            }
            let mut f = frame::Video::new(pixel, w, h);
            let dst_stride = f.stride(0);
            let dst = f.data_mut(0);
            for y in 0..h as usize {
                dst[y * dst_stride..y * dst_stride + row]
                    .copy_from_slice(&src[y * stride..y * stride + row]);
            }
            Some(f)
        }

        pub fn run(
            fd: OwnedFd,
            node: u32,
            mailbox: Arc<Mailbox>,
            quit: Arc<AtomicBool>,
            connected: crossbeam_channel::Sender<std::result::Result<(), String>>,
        ) -> std::result::Result<(), String> {
            pw::init();
            let e = |what: &str, err: pw::Error| format!("{what}: {err}");
            let mainloop =
                pw::main_loop::MainLoopRc::new(None).map_err(|x| e("PipeWire loop", x))?;
            let context = pw::context::ContextRc::new(&mainloop, None)
                .map_err(|x| e("PipeWire context", x))?;
            let core = context
                .connect_fd_rc(fd, None)
                .map_err(|x| e("connecting to the portal's PipeWire", x))?;
            let stream = pw::stream::StreamBox::new(
                &core,
                "onair-screen",
                pw::properties::properties! {
                    *pw::keys::MEDIA_TYPE => "Video",
                    *pw::keys::MEDIA_CATEGORY => "Capture",
                    *pw::keys::MEDIA_ROLE => "Screen",
                },
            )
            .map_err(|x| e("PipeWire stream", x))?;
            let state = State {
                info: VideoInfoRaw::default(),
                pixel: None,
                mailbox: mailbox.clone(),
                streaming: false,
            };
            let _listener = stream
                .add_local_listener_with_user_data(state)
                .state_changed(|_, st, _old, new| match new {
                    pw::stream::StreamState::Error(msg) => st
                        .mailbox
                        .put(|s| s.ended = Some(format!("the PipeWire stream failed: {msg}"))),
                    pw::stream::StreamState::Streaming => st.streaming = true,
                    pw::stream::StreamState::Unconnected if st.streaming => st.mailbox.put(|s| {
                        s.ended = Some(
                            "the screen-sharing stream ended (the desktop stopped sharing)".into(),
                        )
                    }),
                    _ => {}
                })
                .param_changed(|_, st, id, param| {
                    let Some(param) = param else { return };
                    if id != spa::param::ParamType::Format.as_raw() {
                        return;
                    }
                    let Ok((mt, ms)) = spa::param::format_utils::parse_format(param) else {
                        return;
                    };
                    if mt != spa::param::format::MediaType::Video
                        || ms != spa::param::format::MediaSubtype::Raw
                    {
                        return;
                    }
                    if st.info.parse(param).is_err() {
                        return;
                    }
                    st.pixel = pixel_of(st.info.format());
                    let size = st.info.size();
                    let desc = format!("{:?} {}x{}", st.info.format(), size.width, size.height);
                    tracing::info!(format = %desc, "portal screen stream format");
                    let unknown = st.pixel.is_none();
                    st.mailbox.put(|s| {
                        s.format = Some(desc.clone());
                        if unknown {
                            s.ended = Some(format!(
                                "the portal offered a pixel format onair cannot read ({desc})"
                            ));
                        }
                    });
                })
                .process(|stream, st| {
                    let Some(mut buffer) = stream.dequeue_buffer() else {
                        return;
                    };
                    let datas = buffer.datas_mut();
                    let Some(data) = datas.first_mut() else {
                        return;
                    };
                    if data.type_() == spa::buffer::DataType::DmaBuf {
                        st.mailbox.put(|s| {
                            s.ended = Some(
                                "the portal sent GPU (DMA-BUF) buffers, which onair cannot map"
                                    .into(),
                            )
                        });
                        return;
                    }
                    if let Some(f) = copy_frame(st, data) {
                        st.mailbox.put(|s| s.frame = Some(f));
                    }
                })
                .register()
                .map_err(|x| e("PipeWire listener", x))?;
            let bytes = format_params()?;
            let pod = Pod::from_bytes(&bytes).ok_or("PipeWire format parameters")?;
            let mut params = [pod];
            stream
                .connect(
                    spa::utils::Direction::Input,
                    Some(node),
                    pw::stream::StreamFlags::AUTOCONNECT | pw::stream::StreamFlags::MAP_BUFFERS,
                    &mut params,
                )
                .map_err(|x| e("connecting the PipeWire stream", x))?;
            let _ = connected.try_send(Ok(()));
            while !quit.load(Ordering::Relaxed) {
                mainloop
                    .loop_()
                    .iterate(pw::loop_::Timeout::Finite(Duration::from_millis(50)));
            }
            let _ = stream.disconnect();
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_specs_go_to_the_portal() {
        assert!(wants_screen(Some("wayland")));
        assert!(!wants_screen(Some("1")));
        assert!(!wants_screen(Some(":0")));
        // Plain `screen` depends on the session (WAYLAND_DISPLAY), which
        // tests/wayland.rs and tests/screen.rs cover with real sessions.
    }

    #[test]
    fn the_no_portal_message_says_what_to_install() {
        for what in ["xdg-desktop-portal", "-gnome", "-kde", "-wlr", "X11"] {
            assert!(NO_PORTAL.contains(what), "{what}");
        }
    }
}
