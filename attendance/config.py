"""Settings of the web application: the defaults, where overrides come from, the secret key.

``create_app`` reads, each over the one before: ``DefaultConfig`` below, then the instance
config file (``instance/config.py``, or the file named by ``ATTENDANCE_CONFIG``), then the
``ATTENDANCE_*`` environment variables (``ATTENDANCE_SECRET_KEY``, ``ATTENDANCE_DATABASE_URL``,
``ATTENDANCE_ADMS_MAX_CONTENT_LENGTH``...), then the mapping a test passes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .db import default_instance_path
from .errors import InvalidInput
from .i18n import _

CONFIG_ENV = "ATTENDANCE_CONFIG"
DEV_SECRET_KEY = "dev"
MiB = 1024 * 1024


class DefaultConfig:
    """The defaults; every name here can be overridden by the instance file or the environment."""

    # Development only: `attendance serve` refuses to start with it (run `attendance init`).
    SECRET_KEY = DEV_SECRET_KEY
    # None: ATTENDANCE_DATABASE_URL, else instance/attendance.sqlite3.
    DATABASE_URL: str | None = None
    # The month pages show when none is asked (YYYY-MM); None: the month of the newest punch.
    DEFAULT_MONTH: str | None = None
    # Request bodies larger than this answer 413 before they are read (pages, later the API).
    MAX_CONTENT_LENGTH = 16 * MiB
    # The upload of exported punch logs (/imports) only: a year of a busy terminal is ~35 MB.
    IMPORT_MAX_CONTENT_LENGTH = 64 * MiB
    # Where uploads wait for the import worker (None: the system's temporary folder).
    IMPORT_UPLOAD_FOLDER: str | None = None
    # Push terminals (/iclock/...) send a few hundred punches per request; a body far
    # larger than any real upload is refused before it is read.
    ADMS_MAX_CONTENT_LENGTH = 8 * MiB
    # Answer to GET /iclock/cdata?type=time: zk, zk-local or iso (see terminals.time_sync_text).
    ADMS_TIME_FORMAT = "zk"
    # Unknown serials waiting for an administrator; beyond this a new serial is refused unstored.
    ADMS_MAX_WAITING_TERMINALS = 200
    # New unknown serials one remote address may introduce per hour (a looping script stops here).
    ADMS_NEW_SERIALS_PER_HOUR = 20
    # Seconds a web request waits for a database lock before answering 503 with Retry-After.
    DATABASE_LOCK_TIMEOUT = 10.0
    # Behind a reverse proxy: how many X-Forwarded-For hops to trust (0: use the peer address).
    # Allowed networks and per-address limits of push terminals depend on it.
    PROXY_FIX_X_FOR = 0

    # Sessions and cookies. Secure cookies are the default (the app runs behind TLS in
    # production); `attendance serve` on a loopback address turns them off unless this is set
    # explicitly, so that `make run` works over plain http://127.0.0.1.
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "attendance_session"
    # Idle expiry (renewed by each request) and absolute expiry (seconds since sign-in).
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    SESSION_ABSOLUTE_LIFETIME = 12 * 3600
    # A form may stay open on a tablet for hours: the token lives as long as the session.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = False  # the Referer check breaks behind some proxies; the token is the check
    CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_TRANSLATION_DIRECTORIES = "translations"


def config_file_path() -> Path:
    """The instance config file: ATTENDANCE_CONFIG if set, else config.py in the instance folder."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named).expanduser().resolve()
    return default_instance_path() / "config.py"


def read_config_file(path: Path) -> dict[str, Any]:
    """The upper-case names a Python config file sets (executed the way Flask's from_pyfile does)."""
    namespace: dict[str, Any] = {"__file__": str(path)}
    exec(compile(path.read_bytes(), str(path), "exec"), namespace)  # noqa: S102 - the administrator's own file
    return {key: value for key, value in namespace.items() if key.isupper()}


def load_config_file(config: Any) -> Path | None:
    """Apply the instance config file to a Flask config; return the file read, if any.

    The default file may be absent (the defaults then hold); a file named by
    ATTENDANCE_CONFIG must exist, because a typo there would otherwise go unnoticed.
    """
    path = config_file_path()
    if not path.is_file():
        if os.environ.get(CONFIG_ENV):
            raise InvalidInput(_("{variable} names {path}, which does not exist", variable=CONFIG_ENV, path=path))
        return None
    config.update(read_config_file(path))
    return path


def secret_key_problem(config: Mapping[str, Any]) -> str | None:
    """Why this configuration must not serve real users (no or the development key), or None."""
    if config.get("TESTING") or config.get("DEBUG"):
        return None
    key = config.get("SECRET_KEY")
    if not key or key == DEV_SECRET_KEY:
        if not key:
            return _("refusing to start with no SECRET_KEY; run 'attendance init' to write a random one "
                     "into {path}", path=config_file_path())
        return _("refusing to start with the development SECRET_KEY; run 'attendance init' to write a random "
                 "one into {path}", path=config_file_path())
    return None


def check_secret_key(config: Mapping[str, Any]) -> None:
    """Raise InvalidInput (one line) when the web app must not start with this secret key."""
    problem = secret_key_problem(config)
    if problem:
        raise InvalidInput(problem)


def ensure_secret_key(path: Path | None = None) -> tuple[Path, bool]:
    """Write a random SECRET_KEY into the config file unless it sets one; return (file, written).

    A new file is created readable by its owner only; an existing key is never replaced
    (sessions signed with it would all be lost).
    """
    import secrets

    path = path or config_file_path()
    if path.is_file() and read_config_file(path).get("SECRET_KEY"):
        return path, False
    line = ("# Written by 'attendance init': signs the session cookies. Keep it secret and keep it:\n"
            "# changing it signs everybody out.\n"
            f"SECRET_KEY = {secrets.token_hex(32)!r}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        text = path.read_text(encoding="utf-8")
        with path.open("a", encoding="utf-8") as handle:
            handle.write(("" if not text or text.endswith("\n") else "\n") + line)
        # The file now holds a secret: nobody but its owner should read it.
        os.chmod(path, path.stat().st_mode & 0o700)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(line)
    return path, True
