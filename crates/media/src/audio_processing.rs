//! Audio processing on the microphone of a call, in 10 ms frames at 48 kHz:
//!
//! 1. acoustic echo cancellation: WebRTC's AEC3 (the pure-Rust port `sonora`)
//!    with what the speaker played as the far-end reference;
//! 2. noise suppression: RNNoise (the pure-Rust port `nnnoiseless`), which
//!    works on 480-sample frames at 48 kHz natively;
//! 3. automatic gain control: WebRTC's AGC2 (adaptive digital gain and its
//!    limiter, `sonora` again).
//!
//! Why these and not WebRTC's C++ library or sonora's own noise suppressor
//! and high-pass filter: measured on the same material (ARCHITECTURE.md,
//! "Audio processing"). sonora's NS and high-pass filter bent the near-end
//! speech (correlation with the clean voice 0.64 and 0.82) where RNNoise
//! and no filter keep it at 0.99.
//!
//! In a call the speaker's device callback records what it plays into an
//! [`EchoReference`]; the capture thread hands the microphone's audio to an
//! [`AudioProcessor`], which first feeds every reference frame played since
//! the last call to the echo canceller, then cleans the microphone frame.
//! AEC3 finds the delay between the two itself (the speaker's queue, the
//! device buffers and the room), so nothing here measures latency.
//!
//! [`clean`] runs the same processing offline on WAV files
//! (`onair audio clean`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use nnnoiseless::DenoiseState;
use sonora::config::{AdaptiveDigital, EchoCanceller, GainController2};
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::frame::SAMPLE_RATE;

pub mod clean;

/// Samples in one 10 ms processing frame (mono, 48 kHz).
pub const FRAME: usize = SAMPLE_RATE as usize / 100;

/// The most reference audio kept while nobody processes it (1 s): a capture
/// side that stalls must not make the speaker's callback grow a queue.
const MAX_REFERENCE: usize = SAMPLE_RATE as usize;

/// What the speaker played, mono at 48 kHz, waiting for the echo canceller.
/// Cloning shares it: the speaker writes, the capture side reads.
#[derive(Clone, Default)]
pub struct EchoReference(Arc<Mutex<VecDeque<f32>>>);

impl EchoReference {
    pub fn new() -> EchoReference {
        EchoReference::default()
    }

    /// Records samples just handed to the device (interleaved, `channels`
    /// per frame; the first two are averaged). Called from the device
    /// callback, so it only copies.
    pub fn played(&self, interleaved: &[f32], channels: usize) {
        let channels = channels.max(1);
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for f in interleaved.chunks_exact(channels) {
            q.push_back(match f {
                [l, r, ..] => (l + r) * 0.5,
                [m] => *m,
                [] => 0.0,
            });
        }
        let over = q.len().saturating_sub(MAX_REFERENCE);
        q.drain(..over);
    }

    /// Moves every whole 10 ms frame played so far into `out` (appending).
    fn take_frames(&self, out: &mut Vec<f32>) {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = q.len() / FRAME * FRAME;
        out.extend(q.drain(..n));
    }
}

/// The processing settings of a call (all on by default).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
    pub gain_control: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { echo_cancellation: true, noise_suppression: true, gain_control: true }
    }
}

/// AEC3 alone. Its high-pass filter stays off: sonora's bends speech below
/// 1 kHz (measured), and RNNoise takes out rumble anyway.
fn echo_config() -> Config {
    Config { echo_canceller: Some(EchoCanceller { enforce_high_pass_filtering: false, ..Default::default() }), ..Default::default() }
}

/// AGC2 after noise suppression, so it never lifts the noise it removed.
/// It starts at 0 dB (not WebRTC's 15) and gains at most 30 dB: until the
/// user has been heard there is nothing to level, and a big starting gain
/// would lift the residual echo too.
fn gain_config() -> Config {
    let adaptive = AdaptiveDigital { initial_gain_db: 0.0, max_gain_db: 30.0, ..Default::default() };
    Config { gain_controller2: Some(GainController2 { adaptive_digital: Some(adaptive), ..Default::default() }), ..Default::default() }
}

fn mono_apm(config: Config) -> AudioProcessing {
    let mono = StreamConfig::new(SAMPLE_RATE, 1);
    AudioProcessing::builder().config(config).capture_config(mono).render_config(mono).build()
}

/// Cleans microphone audio; one per call (it learns the room as it runs).
pub struct AudioProcessor {
    echo: Option<AudioProcessing>,
    /// Boxed: RNNoise's state is large.
    noise: Option<Box<DenoiseState<'static>>>,
    gain: Option<AudioProcessing>,
    reference: Option<EchoReference>,
    /// Reference frames taken from `reference`, not yet given to AEC3.
    far: Vec<f32>,
    /// Mono microphone samples short of a whole frame.
    mic: Vec<f32>,
    scratch: Vec<f32>,
    out: Vec<f32>,
}

