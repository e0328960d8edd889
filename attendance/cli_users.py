"""`attendance users ...`: accounts and API tokens (thin wrappers around attendance.accounts)."""

from __future__ import annotations

import json
import sys

import click

from .cli import TranslatedGroup, reports_errors
from .i18n import _


@click.group(cls=TranslatedGroup)
def users() -> None:
    """Accounts of the web application and tokens of the API."""


def _read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        # One line: a trailing newline (echo, a file) is not part of the password.
        line = sys.stdin.readline(4096)
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        return None  # scripted without --password-stdin: an account for API tokens only
    return click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, help="admin, team_lead, inspector, unit_head, clerk or viewer.")
@click.option("--unit", "units", multiple=True, help="Code of a unit of the user's scope (repeatable).")
@click.option("--name", "full_name", default="", help="Full name shown on the pages.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def users_add(username: str, role: str, units: tuple[str, ...], full_name: str, password_stdin: bool,
              as_json: bool) -> None:
    """Create an account with a role and the units of its scope."""
    from .accounts import add_user
    from .db import transaction

    password = _read_password(password_stdin)
    with transaction() as session:
        account = add_user(session, username, role, units, password, actor="cli", full_name=full_name,
                           origin="cli")
    if as_json:
        click.echo(json.dumps({"username": account.username, "role": account.role.value,
                               "units": list(account.unit_codes)}, ensure_ascii=False))
        return
    scope = ", ".join(account.unit_codes) if account.unit_codes else (
        _("every unit") if account.is_admin else _("no unit yet"))
    click.echo(_("created user {username} ({role}; units: {units})", username=account.username,
                 role=account.role.value, units=scope))
    if password is None:
        click.echo(_("no password set: this account can only use API tokens"), err=True)


@users.command("token")
@click.argument("username")
@click.option("--label", default="", help="What the token is for (shown in `users list`).")
@reports_errors
def users_token(username: str, label: str) -> None:
    """Print a new API token for USERNAME, once (only its digest is stored)."""
    from .accounts import issue_token
    from .db import transaction

    with transaction() as session:
        token = issue_token(session, username, label, actor="cli", origin="cli")
    click.echo(token)


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def users_list(as_json: bool) -> None:
    """Every account: role, units, state, API tokens."""
    from .accounts import list_users
    from .db import transaction

    with transaction() as session:
        rows = list_users(session)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo(_("no users yet: create one with 'attendance users add NAME --role admin --password-stdin'"))
        return
    for row in rows:
        state = _("disabled") if row["disabled"] else _("active")
        units = ", ".join(row["units"]) or "—"  # type: ignore[arg-type]
        click.echo(f"{row['username']:<20} {row['role']:<10} {state:<12} {units}  "
                   + _("{n} tokens", n=row["tokens"]))


@users.command("disable")
@click.argument("username")
@reports_errors
def users_disable(username: str) -> None:
    """Disable an account: its sign-ins, sessions and API tokens stop working."""
    from .accounts import disable_user
    from .db import transaction

    with transaction() as session:
        disable_user(session, username, actor="cli", origin="cli")
    click.echo(_("disabled user {username}", username=username))
