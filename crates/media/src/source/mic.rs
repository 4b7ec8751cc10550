//! `mic[:N]`: a microphone through cpal, behind the `mic` feature.
//!
//! cpal's stream is not `Send` on every platform, so a small thread owns it and
//! hands samples over a bounded channel. cpal may report a "default" device
//! that only fails when opened or configured (as on machines with no sound
//! card): every such failure, and a device that delivers no audio at all,
//! becomes one clear error.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::frame::{AudioFrame, Clock};
use crate::{MediaError, Result};

/// Describes the microphones present, for `onair devices`.
pub fn list() -> Result<Vec<String>> {
    imp::list()
}

pub use imp::MicAudio;

#[cfg(feature = "mic")]
mod imp {
    use super::*;
    use crate::convert::Resampler;
    use crate::frame::{CHANNELS, SAMPLE_RATE};
    use crate::source::AudioSource;
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};
    use ffmpeg_next::format::{sample::Type as SampleType, Sample};
    use ffmpeg_next::{frame, ChannelLayout};
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    fn no_mic(detail: impl std::fmt::Display) -> MediaError {
        MediaError::NoMicrophone { detail: format!(" ({detail})") }
    }

    pub fn list() -> Result<Vec<String>> {
        let host = cpal::default_host();
        let devs = host.input_devices().map_err(no_mic)?;
        Ok(devs
            .enumerate()
            .map(|(i, d)| {
                let name = d.description().map(|d| d.to_string()).unwrap_or_else(|_| "unknown".into());
                let usable = d.default_input_config().is_ok();
                format!("mic:{i}  {name}{}", if usable { "" } else { "  (cannot be opened)" })
            })
            .collect())
    }

    struct Chunk {
        samples: Vec<f32>,
        channels: u16,
        rate: u32,
    }

    pub struct MicAudio {
        name: String,
        rx: Receiver<Chunk>,
        resampler: Resampler,
        clock: Clock,
        stop: Arc<AtomicBool>,
        emitted: u64,
        start: Option<Duration>,
    }

    impl MicAudio {
        pub fn open(index: Option<usize>, clock: Clock, stop: Arc<AtomicBool>) -> Result<Self> {
            crate::init();
            let (tx, rx) = bounded::<Chunk>(64);
            let name = crate::cpal_thread::hold(
                "mic",
                stop.clone(),
                move || -> Result<(cpal::Stream, String)> {
                        let host = cpal::default_host();
                        let device = match index {
                            None => host.default_input_device().ok_or_else(|| no_mic("no input device"))?,
                            Some(i) => host
                                .input_devices()
                                .map_err(no_mic)?
                                .nth(i)
                                .ok_or_else(|| no_mic(format!("there is no mic:{i}; see `onair devices`")))?,
                        };
                        let name = device.description().map(|d| d.to_string()).unwrap_or_else(|_| "microphone".into());
                        let cfg = device.default_input_config().map_err(|e| no_mic(format!("{name}: {e}")))?;
                        let (channels, rate) = (cfg.channels(), cfg.sample_rate());
                        let err = |e: cpal::Error| tracing::warn!("microphone error: {e}");
                        let stream = match cfg.sample_format() {
                            cpal::SampleFormat::F32 => {
                                let tx = tx.clone();
                                device.build_input_stream::<f32, _, _>(
                                    cfg.config(),
                                    move |d: &[f32], _| {
                                        let _ = tx.try_send(Chunk { samples: d.to_vec(), channels, rate });
                                    },
                                    err,
                                    None,
                                )
                            }
                            cpal::SampleFormat::I16 => {
                                let tx = tx.clone();
                                device.build_input_stream::<i16, _, _>(
                                    cfg.config(),
                                    move |d: &[i16], _| {
                                        let samples = d.iter().map(|&s| s as f32 / 32768.0).collect();
                                        let _ = tx.try_send(Chunk { samples, channels, rate });
                                    },
                                    err,
                                    None,
                                )
                            }
                            other => return Err(no_mic(format!("{name}: unsupported sample format {other:?}"))),
                        }
                        .map_err(|e| no_mic(format!("{name}: {e}")))?;
                        stream.play().map_err(|e| no_mic(format!("{name}: {e}")))?;
                        Ok((stream, name))
                    },
                |d: &str| no_mic(d),
            )?;
            Ok(MicAudio { name, rx, resampler: Resampler::new(), clock, stop, emitted: 0, start: None })
        }
    }

    impl AudioSource for MicAudio {
        fn describe(&self) -> String {
            format!("microphone {}", self.name)
        }

        fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
            let timeout = if self.start.is_none() { Duration::from_secs(3) } else { Duration::from_secs(2) };
            let chunk = match self.rx.recv_timeout(timeout) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) if self.stop.load(Ordering::Relaxed) => return Ok(None),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(no_mic(format!("{} delivered no audio for {}s", self.name, timeout.as_secs())))
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(None),
            };
            // The first chunk anchors the stream to the clock; after that, time
            // advances by samples so the audio has no gaps or jitter.
            let start = *self.start.get_or_insert_with(|| self.clock.now());
            let n = chunk.samples.len() / chunk.channels.max(1) as usize;
            let mut input = frame::Audio::new(
                Sample::F32(SampleType::Packed),
                n,
                ChannelLayout::default(chunk.channels as i32),
            );
            input.set_rate(chunk.rate);
            let bytes: Vec<u8> = chunk.samples.iter().flat_map(|s| s.to_ne_bytes()).collect();
            let dst = input.data_mut(0);
            let len = bytes.len().min(dst.len());
            dst[..len].copy_from_slice(&bytes[..len]);
            let mut samples = Vec::with_capacity(n * CHANNELS);
            self.resampler.convert(&input, &mut samples)?;
            let pts = start + Duration::from_nanos(self.emitted * 1_000_000_000 / SAMPLE_RATE as u64);
            self.emitted += (samples.len() / CHANNELS) as u64;
            Ok(Some(AudioFrame { samples, pts }))
        }
    }
}

#[cfg(not(feature = "mic"))]
mod imp {
    use super::*;

    pub fn list() -> Result<Vec<String>> {
        Err(MediaError::NotBuilt { what: "microphone", feature: "mic" })
    }

    pub struct MicAudio;

    impl MicAudio {
        pub fn open(_: Option<usize>, _: Clock, _: Arc<AtomicBool>) -> Result<Self> {
            Err(MediaError::NotBuilt { what: "microphone", feature: "mic" })
        }
    }

    impl crate::source::AudioSource for MicAudio {
        fn describe(&self) -> String {
            "microphone (not built)".into()
        }
        fn next_chunk(&mut self) -> Result<Option<AudioFrame>> {
            Err(MediaError::NotBuilt { what: "microphone", feature: "mic" })
        }
    }
}
