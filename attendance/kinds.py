"""The kinds of device (terminal) the service knows: one enum for the bundle, pulls, health and pages."""

from __future__ import annotations

from enum import StrEnum


class DeviceKind(StrEnum):
    """How a device's punches arrive."""

    ZK_TCP = "zk_tcp"  # pulled: ZK binary protocol over TCP 4370
    ZK_UDP = "zk_udp"  # pulled: ZK binary protocol over UDP 4370
    ZK_SERIAL = "zk_serial"  # pulled: ZK binary protocol over RS232/RS485 (pyserial)
    ADMS_PUSH = "adms_push"  # the terminal calls /iclock/... (ZK ADMS push)
    SERIAL_LINES = "serial_lines"  # the terminal prints one punch per line on a serial port
    FILE = "file"  # exports imported with `attendance import`

    @property
    def pulled(self) -> bool:
        """Whether `attendance pull` and the scheduler fetch this kind."""
        return self in PULLED_KINDS


PULLED_KINDS = frozenset({DeviceKind.ZK_TCP, DeviceKind.ZK_UDP, DeviceKind.ZK_SERIAL})
