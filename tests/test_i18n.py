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
