#!/usr/bin/env bash
# Installs what OnAir needs on Debian/Ubuntu. Safe to run twice.
#   scripts/deps.sh build   — toolchain and libraries to build the CLI
#   scripts/deps.sh test    — plus the real components the tests use
set -euo pipefail

BUILD_PKGS=(
  build-essential pkg-config clang libclang-dev libssl-dev
  libavcodec-dev libavformat-dev libavutil-dev libavdevice-dev libavfilter-dev
  libswscale-dev libswresample-dev libasound2-dev libv4l-dev libudev-dev
  # Wayland screen capture (the default `wayland` feature): PipeWire's headers for bindgen.
  libpipewire-0.3-dev
  # The desktop app (Tauri 2 on WebKitGTK), its tray icon and global hotkeys.
  libwebkit2gtk-4.1-dev libsoup-3.0-dev librsvg2-dev libxdo-dev libayatana-appindicator3-dev
  # Playback of recordings and WebCodecs/MSE H.264 in the webview.
  gstreamer1.0-libav gstreamer1.0-plugins-good
)
TEST_PKGS=(
  ffmpeg nginx libnginx-mod-rtmp libnginx-mod-stream openssl curl xvfb x11-utils mediainfo procps
  # Calls: a private PulseAudio with a null sink is the speaker a test listens to.
  pulseaudio pulseaudio-utils libasound2-plugins
  # Audio processing tests: speech (espeak-ng), rooms, noise and resampling (sox).
  espeak-ng sox
  # The app's desktop notifications go to a real notification server (dunst) on a private bus
  # (dbus-send reads its tray icon there).
  dunst
  # Calls (issue 5): a real TURN server, and a real browser for the /call page.
  coturn chromium chromium-driver
  # The OS keychain test: a private D-Bus session with GNOME Keyring.
  dbus-daemon gnome-keyring
  # The app's end-to-end tests drive WebKitWebDriver; screenshots via imagemagick;
  # xdotool presses the global hotkeys as a user would.
  webkit2gtk-driver imagemagick xdotool
  # Several relay nodes (issue 14): the store on PostgreSQL 15 (tests run initdb/pg_ctl as the
  # `postgres` user in a temp folder; the cluster the package starts is not used) and the bus on Redis.
  postgresql redis-server
  # Wayland screen capture (tests/wayland.rs): a headless sway (wlroots) with its background
  # client, xdg-desktop-portal + its wlr backend, PipeWire and WirePlumber on a private bus.
  sway swaybg xdg-desktop-portal xdg-desktop-portal-wlr pipewire wireplumber
)

want=("${BUILD_PKGS[@]}")
[ "${1:-build}" = test ] && want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  # dpkg sometimes cannot read archives unpacked under /tmp here.
  $SUDO env TMPDIR=/var/tmp DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The UI (TypeScript + Vite 7) needs Node 20.19+ and npm.
if ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing: nodejs npm" >&2
  $SUDO apt-get update -qq
  $SUDO env TMPDIR=/var/tmp DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "warning: Node $(node --version) is older than 20.19, which Vite 7 needs: install a newer Node (e.g. from nodesource)" >&2
fi

if ! command -v cargo >/dev/null; then
  echo "error: cargo is not installed; install Rust from https://rustup.rs and run this again" >&2
  exit 1
fi
