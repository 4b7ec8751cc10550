//! The app on a desktop session: bob's app runs on a private D-Bus session
//! bus where dunst (on an Xvfb display of its own) owns
//! org.freedesktop.Notifications and dbus-monitor records every `Notify`
//! the app sends; its tray icon is the StatusNotifierItem it exports on that
//! bus (libayatana-appindicator), read back with dbus-send. An incoming call
//! notifies with the caller's name; the record hotkey notifies that
//! recording started and stopped, and the tray shows REC meanwhile.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{own_display, secs, sign_up, App, Launch};

/// A session bus with a notification server and a monitor on it.
struct Desktop {
    address: String,
    /// The bus connection that exports the tray item, once found.
    tray_owner: Mutex<Option<String>>,
    seen: Arc<Mutex<String>>,
    children: Vec<Child>,
    _x: Option<Child>,
}

impl Desktop {
    fn start(dir: &std::path::Path) -> Desktop {
        let mut children = Vec::new();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", dir.join("bus").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is installed (scripts/deps.sh test)");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).expect("the bus prints its address");
        let address = address.trim().to_string();
        children.push(bus);
        let (display, x) = own_display();
        children.push(
            Command::new("dunst")
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .env("DISPLAY", &display)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("dunst is installed (scripts/deps.sh test)"),
        );
        let mut mon = Command::new("dbus-monitor")
            .args(["--address", &address, "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor is installed");
        let seen: Arc<Mutex<String>> = Arc::default();
        let (out, s) = (mon.stdout.take().unwrap(), seen.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut g = s.lock().unwrap();
                g.push_str(&line);
                g.push('\n');
            }
        });
        children.push(mon);
        let d = Desktop { address, tray_owner: Mutex::new(None), seen, children, _x: x };
        // dunst owns the name before the app starts.
        let start = Instant::now();
        while !Command::new("dbus-send")
            .arg(format!("--bus={}", d.address))
            .args(["--print-reply", "--dest=org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications.GetServerInformation"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            assert!(start.elapsed() < secs(30), "dunst did not take org.freedesktop.Notifications");
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    /// Waits for a `Notify` whose strings include every one of `needles`.
    fn wait_notify(&self, needles: &[&str], timeout: Duration) {
        let start = Instant::now();
        loop {
            let seen = self.seen.lock().unwrap().clone();
            // One method call per block: its header line, then its arguments.
            if seen.split("method call").any(|call| needles.iter().all(|n| call.contains(&format!("string \"{n}\"")))) {
                return;
            }
            assert!(start.elapsed() < timeout, "no notification with {needles:?}; seen:\n{seen}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Desktop {
    fn send(&self, dest: &str, path: &str, method: &str, args: &[&str]) -> String {
        let o = Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            // Services WebKit activated on this bus (portals, keyring) may
            // never answer an unknown path: do not wait the default 25 s.
            .args(["--reply-timeout=3000", "--print-reply", &format!("--dest={dest}"), path, method])
            .args(args)
            .output()
            .expect("dbus-send");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The tray icon's label (`XAyatanaLabel`: "REC", "LIVE" or "") and its
    /// menu's labels, from whichever connection exports the item.
    fn tray(&self) -> Option<(String, String)> {
        const ITEM: &str = "/org/ayatana/NotificationItem/tray_icon_tray_app_onair";
        let names = self.send("org.freedesktop.DBus", "/", "org.freedesktop.DBus.ListNames", &[]);
        let known = self.tray_owner.lock().unwrap().clone();
        let all = names.lines().filter_map(|l| l.trim().strip_prefix("string \":")).map(|n| format!(":{}", n.trim_end_matches('"')));
        for name in known.into_iter().chain(all) {
            let props = self.send(&name, ITEM, "org.freedesktop.DBus.Properties.GetAll", &["string:org.kde.StatusNotifierItem"]);
            let Some(i) = props.find("string \"XAyatanaLabel\"") else { continue };
            let label = props[i..].lines().nth(1).and_then(|l| l.split('"').nth(1)).unwrap_or("").to_string();
            *self.tray_owner.lock().unwrap() = Some(name.clone());
            let menu = self.send(&name, &format!("{ITEM}/Menu"), "com.canonical.dbusmenu.GetLayout", &["int32:0", "int32:-1", "array:string:label"]);
            return Some((label, menu));
        }
        None
    }

    fn wait_tray(&self, label: &str, menu_item: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let t = self.tray();
            if t.as_ref().is_some_and(|(l, m)| l == label && m.contains(&format!("string \"{menu_item}\""))) {
                return;
            }
            assert!(start.elapsed() < timeout, "the tray did not show {label:?} / {menu_item:?}; it has {t:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(x) = self._x.as_mut() {
            let _ = x.kill();
            let _ = x.wait();
        }
    }
}

#[test]
fn notifications_and_the_tray_follow_calls_and_recording() {
    let t0 = Instant::now();
    let step = |what: &str| eprintln!("[{:>6.1}s] {what}", t0.elapsed().as_secs_f64());
    let (home_a, home_b, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alice = App::launch(Launch::new(home_a.path()));
    let relay = alice.relay_url();
    sign_up(home_a.path(), &relay, "alice");
    sign_up(home_b.path(), &relay, "bob");
    let desktop = Desktop::start(dir.path());
    let mut lb = Launch::new(home_b.path());
    lb.relay_url = Some(relay.clone());
    lb.env.push(("DBUS_SESSION_BUS_ADDRESS".into(), desktop.address.clone()));
    let bob = App::launch(lb);
    for (who, app) in [("alice", &alice), ("bob", &bob)] {
        let start = Instant::now();
        while !app.invoke("chat_status", json!({})).ok().and_then(|s| s["online"].as_bool()).unwrap_or(false) {
            assert!(start.elapsed() < secs(60), "{who} did not come online\n{}", app.log_tail());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    step("both online");
    // alice calls: bob's desktop says who is calling, even with the window elsewhere.
    let call_id = alice
        .invoke("call_invite", json!({ "peer": "bob", "video": true, "sources": { "video": "test", "audio": "test" } }))
        .expect("call_invite");
    desktop.wait_notify(&["Incoming call", "alice is calling"], secs(60));
    step("call notified");
    bob.invoke("call_decline", json!({ "callId": call_id })).expect("bob declines");

    // The record hotkey (pressed on bob's display) says what it did, and the
    // tray shows REC while it records.
    desktop.wait_tray("", "Nothing live or recording", secs(30));
    bob.press_keys("ctrl+shift+r");
    desktop.wait_notify(&["OnAir", "Recording started"], secs(60));
    desktop.wait_tray("REC", "REC", secs(30));
    step("recording");
    bob.press_keys("ctrl+shift+r");
    desktop.wait_notify(&["OnAir", "Recording stopped and saved"], secs(90));
    desktop.wait_tray("", "Nothing live or recording", secs(30));
    step("stopped");
    let seen = desktop.seen.lock().unwrap().clone();
    eprintln!("notifications sent: {}", seen.matches("member=Notify").count());
}
