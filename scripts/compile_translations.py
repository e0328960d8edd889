"""Compile the gettext catalogues (messages.po -> messages.mo); run after editing a .po file.

    .venv/bin/python scripts/compile_translations.py           # write the .mo files
    .venv/bin/python scripts/compile_translations.py --check   # exit 1 if one is out of date

Needs Babel (a test dependency); the service itself reads the .mo files with the standard
library's gettext.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = ROOT / "attendance" / "translations"


def compiled(po_path: Path) -> bytes:
    """The .mo bytes of one .po file (fuzzy entries left out, as gettext would)."""
    with po_path.open("rb") as handle:
        catalogue = read_po(handle)
    out = io.BytesIO()
    write_mo(out, catalogue, use_fuzzy=False)
    return out.getvalue()


def main(check: bool) -> int:
    """Compile every catalogue; with ``check``, only report those whose .mo is stale."""
    stale = []
    for po_path in sorted(CATALOGUES.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        data = compiled(po_path)
        if mo_path.exists() and mo_path.read_bytes() == data:
            continue
        stale.append(mo_path)
        if not check:
            mo_path.write_bytes(data)
            print(f"wrote {mo_path.relative_to(ROOT)}")
    if check and stale:
        print("out of date: " + ", ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
