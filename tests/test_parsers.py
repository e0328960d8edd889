"""Example-based tests of the punch-log parsers (devices/parsers)."""

from __future__ import annotations

import codecs
import os
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from devices.parsers import (
    PUNCH_COLUMNS,
    MappingProfile,
    ParsedChunk,
    RejectedLine,
    UnsupportedFile,
    decode_text,
    detect_encoding,
    open_punch_bytes,
    open_punch_file,
    parse_lines,
    read_all,
)
from devices.parsers.detect import ZkAttlogFile

REPO = Path(__file__).resolve().parents[1]
# anonymised exports of real terminals, kept outside the repository: set the variable to
# the folder holding zk_usb_5col_attlog.dat and zk_usb_named_attlog.dat to check them too
REAL = Path(os.environ.get("ATTENDANCE_REAL_SAMPLES", Path(__file__).resolve().parents[1] / "sample_logs" / "real"))
SAMPLES = REPO / "sample_logs"

ZK6 = "{pin}\t{t}\t1\t0\t1\t0"


def real(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real export {name} not available (set ATTENDANCE_REAL_SAMPLES)")
    return path


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} missing: run python sample_logs/make_samples.py")
    return path


def parse(data: bytes | str, name: str = "test.dat", **kw: object) -> ParsedChunk:
    """Parse bytes; for attlog files also check that the fast and per-line paths agree."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    pf = open_punch_bytes(data, name, **kw)  # type: ignore[arg-type]
    result = read_all(pf)
    if isinstance(pf, ZkAttlogFile):
        for mode in ("fast", "slow"):
            other = list(pf.chunks(mode=mode))
            merged = pd.concat([c.punches for c in other], ignore_index=True)
            pd.testing.assert_frame_equal(merged, result.punches)
            assert [r for c in other for r in c.rejected] == result.rejected
            assert sum(c.skipped for c in other) == result.skipped
    return result


def n_lines(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def row(chunk: ParsedChunk, i: int) -> dict[str, object]:
    rec: dict[str, object] = {str(k): v for k, v in chunk.punches.iloc[i].to_dict().items()}
    rec["device_time"] = str(rec["device_time"])
    for key in ("status", "verify"):
        value = rec[key]
        rec[key] = None if pd.isna(value) else int(value)  # type: ignore[call-overload,arg-type]
    return rec


def reasons(chunk: ParsedChunk) -> list[tuple[int, str]]:
    return [(r.line_no, r.reason) for r in chunk.rejected]


# --- real terminal exports (ATTENDANCE_REAL_SAMPLES) -----------------------------------------


def test_real_5col_attlog() -> None:
    pf = open_punch_file(real("zk_usb_5col_attlog.dat"))
    assert (pf.info.format, pf.info.encoding, pf.info.date_order) == ("zk_attlog", "utf-8", "ymd")
    assert pf.info.size == 17360
    res = read_all(pf)
    assert list(res.punches.columns) == list(PUNCH_COLUMNS)
    assert len(res.punches) == 560 and res.rejected == [] and res.skipped == 0
    assert row(res, 0) == {
        "line_no": 1,
        "user_id": "6305",
        "device_time": "2025-10-10 17:08:59",
        "status": 0,
        "verify": 0,
        "work_code": None,
    }
    assert row(res, 559)["line_no"] == 560
    assert row(res, 559)["user_id"] == "1791"
    assert row(res, 559)["device_time"] == "2025-11-17 07:56:51"
    assert res.punches["status"].value_counts().to_dict() == {0: 550, 1: 8, 3: 1, 4: 1}
    by_line = res.punches.set_index("line_no")
    assert by_line.loc[270, "status"] == 3 and by_line.loc[270, "user_id"] == "2144"
    assert by_line.loc[505, "status"] == 4 and by_line.loc[505, "user_id"] == "9779"
    # a double tap 3 s apart stays two punches
    assert by_line.loc[[61, 62], "device_time"].astype(str).tolist() == [
        "2025-10-15 07:38:49",
        "2025-10-15 07:38:52",
    ]
    assert res.punches["user_id"].nunique() == 18
    assert res.punches["work_code"].isna().all()
    assert str(res.punches["device_time"].dtype) == "datetime64[s]"
    assert str(res.punches["status"].dtype) == "Int64"
    assert res.bytes_done == 17360


def test_real_named_attlog() -> None:
    res = read_all(open_punch_file(real("zk_usb_named_attlog.dat")))
    assert len(res.punches) == 104 and res.rejected == [] and res.skipped == 0
    assert row(res, 0) == {
        "line_no": 1,
        "user_id": "142",
        "device_time": "2026-03-14 09:36:49",
        "status": 0,
        "verify": None,
        "work_code": None,
    }
    assert row(res, 12)["user_id"] == "148"
    assert row(res, 12)["device_time"] == "2026-03-14 13:58:04"
    assert row(res, 103)["user_id"] == "228"
    assert row(res, 103)["device_time"] == "2026-03-14 14:33:10"
    assert res.punches["verify"].isna().all()
    assert res.punches["user_id"].nunique() == 34
    # the file is not in time order across users, and the parser keeps file order
    assert not res.punches["device_time"].is_monotonic_increasing
    assert res.punches["line_no"].tolist() == list(range(1, 105))


# --- the project's sample_logs ------------------------------------------------------------


def test_sample_tk01_padded_pins_and_leading_zeros() -> None:
    res = read_all(open_punch_file(sample("tk01_attlog.dat")))
    assert len(res.punches) == 986 and res.rejected == [] and res.skipped == 0
    assert row(res, 0) == {
        "line_no": 1,
        "user_id": "105",
        "device_time": "2026-10-01 06:37:52",
        "status": 0,
        "verify": 15,
        "work_code": "0",
    }
    users = set(res.punches["user_id"])
    assert {"0042", "00007"} <= users
    assert "42" not in users and "7" not in users
    assert res.raw_line(1) == b"      105\t2026-10-01 06:37:52\t1\t0\t15\t0"  # kept for audit
    assert users - {"0042", "00007"} == {str(p) for p in range(101, 116)}
    assert (res.punches["device_time"].dt.day_of_week == 5).sum() == 15  # Saturday duty


def test_sample_tk02_crlf_5col_truncated_last_line() -> None:
    pf = open_punch_file(sample("tk02_1_attlog.dat"))
    res = read_all(pf)
    assert len(res.punches) == 453 and res.skipped == 0
    assert res.rejected == [RejectedLine(454, "204\t2026-10-3", "expected 5 or 6 fields, found 2")]
    assert row(res, 0) == {
        "line_no": 1,
        "user_id": "204",
        "device_time": "2026-10-01 06:46:03",
        "status": 0,
        "verify": 1,
        "work_code": None,
    }
    assert set(res.punches["user_id"]) == {"201", "202", "203", "204", "205", "206"}
    assert set(res.punches["verify"]) == {1, 4}


def test_sample_old_bw_serial_and_checksum_are_skipped() -> None:
    res = read_all(open_punch_file(sample("OIN7030067011301_attlog.dat")))
    assert res.skipped == 2 and res.rejected == []
    assert len(res.punches) == 343
    assert row(res, 0) == {
        "line_no": 2,
        "user_id": "2",
        "device_time": "2026-10-01 06:51:12",
        "status": 0,
        "verify": 1,
        "work_code": "0",
    }
    assert row(res, 342)["line_no"] == 344
    assert row(res, 342)["device_time"] == "2026-10-31 11:39:27"


def test_sample_tk03_named_cp1258() -> None:
    pf = open_punch_file(sample("tk03_named_attlog.dat"))
    assert pf.info.encoding == "cp1258"
    res = read_all(pf)
    assert len(res.punches) == 500 and res.rejected == [] and res.skipped == 0
    assert row(res, 0) == {
        "line_no": 1,
        "user_id": "301",
        "device_time": "2026-10-01 11:31:31",
        "status": 1,
        "verify": None,
        "work_code": None,
    }
    counts = res.punches["user_id"].value_counts().to_dict()
    assert set(counts) == {"301", "302", "303", "304", "305", "306"}
    assert counts["304"] > 50  # "Ngọc Ánh": a short name with a space is still read
    raw = sample("tk03_named_attlog.dat").read_bytes()
    first_304 = next(ln for ln in raw.split(b"\n") if ln.startswith(b"304\t"))
    assert decode_text(first_304, "cp1258").split("\t")[1] == "Ngọc Ánh"


def test_sample_wiseeye_csv() -> None:
    pf = open_punch_file(sample("wiseeye_export.csv"))
    info = pf.info
    assert (info.format, info.encoding, info.date_order, info.delimiter) == (
        "csv",
        "utf-8-sig",
        "dmy",
        ",",
    )
    assert info.columns == {"user_id": "Mã chấm công", "date": "Ngày", "time": "Giờ"}
    res = read_all(pf)
    assert len(res.punches) == 529 and res.rejected == [] and res.skipped == 1
    assert row(res, 0) == {
        "line_no": 2,
        "user_id": "00007",
        "device_time": "2026-10-02 06:44:27",
        "status": None,
        "verify": None,
        "work_code": None,
    }
    assert res.punches["device_time"].max() == pd.Timestamp("2026-10-16 17:18:58")
    # every exported row is also in TK-01's USB file with the same key
    tk01 = read_all(open_punch_file(sample("tk01_attlog.dat"))).punches
    keys = set(zip(tk01["user_id"], tk01["device_time"], strict=True))
    assert set(zip(res.punches["user_id"], res.punches["device_time"], strict=True)) <= keys


ALL_SAMPLES = [
    "tk01_attlog.dat",
    "tk02_1_attlog.dat",
    "OIN7030067011301_attlog.dat",
    "tk03_named_attlog.dat",
    "wiseeye_export.csv",
]


@pytest.mark.parametrize("name", ALL_SAMPLES)
@pytest.mark.parametrize("chunk_lines", [3, 50, 333])
def test_streaming_small_chunks_equals_one_chunk(name: str, chunk_lines: int) -> None:
    path = sample(name)
    whole = read_all(open_punch_file(path, chunk_lines=1_000_000))
    chunks = list(open_punch_file(path, chunk_lines=chunk_lines).chunks())
    assert all(len(c.punches) <= chunk_lines for c in chunks)
    assert len(chunks) == -(-n_lines(path) // chunk_lines)
    assert [c.bytes_done for c in chunks] == sorted(c.bytes_done for c in chunks)
    assert chunks[-1].bytes_done == path.stat().st_size
    merged = pd.concat([c.punches for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(merged, whole.punches)
    assert [r for c in chunks for r in c.rejected] == whole.rejected
    assert sum(c.skipped for c in chunks) == whole.skipped
    # each chunk carries its raw lines, so the ledger can hash every line of a batch
    assert b"".join(c.raw for c in chunks) == whole.raw
    assert sum(len(c.raw_lines()) for c in chunks) == n_lines(path)
    for c in chunks:
        for line_no in c.punches["line_no"].tolist()[:3]:
            assert c.raw_line(line_no) == whole.raw_line(line_no)
        for r in c.rejected:
            assert decode_text(c.raw_line(r.line_no).rstrip(b"\r"), "utf-8") == r.raw


@pytest.mark.parametrize(
    "path",
    [SAMPLES / n for n in ALL_SAMPLES if n.endswith(".dat")]
    + [REAL / "zk_usb_5col_attlog.dat", REAL / "zk_usb_named_attlog.dat"],
    ids=lambda p: p.name,
)
def test_fast_path_matches_per_line_parser(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not available")
    pf = open_punch_file(path, chunk_lines=50)
    assert isinstance(pf, ZkAttlogFile)
    fast = list(pf.chunks(mode="fast"))
    slow = list(pf.chunks(mode="slow"))
    for f, s in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(f.punches, s.punches)
        assert f.rejected == s.rejected and f.skipped == s.skipped


# --- encodings ------------------------------------------------------------------------------


def test_detect_encoding_boms_and_fallbacks() -> None:
    assert detect_encoding(codecs.BOM_UTF8 + "Mã".encode()) == "utf-8-sig"
    assert detect_encoding(codecs.BOM_UTF16_LE + "Mã CC".encode("utf-16-le")) == "utf-16"
    assert detect_encoding(codecs.BOM_UTF16_BE + "Mã".encode("utf-16-be")) == "utf-16"
    assert detect_encoding(b"101\t2026-10-01 07:00:00") == "utf-8"
    assert detect_encoding("Nguyễn Văn An".encode()) == "utf-8"
    # Windows-1258 spells ễ as ê + combining tilde (0xDE)
    assert detect_encoding(b"Nguy\xea\xden") == "cp1258"
    # 0x8A is undefined in cp1258 but is Š in cp1252
    assert detect_encoding(b"\x8akoda") == "cp1252"
    # 0x81 is undefined everywhere: the code page wins (the line itself gets rejected)
    assert detect_encoding(b"abc\x81") == "cp1258"
    assert detect_encoding(b"") == "utf-8"


def test_decode_text_normalises_to_nfc() -> None:
    text = decode_text(b"Nguy\xea\xden V\xe3n \xd0\xfd\xecc")
    assert text == "Nguyễn Văn Đức"
    assert unicodedata.is_normalized("NFC", text)
    nfd = unicodedata.normalize("NFD", "Cường").encode()
    assert decode_text(nfd) == "Cường"


def test_utf16_attlog_and_csv() -> None:
    text = "\r\n".join(ZK6.format(pin=f"  {p:05d}", t=f"2026-10-0{p} 07:00:00") for p in (1, 2))
    res = parse(text.encode("utf-16"))
    assert res.punches["user_id"].tolist() == ["00001", "00002"]
    csv = "Mã CC\tHọ tên\tThời gian\r\n7\tAn\t2026-10-01 07:00:00\r\n"
    pf = open_punch_bytes(csv.encode("utf-16-le").join([codecs.BOM_UTF16_LE, b""]), "u16.csv")
    assert (pf.info.encoding, pf.info.delimiter) == ("utf-16", "\t")
    assert read_all(pf).punches["user_id"].tolist() == ["7"]


def test_undecodable_lines_are_rejected_not_dropped() -> None:
    data = (
        "Nguyễn".encode()
        + b"\t2026-10-01 07:00:00\t1\t0\t1\t0\n"  # an attlog line with a name-like PIN
        + b"\x81\xff\t2026-10-01 07:00:01\t1\t0\t1\t0\n"
        + b"102\t2026-10-01 07:00:02\t1\t0\t1\t0\n"
    )
    pf = open_punch_bytes(data, "mixed.dat")
    assert pf.info.encoding == "utf-8"  # one UTF-8 line and one line nothing decodes
    res = read_all(pf)
    assert res.punches["line_no"].tolist() == [1, 3]
    assert res.punches["user_id"].tolist() == ["Nguyễn", "102"]
    assert reasons(res) == [
        (2, "not valid utf-8 text, nor cp1258 nor cp1252 (byte 0x81 at byte offset 0 of the line)")
    ]
    assert res.rejected[0].raw.startswith("\ufffd")


def test_nfd_csv_header_still_maps_and_text_is_nfc() -> None:
    header = unicodedata.normalize("NFD", "Mã chấm công,Họ tên,Ngày,Giờ")
    body = unicodedata.normalize(
        "NFD", "101,Lê Văn Cường,13/10/2026,07:00\n102,Lê Văn Cường,x,07:00"
    )
    res = parse(f"{header}\n{body}\n", "nfd.csv")
    assert res.punches["user_id"].tolist() == ["101"]
    assert res.rejected[0].raw == "102,Lê Văn Cường,x,07:00"  # NFC


# --- attlog line rules --------------------------------------------------------------------


def test_attlog_fields_and_reasons() -> None:
    lines = [
        "    00042\t2024-03-15 08:30:05\t1\t0\t1\t7",  # 1 padded, leading zeros kept
        "00042  \t 2024-03-15 08:31:00 \t\t1 0   1",  # 2 runs of spaces/tabs, 5 fields
        "x\t2024-02-30 07:00:00\t1\t0\t1\t0",  # 3 not a date
        "\t2024-01-01 08:00:00\t1\t0\t1\t0",  # 4 PIN missing
        "123\t2024-01-01 08:00:00",  # 5 too few fields
        "123\t2024-01-01 08:00:00\t1\tA\t1\t0",  # 6 status not a number
        "1234567890123456789012345\t2024-01-01 08:00:00\t1\t0\t1\t0",  # 7 id too long
        "123\t2024-01-01 8:00:00\t1\t0\t1\t0",  # 8 hour not 2 digits
        "123\t2024-01-01 24:00:00\t1\t0\t1\t0",  # 9
        "123\tAn\t2024-01-01 08:00:00\t1\t0\t15\t3",  # 10 named, 7 fields
        "123\tAn Nguyen\t2024-01-01 08:00:00\t1\t0",  # 11 named, name with a space
        "123\tAn\t2024-01-01 08:00:00\t1\t0\t1\t3\t4",  # 12 named, 8 fields
        "12\u200b3\t2024-01-01 08:00:00\t1\t0\t1\t0",  # 13 zero-width space in the id
        "123\t2024-01-01 08:00:00\t1\t0\tx",  # 14 verify not a number
    ]
    res = parse("\n".join(lines) + "\n")
    assert [row(res, i) for i in range(len(res.punches))] == [
        {
            "line_no": 1,
            "user_id": "00042",
            "device_time": "2024-03-15 08:30:05",
            "status": 0,
            "verify": 1,
            "work_code": "7",
        },
        {
            "line_no": 2,
            "user_id": "00042",
            "device_time": "2024-03-15 08:31:00",
            "status": 0,
            "verify": 1,
            "work_code": None,
        },
        {
            "line_no": 10,
            "user_id": "123",
            "device_time": "2024-01-01 08:00:00",
            "status": 0,
            "verify": 15,
            "work_code": "3",
        },
        {
            "line_no": 11,
            "user_id": "123",
            "device_time": "2024-01-01 08:00:00",
            "status": 0,
            "verify": None,
            "work_code": None,
        },
    ]
    assert reasons(res) == [
        (3, "field 2 (time): '2024-02-30 07:00:00' is not a valid date/time"),
        (4, "field 1 (user id): empty"),
        (5, "expected 5 or 6 fields, found 2"),
        (6, "field 4 (status): 'A' is not a whole number"),
        (7, "field 1 (user id): '1234567890123456789012345' is longer than 24 characters"),
        (8, "field 2 (time): '2024-01-01 8:00:00' is not a valid date/time"),
        (9, "field 2 (time): '2024-01-01 24:00:00' is not a valid date/time"),
        (12, "expected 5 to 7 fields (PIN, name, time, ...), found 8"),
        (13, "field 1 (user id): '12\\u200b3' contains non-printing character U+200B"),
        (14, "field 5 (verify): 'x' is not a whole number"),
    ]
    assert res.rejected[1].raw == "\t2024-01-01 08:00:00\t1\t0\t1\t0"


def test_attlog_blank_lines_control_characters_and_numbering() -> None:
    data = (
        b"101\t2026-10-01 07:00:00\t1\t0\t1\t0\r\n"  # 1
        b"\r\n"  # 2 blank
        b"   \t \n"  # 3 blank
        b"102\t2026-10-01 07:00:01\t1\t0\x00\t1\t0\r\n"  # 4 NUL inside a field
        b"103\t2026-10-01\r07:00:02\t1\t0\t1\t0\n"  # 5 a lone CR does not end the line
        b"104\t2026-10-01 07:00:03\t1\t0\t1\t0\r\r\n"  # 6 CR CR LF: one CR is left inside
        b"105\t2026-10-01 07:00:04\t1\t0\t1\t0\x1a\n"  # 7 Ctrl-Z
        b"\x0c\n"  # 8 form feed only: blank
        b"106\t2026-10-01 07:00:05\t1\t0\t1\t0"  # 9 no line end
    )
    res = parse(data)
    assert res.punches["line_no"].tolist() == [1, 9]
    assert res.punches["user_id"].tolist() == ["101", "106"]
    assert reasons(res) == [
        (4, "field 4 (status): contains control character U+0000 at position 2"),
        (5, "field 2 (time): contains control character U+000D at position 11"),
        (6, "field 6 (work code): contains control character U+000D at position 2"),
        (7, "field 6 (work code): contains control character U+001A at position 2"),
    ]
    assert res.rejected[1].raw == "103\t2026-10-01\r07:00:02\t1\t0\t1\t0"
    assert res.skipped == 0


def test_attlog_garbage_with_many_fields_does_not_disturb_neighbours() -> None:
    good = [ZK6.format(pin=100 + i, t=f"2026-10-01 07:00:{i:02d}") for i in range(6)]
    wide = " ".join(["x"] * 40)
    wider = "\t".join(["1"] * 700)
    lines = [good[0], wide, good[1], good[2], wider, good[3], "\ufeff" + good[4], good[5]]
    res = parse("\n".join(lines))
    assert res.punches["line_no"].tolist() == [1, 3, 4, 6, 8]
    assert reasons(res) == [
        (2, "expected 5 or 6 fields, found 40"),
        (5, "expected 5 or 6 fields, found 700"),
        (7, "field 1 (user id): '\\ufeff104' contains non-printing character U+FEFF"),
    ]


def test_first_row_one_token_wider_does_not_shift_columns() -> None:
    # pandas would make the first column an index when row 1 has one field too many
    for name in ("A A A", "A B C D E F G H I J K L"):
        res = parse(f"0\t{name}\t2000-01-01 00:00:00\t1\t0\t0\t0\n0")
        assert res.punches["line_no"].tolist() == [1]
        assert res.punches["user_id"].tolist() == ["0"]
        assert reasons(res) == [(2, "expected 5 or 6 fields, found 1")]


def test_bom_at_a_chunk_start_is_not_swallowed() -> None:
    lines = [
        ZK6.format(pin=1, t="2026-10-01 07:00:00"),
        "\ufeff" + ZK6.format(pin=2, t="2026-10-01 07:00:01"),
    ]
    pf = open_punch_bytes("\n".join(lines).encode(), "b.dat", chunk_lines=1)
    assert isinstance(pf, ZkAttlogFile)
    for mode in ("auto", "fast", "slow"):
        chunks = list(pf.chunks(mode=mode))
        assert [c.punches["line_no"].tolist() for c in chunks] == [[1], []]
        assert chunks[1].rejected[0].line_no == 2


def test_serial_and_checksum_only_at_the_ends() -> None:
    body = [ZK6.format(pin=7, t="2026-10-01 07:00:00"), "OIN7030067011301", "DEADBEEF"]
    text = "\n\nOIN7030067011301\r\n" + "\r\n".join(body) + "\r\n1A2B3C4D\r\n\r\n"
    res = parse(text)
    assert res.skipped == 2  # line 3 (serial) and line 7 (checksum)
    assert res.punches["line_no"].tolist() == [4]
    assert reasons(res) == [
        (5, "expected 5 or 6 fields, found 1"),
        (6, "expected 5 or 6 fields, found 1"),
    ]


def test_empty_and_blank_files() -> None:
    # An empty export (no new punches) is an empty attlog, not an error.
    empty = open_punch_bytes(b"", "empty.dat")
    assert empty.info.format == "zk_attlog" and list(empty.chunks()) == []
    blank = read_all(open_punch_bytes(b"\r\n  \n\t\n", "blank.dat"))
    assert len(blank.punches) == 0 and blank.rejected == [] and blank.skipped == 0
    with pytest.raises(UnsupportedFile, match="empty.csv: the file has no data lines"):
        open_punch_bytes(b"", "empty.csv", fmt="csv")
    assert list(open_punch_bytes(b"", "e.dat", fmt="zk_attlog").chunks()) == []
    res = read_all(open_punch_bytes(b"\n\n \n", "b.dat", fmt="zk_attlog"))
    assert len(res.punches) == 0 and res.rejected == [] and res.skipped == 0


def test_parse_lines_for_line_protocol_terminals() -> None:
    res = parse_lines(
        [ZK6.format(pin="0001", t="2026-10-01 07:00:00") + "\r\n", "garbage", "a\nb"],
        first_line_no=10,
    )
    assert res.punches["line_no"].tolist() == [10]
    assert res.punches["user_id"].tolist() == ["0001"]
    assert reasons(res) == [
        (11, "expected 5 or 6 fields, found 1"),
        (12, "line contains a line break"),
    ]


# --- format detection ---------------------------------------------------------------------


def test_unknown_format_names_the_file() -> None:
    with pytest.raises(UnsupportedFile, match=r"^notes\.txt: unknown format"):
        open_punch_bytes("Biên bản họp\nngày 01/10/2026\n".encode(), "notes.txt")


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"PK\x03\x04rest", "Excel .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel .xls"),
        (b"<html><body><table><tr><td>Person ID</td></tr></table>", "HTML table"),
    ],
)
def test_workbooks_and_html_are_refused_with_advice(head: bytes, message: str) -> None:
    with pytest.raises(UnsupportedFile, match=message):
        open_punch_bytes(head, "export.xls")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="fmt must be one of"):
        open_punch_bytes(b"x", fmt="xls")
    with pytest.raises(ValueError, match="chunk_lines"):
        open_punch_bytes(b"x", chunk_lines=0)


def test_forced_csv_on_attlog_is_refused() -> None:
    with pytest.raises(UnsupportedFile, match="no header row"):
        open_punch_bytes(ZK6.format(pin=1, t="2026-10-01 07:00:00").encode(), "a.dat", fmt="csv")


# --- delimited files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # Wise Eye, semicolons, HR code column too: the attendance code wins
            "Mã NV;Mã chấm công;Họ và tên;Ngày;Giờ\nNV01;0101;An;13/10/2026;7:05\n",
            ("0101", "2026-10-13 07:05:00", None),
        ),
        (  # MitaPro-like, accents and case ignored
            "MA CC,HO TEN,NGAY,GIO VAO\n5,An,2026-10-01,17:00:09\n",
            ("5", "2026-10-01 17:00:00" if False else "2026-10-01 17:00:09", None),
        ),
        (  # ZKTime / Att2000
            "Department,Name,No.,Date/Time,Status,Location ID\n"
            "UBND,An,12,10/13/2026 5:02 PM,C/Out,1\n",
            ("12", "2026-10-13 17:02:00", 1),
        ),
        (  # Hikvision: apostrophe-prefixed ids, "Time" holding date and time
            "Person ID,Name,Department,Time,Attendance Status\n"
            "'00042,An,UBND,2026-10-01 07:58:12,Check-in\n",
            ("00042", "2026-10-01 07:58:12", 0),
        ),
        (  # tab separated, English headers
            "User ID\tName\tDate\tTime\tStatus\n77\tAn\t2026/10/01\t07:00\t0\n",
            ("77", "2026-10-01 07:00:00", 0),
        ),
        (  # Ronald Jack style with Vietnamese AM/PM designators and Excel ="..." ids
            'Mã nhân viên,Tên,Thời gian,Trạng thái\n="0007",An,13/10/2026 05:30 CH,Vào\n',
            ("0007", "2026-10-13 17:30:00", 0),
        ),
    ],
    ids=["wiseeye", "mitapro", "zktime", "hikvision", "tab", "ronaldjack"],
)
def test_csv_header_synonyms(text: str, expected: tuple[str, str, int | None]) -> None:
    res = parse(text, "export.csv")
    assert res.rejected == [] and res.skipped == 1
    got = row(res, 0)
    assert (got["user_id"], got["device_time"], got["status"]) == expected


def test_csv_title_rows_repeated_header_and_empty_rows() -> None:
    text = (
        "BẢNG CHẤM CÔNG CHI TIẾT\n"
        "Từ ngày 01/10/2026 đến ngày 31/10/2026\n"
        "\n"
        "STT,Mã chấm công,Họ tên,Ngày,Giờ\n"
        "1,101,Nguyễn Văn An,01/10/2026,07:01\n"
        ",,,,\n"
        "STT,Mã chấm công,Họ tên,Ngày,Giờ\n"
        "2,101,Nguyễn Văn An,31/10/2026,17:01\n"
        "3,,Trần Thị Bích,31/10/2026,17:02\n"
        "4,103,Lê Văn Cường,31/10/2026\n"
        "Tổng cộng: 3 lượt\n"
    )
    pf = open_punch_bytes(text.encode(), "wise.csv")
    assert pf.info.columns == {"user_id": "Mã chấm công", "date": "Ngày", "time": "Giờ"}
    res = read_all(pf)
    assert res.punches["line_no"].tolist() == [5, 8]
    # 2 title rows, header, repeated header; a row of only delimiters is blank (not counted)
    assert res.skipped == 4
    assert reasons(res) == [
        (9, "field 2 (user id): empty"),
        (10, "expected at least 5 fields, found 4"),
        (11, "expected at least 5 fields, found 1"),
    ]


def test_csv_date_order_decided_per_file() -> None:
    dmy = "Mã CC,Ngày,Giờ\n1,01/02/2026,07:00\n1,13/02/2026,07:00\n"
    pf = open_punch_bytes(dmy.encode(), "dmy.csv")
    assert pf.info.date_order == "dmy"
    assert read_all(pf).punches["device_time"].astype(str).tolist() == [
        "2026-02-01 07:00:00",
        "2026-02-13 07:00:00",
    ]
    mdy = "Mã CC,Ngày,Giờ\n1,01/02/2026,07:00\n1,02/13/2026,07:00\n"
    pf = open_punch_bytes(mdy.encode(), "mdy.csv")
    assert pf.info.date_order == "mdy"
    assert str(read_all(pf).punches["device_time"].iloc[0]) == "2026-01-02 07:00:00"
    iso = "Mã CC,Ngày,Giờ\n1,2026-01-02,07:00\n"
    assert open_punch_bytes(iso.encode(), "iso.csv").info.date_order == "ymd"
    same = "Mã CC,Ngày,Giờ\n1,05/05/2026,07:00\n"
    assert open_punch_bytes(same.encode(), "same.csv").info.date_order == "dmy"


def test_csv_ambiguous_dates_are_refused_unless_a_profile_names_the_order() -> None:
    text = "User ID,Date/Time\n1,01/02/2026 07:00\n2,03/04/2026 08:00\n"
    with pytest.raises(UnsupportedFile, match=r"^amb\.csv: cannot tell dd/mm from mm/dd"):
        open_punch_bytes(text.encode(), "amb.csv")
    profile = MappingProfile("us", user_id="User ID", datetime="Date/Time", date_order="mdy")
    pf = open_punch_bytes(text.encode(), "amb.csv", profile=profile)
    assert (pf.info.date_order, pf.info.profile) == ("mdy", "us")
    assert str(read_all(pf).punches["device_time"].iloc[0]) == "2026-01-02 07:00:00"


def test_csv_conflicting_orders_are_refused() -> None:
    text = "User ID,Date\tx\n".replace("\tx", ",Time") + "1,13/01/2026,07:00\n1,01/13/2026,07:00\n"
    with pytest.raises(UnsupportedFile, match="both day/month orders"):
        open_punch_bytes(text.encode(), "both.csv")


def test_csv_rows_against_the_decided_order_are_rejected() -> None:
    text = "Mã CC,Ngày,Giờ\n1,13/01/2026,07:00\n2,31/02/2026,07:00\n3,13/01/2026,7h30\n"
    res = parse(text, "x.csv")
    assert res.punches["user_id"].tolist() == ["1", "3"]
    assert str(res.punches["device_time"].iloc[1]) == "2026-01-13 07:30:00"
    assert reasons(res) == [(3, "field 2 (date): '31/02/2026' is not a valid date (dd/mm/yyyy)")]


def test_csv_profile_without_header_by_index() -> None:
    text = "x;0042;2026-10-01 07:00:00;1\nx;0043;2026-10-01 07:00:05;0\n"
    profile = MappingProfile("raw", user_id="1", datetime="2", status="3", has_header=False)
    pf = open_punch_bytes(text.encode(), "raw.txt", profile=profile)
    assert (pf.info.format, pf.info.delimiter) == ("csv", ";")
    res = read_all(pf)
    assert res.skipped == 0
    assert res.punches["user_id"].tolist() == ["0042", "0043"]
    assert res.punches["status"].tolist() == [1, 0]


def test_csv_profile_with_header_names() -> None:
    text = "Code,When,Door\n9,2026-10-01 07:00,Main\n"
    profile = MappingProfile("custom", user_id="code", datetime="WHEN")
    res = read_all(open_punch_bytes(text.encode(), "c.csv", profile=profile))
    assert res.punches["user_id"].tolist() == ["9"]
    with pytest.raises(UnsupportedFile, match="profile 'custom'"):
        open_punch_bytes(b"A,B\n1,2\n", "c.csv", profile=profile)


def test_csv_in_out_pair_layout_is_refused() -> None:
    text = "Mã CC,Ngày,Giờ vào,Giờ ra\n1,13/10/2026,07:00,17:00\n"
    with pytest.raises(UnsupportedFile, match="in/out time pairs"):
        open_punch_bytes(text.encode(), "pairs.csv")


def test_csv_times_with_am_pm() -> None:
    text = (
        "AC-No.,Date,Time\n"
        "1,13/10/2026,12:05 AM\n1,13/10/2026,12:05 PM\n1,13/10/2026,07:05:09 pm\n"
        "1,13/10/2026,13:05 PM\n"
    )
    res = parse(text, "t.csv")
    assert res.punches["device_time"].astype(str).tolist() == [
        "2026-10-13 00:05:00",
        "2026-10-13 12:05:00",
        "2026-10-13 19:05:09",
    ]
    assert reasons(res) == [(5, "field 3 (time): '13:05 PM' is not a valid time (hh:mm[:ss])")]
