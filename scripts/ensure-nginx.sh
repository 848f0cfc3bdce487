#!/bin/sh
# Makes sure Debian's nginx is installed at /usr/sbin/nginx, for the three-replicas test
# (test/deploy/), which runs it as an ordinary process with the repository's configuration
# (deploy/nginx/copilot-runtime.conf). Idempotent: exits 0 at once when it is already there.
# Otherwise installs the `nginx-light` package with apt-get (as root, or through sudo when
# available), without letting the package start its own service (policy-rc.d), refreshing the
# package lists first when apt has none or the first attempt fails. Override with NGINX_PATH.
set -eu

NGINX="${NGINX_PATH:-/usr/sbin/nginx}"
if [ -x "$NGINX" ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-nginx: $NGINX is missing and apt-get is not available; install nginx and set NGINX_PATH" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "ensure-nginx: $NGINX is missing; run as root (or with passwordless sudo): apt-get install -y nginx-light" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT="$SUDO apt-get -o DPkg::Lock::Timeout=300"

# The package would start nginx as a service on port 80: the test starts its own.
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  OWN_POLICY=1
fi
cleanup() {
  if [ -n "$OWN_POLICY" ]; then $SUDO rm -f "$POLICY"; fi
}
trap cleanup EXIT

install_nginx() {
  $APT install -y --no-install-recommends nginx-light
}

if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
  echo "ensure-nginx: apt-get update" >&2
  $APT update
fi

echo "ensure-nginx: apt-get install nginx-light" >&2
if ! install_nginx; then
  echo "ensure-nginx: install failed, refreshing the package lists and retrying" >&2
  $APT update
  install_nginx
fi

if [ ! -x "$NGINX" ]; then
  echo "ensure-nginx: installed nginx-light but $NGINX is still missing" >&2
  exit 1
fi
"$NGINX" -v >&2 || true
