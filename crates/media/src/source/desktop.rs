//! `desktop`: the sound the computer plays (games, music, a browser), as OBS's
//! "desktop audio".
//!
//! Linux reads the monitor of the default output through FFmpeg's `pulse`
//! input: PulseAudio and PipeWire (through `pipewire-pulse`) both name it
//! `@DEFAULT_MONITOR@`, so it follows the user's choice of speaker. Windows
//! (WASAPI loopback) and macOS (ScreenCaptureKit) have no FFmpeg input device
//! for this; they give a clear error until their capture is built.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::frame::{AudioFrame, Clock};
use crate::{MediaError, Result};

pub use imp::DesktopAudio;

fn fail(reason: impl std::fmt::Display) -> MediaError {
    MediaError::OpenInput {
        path: "desktop audio".into(),
        reason: reason.to_string(),
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use ffmpeg_next::format::context::Input;
    use ffmpeg_next::{codec, Dictionary};

    use super::*;
    use crate::frame::{CHANNELS, SAMPLE_RATE};
    use crate::source::AudioSource;

    /// PulseAudio's (and pipewire-pulse's) name for the monitor of whatever
    /// output is the default one.
    const MONITOR: &str = "@DEFAULT_MONITOR@";

    /// The monitor is read as packets of raw 16-bit stereo at 48 kHz (the
    /// format asked of the `pulse` input), converted here: no decoder or
    /// resampler is needed, and FFmpeg 5.1's `pulse` input leaves the channel
    /// layout unset, which its resampler does not survive.
    pub struct DesktopAudio {
        input: Input,
        stream: usize,
        clock: Clock,
        stop: Arc<AtomicBool>,
        /// The clock time of the first sample, and samples handed out since:
        /// after the first chunk, time advances by samples (no jitter).
        start: Option<Duration>,
        emitted: u64,
    }

    impl DesktopAudio {
        pub fn open(clock: Clock, stop: Arc<AtomicBool>) -> Result<Self> {
            crate::init();
            let name = std::ffi::CString::new("pulse").expect("no NUL in a device name");
            // SAFETY: av_find_input_format only reads the NUL-terminated name
            // and returns a static format description or null.
            let fmt = unsafe { ffmpeg_next::ffi::av_find_input_format(name.as_ptr()) };
            if fmt.is_null() {
                return Err(fail(
                    "this FFmpeg was built without its PulseAudio input (libavdevice `pulse`)",
                ));
            }
            // SAFETY: `fmt` is a valid, static AVInputFormat checked non-null above.
            let format = ffmpeg_next::Format::Input(unsafe {
                ffmpeg_next::format::Input::wrap(fmt as *mut _)
            });
            let mut opts = Dictionary::new();
            opts.set("sample_rate", &SAMPLE_RATE.to_string());
            opts.set("channels", &CHANNELS.to_string());
            // 20 ms reads: the mixer and encoder get audio in small steps.
            opts.set(
                "fragment_size",
                &(SAMPLE_RATE as usize / 50 * CHANNELS * 2).to_string(),
            );
            opts.set("name", "OnAir");
            opts.set("stream_name", "desktop audio");
            let ctx = ffmpeg_next::format::open_with(&MONITOR, &format, opts).map_err(|e| {
                fail(format!(
                    "cannot open the monitor of the default output ({MONITOR}): {e}; \
                     desktop audio needs PulseAudio or PipeWire (pipewire-pulse) running in this session"
                ))
            })?;
            let input = ctx.input();
            let st = input
                .streams()
                .best(ffmpeg_next::media::Type::Audio)
                .ok_or_else(|| fail("the monitor has no audio stream"))?;
            let stream = st.index();
            let id = st.parameters().id();
            if id != codec::Id::PCM_S16LE {
                return Err(fail(format!("the monitor gives {id:?}, not 16-bit PCM")));
            }
            Ok(DesktopAudio {
                input,
                stream,
                clock,
                stop,
                start: None,
                emitted: 0,
            })
        }
    }

    impl AudioSource for DesktopAudio {
        fn describe(&self) -> String {
            format!("desktop audio (monitor of the default output, {MONITOR})")
        }

        fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
            loop {
                if self.stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                let pkt = match self.input.packets().next() {
                    Some((st, pkt)) if st.index() == self.stream => pkt,
                    Some(_) => continue,
                    None => return Err(fail("the sound server closed the monitor stream")),
                };
                let data = pkt.data().unwrap_or_default();
                // Whole stereo frames only (a packet always holds them).
                let usable = data.len() / (2 * CHANNELS) * (2 * CHANNELS);
                let samples: Vec<f32> = data[..usable]
                    .chunks_exact(2)
                    .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                    .collect();
                if !samples.is_empty() {
                    let start = *self.start.get_or_insert_with(|| self.clock.now());
                    let pts = start
                        + Duration::from_nanos(self.emitted * 1_000_000_000 / SAMPLE_RATE as u64);
                    self.emitted += (samples.len() / CHANNELS) as u64;
                    return Ok(Some(AudioFrame { samples, pts }));
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    /// Desktop audio where its capture is not built yet.
    pub struct DesktopAudio;

    #[cfg(target_os = "windows")]
    const WHY: &str = "desktop audio on Windows needs WASAPI loopback capture, which this build of onair does not have yet; \
                       use a virtual cable (e.g. VB-CABLE) as the microphone (--audio mic:N) meanwhile";
    #[cfg(target_os = "macos")]
    const WHY: &str = "desktop audio on macOS needs ScreenCaptureKit audio capture, which this build of onair does not have yet; \
                       use a loopback device (e.g. BlackHole) as the microphone (--audio mic:N) meanwhile";
    #[cfg(not(any(target_os = "windows", target_os = "macos")))]
    const WHY: &str = "desktop audio is not available on this system";

    impl DesktopAudio {
        pub fn open(_: Clock, _: Arc<AtomicBool>) -> Result<Self> {
            Err(fail(WHY))
        }
    }

    impl crate::source::AudioSource for DesktopAudio {
        fn describe(&self) -> String {
            "desktop audio (not built)".into()
        }
        fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
            Err(fail(WHY))
        }
    }
}
