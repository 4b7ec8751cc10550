//! Plays the engine's audio (interleaved stereo f32 at 48 kHz) on a speaker
//! through cpal, behind the `mic` feature (the same sound library as the
//! microphone): the other side of a call.
//!
//! The decoder pushes; cpal's callback pulls from a short queue. Playback
//! starts once 40 ms are queued (a little jitter slack) and the queue never
//! holds more than 200 ms: when the network delivers a burst, the oldest
//! samples go, so the delay never grows. An empty queue plays silence.
//! What the callback hands the device also goes to an optional
//! [`EchoReference`]: the far end the call's echo canceller removes from the
//! microphone.
//! As with the microphone, a thread owns cpal's stream (not `Send` on every
//! platform), and a "default" device that fails when opened is one clear
//! error ([`crate::MediaError::NoSpeaker`]).

// Without the `mic` feature there is no device callback to pull from.
#![cfg_attr(not(feature = "mic"), allow(dead_code))]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::audio_processing::EchoReference;
use crate::frame::SAMPLE_RATE;
use crate::{MediaError, Result};

/// Stereo samples (L and R count as two) queued before playback starts.
const PRIME: usize = (SAMPLE_RATE as usize / 25) * 2;
/// The most stereo samples kept queued (200 ms).
const MAX_QUEUED: usize = (SAMPLE_RATE as usize / 5) * 2;

/// The queue between the decoder and the device callback.
#[derive(Default)]
struct Queue {
    samples: VecDeque<f32>,
    playing: bool,
}

impl Queue {
    fn push(&mut self, stereo: &[f32]) {
        // Whole frames only (a stray odd sample would swap left and right).
        let stereo = &stereo[..stereo.len() & !1];
        self.samples.extend(stereo.iter().copied());
        let over = self.samples.len().saturating_sub(MAX_QUEUED);
        // Whole frames only, so left and right never swap.
        self.samples.drain(..over);
    }

    /// Fills `out` (frames of `channels` samples) from the queue.
    fn pull(&mut self, out: &mut [f32], channels: usize) {
        if !self.playing && self.samples.len() >= PRIME {
            self.playing = true;
        }
        for frame in out.chunks_mut(channels.max(1)) {
            let (l, r) = match (self.playing, self.samples.len() >= 2) {
                (true, true) => (self.samples.pop_front().unwrap_or(0.0), self.samples.pop_front().unwrap_or(0.0)),
                _ => {
                    // Ran dry: silence, and wait for the queue to fill again.
                    self.playing = false;
                    (0.0, 0.0)
                }
            };
            match frame {
                [m] => *m = (l + r) * 0.5,
                [a, b, rest @ ..] => {
                    *a = l;
                    *b = r;
                    rest.fill(0.0);
                }
                [] => {}
            }
        }
    }
}

/// A speaker being played to; stops when dropped.
pub struct Speaker {
    queue: Arc<Mutex<Queue>>,
    stop: Arc<AtomicBool>,
    name: String,
}

impl Speaker {
    /// Opens the default output device, or the `index`-th.
    pub fn open(index: Option<usize>) -> Result<Speaker> {
        Speaker::open_with_reference(index, None)
    }

