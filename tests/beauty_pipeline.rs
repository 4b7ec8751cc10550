//! The beauty filter in the pipeline: what `onair record --beauty` writes
//! matches the filter applied offline to the same frames.

mod support;

use std::path::Path;
use std::process::Command;

use onair_beauty::{BeautyFilter, BeautyParams, PlanesMut};
use support::*;

const W: usize = 854;
const H: usize = 480;

/// One decoded frame of `path` as raw I420.
fn frame_i420(path: &Path, index: usize) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(path)
        .args(["-vf", &format!("select=eq(n\\,{index})"), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout.len(), W * H * 3 / 2);
    out.stdout
}

/// A still clip of the face, losslessly encoded at the output size so the
/// pipeline neither scales nor loses anything before the filter.
fn still_face(home: &Home, with_audio: bool) -> std::path::PathBuf {
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/beauty/testdata/astronaut.png");
    let still = home.path().join("still.mp4");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin", "-y", "-loop", "1", "-i"]).arg(&photo);
    if with_audio {
        cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-c:a", "aac"]);
    }
    cmd.args(["-vf", "scale=480:480,pad=854:480:188:0,format=yuv420p", "-r", "30", "-t", "4", "-c:v", "libx264", "-qp", "0", "-preset", "ultrafast"]);
    let made = cmd.arg(&still).output().unwrap();
    assert!(made.status.success(), "{}", text(&made.stderr));
    still
}

/// The first frame of `still` filtered offline, as I420.
fn offline(still: &Path, p: BeautyParams) -> (Vec<u8>, Vec<u8>) {
    let source = frame_i420(still, 0);
    let mut expected = source.clone();
    {
        let (y, c) = expected.split_at_mut(W * H);
        let (u, v) = c.split_at_mut(W * H / 4);
        BeautyFilter::with_params(p).apply(&mut PlanesMut::packed(W, H, y, u, v).unwrap());
    }
    (source, expected)
}

/// Mean luma distance to the offline result and to the source, over the
/// pixels the filter changed.
fn closeness(got: &[u8], source: &[u8], expected: &[u8]) -> (f64, f64, u64) {
    let (mut to_expected, mut to_source, mut n) = (0u64, 0u64, 0u64);
    for i in 0..W * H {
        if (expected[i] as i32 - source[i] as i32).abs() >= 4 {
            to_expected += (got[i] as i32 - expected[i] as i32).unsigned_abs() as u64;
            to_source += (got[i] as i32 - source[i] as i32).unsigned_abs() as u64;
            n += 1;
        }
    }
    (to_expected as f64 / n.max(1) as f64, to_source as f64 / n.max(1) as f64, n)
}

#[test]
fn onair_beauty_filters_a_video_file() {
    let home = Home::new();
    let still = still_face(&home, true);
    let out = home.path().join("retouched.mp4");
    let r = home.run(&["beauty", "--in", still.to_str().unwrap(), "--out", out.to_str().unwrap(), "--smooth", "70", "--whiten", "0"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(text(&r.stderr).contains("100%"), "shows progress: {}", text(&r.stderr));
    let p = ffprobe(&out);
    assert_eq!(stream(&p, "video").unwrap()["codec_name"], "h264");
    assert_eq!(stream(&p, "audio").unwrap()["codec_name"], "aac");
    assert!((3.5..4.5).contains(&duration_s(&p)), "{}", duration_s(&p));
    assert_eq!(count_frames(&out), count_frames(&still));
    let (source, expected) = offline(&still, BeautyParams::new(70, 0));
    let (e, s, n) = closeness(&frame_i420(&out, 60), &source, &expected);
    assert!(n > 2_000);
    assert!(e < 2.0 && e * 3.0 < s, "output does not follow the filter: {e:.2} vs {s:.2}");
}

#[test]
fn recorded_frames_match_the_filter_applied_offline() {
    let home = Home::new();
    let still = still_face(&home, false);

    let rec = home.path().join("beauty.mp4");
    let r = home.run(&[
        "record", "--out", rec.to_str().unwrap(), "--video", &format!("file:{}", still.display()), "--audio", "none",
        "--beauty", "70", "--preset", "480p30", "--video-bitrate", "30000", "--duration", "3",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(text(&r.stderr).contains("beauty filter"), "{}", text(&r.stderr));

    let (source, expected) = offline(&still, BeautyParams::new(70, 0));
    // Where the filter changed the picture, the recording follows the filter.
    let (e, s, n) = closeness(&frame_i420(&rec, 45), &source, &expected);
    assert!(n > 2_000, "the filter changed only {n} pixels");
    eprintln!("over {n} retouched pixels: mean |rec - offline filter| = {e:.2}, mean |rec - unfiltered| = {s:.2}");
    assert!(e < 2.0 && e * 3.0 < s, "recording does not match the offline filter: {e:.2} vs {s:.2}");
}

#[test]
fn the_screen_and_test_pattern_are_never_retouched() {
    let home = Home::new();
    let a = home.path().join("a.mp4");
    let r = home.run(&[
        "record", "--out", a.to_str().unwrap(), "--video", "test", "--audio", "none", "--beauty", "100,100",
        "--preset", "480p30", "--duration", "1",
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(!text(&r.stderr).contains("beauty filter"), "{}", text(&r.stderr));
}
