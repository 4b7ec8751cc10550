//! Global hotkeys on the real app (its own Xvfb, keys pressed with
//! xdotool as a user would, the window not involved): Ctrl+Shift+R starts a
//! recording of what Go live is set to, Ctrl+Shift+B bookmarks it,
//! Ctrl+Shift+R again stops and finalises it; the library has it with the
//! bookmark. The window shows another screen (Chat) meanwhile: its status
//! strip shows REC, counting, and Stop; the tray says the same (REC, then
//! idle), its Start recording and Stop work, and it follows the language.

mod support;

use serde_json::json;
use support::{secs, App, Launch};

fn wait(mut cond: impl FnMut() -> bool, what: &str) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < secs(60), "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

#[test]
fn ctrl_shift_r_records_and_ctrl_shift_b_bookmarks() {
    let home = tempfile::tempdir().unwrap();
    let app = App::launch(Launch::new(home.path()));
    app.wait_js("return window.__onairPreview && window.__onairPreview.frames >= 5", secs(60), "preview frames");
    let status = || app.invoke("live_status", json!({})).expect("live_status");
    app.click("[data-testid=nav-chat]");
    app.find("[data-testid=screen-chat]");

    // The shortcut grab happens at start-up; a press before it lands is
    // lost, so press until the recording starts.
    wait(
        || {
            if status()["recording"] == json!(true) {
                return true;
            }
            app.press_keys("ctrl+shift+r");
            // Long enough for a start on a loaded machine: a second press
            // while the first one is starting would stop it again.
            let t = std::time::Instant::now();
            while t.elapsed() < secs(15) {
                if status()["recording"] == json!(true) {
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            false
        },
        "Ctrl+Shift+R to start a recording",
    );
    app.wait_text("[data-testid=strip-rec]", "REC", secs(10));
    app.find("[data-testid=strip-stop]");
    // The tray agrees with the strip.
    let tray = || app.invoke("tray_view", json!({})).expect("tray_view");
    wait(|| tray()["title"] == json!("REC"), "the tray to show REC");
    assert_eq!(tray()["job"], json!("Stop and save the recording"), "{}", tray());
    let t0 = std::time::Instant::now();
    while status()["stats"]["elapsed_s"].as_f64().unwrap_or(0.0) < 1.5 {
        assert!(t0.elapsed() < secs(60), "1.5 s recorded: {}\n{}", status(), app.log_tail());
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    app.wait_js("return /^0:0[1-9]/.test(document.querySelector('[data-testid=strip-rec-time]')?.textContent ?? '')", secs(10), "the strip's clock to count");
    app.press_keys("ctrl+shift+b");
    wait(|| status()["stats"]["bookmarks"] == json!(1), "Ctrl+Shift+B to add a bookmark");
    wait(|| status()["stats"]["elapsed_s"].as_f64().unwrap_or(0.0) >= 3.0, "3 s recorded");
    app.screenshot("hotkeys-recording");
    app.press_keys("ctrl+shift+r");
    wait(|| !matches!(status()["state"].as_str(), Some("running" | "stopping")) && status()["recording"] != json!(true), "Ctrl+Shift+R to stop");
    app.wait_js("return !document.querySelector('[data-testid=strip-rec]')", secs(10), "the strip to drop REC");

    let list = app.invoke("recordings_list", json!({})).unwrap();
    let rec = &list.as_array().expect("list")[0];
    assert_eq!(rec["state"], json!("done"), "{rec}");
    assert_eq!(rec["bookmarks"].as_array().map(|b| b.len()), Some(1), "{rec}");
    let dur = rec["duration_ms"].as_i64().unwrap();
    assert!(dur >= 2_500, "about 3 s recorded, got {dur} ms");
    wait(|| tray()["status"] == json!("Nothing live or recording"), "the tray to drop REC");
    eprintln!("tray installed on this desktop: {}", tray()["installed"]);

    // The tray's own Start recording and Stop do what the strip does.
    app.invoke("tray_menu", json!({ "id": "job" })).expect("tray_menu");
    app.wait_text("[data-testid=strip-rec]", "REC", secs(30));
    wait(|| tray()["title"] == json!("REC"), "the tray's Start to record");
    wait(|| status()["stats"]["elapsed_s"].as_f64().unwrap_or(0.0) >= 1.0, "1 s recorded from the tray");
    app.invoke("tray_menu", json!({ "id": "job" })).expect("tray_menu");
    wait(|| tray()["title"] == json!("") && status()["recording"] != json!(true), "the tray's Stop to stop");
    wait(|| app.invoke("recordings_list", json!({})).unwrap().as_array().map(|l| l.len()) == Some(2), "the tray's recording in the library");

    // The tray speaks the window's language.
    app.click("[data-testid=nav-settings]");
    app.select("[data-testid=settings-language]", "zh");
    wait(|| tray()["status"] == json!("没有直播或录制"), "the tray in Chinese");
    assert_eq!(tray()["job"], json!("开始录制"), "{}", tray());
}
