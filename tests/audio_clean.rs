//! `onair audio clean`: the call's audio processing run offline on material
//! made by real tools (espeak-ng speech, sox rooms and fan noise).
//!
//! The microphone hears the far end's speech through a room (delayed,
//! attenuated, reverberant), a fan all along, and from 5 s the near end
//! talking over the far end (double talk) and on after it stops:
//!
//! ```text
//!  0 s        2 s              5 s            7.5 s      9.3 s   11 s
//!  far talks ─────────────────────────────────┤
//!  (converge) │ far only: ERLE │ double talk   │ near only │ fan only
//!                              near talks ─────────────────┤
//! ```

mod audio_support;

use audio_support::*;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_onair");

struct Material {
    far: Vec<f32>,
    mic: Vec<f32>,
    near: Vec<f32>,
}

fn material(dir: &Path, delay_ms: u32) -> Material {
    let total = 11 * RATE;
    let mut far = speech(
        dir,
        "far",
        "en-us",
        "The quarterly numbers came in this morning and they look better than we expected. Marketing spent less, sales closed three new accounts, and the team in Berlin shipped on time.",
    );
    far.truncate(RATE * 15 / 2);
    // The speaker plays with peaks at -6 dBFS.
    let peak = far.iter().fold(0f32, |m, v| m.max(v.abs()));
    far.iter_mut().for_each(|v| *v *= 0.5 / peak);
    far.resize(total, 0.0);
    // The echo: 6 dB down at the microphone, through the room.
    let mut echo = echo_of(dir, &far, delay_ms);
    echo.iter_mut().for_each(|v| *v *= 0.5);
    echo.resize(total, 0.0);
    let mut voice = speech(dir, "near", "en-gb+f3", "Sorry to interrupt, could you share the slide with the chart again please?");
    set_level(&mut voice, -22.0);
    let mut near = vec![0.0f32; total];
    for (i, v) in voice.iter().enumerate().take(total - 5 * RATE) {
        near[5 * RATE + i] = *v;
    }
    let mut fan = brown_noise(dir, 11.0);
    fan.resize(total, 0.0);
    set_level(&mut fan, -45.0);
    let mic = (0..total).map(|i| echo[i] + near[i] + fan[i]).collect();
    Material { far, mic, near }
}

fn clean(dir: &Path, far: &Path, mic: &Path) -> Vec<f32> {
    let out = dir.join("out.wav");
    let o = Command::new(BIN).args(["audio", "clean", "--far"]).arg(far).arg("--mic").arg(mic).arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "onair audio clean failed: {}", String::from_utf8_lossy(&o.stderr));
    eprintln!("{}", String::from_utf8_lossy(&o.stdout).trim());
    read_any(dir, &out)
}

#[test]
fn removes_the_echo_and_the_fan_and_keeps_the_near_end() {
    for delay_ms in [120, 200] {
        let d = tempfile::tempdir().unwrap();
        let m = material(d.path(), delay_ms);
        let (far, mic) = (write_wav(d.path(), "far", &m.far), write_wav(d.path(), "mic", &m.mic));
        let out = clean(d.path(), &far, &mic);
        assert_eq!(out.len(), m.mic.len(), "OUT has MIC's length");

        // Echo return loss enhancement where only the far end talks, after 2 s to converge.
        let erle = dbfs(secs(&m.mic, 2.0, 5.0)) - dbfs(secs(&out, 2.0, 5.0));
        // The near end in double talk, and alone, against its clean voice
        // (the processing delays it by some ms: search 40 ms).
        let (dt, dt_lag) = aligned_correlation(&out, &m.near, 5.0, 7.5, 40);
        let (alone, _) = aligned_correlation(&out, &m.near, 7.9, 9.0, 40);
        let near_level = dbfs(secs(&out, 7.9, 9.0)) - dbfs(secs(&m.mic, 7.9, 9.0));
        // The fan where nobody talks.
        let fan = dbfs(secs(&m.mic, 9.4, 10.9)) - dbfs(secs(&out, 9.4, 10.9));
        eprintln!(
            "echo {delay_ms} ms: ERLE {erle:.1} dB; near end in double talk r={dt:.3} (lag {dt_lag:.1} ms), alone r={alone:.3} ({near_level:+.1} dB); fan -{fan:.1} dB"
        );
        assert!(erle >= 25.0, "echo {delay_ms} ms: ERLE {erle:.1} dB < 25 dB");
        assert!(dt >= 0.9, "echo {delay_ms} ms: near end in double talk correlates {dt:.3} < 0.9");
        assert!(alone >= 0.95 && near_level.abs() < 6.0, "echo {delay_ms} ms: near end alone r={alone:.3}, {near_level:+.1} dB");
        assert!(fan >= 15.0, "echo {delay_ms} ms: the fan dropped {fan:.1} dB < 15 dB");
    }
}

#[test]
fn stereo_in_stereo_out() {
    let d = tempfile::tempdir().unwrap();
    let voice = speech(d.path(), "v", "en-us", "Testing one two three.");
    let mono = write_wav(d.path(), "mono", &voice);
    let stereo = d.path().join("stereo.wav");
    let st = Command::new("sox").arg(&mono).args(["-c", "2"]).arg(&stereo).status().unwrap();
    assert!(st.success());
    let out = d.path().join("out.wav");
    let o = Command::new(BIN).args(["audio", "clean", "--far"]).arg(&mono).arg("--mic").arg(&stereo).arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info = Command::new("soxi").arg(&out).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Channels       : 2") && info.contains("Sample Rate    : 48000"), "{info}");
}

#[test]
fn wrong_inputs_get_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let ok = write_wav(d.path(), "ok", &vec![0.01; RATE]);
    let cd = d.path().join("cd.wav");
    assert!(Command::new("sox").arg(&ok).args(["-r", "44100"]).arg(&cd).status().unwrap().success());
    let quad = d.path().join("quad.wav");
    assert!(Command::new("sox").arg(&ok).args(["-c", "4"]).arg(&quad).status().unwrap().success());
    let text = d.path().join("notes.wav");
    std::fs::write(&text, "not audio at all").unwrap();
    let missing = d.path().join("missing.wav");
    let out = d.path().join("out.wav");
    for (far, mic, want) in [
        (&cd, &ok, "44100 Hz; audio processing runs at 48 kHz"),
        (&ok, &quad, "4 channels; give a mono or stereo WAV"),
        (&ok, &text, "not a WAV file"),
        (&ok, &missing, "missing.wav"),
    ] {
        let o = Command::new(BIN).args(["audio", "clean", "--far"]).arg(far).arg("--mic").arg(mic).arg("--out").arg(&out).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want), "expected {want:?}, got: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!out.exists(), "no output after a failure");
}
