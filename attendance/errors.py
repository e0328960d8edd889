"""Domain errors of the attendance service: one module, mapped once by the CLI and once by HTTP.

Every use case raises one of these when a request cannot be done; the message is one line
that says why (and names the file, line and field where there is one). The command line
prints ``error: <message>`` and exits non-zero; the web layer answers with ``http_status``.
Nothing here imports Flask or click.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request that cannot be done; ``str(exc)`` says why in one line."""

    http_status = 400
    code = "invalid"


class InvalidInput(DomainError, ValueError):
    """Bad input: a file, a bundle, a date, a value out of range."""


class NotFound(DomainError, LookupError):
    """Something named by code or id does not exist."""

    http_status = 404
    code = "not_found"


class UnknownDevice(NotFound):
    """No device (terminal) with that code."""


class UnknownStaff(NotFound):
    """No staff member with that code."""


class UnknownUnit(NotFound):
    """No unit with that code."""


class UnknownBatch(NotFound):
    """No import batch with that id."""


class Conflict(DomainError):
    """The request contradicts what is stored (a serial already taken, a state that forbids it)."""

    http_status = 409
    code = "conflict"


class Forbidden(DomainError):
    """The user may see this but their role may not do it (outside their scope is NotFound)."""

    http_status = 403
    code = "forbidden"


class TooManyAttempts(DomainError):
    """Too many failed sign-ins for an account or from an address: refused for a while."""

    http_status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after_seconds: int = 300):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class NothingRead(InvalidInput):
    """A non-empty file or body from which not a single line could be read."""


class Busy(DomainError):
    """The database is busy (another writer holds the lock): try again shortly."""

    http_status = 503
    code = "busy"
    retry_after_seconds = 30


class TerminalUnreachable(DomainError):
    """A terminal did not answer or answered nonsense."""

    http_status = 502
    code = "terminal"
