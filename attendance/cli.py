"""The `attendance` command (docs/cli.md): thin wrappers around the use cases."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from .formats import FILE_FORMATS
from .i18n import LANGUAGE_ENV, LANGUAGES, _, current_language, set_language

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(click.ClickException):
    """A failure reported as one line on standard error."""

    def show(self, file: Any = None) -> None:  # one clear line, no usage text
        click.echo(f"error: {self.format_message()}", err=True)


BUSY_EXIT = 75  # EX_TEMPFAIL: the database was busy, running the command again may work


def error_line(exc: BaseException) -> tuple[str, int]:
    """The one line (and exit code) that reports ``exc``, or raise it again if it is a bug."""
    import sqlite3

    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from .errors import Busy, DomainError

    # Only a command that read a file can fail with the parsers' UnsupportedFile; the others
    # must not import the parsers (and pandas) just to word their error.
    parsers = sys.modules.get("devices.parsers")
    reported: tuple[type[BaseException], ...] = (DomainError,)
    refused: tuple[type[BaseException], ...] = ()
    if parsers is not None:
        refused = (parsers.UnsupportedFile, parsers.ProfileError)

    def first_line(text: str) -> str:
        return text.splitlines()[0] if text.strip() else type(exc).__name__

    locked = isinstance(exc, OperationalError | sqlite3.OperationalError) and "database is locked" in str(exc)
    if isinstance(exc, Busy) or locked:
        return _("database busy: another import, load or push holds the write lock; try again shortly"), BUSY_EXIT
    if isinstance(exc, reported):
        return first_line(str(exc)), 1
    if refused and isinstance(exc, refused):  # the parsers' English, worded in the reader's language
        from .rejections import file_error_text

        return first_line(file_error_text(exc)), 1
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or first_line(str(exc))}", 1
    if isinstance(exc, SQLAlchemyError):
        text = str(getattr(exc, "orig", None) or exc)
        missing = ("no such table", "no such column", "does not exist")
        hint = _(" (run 'attendance init' first?)") if any(m in text for m in missing) else ""
        return _("database: {problem}", problem=first_line(text)) + hint, 1
    if isinstance(exc, ValueError):  # bad values from libraries (dates, numbers)
        return first_line(str(exc)), 1
    raise exc


def reports_errors(func: F) -> F:
    """Turn domain, file and database errors into one ``error: ...`` line and a non-zero exit.

    Every command goes through here: DomainError (attendance.errors) and the parsers'
    UnsupportedFile give their message, OSError names the file, a locked database is
    ``Busy`` (exit 75), other database errors say so; anything else is a bug and shows.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            line, code = error_line(exc)
            error = CommandError(line)
            error.exit_code = code
            raise error from exc

    return wrapper  # type: ignore[return-value]


def _reject_text(reject: dict[str, Any]) -> str:
    # Imported here: the parsers' package (and pandas) load only for commands that read files.
    from .rejections import reject_line_text

    return reject_line_text(reject)


def _vn_time(value: Any) -> str:
    """'YYYY-MM-DD HH:MM[:SS]' (or a datetime) as people read it here: dd/mm/yyyy HH:MM."""
    if not value:
        return ""
    text = str(value)
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        return text
    return f"{text[8:10]}/{text[5:7]}/{text[0:4]}{text[10:16]}"


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _language_in(args: list[str]) -> str | None:
    """The language asked for on the command line (``--lang en`` or ``--lang=en``), if any."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def _choose_language(language: str | None) -> None:
    """Set the language of every human-facing line, click's own messages included."""
    import gettext
    import os

    from .i18n import TRANSLATIONS

    set_language(language if language in LANGUAGES else None)
    # click words its usage errors through the standard library's gettext (domain
    # "messages"): point that domain at our catalogue and the language at ours.
    gettext.bindtextdomain("messages", str(TRANSLATIONS))
    os.environ["LANGUAGE"] = current_language()


@contextlib.contextmanager
def _help_in_language(command: click.Command) -> Iterator[None]:
    """Word the help of ``command`` and of its options in the current language while it is shown.

    The help texts stay English in the code (docstrings, ``help=``) and are the catalogue's
    message ids: the language is known only once the command line is read, after click
    built the commands, so they are translated when help is formatted, not when declared.
    """
    holders = [obj for obj in (command, *command.params) if getattr(obj, "help", None)]
    english = [obj.help for obj in holders]  # type: ignore[attr-defined]
    for obj, text in zip(holders, english, strict=True):
        obj.help = _(inspect.cleandoc(text))  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for obj, text in zip(holders, english, strict=True):
            obj.help = text  # type: ignore[attr-defined]


