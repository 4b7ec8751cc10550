//! Windows and macOS readiness that can be checked from Linux: the macOS
//! bundle asks for camera, microphone, screen and system-audio access with a
//! sentence (macOS ends an app that captures without one), and CI builds and
//! unit-tests on both systems with FFmpeg provided.

use std::path::Path;

fn read(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The `<key>K</key><string>V</string>` pairs of a flat plist dict.
fn plist_strings(xml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(k) = rest.find("<key>") {
        rest = &rest[k + 5..];
        let key_end = rest.find("</key>").expect("every <key> is closed");
        let key = rest[..key_end].to_string();
        rest = &rest[key_end..];
        let s = rest.find("<string>").expect("every key has a <string>") + 8;
        let e = rest.find("</string>").expect("every <string> is closed");
        out.push((key, rest[s..e].trim().to_string()));
        rest = &rest[e..];
    }
    out
}

#[test]
fn macos_bundle_describes_every_capture() {
    let plist = read("src-tauri/Info.plist");
    assert!(plist.starts_with("<?xml") && plist.trim_end().ends_with("</plist>"));
    let pairs = plist_strings(&plist);
    for key in [
        "NSCameraUsageDescription",
        "NSMicrophoneUsageDescription",
        "NSScreenCaptureUsageDescription",
        "NSAudioCaptureUsageDescription",
    ] {
        let (_, why) = pairs
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("Info.plist lacks {key}"));
        assert!(
            why.starts_with("OnAir ") && why.len() > 30,
            "{key}: {why:?} should say why OnAir asks"
        );
    }
    let conf = read("src-tauri/tauri.conf.json");
    assert!(conf.contains("\"dmg\""), "the bundle targets macOS");
}

#[test]
fn ci_builds_and_unit_tests_on_windows_and_macos() {
    let wf = read(".github/workflows/platforms.yml");
    for needle in [
        "windows-latest",
        "macos-latest",
        "brew install ffmpeg",
        "FFMPEG_DIR",
        "LIBCLANG_PATH",
        "cargo test",
        "--lib",
    ] {
        assert!(wf.contains(needle), "platforms.yml lacks {needle:?}");
    }
}
