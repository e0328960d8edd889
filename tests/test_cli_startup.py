"""The command line starts without pandas unless the command needs it (import, summary...)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from attendance.cli import main
from attendance.formats import FILE_FORMATS
from devices.parsers import FORMATS

ROOT = Path(__file__).resolve().parents[1]
# Runs the command in the child and says, whatever its outcome, which heavy modules it loaded.
CHILD = """
import sys
from attendance.cli import main
sys.argv = ["attendance", *sys.argv[1:]]
try:
    main()
finally:
    print("LOADED", sorted(m for m in ("pandas", "numpy") if m in sys.modules), file=sys.stderr)
"""


def run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATTENDANCE_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_the_format_names_of_the_command_line_are_the_parsers_registry() -> None:
    assert FILE_FORMATS == FORMATS
    option = next(p for p in main.commands["import"].params if p.name == "fmt")
    assert tuple(option.type.choices) == FORMATS


def test_importing_the_command_line_loads_no_pandas() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys, attendance.cli; print(sorted(sys.modules))"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          cwd=ROOT, timeout=120, check=True)
    modules = done.stdout.split("'")
    assert "attendance.cli" in modules and "pandas" not in modules and "numpy" not in modules


@pytest.mark.parametrize("args", [
    ("--help",), ("import", "--help"), ("batch", "list"), ("users", "list"), ("batch", "list", "--device", "NOPE", "--json"),
    ("batch", "void", "5", "--reason", "wrong terminal"), ("profile", "list"),
])
def test_commands_that_read_no_punches_start_without_pandas(sqlite_url: str, args: tuple[str, ...]) -> None:
    done = run(sqlite_url, *args)
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr.splitlines()[-1] == "LOADED []", done.stderr
    if done.returncode:  # an error is still worded as one line (the parsers were not needed for it)
        assert done.stderr.splitlines()[0].startswith("error: ")


def test_an_import_still_loads_the_parsers_and_reports_an_unsupported_file(sqlite_url: str, tmp_path: Path) -> None:
    """The control: the check above would pass vacuously if the child never loaded anything."""
    bundle = tmp_path / "b.yaml"
    bundle.write_text("units: [{code: X, name: X}]\ndevices: [{code: TK-01, unit: X, kind: file}]\n", encoding="utf-8")
    assert run(sqlite_url, "org", "load", str(bundle)).returncode == 0
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x00\x01\x02 not a punch log \xff" * 10)
    done = run(sqlite_url, "import", str(junk), "--device", "TK-01")
    assert done.returncode == 1 and "không nhận ra định dạng" in done.stderr.splitlines()[0], done.stderr
    assert "Traceback" not in done.stderr and done.stderr.splitlines()[-1] == "LOADED ['numpy', 'pandas']"
