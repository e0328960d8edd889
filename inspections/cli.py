"""Commands of the inspections package, added to the `attendance` command by its ``register`` hook."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import click

from attendance.cli import TranslatedCommand, TranslatedGroup, reports_errors
from attendance.errors import InvalidInput
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


def _operator() -> Any:
    """The account the command line acts as: whoever runs it on the server administers the service."""
    from attendance.accounts import Account, Role

    return Account(0, "cli", "", Role.ADMIN, ())


def _day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("{option}: expected YYYY-MM-DD, got {value!r}", option=option, value=value[:20])) from None


@click.group("discipline", cls=TranslatedGroup)
def discipline() -> None:
    """The register of discipline decisions: record one, list them."""


@discipline.command("add", cls=TranslatedCommand)
@click.option("--staff", required=True, help="The person's staff code.")
@click.option("--number", required=True, help="The decision's number, e.g. 15/QĐ-UBND.")
@click.option("--date", "day", required=True, help="The decision's date, YYYY-MM-DD.")
@click.option("--form", required=True, help="reprimand, warning, salary_grade_delay, demotion, dismissal_from_post "
                                            "or forced_resignation.")
@click.option("--issued-by", required=True, help="Who issued it, e.g. UBND xã Tân Kỳ.")
@click.option("--reason", default="", help="Why, in a few words.")
@click.option("--spot-check", help="The UUID of the spot check it followed.")
@reports_errors
def discipline_add(staff: str, number: str, day: str, form: str, issued_by: str, reason: str,
                   spot_check: str | None) -> None:
    """Record a discipline decision (entering the same one again changes nothing)."""
    from attendance.db import transaction

    from .discipline import record_decision

    fields = {"staff": staff, "number": number, "date": day, "form": form, "issued_by": issued_by,
              "reason": reason, "spot_check": spot_check}
    with transaction() as session:
        row, created = record_decision(session, _operator(), fields, "cli")
    if created:
        click.echo(_("recorded decision {number} of {staff} (id {id})", number=row.number, staff=row.staff_code,
                     id=row.id), err=True)
    else:
        click.echo(_("decision {number} of {staff} is already recorded (id {id}): nothing changed",
                     number=row.number, staff=row.staff_code, id=row.id), err=True)


@discipline.command("list", cls=TranslatedCommand)
@click.option("--from", "first", help="First day, YYYY-MM-DD (default: the oldest).")
@click.option("--to", "last", help="Last day, YYYY-MM-DD (default: the newest).")
@click.option("--unit", "unit_code", help="A unit and every unit under it (default: all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on standard output.")
@reports_errors
def discipline_list(first: str | None, last: str | None, unit_code: str | None, as_json: bool) -> None:
    """The decisions recorded, by date; annulled ones are marked."""
    from attendance.db import transaction

    from .discipline import decisions

    with transaction() as session:
        rows = decisions(session, _operator(), _day(first, "--from"), _day(last, "--to"), unit_code)
    if as_json:
        click.echo(json.dumps([r.document() for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        state = _(" [annulled: {reason}]", reason=r.annul_reason) if r.annulled else ""
        click.echo(f"{r.id}\t{r.decided_on:%d/%m/%Y}\t{r.number}\t{r.staff_code}\t{r.name}\t{r.form_label}\t"
                   f"{r.issued_by}{state}")


@click.command("publication", cls=TranslatedCommand)
@click.option("--half", required=True, help="YYYY-H1 (January to June) or YYYY-H2 (July to December).")
@click.option("--unit", "unit_code", help="A unit and every unit under it (default: all).")
@click.option("--format", "fmt", required=True, type=click.Choice(["docx", "xlsx"]))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The file to write.")
@reports_errors
def publication(half: str, unit_code: str | None, fmt: str, output: str) -> None:
    """The half-yearly list of people with discipline decisions: Word (Decree 30 layout) or Excel."""
    from pathlib import Path

    from attendance.db import transaction

    from .report.publication import publication_file

    with transaction() as session:
        content, _name = publication_file(session, _operator(), half, unit_code, fmt, report_config())
    Path(output).write_bytes(content)
    click.echo(_("wrote {file}", file=output), err=True)


def register(group: click.Group) -> None:
    """Add this package's commands to the `attendance` group."""
    group.add_command(report)
    group.add_command(discipline)
    group.add_command(publication)
