//! Global hotkeys on the real app (its own Xvfb, keys pressed with
//! xdotool as a user would, the window not involved): Ctrl+Shift+R starts a
//! recording of what Go live is set to, Ctrl+Shift+B bookmarks it,
//! Ctrl+Shift+R again stops and finalises it; the library has it with the
//! bookmark. The window shows another screen (Chat) meanwhile: its status
//! strip shows REC, counting, and Stop.

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
            let t = std::time::Instant::now();
            while t.elapsed() < secs(5) {
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
    wait(|| status()["stats"]["elapsed_s"].as_f64().unwrap_or(0.0) >= 1.5, "1.5 s recorded");
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
}
