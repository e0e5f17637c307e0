#!/bin/sh
# Install the Debian packages the test suite needs beyond Python:
#   chromium        headless browser for the export and web UI tests (driven by Playwright)
#   fonts-noto-cjk  so Chinese UI screenshots show characters, not empty boxes
# Idempotent: installs only what is missing. Installs only as root with apt-get; otherwise it
# prints what to install and exits 0, and the browser tests skip with that reason.
set -eu

PACKAGES="chromium fonts-noto-cjk"

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
    apt-get update
    # shellcheck disable=SC2086
    apt-get install -y $missing
    exit 0
fi

cat <<MSG
install-system-deps: missing:$missing, and this script cannot install them here
(it installs only as root on a system with apt-get). To run the browser tests:
  Debian/Ubuntu:  sudo apt-get install$missing
  (without chromium those tests are skipped with this reason)
MSG
exit 0
