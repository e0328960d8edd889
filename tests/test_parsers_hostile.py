"""Parsers against damaged and hostile input: stray bytes, structural look-alikes, huge
lines and cells, zip bombs, implausible dates."""

from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from devices.parsers import open_punch_bytes, read_all

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "sample_logs"))
from make_samples import encode_cp1258  # noqa: E402


def reasons(res) -> list[tuple[int, str]]:
    return [(r.line_no, r.reason) for r in res.rejected]


# --- decoding line by line -------------------------------------------------------------------


def test_one_byte_undefined_in_cp1258_costs_only_its_line() -> None:
    names = ["Thủy", "Dũng", "Hằng", "Ngọc Ánh", "Đạt", "Yến"] * 10
    lines = [
        encode_cp1258(f"{300 + i}\t{n}\t2026-10-{1 + i % 28:02d} 07:0{i % 10}:00\t3\t0\n")
        for i, n in enumerate(names)
    ]
    # 0x81 is undefined in Windows-1258 and in Windows-1252, and is no UTF-8 either
    lines[7] = lines[7].replace(b"\t3\t", b"\t3\x81\t")
    res_pf = open_punch_bytes(b"".join(lines), "tk03_attlog.dat")
    assert res_pf.info.encoding == "cp1258"
    res = read_all(res_pf)
    assert len(res.punches) == len(names) - 1
    offset = lines[7].index(b"\x81")
    assert reasons(res) == [
        (
            8,
            "not valid cp1258 text, nor utf-8 nor cp1252"
            f" (byte 0x81 at byte offset {offset} of the line)",
        )
    ]
    assert res.rejected[0].raw.startswith("307\tDũng\t")  # the rest of the line is readable


def test_utf8_file_with_one_code_page_line_keeps_its_header() -> None:
    rows = ["Mã chấm công,Họ tên,Ngày,Giờ"] + [
        f"{101 + i},Nguyễn Văn An,{13 + i % 5}/10/2026,07:0{i}:00" for i in range(8)
    ]
    data = [r.encode("utf-8") for r in rows]
    data[4] = encode_cp1258("104,Lê Văn Cường,16/10/2026,07:03:00")  # one line from an ANSI tool
    pf = open_punch_bytes(b"\r\n".join(data) + b"\r\n", "wiseeye.csv")
    assert pf.info.encoding == "utf-8"
    assert pf.info.columns["user_id"] == "Mã chấm công"
    res = read_all(pf)
    assert res.rejected == [] and res.skipped == 1
    assert res.punches["user_id"].tolist() == [str(101 + i) for i in range(8)]
    assert res.raw_line(5) == data[4] + b"\r"  # the audit keeps the bytes as they were


# --- only structural lines of a known shape are skipped -----------------------------------


def test_header_like_lines_inside_an_attlog_are_rejected_not_skipped() -> None:
    punches = [f"{100 + i}\t2026-10-01 07:0{i}:00\t1\t0\t1\t0" for i in range(6)]
    lines = ["User ID\tTime\tDevice\tStatus\tVerify", *punches[:3], "Mã chấm công\tNgày\tGiờ"]
    lines += punches[3:]
    pf = open_punch_bytes(("\n".join(lines) + "\n").encode(), "attlog.dat")
    assert pf.info.format == "zk_attlog"
    res = read_all(pf)
    assert res.punches["line_no"].tolist() == [2, 3, 4, 6, 7, 8]
    assert res.skipped == 0
    assert [n for n, _ in reasons(res)] == [1, 5]
    assert all(r.reason for r in res.rejected)


def test_attlog_lines_above_a_csv_header_are_rejected_with_a_reason() -> None:
    # garbage outnumbers punches in the head, so the file reads as the CSV its header says;
    # the attlog punches above that header must not vanish as "title rows"
    lines = ["x", "y", "z", "101\t2026-10-01 07:00:00\t1\t0\t1\t0", "BÁO CÁO CHẤM CÔNG"]
    lines += ["Mã CC,Thời gian", "102,2026-10-01 07:05:00"]
    pf = open_punch_bytes(("\n".join(lines) + "\n").encode(), "mixed.txt")
    assert pf.info.format == "csv"
    res = read_all(pf)
    assert res.punches["user_id"].tolist() == ["102"]
    assert res.skipped == 5  # x, y, z, the title line, the header: none holds a time
    assert reasons(res) == [(4, "above the header (line 6) but is an attlog punch line")]


