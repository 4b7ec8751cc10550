//! `screen[:N]`: desktop capture.
//!
//! Linux/X11 uses FFmpeg's x11grab (it works under Xvfb at 720p30; the `xcap`
//! crate was measured slower and flaky). `screen:N` captures X display `:N`;
//! plain `screen` captures `$DISPLAY`. Windows (gdigrab) and macOS
//! (avfoundation) go through the matching FFmpeg input device behind `cfg`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use ffmpeg_next::format::context::Input;
use ffmpeg_next::{codec, frame, Dictionary};

use super::VideoSource;
use crate::convert::Fitter;
use crate::frame::{Clock, VideoFrame};
use crate::{MediaError, Result};

pub struct ScreenVideo {
    display: String,
    input: Input,
    stream: usize,
    decoder: codec::decoder::Video,
    decoded: frame::Video,
    fitter: Fitter,
    clock: Clock,
    last: Option<std::time::Duration>,
    _stop: Arc<AtomicBool>,
}

#[cfg(target_os = "linux")]
const DEVICE: &str = "x11grab";
#[cfg(target_os = "windows")]
const DEVICE: &str = "gdigrab";
#[cfg(target_os = "macos")]
const DEVICE: &str = "avfoundation";
/// No screen capture is built for other systems (the BSDs, Android): `open`
/// says so before asking FFmpeg for a device.
#[cfg(not(any(target_os = "linux", target_os = "windows", target_os = "macos")))]
const DEVICE: &str = "none";

/// What the capture device is asked to open for `screen[:N]`.
fn device_url(display: Option<&str>) -> Result<String> {
    #[cfg(target_os = "linux")]
    {
        let d = match display {
            Some(n) if n.starts_with(':') => n.to_string(),
            Some(n) => format!(":{n}"),
            None => std::env::var("DISPLAY").map_err(|_| MediaError::Screen {
                display: "$DISPLAY".into(),
                reason: "DISPLAY is not set: run inside an X11 session, or name one with --video screen:N".into(),
            })?,
        };
        Ok(d)
    }
    #[cfg(target_os = "windows")]
    {
        let _ = display;
        Ok("desktop".into())
    }
    #[cfg(target_os = "macos")]
    {
        Ok(format!("Capture screen {}", display.unwrap_or("0")))
    }
    #[cfg(not(any(target_os = "linux", target_os = "windows", target_os = "macos")))]
    {
        Err(MediaError::Screen {
            display: display.unwrap_or("screen").into(),
            reason: "screen capture is built for Linux (X11), Windows and macOS only; use --video file:PATH or camera".into(),
        })
    }
}

impl ScreenVideo {
    pub fn open(display: Option<&str>, width: u32, height: u32, fps: u32, clock: Clock, stop: Arc<AtomicBool>) -> Result<Self> {
        crate::init();
        let url = device_url(display)?;
        Self::open_device(url.clone(), url, Dictionary::new(), width, height, fps, clock, stop)
    }

    /// `window:TITLE|0xID`: one application window (see [`super::window`]).
    pub fn open_window(target: &str, width: u32, height: u32, fps: u32, clock: Clock, stop: Arc<AtomicBool>) -> Result<Self> {
        crate::init();
        #[cfg(target_os = "linux")]
        {
            let w = super::window::pick(&super::window::list()?, target)?;
            let url = device_url(None)?;
            let mut opts = Dictionary::new();
            opts.set("window_id", &w.id.to_string());
            Self::open_device(url, format!("window {:?} ({})", w.title, w.spec()), opts, width, height, fps, clock, stop)
        }
        #[cfg(target_os = "windows")]
        {
            // gdigrab opens a window by its title.
            Self::open_device(format!("title={target}"), format!("window {target:?}"), Dictionary::new(), width, height, fps, clock, stop)
        }
        #[cfg(not(any(target_os = "linux", target_os = "windows")))]
        {
            let _ = (width, height, fps, clock, stop);
            Err(MediaError::Screen {
                display: format!("window {target:?}"),
                reason: "window capture is built for Linux (X11) and Windows only: share the whole screen with --video screen".into(),
            })
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn open_device(url: String, what: String, mut opts: Dictionary, width: u32, height: u32, fps: u32, clock: Clock, stop: Arc<AtomicBool>) -> Result<Self> {
        let fail = |reason: String| MediaError::Screen { display: what.clone(), reason };
        let name = std::ffi::CString::new(DEVICE).expect("device names have no NUL");
        // SAFETY: av_find_input_format only reads the NUL-terminated name and
        // returns a pointer to a static format description (or null).
        let fmt = unsafe { ffmpeg_next::ffi::av_find_input_format(name.as_ptr()) };
        if fmt.is_null() {
            return Err(fail(format!("this FFmpeg has no {DEVICE} input device")));
        }
        // SAFETY: `fmt` is a valid, static AVInputFormat checked non-null above.
        let format = ffmpeg_next::Format::Input(unsafe { ffmpeg_next::format::Input::wrap(fmt as *mut _) });
        opts.set("framerate", &fps.to_string());
        opts.set("draw_mouse", "1");
        let ctx = ffmpeg_next::format::open_with(&url, &format, opts).map_err(|e| fail(e.to_string()))?;
        let input = ctx.input();
        let st = input.streams().best(ffmpeg_next::media::Type::Video).ok_or_else(|| fail("no video stream".into()))?;
        let stream = st.index();
        let decoder = codec::context::Context::from_parameters(st.parameters())
            .and_then(|c| c.decoder().video())
            .map_err(|e| fail(e.to_string()))?;
        Ok(ScreenVideo {
            display: what,
            input,
            stream,
            decoder,
            decoded: frame::Video::empty(),
            fitter: Fitter::new(width, height),
            clock,
            last: None,
            _stop: stop,
        })
    }
}

impl VideoSource for ScreenVideo {
    fn describe(&self) -> String {
        if self.display.starts_with("window") {
            format!("{} ({DEVICE})", self.display)
        } else {
            format!("screen {} ({DEVICE})", self.display)
        }
    }

    fn next_frame(&mut self) -> Result<Option<VideoFrame>> {
        loop {
            if self.decoder.receive_frame(&mut self.decoded).is_ok() {
                let pts = self.clock.now();
                if self.last.is_some_and(|l| pts <= l) {
                    continue;
                }
                self.last = Some(pts);
                let mut f = self.fitter.fit(&self.decoded)?;
                f.pts = pts;
                return Ok(Some(f));
            }
            match self.input.packets().next() {
                Some((st, pkt)) if st.index() == self.stream => {
                    self.decoder.send_packet(&pkt).map_err(|e| MediaError::Screen {
                        display: self.display.clone(),
                        reason: e.to_string(),
                    })?;
                }
                Some(_) => {}
                None => {
                    let reason = if self.display.starts_with("window") { "the window closed" } else { "capture ended" };
                    return Err(MediaError::Screen { display: self.display.clone(), reason: reason.into() });
                }
            }
        }
    }
}
