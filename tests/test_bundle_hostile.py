"""Hostile and inconsistent set-up bundles are refused, each with the file or path and the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

import attendance.bundle as bundle_module
from attendance import models as m
from attendance.bundle import (
    MAX_BUNDLE_BYTES,
    MAX_DEPTH,
    BundleError,
    column_limit,
    parse_bundle_bytes,
    read_bundle_file,
    validate_bundle,
)
from attendance.db import transaction
from attendance.kinds import DeviceKind
from attendance.org import load_bundle

# These tests read what messages say: in English, the wording of the code.
pytestmark = pytest.mark.usefixtures("english")

SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"

BASE: dict = {
    "units": [{"code": "40", "name": "Tỉnh Nghệ An", "kind": "province"},
              {"code": "17830", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "40"}],
    "schedules": [{"code": "NA-2026", "units": ["40"], "valid_from": "2026-04-16", "valid_to": "2026-10-15",
                   "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "TK-01", "unit": "17830", "kind": "zk_serial", "port": "/dev/ttyUSB0",
                 "baudrate": 115200, "clock_offsets": [{"valid_from": "2026-10-01", "seconds": 0}]},
                {"code": "TK-02", "unit": "17830", "kind": "zk_tcp", "host": "192.168.1.201", "port": 4370}],
    "staff": [{"code": "NV001", "name": "Nguyễn Văn An", "unit": "17830", "employed_from": "2020-01-01",
               "enrollments": [{"device": "TK-01", "user_id": "101"}]},
              {"code": "NV002", "name": "Trần Thị Bích",
               "assignments": [{"unit": "17830", "valid_from": "2021-01-01", "valid_to": "2025-12-31"}],
               "enrollments": [{"device": "TK-01", "user_id": "102"}]}],
    "excuses": [{"staff": "NV001", "kind": "business_trip", "start": "2026-10-05T07:00",
                 "end": "2026-10-07T17:00", "reference": "12/QĐ-UBND"}],
}


def fresh() -> dict:
    """A deep copy of the valid base bundle to edit."""
    return json.loads(json.dumps(BASE))


def load(data: dict) -> dict:
    with transaction() as session:
        return load_bundle(session, validate_bundle(data)).as_dict()


def count(model: type) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def nothing_loaded() -> bool:
    return count(m.Unit) == 0 and count(m.Staff) == 0 and count(m.Device) == 0 and count(m.AuditLog) == 0


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATTENDANCE_DATABASE_URL": db_url}
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env, timeout=120)


def refused(data: bytes, name: str) -> str:
    """The one message with which the reader refuses these bytes."""
    with pytest.raises(BundleError) as caught:
        parse_bundle_bytes(data, name)
    assert len(caught.value.errors) == 1 and "\n" not in str(caught.value)
    return str(caught.value)


# ---------------------------------------------------------------- 1. bombs, depth, size

def billion_laughs() -> bytes:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return ("\n".join(lines) + "\n").encode()


def test_billion_laughs_is_refused_quickly_in_little_memory() -> None:
    data = billion_laughs()
    assert len(data) < 1024
    tracemalloc.start()
    started = time.perf_counter()
    message = refused(data, "laughs.yaml")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert message.startswith("laughs.yaml: line ") and "aliases expand to more than 10,000 values" in message
    assert elapsed < 5 and peak < 20 * 1024 * 1024


def test_small_aliases_such_as_yaml_safe_dump_writes_are_read() -> None:
    shared = [["07:00", "11:30"], ["13:30", "17:00"]]
    data = {"schedules": [{"code": "A", "sessions": shared}, {"code": "B", "sessions": shared}]}
    text = yaml.safe_dump(data)
    assert "&id" in text and "*id" in text
    parsed = parse_bundle_bytes(text.encode(), "shared.yaml")
    assert parsed == data
    assert parsed["schedules"][0]["sessions"] is not parsed["schedules"][1]["sessions"]
    assert validate_bundle(parsed).schedules[1]["sessions"] == shared


@pytest.mark.parametrize(("data", "message"), [
    (b"a: &x [1, *x]\n", "self.yaml: line 1: the alias *x is inside the value it names"),
    (b"a: *nope\n", "self.yaml: line 1: the alias *nope names no anchor before it"),
    (b"base: &b {x: 1}\nother: {<<: *b}\n", "self.yaml: line 2: merge keys (<<) are not accepted"),
])
def test_bad_aliases_are_refused(data: bytes, message: str) -> None:
    assert refused(data, "self.yaml").startswith(message)


def nested_mappings(levels: int) -> bytes:
    return "".join("  " * i + f"k{i}:\n" for i in range(levels - 1)).encode() + b"  " * (levels - 1) + b"k: 1\n"


def test_depth_limit_is_exact() -> None:
    parsed = parse_bundle_bytes(nested_mappings(MAX_DEPTH), "ok.yaml")
    depth, node = 0, parsed
    while isinstance(node, dict):
        depth, node = depth + 1, next(iter(node.values()))
    assert depth == MAX_DEPTH
    assert refused(nested_mappings(MAX_DEPTH + 1), "deep.yaml") == \
        f"deep.yaml: line {MAX_DEPTH + 1}: nested deeper than {MAX_DEPTH} levels"
    ok_json = ("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert parse_bundle_bytes(("{\"a\": " + ok_json[1:-1] + "}").encode(), "ok.json") == {"a": json.loads(ok_json[1:-1])}
    assert refused(("{\"a\": " + ok_json + "}").encode(), "deep.json") == f"deep.json: nested deeper than {MAX_DEPTH} levels"


def test_depth_through_an_alias_counts() -> None:
    anchor = "x: &d " + "[" * 5 + "]" * 5 + "\n"
    inner = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH - 4)) + "  " * (MAX_DEPTH - 4) + "k: *d\n"
    assert "nested deeper than" in refused((anchor + "y:\n" + "".join("  " + line + "\n" for line in inner.splitlines())).encode(), "alias.yaml")


@pytest.mark.parametrize(("name", "data"), [
    ("deep.yaml", b"[" * 5000 + b"]" * 5000),
    ("deep.yaml", b"".join(b" " * i + b"a:\n" for i in range(5000))),
    ("deep.yaml", b"a: " + b"{b: " * 5000 + b"1" + b"}" * 5000),
    ("deep.json", b"[" * 5000 + b"]" * 5000),
    ("deep.json", b'{"a": ' * 5000 + b"1" + b"}" * 5000),
    ("deep.json", b'{"a": "' + b"[" * 5000 + b'"}' + b"[" * 5000),
])
def test_five_thousand_levels_are_refused_not_a_recursion_error(name: str, data: bytes) -> None:
    message = refused(data, name)
    if data.startswith(b'{"a": "['):  # brackets inside a string do not nest
        assert message.startswith(f"{name}: nested deeper than {MAX_DEPTH} levels")
        return
    assert message.startswith(f"{name}: ") and f"nested deeper than {MAX_DEPTH} levels" in message


def test_too_many_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_module, "MAX_VALUES", 1000)
    items = ", ".join(["1"] * 1000)
    assert refused(f"units: [{items}]\n".encode(), "many.yaml") == "many.yaml: line 1: more than 1,000 values in one bundle"
    assert refused(f'{{"units": [{items}, 1]}}'.encode(), "many.json") == "many.json: more than 1,000 values in one bundle"
    parse_bundle_bytes(f"units: [{', '.join(['1'] * 997)}]\n".encode(), "fine.yaml")  # 1,000 with the mapping, its key and the list


def test_files_larger_than_the_limit_are_refused_before_parsing(tmp_path: Path) -> None:
    for name in ("big.yaml", "big.json"):
        path = tmp_path / name
        with open(path, "wb") as handle:
            handle.write(b"#" if name.endswith("yaml") else b" ")
            handle.truncate(MAX_BUNDLE_BYTES + 1)
        with pytest.raises(BundleError, match=rf"^{path}: larger than 20 MB, the most a set-up bundle may be$"):
            read_bundle_file(path)
    with pytest.raises(BundleError, match=rf"^{tmp_path / 'missing.yaml'}: cannot be read: No such file or directory$"):
        read_bundle_file(tmp_path / "missing.yaml")
    started = time.perf_counter()
    with pytest.raises(BundleError, match="^/dev/zero: larger than 20 MB"):
        read_bundle_file("/dev/zero")  # a file that never ends
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(("name", "data", "message"), [
    ("dup.yaml", b"units: []\nstaff: []\nunits: []\n", "dup.yaml: line 3: the key 'units' is given twice in one mapping"),
    ("dup.json", b'{"units": [], "units": []}', "dup.json: the key 'units' is given twice in one object"),
    ("tag.yaml", b"units: !!python/object/apply:os.system [ls]\n", "tag.yaml: line 1: the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not accepted"),
    ("tag.yaml", b"units: !!set {a}\n", "tag.yaml: line 1: the tag 'tag:yaml.org,2002:set' is not accepted"),
    ("two.yaml", b"units: []\n---\nstaff: []\n", "two.yaml: line 2: a bundle is one YAML document, found a second"),
    ("num.yaml", b"units: " + b":".join([b"1"] * 50000) + b"\n", "num.yaml: line 1: the number '1:1:1"),
    ("num.json", b'{"units": ' + b"9" * 5000 + b"}", "num.json: not valid JSON: a number has too many digits"),
    ("bad.yaml", b"units: [1, 2\nstaff: 3\n", "bad.yaml: line 2, column 6: not valid YAML: while parsing a flow sequence"),
    ("bad.json", b'{"units": [1, 2}', "bad.json: line 1: not valid JSON: Expecting ',' delimiter"),
    ("utf16.yaml", "units: []".encode("utf-16"), "utf16.yaml: not UTF-8 text (byte 0)"),
    ("list.yaml", b"- units\n", "list.yaml: the bundle must be a mapping with units, staff, ..."),
])
def test_malformed_files_are_refused_with_one_line(name: str, data: bytes, message: str) -> None:
    assert refused(data, name).startswith(message)


def test_unquoted_leading_zero_user_id_stays_text() -> None:
    parsed = parse_bundle_bytes(b"staff: [{code: NV1, name: A, enrollments: [{device: TK-01, user_id: 0101}]}]\n", "z.yaml")
    assert validate_bundle(parsed).staff[0]["enrollments"][0]["user_id"] == "0101"


@pytest.mark.parametrize(("name", "data", "message"), [
    ("laughs.yaml", billion_laughs(), "aliases expand to more than 10,000 values"),
    ("deep.json", b'{"units": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested deeper than 20 levels"),
])
def test_org_load_script_refuses_hostile_files(db_url: str, tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    done = cli(db_url, "org", "load", str(path))
    assert done.returncode != 0 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and message in lines[0], done.stderr
    assert nothing_loaded()


# ---------------------------------------------------------------- 2-4, 7-8. values, through load_bundle

Edit = Callable[[dict], None]


def _set(path: str, value: object) -> Edit:
    """An edit that sets a dotted/indexed path such as staff.0.employed_to."""
    def edit(data: dict) -> None:
        *parents, last = path.split(".")
        node: object = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value  # type: ignore[index]
    return edit


BAD_VALUES: list[tuple[Edit, str]] = [
    # 2. dates that contradict each other
    (_set("staff.0.employed_to", "2019-12-31"), "staff[0].employed_to: 2019-12-31 is before employed_from 2020-01-01"),
    (_set("staff.1.assignments.0.valid_to", "2020-12-31"),
     "staff[1].assignments[0].valid_to: 2020-12-31 is before valid_from 2021-01-01"),
    (_set("schedules.0.valid_to", "2026-04-15"), "schedules[0].valid_to: 2026-04-15 is before valid_from 2026-04-16"),
    (_set("excuses.0.end", "2026-10-05T07:00"), "excuses[0].end: 2026-10-05T07:00 is not after start 2026-10-05T07:00"),
    (_set("excuses.0.end", "2026-10-04T17:00"), "excuses[0].end: 2026-10-04T17:00 is not after start"),
    (_set("devices.0.clock_offsets.0.seconds", 86401), "devices[0].clock_offsets[0].seconds: must be between -86400 and 86400"),
    (_set("devices.0.clock_offsets.0.seconds", -10**12), "devices[0].clock_offsets[0].seconds: must be between"),
    (_set("staff.0.employed_from", "0020-01-01"), "staff[0].employed_from: '0020-01-01' is outside 1900-2100"),
    (_set("excuses.0.start", "2026-10-05T07:00+07:00"), "excuses[0].start: expected a local date-time"),
    (_set("devices.0.clock_offsets", [{"valid_from": "2026-10-01", "seconds": 0}, {"valid_from": "2026-10-01", "seconds": 5}]),
     "devices[0].clock_offsets[1].valid_from: datetime.date(2026, 10, 1) already given at devices[0].clock_offsets[0]"),
    # 3. types of device settings
    (_set("devices.0.port", {"path": "/dev/ttyUSB0"}), "devices[0].port: expected a serial device or pyserial URL"),
    (_set("devices.0.port", ["/dev/ttyUSB0"]), "devices[0].port: expected a serial device or pyserial URL"),
    (_set("devices.0.port", 4370), "devices[0].port: a zk_serial device needs a serial device such as /dev/ttyUSB0"),
    (_set("devices.0.port", "ttyUSB0"), "devices[0].port: expected a serial device such as /dev/ttyUSB0 or COM3"),
    (_set("devices.0.port", "http://10.0.0.1:80"), "devices[0].port: unknown pyserial URL scheme 'http'"),
    (_set("devices.1.port", "4370"), "devices[1].port: a zk_tcp device needs a network port 1-65535, got '4370'"),
    (_set("devices.1.port", 65536), "devices[1].port: must be between 1 and 65535, got 65536"),
    (_set("devices.1.port", True), "devices[1].port: expected a serial device or pyserial URL"),
    (_set("devices.0.baudrate", 12345), "devices[0].baudrate: must be one of 1200, 2400"),
    (_set("devices.0.baudrate", {"x": 1}), "devices[0].baudrate: must be one of"),
    (_set("devices.1.host", "bad host!"), "devices[1].host: expected a host name or IP address, got 'bad host!'"),
    (_set("devices.1.host", {"ip": "10.0.0.1"}), "devices[1].host: expected text"),
    (_set("devices.1.host", "10.0.0.999"), "devices[1].host: expected a host name or IP address"),
    (_set("devices.1.comm_key", 1000000), "devices[1].comm_key: must be between 0 and 999999"),
    (_set("devices.1.comm_key", "1234"), "devices[1].comm_key: expected a whole number"),
    (_set("devices.0.machine_number", 0), "devices[0].machine_number: must be between 1 and 255"),
    (_set("devices.0.machine_number", 256), "devices[0].machine_number: must be between 1 and 255"),
    (_set("devices.0.host", "10.0.0.1"), "devices[0].host: not used by a zk_serial device (only by zk_tcp, zk_udp)"),
    (_set("devices.1.kind", "zk_usb"), "devices[1].kind: must be one of zk_tcp, zk_udp, zk_serial, adms_push"),
    (_set("devices.1.allowed_networks", ["10.0.0.0/8"]), "devices[1].allowed_networks: not used by a zk_tcp device (only by adms_push)"),
    (_set("devices.1", {"code": "P", "kind": "adms_push", "allowed_networks": ["10.0.0.0/33"]}),
     "devices[1].allowed_networks: [0]: '10.0.0.0/33' is not an IP network"),
    (_set("devices.1", {"code": "P", "kind": "adms_push", "allowed_networks": "10.0.0.0/8"}),
     "devices[1].allowed_networks: expected a list of networks"),
    (_set("devices.0.clock_offsets", {"valid_from": "2026-10-01", "seconds": 0}), "devices[0].clock_offsets: expected a list"),
    (_set("staff.0.enrollments", "TK-01:101"), "staff[0].enrollments: expected a list"),
    (_set("staff.0.name", {"first": "An"}), "staff[0].name: expected text"),
    (_set("calendar", {"country": "Việt Nam"}), "calendar.country: expected a two-letter country code"),
    (_set("units.0.timezone", "Asia/Hanoi_Nowhere"), "units[0].timezone: unknown time zone"),
    (_set("units.0.timezone", "../../etc/passwd"), "units[0].timezone: unknown time zone"),
    # 4. text that does not fit (or cannot be stored)
    (_set("staff.0.name", "An\x00"), "staff[0].name: contains a control character"),
    (_set("staff.0.name", "A" * 201), "staff[0].name: 201 characters long, at most 200 fit"),
    (_set("staff.0.assignments", [{"unit": "40"}]), "staff[0].unit: give either unit or assignments, not both"),
    # 8. unknown keys, at any level
    (_set("staff.0.enrollments.0.pin", "1"), "staff[0].enrollments[0].pin: unknown key (allowed: device, user_id, transfer_from)"),
    (_set("devices.0.clock_offsets.0.drift", 1), "devices[0].clock_offsets[0].drift: unknown key"),
    (_set("settings", {"dedupe_seconds": 60, "colour": "red"}), "settings.colour: unknown key"),
]


@pytest.mark.parametrize(("edit", "message"), BAD_VALUES)
def test_bad_values_name_their_path_and_nothing_loads(db_url: str, edit: Edit, message: str) -> None:
    data = fresh()
    edit(data)
    with pytest.raises(BundleError) as caught:
        load(data)
    assert caught.value.errors[0].startswith(message), caught.value.errors
    assert nothing_loaded()


# Each String column the bundle writes, with where to put a too-long value.
LENGTHS: list[tuple[str, object]] = [
    ("units.0.code", m.Unit.code), ("units.0.name", m.Unit.name), ("units.0.kind", m.Unit.kind),
    ("schedules.0.code", m.Schedule.code), ("devices.0.code", m.Device.code), ("devices.0.name", m.Device.name),
    ("devices.0.serial", m.Device.serial), ("staff.0.code", m.Staff.code), ("staff.0.name", m.Staff.name),
    ("staff.0.position", m.Staff.position), ("staff.0.enrollments.0.user_id", m.Enrollment.user_id),
    ("excuses.0.kind", m.Excuse.kind), ("excuses.0.reference", m.Excuse.reference),
]


def _path_label(path: str) -> str:
    parts = path.split(".")
    out = parts[0]
    for part in parts[1:]:
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out


@pytest.mark.parametrize(("path", "column"), LENGTHS, ids=[p for p, _ in LENGTHS])
def test_text_longer_than_its_column_is_refused_on_every_backend(db_url: str, path: str, column: object) -> None:
    limit = column_limit(column)
    data = fresh()
    _set(path, "X" * (limit + 1))(data)
    with pytest.raises(BundleError) as caught:
        load(data)
    assert f"{_path_label(path)}: {limit + 1} characters long, at most {limit} fit" in caught.value.errors
    assert nothing_loaded()


def test_text_exactly_as_long_as_its_column_loads_on_every_backend(db_url: str) -> None:
    data = fresh()
    long = {path: "Ñ" * column_limit(column) for path, column in LENGTHS if not path.endswith(".code")}
    for path, value in long.items():
        _set(path, value)(data)
    data["calendar"] = {"overrides": [{"date": "2026-01-02", "kind": "day_off",
                                       "reference": "R" * column_limit(m.CalendarOverride.reference)}]}
    load(data)
    with transaction() as session:
        assert session.scalar(select(m.Enrollment.user_id)) in (long["staff.0.enrollments.0.user_id"], "102")
        assert session.scalar(select(m.Device.serial).where(m.Device.code == "TK-01")) == long["devices.0.serial"]


def test_every_device_kind_loads_and_allowed_networks_are_stored(db_url: str) -> None:
    data = fresh()
    data["devices"] = [{"code": f"D-{kind.value}", "kind": kind.value} for kind in DeviceKind]
    data["devices"].append({"code": "PUSH", "kind": "adms_push", "serial": "CKJ1234567",
                            "allowed_networks": ["192.168.1.0/24", "10.1.2.3/8", "2001:db8::/32", "203.0.113.7"]})
    data["staff"], data["excuses"] = [], []
    load(data)
    with transaction() as session:
        kinds = set(session.scalars(select(m.Device.kind)))
        push = session.scalar(select(m.Device).where(m.Device.code == "PUSH"))
    assert kinds == {kind.value for kind in DeviceKind}
    assert push.settings == {"allowed_networks": ["192.168.1.0/24", "10.0.0.0/8", "2001:db8::/32", "203.0.113.7/32"]}


def test_serial_and_network_ports_of_the_right_kind_load(db_url: str) -> None:
    data = fresh()
    data["devices"][0].update(port="socket://127.0.0.1:4370", machine_number=3, framing="rs485")
    data["devices"][1].update(host="may-cham-cong.local", comm_key=999999)
    load(data)
    with transaction() as session:
        settings = {code: value for code, value in session.execute(select(m.Device.code, m.Device.settings))}
    assert settings["TK-01"] == {"port": "socket://127.0.0.1:4370", "baudrate": 115200, "machine_number": 3,
                                 "framing": "rs485"}
    assert settings["TK-02"] == {"host": "may-cham-cong.local", "port": 4370, "comm_key": 999999}


def test_several_errors_are_all_reported(db_url: str) -> None:
    data = fresh()
    data["staff"][0]["employed_to"] = "2019-01-01"
    data["devices"][1]["port"] = {"a": 1}
    data["units"][1]["name"] = "N" * 201
    with pytest.raises(BundleError) as caught:
        load(data)
    assert len(caught.value.errors) == 3 and str(caught.value).endswith("(and 2 more)")


def test_org_load_script_refuses_a_mapping_as_port(db_url: str, tmp_path: Path) -> None:
    data = fresh()
    data["devices"][1]["port"] = {"number": 4370}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert cli(db_url, "init").returncode == 0
    done = cli(db_url, "org", "load", str(path))
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: devices[1].port: expected a serial device or pyserial URL (text) or a network port 1-65535, "
        "got {'number': 4370}"]
    assert nothing_loaded()


# ---------------------------------------------------------------- 5. enrollments do not move silently

def enrollment_owner(device: str, user_id: str) -> str | None:
    with transaction() as session:
        return session.scalar(
            select(m.Staff.code).join(m.Enrollment, m.Enrollment.staff_id == m.Staff.id)
            .join(m.Device, m.Device.id == m.Enrollment.device_id)
            .where(m.Device.code == device, m.Enrollment.user_id == user_id))


def handed_over(transfer_from: str | None = None, keep_first: bool = True) -> dict:
    """The base bundle in which NV001's TK-01 user id 101 is listed under NV002 instead."""
    data = fresh()
    enrollment = {"device": "TK-01", "user_id": "101"}
    if transfer_from is not None:
        enrollment["transfer_from"] = transfer_from
    data["staff"][0]["enrollments"] = []
    data["staff"][1]["enrollments"].append(enrollment)
    if not keep_first:  # NV001 is not in the later bundle at all
        del data["staff"][0]
        data["excuses"] = []
    return data


