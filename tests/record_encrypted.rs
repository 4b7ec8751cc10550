//! Local recordings encrypted at rest (issue 16): no MP4 structure on disk,
//! the master key in a real OS keychain (GNOME Keyring on a private D-Bus),
//! `onair recordings export` to a plain MP4 that ffprobe reads with its
//! bookmark as a chapter, recovery after `kill -9`, and a clear error when
//! the key is missing or wrong.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_onair");
const NO_KEY: &str = "encrypted on another computer or its key was removed";

fn have(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Runs `script` in a private D-Bus session with an unlocked GNOME Keyring
/// (as tests/keychain.rs does); `ONAIR_KEYCHAIN=require`, so nothing falls
/// back to a file.
fn in_keyring_session(keyring_home: &Path, onair_home: &Path, script: &str) -> std::process::Output {
    let full = format!(
        "set -e\n\
         eval \"$(printf 'keyring-pass' | gnome-keyring-daemon --unlock --components=secrets)\"\n\
         export GNOME_KEYRING_CONTROL\n\
         {script}"
    );
    Command::new("dbus-run-session")
        .args(["--", "bash", "-c", &full])
        .env("HOME", keyring_home)
        .env("XDG_DATA_HOME", keyring_home.join("data"))
        .env("XDG_RUNTIME_DIR", keyring_home)
        .env("ONAIR_HOME", onair_home)
        .env("ONAIR_KEYCHAIN", "require")
        .env("BIN", BIN)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run dbus-run-session")
}

/// Bits of entropy per byte over the whole file.
fn entropy(b: &[u8]) -> f64 {
    let mut n = [0u64; 256];
    b.iter().for_each(|&x| n[x as usize] += 1);
    let len = b.len() as f64;
    n.iter().filter(|&&c| c > 0).map(|&c| c as f64 / len).map(|p| -p * p.log2()).sum()
}

/// The file on disk is a vault file: no MP4 box names, noise-like bytes.
fn assert_opaque(path: &Path) {
    let raw = std::fs::read(path).unwrap();
    assert!(raw.len() > 100_000, "{} is only {} bytes", path.display(), raw.len());
    assert_eq!(&raw[..8], b"ONAIRVLT");
    for boxname in [&b"ftyp"[..], b"moov", b"moof", b"mdat", b"avc1", b"mp4a"] {
        assert!(!raw.windows(4).any(|w| w == boxname), "{} shows {:?}", path.display(), String::from_utf8_lossy(boxname));
    }
    let e = entropy(&raw);
    assert!(e > 7.99, "entropy {e:.4} bits/byte");
}

fn chapter_titles(p: &serde_json::Value) -> Vec<String> {
    p["chapters"].as_array().unwrap().iter().map(|c| c["tags"]["title"].as_str().unwrap_or("").to_string()).collect()
}

#[test]
fn encrypted_recording_keeps_its_key_in_the_keychain_and_exports_with_its_chapter() {
    assert!(
        have("dbus-run-session") && have("gnome-keyring-daemon"),
        "this test needs dbus-run-session and gnome-keyring-daemon (scripts/deps.sh test installs them)"
    );
    let keyring = tempfile::tempdir().unwrap();
    let home = Home::new();
    let o = in_keyring_session(
        keyring.path(),
        home.path(),
        r#""$BIN" recordings encrypt on
(sleep 1.5; echo "b intro"; sleep 4) | "$BIN" record --out "$ONAIR_HOME/talk.mp4" --video test --audio test --preset 480p30 --duration 4
"$BIN" recordings export 1 --out "$ONAIR_HOME/plain.mp4"
if "$BIN" recordings export 1 --out "$ONAIR_HOME/plain.mp4" 2>"$ONAIR_HOME/again.err"; then exit 7; fi
"$BIN" recordings export 1 --out "$ONAIR_HOME/plain.mp4" --force"#,
    );
    let err = text(&o.stderr);
    assert!(o.status.success(), "in a keyring session:\n{err}\n{}", text(&o.stdout));
    assert!(err.contains("encrypted at rest"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The key went to the keychain, not to a file.
    assert!(!home.path().join("secrets.json").exists());
    let talk = home.path().join("talk.mp4");
    assert_opaque(&talk);
    assert!(!home.path().join("talk.mp4.part").exists());
    let again = std::fs::read_to_string(home.path().join("again.err")).unwrap();
    assert!(again.contains("already exists") && again.contains("--force"), "{again}");

    let plain = home.path().join("plain.mp4");
    let p = ffprobe(&plain);
    assert!(stream(&p, "video").is_some() && stream(&p, "audio").is_some(), "{p}");
    assert_eq!(chapter_titles(&p), vec!["Start", "intro"], "{p}");
    let d = duration_s(&p);
    assert!((3.0..5.5).contains(&d), "duration {d}");
    assert_eq!(decode_errors(&plain), "");

    // The library says so; a listing needs no key.
    let list = home.run(&["recordings", "list", "--json"]);
    let r: serde_json::Value = serde_json::from_str(text(&list.stdout).lines().next().expect("one recording")).unwrap();
    assert_eq!(r["encrypted"], true);
    assert_eq!(r["state"], "done");

    // Without that keychain there is no key: a clear error, no panic.
    let out = home.path().join("elsewhere.mp4");
    let o = home
        .onair()
        .args(["recordings", "export", "1", "--out", out.to_str().unwrap()])
        .env("ONAIR_KEYCHAIN", "auto")
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}/no-bus", home.path().display()))
        .output()
        .unwrap();
    assert_clean_failure(&o, NO_KEY);
    assert!(!out.exists());
}

/// Spawns `onair` with piped stdin/stderr; stderr lines arrive on the channel.
fn spawn(home: &Home, args: &[&str]) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = home.onair().args(args).env("ONAIR_KEYCHAIN", "off").stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    (child, rx)
}

fn expect_line(rx: &mpsc::Receiver<String>, pat: &str, seen: &mut Vec<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(l) => {
                seen.push(l.clone());
                if l.contains(pat) {
                    return;
                }
            }
            Err(_) => panic!("no line with {pat:?}; got:\n{}", seen.join("\n")),
        }
    }
}

