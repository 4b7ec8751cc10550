//! Test material for the audio processing tests, made by real tools:
//! speech from `espeak-ng`, resampling, room convolution and fan noise from
//! `sox`. Samples move between here and the tools as raw 32-bit float mono
//! at 48 kHz, so no WAV parser of ours reads what we check.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const RATE: usize = 48_000;

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e} (install espeak-ng and sox: scripts/deps.sh test)"));
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// `text` spoken by espeak-ng `voice`, at 48 kHz mono.
pub fn speech(dir: &Path, name: &str, voice: &str, text: &str) -> Vec<f32> {
    let wav = dir.join(format!("{name}-22k.wav"));
    run(Command::new("espeak-ng").args(["-v", voice, "-s", "160", "-w"]).arg(&wav).arg(text), "espeak-ng");
    read_any(dir, &wav)
}

/// Brown noise (a fan's rumble) from sox, `secs` long; the same each run (`-R`).
pub fn brown_noise(dir: &Path, secs: f64) -> Vec<f32> {
    let wav = dir.join("noise.wav");
    run(Command::new("sox").args(["-R", "-n", "-r", "48000", "-c", "1", "-b", "16"]).arg(&wav).args(["synth", &secs.to_string(), "brownnoise"]), "sox synth");
    read_any(dir, &wav)
}

/// Any audio file sox reads, as 48 kHz mono f32.
pub fn read_any(dir: &Path, file: &Path) -> Vec<f32> {
    let raw = dir.join("read.f32");
    run(Command::new("sox").arg(file).args(["-t", "f32", "-r", "48000", "-c", "1"]).arg(&raw), "sox (reading)");
    let b = std::fs::read(&raw).unwrap();
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Writes 48 kHz mono 16-bit WAV (what a recorder would give) through sox.
pub fn write_wav(dir: &Path, name: &str, x: &[f32]) -> PathBuf {
    let raw = dir.join(format!("{name}.f32"));
    std::fs::write(&raw, x.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let wav = dir.join(format!("{name}.wav"));
    run(Command::new("sox").args(["-R", "-t", "f32", "-r", "48000", "-c", "1"]).arg(&raw).args(["-b", "16"]).arg(&wav), "sox (writing)");
    wav
}

/// A small room's response: direct path, four early reflections and an
/// exponentially decaying diffuse tail (RT60 200 ms), from a fixed seed.
pub fn room_response() -> Vec<f64> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let n = RATE / 5;
    let mut ir = vec![0.0f64; n];
    ir[0] = 1.0;
    for (ms, a) in [(3.1, 0.5), (5.7, -0.35), (8.2, 0.3), (12.9, -0.2)] {
        ir[(ms * 48.0) as usize] += a;
    }
    for (i, c) in ir.iter_mut().enumerate().skip(1) {
        *c += 0.03 * rnd() * (-6.9 * i as f64 / (0.2 * RATE as f64)).exp();
    }
    ir
}

/// `x` delayed by `delay_ms` and played through [`room_response`] (sox's
/// `fir` does the convolution).
pub fn echo_of(dir: &Path, x: &[f32], delay_ms: u32) -> Vec<f32> {
    let coefs = dir.join("room.txt");
    std::fs::write(&coefs, room_response().iter().map(|c| format!("{c:.8}\n")).collect::<String>()).unwrap();
    let raw = dir.join("dry.f32");
    std::fs::write(&raw, x.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    let wet = dir.join("wet.f32");
    let pad = format!("{}", delay_ms as f64 / 1000.0);
    run(
        Command::new("sox").args(["-t", "f32", "-r", "48000", "-c", "1"]).arg(&raw).args(["-t", "f32"]).arg(&wet).args(["pad", &pad, "0", "fir"]).arg(&coefs),
        "sox fir",
    );
    let b = std::fs::read(&wet).unwrap();
    let mut y: Vec<f32> = b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    y.truncate(x.len());
    y
}

pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

pub fn dbfs(x: &[f32]) -> f64 {
    20.0 * rms(x).max(1e-10).log10()
}

/// Scales `x` to an RMS of `db` dBFS.
pub fn set_level(x: &mut [f32], db: f64) {
    let g = (10f64.powf(db / 20.0) / rms(x).max(1e-12)) as f32;
    x.iter_mut().for_each(|v| *v *= g);
}

/// Seconds `a..b` of `x`.
pub fn secs(x: &[f32], a: f64, b: f64) -> &[f32] {
    let (s, e) = ((a * RATE as f64) as usize, (b * RATE as f64) as usize);
    &x[s.min(x.len())..e.min(x.len())]
}

/// The best Pearson correlation of `out` against `reference` over `a..b`
/// seconds, with `out` allowed to lag by up to `max_lag_ms` (processing
/// delay); returns (correlation, lag in ms).
pub fn aligned_correlation(out: &[f32], reference: &[f32], a: f64, b: f64, max_lag_ms: usize) -> (f64, f64) {
    let r = secs(reference, a, b);
    let s = (a * RATE as f64) as usize;
    let mut best = (-1.0, 0.0);
    for lag in 0..=max_lag_ms * RATE / 1000 {
        let Some(o) = out.get(s + lag..s + lag + r.len()) else { break };
        let (mut xy, mut xx, mut yy) = (0f64, 0f64, 0f64);
        for (x, y) in o.iter().zip(r) {
            let (x, y) = (f64::from(*x), f64::from(*y));
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        let c = xy / (xx * yy).sqrt().max(1e-12);
        if c > best.0 {
            best = (c, lag as f64 * 1000.0 / RATE as f64);
        }
    }
    best
}
