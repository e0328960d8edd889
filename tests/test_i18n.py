"""Text for people in one language: the gettext catalogue, and the command line as a clerk meets it."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from click.testing import CliRunner

from attendance.cli import main

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "attendance" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
FIELD = re.compile(r"\{(\w+)")
# The pages' templates use the same catalogue as the code.
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


def catalogue() -> dict[object, object]:
    with PO.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id}


def test_compiled_catalogue_is_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "compile_translations.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_message_of_the_code_has_a_vietnamese_translation_with_the_same_fields() -> None:
    translations = catalogue()
    used = {message for _file, _line, message, _comments, _context in
            ((f, *rest) for f, *rest in extract_from_dir(str(ROOT / "attendance"), method_map=METHODS, keywords={"_": None, "ngettext": (1, 2)}))}
    assert used, "no message found: the extraction is broken"
    for message in used:
        assert message in translations and translations[message], f"no Vietnamese for {message!r}"
    for msgid, text in translations.items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        texts = text if isinstance(text, tuple) else (text,)
        wanted = set().union(*(set(FIELD.findall(i)) for i in ids))
        for t in texts:  # a translation may not ask for a value the code does not give
            assert set(FIELD.findall(t)) <= wanted, (msgid, t)


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("args", "vietnamese", "english"), [
    (["import"], "error: Thiếu đối số 'PATHS...'.", "error: Missing argument 'PATHS...'."),
    (["import", "x.dat"], "error: Thiếu tùy chọn '--device'.", "error: Missing option '--device'."),
    (["summary", "--month", "2026-10", "--format", "xml"],
     "error: Giá trị không hợp lệ cho '--format': 'xml' không thuộc các lựa chọn 'json', 'csv', 'xlsx'.",
     "error: Invalid value for '--format': 'xml' is not one of 'json', 'csv', 'xlsx'."),
    (["nosuch"], "error: Không có lệnh 'nosuch'.", "error: No such command 'nosuch'."),
])
def test_usage_errors_are_one_line_in_the_chosen_language(args: list[str], vietnamese: str, english: str) -> None:
    code, out, err = run(*args)
    assert (code, out, err) == (2, "", vietnamese + "\n")
    assert run("--lang", "en", *args) == (2, "", english + "\n")
    assert run(*args, env={"ATTENDANCE_LANG": "en"}) == (2, "", english + "\n")


def test_a_missing_file_and_a_directory_are_one_line_each(tmp_path: Path, sqlite_url: str) -> None:
    code, out, err = run("import", str(tmp_path), "--device", "TK-01")
    assert (code, out, err) == (1, "", f"error: {tmp_path}: là thư mục, không phải tệp\n")
    code, out, err = run("--lang", "en", "import", str(tmp_path / "none.dat"), "--device", "TK-01")
    assert (code, out, err) == (1, "", f"error: {tmp_path / 'none.dat'}: no such file\n")
    code, _out, err = run("summary", "--month", "2026-13")
    assert code == 1 and err == "error: --month: cần dạng YYYY-MM (năm-tháng), nhận được '2026-13'\n"


def test_summary_csv_opens_in_excel_and_codes_stay_for_scripts(sqlite_url: str, tmp_path: Path) -> None:
    bundle = tmp_path / "b.yaml"
    bundle.write_text('units: [{code: "X", name: "Xã Thử"}]\nstaff: [{code: NV1, name: "Lê Thị Hằng", unit: "X"}]\n',
                      encoding="utf-8")
    assert run("org", "load", str(bundle))[0] == 0
    code, out, err = run("summary", "--month", "2026-10", "--format", "csv")
    assert code == 0 and out.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(out.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["Mã CB", "Họ và tên", "Mã đơn vị"] and rows[1][:2] == ["NV1", "Lê Thị Hằng"]
    # A month without a single punch says so, on standard error: the table itself is unchanged.
    assert "Không có lượt chấm công nào trong tháng 10/2026" in err
    english = run("--lang", "en", "summary", "--month", "2026-10", "--format", "csv")[1]
    assert english.removeprefix("\ufeff").startswith("Staff code,Full name,Unit code")
    codes = run("summary", "--month", "2026-10", "--format", "csv", "--headers", "codes")[1]
    assert codes.startswith("staff_code,name,unit_code,") and not codes.startswith("\ufeff")
    # JSON keys never change with the language.
    assert json.loads(run("--lang", "en", "summary", "--month", "2026-10")[1]) == json.loads(
        run("summary", "--month", "2026-10")[1])


# ---------------------------------------------------------------- messages made outside the CLI


def test_the_catalogue_words_every_rejection_help_text_and_role_label() -> None:
    """Texts that are not ``_()`` calls (parser reasons, click help) are message ids too."""
    import inspect

    import click

    from devices.parsers.reasons import LABELS, PLACES, TEMPLATES, WORDS

    def helps(command: click.Command) -> list[str]:
        found = [inspect.cleandoc(command.help)] if command.help else []
        found += [p.help for p in command.params if getattr(p, "help", None)]
        for sub in getattr(command, "commands", {}).values():
            found += helps(sub)
        return found

    translations = catalogue()
    wanted = [*TEMPLATES.values(), *PLACES.values(), *LABELS, *WORDS, *helps(main)]
    assert len(wanted) > 100
    for msgid in wanted:
        assert translations.get(msgid), f"no Vietnamese for {msgid!r}"
        assert set(FIELD.findall(str(translations[msgid]))) == set(FIELD.findall(msgid)), msgid


BAD_BUNDLE = """units: [{code: X, name: "Xã Thử"}]
staff:
  - {code: NV1, name: "Lê Thị Hằng", unit: X, employed_from: "2020-01-01", employed_to: "2019-12-31"}
