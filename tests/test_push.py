"""ZK push terminals (ADMS / iclock): handshake, uploads, heartbeat commands, approval."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from web_helpers import signed_in_client

from attendance import create_app, terminals
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import ledger_rows
from attendance.org import load_bundle
from attendance.terminals import (
    PushAdminError,
    approve_terminal,
    backfill_command,
    pending_terminals,
    queue_backfill,
    queue_command,
    reject_terminal,
    time_sync_text,
)
from devices.parsers import PUNCH_COLUMNS
from devices.parsers.zk_push import parse_push_body

# These tests read what messages say: in English, the wording of the code.
pytestmark = pytest.mark.usefixtures("english")

SERIAL = "CQZ7231260012"
BUNDLE = {
    "units": [{"code": "40", "name": "Tỉnh Nghệ An", "kind": "province"},
              {"code": "17830", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "40"}],
    "devices": [{"code": "TK-PUSH", "unit": "17830", "kind": "adms_push", "serial": SERIAL}],
    "staff": [
        {"code": f"NV{i:03d}", "name": name, "unit": "17830", "enrollments": [{"device": "TK-PUSH", "user_id": str(100 + i)}]}
        for i, name in enumerate(["Nguyễn Văn An", "Trần Thị Bích", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em"], 1)
    ],  # 106 is not enrolled: stored like any other punch, counted as an unknown user
}
# Monday 5 October 2026 at the commune office; columns PIN, time, status, verify, work code,
# reserved, reserved — some lines without the optional tail, as firmwares differ.
BODY = (
    "101\t2026-10-05 06:58:12\t0\t1\t0\t0\t0\n"
    "102\t2026-10-05 07:01:40\t0\t15\t0\t0\t0\n"
    "103\t2026-10-05 07:03:05\t0\t1\t0\n"
    "104\t2026-10-05 07:10:59\t0\t4\n"
    "105\t2026-10-05 11:30:02\t1\t1\t0\t0\t0\n"
    "106\t2026-10-05 11:31:47\t1\t15\t7\t0\t0\n"
)
EXPECTED = [
    ("101", "2026-10-05 06:58:12", 0, 1, "0"),
    ("102", "2026-10-05 07:01:40", 0, 15, "0"),
    ("103", "2026-10-05 07:03:05", 0, 1, "0"),
    ("104", "2026-10-05 07:10:59", 0, 4, None),
    ("105", "2026-10-05 11:30:02", 1, 1, "0"),
    ("106", "2026-10-05 11:31:47", 1, 15, "7"),
]


def make_client(db_url: str, **config: object) -> FlaskClient:
    return create_app({"DATABASE_URL": db_url, "TESTING": True, **config}).test_client()


@pytest.fixture
def client(db_url: str) -> Iterator[FlaskClient]:
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(BUNDLE))))
    # Signed in as an administrator for the pages; terminals' /iclock calls ignore the session.
    yield signed_in_client(create_app({"DATABASE_URL": db_url, "TESTING": True}))


def upload(client: FlaskClient, body: str, stamp: str = "9876", serial: str = SERIAL, table: str = "ATTLOG"):
    return client.post(f"/iclock/cdata?SN={serial}&table={table}&Stamp={stamp}", data=body.encode(),
                       content_type="text/plain")


def handshake(client: FlaskClient, serial: str = SERIAL):
    return client.get(f"/iclock/cdata?SN={serial}&options=all&pushver=2.4.1")


def punch_tuples(device: str = "TK-PUSH") -> list[tuple[object, ...]]:
    with transaction() as session:
        rows = ledger_rows(session, device, None, None)
    return [(r["user_id"], r["device_time"], r["status"], r["verify"], r["work_code"]) for r in rows]


# --------------------------------------------------------------------------- HTTP


def test_handshake_stamp_before_and_after_an_upload(client: FlaskClient) -> None:
    reply = handshake(client)
    assert reply.status_code == 200 and reply.mimetype == "text/plain"
    assert reply.get_data(as_text=True).splitlines() == [
        f"GET OPTION FROM: {SERIAL}", "ATTLOGStamp=0", "OPERLOGStamp=9999", "ErrorDelay=60", "Delay=30",
        "TransTimes=00:00;14:05", "TransInterval=1", "TransFlag=AttLog", "Realtime=1", "TimeZone=7", "Encrypt=0",
    ]
    with transaction() as session:
        device = session.scalar(select(m.Device).where(m.Device.serial == SERIAL))
        assert device.last_contact_at is not None  # every request of a known terminal counts

    assert upload(client, BODY, stamp="9876").get_data(as_text=True) == "OK: 6"
    assert "ATTLOGStamp=9876" in handshake(client).get_data(as_text=True).splitlines()
    # A late resend of an older batch does not move the stamp back.
    assert upload(client, BODY.splitlines(keepends=True)[0], stamp="9000").get_data(as_text=True) == "OK: 1"
    assert "ATTLOGStamp=9876" in handshake(client).get_data(as_text=True).splitlines()


def test_upload_stores_punches_with_their_values_and_the_raw_body(client: FlaskClient) -> None:
    reply = upload(client, BODY)
    assert reply.status_code == 200 and reply.get_data(as_text=True) == "OK: 6"
    assert punch_tuples() == EXPECTED
    with transaction() as session:
        batch = session.scalars(select(m.ImportBatch)).one()
        assert (batch.source, batch.filename, batch.format) == ("push", f"push:{SERIAL}:9876", "zk_push")
        assert (batch.read, batch.inserted, batch.duplicates, batch.rejected, batch.unknown_users) == (6, 6, 0, 0, 1)
        assert batch.sha256 == hashlib.sha256(BODY.encode()).hexdigest() and batch.size == len(BODY.encode())
        content = session.get(m.RawContent, batch.content_sha256)
        assert batch.content_sha256 == batch.sha256 and zlib.decompress(content.data) == BODY.encode()
        assert set(session.scalars(select(m.Punch.batch_id))) == {batch.id}


def test_a_resent_batch_is_ok_and_stores_nothing_twice(client: FlaskClient) -> None:
    assert upload(client, BODY).get_data(as_text=True) == "OK: 6"
    again = upload(client, BODY)
    assert again.status_code == 200 and again.get_data(as_text=True) == "OK: 6"  # the terminal moves on
    assert punch_tuples() == EXPECTED
    with transaction() as session:
        second = session.scalars(select(m.ImportBatch).order_by(m.ImportBatch.id.desc())).first()
        assert (second.read, second.inserted, second.duplicates) == (6, 0, 6)
        # The replayed body is kept once: both batches point at the same raw content.
        assert session.scalar(select(func.count()).select_from(m.RawContent)) == 1


def test_a_bad_line_is_kept_as_a_rejected_row_and_the_good_ones_are_stored(client: FlaskClient) -> None:
    lines = BODY.splitlines(keepends=True)
    body = "".join([*lines[:2], "103\t2026-10-32 07:03:05\t0\t1\t0\t0\t0\n", "\n", *lines[3:]])
    assert upload(client, body).get_data(as_text=True) == "OK: 5"
    assert punch_tuples() == [EXPECTED[i] for i in (0, 1, 3, 4, 5)]
    with transaction() as session:
        rejected = session.scalars(select(m.RejectedRow)).one()
        assert rejected.line_no == 3 and rejected.raw == "103\t2026-10-32 07:03:05\t0\t1\t0\t0\t0"
        assert rejected.reason.startswith("field 2 (time): '2026-10-32 07:03:05' is not a valid date/time")
        batch = session.scalars(select(m.ImportBatch)).one()
        assert (batch.read, batch.inserted, batch.rejected) == (6, 5, 1)  # the blank line is not read


def test_other_tables_are_acknowledged_and_ignored(client: FlaskClient) -> None:
    reply = upload(client, "USER PIN=101\tName=Nguyen Van An\n", table="OPERLOG", stamp="1")
    assert reply.status_code == 200 and reply.get_data(as_text=True) == "OK"
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(m.ImportBatch)) == 0
        assert session.scalar(select(m.Device.push_stamp)) is None


def test_requests_without_a_serial_are_bad_requests(client: FlaskClient) -> None:
    assert client.get("/iclock/cdata?options=all").status_code == 400
    assert client.get("/iclock/getrequest").status_code == 400
    assert client.get(f"/iclock/getrequest?SN={'X' * 65}").status_code == 400


def test_unknown_serial_is_refused_listed_then_approved(client: FlaskClient) -> None:
    stranger = "AF8K204360777"
    assert handshake(client, stranger).status_code == 401
    refused = upload(client, BODY, serial=stranger)
    assert refused.status_code == 401 and "not registered" in refused.get_data(as_text=True)
    assert client.get(f"/iclock/getrequest?SN={stranger}").status_code == 401
    assert punch_tuples() == []
    with transaction() as session:
        [row] = pending_terminals(session)
    assert (row["serial"], row["status"], row["requests"], row["remote_addr"]) == (stranger, "pending", 3, "127.0.0.1")
    assert row["first_seen"] <= row["last_seen"]

    page = client.get("/devices/pending")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert stranger in text and "Máy chấm công chờ duyệt" in text and "Chờ duyệt" in text

    with transaction() as session:
        with pytest.raises(PushAdminError, match="no unit"):
            approve_terminal(session, stranger, "TK-PUSH-2", "99999", actor="admin")
        with pytest.raises(PushAdminError, match="has called in"):
            approve_terminal(session, "NEVER-SEEN", "TK-PUSH-2", "17830", actor="admin")
    with transaction() as session:
        device = approve_terminal(session, stranger, "TK-PUSH-2", "17830", actor="admin")
        assert (device.kind, device.serial) == ("adms_push", stranger)
    with transaction() as session:
        assert pending_terminals(session) == []
        assert pending_terminals(session, include_decided=True)[0]["status"] == "approved"
        audit = {(a.entity, a.entity_key, a.action, a.actor) for a in session.scalars(select(m.AuditLog))}
        assert ("device", "TK-PUSH-2", "create", "admin") in audit
        assert ("pending_terminal", stranger, "update", "admin") in audit

    assert handshake(client, stranger).status_code == 200
    assert upload(client, BODY, serial=stranger).get_data(as_text=True) == "OK: 6"
    assert punch_tuples("TK-PUSH-2") == EXPECTED
    assert punch_tuples("TK-PUSH") == []


def test_approving_a_serial_that_another_device_holds_is_refused(client: FlaskClient, db_url: str) -> None:
    late = "LATE0000042"
    assert handshake(client, late).status_code == 401
    # Meanwhile the set-up bundle registers it on a device of its own.
    bundle = json.loads(json.dumps(BUNDLE))
    bundle["devices"].append({"code": "TK-LATE", "unit": "17830", "kind": "adms_push", "serial": late})
    with transaction() as session:
        load_bundle(session, validate_bundle(bundle))
    with transaction() as session:
        assert pending_terminals(session) == []  # registered since: nobody needs to approve it
        assert pending_terminals(session, include_decided=True)[0]["status"] == "registered"
        with pytest.raises(PushAdminError, match="already belongs to device 'TK-LATE'"):
            approve_terminal(session, late, "TK-OTHER", "17830", actor="admin")
        with pytest.raises(PushAdminError, match="registered as device 'TK-LATE'"):
            reject_terminal(session, late, actor="admin")
        # Approving it under the code that holds it is a harmless repeat.
        assert approve_terminal(session, late, "TK-LATE", None, actor="admin").code == "TK-LATE"
    assert handshake(client, late).status_code == 200


def test_a_rejected_terminal_stays_refused_and_listed(client: FlaskClient) -> None:
    stranger = "BOGUS000001"
    assert handshake(client, stranger).status_code == 401
    with transaction() as session:
        reject_terminal(session, stranger, actor="admin")
        with pytest.raises(PushAdminError, match="has called in"):
            reject_terminal(session, "NEVER-SEEN", actor="admin")
    reply = upload(client, BODY, serial=stranger)
    assert reply.status_code == 403
    with transaction() as session:
        assert pending_terminals(session) == []
        [row] = pending_terminals(session, include_decided=True)
        assert (row["status"], row["requests"]) == ("rejected", 2)
        assert session.scalar(select(func.count()).select_from(m.Punch)) == 0
    assert "Đã từ chối" in client.get("/devices/pending").get_data(as_text=True)


def test_heartbeat_sends_queued_commands_once_then_ok(client: FlaskClient) -> None:
    assert client.get(f"/iclock/getrequest?SN={SERIAL}").get_data(as_text=True) == "OK"
    with transaction() as session:
        device = session.scalar(select(m.Device).where(m.Device.serial == SERIAL))
        first = queue_backfill(session, device, dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 31, 23, 59, 59))
        second = queue_command(session, device, "INFO")
        ids = (first.id, second.id)
    reply = client.get(f"/iclock/getrequest?SN={SERIAL}&INFO=Ver%208.0.4,6,0,120,192.168.1.201")
    assert reply.get_data(as_text=True) == (
        f"C:{ids[0]}:DATA QUERY ATTLOG StartTime=2026-10-01 00:00:00\tEndTime=2026-10-31 23:59:59\n"
        f"C:{ids[1]}:INFO\n"
    )
    assert client.get(f"/iclock/getrequest?SN={SERIAL}").get_data(as_text=True) == "OK"
    with transaction() as session:
        rows = session.scalars(select(m.DeviceCommand).order_by(m.DeviceCommand.id)).all()
        assert [(r.status, r.sent_at is not None) for r in rows] == [("sent", True), ("sent", True)]


def test_devicecmd_results_mark_commands_done_or_failed(client: FlaskClient) -> None:
    with transaction() as session:
        device = session.scalar(select(m.Device).where(m.Device.serial == SERIAL))
        backfill = queue_backfill(session, device, dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 2))
        info = queue_command(session, device, "INFO")
        ids = (backfill.id, info.id)
    client.get(f"/iclock/getrequest?SN={SERIAL}")
    body = (f"ID={ids[0]}&Return=0&CMD=DATA QUERY\n"
            f"ID={ids[1]}&Return=-1002&CMD=INFO\n"
            "ID=99999&Return=0&CMD=INFO\n")  # not ours: ignored
    reply = client.post(f"/iclock/devicecmd?SN={SERIAL}", data=body.encode(), content_type="text/plain")
    assert reply.status_code == 200 and reply.get_data(as_text=True) == "OK"
    with transaction() as session:
        done, failed = (session.get(m.DeviceCommand, i) for i in ids)
        assert (done.status, done.return_code, done.result) == ("done", 0, f"ID={ids[0]}&Return=0&CMD=DATA QUERY")
        assert (failed.status, failed.return_code) == ("failed", -1002)
        assert done.done_at is not None and failed.done_at is not None


def test_backfill_command_text_and_checks(db_url: str) -> None:
    assert backfill_command(dt.datetime(2026, 10, 5, 7, 0), dt.datetime(2026, 10, 5, 17, 30, 15)) == (
        "DATA QUERY ATTLOG StartTime=2026-10-05 07:00:00\tEndTime=2026-10-05 17:30:15")
    with transaction() as session:
        load_bundle(session, validate_bundle(json.loads(json.dumps(BUNDLE))))
    with transaction() as session:
        device = session.scalar(select(m.Device))
        with pytest.raises(PushAdminError, match="before its start"):
            queue_backfill(session, device, dt.datetime(2026, 10, 5), dt.datetime(2026, 10, 4))
        with pytest.raises(PushAdminError, match="one non-empty line"):
            queue_command(session, device, "INFO\nC:1:CLEAR LOG")


def test_time_sync_answers(client: FlaskClient, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminals, "utc_now", lambda: dt.datetime(2026, 10, 5, 0, 0, tzinfo=dt.UTC))
    reply = client.get(f"/iclock/cdata?SN={SERIAL}&type=time")
    # ZK packing of 2026-10-05 00:00:00 UTC: ((26*12 + 9)*31 + 4) * 86400.
    assert reply.status_code == 200 and reply.get_data(as_text=True) == "DateTime=860112000,ServerTZ=+0700"
    assert client.get(f"/iclock/rtdata?SN={SERIAL}&type=time").get_data(as_text=True) == (
        "DateTime=860112000,ServerTZ=+0700")
    iso = make_client(db_url, ADMS_TIME_FORMAT="iso")
    assert iso.get(f"/iclock/cdata?SN={SERIAL}&type=time").get_data(as_text=True) == "Time=2026-10-05T07:00:00+07:00"
    assert client.get("/iclock/cdata?SN=NOBODY&type=time").status_code == 401


def test_time_sync_text_styles() -> None:
    now = dt.datetime(2026, 10, 5, 0, 0, tzinfo=dt.UTC)
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    assert time_sync_text(now, zone, "zk-local") == f"DateTime={860112000 + 7 * 3600},ServerTZ=+0700"
    with pytest.raises(ValueError, match="ADMS_TIME_FORMAT"):
        time_sync_text(now, zone, "unix")


# --------------------------------------------------------------------------- parser


def rows_of(body: str, first_line_no: int = 1) -> list[tuple[object, ...]]:
    chunk = parse_push_body(body, first_line_no)
    assert list(chunk.punches.columns) == list(PUNCH_COLUMNS)
    return [
        (r.line_no, r.user_id, r.device_time.strftime("%Y-%m-%d %H:%M:%S"),
         None if r.status is None else int(r.status), None if r.verify is None else int(r.verify), r.work_code)
        for r in chunk.punches.itertuples()
    ]


def test_parse_push_body_exact_values() -> None:
    body = (
        "00101\t2026-10-05 06:58:12\t0\t1\t0\t0\t0\r\n"  # CRLF, leading zeros kept
        "102\t2026-10-05 07:01:40\t0\t15\n"  # the last three columns missing
        "  \t \n"  # blank: not counted
        " 103 \t2026-10-05 07:03:05\t1\t1\t12\n"  # padding stripped, work code kept as text
        "104\t2026-10-05 07:10:59\t0\t4\t\t\t\t1\t36.5\n"  # newer firmware's trailing fields ignored
        "105\t2026-10-05 11:30:02\t1\t1\t0\t0\t0"  # no final LF
    )
    chunk = parse_push_body(body, first_line_no=10)
    assert rows_of(body, 10) == [
        (10, "00101", "2026-10-05 06:58:12", 0, 1, "0"),
        (11, "102", "2026-10-05 07:01:40", 0, 15, None),
        (13, "103", "2026-10-05 07:03:05", 1, 1, "12"),
        (14, "104", "2026-10-05 07:10:59", 0, 4, None),
        (15, "105", "2026-10-05 11:30:02", 1, 1, "0"),
    ]
    assert chunk.rejected == [] and chunk.skipped == 0
    assert chunk.raw_line(13) == b" 103 \t2026-10-05 07:03:05\t1\t1\t12"
    assert str(chunk.punches["device_time"].dtype) == "datetime64[s]"


@pytest.mark.parametrize(("line", "reason"), [
    ("101\t2026-10-05 07:00:00\t0", "field 4 (verify): missing (expected at least 4 tab-separated fields, found 3)"),
    ("garbage", "field 2 (time): missing (expected at least 4 tab-separated fields, found 1)"),
    ("\t2026-10-05 07:00:00\t0\t1", "field 1 (user id): empty"),
    ("101\t2026-02-29 07:00:00\t0\t1", "field 2 (time): '2026-02-29 07:00:00' is not a valid date/time"),
    ("101\t05/10/2026 07:00:00\t0\t1", "field 2 (time): '05/10/2026 07:00:00' is not a valid date/time"),
    ("101\t2026-10-05 24:00:00\t0\t1", "field 2 (time): '2026-10-05 24:00:00' is not a valid date/time"),
    ("101\t2026-10-05T07:00:00\t0\t1", "field 2 (time): '2026-10-05T07:00:00' is not a valid date/time"),
    ("101\t2026-10-05 07:00:00\tin\t1", "field 3 (status): 'in' is not a whole number"),
    ("101\t2026-10-05 07:00:00\t0\t-1", "field 4 (verify): '-1' is not a whole number"),
    ("101\t2026-10-05 07:00:00\t0\t1\t0\x00", "field 5 (work code): contains control character U+0000 at position 2"),
    ("1\r01\t2026-10-05 07:00:00\t0\t1", "field 1 (user id): contains control character U+000D at position 2"),
    ("101\u200b\t2026-10-05 07:00:00\t0\t1", "field 1 (user id): '101\\u200b' contains non-printing character U+200B"),
])
def test_parse_push_body_rejects_name_the_field(line: str, reason: str) -> None:
    chunk = parse_push_body(f"101\t2026-10-05 06:58:12\t0\t1\n{line}\n")
    assert len(chunk.punches) == 1
    [rejected] = chunk.rejected
    assert (rejected.line_no, rejected.raw) == (2, line)
    assert rejected.reason.startswith(reason), rejected.reason


def test_parse_push_body_empty() -> None:
    for body in ("", "\n", "\r\n \n"):
        chunk = parse_push_body(body)
        assert chunk.punches.empty and chunk.rejected == []
        assert list(chunk.punches.columns) == list(PUNCH_COLUMNS)


pins = st.builds(lambda zeros, digits: "0" * zeros + digits, st.integers(0, 3),
                 st.from_regex(r"[0-9A-Za-z]{1,9}", fullmatch=True))
# good lines fall in the parsers' default plausible years (2000-2099)
times = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0))


@st.composite
def good_lines(draw: st.DrawFn) -> tuple[str, tuple[object, ...]]:
    pin, when = draw(pins), draw(times)
    status, verify = draw(st.integers(0, 255)), draw(st.integers(0, 255))
    tail = draw(st.sampled_from([0, 1, 2, 3]))
    work = draw(st.from_regex(r"[0-9]{1,3}", fullmatch=True))
    fields = [pin, when.strftime("%Y-%m-%d %H:%M:%S"), str(status), str(verify), work, "0", "0"][: 4 + tail]
    return "\t".join(fields), (pin, when.strftime("%Y-%m-%d %H:%M:%S"), status, verify, work if tail else None)


garbage = st.text(st.characters(exclude_characters="\n"), max_size=40) | st.builds(
    "\t".join, st.lists(st.sampled_from(["101", "2026-10-05 07:00:00", "", "x", "\r", "0", "2026-13-01 00:00:00"]),
                        max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(good_lines().map(lambda g: ("good", g)), garbage.map(lambda t: ("junk", t))),
                max_size=30), st.booleans())
def test_garbage_never_crashes_and_never_costs_a_good_line(items: list[tuple[str, object]], crlf: bool) -> None:
    lines = [item[0] if kind == "good" else item for kind, item in items]  # type: ignore[index]
    body = ("\r\n" if crlf else "\n").join(lines)  # type: ignore[arg-type]
    chunk = parse_push_body(body)
    got = {row[0]: row[1:] for row in rows_of(body)}
    for n, (kind, item) in enumerate(items, 1):
        if kind == "good":
            assert got[n] == item[1]  # type: ignore[index]
    # Every non-blank line is exactly one of: a punch, a rejected line.
    non_blank = [n for n, line in enumerate(lines, 1) if line.strip(" \t\r\x0b\x0c")]  # type: ignore[union-attr]
    assert sorted([*got, *(r.line_no for r in chunk.rejected)]) == non_blank