impl AudioProcessor {
    /// `reference`: what the speaker plays (None: no speaker, so no echo).
    pub fn new(settings: Settings, reference: Option<EchoReference>) -> AudioProcessor {
        AudioProcessor {
            echo: settings.echo_cancellation.then(|| mono_apm(echo_config())),
            noise: settings.noise_suppression.then(DenoiseState::new),
            gain: settings.gain_control.then(|| mono_apm(gain_config())),
            reference,
            far: Vec::new(),
            mic: Vec::new(),
            scratch: vec![0.0; FRAME],
            out: vec![0.0; FRAME],
        }
    }

    /// Gives AEC3 one 10 ms frame of what the speaker played.
    pub fn far_frame(&mut self, far: &[f32]) {
        if far.len() != FRAME {
            return;
        }
        if let Some(apm) = self.echo.as_mut() {
            // Only analysed: what the speaker plays is not changed.
            let _ = apm.process_render_f32(&[far], &mut [&mut self.scratch[..]]);
        }
    }

    /// Cleans one 10 ms mono frame of the microphone in place.
    pub fn mic_frame(&mut self, mic: &mut [f32]) {
        if mic.len() != FRAME {
            return;
        }
        if let Some(apm) = self.echo.as_mut() {
            // AEC3 estimates the delay itself; zero says we add nothing known.
            let _ = apm.set_stream_delay_ms(0);
            if apm.process_capture_f32(&[&mic[..]], &mut [&mut self.out[..]]).is_ok() {
                mic.copy_from_slice(&self.out);
            }
        }
        if let Some(rnn) = self.noise.as_mut() {
            // RNNoise works in 16-bit sample units; its output is one frame late.
            mic.iter_mut().for_each(|s| *s *= 32768.0);
            rnn.process_frame(&mut self.out, mic);
            for (m, o) in mic.iter_mut().zip(&self.out) {
                *m = (o / 32768.0).clamp(-1.0, 1.0);
            }
        }
        if let Some(apm) = self.gain.as_mut() {
            if apm.process_capture_f32(&[&mic[..]], &mut [&mut self.out[..]]).is_ok() {
                mic.copy_from_slice(&self.out);
            }
        }
    }

    /// Streaming use: interleaved stereo microphone audio of any length in,
    /// processed stereo (both channels the cleaned mono) appended to `out`
    /// in whole 10 ms frames; at most 10 ms stays behind for the next call.
    pub fn process_stereo(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.mic.extend(input.chunks_exact(2).map(|f| (f[0] + f[1]) * 0.5));
        let mut frame = vec![0.0f32; FRAME];
        let whole = self.mic.len() / FRAME * FRAME;
        for i in (0..whole).step_by(FRAME) {
            self.feed_reference();
            frame.copy_from_slice(&self.mic[i..i + FRAME]);
            self.mic_frame(&mut frame);
            out.extend(frame.iter().flat_map(|s| [*s, *s]));
        }
        self.mic.drain(..whole);
    }

    /// Everything the speaker played up to now goes to AEC3 before the
    /// microphone frame that may hold its echo.
    fn feed_reference(&mut self) {
        let Some(r) = &self.reference else { return };
        let mut far = std::mem::take(&mut self.far);
        far.clear();
        r.take_frames(&mut far);
        for f in far.chunks_exact(FRAME) {
            self.far_frame(f);
        }
        self.far = far;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_keeps_whole_frames_and_a_bounded_backlog() {
        let r = EchoReference::new();
        r.played(&[0.5, 0.25, 1.0, 0.0], 2);
        let mut out = Vec::new();
        r.take_frames(&mut out);
        assert!(out.is_empty(), "two samples are not a frame yet");
        r.played(&vec![0.1; 2 * FRAME], 2);
        r.take_frames(&mut out);
        assert_eq!(out.len(), FRAME);
        assert_eq!(&out[..2], &[0.375, 0.5]);
        // Nobody reading: the backlog stops at a second.
        r.played(&vec![0.0; 3 * MAX_REFERENCE], 1);
        assert!(r.0.lock().unwrap().len() <= MAX_REFERENCE);
    }

    #[test]
    fn stereo_streaming_keeps_length_and_wrong_sizes_are_ignored() {
        let mut p = AudioProcessor::new(Settings::default(), Some(EchoReference::new()));
        let mut out = Vec::new();
        // 25 ms in three odd pieces: two whole frames come out, 5 ms waits.
        for n in [301, 700, 199] {
            p.process_stereo(&vec![0.01; 2 * n], &mut out);
        }
        assert_eq!(out.len(), 2 * 2 * FRAME);
        let mut short = vec![0.2; 10];
        p.mic_frame(&mut short);
        p.far_frame(&short);
        assert_eq!(short, vec![0.2; 10]);
    }
}