class _TranslatedHelp(click.Command):
    """Help (``--help`` and the one-line summaries in a group's list) in the current language."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The help page, worded in the current language."""
        with _help_in_language(self):
            super().format_help(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The summary shown in a group's list of commands, in the current language."""
        with _help_in_language(self):
            return super().get_short_help_str(limit)


class TranslatedCommand(_TranslatedHelp):
    """A command whose help is shown in the current language."""


class TranslatedGroup(_TranslatedHelp, click.Group):
    """A group whose help, and that of its commands and subgroups, is shown in the current language."""

    command_class = TranslatedCommand
    group_class = type  # subgroups are of the same class


class AttendanceGroup(TranslatedGroup):
    """The top-level group: the language is chosen before parsing; every failure is one line."""

    group_class = TranslatedGroup

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Run the command line; usage errors too end as one ``error: ...`` line (exit 2)."""
        from .audit import current_origin

        argv = list(sys.argv[1:] if args is None else args)
        _choose_language(_language_in(argv))
        current_origin.set("cli")  # where the audit log says changes made by this command came from
        try:
            value = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            if not standalone_mode:
                raise
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            if not standalone_mode:
                raise
            click.echo("error: " + _("interrupted"), err=True)
            sys.exit(1)
        if standalone_mode:
            sys.exit(value if isinstance(value, int) else 0)
        return value


@click.group(cls=AttendanceGroup)
@click.version_option(package_name="attendance")
@click.option("--lang", type=click.Choice(LANGUAGES), envvar=LANGUAGE_ENV,
              help="Language of the text for people: vi (default) or en. JSON keys stay English.")
def main(lang: str | None) -> None:
    """Attendance and duty checks for commune and ward offices."""
    # --lang was applied by AttendanceGroup.main before parsing, so that click's own usage
    # errors are worded in it too; the option is declared here for parsing and --help.


@main.command()
@reports_errors
def init() -> None:
    """Create or migrate the database and give the web app a secret key (idempotent)."""
    from .config import ensure_secret_key
    from .db import database_url
    from .migrate import upgrade

    upgrade()
    click.echo(_("database ready: {url}", url=_safe_url(database_url())))
    report = _ensure_partitions(None)
    if report.partitioned:
        click.echo(_partitions_line(report))
    path, written = ensure_secret_key()
    click.echo(_("secret key written to {path}", path=path) if written else _("secret key kept in {path}", path=path))


def _ensure_partitions(ahead: int | None) -> Any:
    from .db import transaction
    from .partitions import DEFAULT_AHEAD, ensure_partitions

    with transaction() as session:
        return ensure_partitions(session, None, DEFAULT_AHEAD if ahead is None else ahead)


def _partitions_line(report: Any) -> str:
    """One line on the ledger's partitions for people (months as mm/yyyy)."""
    def shown(month: str) -> str:
        return f"{month[5:7]}/{month[:4]}"

    created = ", ".join(shown(m) for m in report.created) or _("no new month")
    return _("punch ledger partitions: {count} months ({first} to {last}); created now: {created}; "
             "{moved} rows moved out of the default partition, {left} left in it",
             count=len(report.months), first=shown(report.months[0]) if report.months else "-",
             last=shown(report.months[-1]) if report.months else "-", created=created,
             moved=f"{report.moved:,}", left=f"{report.default_rows:,}")


@main.command()
@click.option("--ahead", type=click.IntRange(0, 120), default=None,
              help="Months after this one to create partitions for (default 3).")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@reports_errors
def partitions(ahead: int | None, as_json: bool) -> None:
    """Create the punch ledger's monthly partitions ahead on PostgreSQL (run monthly; idempotent)."""
    report = _ensure_partitions(ahead)
    if as_json:
        _dump(report.as_dict())
    elif not report.partitioned:
        click.echo(_("the punch ledger is not partitioned on this database (SQLite): nothing to do"))
    else:
        click.echo(_partitions_line(report))


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.group()
def org() -> None:
    """Organisation set-up: units, staff, devices, schedules, calendar, excuses."""


@org.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
@reports_errors
def org_load(file: str, as_json: bool) -> None:
    """Load or update a set-up bundle (YAML or JSON)."""
    from .bundle import read_bundle_file, validate_bundle
    from .db import transaction
    from .org import load_bundle

    bundle = validate_bundle(read_bundle_file(file))
    with transaction() as session:
        report = load_bundle(session, bundle, actor=f"cli:{Path(file).name}")
    if as_json:
        _dump(report.as_dict())
    else:
        parts = [_("{count} new {entity}", count=v, entity=_(k)) for k, v in report.created.items()]
        parts += [_("{count} changed {entity}", count=v, entity=_(k)) for k, v in report.updated.items()]
        parts += [_("{count} removed {entity}", count=v, entity=_(k)) for k, v in report.deleted.items()]
        click.echo(_("loaded {file}: {changes}", file=file, changes=", ".join(parts) if parts else _("no changes")))


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--device", "device_code", required=True, help="Code of the terminal the files come from.")
@click.option("--format", "fmt", default="auto", type=click.Choice(FILE_FORMATS), show_default=True)
@click.option("--profile", help="Column-mapping profile for other layouts: a YAML/JSON file, or the name of a saved one.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON document.")
@reports_errors
def import_(paths: tuple[str, ...], device_code: str, fmt: str, profile: str | None, as_json: bool) -> None:
    """Import punch-log files exported from a terminal.

    Every path is checked first (one error line each, nothing imported if any is wrong);
    then each file is its own batch: a file that cannot be read is reported and the
    others are still imported (exit non-zero).
    """
    from .db import transaction
    from .ledger import device_by_code, import_file, import_report

    problems = [problem for path in paths if (problem := _unreadable(path))]
    if problems:
        for problem in problems[:-1]:
            click.echo(f"error: {problem}", err=True)
        raise CommandError(problems[-1])
    results, failures, exit_code = [], [], 1
    with transaction() as session:
        device_by_code(session, device_code)
        mapping = None
        if profile:
            from .profiles import (  # YAML and the bundle schema: only when asked
                read_profile,
                saved_profile,
            )

            mapping = read_profile(profile) if Path(profile).is_file() else saved_profile(session, profile)
        for path in paths:
            try:
                with _progress(Path(path).name, as_json, total=Path(path).stat().st_size, min_total=1_000_000) as tick:
                    result = import_file(session, device_code, path, fmt=fmt, profile=mapping, progress=tick)
                session.commit()  # the file's last part: its batch is finished
                results.append(result)
            except Exception as exc:
                session.rollback()
                line, code = error_line(exc)
                exit_code = max(exit_code, code)
                failures.append(line if line.startswith(f"{path}") else f"{path}: {line}")
    if results:
        if as_json:
            _dump(import_report(results, failures))
        else:
            _report_imports(results)
    if failures:
        for line in failures[:-1]:
            click.echo(f"error: {line}", err=True)
        error = CommandError(failures[-1])
        error.exit_code = exit_code
        raise error


def _unreadable(path: str) -> str | None:
    """Why ``path`` cannot be imported (missing, a directory, unreadable), or None."""
    target = Path(path)
    if target.is_dir():
        return _("{path}: is a directory, not a file", path=path)
    if not target.exists() and not target.is_symlink():
        return _("{path}: no such file", path=path)
    try:
        with target.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        return _("{path}: cannot be read ({why})", path=path, why=exc.strerror or exc)
    return None


def _report_imports(results: list[Any]) -> None:
    for r in results:
        click.echo(_("{file} [{format}, {encoding}] batch {batch}: read {read}, inserted {inserted}, "
                     "duplicates {duplicates}, rejected {rejected}, unknown users {unknown}", file=r.file,
                     format=r.format, encoding=r.encoding, batch=r.batch, read=r.read, inserted=r.inserted,
                     duplicates=r.duplicates, rejected=r.rejected, unknown=r.unknown_users))
        for bad in r.rejects[:10]:
            click.echo(_("  line {line}: {reason}", line=bad["line"], reason=_reject_text(bad)), err=True)
        if r.rejected > 10:
            click.echo(_("  ... {count} more rejected lines kept in batch {batch}", count=r.rejected - 10,
                         batch=r.batch), err=True)


class _progress:
    """A byte progress bar on an interactive terminal, for files and pulls alike.

    The total is given up front (a file's size) or by each tick (a pull learns it from the
    terminal); work smaller than ``min_total`` bytes gets no bar.
    """

    def __init__(self, label: str, quiet: bool, total: int | None = None, min_total: int = 0):
        self.label, self.total, self.min_total = label, total, min_total
        self.enabled = not quiet and sys.stderr.isatty()
        self.bar: Any = None

    def __enter__(self) -> Callable[..., None]:
        return self.tick

    def tick(self, done: int, total: int | None = None) -> None:
        total = total or self.total
        if not self.enabled or not total or total < self.min_total:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc=self.label, file=sys.stderr)
        self.bar.n = done
        self.bar.refresh()

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