MOVE_REFUSED = ("staff[{i}].enrollments[1].user_id: '101' on TK-01 is enrolled for NV001 (Nguyễn Văn An); "
                "giving it to NV002 (Trần Thị Bích) would move NV001's punch history: "
                "add transfer_from: NV001 to this enrollment to move it")


@pytest.mark.parametrize("keep_first", [True, False])
def test_an_enrollment_of_another_person_is_not_moved_silently(db_url: str, keep_first: bool) -> None:
    load(fresh())
    audits = count(m.AuditLog)
    with pytest.raises(BundleError) as caught:
        load(handed_over(keep_first=keep_first))
    assert caught.value.errors == [MOVE_REFUSED.format(i=1 if keep_first else 0)]
    assert enrollment_owner("TK-01", "101") == "NV001" and count(m.AuditLog) == audits


def test_an_explicit_transfer_moves_the_enrollment_and_is_audited(db_url: str) -> None:
    load(fresh())
    report = load(handed_over("NV001"))
    assert report == {"created": {}, "updated": {"enrollment": 1}, "deleted": {}}
    assert enrollment_owner("TK-01", "101") == "NV002"
    with transaction() as session:
        audit = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "enrollment",
                                                         m.AuditLog.action == "update")).one()
        ids = dict(session.execute(select(m.Staff.code, m.Staff.id)).all())
    assert audit.entity_key == "TK-01:101"
    assert audit.changes == {"staff": ["NV001", "NV002"], "staff_id": [ids["NV001"], ids["NV002"]]}
    # The transfer note may stay in the bundle: loading it again changes nothing.
    assert load(handed_over("NV001")) == {"created": {}, "updated": {}, "deleted": {}}