@pytest.mark.parametrize(
    ("first", "last", "skipped"),
    [
        ("OIN7030067011301", "EE091CF9", 2),  # the known shapes
        ("12345678", "EE091CF9", 1),  # a lone number is a damaged punch, not a serial
        ("OIN7030067011301", "EE091CF", 1),  # 7 hex digits: not a CRC-32
        ("OIN7030067011301", "0xEE091CF9", 2),
    ],
)
def test_serial_and_checksum_exact_shapes(first: str, last: str, skipped: int) -> None:
    body = [f"     1\t2026-10-01 07:0{i}:00\t1\t0\t1\t0" for i in range(3)]
    res = read_all(open_punch_bytes("\r\n".join([first, *body, last, ""]).encode(), "bw.dat"))
    assert len(res.punches) == 3
    assert res.skipped == skipped
    assert len(res.rejected) == 2 - skipped
    assert all(r.reason == "expected 5 or 6 fields, found 1" for r in res.rejected)


# --- plausible dates --------------------------------------------------------------------------

IMPLAUSIBLE = ["9999-12-31 07:00:00", "0001-01-01 07:00:00", "0026-10-15 07:00:00"]


def test_implausible_attlog_dates_rejected_on_both_paths() -> None:
    lines = [f"{100 + i}\t2026-10-{1 + i % 28:02d} 07:00:00\t1\t0\t1\t0" for i in range(40)]
    for n, t in zip((5, 17, 33), IMPLAUSIBLE, strict=True):
        lines[n - 1] = f"7\t{t}\t1\t0\t1\t0"
    data = ("\n".join(lines) + "\n").encode()
    pf = open_punch_bytes(data, "attlog.dat")
    for mode in ("fast", "slow"):
        chunks = list(pf.chunks(mode=mode))  # type: ignore[call-arg]
        got = [(r.line_no, r.reason) for c in chunks for r in c.rejected]
        assert got == [
            (n, f"field 2 (time): '{t}' is outside the plausible years 2000-2099")
            for n, t in zip((5, 17, 33), IMPLAUSIBLE, strict=True)
        ]
        assert sum(len(c.punches) for c in chunks) == 37
    # the range is a parameter of the entry point
    wide = read_all(open_punch_bytes(data, "attlog.dat", plausible_years=(1, 9999 - 1)))
    assert len(wide.punches) == 39 and [r.line_no for r in wide.rejected] == [5]
    with pytest.raises(ValueError, match="plausible_years"):
        open_punch_bytes(data, "attlog.dat", plausible_years=(2100, 2000))


def test_implausible_dates_in_csv_html_xlsx_push_and_lines() -> None:
    from openpyxl import Workbook

    from devices.parsers import parse_lines
    from devices.parsers.zk_push import parse_push_body

    csv_text = "Mã CC,Ngày,Giờ\n1,13/10/2026,07:00\n2,31/12/9999,07:00\n3,15/10/0026,07:00\n"
    res = read_all(open_punch_bytes(csv_text.encode(), "e.csv"))
    assert reasons(res) == [
        (3, "field 2 (date): '31/12/9999' is outside the plausible years 2000-2099"),
        (4, "field 2 (date): '15/10/0026' is outside the plausible years 2000-2099"),
    ]
    doc = "<table><tr><th>Person ID</th><th>Time</th></tr><tr><td>1</td><td>0001-01-01 07:00:00</td></tr></table>"
    res = read_all(open_punch_bytes(doc.encode(), "e.xls"))
    assert reasons(res) == [
        (2, "table row 2, cell 2 (date/time): '0001-01-01 07:00:00' is outside the plausible years 2000-2099")
    ]
    wb = Workbook()
    wb.active.append(["Mã CC", "Thời gian"])
    wb.active.append(["1", "1999-12-31 23:59:59"])
    buf = io.BytesIO()
    wb.save(buf)
    res = read_all(open_punch_bytes(buf.getvalue(), "e.xlsx"))
    assert reasons(res) == [
        (2, "column B (date/time): '1999-12-31 23:59:59' is outside the plausible years 2000-2099")
    ]
    assert len(read_all(open_punch_bytes(buf.getvalue(), "e.xlsx", plausible_years=(1990, 2099))).punches) == 1
    push = parse_push_body("1\t9999-12-31 07:00:00\t0\t1\n2\t2026-10-01 07:00:00\t0\t1\n")
    assert [(r.line_no, r.reason) for r in push.rejected] == [
        (1, "field 2 (time): '9999-12-31 07:00:00' is outside the plausible years 2000-2099")
    ]
    assert len(parse_push_body("1\t1999-01-01 07:00:00\t0\t1\n", plausible_years=(1990, 2000)).punches) == 1
    lines = parse_lines(["1\t2026-10-01 07:00:00\t1\t0\t1", "2\t2100-01-01 07:00:00\t1\t0\t1"])
    assert [r.line_no for r in lines.rejected] == [2] and len(lines.punches) == 1