    /// [`Speaker::open`], recording what is played into `reference`.
    pub fn open_with_reference(index: Option<usize>, reference: Option<EchoReference>) -> Result<Speaker> {
        let queue = Arc::new(Mutex::new(Queue::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let name = imp::start(index, queue.clone(), stop.clone(), reference)?;
        Ok(Speaker { queue, stop, name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues interleaved stereo samples at 48 kHz; never blocks for long.
    pub fn push(&self, stereo: &[f32]) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push(stereo);
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// The speaker a player that names none uses (`usize::MAX`: the system's default).
static PREFERRED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(usize::MAX);

/// Sets the speaker used when none is named (the app's Settings → Devices
/// choice, by output index); `None`: the system's default device.
pub fn set_preferred(index: Option<usize>) {
    PREFERRED.store(index.unwrap_or(usize::MAX), std::sync::atomic::Ordering::Relaxed);
}

fn preferred() -> Option<usize> {
    Some(PREFERRED.load(std::sync::atomic::Ordering::Relaxed)).filter(|i| *i != usize::MAX)
}

fn no_speaker(detail: impl std::fmt::Display) -> MediaError {
    MediaError::NoSpeaker { detail: format!(" ({detail})") }
}

#[cfg(feature = "mic")]
mod imp {
    use super::*;
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

    pub fn start(index: Option<usize>, queue: Arc<Mutex<Queue>>, stop: Arc<AtomicBool>, reference: Option<EchoReference>) -> Result<String> {
        let index = index.or_else(preferred);
        crate::cpal_thread::hold(
            "speaker",
            stop,
            move || -> Result<(cpal::Stream, String)> {
                    let host = cpal::default_host();
                    let device = match index {
                        None => host.default_output_device().ok_or_else(|| no_speaker("no output device"))?,
                        Some(i) => host.output_devices().map_err(no_speaker)?.nth(i).ok_or_else(|| no_speaker(format!("there is no speaker {i}")))?,
                    };
                    let name = device.description().map(|d| d.to_string()).unwrap_or_else(|_| "speaker".into());
                    // 48 kHz as the engine makes it; f32 or i16, any channel count.
                    let range = device
                        .supported_output_configs()
                        .map_err(|e| no_speaker(format!("{name}: {e}")))?
                        .filter(|c| matches!(c.sample_format(), cpal::SampleFormat::F32 | cpal::SampleFormat::I16))
                        .filter(|c| c.min_sample_rate() <= SAMPLE_RATE && SAMPLE_RATE <= c.max_sample_rate())
                        .min_by_key(|c| (c.channels() != 2, c.sample_format() != cpal::SampleFormat::F32))
                        .ok_or_else(|| no_speaker(format!("{name} cannot play 48 kHz")))?;
                    let cfg = range.with_sample_rate(SAMPLE_RATE);
                    let channels = cfg.channels() as usize;
                    // A device that goes away reports on every period: say it once.
                    let mut said = false;
                    let err = move |e: cpal::Error| {
                        if !std::mem::replace(&mut said, true) {
                            tracing::warn!("speaker error: {e}");
                        }
                    };
                    let stream = match cfg.sample_format() {
                        cpal::SampleFormat::F32 => {
                            let (q, r) = (queue.clone(), reference.clone());
                            device.build_output_stream::<f32, _, _>(
                                cfg.config(),
                                move |out: &mut [f32], _| {
                                    q.lock().unwrap_or_else(|p| p.into_inner()).pull(out, channels);
                                    if let Some(r) = &r {
                                        r.played(out, channels);
                                    }
                                },
                                err,
                                None,
                            )
                        }
                        _ => {
                            let (q, r) = (queue.clone(), reference.clone());
                            let mut buf = Vec::new();
                            device.build_output_stream::<i16, _, _>(
                                cfg.config(),
                                move |out: &mut [i16], _| {
                                    buf.resize(out.len(), 0.0f32);
                                    q.lock().unwrap_or_else(|p| p.into_inner()).pull(&mut buf, channels);
                                    if let Some(r) = &r {
                                        r.played(&buf, channels);
                                    }
                                    for (o, s) in out.iter_mut().zip(&buf) {
                                        *o = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
                                    }
                                },
                                err,
                                None,
                            )
                        }
                    }
                    .map_err(|e| no_speaker(format!("{name}: {e}")))?;
                    stream.play().map_err(|e| no_speaker(format!("{name}: {e}")))?;
                    Ok((stream, name))
                },
            |d: &str| no_speaker(d),
        )
    }
}

#[cfg(not(feature = "mic"))]
mod imp {
    use super::*;

    pub fn start(_: Option<usize>, _: Arc<Mutex<Queue>>, _: Arc<AtomicBool>, _: Option<EchoReference>) -> Result<String> {
        Err(MediaError::NotBuilt { what: "speaker", feature: "mic" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_plays_in_order_caps_the_delay_and_fills_gaps_with_silence() {
        let mut q = Queue::default();
        let mut out = vec![9.0; 8];
        // Not primed yet: silence, nothing consumed.
        q.push(&[0.5, -0.5]);
        q.pull(&mut out, 2);
        assert!(out.iter().all(|s| *s == 0.0) && q.samples.len() == 2);
        // Primed: plays L/R in order.
        let ramp: Vec<f32> = (0..PRIME).map(|i| i as f32).collect();
        q.push(&ramp);
        q.pull(&mut out, 2);
        assert_eq!(out, vec![0.5, -0.5, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        // Mono devices get the average; extra channels silence.
        let mut mono = vec![0.0; 1];
        q.pull(&mut mono, 1);
        assert_eq!(mono, vec![6.5]);
        let mut surround = vec![9.0; 4];
        q.pull(&mut surround, 4);
        assert_eq!(surround, vec![8.0, 9.0, 0.0, 0.0]);
        // A burst never queues more than 200 ms, and frames stay whole.
        q.push(&vec![0.25; MAX_QUEUED * 3 + 1]);
        assert!(q.samples.len() <= MAX_QUEUED && q.samples.len() % 2 == 0, "{}", q.samples.len());
        // Dry: silence until primed again.
        let mut all = vec![0.0; MAX_QUEUED + 4];
        q.pull(&mut all, 2);
        assert!(!q.playing && all[all.len() - 2..] == [0.0, 0.0]);
    }
}
