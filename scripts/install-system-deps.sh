#!/bin/sh
# Install the system packages the test suite needs beyond Python: Debian's `chromium`, used
# headless by the HTML export test (tests/test_export_browser.py) through Playwright.
# Idempotent: does nothing when /usr/bin/chromium exists. Installs only as root with apt-get;
# otherwise it prints what to install and exits 0, and the browser test skips with that reason.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "install-system-deps: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: installing chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y chromium
    if [ -x "$CHROMIUM" ]; then
        echo "install-system-deps: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
        exit 0
    fi
    echo "install-system-deps: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi

cat <<MSG
install-system-deps: $CHROMIUM is missing and this script cannot install it here
(it installs only as root on a system with apt-get). To run the headless-browser export test:
  Debian/Ubuntu:  sudo apt-get install chromium
  (the test looks for $CHROMIUM; without it, that one test is skipped with this reason)
MSG
exit 0