# --- linear time on hostile text --------------------------------------------------------------

_HOSTILE_SCRIPT = r"""
import sys, io
sys.path.insert(0, sys.argv[1])
from devices.parsers import open_punch_bytes, read_all, parse_lines
from devices.parsers.delimited import parse_time, split_datetime, parse_datetime
from devices.parsers.zk_push import parse_push_body
MB = 1 << 20
spaces = " " * MB
# the patterns alone, on megabyte inputs that used to backtrack
assert parse_time("7:00" + spaces + "x") is None
assert parse_time("7:00" + spaces) == 7 * 3600  # trailing spaces are only padding
assert split_datetime("a" + "T" * MB + "\n")[0] == "a"
assert split_datetime("a" + "T " * MB)[0] == "aT"
assert parse_datetime("01/10/2026" + spaces + "7:00" + spaces + "x", "dmy") is None
# whole files: attlog, CSV, HTML, push body, each with a megabyte line or cell
out = []
attlog = "101\t2026-10-01 07:00:00\t1\t0\t1\t0\n" + "102\t2026-10-01 " + "7:00" + spaces + "\t1\t0\n"
out.append(read_all(open_punch_bytes(attlog.encode(), "a.dat")))
csv = "Mã CC,Ngày,Giờ\n1,13/10/2026,7:00" + spaces + "\n2,13/10/2026,07:05\n"
out.append(read_all(open_punch_bytes(csv.encode(), "c.csv")))
html = "<table><tr><th>Person ID</th><th>Time</th></tr><tr><td>1</td><td>2026-10-01 7:00" + "&nbsp;" * (MB // 6) + "</td></tr><tr><td>2</td><td>2026-10-01 07:00:00</td></tr></table>"
out.append(read_all(open_punch_bytes(html.encode(), "h.xls")))
out.append(parse_push_body("1\t2026-10-01 07:00:00" + spaces + "\t0\t1\n2\t2026-10-01 07:00:00\t0\t1\n"))
out.append(parse_lines(["1\t" + "a " * (MB // 2), "2\t2026-10-01 07:00:00\t1\t0\t1"]))
for res in out:
    assert len(res.punches) == 1, res
    assert len(res.rejected) == 1 and res.rejected[0].reason, res.rejected
    print(res.rejected[0].reason[:120])
"""


def test_megabyte_lines_and_cells_parse_in_bounded_time() -> None:
    # Structural guarantees: every line longer than ParseLimits.max_line_chars is rejected
    # before any field is matched, and no pattern can backtrack. The subprocess timeout is
    # generous (the old quadratic time pattern needed ~50 s for 40,000 spaces, hours for 1 MB).
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _HOSTILE_SCRIPT, str(REPO)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("characters long (at most") == 4, done.stdout
    assert "table row 2: a cell or the row is longer than 4096 characters" in done.stdout


# --- bounded workbooks and HTML ---------------------------------------------------------------


