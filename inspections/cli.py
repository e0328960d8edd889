"""Commands of the inspections package, added to the `attendance` command by its ``register`` hook."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from attendance.cli import TranslatedCommand, reports_errors
from attendance.i18n import _


def report_config() -> dict[str, Any]:
    """The REPORT_* settings of the instance config file and of ATTENDANCE_REPORT_* variables."""
    from attendance.config import config_file_path, read_config_file

    path = config_file_path()
    values = {k: v for k, v in read_config_file(path).items() if k.startswith("REPORT_")} if path.is_file() else {}
    for name, text in os.environ.items():
        if name.startswith("ATTENDANCE_REPORT_"):
            try:  # as create_app reads ATTENDANCE_* variables: JSON when it parses, else text
                values[name.removeprefix("ATTENDANCE_")] = json.loads(text)
            except ValueError:
                values[name.removeprefix("ATTENDANCE_")] = text
    return values


@click.command("report", cls=TranslatedCommand)
@click.option("--month", required=True, help="YYYY-MM (with REPORT_MONTH_START_DAY 15: the 15th of the month before to the 14th).")
@click.option("--unit", "unit_code", help="A commune, or a district or province: every unit under it (default: all).")
@click.option("--format", "fmt", required=True, type=click.Choice(["docx", "xlsx", "pdf"]))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The file to write.")
@click.option("--quiet", is_flag=True, help="No progress lines on standard error.")
@reports_errors
def report(month: str, unit_code: str | None, fmt: str, output: str, quiet: bool) -> None:
    """The inspection team's monthly report: Word (Decree 30 layout), Excel or PDF."""
    from attendance.db import transaction

    from .report import build_report

    def progress(step: int, total: int, label: str) -> None:
        if not quiet:
            click.echo(f"[{step}/{total}] {label}", err=True)

    with transaction() as session:
        data = build_report(session, month, unit_code, fmt, output, report_config(), progress)
    click.echo(_("wrote {file}: {people} people, {alerts} over an alert threshold", file=output,
                 people=len(data.people), alerts=len({a.person.staff_code for a in data.alerts})), err=True)


def register(group: click.Group) -> None:
    """Add this package's commands to the `attendance` group."""
    group.add_command(report)
