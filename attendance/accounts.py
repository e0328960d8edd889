"""Accounts, roles scoped to units, API tokens and sign-in limits (no Flask here).

A user's scope is the units they were given, each with every unit under it; an ``admin`` has
every unit. Outside the scope things do not exist for the user (``NotFound``, so codes of
other units cannot be probed); inside it, an action the role may not take is ``Forbidden``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from . import models as m
from .api import unit_subtree
from .audit import record_change
from .errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts, UnknownUnit
from .i18n import _


class Role(StrEnum):
    """What a user does; each role reads the attendance of its scope."""

    ADMIN = "admin"
    TEAM_LEAD = "team_lead"
    INSPECTOR = "inspector"
    UNIT_HEAD = "unit_head"
    CLERK = "clerk"
    VIEWER = "viewer"


class Permission(StrEnum):
    """An action beyond reading; roles grant a fixed set of them."""

    IMPORT = "import"                      # upload files, void or restore one's unit's batches
    MANAGE_ENROLLMENTS = "manage_enrollments"
    MANAGE_EXCUSES = "manage_excuses"
    MANAGE_DEVICES = "manage_devices"      # approve/reject push terminals, device settings
    MANAGE_ORG = "manage_org"              # bundles, schedules, calendar overrides
    MANAGE_USERS = "manage_users"
    EDIT_SPOT_CHECKS = "edit_spot_checks"
    REVIEW_SPOT_CHECKS = "review_spot_checks"
    BUILD_REPORTS = "build_reports"
    READ_AUDIT = "read_audit"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # The audit log is the whole service's trail (other units' names and values in it): only
    # administrators read it, so a team lead scoped to one district sees nothing of another.
    Role.TEAM_LEAD: frozenset({Permission.REVIEW_SPOT_CHECKS, Permission.BUILD_REPORTS}),
    Role.INSPECTOR: frozenset({Permission.EDIT_SPOT_CHECKS}),
    Role.UNIT_HEAD: frozenset({Permission.MANAGE_EXCUSES}),
    Role.CLERK: frozenset({Permission.IMPORT, Permission.MANAGE_ENROLLMENTS, Permission.MANAGE_EXCUSES}),
    Role.VIEWER: frozenset(),
}

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # hashing a megabyte "password" on every attempt would be a cheap denial of service
TOKEN_PREFIX = "att_"

#: Sign-in limits: failures of one account, failures from one address, in the window.
WINDOW = dt.timedelta(minutes=15)
ACCOUNT_FAILURES = 10
ADDRESS_FAILURES = 30
KEEP_ATTEMPTS = dt.timedelta(days=1)

# Checked when the username is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


@dataclass(frozen=True)
class Account:
    """A signed-in user as the use cases see it: role and scope, nothing secret."""

    id: int
    username: str
    full_name: str
    role: Role
    unit_codes: tuple[str, ...]  # the units given; their subtrees make the scope
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        """Whether the account sees every unit and may do everything."""
        return self.role is Role.ADMIN

    def may(self, permission: Permission) -> bool:
        """Whether the role grants ``permission`` (the scope is checked separately)."""
        return permission in ROLE_PERMISSIONS[self.role]


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _account(user: m.User) -> Account:
    return Account(user.id, user.username, user.full_name, Role(user.role),
                   tuple(sorted(link.unit.code for link in user.units)), user.disabled)


def _user(session: Session, username: str) -> m.User:
    user = session.scalar(select(m.User).where(m.User.username == username))
    if user is None:
        raise NotFound(_("no user {username!r}", username=username[:64]))
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(_("the password must have at least {n} characters", n=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(_("the password must have at most {n} characters", n=MAX_PASSWORD))


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug's default method)."""
    return generate_password_hash(password)


def add_user(session: Session, username: str, role: str, unit_codes: Iterable[str], password: str | None,
             actor: str, full_name: str = "", origin: str | None = None) -> Account:
    """Create an account (audited). Without a password it can only use API tokens."""
    if not USERNAME.fullmatch(username):
        raise InvalidInput(_("username {username!r}: use 1-64 letters, digits, '.', '_', '@' or '-'",
                             username=username[:80]))
    try:
        chosen = Role(role)
    except ValueError:
        raise InvalidInput(_("role {role!r}: one of {roles}", role=role[:40],
                             roles=", ".join(r.value for r in Role))) from None
    if session.scalar(select(m.User.id).where(m.User.username == username)) is not None:
        raise Conflict(_("user {username!r} already exists", username=username))
    codes = sorted(set(unit_codes))
    units = []
    for code in codes:
        unit = session.scalar(select(m.Unit).where(m.Unit.code == code))
        if unit is None:
            raise UnknownUnit(_("no unit {code!r}", code=code[:40]))
        units.append(unit)
    if password is not None:
        _check_password(password)
    user = m.User(username=username, full_name=full_name[:200], role=chosen.value,
                  password_hash=hash_password(password) if password is not None else "",
                  created_at=_now(), disabled=False)
    user.units = [m.UserUnit(unit=unit) for unit in units]
    session.add(user)
    session.flush()
    # The hash is never written to the audit log, only that a password was set.
    record_change(session, actor, "create", "user", username,
                  {"role": [None, chosen.value], "units": [None, codes], "password_set": [None, password is not None]},
                  origin=origin)
    return _account(user)


