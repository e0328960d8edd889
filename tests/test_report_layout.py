"""The Word report's page layout as LibreOffice renders it: the signature block is never alone on a page."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from attendance.db import transaction
from attendance.demo import load_demo
from inspections.report import CONVERT_TIMEOUT, soffice_path, write_report
from inspections.report.data import gather_report
from inspections.report.settings import report_settings

MONTH = "2026-10"
UNIT = "17830"
SECTION_V = "V. PHƯƠNG HƯỚNG"
CLOSING = "Trên đây là báo cáo"
SIGNATURE = "Nơi nhận:"


def _office() -> str:
    soffice = soffice_path()
    if soffice is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have LibreOffice and poppler (scripts/ensure_office.sh)")
        pytest.skip("LibreOffice or pdftotext missing: run scripts/ensure_office.sh")
    return soffice


def _with_filler(source: Path, target: Path, lines: int) -> None:
    """The report's body with ``lines`` one-line paragraphs before section III (moving its end down
    the page), without the landscape appendices (to render quickly)."""
    doc = Document(str(source))
    anchor = next(p for p in doc.paragraphs if p.text == "III. ĐÁNH GIÁ")
    for i in range(lines):
        anchor.insert_paragraph_before(f"Dòng đệm {i + 1}.")
    body = doc.element.body
    signature = next(t for t in doc.tables if SIGNATURE in t.rows[0].cells[0].text)._tbl
    after = list(body)[list(body).index(signature) + 1:]
    # The portrait section ends at the first paragraph carrying a section break: it becomes the last.
    portrait = next(e.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") for e in after
                    if e.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None)
    for element in after:
        body.remove(element)
    body.append(portrait)
    doc.save(str(target))


def test_signature_block_keeps_the_end_of_the_body_on_its_page(sqlite_url: str, tmp_path: Path) -> None:
    soffice = _office()
    load_demo(MONTH)
    with transaction() as session:
        data = gather_report(session, MONTH, UNIT, report_settings(session))
    base = tmp_path / "base.docx"
    write_report(data, "docx", base)

    # In the document: section V and the closing sentence keep with the next paragraph, down to
    # the signature table, whose row may not break.
    doc = Document(str(base))
    texts = [p.text for p in doc.paragraphs]
    tail = doc.paragraphs[texts.index(SECTION_V):next(i for i, t in enumerate(texts) if t.startswith(CLOSING)) + 1]
    assert len(tail) >= 4 and all(p.paragraph_format.keep_with_next for p in tail)
    signature = next(t for t in doc.tables if SIGNATURE in t.rows[0].cells[0].text)
    assert signature.rows[0]._tr.trPr.find(qn("w:cantSplit")) is not None

    # As rendered: push the end of the body down three lines at a time over a page; in every
    # variant section V, the closing sentence and the signature share a page.
    variants = []
    for lines in range(0, 40, 3):
        variant = tmp_path / f"filler-{lines:02d}.docx"
        _with_filler(base, variant, lines)
        variants.append(variant)
    out = tmp_path / "pdf"
    out.mkdir()
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(out), *map(str, variants)],
                   capture_output=True, check=True, timeout=CONVERT_TIMEOUT + 10 * len(variants))
    signature_pages = set()
    for variant in variants:
        pdf = out / (variant.stem + ".pdf")
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                              timeout=60).stdout
        pages = text.split("\f")
        page = next(i for i, p in enumerate(pages) if SIGNATURE in p)
        assert SECTION_V in pages[page] and CLOSING in pages[page], (variant.name, pages[page][:400])
        signature_pages.add(page)
    # The variants did carry the end over a page break (else the check above proved nothing).
    assert len(signature_pages) >= 2
