//! Screen capture from a real X server (Xvfb).

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

#[test]
fn records_the_screen_of_an_x_display() {
    // A display number of our own, unlikely to clash with a desktop.
    let display = format!(":{}", 90 + std::process::id() % 100);
    let mut xvfb = Command::new("Xvfb")
        .args([&display, "-screen", "0", "1280x720x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is installed (scripts/deps.sh test)");
    let sock = format!("/tmp/.X11-unix/X{}", &display[1..]);
    wait_until(Duration::from_secs(20), "Xvfb to start", || std::path::Path::new(&sock).exists());
    let home = Home::new();
    let out = home.path().join("screen.mp4");
    let r = home.run(&[
        "record", "--out", out.to_str().unwrap(), "--video", &format!("screen:{display}"), "--audio", "none",
        "--preset", "480p30", "--duration", "3",
    ]);
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(text(&r.stderr).contains("x11grab"), "{}", text(&r.stderr));
    let p = ffprobe(&out);
    assert_eq!(stream(&p, "video").unwrap()["width"], 854);
    // 90 frames are due in 3 s; allow for a loaded machine.
    assert!(count_frames(&out) >= 45, "frames: {}", count_frames(&out));
}

#[test]
fn a_missing_display_is_a_clear_error() {
    let home = Home::new();
    let r = home.run(&["record", "--video", "screen::77", "--audio", "none", "--duration", "2"]);
    assert_clean_failure(&r, "screen capture failed");
}
