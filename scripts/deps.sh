#!/usr/bin/env bash
# Installs what OnAir needs on Debian/Ubuntu. Safe to run twice.
#   scripts/deps.sh build   — toolchain and libraries to build the CLI
#   scripts/deps.sh test    — plus the real components the tests use
set -euo pipefail

BUILD_PKGS=(
  build-essential pkg-config clang libclang-dev libssl-dev
  libavcodec-dev libavformat-dev libavutil-dev libavdevice-dev libavfilter-dev
  libswscale-dev libswresample-dev libasound2-dev libv4l-dev libudev-dev
)
TEST_PKGS=(
  ffmpeg nginx libnginx-mod-rtmp libnginx-mod-stream openssl xvfb x11-utils mediainfo procps
  # Calls (issue 5): a real TURN server, and a real browser for the /call page.
  coturn chromium chromium-driver
  # The OS keychain test: a private D-Bus session with GNOME Keyring.
  dbus-daemon gnome-keyring
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

if ! command -v cargo >/dev/null; then
  echo "error: cargo is not installed; install Rust from https://rustup.rs and run this again" >&2
  exit 1
fi