@main.command()
@click.option("--device", "device_code", required=True)
@click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--to", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--format", "fmt", default="json", type=click.Choice(["json", "csv"]), show_default=True)
@click.option("--headers", type=click.Choice(["names", "codes"]), default="names", show_default=True,
              help="CSV headings: names for people (UTF-8 with BOM, opens in Excel) or field codes for scripts.")
@reports_errors
def punches(device_code: str, date_from: dt.datetime | None, date_to: dt.datetime | None, fmt: str,
            headers: str) -> None:
    """The raw ledger of one terminal."""
    from .db import transaction
    from .ledger import ledger_rows
    from .services import PUNCH_HEADINGS, table_csv

    with transaction() as session:
        rows = ledger_rows(session, device_code, date_from.date() if date_from else None, date_to.date() if date_to else None)
    if fmt == "json":
        _dump(rows)
        return
    columns = list(rows[0]) if rows else list(PUNCH_HEADINGS["en"])
    headings = PUNCH_HEADINGS[current_language()] if headers == "names" else None
    click.echo(table_csv(columns, ([row[c] for c in columns] for row in rows), headings), nl=False)


@main.command()
@click.option("--device", "device_code", help="Code of the terminal to pull.")
@click.option("--all", "pull_all", is_flag=True, help="Pull every network or serial terminal.")
@click.option("--clear", is_flag=True, help="Clear the terminal's log after the batch is committed.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for each reply.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def pull(device_code: str | None, pull_all: bool, clear: bool, timeout: float, as_json: bool) -> None:
    """Pull new punches from terminals over serial or network."""
    from .db import transaction
    from .pull import pull_device, pullable_devices

    if bool(device_code) == pull_all:
        raise CommandError(_("give either --device CODE or --all"))
    results = []
    with transaction() as session:
        codes = pullable_devices(session) if pull_all else [device_code or ""]
        for code in codes:
            with _progress(code, as_json) as tick:  # each pull commits its batch and its log
                results.append(pull_device(session, code, clear=clear, timeout=timeout, progress=tick))
    if as_json:
        _dump(results[0].as_dict() if device_code else [r.as_dict() for r in results])
    else:
        for r in results:
            if r.ok:
                click.echo(_("{device}: read {read}, new {inserted}, duplicates {duplicates}, rejected {rejected}, "
                             "clock skew {skew:+d} s, {ms} ms", device=r.device, read=r.records_read,
                             inserted=r.inserted, duplicates=r.duplicates, rejected=r.rejected,
                             skew=r.skew_seconds or 0, ms=r.duration_ms)
                           + (_(", log cleared") if r.cleared else ""))
            else:
                click.echo(_("{device}: FAILED after {ms} ms: {error}", device=r.device, ms=r.duration_ms,
                             error=r.error), err=True)
    failed = [r.device for r in results if not r.ok]
    if failed:
        raise CommandError(_("pull failed for {devices}", devices=", ".join(failed)))


@main.group()
def profile() -> None:
    """Saved column-mapping profiles for exports of other layouts."""


@profile.command("save")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@reports_errors
def profile_save(file: str) -> None:
    """Save (or replace) the profile in FILE under its name."""
    from .db import transaction
    from .profiles import read_profile, save_profile

    mapping = read_profile(file)
    with transaction() as session:
        save_profile(session, mapping, actor=f"cli:{Path(file).name}")
    click.echo(_("saved profile {name!r}", name=mapping.name))


@profile.command("list")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def profile_list(as_json: bool) -> None:
    """The saved profiles."""
    from sqlalchemy import select

    from . import models as m
    from .db import transaction

    with transaction() as session:
        rows = [{"name": r.name, **r.definition} for r in session.scalars(select(m.SavedProfile).order_by(m.SavedProfile.name))]
    if as_json:
        _dump(rows)
    else:
        for r in rows:
            click.echo(f"{r['name']}: " + ", ".join(f"{k}={v}" for k, v in r.items() if k != "name" and v is not None))


@main.group()
def devices() -> None:
    """Terminals: health, pending push terminals."""


@devices.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.option("--skew", "skew", default=120, show_default=True, help="Clock skew (s) that counts as a problem.")
@click.option("--idle-days", default=2, show_default=True, help="Working days without punches that count as a problem.")
@reports_errors
def devices_status(as_json: bool, skew: int, idle_days: int) -> None:
    """Each terminal's health: last successful pull, clock skew, days without punches, errors."""
    from .db import transaction
    from .health import PROBLEM_TEXT, Thresholds, device_health

    with transaction() as session:
        rows = device_health(session, limits=Thresholds(clock_skew_seconds=skew, idle_working_days=idle_days))
    if as_json:
        _dump([r.as_dict() for r in rows])
        return
    language = 1 if current_language() == "en" else 0
    for r in rows:
        state = _("OK") if not r.problems else "; ".join(PROBLEM_TEXT[p][language] for p in r.problems)
        skew_text = f"{r.clock_skew_seconds:+d} s" if r.clock_skew_seconds is not None else "?"
        idle = r.days_without_punches if r.days_without_punches is not None else "—"
        click.echo(_("{device:10} {kind:12} last good pull {when:16}  clock skew {skew:>7}  "
                     "working days without punches {idle}  {state}", device=r.device, kind=r.kind,
                     when=_vn_time(r.last_success) or "—", skew=skew_text, idle=idle, state=state))
        if r.last_error:
            click.echo(_("{pad:10} error {when}: {error}", pad="", when=_vn_time(r.last_error_at), error=r.last_error))


@devices.command("pending")
@click.option("--all", "include_decided", is_flag=True, help="Also list approved and rejected terminals.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def devices_pending(include_decided: bool, as_json: bool) -> None:
    """Push (ADMS) terminals with an unregistered serial that called in."""
    from .db import transaction
    from .terminals import pending_terminals

    with transaction() as session:
        rows = pending_terminals(session, include_decided=include_decided)
    if as_json:
        _dump(rows)
        return
    for r in rows:
        click.echo(_("{serial:20} {status:9} first seen {first}  last seen {last}  {address:15} {count} requests",
                     serial=r["serial"], status=_(r["status"]), first=_vn_time(r["first_seen"]),
                     last=_vn_time(r["last_seen"]), address=r["remote_addr"], count=r["requests"]))


@devices.command("approve")
@click.argument("serial")
@click.option("--device", "device_code", required=True, help="Code of the device to create or update (kind adms_push).")
@click.option("--unit", "unit_code", help="Code of the unit the terminal belongs to.")
@reports_errors
def devices_approve(serial: str, device_code: str, unit_code: str | None) -> None:
    """Accept a pending push terminal: register its serial on a device."""
    from .db import transaction
    from .terminals import approve_terminal

    with transaction() as session:
        approve_terminal(session, serial, device_code, unit_code, actor="cli")
    click.echo(_("approved {serial} as device {device}", serial=serial, device=device_code))


@devices.command("reject")
@click.argument("serial")
@reports_errors
def devices_reject(serial: str) -> None:
    """Refuse a pending push terminal (it stays listed and refused)."""
    from .db import transaction
    from .terminals import reject_terminal

    with transaction() as session:
        reject_terminal(session, serial, actor="cli")
    click.echo(_("rejected {serial}", serial=serial))


@devices.command("backfill")
@click.option("--device", "device_code", required=True)
@click.option("--from", "first", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--to", "last", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@reports_errors
def devices_backfill(device_code: str, first: dt.datetime, last: dt.datetime) -> None:
    """Ask a push terminal to upload again its punches of these days (on its next heartbeat)."""
    from .db import transaction
    from .ledger import device_by_code
    from .terminals import queue_backfill

    with transaction() as session:
        command = queue_backfill(session, device_by_code(session, device_code), first,
                                 last + dt.timedelta(days=1, seconds=-1))
        number, text = command.id, command.command
    click.echo(_("queued command {number} for {device}: {text!r}", number=number, device=device_code, text=text))


@main.command()
@click.option("--device", "device_code", required=True, help="A serial_lines terminal.")
@click.option("--idle-timeout", type=float, help="Stop after this many seconds without a byte (default: run until stopped).")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per stored run of lines.")
@reports_errors
def listen(device_code: str, idle_timeout: float | None, as_json: bool) -> None:
    """Store the punches a terminal prints line by line on its serial port, as they arrive."""
    from .db import transaction
    from .listen import listen_device

    def report(result) -> None:  # type: ignore[no-untyped-def]
        if as_json:
            click.echo(json.dumps({k: v for k, v in result.as_dict().items() if k != "rejects"}, ensure_ascii=False))
        else:
            click.echo(_("{device}: read {read}, new {inserted}, rejected {rejected}", device=device_code,
                         read=result.read, inserted=result.inserted, rejected=result.rejected))
        for bad in result.rejects[:10]:
            click.echo(_("  line {line}: {reason}", line=bad["line"], reason=_reject_text(bad)), err=True)

    def refused(exc: Exception) -> None:
        click.echo(_("warning: {problem}", problem=exc), err=True)

    try:
        with transaction() as session:  # each run of lines is committed as it is stored
            listen_device(session, device_code, idle_timeout=idle_timeout, report=report, refused=refused)
    except KeyboardInterrupt:
        pass


@main.command("simulate-terminal")
@click.option("--records", "records_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="An attlog file whose punches the simulated terminal holds.")
@click.option("--protocol", default="tcp", show_default=True, type=click.Choice(["tcp", "udp", "serial"]))
@click.option("--port", type=int, help="Port to listen on (serial: a TCP port for socket:// clients).")
@click.option("--pty", "use_pty", is_flag=True, help="Serve on a new pseudo-terminal (serial).")
@click.option("--width", default=40, show_default=True, type=click.Choice(["8", "16", "40", "49"]))
@click.option("--comm-key", default=0, show_default=True, type=int)
@click.option("--fault", help="e.g. drop-after=3,corrupt-chunk=2,skew=+300,slow=0.2")
@reports_errors
def simulate_terminal(records_path: str, protocol: str, port: int | None, use_pty: bool, width: str,
                      comm_key: int, fault: str | None) -> None:
    """A ZK-protocol terminal simulator serving the punches of an attlog file, until interrupted."""
    from devices.zk.simulator import run_simulator

    if use_pty and port is not None:
        raise CommandError(_("give either --port or --pty"))
    run_simulator(records_path, protocol=protocol, port=port, use_pty=use_pty, width=int(width),
                  comm_key=comm_key, fault=fault)


@main.command()
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 256),
              help="Terminals this process pulls at once (threads).")
@click.option("--lease-seconds", default=300, show_default=True, type=click.FloatRange(1, 86400),
              help="How long a terminal stays with this process without a renewal (a dead process's "
                   "terminals go to the others after it).")
@click.option("--poll", "poll_seconds", default=15.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds between looks for due terminals.")
@click.option("--once", is_flag=True, help="Pull the terminals due now, then exit (for cron and tests).")
@reports_errors
def scheduler(workers: int, lease_seconds: float, poll_seconds: float, once: bool) -> None:
    """Pull every terminal on its interval until stopped; several schedulers share the terminals."""
    import logging
    import signal

    from .db import session_factory
    from .scheduler import PullScheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    runner: PullScheduler | None = None

    def report(result) -> None:  # type: ignore[no-untyped-def]
        line = json.dumps({**result.as_dict(), "scheduler": runner.holder if runner else ""}, ensure_ascii=False)
        click.echo(line, err=not result.ok)

    runner = PullScheduler(session_factory(), report, workers=workers, lease_seconds=lease_seconds,
                           poll_seconds=poll_seconds)
    # systemd and kill stop with SIGTERM: finish the pulls under way and release their terminals.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: runner.stop.set())
    click.echo(_("attendance scheduler {holder}: pulling terminals on their intervals (Ctrl+C to stop)",
                 holder=runner.holder), err=True)
    try:
        runner.run(once=once)
    except KeyboardInterrupt:
        runner.stop.set()


@main.command()
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--unit", "unit_code", help="Only this unit and the units under it.")
@click.option("--format", "fmt", default="json", type=click.Choice(["json", "csv", "xlsx"]), show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
@click.option("--headers", type=click.Choice(["names", "codes"]), default="names", show_default=True,
              help="CSV headings: names for people (UTF-8 with BOM, opens in Excel) or field codes for scripts.")
@reports_errors
def summary(month: str, unit_code: str | None, fmt: str, output: str | None, headers: str) -> None:
    """Monthly summary per staff member (rules.md §7)."""
    from .db import transaction
    from .services import (
        monthly_summary,
        no_punches_warning,
        summary_csv,
        summary_headings,
        summary_records,
        summary_xlsx,
    )

    with transaction() as session:
        table = monthly_summary(session, month, unit_code)
        warning = no_punches_warning(session, month, unit_code)
    if warning:  # the table is unchanged (everyone absent); standard output stays one document
        click.echo(warning, err=True)
    if fmt == "xlsx":
        if not output:
            raise CommandError(_("--format xlsx needs -o FILE"))
        summary_xlsx(table, month, output)
        click.echo(_("wrote {file} ({count} staff)", file=output, count=len(table)), err=True)
        return
    if fmt == "json":
        text = json.dumps(summary_records(table), ensure_ascii=False, indent=2) + "\n"
    else:
        text = summary_csv(table, summary_headings(current_language()) if headers == "names" else None)
    if output:
        Path(output).write_text(text, encoding="utf-8", newline="")
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("--staff", "staff_code", required=True)
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--json", "as_json", is_flag=True)
@click.option("--lang", type=click.Choice(LANGUAGES), help="vi or en (default: the command's language).")
@reports_errors
def explain(staff_code: str, day: dt.datetime, as_json: bool, lang: str | None) -> None:
    """The verdicts of one day with their explanation."""
    from .db import transaction
    from .services import explain as explain_case
    from .services import explain_text

    with transaction() as session:
        data = explain_case(session, staff_code, day.date())
    if as_json:
        _dump(data)
    else:
        click.echo(explain_text(data, lang or current_language()))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256), help="Requests served at once.")
@click.option("--debug", is_flag=True, help="Flask's development server with the debugger: never on a network.")
@reports_errors
def serve(host: str, port: int, threads: int, debug: bool) -> None:
    """The web application and the ADMS endpoints of push terminals (waitress; also on Windows)."""
    from . import create_app
    from .config import check_secret_key

    app = create_app({"DEBUG": True} if debug else None)
    check_secret_key(app.config)  # a no-op with --debug
    if app.config["SESSION_COOKIE_SECURE"] and not _cookie_security_configured():
        if _is_loopback(host):
            # Plain http://127.0.0.1 (make run): a browser would drop a Secure cookie from it.
            app.config["SESSION_COOKIE_SECURE"] = False
        else:
            click.echo(_("note: session cookies are Secure: sign-in works over HTTPS (a reverse proxy); on a "
                         "trusted network without TLS set ATTENDANCE_SESSION_COOKIE_SECURE=false"), err=True)
    if debug:
        click.echo(_("Open http://{host}:{port}/ in a browser (development server)", host=_browser_host(host),
                     port=port or 5000))
        app.run(host=host, port=port or 5000, debug=True)
        return
    from .web.server import bound_port, make_server

    server = make_server(app, host, port, threads)
    click.echo(_("Open http://{host}:{port}/ in a browser", host=_browser_host(host), port=bound_port(server, port)))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _cookie_security_configured() -> bool:
    """Whether the administrator chose SESSION_COOKIE_SECURE (environment or instance file)."""
    import os

    from .config import config_file_path, read_config_file

    if "ATTENDANCE_SESSION_COOKIE_SECURE" in os.environ:
        return True
    path = config_file_path()
    return path.is_file() and "SESSION_COOKIE_SECURE" in read_config_file(path)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _browser_host(host: str) -> str:
    """The host to type in a browser for a listening address."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@main.command()
@click.option("--month", default="2026-10", show_default=True)
@reports_errors
def demo(month: str) -> None:
    """Load the demo district (shipped with the package) and print a few summary lines (idempotent)."""
    from .demo import load_demo

    for line in load_demo(month):
        click.echo(line)



@main.command()
@click.option("--year", required=True, type=int, help="YYYY")
@click.option("--json", "as_json", is_flag=True)
@click.option("--lang", type=click.Choice(LANGUAGES), help="vi or en (default: the command's language).")
@click.option("--all", "everything", is_flag=True,
              help="Also list entries that leave the day as the week makes it (a holiday on a Sunday...).")
@reports_errors
def calendar(year: int, as_json: bool, lang: str | None, everything: bool) -> None:
    """Days of a year set apart from the week: holidays, days in lieu, decided swaps, overrides."""
    from .calendar_days import (
        calendar_of_year,
        calendar_text,
        check_year,
        database_exists,
        year_lines,
    )
    from .db import database_url, transaction

    check_year(year)
    # Without a database (nothing loaded yet) the country calendar alone is shown; opening a
    # missing SQLite file would create an empty one, so it is not opened.
    with_database = database_exists(database_url())
    if with_database:
        with transaction() as session:
            country, lines = calendar_of_year(session, year, everything=everything)
    else:
        country, lines = "VN", year_lines(year, "VN", everything=everything)
    if as_json:
        _dump({"year": year, "country": country, "database": with_database,
               "days": [line.as_dict() for line in lines]})
    else:
        click.echo(calendar_text(year, country, lines, lang or current_language(), with_database))


@main.group()
def batch() -> None:
    """Imports and pulls as batches: list them, void a wrong one, restore it (audited)."""


def _cli_actor() -> str:
    """Who runs the command, for the audit log (the login name when the system knows it)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in a bare container
        return "cli"


def _batch_id(text: str) -> int:
    from .errors import InvalidInput

    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(_("batch id: expected a number, got {text!r}", text=text))
    return int(text)


def _batch_line(b: Any) -> str:
    state = _("in force") if b.state == "live" else _("VOIDED {when} by {who}: {why}", when=_vn_time(b.voided_at),
                                                      who=b.voided_by, why=b.void_reason)
    return (f"{b.id:>6}  {b.device:10} {b.source:6} {_vn_time(b.started)}  {b.label}\n" + " " * 8
            + _("read {read}, new {inserted}, duplicates {duplicates}, rejected {rejected}, not enrolled {unknown}, "
                "punches in the ledger {punches}  [{state}]", read=b.read, inserted=b.inserted,
                duplicates=b.duplicates, rejected=b.rejected, unknown=b.unknown_users, punches=b.punches,
                state=state))


@batch.command("list")
@click.option("--device", "device_code", help="Only the batches of this terminal.")
@click.option("--limit", default=200, show_default=True, help="Only the newest N batches (0: all).")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def batch_list(device_code: str | None, limit: int, as_json: bool) -> None:
    """Imports and pulls with their counters and state (voided: when, by whom, why)."""
    from .batches import list_batches
    from .db import transaction

    with transaction() as session:
        rows = list_batches(session, device_code, limit=limit)
    if as_json:
        _dump([r.as_dict() for r in rows])
        return
    if not rows:
        click.echo(_("no batches for {device}", device=device_code) if device_code else _("no batches"), err=True)
    for r in rows:
        click.echo(_batch_line(r))


@batch.command("void")
@click.argument("batch_id", metavar="ID")
@click.option("--reason", required=True, help="Why (e.g. the wrong terminal was chosen); kept in the audit log.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def batch_void(batch_id: str, reason: str, as_json: bool) -> None:
    """Make a batch's punches count for nothing; they stay in the ledger."""
    from .batches import void_batch
    from .db import transaction

    with transaction() as session:
        info = void_batch(session, _batch_id(batch_id), reason, actor=_cli_actor())
    if as_json:
        _dump(info.as_dict())
    else:
        click.echo(_("voided batch {id} ({device}, {label}): {punches} punches no longer count", id=info.id,
                     device=info.device, label=info.label, punches=info.punches))


@batch.command("restore")
@click.argument("batch_id", metavar="ID")
@click.option("--reason", required=True, help="Why the batch counts again; kept in the audit log.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def batch_restore(batch_id: str, reason: str, as_json: bool) -> None:
    """Make a voided batch's punches count again."""
    from .batches import restore_batch
    from .db import transaction

    with transaction() as session:
        info = restore_batch(session, _batch_id(batch_id), reason, actor=_cli_actor())
    if as_json:
        _dump(info.as_dict())
    else:
        click.echo(_("restored batch {id} ({device}, {label}): {punches} punches count again", id=info.id,
                     device=info.device, label=info.label, punches=info.punches))


if __name__ == "__main__":  # pragma: no cover
    main()


#: Packages built on attendance that add commands: each module's ``register(group)`` adds its own.
#: attendance names only this entry point, never their internals.
COMMAND_MODULES = ("inspections.cli",)


def _register_domain_groups() -> None:
    # Per-domain command groups live in their own modules (imported last: they use this one).
    import importlib

    from .cli_users import users

    main.add_command(users)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(main)


_register_domain_groups()
