"""The JSON API (/api/v1): bearer tokens, scope and roles, the CLI's documents, one error shape."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from web_helpers import signed_in_client

from attendance import accounts, create_app
from attendance import models as m
from attendance.bundle import validate_bundle
from attendance.cli import main
from attendance.db import transaction
from attendance.org import load_bundle

MiB = 1024 * 1024
BUNDLE = {
    "units": [{"code": "40", "name": "Tỉnh Nghệ An", "kind": "province"},
              {"code": "411", "name": "Huyện Tân Kỳ", "kind": "district", "parent": "40"},
              {"code": "17830", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "411"},
              {"code": "17831", "name": "Xã Nghĩa Đồng", "kind": "commune", "parent": "411"},
              {"code": "17830-01", "name": "Thôn 1", "kind": "hamlet", "parent": "17830"}],
    "schedules": [{"code": "S", "units": ["40"], "sessions": [["07:00", "11:30"], ["13:30", "17:00"]]}],
    "devices": [{"code": "TK-01", "unit": "17830", "kind": "file",
                 "clock_offsets": [{"valid_from": "2026-01-01", "seconds": 120}]},
                {"code": "TK-03", "unit": "17830", "kind": "file"},
                {"code": "TK-02", "unit": "17831", "kind": "file"}],
    "staff": [
        {"code": "NV001", "name": "Nguyễn Văn An", "unit": "17830", "enrollments": [{"device": "TK-01", "user_id": "101"}]},
        {"code": "NV002", "name": "Trần Thị Bình", "unit": "17830-01", "enrollments": [{"device": "TK-01", "user_id": "102"}]},
        {"code": "NV003", "name": "Lê Văn Cường", "unit": "17831", "enrollments": [{"device": "TK-02", "user_id": "103"}]},
    ],
    "excuses": [{"staff": "NV001", "kind": "annual_leave", "start": "2026-10-12T07:00", "end": "2026-10-13T17:00",
                 "reference": "5/QĐ"}],
}
ATTLOG = "".join(f"{uid}\t2026-10-{day:02d} {hm}:00\t1\t0\t1\t0\n"
                 for day in (5, 6, 7) for uid, hm in (("101", "07:04"), ("102", "07:20"), ("101", "17:05")))


def _cli(*args: str) -> Any:
    done = CliRunner().invoke(main, list(args))
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def token_for(username: str, role: str = "admin", units: Iterable[str] = ()) -> dict[str, str]:
    """Headers with a new bearer token of a (new) account."""
    with transaction() as session:
        if session.scalar(select(m.User.id).where(m.User.username == username)) is None:
            accounts.add_user(session, username, role, list(units), None, actor="test")
        token = accounts.issue_token(session, username, "test", actor="test")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Flask:
    with transaction() as session:
        load_bundle(session, validate_bundle(copy.deepcopy(BUNDLE)))
    log = tmp_path / "tk1.dat"
    log.write_text(ATTLOG)
    _cli("import", str(log), "--device", "TK-01", "--json")
    return create_app({"DATABASE_URL": db_url, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def root(app: Flask) -> dict[str, str]:
    return token_for("fuzz")


def error_of(answer: Any, status: int) -> dict[str, str]:
    """The error object of an answer, after checking its status and shape."""
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:300])
    assert answer.mimetype == "application/json"
    body = answer.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"].replace("_", "").isalpha() and body["error"]["code"].islower()
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------ the CLI's documents


def test_units_in_scope(client: FlaskClient) -> None:
    everything = client.get("/api/v1/units", headers=token_for("root"))
    assert everything.status_code == 200
    assert everything.get_json() == [
        {"code": "40", "name": "Tỉnh Nghệ An", "kind": "province", "parent": None},
        {"code": "411", "name": "Huyện Tân Kỳ", "kind": "district", "parent": "40"},
        {"code": "17830", "name": "Xã Tân Kỳ", "kind": "commune", "parent": "411"},
        {"code": "17830-01", "name": "Thôn 1", "kind": "hamlet", "parent": "17830"},
        {"code": "17831", "name": "Xã Nghĩa Đồng", "kind": "commune", "parent": "411"}]
    head = client.get("/api/v1/units", headers=token_for("head", "unit_head", ["17830"])).get_json()
    assert [u["code"] for u in head] == ["17830", "17830-01"]


def test_summary_is_the_cli_summary(client: FlaskClient) -> None:
    headers = token_for("root")
    for unit in ("411", "17830", "17830-01"):
        answer = client.get(f"/api/v1/units/{unit}/summary?month=2026-10", headers=headers)
        assert answer.status_code == 200
        assert answer.get_json() == _cli("summary", "--month", "2026-10", "--unit", unit, "--format", "json")
    rows = client.get("/api/v1/units/411/summary?month=2026-10", headers=headers).get_json()
    assert {r["staff_code"] for r in rows} == {"NV001", "NV002", "NV003"}
    assert next(r for r in rows if r["staff_code"] == "NV002")["late_count"] == 3  # 07:20 - 2 min, grace 5


def test_day_is_the_cli_explanation(client: FlaskClient) -> None:
    answer = client.get("/api/v1/staff/NV001/days/2026-10-05", headers=token_for("root"))
    assert answer.status_code == 200
    assert answer.get_json() == _cli("explain", "--staff", "NV001", "--date", "2026-10-05", "--json")
    assert answer.get_json()["punches"]


def test_punches_are_the_cli_ledger(client: FlaskClient) -> None:
    headers = token_for("root")
    whole = client.get("/api/v1/punches?device=TK-01", headers=headers)
    assert whole.status_code == 200 and len(whole.get_json()) == 9
    assert whole.get_json() == _cli("punches", "--device", "TK-01", "--format", "json")
    part = client.get("/api/v1/punches?device=TK-01&from=2026-10-06&to=2026-10-06", headers=headers).get_json()
    assert part == _cli("punches", "--device", "TK-01", "--from", "2026-10-06", "--to", "2026-10-06")
    assert [p["device_time"][:10] for p in part] == ["2026-10-06"] * 3


def test_import_answers_what_the_cli_prints(client: FlaskClient, tmp_path: Path) -> None:
    # Same content through both doors, into two terminals that know none of its user ids.
    content = "555\t2026-10-08 07:01:00\t1\t0\t1\t0\n556\t2026-10-08 07:02:00\t1\t0\t1\t0\nnot a punch\n"
    answer = client.post("/api/v1/imports", headers=token_for("clerk", "clerk", ["17830"]),
                         data={"device": "TK-01", "file": (io.BytesIO(content.encode()), "exports/2026/1_attlog.dat")})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    via_api = answer.get_json()
    path = tmp_path / "1_attlog.dat"
    path.write_text(content)
    via_cli = _cli("import", str(path), "--device", "TK-03", "--json")

    def comparable(report: dict[str, Any]) -> dict[str, Any]:
        files = [{k: v for k, v in f.items() if k not in ("batch", "file")} for f in report["files"]]
        return {**{k: v for k, v in report.items() if k not in ("batch", "batches")}, "files": files}

    assert comparable(via_api) == comparable(via_cli)
    assert (via_api["read"], via_api["inserted"], via_api["rejected"], via_api["unknown_users"]) == (3, 2, 1, 2)
    assert via_api["files"][0]["file"] == "1_attlog.dat"  # the upload's name, not a temporary path
    assert via_api["batches"] == [via_api["batch"]]
    again = client.post("/api/v1/imports", headers=token_for("clerk", "clerk", ["17830"]),
                        data={"device": "TK-01", "file": (io.BytesIO(content.encode()), "1_attlog.dat")})
    assert again.get_json()["duplicates"] == 2


# ------------------------------------------------------------------ tokens, scope, roles


def test_no_token_or_a_wrong_one_is_401(app: Flask, client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer att_nope"}, {"Authorization": "Basic cm9vdDpyb290"},
                    {"Authorization": "Bearer"}, {"Authorization": "Bearer " + "x" * 5000}):
        answer = client.get("/api/v1/units", headers=headers)
        assert error_of(answer, 401)["code"] == "unauthorized"
        assert answer.headers["WWW-Authenticate"].lower().startswith("bearer")
    # A browser signed in to the pages has a session cookie: the API does not take it.
    browser = signed_in_client(app, "someone", "admin")
    assert browser.get("/").status_code == 200
    assert error_of(browser.get("/api/v1/units"), 401)["code"] == "unauthorized"
    with_token = browser.get("/api/v1/units", headers=token_for("root"))
    assert with_token.status_code == 200 and "Set-Cookie" not in with_token.headers
    assert browser.get("/").status_code == 200  # the page session is untouched
    headers = token_for("gone", "viewer", ["17830"])
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    with transaction() as session:
        accounts.disable_user(session, "gone", actor="test")
    error_of(client.get("/api/v1/units", headers=headers), 401)


def test_the_token_use_is_noted(client: FlaskClient) -> None:
    headers = token_for("root")
    with transaction() as session:
        assert session.scalar(select(m.ApiToken.last_used_at)) is None
    client.get("/api/v1/units", headers=headers)
    with transaction() as session:
        assert session.scalar(select(m.ApiToken.last_used_at)) is not None


@pytest.mark.parametrize("path", [
    "/api/v1/units/{unit}/summary?month=2026-10",
    "/api/v1/staff/{staff}/days/2026-10-05",
    "/api/v1/punches?device={device}",
    "/api/v1/excuses?staff={staff}",
])
def test_outside_the_scope_is_the_same_404_as_nothing(client: FlaskClient, path: str) -> None:
    headers = token_for("head", "unit_head", ["17831"])  # Nghĩa Đồng: Tân Kỳ's things are not there
    other = error_of(client.get(path.format(unit="17830", staff="NV001", device="TK-01"), headers=headers), 404)
    absent = error_of(client.get(path.format(unit="ZZZZZ", staff="ZZZZZ", device="ZZZZZ"), headers=headers), 404)
    assert other["code"] == absent["code"]
    assert other["message"].replace("17830", "ZZZZZ").replace("NV001", "ZZZZZ").replace("TK-01", "ZZZZZ") \
        == absent["message"]
    own = client.get(path.format(unit="17831", staff="NV003", device="TK-02"), headers=headers)
    assert own.status_code == 200, own.get_data(as_text=True)


def test_imports_need_the_role_and_the_scope(client: FlaskClient) -> None:
    def post(headers: dict[str, str], device: str) -> Any:
        return client.post("/api/v1/imports", headers=headers,
                           data={"device": device, "file": (io.BytesIO(ATTLOG.encode()), "a.dat")})

    viewer = token_for("viewer", "viewer", ["17830"])
    head = token_for("head", "unit_head", ["17830"])
    clerk = token_for("clerk", "clerk", ["17830"])
    assert error_of(post(viewer, "TK-01"), 403)["code"] == "forbidden"
    assert error_of(post(head, "TK-01"), 403)["code"] == "forbidden"
    assert error_of(post(clerk, "TK-02"), 404)["code"] == "not_found"  # another commune's terminal
    assert error_of(post(viewer, "TK-02"), 404)  # outside the scope: 404 before any role question
    assert post(clerk, "TK-01").status_code == 200


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("path", "named"), [
    ("/api/v1/units/411/summary", "month"),
    ("/api/v1/units/411/summary?month=2026-13", "month"),
    ("/api/v1/units/411/summary?month=2026-1", "month"),
    ("/api/v1/units/411/summary?month=9999-12", "month"),
    ("/api/v1/units/411/summary?month=2026-10&month=2026-11", "month"),
    ("/api/v1/staff/NV001/days/2026-02-30", "date"),
    ("/api/v1/staff/NV001/days/20261005", "date"),
    ("/api/v1/staff/NV001/days/0001-01-01", "date"),
    ("/api/v1/punches", "device"),
    ("/api/v1/punches?device=TK-01&from=yesterday", "from"),
    ("/api/v1/punches?device=TK-01&to=2026-10-32", "to"),
    ("/api/v1/punches?device=%00", "device"),
    ("/api/v1/excuses", "staff"),
])
def test_malformed_parameters_are_422_naming_them(client: FlaskClient, path: str, named: str) -> None:
    problem = error_of(client.get(path, headers=token_for("root")), 422)
    assert problem["code"] == "invalid"
    assert problem["message"].startswith(f"{named}:"), problem


def test_http_errors_have_the_api_shape(client: FlaskClient) -> None:
    headers = token_for("root")
    assert error_of(client.get("/api/v1/nothing-here", headers=headers), 404)["code"] == "not_found"
    assert error_of(client.get("/api/v1/nothing-here"), 404)
    refused = client.delete("/api/v1/units", headers=headers)
    assert error_of(refused, 405)["code"] == "method_not_allowed" and "GET" in refused.headers["Allow"]
    broken = client.post("/api/v1/imports", headers={**headers, "Content-Type": "multipart/form-data"}, data=b"x")
    assert error_of(broken, 400)["code"] == "bad_request"
    assert error_of(client.post("/api/v1/imports", headers=headers, json={"device": "TK-01"}), 400)
    missing = client.post("/api/v1/imports", headers=headers, data={"device": "TK-01"}, content_type="multipart/form-data")
    assert error_of(missing, 422)["message"].startswith("file:")
    empty = client.post("/api/v1/imports", headers=headers, data={"device": "TK-01", "file": (io.BytesIO(b"\x00" * 50), "x.dat")})
    assert error_of(empty, 422)["code"] == "invalid"


def test_bodies_over_16_mib_are_413_unread(client: FlaskClient) -> None:
    headers = token_for("clerk", "clerk", ["17830"])
    big = b"1\t2026-10-05 07:00:00\t1\t0\t1\t0\n" * (16 * MiB // 30 + 1000)
    assert len(big) > 16 * MiB
    answer = client.post("/api/v1/imports", headers=headers,
                         data={"device": "TK-01", "file": (io.BytesIO(big), "big.dat")})
    assert error_of(answer, 413)["code"] == "too_large"
    # Even without a token: the size is refused before anything else is looked at.
    assert error_of(client.post("/api/v1/excuses", data=big), 413)
    with transaction() as session:
        assert session.scalar(select(m.ImportBatch.id).where(m.ImportBatch.filename == "big.dat")) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=st.text(min_size=1, max_size=30).filter(lambda s: s not in (".", "..")),
       value=st.text(max_size=30))
def test_hostile_paths_and_queries_never_fail_the_server(client: FlaskClient, root: dict[str, str], segment: str,
                                                         value: str) -> None:
    headers = {"Authorization": "Bearer att_" + "x" * 43}
    # A token that does not exist still goes through the token lookup; a real one through everything.
    code, day = quote(segment, safe=""), quote(value or "x", safe="")
    for path, params in ((f"/api/v1/units/{code}/summary", {"month": value}),
                         (f"/api/v1/staff/{code}/days/{day}", {}),
                         ("/api/v1/punches", {"device": segment, "from": value}),
                         ("/api/v1/excuses", {"staff": segment})):
        answer = client.get(path, query_string=params, headers=headers)
        if answer.status_code == 308:  # an encoded '/' makes '//': routing merges the slashes first
            assert "/" in segment + value
            continue
        assert answer.status_code in (401, 404), answer.status_code
        error_of(answer, answer.status_code)
    answer = client.get("/api/v1/punches", query_string={"device": segment, "from": value},
                        headers=root)
    assert answer.status_code in (200, 404, 422), answer.get_data(as_text=True)
    if answer.status_code != 200:
        error_of(answer, answer.status_code)



# ------------------------------------------------------------------ excuses


def test_excuses_listed_and_recorded_in_scope(client: FlaskClient) -> None:
    head = token_for("head", "unit_head", ["17830"])
    listed = client.get("/api/v1/excuses?staff=NV001", headers=head)
    assert listed.status_code == 200
    assert [(e["staff"], e["kind"], e["start"], e["end"], e["reference"], e["live"]) for e in listed.get_json()] == [
        ("NV001", "annual_leave", "2026-10-12T07:00:00", "2026-10-13T17:00:00", "5/QĐ", True)]
    new = {"staff": "NV002", "kind": "business_trip", "start": "2026-10-06T07:00", "end": "2026-10-07T17:00:00",
           "reference": "12/QĐ-UBND"}
    created = client.post("/api/v1/excuses", headers=head, json=new)
    assert created.status_code == 201, created.get_data(as_text=True)
    record = created.get_json()
    assert (record["staff"], record["start"], record["end"], record["live"]) == (
        "NV002", "2026-10-06T07:00:00", "2026-10-07T17:00:00", True)
    assert client.get("/api/v1/excuses?staff=NV002", headers=head).get_json() == [record]
    with transaction() as session:
        audit = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "excuse",
                                                         m.AuditLog.actor.startswith("api:"))).all()
    assert [(a.actor, a.action, a.entity_key) for a in audit] == [("api:head", "create", f"NV002:{record['id']}")]
    # The day's verdicts count it at once.
    day = client.get("/api/v1/staff/NV002/days/2026-10-06", headers=head).get_json()
    assert day == _cli("explain", "--staff", "NV002", "--date", "2026-10-06", "--json")
    assert "Business trip" in json.dumps(day)  # the excuse is in the explanation, by its name
    assert error_of(client.post("/api/v1/excuses", headers=head, json=new), 409)["code"] == "conflict"


def test_excuses_need_the_role_and_the_scope(client: FlaskClient) -> None:
    new = {"staff": "NV001", "kind": "sick_leave", "start": "2026-10-20T07:00", "end": "2026-10-20T17:00",
           "reference": "giấy ốm"}
    viewer = token_for("viewer", "viewer", ["17830"])
    assert error_of(client.post("/api/v1/excuses", headers=viewer, json=new), 403)["code"] == "forbidden"
    other = token_for("other", "clerk", ["17831"])
    assert error_of(client.post("/api/v1/excuses", headers=other, json=new), 404)["code"] == "not_found"
    assert error_of(client.post("/api/v1/excuses", headers=other, json={**new, "staff": "NOBODY"}), 404)
    assert client.post("/api/v1/excuses", headers=other, json={**new, "staff": "NV003"}).status_code == 201
    with transaction() as session:
        assert [a.actor for a in session.scalars(select(m.AuditLog).where(
            m.AuditLog.entity == "excuse", m.AuditLog.actor.startswith("api:")))] == ["api:other"]


@pytest.mark.parametrize(("change", "named"), [
    ({"kind": "holiday_trip"}, "kind"),
    ({"kind": 7}, "kind"),
    ({"start": "2026-10-20"}, "start"),
    ({"start": "20/10/2026 07:00"}, "start"),
    ({"start": "2026-10-20T07:00+07:00"}, "start"),
    ({"end": "2026-10-20T06:00"}, "end"),
    ({"end": "9999-12-31T23:59"}, "end"),
    ({"reference": ""}, "reference"),
    ({"reference": "x\u0000y"}, "reference"),
    ({"reference": "\ud800"}, "reference"),
    ({"staff": None}, "staff"),
    ({"staff": ["NV001"]}, "staff"),
    ({"colour": "red"}, "'colour'"),
])
def test_invalid_excuses_are_422_naming_the_field(client: FlaskClient, change: dict[str, Any], named: str) -> None:
    new = {"staff": "NV001", "kind": "sick_leave", "start": "2026-10-20T07:00", "end": "2026-10-20T17:00",
           "reference": "giấy ốm", **change}
    answer = client.post("/api/v1/excuses", headers=token_for("root"), data=json.dumps(new),
                         content_type="application/json")
    assert error_of(answer, 422)["message"].startswith(f"{named}:")
    with transaction() as session:
        assert session.scalar(select(m.AuditLog.id).where(m.AuditLog.actor.startswith("api:"))) is None


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[" * 100_000, b"1" * 5000, b'{"staff": "NV001",}'])
def test_unparsable_bodies_are_400(client: FlaskClient, body: bytes) -> None:
    answer = client.post("/api/v1/excuses", headers=token_for("root"), data=body, content_type="application/json")
    assert error_of(answer, 400)["code"] == "bad_request"


def test_a_body_that_is_not_an_object_is_422(client: FlaskClient) -> None:
    answer = client.post("/api/v1/excuses", headers=token_for("root"), json=["NV001"])
    assert error_of(answer, 422)["message"].startswith("body:")