def set_password(session: Session, username: str, password: str, actor: str, origin: str | None = None) -> None:
    """Replace a user's password (audited without the hash)."""
    _check_password(password)
    user = _user(session, username)
    user.password_hash = hash_password(password)
    record_change(session, actor, "update", "user", username, {"password_set": [None, True]}, origin=origin)


def disable_user(session: Session, username: str, actor: str, origin: str | None = None) -> Account:
    """Disable an account: no more sign-ins, its sessions and tokens stop working (audited)."""
    user = _user(session, username)
    if not user.disabled:
        user.disabled = True
        record_change(session, actor, "update", "user", username, {"disabled": [False, True]}, origin=origin)
    return _account(user)


def list_users(session: Session) -> list[dict[str, object]]:
    """Every account with role, units, state and token count (for `users list`)."""
    tokens = dict(session.execute(select(m.ApiToken.user_id, func.count()).where(m.ApiToken.revoked_at.is_(None))
                                  .group_by(m.ApiToken.user_id)).all())
    out: list[dict[str, object]] = []
    for user in session.scalars(select(m.User).order_by(m.User.username)):
        account = _account(user)
        out.append({"username": user.username, "full_name": user.full_name, "role": account.role.value,
                    "units": list(account.unit_codes), "disabled": user.disabled,
                    "created_at": user.created_at.isoformat(sep=" "),
                    "last_sign_in_at": user.last_sign_in_at.isoformat(sep=" ") if user.last_sign_in_at else None,
                    "tokens": tokens.get(user.id, 0)})
    return out


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue_token(session: Session, username: str, label: str, actor: str, origin: str | None = None) -> str:
    """A new API token for the user; only its digest is stored, so it is shown this once."""
    user = _user(session, username)
    if user.disabled:
        raise Conflict(_("user {username!r} is disabled", username=username))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(m.ApiToken(user_id=user.id, token_sha256=token_digest(token), label=label[:100], created_at=_now()))
    record_change(session, actor, "create", "api_token", username, {"label": [None, label[:100]]}, origin=origin)
    return token


def account_by_id(session: Session, user_id: int) -> Account | None:
    """The enabled account with this id, or None (a disabled user's sessions end here)."""
    user = session.get(m.User, user_id)
    return _account(user) if user is not None and not user.disabled else None


def account_by_username(session: Session, username: str) -> Account | None:
    """The enabled account with this username, or None (for scripts acting as a known user)."""
    user = session.scalar(select(m.User).where(m.User.username == username))
    return _account(user) if user is not None and not user.disabled else None


def account_by_token(session: Session, token: str) -> Account | None:
    """The enabled account owning this bearer token, or None; notes when the token was used."""
    if not token or len(token) > 200:
        return None
    row = session.execute(select(m.ApiToken, m.User).join(m.User, m.User.id == m.ApiToken.user_id)
                          .where(m.ApiToken.token_sha256 == token_digest(token))).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or user.disabled:
        return None
    now = _now()
    # Written at most once a minute: a busy script must not turn every read into a write.
    if api_token.last_used_at is None or now - api_token.last_used_at > dt.timedelta(minutes=1):
        api_token.last_used_at = now
    return _account(user)


def _failures(session: Session, column: object, value: str, since: dt.datetime) -> int:
    return session.scalar(select(func.count()).select_from(m.SignInAttempt).where(
        column == value, m.SignInAttempt.at >= since, m.SignInAttempt.succeeded.is_(False))) or 0


