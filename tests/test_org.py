"""Set-up bundle loading: validation errors by path, idempotency, updates in place, audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from attendance import models as m
from attendance.bundle import BundleError, read_bundle_file, validate_bundle
from attendance.db import transaction
from attendance.org import load_bundle

# These tests read what messages say: in English, the wording of the code.
pytestmark = pytest.mark.usefixtures("english")

BUNDLE = """
units:
  - {code: "40", name: "Tỉnh Nghệ An", kind: province}
  - {code: "17830", name: "Xã Tân Kỳ", kind: commune, parent: "40"}
schedules:
  - code: NA-SUMMER-2026
    units: ["40"]
    valid_from: 2026-04-16
    valid_to: 2026-10-15
    weekdays: [mon, tue, wed, thu, fri]
    sessions: [["07:00", "11:30"], ["13:30", "17:00"]]
    punch_policy: per_session
calendar:
  country: VN
  overrides:
    - {date: 2026-01-02, kind: day_off, reference: "12729/VPCP-KGVX"}
devices:
  - code: TK-01
    unit: "17830"
    kind: zk_serial
    port: /dev/ttyUSB0
    baudrate: 115200
    clock_offsets: [{valid_from: 2026-10-01, seconds: 0}]
staff:
  - code: NV001
    name: "Nguyễn Văn An"
    unit: "17830"
    position: "Công chức Văn phòng - Thống kê"
    employed_from: 2020-01-01
    enrollments: [{device: TK-01, user_id: "101"}]
excuses:
  - {staff: NV001, kind: business_trip, start: 2026-10-05T07:00, end: 2026-10-07T17:00, reference: "12/QĐ-UBND"}
