//! Settings → Devices on the real app with its private PulseAudio (a null
//! sink "speaker" whose monitor is the default source): the pickers list
//! PulseAudio's devices with the system default first and hide what cannot
//! be used (ALSA's null device, plugins that cannot open); a tone played
//! into PulseAudio moves the live microphone meter; a choice is saved for
//! this machine (app.json) and is what Calls sends by default, with the
//! test pattern when there is no camera.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::{secs, App, Launch};

/// The options of a `<select>`: [value, label] pairs.
fn options(app: &App, css: &str) -> Vec<(String, String)> {
    let v = app.eval(&format!("return [...document.querySelector({}).options].map(o => [o.value, o.textContent])", json!(css)));
    v.as_array().unwrap().iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string())).collect()
}

#[test]
fn devices_pick_from_pulseaudio_meter_the_microphone_and_feed_calls() {
    let home = tempfile::tempdir().unwrap();
    let app = App::launch(Launch::new(home.path()));
    let Some(pulse) = app.pulse_server() else {
        eprintln!("skipped: pulseaudio could not start here");
        return;
    };
    app.click("[data-testid=nav-settings]");
    app.wait_js("return document.querySelectorAll('[data-testid=dev-microphone] option').length >= 2", secs(60), "the microphone picker");

    for (css, what) in [("[data-testid=dev-microphone]", "microphone"), ("[data-testid=dev-speaker]", "speaker")] {
        let opts = options(&app, css);
        let labels: Vec<&str> = opts.iter().map(|o| o.1.as_str()).collect();
        assert!(
            opts[0].0.is_empty() && opts[0].1.contains("PulseAudio"),
            "the {what} picker starts with the system default, PulseAudio: {labels:?}"
        );
        assert!(opts.iter().any(|o| o.0 == "pulse"), "the {what} picker offers PulseAudio's own device: {labels:?}");
        for hidden in ["Discard all samples", "cannot be opened", "Rate Converter", "JACK", "Open Sound System"] {
            assert!(!labels.iter().any(|l| l.contains(hidden)), "the {what} picker offers an unusable device ({hidden}): {labels:?}");
        }
        assert_eq!(
            app.eval(&format!("return document.querySelector({}).value", json!(css))),
            json!(""),
            "{what}: the system default is chosen at first"
        );
    }

    // The meter: silence at first, then a loud tone played into PulseAudio
    // (the default source is the sink's monitor) moves it.
    app.wait_js(
        "return document.querySelector('[data-testid=mic-level]')?.dataset.dbfs !== undefined",
        secs(30),
        "the meter to report a level",
    );
    let mut tone = Command::new("pacat")
        .args([
            "--server",
            &pulse,
            "--playback",
            "--device=speaker",
            "--format=s16le",
            "--rate=48000",
            "--channels=1",
            "--latency-msec=50",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pacat (pulseaudio-utils)");
    let mut stdin = tone.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        // 440 Hz at half scale (-6 dBFS) for up to 20 s, until the pipe closes.
        let samples: Vec<u8> = (0..48_000)
            .flat_map(|i| ((((i as f32) * 440.0 * std::f32::consts::TAU / 48_000.0).sin() * 16_000.0) as i16).to_le_bytes())
            .collect();
        for _ in 0..20 {
            if stdin.write_all(&samples).is_err() {
                break;
            }
        }
    });
    app.wait_js("return +document.querySelector('[data-testid=mic-level]')?.dataset.dbfs > -20", secs(30), "the meter to show the tone");
    app.screenshot("settings-devices");
    let _ = tone.kill();
    let _ = tone.wait();
    let _ = feeder.join();

    // Choose PulseAudio's own device: saved in app.json, kept on return.
    app.select("[data-testid=dev-microphone]", "pulse");
    app.wait_js("return document.querySelector('[data-testid=dev-microphone]')?.value === 'pulse'", secs(30), "the choice to stay");
    let wait_saved = std::time::Instant::now();
    let saved = loop {
        let s: Value = std::fs::read(home.path().join("app.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
        if s["devices"]["microphone"] == json!("pulse") || wait_saved.elapsed() > secs(30) {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(saved["devices"]["microphone"], json!("pulse"), "saved per machine: {saved}");
    let view = app.invoke("devices_get", json!({})).expect("devices_get");
    let pulse_mic = view["microphones"].as_array().unwrap().iter().find(|d| d["id"] == "pulse").expect("pulse in the list")["index"]
        .as_u64()
        .unwrap();
    assert_eq!(view["microphone_source"], json!(format!("mic:{pulse_mic}")));

    // Calls send what Settings chose, and the test pattern without a camera.
    app.click("[data-testid=nav-call]");
    app.wait_js(
        &format!("return document.querySelector('[data-testid=call-audio-source]')?.value === 'mic:{pulse_mic}'"),
        secs(30),
        "Calls to default to the chosen microphone",
    );
    assert_eq!(
        app.eval("return document.querySelector('[data-testid=call-video-source]').value"),
        json!("test"),
        "no camera here: the test pattern"
    );
    let audio = options(&app, "[data-testid=call-audio-source]");
    assert!(!audio.iter().any(|o| o.1.contains("Discard") || o.1.contains("cannot be opened")), "{audio:?}");

    // Back in Settings the choice shows, and the meter stops when it is left.
    app.click("[data-testid=nav-settings]");
    app.wait_js(
        "return document.querySelector('[data-testid=dev-microphone]')?.value === 'pulse'",
        secs(30),
        "the saved choice shown again",
    );

    // Calls' audio processing: on by default, switched off here, saved for
    // the next call (calls.rs reads it when a call starts) and shown again.
    assert_eq!(app.eval("return document.querySelector('[data-testid=settings-audio-processing]').checked"), json!(true));
    app.click("[data-testid=settings-audio-processing]");
    support_wait_for(|| app.invoke("settings_get", json!({})).map(|v| v["audio_processing"] == json!(false)).unwrap_or(false), "audio processing off");
    app.click("[data-testid=nav-recordings]");
    app.click("[data-testid=nav-settings]");
    app.wait_js(
        "return document.querySelector('[data-testid=settings-audio-processing]')?.checked === false",
        secs(30),
        "audio processing shown off again",
    );
}

fn support_wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    let t0 = std::time::Instant::now();
    while !cond() {
        assert!(t0.elapsed() < secs(30), "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