/// `ONAIR_KEYCHAIN=off` keeps the master key in the 0600 secrets file (the
/// product's policy where no keychain answers), which this test then
/// changes and removes.
fn keyless(home: &Home, args: &[&str]) -> std::process::Output {
    home.onair().args(args).env("ONAIR_KEYCHAIN", "off").output().unwrap()
}

#[test]
fn an_encrypted_recording_killed_mid_way_is_recovered_and_a_wrong_key_is_a_clear_error() {
    let home = Home::new();
    let out = home.path().join("crash.mp4");
    let (mut child, rx) = spawn(&home, &["record", "--encrypt", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "test", "--preset", "480p30"]);
    let mut seen = Vec::new();
    expect_line(&rx, "recording to", &mut seen);
    std::thread::sleep(Duration::from_secs(1));
    writeln!(child.stdin.as_mut().unwrap(), "b before crash").unwrap();
    expect_line(&rx, "bookmark at", &mut seen);
    let part = home.path().join("crash.mp4.part");
    wait_until(Duration::from_secs(30), "encrypted chunks on disk", || std::fs::metadata(&part).map(|m| m.len() > 300_000).unwrap_or(false));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_opaque(&part);

    let rec = keyless(&home, &["recordings", "recover"]);
    assert!(rec.status.success() && text(&rec.stdout).contains("recovered recording"), "{}{}", text(&rec.stdout), text(&rec.stderr));
    assert!(!part.exists());
    assert_opaque(&out);
    let plain = home.path().join("plain.mp4");
    let o = keyless(&home, &["recordings", "export", "1", "--out", plain.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let p = ffprobe(&plain);
    assert!(stream(&p, "video").is_some() && stream(&p, "audio").is_some(), "{p}");
    assert_eq!(chapter_titles(&p), vec!["Start", "before crash"]);
    assert!(duration_s(&p) >= 1.5, "{p}");
    assert_eq!(decode_errors(&plain), "", "the sample the crash cut is dropped");

    // A file altered on disk is refused, not played or exported as garbage.
    let good = std::fs::read(&out).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    std::fs::write(&out, &bad).unwrap();
    let altered = home.path().join("altered.mp4");
    assert_clean_failure(&keyless(&home, &["recordings", "export", "1", "--out", altered.to_str().unwrap()]), "altered");
    assert!(!altered.exists());
    std::fs::write(&out, &good).unwrap();

    // Another computer's key (a different master key under the same name).
    let secrets = home.path().join("secrets.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&secrets).unwrap()).unwrap();
    let mine = v["recording-master-key"].as_str().expect("the master key is in the 0600 file").to_string();
    assert_eq!(mine.len(), 64);
    v["recording-master-key"] = serde_json::Value::String("ab".repeat(32));
    std::fs::write(&secrets, serde_json::to_vec(&v).unwrap()).unwrap();
    let other = home.path().join("other.mp4");
    assert_clean_failure(&keyless(&home, &["recordings", "export", "1", "--out", other.to_str().unwrap()]), NO_KEY);
    // No key at all.
    v.as_object_mut().unwrap().remove("recording-master-key");
    std::fs::write(&secrets, serde_json::to_vec(&v).unwrap()).unwrap();
    assert_clean_failure(&keyless(&home, &["recordings", "export", "1", "--out", other.to_str().unwrap()]), NO_KEY);
    assert!(!other.exists());
}

#[test]
fn a_plain_recording_exports_as_a_copy() {
    let home = Home::new();
    let out = home.path().join("plain-rec.mp4");
    let o = keyless(&home, &["record", "--out", out.to_str().unwrap(), "--video", "test", "--audio", "test", "--preset", "480p30", "--duration", "2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let copy = home.path().join("copy.mp4");
    let o = keyless(&home, &["recordings", "export", "1", "--out", copy.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&out).unwrap());
    assert!(!home.path().join("secrets.json").exists(), "no key is made for a plain recording");
}
