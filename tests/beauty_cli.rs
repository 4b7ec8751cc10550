//! `onair beauty` on a real photo and `onair bench beauty --json`, through the
//! real binary: the picture changes inside skin and not outside it, bad input
//! fails with a clear message, and the benchmark reports every figure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use onair_beauty::{BeautyFilter, I420Image};

fn onair(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onair"))
        .args(args)
        .output()
        .expect("the onair binary runs")
}

fn astronaut() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/beauty/testdata/astronaut.png")
}

fn beauty(out: &Path, smooth: &str, whiten: &str) {
    let input = astronaut();
    let o = onair(&[
        "beauty",
        "--in",
        input.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
        "--smooth",
        smooth,
        "--whiten",
        whiten,
    ]);
    assert!(
        o.status.success(),
        "onair beauty failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn beauty_changes_skin_and_leaves_the_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (plain, nice) = (dir.path().join("plain.png"), dir.path().join("nice.png"));
    // 0,0 goes through the same RGB <-> I420 conversion, so it is the fair reference.
    beauty(&plain, "0", "0");
    beauty(&nice, "70", "30");
    let plain = I420Image::load(&plain).expect("output is a PNG");
    let nice = I420Image::load(&nice).expect("output is a PNG");
    assert_eq!((nice.width, nice.height), (512, 512));

    let mut reference = I420Image::load(&astronaut()).expect("fixture loads");
    let mask = BeautyFilter::new().skin_mask(&reference.planes_mut());
    let (mut changed_in, mut n_in, mut changed_out, mut n_out) = (0u64, 0u64, 0u64, 0u64);
    for (i, &m) in mask.iter().enumerate() {
        let d = u64::from(plain.y[i].abs_diff(nice.y[i]));
        if m >= 128 {
            changed_in += d;
            n_in += 1;
        } else if m == 0 {
            changed_out += d;
            n_out += 1;
        }
    }
    let (mean_in, mean_out) = (
        changed_in as f64 / n_in as f64,
        changed_out as f64 / n_out as f64,
    );
    assert!(mean_in > 3.0, "skin barely changed: mean |dY| {mean_in:.2}");
    // Outside skin the only differences come from chroma rounding in the PNG round trip.
    assert!(
        mean_out < 0.05,
        "outside skin changed: mean |dY| {mean_out:.3}"
    );
}

/// Issue 17: at 0,0 the picture comes back as it went in, every pixel, and
/// at 70,30 every pixel outside skin does too (not just its luma, as above).
#[test]
fn beauty_leaves_untouched_pixels_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (plain, nice) = (dir.path().join("plain.png"), dir.path().join("nice.png"));
    beauty(&plain, "0", "0");
    beauty(&nice, "70", "30");
    let original = I420Image::load_rgb8(&astronaut()).expect("fixture loads");
    let plain = I420Image::load_rgb8(&plain).expect("output is a PNG");
    assert_eq!((plain.width, plain.height), (original.width, original.height));
    let differing = original
        .pixels
        .chunks_exact(3)
        .zip(plain.pixels.chunks_exact(3))
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 0, "--smooth 0 --whiten 0 changed {differing} pixels");

    let nice = I420Image::load_rgb8(&nice).expect("output is a PNG");
    let mut reference = I420Image::load(&astronaut()).expect("fixture loads");
    let mask = BeautyFilter::new().skin_mask(&reference.planes_mut());
    let (mut outside, mut changed_outside, mut changed_skin) = (0usize, 0usize, 0usize);
    let pixels = original.pixels.chunks_exact(3).zip(nice.pixels.chunks_exact(3));
    for ((o, n), &m) in pixels.zip(&mask) {
        if m == 0 {
            outside += 1;
            changed_outside += usize::from(o != n);
        } else if m >= 128 {
            changed_skin += usize::from(o != n);
        }
    }
    assert!(outside > 10_000, "the fixture has background: {outside}");
    assert_eq!(changed_outside, 0, "{changed_outside} of {outside} non-skin pixels changed");
    assert!(changed_skin > 1_000, "skin was filtered: {changed_skin} pixels changed");
}

#[test]
fn beauty_writes_jpeg_and_mask() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, mask) = (dir.path().join("out.jpg"), dir.path().join("mask.png"));
    let input = astronaut();
    let o = onair(&[
        "beauty",
        "--in",
        input.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
        "--mask",
        mask.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(I420Image::load(&out).is_ok() && I420Image::load(&mask).is_ok());
}

#[test]
fn beauty_rejects_bad_input_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.png");
    let out = out.to_str().expect("utf-8 path");
    let input = astronaut();
    let input = input.to_str().expect("utf-8 path");

    let missing = onair(&["beauty", "--in", "/nonexistent/face.png", "--out", out]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/face.png"));

    let corrupt = dir.path().join("corrupt.png");
    std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nnot really").expect("write fixture");
    let o = onair(&[
        "beauty",
        "--in",
        corrupt.to_str().expect("utf-8 path"),
        "--out",
        out,
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read image"));

    let video = onair(&["beauty", "--in", "talk.mp4", "--out", out]);
    assert!(!video.status.success());
    assert!(String::from_utf8_lossy(&video.stderr).contains("use a .mp4 file name"));

    let bad_ext = onair(&["beauty", "--in", input, "--out", "out.bmp"]);
    assert!(!bad_ext.status.success());
    assert!(String::from_utf8_lossy(&bad_ext.stderr).contains(".png"));

    let out_of_range = onair(&["beauty", "--in", input, "--out", out, "--smooth", "101"]);
    assert!(!out_of_range.status.success());
}

#[test]
fn bench_beauty_json_reports_every_figure() {
    let o = onair(&["bench", "beauty", "--json", "--frames", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("stdout is one JSON object");
    for key in [
        "ms_720p_1t",
        "ms_720p_all",
        "ms_1080p_1t",
        "ms_1080p_all",
        "ffmpeg_bilateral_ms_720p_1t",
        "ffmpeg_bilateral_ms_1080p_1t",
        "ffmpeg_smartblur_ms_720p_1t",
        "ffmpeg_smartblur_ms_1080p_1t",
        "ratio_bilateral_1080p_1t",
        "ratio_smartblur_1080p_1t",
        "ms_1080p_1t_closeup",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing or not a number in {v}"));
        assert!(x > 0.0, "{key} = {x}");
    }
    assert!(v["peer"].as_str().is_some_and(|p| p.contains("FFmpeg")));
    for contender in ["onair", "ffmpeg_bilateral", "ffmpeg_smartblur"] {
        let q = &v["quality_720p"][contender];
        assert!(
            q["hf_drop_in_skin"].is_number() && q["ssim_outside_skin"].is_number(),
            "{contender}: {q}"
        );
    }
    // The quality claim holds in the same run: our filter leaves non-skin alone.
    assert!(
        v["quality_720p"]["onair"]["ssim_outside_skin"]
            .as_f64()
            .expect("number")
            >= 0.98
    );
}
