//! End-to-end on two real app processes (WebKitWebDriver + Xvfb), each with
//! its own ONAIR_HOME, against one relay (the first app's embedded relay):
//! both register through the Chat screen, one writes to the other, and the
//! message appears in the other window; the reply comes back the same way.
//! Screenshots of Chat (both sides), Watch, Calls and Settings go to
//! target/e2e-artifacts/.

mod support;

use serde_json::{json, Value};
use support::{secs, App, Launch};

fn register(app: &App, user: &str) {
    app.click("[data-testid=nav-chat]");
    app.type_text("[data-testid=chat-user]", user);
    app.type_text("[data-testid=chat-password]", "correct horse battery");
    app.click("[data-testid=chat-register]");
    // Signed in, and the listener reached the relay.
    app.wait_text("[data-testid=chat-online]", "Online", secs(60));
}

fn send(app: &App, to: &str, text: &str) {
    app.type_text("[data-testid=chat-new-to]", to);
    app.click("[data-testid=chat-open]");
    app.wait_text("[data-testid=chat-title]", to, secs(30));
    app.type_text("[data-testid=chat-input]", text);
    app.click("[data-testid=chat-send]");
}

/// Waits until a message with `text` is in the open conversation in `state`.
fn wait_message(app: &App, text: &str, state: &str) {
    app.wait_js(
        &format!(
            "return [...document.querySelectorAll('[data-testid=chat-messages] .msg')].some(m => m.dataset.state === {} && m.querySelector('.msg-text').textContent === {})",
            json!(state),
            json!(text)
        ),
        secs(60),
        &format!("message {text:?} {state}"),
    );
}

/// The remote canvas has drawn at least 30 frames.
const REMOTE_FRAMES_30: &str = "return document.querySelector('[data-testid=call-remote]')?.dataset.frames > 30";

/// A script that is true when the remote picture is `colourful` (the test
/// pattern: many distinct colours) or `black` (a camera turned off).
fn picture_is(kind: &str) -> String {
    format!(
        "const c = document.querySelector('[data-testid=call-remote]'); if (!c || !c.width) return false;
         const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
         let sum = 0, n = 0; const colours = new Set();
         for (let i = 0; i < d.length; i += 4 * 97) {{ sum += d[i] + d[i + 1] + d[i + 2]; n++; colours.add((d[i] >> 5) << 6 | (d[i + 1] >> 5) << 3 | (d[i + 2] >> 5)); }}
         const mean = sum / (3 * n);
         return {:?} === 'black' ? mean < 24 && colours.size <= 2 : colours.size >= 6;",
        kind
    )
}