def _zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip of (name, deflated bytes, crc, declared size, method) members, written by hand
    so a test can declare any size."""
    out = io.BytesIO()
    central = []
    for name, data, crc, size, method in members:
        offset = out.tell()
        fn = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(fn), 0))
        out.write(fn + data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size, len(fn), 0, 0, 0, 0, 0, offset) + fn)
    start = out.tell()
    for c in central:
        out.write(c)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


def _bomb_workbook(declared: int | None) -> bytes:
    """A real workbook whose sharedStrings.xml inflates to about 1.5 GB of one string."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Mã CC", "Thời gian"])
    wb.active.append(["1", "2026-10-01 07:00:00"])
    buf = io.BytesIO()
    wb.save(buf)
    members = []
    with zipfile.ZipFile(buf) as z:
        for info in z.infolist():
            raw = z.read(info.filename)
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            members.append((info.filename, c.compress(raw) + c.flush(), zlib.crc32(raw), len(raw), 8))
    # deflate of 1 MB of "A" after a full flush is the same bytes every time: repeat them
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"A" * (1 << 20)
    head = c.compress(b"<sst><si><t>" + block) + c.flush(zlib.Z_FULL_FLUSH)
    same = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    body = head + same * 1430 + c.compress(b"</t></si></sst>") + c.flush()
    size = 12 + 1431 * (1 << 20) + 15
    members.append(("xl/sharedStrings.xml", body, 0, declared if declared is not None else size, 8))
    return _zip(members)


_MEMORY_SCRIPT = r"""
import resource, sys
sys.path.insert(0, sys.argv[1])
from devices.parsers import UnsupportedFile, open_punch_file, read_all
try:
    read_all(open_punch_file(sys.argv[2]))
    print("READ")
except UnsupportedFile as exc:
    print("REFUSED", exc)
# VmHWM is this process's own peak: ru_maxrss would include the parent's (pytest's), which
# Linux carries over fork and exec.
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) // 1024)
"""


@pytest.mark.parametrize(
    ("declared", "why"),
    [
        (None, "would inflate to 1431 MB (at most 200 MB are read; a zip bomb?)"),
        (1000, "cannot be read"),  # a header that lies: zipfile stops at the declared size
        # declared within the limits: counted while inflating, refused at 64 MB
        (150 * 1024 * 1024, "shared strings (xl/sharedStrings.xml) inflate to more than 64 MB"),
    ],
)
def test_zip_bomb_workbook_is_refused_in_bounded_memory(tmp_path: Path, declared: int | None, why: str) -> None:
    import subprocess

    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_bomb_workbook(declared))
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(REPO), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    verdict, peak = done.stdout.strip().rsplit("\n", 1)
    assert verdict.startswith(f"REFUSED {path}: ") and why in verdict, verdict
    assert int(peak) < 400, f"peak memory {peak} MB"


def test_zip_compression_ratio_is_checked_before_inflating() -> None:
    from devices.parsers import ParseLimits, UnsupportedFile

    data = _bomb_workbook(150 * 1024 * 1024)  # about 100:1 as declared
    with pytest.raises(UnsupportedFile, match="claims a compression ratio of 10[0-9]:1 .at most 50:1"):
        open_punch_bytes(data, "b.xlsx", limits=ParseLimits(zip_max_ratio=50))


def test_zip_members_are_counted_while_inflating() -> None:
    # declared sizes within the limits, but the limit set lower than what the members hold
    from devices.parsers import ParseLimits, UnsupportedFile

    data = (REPO / "sample_logs" / "mitapro_export.xlsx").read_bytes()
    with pytest.raises(UnsupportedFile, match="inflate"):
        open_punch_bytes(data, "m.xlsx", limits=ParseLimits(zip_max_total_bytes=10_000))
    assert len(read_all(open_punch_bytes(data, "m.xlsx")).punches) == 500


def test_html_size_and_nesting_are_bounded() -> None:
    from devices.parsers import ParseLimits, UnsupportedFile

    row = "<tr><td>1</td><td>2026-10-01 07:00:00</td></tr>"
    deep = "<table><tr><th>Person ID</th><th>Time</th></tr>" + row + "<tr><td>" + "<table><tr><td>" * 40 + "x"
    with pytest.raises(UnsupportedFile, match="refused: tables nested more than 32 deep"):
        open_punch_bytes(deep.encode(), "deep.xls")
    flat = "<table><tr><th>Person ID</th><th>Time</th></tr>" + row * 50 + "</table>"
    assert len(read_all(open_punch_bytes(flat.encode(), "f.xls")).punches) == 50
    with pytest.raises(UnsupportedFile, match="refused: an HTML table of 0 MB"):
        open_punch_bytes(flat.encode(), "f.xls", limits=ParseLimits(html_max_bytes=1000))