def check_sign_in_allowed(session: Session, username: str, address: str, now: dt.datetime | None = None) -> None:
    """Raise TooManyAttempts when the account or the address has failed too often lately."""
    now = now or _now()
    since = now - WINDOW
    minutes = int(WINDOW.total_seconds() // 60)
    if _failures(session, m.SignInAttempt.username, username[:64], since) >= ACCOUNT_FAILURES:
        raise TooManyAttempts(_("too many failed sign-ins for this account; try again in {minutes} minutes",
                                minutes=minutes), int(WINDOW.total_seconds()))
    if _failures(session, m.SignInAttempt.address, address[:64], since) >= ADDRESS_FAILURES:
        raise TooManyAttempts(_("too many failed sign-ins from this address; try again in {minutes} minutes",
                                minutes=minutes), int(WINDOW.total_seconds()))


def sign_in(session: Session, username: str, password: str, address: str, now: dt.datetime | None = None) -> Account:
    """Check a username and password within the limits; every attempt is counted.

    Raises TooManyAttempts (before the password is even looked at) or InvalidInput with one
    message for an unknown user, a wrong password or a disabled account alike.
    """
    now = now or _now()
    username, address = username.strip()[:64], (address or "?")[:64]
    check_sign_in_allowed(session, username, address, now)
    # Old attempts go: the table stays small whatever an attacker sends.
    session.execute(delete(m.SignInAttempt).where(m.SignInAttempt.at < now - KEEP_ATTEMPTS))
    user = session.scalar(select(m.User).where(m.User.username == username)) if username else None
    candidate = password[:MAX_PASSWORD]
    good = check_password_hash(user.password_hash if user and user.password_hash else _DUMMY_HASH, candidate)
    ok = bool(user and user.password_hash and good and not user.disabled)
    session.add(m.SignInAttempt(username=username, address=address, at=now, succeeded=ok))
    if not ok or user is None:
        raise InvalidInput(_("wrong username or password"))
    user.last_sign_in_at = now
    return _account(user)


#: Scopes worked out during one request (web pages, API calls), by account and its units; None keeps none.
_known_scopes: ContextVar[dict[tuple[int, tuple[str, ...]], frozenset[str]] | None] = ContextVar(
    "known_scopes", default=None)


def keep_scopes(keep: bool) -> None:
    """From now on remember each account's scope (``True``, at a request's start) or nothing (``False``).

    A page asks its guards several times for the same account's scope; the unit tree is walked
    once per request instead. Outside a request nothing is kept: the CLI and tests see every change.
    """
    _known_scopes.set({} if keep else None)


def scope_unit_codes(session: Session, account: Account) -> frozenset[str] | None:
    """The codes of every unit the account may see; None means every unit (admin)."""
    if account.is_admin:
        return None
    known = _known_scopes.get()
    key = (account.id, account.unit_codes)
    if known is not None and key in known:
        return known[key]
    codes: set[str] = set()
    for code in account.unit_codes:
        try:
            codes.update(u.code for u in unit_subtree(session, code))
        except UnknownUnit:
            continue  # a unit removed since: it simply adds nothing
    scope = frozenset(codes)
    if known is not None:
        known[key] = scope
    return scope


def in_scope(scope: frozenset[str] | None, unit_code: str | None) -> bool:
    """Whether a unit code lies in a scope from scope_unit_codes."""
    return scope is None or (unit_code is not None and unit_code in scope)


def require_unit(session: Session, account: Account, unit_code: str) -> None:
    """NotFound unless the unit exists and lies in the account's scope (same message either way)."""
    if not in_scope(scope_unit_codes(session, account), unit_code) or session.scalar(
            select(m.Unit.id).where(m.Unit.code == unit_code)) is None:
        raise UnknownUnit(_("no unit {code!r}", code=unit_code[:40]))


def staff_unit_codes(session: Session, staff_code: str) -> set[str]:
    """Codes of every unit a staff member has been assigned to (empty if no such person)."""
    return set(session.scalars(
        select(m.Unit.code).join(m.StaffAssignment, m.StaffAssignment.unit_id == m.Unit.id)
        .join(m.Staff, m.Staff.id == m.StaffAssignment.staff_id).where(m.Staff.code == staff_code)))


def require_staff(session: Session, account: Account, staff_code: str) -> None:
    """NotFound unless the person exists and has been assigned to a unit in the account's scope."""
    from .errors import UnknownStaff

    scope = scope_unit_codes(session, account)
    exists = session.scalar(select(m.Staff.id).where(m.Staff.code == staff_code)) is not None
    if not exists or (scope is not None and not (staff_unit_codes(session, staff_code) & scope)):
        raise UnknownStaff(_("no staff member {code!r}", code=staff_code[:40]))


def require_device(session: Session, account: Account, device_code: str) -> None:
    """NotFound unless the terminal exists and belongs to a unit in the scope (admin: any)."""
    from .errors import UnknownDevice

    row = session.execute(select(m.Device.id, m.Unit.code).outerjoin(m.Unit, m.Unit.id == m.Device.unit_id)
                          .where(m.Device.code == device_code)).first()
    if row is None or not in_scope(scope_unit_codes(session, account), row[1]):
        raise UnknownDevice(_("no device {code!r}", code=device_code[:40]))


def require_permission(account: Account, permission: Permission) -> None:
    """Forbidden unless the account's role grants the permission."""
    if not account.may(permission):
        raise Forbidden(_("your role ({role}) may not do this", role=account.role.value))