#[test]
fn a_chat_message_goes_from_one_app_window_to_another() {
    let home_a = tempfile::tempdir().unwrap();
    let home_b = tempfile::tempdir().unwrap();
    // alice's saved files land in her test folder, not the real Downloads.
    let mut la = Launch::new(home_a.path());
    la.env.push(("ONAIR_DOWNLOADS".into(), home_a.path().join("Downloads").display().to_string()));
    let alice = App::launch(la);
    let relay = alice.relay_url();
    let mut lb = Launch::new(home_b.path());
    lb.relay_url = Some(relay.clone());
    let bob = App::launch(lb);
    assert_eq!(bob.relay_url(), relay, "the second app uses the first one's relay");

    register(&alice, "alice");
    register(&bob, "bob");

    // alice → bob: pending at once, then sent; bob's window shows it.
    let hello = "hello from window A ✓";
    send(&alice, "bob", hello);
    wait_message(&alice, hello, "sent");
    bob.wait_text("[data-testid=chat-list]", hello, secs(60));
    bob.wait_js("return document.querySelector('[data-conv=\"dm:alice:bob\"] [data-testid=unread]')?.textContent === '1'", secs(30), "one unread in bob's list");
    // The sidebar's Chat carries the unread count, and the strip the relay's state.
    bob.wait_text("[data-testid=nav-unread]", "1", secs(30));
    bob.wait_text("[data-testid=strip-relay]", "Relay connected", secs(30));
    bob.screenshot("chat-b-unread");
    bob.click("[data-conv=\"dm:alice:bob\"]");
    wait_message(&bob, hello, "received");
    bob.wait_js("return document.querySelector('[data-testid=nav-unread]').hidden", secs(30), "the unread badge to clear once read");

    // bob → alice, in the conversation bob has open.
    let reply = "and back from window B";
    bob.type_text("[data-testid=chat-input]", reply);
    bob.click("[data-testid=chat-send]");
    wait_message(&bob, reply, "sent");
    wait_message(&alice, reply, "received");

    // alice sees bob read her message (read receipts come back as events).
    alice.wait_js(
        &format!(
            "return [...document.querySelectorAll('[data-testid=chat-messages] .msg.mine')].some(m => m.querySelector('.msg-text').textContent === {} && (m.querySelector('[data-testid=msg-state]')?.textContent ?? '').startsWith('read'))",
            json!(hello)
        ),
        secs(60),
        "alice's message marked read",
    );
    alice.screenshot("chat-a");
    bob.screenshot("chat-b");

    send_image(&bob, &alice, &home_a.path().join("Downloads"));

    // Full-text search finds it in the local cache.
    alice.type_text("[data-testid=chat-search]", "window");
    alice.eval("document.querySelector('[data-testid=chat-search]').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' })); return true");
    alice.wait_text("[data-testid=chat-list]", "2 results", secs(30));
    // A part of a word finds it too ("wind" in "window").
    alice.type_text("[data-testid=chat-search]", "wind");
    alice.eval("document.querySelector('[data-testid=chat-search]').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' })); return true");
    alice.wait_text("[data-testid=chat-search-count]", "results for “wind”", secs(30));
    alice.wait_text("[data-testid=chat-list]", "2 results", secs(30));

    // A video call between the two windows, media and all: alice dials bob
    // by name, bob's Calls screen rings, he answers; each window draws the
    // other's test pattern; alice's camera off turns bob's picture black
    // (frames keep coming) and on again; alice records with a bookmark
    // (bob sees the banner), stops, and the file is in her library; alice
    // hangs up and both see it end.
    for app in [&alice, &bob] {
        app.click("[data-testid=nav-call]");
        app.select("[data-testid=call-video-source]", "test");
        app.select("[data-testid=call-audio-source]", "test");
        // 720p HD unless picked; the speaker list is Settings → Devices'.
        assert_eq!(app.eval("return document.querySelector('[data-testid=call-preset]').value"), json!("720p"));
        app.find("[data-testid=call-speaker] option");
    }
    // alice sends at 360p, bob at the default 720p: each engine gets its preset.
    alice.select("[data-testid=call-preset]", "360p");
    alice.type_text("[data-testid=call-to]", "bob\u{E007}");
    alice.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'outgoing'", secs(30), "alice's call to ring out");
    bob.click("[data-testid=call-answer]");
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        app.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'active'", secs(30), &format!("{who} in the call"));
    }
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        app.wait_js(REMOTE_FRAMES_30, secs(90), &format!("{who} to draw 30 frames of the other side"));
        app.wait_js(&picture_is("colourful"), secs(30), &format!("{who} to see the other side's test pattern"));
        app.wait_js("return document.querySelector('[data-testid=call-local]')?.dataset.frames > 5", secs(30), &format!("{who}'s self-view"));
        app.wait_text("[data-testid=call-media-line]", "kbps out", secs(30));
    }
    // The presets reached the engines: each side decodes the size the other chose.
    let media_line = |size: &str, value: &str| format!("return document.querySelector('[data-testid=call-media-line]')?.dataset.{size} === '{value}'");
    alice.wait_js(&media_line("preset", "360p"), secs(30), "alice's call state to name her 360p preset");
    bob.wait_js(&media_line("recvSize", "640x360"), secs(60), "bob to decode alice's 360p picture at 640×360");
    alice.wait_js(&media_line("recvSize", "1280x720"), secs(60), "alice to decode bob's 720p picture at 1280×720");
    alice.screenshot("call-a-active");
    bob.screenshot("call-b-active");

    alice.click("[data-testid=call-camera]");
    let frames = bob.eval("return +document.querySelector('[data-testid=call-remote]').dataset.frames");
    bob.wait_js(&picture_is("black"), secs(30), "bob to see black when alice's camera is off");
    bob.wait_text("[data-testid=call-peer-camera-off]", "alice: camera off", secs(30));
    bob.wait_js(&format!("return +document.querySelector('[data-testid=call-remote]').dataset.frames > {frames} + 15"), secs(30), "black frames to keep coming");
    alice.wait_text("[data-testid=call-camera]", "Camera on", secs(10));
    alice.click("[data-testid=call-camera]");
    bob.wait_js(&picture_is("colourful"), secs(30), "bob to see alice's pattern again");
    bob.wait_js("return !document.querySelector('[data-testid=call-peer-camera-off]')", secs(30), "the camera-off mark to go");
    // Muted: bob sees the mark while alice's sound is off.
    alice.click("[data-testid=call-mute]");
    bob.wait_text("[data-testid=call-peer-muted]", "alice is muted", secs(30));
    bob.screenshot("call-b-peer-muted");
    alice.click("[data-testid=call-mute]");
    bob.wait_js("return !document.querySelector('[data-testid=call-peer-muted]')", secs(30), "the muted mark to go");

    alice.click("[data-testid=call-record]");
    bob.wait_text("[data-testid=call-rec-banner]", "alice is recording", secs(30));
    alice.wait_text("[data-testid=call-rec-banner]", "you are recording", secs(30));
    alice.wait_js("return !document.querySelector('[data-testid=call-bookmark]')?.disabled", secs(30), "the bookmark button");
    alice.click("[data-testid=call-bookmark]");
    alice.wait_text("[data-testid=call-notice]", "Bookmark added", secs(30));
    let frames = alice.eval("return +document.querySelector('[data-testid=call-remote]').dataset.frames");
    alice.wait_js(&format!("return +document.querySelector('[data-testid=call-remote]').dataset.frames > {frames} + 60"), secs(60), "two seconds of call to record");
    bob.screenshot("call-b-being-recorded");
    alice.click("[data-testid=call-record]");
    alice.wait_text("[data-testid=call-notice]", "Recording saved", secs(60));
    bob.wait_js("return !document.querySelector('[data-testid=call-rec-banner]')", secs(30), "bob's banner to go when alice stops");
    let list = alice.invoke("recordings_list", json!({})).expect("recordings_list");
    let rec = list.as_array().unwrap().iter().find(|r| r["path"].as_str().is_some_and(|p| p.contains("call-bob-"))).unwrap_or_else(|| panic!("no call recording in {list}")).clone();
    assert_eq!(rec["bookmarks"].as_array().map(|b| b.len()), Some(1), "{rec}");
    let probe = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type,codec_name:format=duration", "-of", "json"])
        .arg(rec["path"].as_str().unwrap())
        .output()
        .expect("ffprobe");
    let probe: Value = serde_json::from_slice(&probe.stdout).expect("ffprobe json");
    let kinds: Vec<&str> = probe["streams"].as_array().unwrap().iter().filter_map(|s| s["codec_type"].as_str()).collect();
    assert!(kinds.contains(&"video") && kinds.contains(&"audio"), "{probe}");
    let dur: f64 = probe["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0);
    assert!(dur >= 1.5, "the call recording lasts {dur} s: {probe}");

    alice.click("[data-testid=call-hangup]");
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        app.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'ended'", secs(30), &format!("the call ended for {who}"));
    }
    bob.screenshot("call-b-ended");

    // bob calls back with a camera that cannot open (no camera 7 here): the
    // call still connects, with his video off and the reason on his screen,
    // and alice sees his camera-off mark from what his engine signalled.
    for app in [&alice, &bob] {
        app.click("[data-testid=call-dismiss]");
        app.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'idle'", secs(10), "the ended call dismissed");
    }
    bob.eval("const s = document.querySelector('[data-testid=call-video-source]'); s.add(new Option('Camera 8', 'camera:7')); return true");
    bob.select("[data-testid=call-video-source]", "camera:7");
    bob.type_text("[data-testid=call-to]", "alice\u{E007}");
    alice.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'incoming'", secs(30), "bob's call to ring at alice");
    alice.click("[data-testid=call-answer]");
    bob.wait_text("[data-testid=call-camera-error]", "Your camera could not open, so you joined with video off: no camera is connected here", secs(60));
    bob.find("[data-testid=call-self-camera-off]");
    alice.wait_text("[data-testid=call-peer-camera-off]", "bob: camera off", secs(60));
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        app.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'active'", secs(30), &format!("{who} in the second call"));
    }
    bob.wait_js(REMOTE_FRAMES_30, secs(90), "bob to draw alice's picture while his camera failed");
    bob.screenshot("call-b-camera-failed");
    alice.screenshot("call-a-peer-camera-failed");
    bob.eval("localStorage.setItem('onair.lang', 'zh'); window.dispatchEvent(new CustomEvent('onair:language')); return true");
    bob.wait_text("[data-testid=call-camera-error]", "摄像头无法打开", secs(30));
    bob.screenshot("call-b-camera-failed-zh");
    bob.eval("localStorage.setItem('onair.lang', 'en'); window.dispatchEvent(new CustomEvent('onair:language')); return true");
    bob.click("[data-testid=call-hangup]");
    for (who, app) in [("bob", &bob), ("alice", &alice)] {
        app.wait_js("return document.querySelector('[data-testid=call-status]')?.dataset.phase === 'ended'", secs(30), &format!("the second call ended for {who}"));
    }

    // The other screens render (screenshots for the record).
    for s in ["watch", "call", "settings"] {
        alice.click(&format!("[data-testid=nav-{s}]"));
        alice.find(&format!("[data-testid=screen-{s}]"));
        if s == "call" {
            // bob is a contact once they are friends; a user name works either way.
            alice.find("[data-testid=call-to]");
        }
        alice.screenshot(&format!("{s}-signed-in"));
    }
}

