"""ZK-family terminals: binary command protocol (TCP, UDP, serial), line-protocol serial mode
and a terminal simulator. No database imports; see README.md in this folder."""

from .client import ReadResult, ZKClient, connect_device
from .codec import AttendanceRecord, FreeSizes, UserEntry, UserTable
from .errors import (
    ZKAuthError,
    ZKChecksumError,
    ZKCommandRefused,
    ZKConnectionError,
    ZKError,
    ZKProtocolError,
    ZKTimeoutError,
    ZKUnsafeClearError,
)
from .transport import Transport, open_transport

__all__ = [
    "AttendanceRecord",
    "FreeSizes",
    "ReadResult",
    "Transport",
    "UserEntry",
    "UserTable",
    "ZKAuthError",
    "ZKChecksumError",
    "ZKClient",
    "ZKCommandRefused",
    "ZKConnectionError",
    "ZKError",
    "ZKProtocolError",
    "ZKTimeoutError",
    "ZKUnsafeClearError",
    "connect_device",
    "open_transport",
]
