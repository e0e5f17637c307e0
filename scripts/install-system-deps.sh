#!/bin/sh
# Install the Debian packages the test suite needs beyond Python:
#   chromium        headless browser for the export and web UI tests (driven by Playwright)
#   fonts-noto-cjk  so Chinese UI screenshots show characters, not empty boxes
#   syncthing       two real instances (on 127.0.0.1 only) carry the folder in the sync tests
#   xvfb, xdotool   a virtual display and a "user" for the real Tk folder dialog test
# Idempotent: installs only what is missing. Installs only as root with apt-get; otherwise it
# prints what to install and exits 0, and the browser tests skip with that reason.
# If another install holds the package manager's lock (say, unattended upgrades on a fresh
# machine), apt-get waits for it, up to APT_LOCK_TIMEOUT seconds (default 300), then fails.
set -eu

PACKAGES="chromium fonts-noto-cjk syncthing xvfb xdotool"

# `apt-get update` does not honour DPkg::Lock::Timeout for the lists' lock (apt 2.6): retry it
# while the only failure is that lock, until the deadline.
apt_update() {
    deadline=$(($(date +%s) + $1))
    while :; do
        if out=$(apt-get -o DPkg::Lock::Timeout="$1" update 2>&1); then
            printf '%s\n' "$out"
            return 0
        fi
        case "$out" in
            *"Could not get lock"*) ;;
            *) printf '%s\n' "$out"; return 1 ;;
        esac
        if [ "$(date +%s)" -ge "$deadline" ]; then
            printf '%s\n' "$out"
            echo "install-system-deps: the package lists stayed locked for $1s; giving up" >&2
            return 1
        fi
        echo "install-system-deps: another install holds the package lists' lock; waiting..."
        sleep 5
    done
}

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install-system-deps: present: $PACKAGES ($(/usr/bin/chromium --version 2>/dev/null || echo 'chromium version unknown'))"
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: installing$missing with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    wait_lock="${APT_LOCK_TIMEOUT:-300}"
    echo "install-system-deps: if another install holds the package lock, waiting up to ${wait_lock}s for it"
    apt_update "$wait_lock"
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout="$wait_lock" install -y $missing
    exit 0
fi

cat <<MSG
install-system-deps: missing:$missing, and this script cannot install them here
(it installs only as root on a system with apt-get). To run the browser and Syncthing tests:
  Debian/Ubuntu:  sudo apt-get install$missing
  (without chromium, syncthing, xvfb or xdotool those tests are skipped with this reason)
MSG
exit 0
