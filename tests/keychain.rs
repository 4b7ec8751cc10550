//! The relay token goes to the OS keychain where one answers: a real
//! Secret Service (GNOME Keyring on its own D-Bus session bus) here, and a
//! 0600 file where none does.

mod chat_support;
use chat_support::*;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Runs `script` inside a private D-Bus session with an unlocked GNOME
/// Keyring whose files live in `keyring_home`.
fn in_keyring_session(keyring_home: &std::path::Path, onair_home: &std::path::Path, relay: &str, script: &str) -> std::process::Output {
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
        .env("ONAIR_PASSWORD", PASSWORD)
        .env("ONAIR_KEYCHAIN", "require")
        .env("BIN", BIN)
        .env("RELAY", relay)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("RUST_LOG")
        .output()
        .expect("run dbus-run-session")
}

#[test]
fn token_lives_in_the_keychain_not_in_files() {
    assert!(
        have("dbus-run-session") && have("gnome-keyring-daemon"),
        "this test needs dbus-run-session and gnome-keyring-daemon (scripts/deps.sh test installs them)"
    );
    let relay = Relay::start();
    let keyring_home = tempfile::tempdir().unwrap();
    let onair_home = tempfile::tempdir().unwrap();

    let o = in_keyring_session(
        keyring_home.path(),
        onair_home.path(),
        &relay.url(),
        r#""$BIN" account register --relay "$RELAY" --user kate
"$BIN" chat sync --timeout 30
"$BIN" account whoami"#,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "in a keyring session: {stderr}\n{stdout}");
    assert!(stderr.contains("token kept in the OS keychain"), "{stderr}");
    assert!(stdout.contains("kate on"), "{stdout}");

    // Neither file holds the token.
    let creds = std::fs::read_to_string(onair_home.path().join("credentials.json")).unwrap();
    let creds: serde_json::Value = serde_json::from_str(&creds).unwrap();
    assert_eq!(creds["user"], "kate");
    assert!(creds.get("token").is_none(), "credentials.json must not hold the token: {creds}");
    assert!(!onair_home.path().join("secrets.json").exists());

    // Outside the keyring session the token is nowhere to be found, and
    // `require` says so plainly instead of falling back.
    let o = Command::new(BIN)
        .args(["chat", "sync", "--timeout", "5"])
        .env("ONAIR_HOME", onair_home.path())
        .env("ONAIR_KEYCHAIN", "require")
        .env("HOME", keyring_home.path())
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}/no-bus", keyring_home.path().display()))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("keychain"), "{err}");

    // Signing out removes it from the keychain too: a new session finds nothing.
    let o = in_keyring_session(
        keyring_home.path(),
        onair_home.path(),
        &relay.url(),
        r#""$BIN" account logout
test ! -e "$ONAIR_HOME/credentials.json""#,
    );
    assert!(o.status.success(), "logout: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn without_a_keychain_the_token_goes_to_a_private_file() {
    let relay = Relay::start();
    let home = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["account", "register", "--relay", &relay.url(), "--user", "fred"])
        .env("ONAIR_HOME", home.path())
        .env("ONAIR_PASSWORD", PASSWORD)
        .env("ONAIR_KEYCHAIN", "auto")
        // No session bus here: the Secret Service cannot answer.
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}/no-bus", home.path().display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("token kept in a file only you can read"));
    let secrets = home.path().join("secrets.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&secrets).unwrap()).unwrap();
    assert!(v["relay-token"].as_str().is_some_and(|t| !t.is_empty()));
    let o = Command::new(BIN)
        .args(["chat", "sync", "--timeout", "30"])
        .env("ONAIR_HOME", home.path())
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}/no-bus", home.path().display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
