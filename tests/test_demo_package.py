"""`attendance demo` after a plain install: its data ships in the package, equal to sample_logs/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from attendance.demo import DATA, demo_files

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_logs"


def test_packaged_demo_files_equal_sample_logs_byte_for_byte() -> None:
    names = demo_files()
    assert names[0] == "demo_bundle.yaml" and len(names) == len(set(names)) == 6
    for name in names:
        packaged = (DATA / name).read_bytes()
        assert packaged == (SAMPLES / name).read_bytes(), f"attendance/demo_data/{name} differs from sample_logs/{name}"
    # Nothing else hides in the folder (a stale copy would never be checked).
    assert sorted(p.name for p in DATA.iterdir() if p.is_file()) == sorted(names)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done


def test_demo_runs_from_a_built_wheel_without_the_repository(tmp_path: Path) -> None:
    # Build from a copy of what the wheel is made of, so no build/ or egg-info lands in the repo.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("attendance", "devices", "inspections"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(wheels)], tmp_path, dict(os.environ))
    [wheel] = list(wheels.glob("attendance-*.whl"))
    target = tmp_path / "installed"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], tmp_path,
         dict(os.environ))

    # -S: no site-packages processing, so the shared venv's editable install (a .pth finder
    # pointing at a checkout) cannot sneak in; dependencies come from its site-packages only.
    empty = tmp_path / "empty"
    empty.mkdir()
    database = tmp_path / "demo.sqlite3"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "ATTENDANCE_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(target), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    env["ATTENDANCE_DATABASE_URL"] = f"sqlite:///{database}"
    python = [sys.executable, "-S"]

    where = _run([*python, "-c", "import attendance; print(attendance.__file__)"], empty, env).stdout.strip()
    assert Path(where).is_relative_to(target), where
    _run([*python, "-m", "attendance.cli", "init"], empty, env)
    first = _run([*python, "-m", "attendance.cli", "demo"], empty, env).stdout.splitlines()
    again = _run([*python, "-m", "attendance.cli", "demo"], empty, env).stdout.splitlines()

    assert first[0].startswith("Bộ thiết lập mẫu:") and "bản ghi mới" in first[0]
    # The counts of sample_logs/README.md: 986 punches on TK-01, the cut last line of TK-02,
    # the B&W file's header and footer, and the Wise Eye export that adds nothing.
    assert "  tk01_attlog.dat → TK-01: đọc 986, thêm 986, trùng 0, lỗi 0" in first
    assert "  tk02_1_attlog.dat → TK-02: đọc 454, thêm 453, trùng 0, lỗi 1" in first
    assert "  wiseeye_export.csv → TK-01: đọc 529, thêm 0, trùng 529, lỗi 0" in first
    assert any(line.startswith("Tổng hợp tháng 10/2026 — Xã Tân Kỳ (") for line in first)
    # Idempotent: the second run loads nothing new.
    assert again[0] == "Bộ thiết lập mẫu: đã có, không thay đổi"
    assert "  tk01_attlog.dat → TK-01: đọc 986, thêm 0, trùng 986, lỗi 0" in again
    # The demo accounts, one per role, share one password, printed each time and kept (0600).
    assert "Tài khoản dùng thử: admin (admin), totruong (team_lead)" in "\n".join(first)
    password_line = [line for line in again if line.startswith("Mật khẩu của mọi tài khoản dùng thử: ")]
    assert password_line and password_line == [line for line in first if line.startswith("Mật khẩu")]
    secret = empty / "instance" / "demo-password.txt"
    assert secret.read_text().strip() in password_line[0] and secret.stat().st_mode & 0o077 == 0
    # The spot checks of inspections/demo.py, added through attendance.demo.DEMO_MODULES, once.
    assert first[-1] == "Kiểm tra đột xuất mẫu: 4 cuộc mới, tổng cộng 4 cuộc (đăng nhập bằng totruong hoặc kiemtra)"
    assert again[-1] == "Kiểm tra đột xuất mẫu: đã có, không thay đổi"
    # Only the instance folder with the secret key `init` wrote: the packaged data sufficed.
    assert database.exists() and sorted(p.relative_to(empty) for p in empty.rglob("*")) == [
        Path("instance"), Path("instance/config.py"), Path("instance/demo-password.txt")]
