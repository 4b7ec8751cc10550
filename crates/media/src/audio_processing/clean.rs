//! The call's audio processing run offline (`onair audio clean`): FAR is
//! what the speaker played, MIC what the microphone heard, both 48 kHz WAV
//! (mono or stereo, PCM or float); OUT is what the call would send, with
//! MIC's length and channel count, as 32-bit float WAV.
//!
//! Both files are read in 10 ms steps as a call would see them: far frame
//! `i` reaches the echo canceller just before microphone frame `i`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{AudioProcessor, Settings, FRAME};
use crate::frame::SAMPLE_RATE;

/// The longest input taken (it is held in memory): one hour.
const MAX_SECONDS: u32 = 3600;

/// What can be wrong with the files, said so that the user can fix it.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path} is {rate} Hz; audio processing runs at 48 kHz: resample it first (e.g. `sox IN.wav -r 48000 OUT.wav`)")]
    Rate { path: PathBuf, rate: u32 },
    #[error("{path} has {channels} channels; give a mono or stereo WAV (e.g. `sox IN.wav -c 1 OUT.wav`)")]
    Channels { path: PathBuf, channels: u16 },
    #[error("{path} holds no audio")]
    Empty { path: PathBuf },
    #[error("{path} is longer than {MAX_SECONDS} s; cut it into parts (e.g. `sox IN.wav OUT.wav trim 0 3600`)")]
    TooLong { path: PathBuf },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// A WAV file downmixed to mono f32.
pub struct Wav {
    pub mono: Vec<f32>,
    pub channels: u16,
}

/// What [`clean`] did.
#[derive(Debug)]
pub struct Summary {
    pub seconds: f64,
    pub channels: u16,
    /// Processing time per 10 ms frame, in microseconds.
    pub micros_per_frame: f64,
}

/// Reads a 48 kHz mono or stereo WAV (8–32-bit PCM or 32-bit float).
pub fn read_wav(path: &Path) -> Result<Wav, CleanError> {
    let read_err = |reason: String| CleanError::Read { path: path.to_path_buf(), reason };
    let mut r = hound::WavReader::open(path).map_err(|e| read_err(describe(e)))?;
    let spec = r.spec();
    if spec.sample_rate != SAMPLE_RATE {
        return Err(CleanError::Rate { path: path.to_path_buf(), rate: spec.sample_rate });
    }
    if !(1..=2).contains(&spec.channels) {
        return Err(CleanError::Channels { path: path.to_path_buf(), channels: spec.channels });
    }
    let ch = spec.channels as usize;
    let max = MAX_SECONDS as usize * SAMPLE_RATE as usize * ch;
    if r.len() as usize > max {
        return Err(CleanError::TooLong { path: path.to_path_buf() });
    }
    // Grown as samples arrive: a header may claim more than the file holds.
    let mut interleaved = Vec::new();
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for s in r.samples::<f32>() {
                let s = s.map_err(|e| read_err(describe(e)))?;
                interleaved.push(if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 });
            }
        }
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            for s in r.samples::<i32>() {
                interleaved.push(s.map_err(|e| read_err(describe(e)))? as f32 * scale);
            }
        }
    }
    if interleaved.len() < ch {
        return Err(CleanError::Empty { path: path.to_path_buf() });
    }
    let mono = interleaved.chunks_exact(ch).map(|f| f.iter().sum::<f32>() / ch as f32).collect();
    Ok(Wav { mono, channels: spec.channels })
}

fn describe(e: hound::Error) -> String {
    match e {
        hound::Error::IoError(e) => e.to_string(),
        hound::Error::FormatError(m) => format!("not a WAV file onair can read ({m})"),
        hound::Error::Unsupported => "an unsupported WAV encoding (use 16-bit PCM or 32-bit float)".into(),
        other => other.to_string(),
    }
}

