"""End to end through the installed `attendance` script, exactly as docs/cli.md drives it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from attendance.synth import FIELDS, generate_district

SCRIPT = shutil.which("attendance", path=str(Path(sys.executable).parent)) or "attendance"


def cli(db_url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATTENDANCE_DATABASE_URL": db_url}
    done = subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env, timeout=300)
    if ok:
        assert done.returncode == 0, f"{args}: {done.stderr}"
    return done


@pytest.fixture
def district(tmp_path: Path):
    d = generate_district(units=3, staff_per_unit=8, month="2026-09", seed=11)
    (tmp_path / "bundle.yaml").write_text(yaml.safe_dump(d.bundle, allow_unicode=True), encoding="utf-8")
    for device, lines in d.attlogs.items():
        (tmp_path / f"{device}_attlog.dat").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def test_generated_district_end_to_end(db_url: str, tmp_path: Path, district) -> None:
    assert cli(db_url, "init").returncode == 0
    cli(db_url, "init")  # idempotent
    cli(db_url, "org", "load", str(tmp_path / "bundle.yaml"))
    for device, lines in district.attlogs.items():
        result = json.loads(cli(db_url, "import", str(tmp_path / f"{device}_attlog.dat"), "--device", device, "--json").stdout)
        assert result["read"] == len(lines)
        assert result["read"] == result["inserted"] + result["duplicates"] + result["rejected"]
        assert result["rejected"] == 0 and result["unknown_users"] == 0 and isinstance(result["batch"], int)

    rows = json.loads(cli(db_url, "summary", "--month", "2026-09", "--format", "json").stdout)
    got = {r["staff_code"]: {f: r[f] for f in FIELDS} for r in rows}
    assert got == district.expected
    # September 2026: 1 and 2 September are National Day, so 20 working days.
    assert {r["working_days"] for r in rows} == {20}

    unit_rows = json.loads(cli(db_url, "summary", "--month", "2026-09", "--unit", "17831", "--format", "json").stdout)
    assert sorted(r["staff_code"] for r in unit_rows) == sorted(c for c in district.expected if c.startswith("NV002"))

    csv_text = cli(db_url, "summary", "--month", "2026-09", "--format", "csv", "--headers", "codes").stdout
    assert csv_text.splitlines()[0].split(",")[0] == "staff_code" and len(csv_text.splitlines()) == 25
    xlsx = tmp_path / "summary.xlsx"
    cli(db_url, "summary", "--month", "2026-09", "--format", "xlsx", "-o", str(xlsx))
    sheet = load_workbook(xlsx).active
    assert sheet["A2"].value == "Mã CB" and sheet.freeze_panes == "C3" and sheet.max_row == 26

    explained = json.loads(cli(db_url, "explain", "--staff", "NV001001", "--date", "2026-09-02", "--json").stdout)
    assert explained["working_day"] is False and explained["calendar"]["source"] == "holiday"
    explained = json.loads(cli(db_url, "explain", "--staff", "NV001001", "--date", "2026-09-03", "--json").stdout)
    assert explained["working_day"] is True and [s["session_no"] for s in explained["sessions"]] == [1, 2]
    text = cli(db_url, "explain", "--staff", "NV001001", "--date", "2026-09-03", "--lang", "en").stdout
    assert "Session 1 (07:00–11:30)" in text

    punches = json.loads(cli(db_url, "punches", "--device", "TK-01", "--from", "2026-09-03", "--to", "2026-09-03").stdout)
    assert punches and all(p["device_time"].startswith("2026-09-03 ") for p in punches)
    assert {"user_id", "device_time", "corrected_time", "status", "verify", "batch"} <= set(punches[0])

    # Re-importing everything changes nothing.
    for device, lines in district.attlogs.items():
        again = json.loads(cli(db_url, "import", str(tmp_path / f"{device}_attlog.dat"), "--device", device, "--json").stdout)
        assert again["inserted"] == 0 and again["duplicates"] == len(lines)
    assert json.loads(cli(db_url, "summary", "--month", "2026-09", "--format", "json").stdout) == rows


def test_errors_are_one_line_on_stderr_with_nonzero_exit(db_url: str, tmp_path: Path, district) -> None:
    cli(db_url, "init")
    bad = dict(district.bundle)
    bad["staff"] = [dict(district.bundle["staff"][0]), dict(district.bundle["staff"][1])]
    bad["staff"][1]["enrollments"] = [{"device": "TK-9", "user_id": "1"}]
    bad["excuses"] = []
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    done = cli(db_url, "org", "load", str(tmp_path / "bad.yaml"), ok=False)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == ["error: staff[1].enrollments[0].device: không có máy chấm công 'TK-9'"]
    done = cli(db_url, "import", str(tmp_path / "missing.dat"), "--device", "TK-01", "--json", ok=False)
    assert done.returncode != 0 and done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    done = cli(db_url, "summary", "--month", "2026-13", ok=False)
    assert done.returncode != 0 and "YYYY-MM" in done.stderr


def test_import_refusals_are_one_error_line_each_and_store_nothing(db_url: str, tmp_path: Path, district) -> None:
    cli(db_url, "init")
    cli(db_url, "org", "load", str(tmp_path / "bundle.yaml"))
    loop = tmp_path / "loop.dat"
    loop.symlink_to(loop)  # unreadable even for root: opening it fails
    unreadable = [str(loop)]
    if os.geteuid() != 0:
        locked = tmp_path / "locked.dat"
        locked.write_text("1\t2026-09-03 07:00:00\t1\t0\t1\t0\n")
        locked.chmod(0)
        unreadable.append(str(locked))
    good = str(tmp_path / "TK-01_attlog.dat")
    done = cli(db_url, "import", str(tmp_path / "missing.dat"), str(tmp_path), *unreadable, good,
               "--device", "TK-01", "--json", ok=False)
    assert done.returncode != 0 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 + len(unreadable) and all(line.startswith("error: ") for line in lines)
    assert lines[0] == f"error: {tmp_path / 'missing.dat'}: không có tệp này"
    assert lines[1] == f"error: {tmp_path}: là thư mục, không phải tệp"
    assert lines[2].startswith(f"error: {loop}: không đọc được (")

    blank = tmp_path / "blank.dat"
    blank.write_bytes(b"\r\n \r\n")
    done = cli(db_url, "import", str(blank), "--device", "TK-01", "--json", ok=False)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"error: {blank}: không đọc được gì từ 5 byte theo định dạng zk_attlog (utf-8): tệp chỉ có dòng trống; không lưu gì"]
    assert json.loads(cli(db_url, "punches", "--device", "TK-01").stdout) == []  # nothing from the good file either

    done = cli(db_url, "import", good, "--device", "NOPE", ok=False)
    assert done.returncode != 0 and done.stderr.strip().splitlines() == [
        "error: không có máy chấm công 'NOPE' (hãy nạp bằng 'attendance org load' trước)"]


def test_import_json_shows_a_huge_rejected_line_cut_short(db_url: str, tmp_path: Path, district) -> None:
    cli(db_url, "init")
    cli(db_url, "org", "load", str(tmp_path / "bundle.yaml"))
    path = tmp_path / "huge.dat"
    path.write_bytes(b"1\t2026-09-03 07:00:00\t1\t0\t1\t0\n" + b"\xe1\xba\xa1" * 1_000_000 + b"\n")
    done = cli(db_url, "import", str(path), "--device", "TK-01", "--json")
    assert len(done.stdout) < 20_000  # not the 3 MB line
    result = json.loads(done.stdout)
    assert (result["read"], result["inserted"], result["rejected"]) == (2, 1, 1)
    shown = result["files"][0]["rejects"][0]["raw"]
    assert shown.startswith("ạạạ") and "tổng cộng 1,000,000 ký tự" in shown  # the reader's language
