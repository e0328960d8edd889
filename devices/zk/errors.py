"""Exceptions of the ZK terminal client; every message names the terminal address."""

from __future__ import annotations

from typing import Any


class CodecError(ValueError):
    """Bytes that do not follow the ZK protocol (no terminal address: pure decoding).

    ``reason`` (a ``devices.parsers.reasons.Reason``), where there is one, is the same
    problem as a stable code and values, so a record quarantined for it can be worded in the
    language of whoever reads the ledger.
    """

    reason: Any = None

    @classmethod
    def because(cls, why: Any) -> CodecError:
        """The error whose English message, code and values all come from the Reason ``why``."""
        error = cls(str(why))
        error.reason = why
        return error


class ChecksumMismatch(CodecError):
    """A packet whose checksum field does not match its contents."""


class FramingError(CodecError):
    """A byte stream that is not a sequence of enveloped packets."""


class PayloadSizeError(CodecError):
    """An attendance payload whose size fits no known record width (or several)."""


class InvalidZKTime(CodecError):
    """A ZK-encoded time that decodes to no valid calendar date, or a date ZK cannot encode."""


class ZKError(Exception):
    """Base of every error talking to a terminal; ``address`` names the terminal."""

    def __init__(self, address: str, message: str) -> None:
        super().__init__(f"terminal {address}: {message}")
        self.address = address
        self.detail = message


class ZKConnectionError(ZKError):
    """The terminal cannot be reached, or it closed the connection."""


class ZKTimeoutError(ZKError, TimeoutError):
    """The terminal did not answer in time."""


class ZKAuthError(ZKError):
    """The terminal requires a comm key and refused (or was not given) the right one."""


class ZKProtocolError(ZKError):
    """An unexpected, malformed or corrupt reply; ``command`` is the request's code."""

    def __init__(self, address: str, message: str, command: int | None = None,
                 reply_code: int | None = None) -> None:
        super().__init__(address, message)
        self.command = command
        self.reply_code = reply_code


class ZKChecksumError(ZKProtocolError):
    """A reply arrived corrupted (bad checksum or bytes that are not a packet)."""


class ZKCommandRefused(ZKProtocolError):
    """The terminal answered ACK_ERROR (or ACK_UNKNOWN) to a command."""


class ZKUnsafeClearError(ZKError):
    """Clearing the log was refused because it could lose punches (see ZKClient.clear_attendance)."""