/// Cleans `mic` with `far` as the echo reference and writes `out`.
pub fn clean(far: &Path, mic: &Path, out: &Path, settings: Settings) -> Result<Summary, CleanError> {
    let far = read_wav(far)?;
    let mic_wav = read_wav(mic)?;
    let mut p = AudioProcessor::new(settings, None);
    let n = mic_wav.mono.len();
    let mut cleaned = mic_wav.mono;
    cleaned.resize(n.div_ceil(FRAME) * FRAME, 0.0);
    let silence = [0.0f32; FRAME];
    let started = Instant::now();
    for (i, frame) in cleaned.chunks_exact_mut(FRAME).enumerate() {
        // A FAR shorter than MIC: the speaker went quiet.
        p.far_frame(far.mono.get(i * FRAME..(i + 1) * FRAME).unwrap_or(&silence));
        p.mic_frame(frame);
    }
    let frames = cleaned.len() / FRAME;
    let micros_per_frame = started.elapsed().as_secs_f64() * 1e6 / frames.max(1) as f64;
    cleaned.truncate(n);
    write_wav(out, &cleaned, mic_wav.channels)?;
    Ok(Summary { seconds: n as f64 / SAMPLE_RATE as f64, channels: mic_wav.channels, micros_per_frame })
}

fn write_wav(path: &Path, mono: &[f32], channels: u16) -> Result<(), CleanError> {
    let write_err = |e: hound::Error| CleanError::Write { path: path.to_path_buf(), reason: describe(e) };
    let spec = hound::WavSpec { channels, sample_rate: SAMPLE_RATE, bits_per_sample: 32, sample_format: hound::SampleFormat::Float };
    let mut w = hound::WavWriter::create(path, spec).map_err(write_err)?;
    for s in mono {
        for _ in 0..channels {
            w.write_sample(*s).map_err(write_err)?;
        }
    }
    w.finalize().map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(dir: &Path, name: &str, rate: u32, channels: u16, samples: &[i16]) -> PathBuf {
        let p = dir.join(name);
        let spec = hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        let mut w = hound::WavWriter::create(&p, spec).unwrap();
        samples.iter().for_each(|s| w.write_sample(*s).unwrap());
        w.finalize().unwrap();
        p
    }

    #[test]
    fn says_what_is_wrong_with_the_inputs() {
        let d = tempfile::tempdir().unwrap();
        let ok = wav(d.path(), "ok.wav", 48_000, 2, &[1000; 9600]);
        let out = d.path().join("out.wav");
        let err = |far: &Path, mic: &Path| clean(far, mic, &out, Settings::default()).unwrap_err().to_string();
        let e = err(&wav(d.path(), "cd.wav", 44_100, 1, &[0; 441]), &ok);
        assert!(e.contains("44100 Hz") && e.contains("sox"), "{e}");
        let e = err(&ok, &wav(d.path(), "quad.wav", 48_000, 4, &[0; 480]));
        assert!(e.contains("4 channels"), "{e}");
        let e = err(&ok, &d.path().join("missing.wav"));
        assert!(e.contains("missing.wav") && e.contains("No such file"), "{e}");
        let e = err(&ok, &wav(d.path(), "empty.wav", 48_000, 1, &[]));
        assert!(e.contains("holds no audio"), "{e}");
        // Not a WAV, a truncated one, a header that promises more than is there.
        let text = d.path().join("text.wav");
        std::fs::write(&text, "hello, this is not audio").unwrap();
        assert!(err(&ok, &text).contains("not a WAV file"));
        let bytes = std::fs::read(&ok).unwrap();
        for cut in [10, 44, 45, 100] {
            std::fs::write(&text, &bytes[..cut]).unwrap();
            let _ = clean(&ok, &text, &out, Settings::default());
        }
        let mut lying = bytes.clone();
        lying[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&text, &lying).unwrap();
        let _ = clean(&ok, &text, &out, Settings::default());
        // A writable output that is a folder.
        let e = clean(&ok, &ok, d.path(), Settings::default()).unwrap_err().to_string();
        assert!(e.starts_with("cannot write"), "{e}");
    }

    #[test]
    fn output_has_the_microphones_length_and_channels() {
        let d = tempfile::tempdir().unwrap();
        let far = wav(d.path(), "far.wav", 48_000, 1, &[0; 1000]);
        let mic = wav(d.path(), "mic.wav", 48_000, 2, &[500; 2 * 4_321]);
        let out = d.path().join("out.wav");
        let s = clean(&far, &mic, &out, Settings::default()).unwrap();
        assert_eq!(s.channels, 2);
        let back = hound::WavReader::open(&out).unwrap();
        assert_eq!((back.spec().channels, back.duration()), (2, 4_321));
    }
}
