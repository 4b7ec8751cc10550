//! The go-live controller both front doors drive (onair_media::golive):
//! `onair record` names its file as the controller does (the app's Go live
//! and its unit test `names_are_the_controllers` use the same function), and
//! the controller's preview → start → auto-stop → finalised recording, run
//! in-process as the app runs it.

mod support;

use std::sync::Arc;
use std::time::Duration;

use onair_media::golive::{new_recording_path, recording_name, GoLive, Phase};
use onair_media::pipeline::{Limits, PipelineConfig, StopReason};
use onair_media::source::{AudioSpec, VideoSpec};
use support::*;

fn now() -> i64 {
    onair_media::library::unix_now()
}

#[test]
fn the_cli_names_recordings_as_the_controller_does() {
    let home = Home::new();
    let t0 = now();
    let r = home.run(&[
        "record",
        "--video",
        "test",
        "--audio",
        "test",
        "--preset",
        "480p30",
        "--duration",
        "1",
    ]);
    let t1 = now();
    assert!(r.status.success(), "{}", text(&r.stderr));
    let names: Vec<String> = std::fs::read_dir(home.path().join("recordings"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".mp4"))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        (t0..=t1).any(|t| names[0] == recording_name("onair", t)),
        "{} is not the controller's name for a time in {t0}..={t1}",
        names[0]
    );
}

#[test]
fn preview_then_start_then_auto_stop_finalises_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let (lib, _) = onair_media::library::Library::open(dir.path()).unwrap();
    let lib = Arc::new(lib);
    let cfg = |limit: Option<f64>| PipelineConfig {
        video: VideoSpec::Test,
        overlay: None,
        audio: vec![AudioSpec::Test.into()],
        looped: false,
        camera_mode: None,
        encoding: onair_media::encode::EncodingConfig {
            preset: "480p30".parse().unwrap(),
            ..Default::default()
        },
        live: vec![],
        record: None,
        limits: Limits {
            duration: limit.map(Duration::from_secs_f64),
            ..Default::default()
        },
        beauty: None,
    };
    let ctl = GoLive::new();

    let (tap, frames) = onair_media::preview::channel(30);
    ctl.preview(cfg(None), tap).unwrap();
    assert_eq!(ctl.phase(), Phase::Preview);
    frames.recv_timeout(Duration::from_secs(20)).expect("preview frames");
    assert!(ctl.bookmark(None).is_err(), "no bookmark without a recording");

    let mut job = cfg(Some(2.0));
    job.record = Some(new_recording_path(lib.recordings_dir(), "onair", now()));
    let (tap, frames) = onair_media::preview::channel(30);
    ctl.start(job.clone(), Some(lib.clone()), Some(tap)).unwrap();
    assert_eq!(ctl.phase(), Phase::Running);
    assert_eq!(ctl.status().recording, job.record);
    frames.recv_timeout(Duration::from_secs(20)).expect("the job keeps the preview");
    // A second start, or new sources, while running: refused, the job goes on.
    let e = ctl.start(job.clone(), None, None).unwrap_err().to_string();
    assert!(e.contains("stop first"), "{e}");
    let (tap, _f) = onair_media::preview::channel(30);
    assert!(ctl.preview(cfg(None), tap).unwrap_err().to_string().contains("stop first"));
    ctl.bookmark(Some("goal")).unwrap();

    // Auto-stop: the front door polls; the controller stops and finalises.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (reason, summary) = loop {
        if let Some(r) = ctl.finish_if_ended() {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "the 2 s job did not stop by itself");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(reason, StopReason::Duration);
    assert_eq!(ctl.phase(), Phase::Idle);
    let rec = summary.unwrap().recording.expect("a recording");
    assert_eq!(Some(rec.path.clone()), job.record);
    assert_eq!(rec.bookmarks.len(), 1);
    let p = ffprobe(&rec.path);
    assert!((1.5..3.5).contains(&duration_s(&p)), "{}", duration_s(&p));
    let titles: Vec<&str> = p["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["tags"]["title"].as_str())
        .collect();
    assert!(titles.contains(&"goal"), "the bookmark is a chapter: {titles:?}");
    assert!(ctl.stop().unwrap_err().to_string().contains("nothing is running"));
}
