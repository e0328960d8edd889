"""Refusals made where the language is unknown (parsers, terminal codec) reach people in their language."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from openpyxl import Workbook

from attendance import accounts, create_app
from attendance.bundle import validate_bundle
from attendance.cli import main
from attendance.db import transaction
from attendance.org import load_bundle
from attendance.pull import records_to_chunk
from attendance.rejections import file_error_text, rejection_text
from devices.parsers import ProfileError, UnsupportedFile, open_punch_bytes, profile_from_dict
from devices.parsers.refusals import TEMPLATES as REFUSALS
from devices.zk import codec

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "attendance" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
FIELD = re.compile(r"\{(\w+)")
PDF = b"%PDF-1.4\n1 0 obj\n"
BUNDLE = 'units: [{code: X, name: "Xã Thử"}]\ndevices: [{code: TK-01, unit: X}]\n'


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def refused(data: bytes, name: str) -> UnsupportedFile:
    with pytest.raises(UnsupportedFile) as caught:
        open_punch_bytes(data, name)
    return caught.value


def test_every_refusal_has_a_vietnamese_translation_with_the_same_fields() -> None:
    with PO.open("rb") as handle:
        translations = {m.id: m.string for m in read_po(handle) if m.id}
    for code, template in REFUSALS.items():
        assert translations.get(template), f"no Vietnamese for refusal {code}"
        assert set(FIELD.findall(str(translations[template]))) == set(FIELD.findall(template)), code


def test_a_refused_file_is_worded_in_the_reader_language_and_keeps_its_english() -> None:
    pdf = refused(PDF, "don.pdf")
    assert str(pdf) == "don.pdf: this is a PDF document, not a punch log"  # logs and older callers
    assert pdf.refusal is not None and pdf.refusal.code == "pdf" and pdf.file == "don.pdf"
    assert file_error_text(pdf) == "don.pdf: đây là tài liệu PDF, không phải dữ liệu chấm công"
    assert file_error_text(pdf, "en") == str(pdf)
    # A refusal made of others (each sheet's) is worded all the way down, role words too.
    wb = Workbook()
    sheet = wb.active
    sheet.title = "Bảng công"
    sheet.append(["Mã CC", "Ngày", "Giờ vào", "Giờ ra"])
    sheet.append(["7", "13/10/2026", "07:00", "17:00"])
    body = io.BytesIO()
    wb.save(body)
    pairs = refused(body.getvalue(), "w.xlsx")
    assert file_error_text(pairs) == (
        "w.xlsx: không đọc được trang tính nào: trang tính 'Bảng công': dòng tiêu đề ở hàng của trang tính 1"
        " là các cặp giờ vào/ra ('Giờ vào'/'Giờ ra'); hãy xuất dữ liệu chấm công gốc thay cho bảng này")
    assert file_error_text(pairs, "en") == str(pairs)
    ambiguous = refused("Mã CC,Ngày,Giờ\n1,01/02/2026,07:00\n".encode(), "a.csv")
    assert file_error_text(ambiguous) == (
        "a.csv: không phân biệt được dd/mm với mm/dd: không có ngày nào lớn hơn 12 (ví dụ '01/02/2026');"
        " hãy ghi rõ thứ tự trong hồ sơ ánh xạ cột")


def test_a_mapping_profile_that_cannot_be_used_names_each_key_in_the_reader_language() -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_dict({"name": "p", "datetime": "B", "x": 1})
    assert caught.value.errors == ["x: unknown key (allowed: name, user_id, datetime, date, time, status,"
                                   " delimiter, has_header, date_order)", "user_id: missing"]
    assert file_error_text(caught.value).split("; ") == [
        "x: khóa không hợp lệ (chỉ nhận: name, user_id, datetime, date, time, status, delimiter, has_header,"
        " date_order)", "user_id: còn thiếu"]


def test_the_command_line_words_a_refused_file_and_a_bad_profile(sqlite_url: str, tmp_path: Path) -> None:
    bundle = tmp_path / "b.yaml"
    bundle.write_text(BUNDLE, encoding="utf-8")
    assert run("org", "load", str(bundle))[0] == 0
    pdf = tmp_path / "don.pdf"
    pdf.write_bytes(PDF)
    assert run("import", str(pdf), "--device", "TK-01") == (
        1, "", f"error: {pdf}: đây là tài liệu PDF, không phải dữ liệu chấm công\n")
    assert run("--lang", "en", "import", str(pdf), "--device", "TK-01") == (
        1, "", f"error: {pdf}: this is a PDF document, not a punch log\n")
    profile = tmp_path / "p.yaml"
    profile.write_text("name: p\ndatetime: B\n", encoding="utf-8")
    log = tmp_path / "a.csv"
    log.write_text("A,B\n1,2026-10-01 07:00\n", encoding="utf-8")
    assert run("import", str(log), "--device", "TK-01", "--profile", str(profile))[2] == (
        f"error: {profile}: user_id: còn thiếu\n")
    assert run("--lang", "en", "import", str(log), "--device", "TK-01", "--profile", str(profile))[2] == (
        f"error: {profile}: user_id: missing\n")


def test_the_api_words_a_refused_upload_in_the_asked_language(db_url: str) -> None:
    with transaction() as session:
        load_bundle(session, validate_bundle({"units": [{"code": "X", "name": "Xã Thử"}],
                                              "devices": [{"code": "TK-01", "unit": "X", "kind": "file"}]}))
        accounts.add_user(session, "clerk", "clerk", ["X"], None, actor="test")
        headers = {"Authorization": f"Bearer {accounts.issue_token(session, 'clerk', 'test', actor='test')}"}
    client = create_app({"DATABASE_URL": db_url, "TESTING": True}).test_client()

    def post(**more: str) -> dict[str, str]:
        answer = client.post("/api/v1/imports", headers={**headers, **more},
                             data={"device": "TK-01", "file": (io.BytesIO(PDF), "don.pdf")})
        assert answer.status_code == 422, answer.get_data(as_text=True)
        return answer.get_json()["error"]  # type: ignore[no-any-return]

    assert post() == {"code": "invalid",
                      "message": "file: don.pdf: đây là tài liệu PDF, không phải dữ liệu chấm công"}
    assert post(**{"Accept-Language": "en"})["message"] == "file: don.pdf: this is a PDF document, not a punch log"


def test_records_a_terminal_sent_that_cannot_be_decoded_are_stored_with_a_code() -> None:
    feb30 = bytes.fromhex("3a 30 00 00 80 da 49 2e 00 01 00 00 00 00 00 00")
    decoded = codec.decode_records(feb30, width=16)
    table = codec.UserTable([codec.UserEntry(5, "00042", "An")])
    record = codec.AttendanceRecord("x", dt.datetime(2026, 10, 5, 7), 1, 0, None, 17, b"")
    unknown = codec.decode_records(codec.encode_record(record, 8), 8, users=table)
    chunk = records_to_chunk([], [*decoded.quarantined, *unknown.quarantined])
    first, second = chunk.rejected
    assert (first.code, second.code) == ("zk_time_invalid", "zk_uid_unknown")
    assert first.reason == ("record 1 (byte 0): time value 776592000 decodes to 2024-02-30 08:00:00,"
                            " which is not a valid date")
    for rejected in chunk.rejected:  # the stored English, and the Vietnamese from the same code and values
        assert rejection_text(rejected.code, rejected.params, "en") == rejected.reason
    assert rejection_text(first.code, first.params, "vi") == (
        "bản ghi 1 (byte 0): giá trị thời gian 776592000 giải mã thành 2024-02-30 08:00:00, không phải ngày hợp lệ")
    assert rejection_text(second.code, second.params, "vi") == (
        "bản ghi 1 (byte 0): uid 17 không có trong danh sách người dùng của máy chấm công")
