"""The monthly report of the inspection team: gather (``data``), then write docx, xlsx or PDF.

``build_report`` is the one use case the command line and the pages call: it reads through
``attendance.api`` with the caller's Session and writes the file; the writers are plain
functions of the gathered data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from attendance.accounts import (
    Account,
    Permission,
    require_permission,
    require_unit,
    scope_unit_codes,
)
from attendance.errors import DomainError, InvalidInput
from attendance.i18n import _

from .data import Progress, ReportData, gather_report
from .settings import report_settings

FORMATS = ("docx", "xlsx", "pdf")
MEDIA_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "pdf": "application/pdf"}
CONVERT_TIMEOUT = 180  # seconds: LibreOffice's first start builds its profile


class ConverterMissing(DomainError):
    """No PDF renderer (LibreOffice) here, or it failed: PDFs cannot be made now (docx and xlsx can)."""

    http_status = 503  # the request is fine; the server lacks a part (the page and the API say which)
    code = "converter_missing"


def soffice_path() -> str | None:
    """LibreOffice's command, if installed (ATTENDANCE_SOFFICE names another one; None if it is missing)."""
    named = os.environ.get("ATTENDANCE_SOFFICE")
    if named:
        return shutil.which(named)  # a name on the PATH or a path, and only if it can be run
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx: Path, out_dir: Path) -> Path:
    """Convert a .docx into a PDF beside it in ``out_dir`` with LibreOffice headless; return the PDF."""
    soffice = soffice_path()
    if soffice is None:
        named = os.environ.get("ATTENDANCE_SOFFICE")
        if named:
            raise ConverterMissing(_("PDF needs LibreOffice: ATTENDANCE_SOFFICE names {program}, which is not "
                                     "a program that can be run here; ask for docx", program=named[:200]))
        raise ConverterMissing(_("PDF needs LibreOffice (soffice), which is not installed: "
                                 "run scripts/ensure_office.sh, or ask for docx"))
    # A profile of its own: a LibreOffice the user has open would otherwise take the job and exit 0.
    with tempfile.TemporaryDirectory(prefix="attendance-lo-") as profile:
        try:
            result = subprocess.run(
                [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                 "--convert-to", "pdf", "--outdir", str(out_dir), str(docx)],
                capture_output=True, text=True, timeout=CONVERT_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise ConverterMissing(_("LibreOffice took more than {n} s to convert {file}; ask for docx",
                                     n=CONVERT_TIMEOUT, file=docx.name)) from None
        except OSError as exc:  # vanished or not executable between the check and the start
            raise ConverterMissing(_("LibreOffice could not convert {file}: {problem}", file=docx.name,
                                     problem=exc.strerror or exc)) from None
    pdf = out_dir / (docx.stem + ".pdf")
    if result.returncode != 0 or not pdf.is_file():
        problem = (result.stderr or result.stdout or "").strip().splitlines()
        raise ConverterMissing(_("LibreOffice could not convert {file}: {problem}", file=docx.name,
                                 problem=problem[-1] if problem else result.returncode))
    return pdf


def write_report(data: ReportData, fmt: str, output: str | Path) -> Path:
    """Write the gathered report as docx, xlsx or pdf to ``output``; return the path."""
    from .charts import report_charts

    if fmt not in FORMATS:
        raise InvalidInput(_("--format: expected one of {formats}, got {value!r}", formats=", ".join(FORMATS),
                             value=fmt))
    output = Path(output)
    charts = report_charts(data)
    if fmt == "xlsx":
        from .xlsx_writer import write_xlsx

        write_xlsx(data, charts, output)
        return output
    from .docx_writer import write_docx

    if fmt == "docx":
        write_docx(data, charts, output)
        return output
    with tempfile.TemporaryDirectory(prefix="attendance-report-") as work:
        docx = Path(work) / (output.stem + ".docx")
        write_docx(data, charts, docx)
        pdf = docx_to_pdf(docx, Path(work))
        shutil.move(str(pdf), output)
    return output


def build_report(session: Session, month: str, unit_code: str | None, fmt: str, output: str | Path,
                 config: Mapping[str, Any] | None = None, progress: Progress | None = None) -> ReportData:
    """Gather the report of ``month`` for the unit (None: every unit) and write it; return the data."""
    if fmt not in FORMATS:
        raise InvalidInput(_("--format: expected one of {formats}, got {value!r}", formats=", ".join(FORMATS),
                             value=fmt))
    data = gather_report(session, month, unit_code, report_settings(session, config), progress)
    write_report(data, fmt, output)
    return data


def report_unit(session: Session, account: Account, unit_code: str | None) -> str | None:
    """The unit an account's report covers (None: every unit, for an unlimited account).

    Outside the scope is NotFound (as for a unit that does not exist), then a role without
    ``build_reports`` is Forbidden. Without a unit, an account limited to one unit reports on
    it; one limited to several must name one (InvalidInput naming ``unit``).
    """
    if unit_code is not None:
        require_unit(session, account, unit_code)
    require_permission(account, Permission.BUILD_REPORTS)
    if unit_code is None and scope_unit_codes(session, account) is not None:
        if len(account.unit_codes) != 1:
            raise InvalidInput(_("unit: required, your account covers several units"))
        return account.unit_codes[0]
    return unit_code


def report_for(session: Session, account: Account, month: str, unit_code: str | None,
               config: Mapping[str, Any] | None = None) -> ReportData:
    """The gathered report of ``month`` for a unit the account may report on (see ``report_unit``)."""
    unit_code = report_unit(session, account, unit_code)
    return gather_report(session, month, unit_code, report_settings(session, config))


def report_file(session: Session, account: Account, month: str, unit_code: str | None, fmt: str,
                config: Mapping[str, Any] | None = None) -> tuple[bytes, str]:
    """The report as a file for an account: its bytes and a file name (``bao-cao-2026-10-17830.docx``)."""
    if fmt not in FORMATS:
        raise InvalidInput(_("format: expected one of {formats}, got {value!r}", formats=", ".join(FORMATS),
                             value=fmt[:20]))
    data = report_for(session, account, month, unit_code, config)
    with tempfile.TemporaryDirectory(prefix="attendance-report-") as work:
        path = write_report(data, fmt, Path(work) / f"report.{fmt}")
        content = path.read_bytes()
    return content, report_file_name(data, fmt)


def report_file_name(data: ReportData, fmt: str) -> str:
    """A download name of plain ASCII: the month and the unit code."""
    unit = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in data.unit_code or "tat-ca")
    return f"bao-cao-{data.period.month}-{unit}.{fmt}"