"""


def test_a_bundle_error_keeps_its_path_and_is_worded_in_the_chosen_language(sqlite_url: str, tmp_path: Path) -> None:
    bundle = tmp_path / "b.yaml"
    bundle.write_text(BAD_BUNDLE + '  - {code: NV2, name: B, employed_from: "2021-01-01", employed_to: "2020-12-31"}\n',
                      encoding="utf-8")
    code, out, err = run("org", "load", str(bundle))
    assert (code, out) == (1, "")
    assert err == ("error: staff[0].employed_to: 2019-12-31 trước employed_from 2020-01-01 (và 1 lỗi khác)\n")
    code, out, err = run("--lang", "en", "org", "load", str(bundle))
    assert (code, out) == (1, "")
    assert err == "error: staff[0].employed_to: 2019-12-31 is before employed_from 2020-01-01 (and 1 more)\n"
    # A reference to nothing is found when the bundle is applied: the same one line, by path.
    bundle.write_text('units: [{code: X, name: "Xã Thử"}]\nstaff: [{code: NV1, name: A, unit: Y}]\n',
                      encoding="utf-8")
    assert run("org", "load", str(bundle))[2] == "error: staff[0].unit: không có đơn vị 'Y'\n"
    assert run("org", "load", str(bundle), env={"ATTENDANCE_LANG": "en"})[2] == "error: staff[0].unit: no unit 'Y'\n"
    # A file that is not YAML at all: the file and line stay, the words change.
    bundle.write_text("units: [1, 2\nstaff: 3\n", encoding="utf-8")
    assert run("org", "load", str(bundle))[2].startswith(f"error: {bundle}: dòng 2, cột 6: YAML không hợp lệ: ")
    assert run("--lang", "en", "org", "load", str(bundle))[2].startswith(f"error: {bundle}: line 2, column 6: not valid YAML: ")


ATTLOG = ("1\t2026-10-01 07:00:00\t1\t0\t1\t0\n"
          "2\t2026-13-01 07:00:00\t1\t0\t1\t0\n"
          "abc\n"
          "3\t1999-10-01 07:00:00\t1\t0\t1\t0\n")


def test_import_rejects_are_stored_with_a_code_and_shown_in_the_reader_language(sqlite_url: str, tmp_path: Path) -> None:
    from sqlalchemy import select

    from attendance import models as m
    from attendance.db import transaction
    from attendance.rejections import rejection_text

    bundle = tmp_path / "b.yaml"
    bundle.write_text('units: [{code: X, name: "Xã Thử"}]\ndevices: [{code: TK-01, unit: X}]\n', encoding="utf-8")
    assert run("org", "load", str(bundle))[0] == 0
    log = tmp_path / "tk.dat"
    log.write_text(ATTLOG, encoding="utf-8")
    code, out, err = run("import", str(log), "--device", "TK-01")
    assert code == 0 and out.startswith(f"{log} [zk_attlog, utf-8]")
    assert err.splitlines() == [
        "  dòng 2: trường 2 (thời gian): '2026-13-01 07:00:00' không phải ngày giờ hợp lệ",
        "  dòng 3: cần 5 hoặc 6 trường, có 1",
        "  dòng 4: trường 2 (thời gian): '1999-10-01 07:00:00' nằm ngoài khoảng năm hợp lý 2000-2099"]
    code, out, err = run("--lang", "en", "import", str(log), "--device", "TK-01")
    assert code == 0 and err.splitlines() == [
        "  line 2: field 2 (time): '2026-13-01 07:00:00' is not a valid date/time",
        "  line 3: expected 5 or 6 fields, found 1",
        "  line 4: field 2 (time): '1999-10-01 07:00:00' is outside the plausible years 2000-2099"]
    # JSON keeps the English reason for scripts, with its code and values beside it.
    files = json.loads(run("import", str(log), "--device", "TK-01", "--json")[1])["files"]
    assert [(r["code"], r["params"].get("index")) for r in files[0]["rejects"]] == [
        ("not_datetime", 2), ("fields_standard", None), ("implausible_year", 2)]
    assert files[0]["rejects"][1] == {"line": 3, "raw": "abc", "reason": "expected 5 or 6 fields, found 1",
                                      "code": "fields_standard", "params": {"found": 1}}
    with transaction() as session:
        rows = session.scalars(select(m.RejectedRow).order_by(m.RejectedRow.id)).all()
        assert len(rows) == 9
        for row in rows:  # what is stored words the same reason in English, and in Vietnamese
            assert rejection_text(row.reason_code, row.reason_params, "en") == row.reason
            assert rejection_text(row.reason_code, row.reason_params, "vi") != row.reason
    # A row stored before there were codes keeps its English text in every language.
    assert rejection_text(None, None, "vi", fallback="bad line") == "bad line"
    assert rejection_text("no_such_code", {}, "vi", fallback="bad line") == "bad line"
    assert rejection_text("not_datetime", {}, "vi", fallback="bad line") == "bad line"  # values missing


def test_every_parser_rejection_has_a_code_that_words_its_english_reason(tmp_path: Path) -> None:
    from attendance.rejections import rejection_text
    from devices.parsers import open_punch_bytes
    from devices.parsers.zk_push import parse_push_body

    csv_text = ("Mã CC,Ngày,Giờ\n1,01/10/2026,07:00\n2,31/02/2026,07:00\n3,01/10/2026,25:00\n"
                "\x01,01/10/2026,07:00\n4\n" + "5," + "9" * 300 + ",07:00\n")
    chunks = [*open_punch_bytes(csv_text.encode(), "x.csv").chunks(),
              *open_punch_bytes(ATTLOG.encode() + b"\xff\xfe\x00\n", "x.dat").chunks(),
              parse_push_body("1\t2026-10-01 07:00:00\t0\t1\n2\tyesterday\t0\t1\n3\t2026-10-01 07:00:00\tx\t1\n4\n", 1)]
    rejected = [r for chunk in chunks for r in chunk.rejected]
    assert len(rejected) >= 10
    for r in rejected:
        assert r.code is not None, r
        assert rejection_text(r.code, r.params, "en") == r.reason
        assert rejection_text(r.code, r.params, "vi") != r.reason


def test_help_is_worded_in_the_chosen_language() -> None:
    code, out, _err = run("import", "--help")
    assert code == 0 and out.startswith("Cách dùng: main import [OPTIONS] PATHS...\n")  # main: CliRunner's name
    assert "Nhập các tệp dữ liệu chấm công xuất từ máy chấm công." in out
    assert "Mã máy chấm công nơi các tệp được xuất ra." in out and "[bắt buộc]" in out
    assert "Hiện hướng dẫn này rồi thoát." in out and "Tùy chọn:" in out
    code, out, _err = run("--lang", "en", "import", "--help")
    assert code == 0 and out.startswith("Usage: main import [OPTIONS] PATHS...\n")
    assert "Import punch-log files exported from a terminal." in out
    assert "Code of the terminal the files come from." in out and "[required]" in out
    # The list of commands gives each one's summary in the language too.
    listing = run("--help")[1]
    assert "Lệnh:" in listing and "Tổng hợp tháng theo từng cán bộ" in listing
    assert "Monthly summary per staff member" in run("--help", env={"ATTENDANCE_LANG": "en"})[1]
    # Formatting help leaves the commands as declared: English stays the message id.
    assert main.commands["import"].help.startswith("Import punch-log files")
