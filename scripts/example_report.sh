#!/usr/bin/env bash
# Rebuild docs/examples/: the monthly report of the demo district (`attendance demo`, October
# 2026, commune 17830) as Word, Excel and PDF, and the PDF's pages as PNG for the docs.
# Needs LibreOffice and poppler (scripts/ensure_office.sh). Uses a throw-away database.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
attendance=${ATTENDANCE_BIN:-attendance}
out="$here/docs/examples"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export ATTENDANCE_DATABASE_URL="sqlite:///$work/demo.sqlite3"
export ATTENDANCE_CONFIG="$work/config.py"
export ATTENDANCE_INSTANCE="$work/instance"  # the demo accounts' password file goes there too
echo "SECRET_KEY = 'example'" > "$ATTENDANCE_CONFIG"
"$attendance" init >/dev/null
"$attendance" demo >/dev/null
mkdir -p "$out"
rm -f "$out"/bao-cao-thang-10-2026*
for format in docx xlsx pdf; do
    "$attendance" report --quiet --month 2026-10 --unit 17830 --format "$format" -o "$out/bao-cao-thang-10-2026.$format"
done
pdftoppm -png -r 60 "$out/bao-cao-thang-10-2026.pdf" "$out/bao-cao-thang-10-2026-trang"
ls "$out"
