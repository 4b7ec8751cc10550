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

/// Xvfb on a display number it picks itself (`-displayfd`), killed on drop.
struct OwnXvfb {
    child: std::process::Child,
    display: String,
}

impl OwnXvfb {
    fn start() -> OwnXvfb {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x720x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (scripts/deps.sh test)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("Xvfb prints its display number");
        OwnXvfb { child, display: format!(":{}", line.trim()) }
    }
}

impl Drop for OwnXvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The mean RGB of the middle of the picture at `at_s` (scaled to 16×9, the
/// centre 4×3 cells).
fn middle_rgb(path: &std::path::Path, at_s: f64) -> (f64, f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &at_s.to_string(), "-i", path.to_str().unwrap(), "-frames:v", "1", "-vf", "scale=16:9", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg");
    assert_eq!(out.stdout.len(), 16 * 9 * 3, "{}", text(&out.stderr));
    let (mut r, mut g, mut b, mut n) = (0.0, 0.0, 0.0, 0.0);
    for y in 3..6 {
        for x in 6..10 {
            let i = (y * 16 + x) * 3;
            r += out.stdout[i] as f64;
            g += out.stdout[i + 1] as f64;
            b += out.stdout[i + 2] as f64;
            n += 1.0;
        }
    }
    (r / n, g / n, b / n)
}

#[test]
fn lists_and_records_one_window_by_its_title() {
    use x11rb::connection::Connection;
    use x11rb::protocol::xproto::{AtomEnum, ConnectionExt, CreateWindowAux, PropMode, WindowClass};
    use x11rb::wrapper::ConnectionExt as _;

    let x = OwnXvfb::start();
    // A real X client: a red 320×240 window titled "OnAir window test" on a
    // black screen.
    let (conn, n) = x11rb::connect(Some(&x.display)).expect("connect to Xvfb");
    let root = conn.setup().roots[n].root;
    let win = conn.generate_id().unwrap();
    let aux = CreateWindowAux::new().background_pixel(0xff0000);
    conn.create_window(0, win, root, 200, 120, 320, 240, 0, WindowClass::INPUT_OUTPUT, 0, &aux).unwrap();
    conn.change_property8(PropMode::REPLACE, win, AtomEnum::WM_NAME, AtomEnum::STRING, b"OnAir window test").unwrap();
    conn.map_window(win).unwrap();
    conn.sync().unwrap();

    let home = Home::new();
    // `onair devices` lists it with its size and the spec that captures it.
    let mut listed = serde_json::Value::Null;
    wait_until(Duration::from_secs(20), "the window in `onair devices --json`", || {
        let d = home.onair().env("DISPLAY", &x.display).args(["devices", "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap_or_default();
        listed = v["windows"].as_array().and_then(|ws| ws.iter().find(|w| w["title"] == "OnAir window test").cloned()).unwrap_or_default();
        !listed.is_null()
    });
    assert_eq!((listed["width"].as_u64(), listed["height"].as_u64(), listed["id"].as_u64()), (Some(320), Some(240), Some(win as u64)));

    // Captured by part of its title: the picture is the window's red, not
    // the screen's black around it.
    let out = home.path().join("window.mp4");
    let r = home
        .onair()
        .env("DISPLAY", &x.display)
        .args(["record", "--out", out.to_str().unwrap(), "--video", "window:onair window", "--audio", "none", "--preset", "480p30", "--duration", "3"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(text(&r.stderr).contains("OnAir window test"), "{}", text(&r.stderr));
    let p = ffprobe(&out);
    assert_eq!(stream(&p, "video").unwrap()["width"], 854);
    assert!(count_frames(&out) >= 45, "frames: {}", count_frames(&out));
    let (r_, g, b) = middle_rgb(&out, 1.5);
    assert!(r_ > 150.0 && g < 90.0 && b < 90.0, "the middle of the picture is the red window: rgb {r_:.0},{g:.0},{b:.0}");

    // A title no window has: a clean error that says where the list is.
    let r = home.onair().env("DISPLAY", &x.display).args(["record", "--video", "window:Spreadsheet", "--audio", "none", "--duration", "2"]).output().unwrap();
    assert_clean_failure(&r, "onair devices");
    drop(conn);
}