"""


def load(text: str, tmp_path: Path, name: str = "bundle.yaml") -> dict[str, dict[str, int]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    bundle = validate_bundle(read_bundle_file(path))
    with transaction() as session:
        return load_bundle(session, bundle).as_dict()


def count(model: type) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_bundle_loads_every_section(db_url: str, tmp_path: Path) -> None:
    report = load(BUNDLE, tmp_path)
    assert report["created"] == {"unit": 2, "schedule": 1, "calendar_override": 1, "device": 1,
                                 "clock_offset": 1, "staff": 1, "enrollment": 1, "excuse": 1}
    with transaction() as session:
        commune = session.scalar(select(m.Unit).where(m.Unit.code == "17830"))
        province = session.scalar(select(m.Unit).where(m.Unit.code == "40"))
        assert commune.parent_id == province.id
        device = session.scalar(select(m.Device))
        assert device.settings == {"port": "/dev/ttyUSB0", "baudrate": 115200}
        person = session.scalar(select(m.Staff))
        assert person.name == "Nguyễn Văn An"
        assert session.scalar(select(m.Setting.value).where(m.Setting.key == "country")) == "VN"


def test_loading_the_same_bundle_twice_changes_nothing(db_url: str, tmp_path: Path) -> None:
    load(BUNDLE, tmp_path)
    audits = count(m.AuditLog)
    report = load(BUNDLE, tmp_path)
    assert report == {"created": {}, "updated": {}, "deleted": {}}
    assert count(m.AuditLog) == audits


def test_json_bundle_is_the_same_as_yaml(db_url: str, tmp_path: Path) -> None:
    load(BUNDLE, tmp_path)
    as_json = json.dumps(yaml.safe_load(BUNDLE), default=str)
    assert load(as_json, tmp_path, "bundle.json") == {"created": {}, "updated": {}, "deleted": {}}


def test_changed_bundle_updates_in_place_and_is_audited(db_url: str, tmp_path: Path) -> None:
    load(BUNDLE, tmp_path)
    changed = BUNDLE.replace("Nguyễn Văn An", "Nguyễn Văn Ân").replace('user_id: "101"', 'user_id: "0101"')
    report = load(changed, tmp_path)
    assert report["updated"] == {"staff": 1}
    assert report["created"] == {"enrollment": 1} and report["deleted"] == {"enrollment": 1}
    assert count(m.Staff) == 1
    with transaction() as session:
        audit = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "staff", m.AuditLog.action == "update")).one()
        assert audit.entity_key == "NV001"
        assert audit.changes == {"name": ["Nguyễn Văn An", "Nguyễn Văn Ân"]}
        assert session.scalar(select(m.Enrollment.user_id)) == "0101"


def test_removed_excuse_is_withdrawn(db_url: str, tmp_path: Path) -> None:
    load(BUNDLE, tmp_path)
    load(BUNDLE.split("excuses:")[0] + "excuses: []\n", tmp_path)
    assert count(m.Excuse) == 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b.replace("enrollments: [{device: TK-01", "enrollments: [{device: TK-9"),
         "staff[0].enrollments[0].device: no device 'TK-9'"),
        (lambda b: b.replace("position:", "postion:"), "staff[0].postion: unknown key"),
        (lambda b: b.replace('["07:00", "11:30"]', '["07:00", "25:30"]'), "schedules[0].sessions: expected a time HH:MM"),
        (lambda b: b.replace("kind: day_off", "kind: holiday"), "calendar.overrides[0].kind: must be one of working_day, day_off"),
        (lambda b: b.replace("employed_from: 2020-01-01", "employed_from: 2020-13-01"), "staff[0].employed_from: expected a date"),
        (lambda b: b.replace('parent: "40"', 'parent: "41"'), "units[1].parent: no unit '41'"),
        (lambda b: b + "extra: 1\n", "extra: unknown key"),
        (lambda b: b.replace("staff: NV001, kind", "staff: NV404, kind"), "excuses[0].staff: no staff member 'NV404'"),
    ],
)
def test_bad_bundle_names_the_path_and_loads_nothing(db_url: str, tmp_path: Path, edit, message: str) -> None:
    with pytest.raises(BundleError) as caught:
        load(edit(BUNDLE), tmp_path)
    assert str(caught.value).startswith(message), str(caught.value)
    assert count(m.Unit) == 0 and count(m.Staff) == 0 and count(m.AuditLog) == 0


def test_bad_update_leaves_the_previous_state_untouched(db_url: str, tmp_path: Path) -> None:
    load(BUNDLE, tmp_path)
    broken = BUNDLE.replace("Nguyễn Văn An", "Tên Mới").replace("enrollments: [{device: TK-01", "enrollments: [{device: TK-9")
    with pytest.raises(BundleError):
        load(broken, tmp_path)
    with transaction() as session:
        assert session.scalar(select(m.Staff.name)) == "Nguyễn Văn An"


def test_two_people_cannot_share_one_device_user_id(db_url: str, tmp_path: Path) -> None:
    second = BUNDLE.replace("excuses:", """  - code: NV002
    name: "Trần Thị Bích"
    unit: "17830"
    enrollments: [{device: TK-01, user_id: "101"}]
excuses:""")
    with pytest.raises(BundleError, match=r"staff\[1\]\.enrollments\[0\]\.user_id: '101' on TK-01 is already enrolled for NV001"):
        load(second, tmp_path)


def test_bundle_without_serial_keeps_an_approved_serial(db_url: str, tmp_path: Path) -> None:
    load(BUNDLE, tmp_path)
    with transaction() as session:
        session.scalar(select(m.Device)).serial = "CKJ1234567"  # approved through `devices approve`
    assert load(BUNDLE, tmp_path) == {"created": {}, "updated": {}, "deleted": {}}
    with transaction() as session:
        assert session.scalar(select(m.Device.serial)) == "CKJ1234567"
    load(BUNDLE.replace("kind: zk_serial", "kind: zk_serial\n    serial: NEW0000001"), tmp_path)
    with transaction() as session:
        assert session.scalar(select(m.Device.serial)) == "NEW0000001"


def test_removed_enrollment_is_audited_by_device_code_and_person(db_url: str, tmp_path: Path) -> None:
    load(BUNDLE, tmp_path)
    report = load(BUNDLE.replace('enrollments: [{device: TK-01, user_id: "101"}]', "enrollments: []"), tmp_path)
    assert report["deleted"] == {"enrollment": 1}
    with transaction() as session:
        audit = session.scalars(select(m.AuditLog).where(m.AuditLog.entity == "enrollment",
                                                         m.AuditLog.action == "delete")).one()
        person_id = session.scalar(select(m.Staff.id))
    assert audit.entity_key == "TK-01:101"
    assert audit.changes == {"staff": ["NV001", None], "staff_id": [person_id, None]}
