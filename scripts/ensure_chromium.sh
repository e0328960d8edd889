#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser): Playwright, from pip, drives it;
# nothing ever downloads a browser of its own (`playwright install` is never run).
#
# Installs the `chromium` package (and DejaVu fonts, which cover Vietnamese, so screenshots
# look the same everywhere) when ATTENDANCE_CHROMIUM (default /usr/bin/chromium) is missing.
# As root it uses apt-get, else passwordless sudo; without either it only says that the
# browser tests will skip (they fail instead when CI=true).
set -euo pipefail

chromium=${ATTENDANCE_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] && exit 0

sudo=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "note: $chromium is missing and we are not root: the browser tests will be skipped" \
             "(install it with: apt-get install chromium fonts-dejavu-core)" >&2
        exit 0
    fi
fi
if ! command -v apt-get >/dev/null; then
    echo "note: $chromium is missing and this is not a Debian system: the browser tests will be skipped" >&2
    exit 0
fi
echo "Installing Debian's chromium for the browser tests" >&2
# Lock timeout: on a freshly booted CI VM unattended-upgrades may hold the apt lock.
$sudo apt-get -o DPkg::Lock::Timeout=600 update >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
    install -y --no-install-recommends chromium fonts-dejavu-core >&2
