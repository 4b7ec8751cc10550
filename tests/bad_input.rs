//! Bad input gets a clear message and a non-zero exit, never a panic.

mod support;

use support::*;

const TEST_SOURCES: [&str; 4] = ["--video", "test", "--audio", "test"];

fn record(home: &Home, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["record", "--duration", "2"];
    args.extend_from_slice(extra);
    home.run(&args)
}

#[test]
fn malformed_urls() {
    let home = Home::new();
    for (url, says) in [
        ("not a url", "invalid output URL"),
        ("http://127.0.0.1/live/key", "only rtmp"),
        ("rtmp://127.0.0.1:99999/live/key", "port"),
        ("rtmp://127.0.0.1/live", "no stream key"),
    ] {
        let mut args = vec!["live", "--to", url, "--duration", "2"];
        args.extend_from_slice(&TEST_SOURCES);
        let out = home.run(&args);
        assert_clean_failure(&out, says);
        assert!(!text(&out.stderr).contains("/key"), "key leaked for {url}: {}", text(&out.stderr));
    }
}

#[test]
fn missing_file() {
    let home = Home::new();
    let out = record(&home, &["--video", "file:/no/such/clip.mp4", "--audio", "none"]);
    assert_clean_failure(&out, "/no/such/clip.mp4");
    assert_clean_failure(&out, "no such file");
}

#[test]
fn a_file_that_is_not_media() {
    let home = Home::new();
    let junk = home.path().join("junk.mp4");
    std::fs::write(&junk, b"this is not a video at all").unwrap();
    let out = record(&home, &["--video", &format!("file:{}", junk.display()), "--audio", "none"]);
    assert_clean_failure(&out, "cannot open");
}

#[test]
fn no_camera() {
    let home = Home::new();
    let out = record(&home, &["--video", "camera", "--audio", "none"]);
    assert_clean_failure(&out, "camera");
    assert!(text(&out.stderr).contains("--video test"), "suggests what to do: {}", text(&out.stderr));
}

#[test]
fn no_microphone() {
    let home = Home::new();
    let out = record(&home, &["--video", "none", "--audio", "mic"]);
    assert_clean_failure(&out, "microphone");
    assert!(text(&out.stderr).contains("--audio test"), "suggests what to do: {}", text(&out.stderr));
}

#[test]
fn unwritable_or_missing_output_folder() {
    let home = Home::new();
    let mut args = vec!["--out", "/no/such/folder/x.mp4"];
    args.extend_from_slice(&TEST_SOURCES);
    assert_clean_failure(&record(&home, &args), "does not exist");
    let ro = home.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let target = if unsafe { libc::geteuid() } == 0 {
        // root can write anywhere on disk; /proc refuses everyone.
        "/proc/onair-test.mp4".to_string()
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        ro.join("x.mp4").display().to_string()
    };
    let mut args = vec!["--out", target.as_str()];
    args.extend_from_slice(&TEST_SOURCES);
    assert_clean_failure(&record(&home, &args), "cannot write");
}

#[test]
fn bad_options() {
    let home = Home::new();
    for args in [
        vec!["record", "--preset", "999p", "--video", "test"],
        vec!["record", "--video", "webcam"],
        vec!["record", "--video", "camera:x"],
        vec!["record", "--overlay-corner", "middle", "--video", "test"],
        vec!["record", "--duration", "-5", "--video", "test", "--audio", "test"],
        vec!["record", "--video", "none", "--audio", "none"],
    ] {
        let out = home.run(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert!(err.contains("error"), "{args:?}: {err}");
    }
}

#[test]
fn unknown_recording_ids() {
    let home = Home::new();
    for cmd in ["show", "delete", "pin", "unpin"] {
        let out = home.run(&["recordings", cmd, "4242"]);
        assert_clean_failure(&out, "not found");
    }
}