def test_a_transfer_from_someone_else_is_refused(db_url: str) -> None:
    data = fresh()
    data["staff"].append({"code": "NV003", "name": "Lê Văn Cường", "unit": "17830"})
    load(data)
    moved = handed_over("NV003")
    moved["staff"].append(data["staff"][2])
    with pytest.raises(BundleError) as caught:
        load(moved)
    assert caught.value.errors == [
        "staff[1].enrollments[1].user_id: '101' on TK-01 is enrolled for NV001 (Nguyễn Văn An) "
        "(transfer_from names NV003); giving it to NV002 (Trần Thị Bích) would move NV001's punch "
        "history: add transfer_from: NV001 to this enrollment to move it"]
    with pytest.raises(BundleError, match=r"^staff\[1\]\.enrollments\[1\]\.transfer_from: no staff member 'NV404'"):
        load(handed_over("NV404"))
    own = fresh()
    own["staff"][0]["enrollments"][0]["transfer_from"] = "NV001"
    with pytest.raises(BundleError, match=r"^staff\[0\]\.enrollments\[0\]\.transfer_from: names NV001 itself$"):
        load(own)
    assert enrollment_owner("TK-01", "101") == "NV001"


def test_org_load_script_refuses_a_silent_move_and_performs_an_explicit_one(db_url: str, tmp_path: Path) -> None:
    assert cli(db_url, "init").returncode == 0
    for name, data in (("first.yaml", fresh()), ("silent.yaml", handed_over()), ("explicit.yaml", handed_over("NV001"))):
        (tmp_path / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert cli(db_url, "org", "load", str(tmp_path / "first.yaml")).returncode == 0
    done = cli(db_url, "org", "load", str(tmp_path / "silent.yaml"))
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == ["error: " + MOVE_REFUSED.format(i=1)]
    assert enrollment_owner("TK-01", "101") == "NV001"
    done = cli(db_url, "org", "load", "--json", str(tmp_path / "explicit.yaml"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["updated"] == {"enrollment": 1}
    assert enrollment_owner("TK-01", "101") == "NV002"


# ---------------------------------------------------------------- 6. unique columns

def test_two_devices_with_one_serial_in_the_bundle_are_refused(db_url: str) -> None:
    data = fresh()
    data["devices"].append({"code": "BW-01", "kind": "file", "serial": "OIN7030067011301"})
    data["devices"].append({"code": "BW-02", "kind": "adms_push", "serial": "OIN7030067011301"})
    with pytest.raises(BundleError) as caught:
        load(data)
    assert caught.value.errors == ["devices[3].serial: 'OIN7030067011301' already given at devices[2]"]
    assert nothing_loaded()


def test_a_serial_already_in_the_database_is_reported_with_the_bundle_path(db_url: str) -> None:
    data = fresh()
    data["devices"].append({"code": "BW-01", "kind": "file", "serial": "OIN7030067011301"})
    load(data)
    later = fresh()
    later["devices"].append({"code": "PUSH-9", "kind": "adms_push", "serial": "OIN7030067011301"})
    with pytest.raises(BundleError) as caught:
        load(later)
    assert caught.value.errors == ["devices[2].serial: 'OIN7030067011301' is already the serial of device BW-01"]
    with transaction() as session:
        assert session.scalar(select(m.Device).where(m.Device.code == "PUSH-9")) is None


def test_two_devices_may_swap_serials_in_one_bundle(db_url: str) -> None:
    data = fresh()
    data["devices"][0]["serial"], data["devices"][1]["serial"] = "AAA", "BBB"
    load(data)
    data["devices"][0]["serial"], data["devices"][1]["serial"] = "BBB", "AAA"
    assert load(data)["updated"] == {"device": 2}
    with transaction() as session:
        serials = {code: serial for code, serial in session.execute(select(m.Device.code, m.Device.serial))}
        changes = [a.changes for a in session.scalars(
            select(m.AuditLog).where(m.AuditLog.entity == "device", m.AuditLog.action == "update")
            .order_by(m.AuditLog.entity_key))]
    assert serials == {"TK-01": "BBB", "TK-02": "AAA"}
    assert changes == [{"serial": ["AAA", "BBB"]}, {"serial": ["BBB", "AAA"]}]


def test_the_same_excuse_twice_is_refused(db_url: str) -> None:
    data = fresh()
    data["excuses"].append({**data["excuses"][0], "reference": "13/QĐ-UBND"})
    with pytest.raises(BundleError) as caught:
        load(data)
    assert caught.value.errors == ["excuses[1]: the same staff, kind, start and end already given at excuses[0]"]
