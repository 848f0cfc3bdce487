#!/bin/sh
# Makes sure Debian's Chromium is installed at /usr/bin/chromium, for the browser tests
# (test/browser/, driven by playwright-core with executablePath /usr/bin/chromium).
# Idempotent: exits 0 at once when it is already there. Otherwise installs the `chromium`
# package with apt-get (as root, or through sudo when available), refreshing the package
# lists first when apt has none or the first attempt fails. Override the path with CHROMIUM_PATH.
set -eu

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "ensure-chromium: $CHROMIUM is missing; run as root (or with passwordless sudo): apt-get install -y chromium" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT="$SUDO apt-get -o DPkg::Lock::Timeout=300"

install_chromium() {
  $APT install -y --no-install-recommends chromium
}

# No package lists yet (a fresh container): update before the first attempt.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
  echo "ensure-chromium: apt-get update" >&2
  $APT update
fi

echo "ensure-chromium: apt-get install chromium" >&2
if ! install_chromium; then
  echo "ensure-chromium: install failed, refreshing the package lists and retrying" >&2
  $APT update
  install_chromium
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: installed the chromium package but $CHROMIUM is still missing" >&2
  exit 1
fi
"$CHROMIUM" --version >&2 || true