/// bob drops a picture on the conversation (the same path as the paperclip
/// button's file input): his window shows the upload's progress; alice's
/// shows the picture inline, saves it to her Downloads, and the saved file
/// is byte for byte what bob sent. Crafted attachment ids and paths are
/// refused.
fn send_image(bob: &App, alice: &App, downloads: &std::path::Path) {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("plasma.png");
    let ok = std::process::Command::new("convert").args(["-size", "320x200", "plasma:fractal"]).arg(&png).status().expect("imagemagick's convert");
    assert!(ok.success(), "convert made no picture");
    let bytes = std::fs::read(&png).unwrap();
    bob.eval_args(
        "const f = new File([new Uint8Array(arguments[0])], 'plasma 猫.png', { type: 'image/png' });
         const dt = new DataTransfer(); dt.items.add(f);
         window.__uploads = [];
         new MutationObserver(() => { const r = document.querySelector('[data-upload]'); if (r) window.__uploads.push(r.querySelector('progress').value); })
           .observe(document.querySelector('[data-testid=chat-uploads]'), { childList: true, subtree: true, attributes: true, characterData: true });
         const pane = document.querySelector('[data-testid=chat-pane]');
         pane.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
         pane.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
         return true",
        json!([bytes]),
    );
    bob.wait_js("return document.querySelector('[data-testid=chat-messages] .msg.mine [data-att]') && !document.querySelector('[data-upload]')", secs(60), "bob's picture in his conversation");
    let seen = bob.eval("return window.__uploads");
    assert!(seen.as_array().is_some_and(|v| !v.is_empty()), "the upload showed no progress row: {seen}");
    let shown = "const i = [...document.querySelectorAll('[data-testid=att-preview]')].pop(); return !!i && i.complete && i.naturalWidth === 320 && i.naturalHeight === 200";
    bob.wait_js(shown, secs(30), "bob's own preview");
    alice.wait_js(shown, secs(60), "alice to see bob's picture inline");
    // The conversation list names the file (not "(recalled)" for a message with no text).
    alice.wait_text("[data-testid=chat-list]", "File: plasma 猫.png", secs(30));
    alice.screenshot("chat-a-attachment");
    alice.wait_text("[data-testid=chat-messages] .att-name", "plasma 猫.png", secs(10));
    alice.click("[data-testid=att-save]");
    let path = alice.wait_js("return document.querySelector('[data-testid=att-open]')?.dataset.path", secs(30), "the saved file's path");
    let path = std::path::PathBuf::from(path.as_str().unwrap());
    assert_eq!(path.parent(), Some(downloads), "saved in Downloads as named");
    assert_eq!(path.file_name().and_then(|n| n.to_str()), Some("plasma 猫.png"));
    assert_eq!(std::fs::read(&path).expect("the saved file"), bytes, "the saved file differs from what bob sent");

    // A hostile id or path from a crafted call goes nowhere.
    let err = alice.invoke("chat_attachment", json!({ "id": "../../chat-alice.db" })).expect_err("a path as an attachment id");
    assert_eq!(err["code"], "invalid", "{err}");
    let err = alice.invoke("chat_attachment_open", json!({ "path": "/bin/sh" })).expect_err("opening a file outside Downloads");
    assert_eq!(err["code"], "invalid", "{err}");
    // Nor one in Downloads that Save did not write (a script dropped there).
    let planted = downloads.join("run-me.desktop");
    std::fs::write(&planted, "[Desktop Entry]\nExec=false\n").unwrap();
    let err = alice.invoke("chat_attachment_open", json!({ "path": planted.display().to_string() })).expect_err("opening a file Save did not write");
    assert_eq!(err["code"], "invalid", "{err}");
}
