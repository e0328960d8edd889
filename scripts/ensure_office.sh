#!/usr/bin/env bash
# LibreOffice (headless Writer) and poppler for the report tests: the Word report is turned
# into PDF (`soffice --headless --convert-to pdf`) and its pages into PNG (`pdftoppm`), so a
# test (and a person) can see the layout, and `attendance report --format pdf` works.
#
# Installs libreoffice-writer-nogui, poppler-utils, DejaVu fonts (Vietnamese glyphs) and
# Liberation 2 fonts (Liberation Serif, with every Vietnamese letter since version 2, has the metrics of Times New Roman, which the report
# asks for, so pages break where they would in Word) when soffice or pdftoppm is missing.
# As root it uses apt-get, else passwordless sudo; without either it only says that the
# conversion tests will skip (they fail instead when CI=true).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
fonts_ok() { ! have fc-list || fc-list | grep -q "liberation2/LiberationSerif-Regular.ttf"; }
have soffice && have pdftoppm && fonts_ok && exit 0

sudo=""
if [ "$(id -u)" != 0 ]; then
    if have sudo && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "note: LibreOffice or poppler is missing and we are not root: the PDF conversion tests" \
             "will be skipped (install them with: apt-get install libreoffice-writer-nogui" \
             "poppler-utils fonts-dejavu-core fonts-liberation2)" >&2
        exit 0
    fi
fi
if ! have apt-get; then
    echo "note: LibreOffice is missing and this is not a Debian system: the PDF conversion tests" \
         "will be skipped" >&2
    exit 0
fi
echo "Installing LibreOffice Writer (headless), poppler and fonts for the report tests" >&2
# Lock timeout: on a freshly booted CI VM unattended-upgrades may hold the apt lock.
$sudo apt-get -o DPkg::Lock::Timeout=600 update >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
    install -y --no-install-recommends libreoffice-writer-nogui poppler-utils \
    fonts-dejavu-core fonts-liberation2 >&2
