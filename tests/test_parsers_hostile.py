"""Parsers against damaged and hostile input: stray bytes, structural look-alikes, huge
lines and cells, zip bombs, implausible dates."""

from __future__ import annotations

import sys
from pathlib import Path

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
