"""Property-based tests of the punch-log parsers: garbage never costs a good line."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from devices.parsers import PUNCH_COLUMNS, ParsedChunk, open_punch_bytes
from devices.parsers.detect import DelimitedFile, ZkAttlogFile
from devices.parsers.zk_attlog import (
    zk_date_seconds,
    zk_dates_vec,
    zk_time_seconds,
    zk_times_vec,
)

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BLANK_BYTES = b" \t\r\x0b\x0c"


@dataclass(frozen=True)
class Line:
    """One generated physical line: its bytes (no LF) and, for good lines, the punch."""

    body: bytes
    expected: tuple[str, datetime, int, int | None, str | None] | None = None


# --- generators ------------------------------------------------------------------------------

pins = st.builds(
    lambda pad, zeros, digits: (" " * pad, "0" * zeros + digits),
    st.integers(0, 8),
    st.integers(0, 3),
    st.from_regex(r"[0-9A-Za-z]{1,9}", fullmatch=True),
)
# good lines fall in the default plausible years (2000-2099); others are rejected
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
seps = st.sampled_from(["\t", "\t", "\t", " \t", "\t\t", "  ", " ", "\t "])
names = st.text(alphabet="AnBchĐđưƯễọÁ Thủy", min_size=1, max_size=10).map(str.strip).filter(bool)


@st.composite
def good_lines(draw: st.DrawFn) -> Line:
    pad, pin = draw(pins)
    when = draw(times)
    status = draw(st.integers(0, 255))
    verify = draw(st.integers(0, 255))
    work = draw(st.from_regex(r"[0-9]{1,3}", fullmatch=True))
    shape = draw(st.sampled_from(["std5", "std6", "named5", "named6", "named7"]))
    t = when.strftime("%Y-%m-%d %H:%M:%S")
    exp: tuple[int, int | None, str | None]
    if shape == "std5":
        fields, exp = [pin, t, "1", str(status), str(verify)], (status, verify, None)
    elif shape == "std6":
        fields, exp = [pin, t, "1", str(status), str(verify), work], (status, verify, work)
    else:
        name = draw(names)
        fields = [pin, name, t, "1", str(status)]
        exp = (status, None, None)
        if shape in ("named6", "named7"):
            fields.append(str(verify))
            exp = (status, verify, None)
        if shape == "named7":
            fields.append(work)
            exp = (status, verify, work)
    text = pad + fields[0]
    for f in fields[1:]:
        text += draw(seps) + f
    text += draw(st.sampled_from(["", "", " ", "\t"]))
    body = text.encode("utf-8") + draw(st.sampled_from([b"", b"", b"\r"]))
    return Line(body, (pin, when, exp[0], exp[1], exp[2]))


@st.composite
def mutated_lines(draw: st.DrawFn) -> Line:
    """A good line with one edit: often still valid, often subtly not."""
    text = draw(good_lines()).body.decode("utf-8")
    pos = draw(st.integers(0, len(text)))
    kind = draw(st.sampled_from(["delete", "insert", "truncate", "replace"]))
    # controls, separators, and characters NFC changes (combining acute, Kelvin sign)
    char = draw(st.sampled_from(list("0912:- \t\r\x00\x0bxé\u0301\u212a\u200b\ufeff\x85\u2028")))
    if kind == "delete":
        text = text[:pos] + text[pos + draw(st.integers(1, 5)) :]
    elif kind == "insert":
        text = text[:pos] + char + text[pos:]
    elif kind == "truncate":
        text = text[:pos]
    else:
        text = text[:pos] + char + text[pos + 1 :]
    return Line(text.replace("\n", "").encode("utf-8"))


garbage_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"), max_size=40
).map(lambda s: Line(s.encode("utf-8")))
garbage_bytes = st.binary(max_size=40).map(lambda b: Line(b.replace(b"\n", b"")))
any_line = st.one_of(
    good_lines(), good_lines(), good_lines(), mutated_lines(), garbage_text, garbage_bytes
)


def build(lines: list[Line], final_newline: bool) -> bytes:
    data = b"\n".join(line.body for line in lines)
    return data + b"\n" if final_newline else data


def decoded(body: bytes, encoding: str) -> str:
    """A line as the parsers must decode it: the file's codec, else the next candidate that
    reads the whole line, else the file's codec with U+FFFD for the bad bytes."""
    codec = "utf-8" if encoding in ("utf-8-sig", "utf-16") else encoding
    body = body[:-1] if body.endswith(b"\r") else body
    for candidate in (codec, "utf-8", "cp1258", "cp1252"):
        try:
            return unicodedata.normalize("NFC", body.decode(candidate))
        except UnicodeDecodeError:
            continue
    return unicodedata.normalize("NFC", body.decode(codec, errors="replace"))


def merge(chunks: list[ParsedChunk]) -> ParsedChunk:
    if not chunks:
        return ParsedChunk(punches=pd.DataFrame(columns=list(PUNCH_COLUMNS)))
    return ParsedChunk(
        punches=pd.concat([c.punches for c in chunks], ignore_index=True),
        rejected=[r for c in chunks for r in c.rejected],
        skipped=sum(c.skipped for c in chunks),
    )


def assert_same(a: ParsedChunk, b: ParsedChunk) -> None:
    pd.testing.assert_frame_equal(a.punches, b.punches)
    assert a.rejected == b.rejected
    assert a.skipped == b.skipped


# --- properties --------------------------------------------------------------------------------


@SETTINGS
@given(
    lines=st.lists(any_line, min_size=1, max_size=30),
    final_newline=st.booleans(),
    chunk_lines=st.sampled_from([2, 5, 1000]),
)
def test_attlog_garbage_never_costs_a_good_line(
    lines: list[Line], final_newline: bool, chunk_lines: int
) -> None:
    data = build(lines, final_newline)
    # a UTF-16 BOM changes the whole file; workbook/PDF magic numbers are refused up front
    assume(not data.startswith((b"\xff\xfe", b"\xfe\xff", b"PK\x03\x04", b"\xd0\xcf\x11\xe0")))
    assume(not data.startswith(b"%PDF"))
    pf = open_punch_bytes(data, "fuzz.dat", fmt="zk_attlog", chunk_lines=chunk_lines)
    assert isinstance(pf, ZkAttlogFile)
    enc = pf.info.encoding
    # every path and chunking gives the same answer
    fast = merge(list(pf.chunks(mode="fast")))
    slow = merge(list(pf.chunks(mode="slow")))
    auto = merge(list(pf.chunks()))
    assert_same(fast, slow)
    assert_same(auto, slow)
    whole = merge(list(open_punch_bytes(data, "fuzz.dat", fmt="zk_attlog").chunks()))
    assert_same(whole, slow)

    punches = {int(r["line_no"]): r for r in fast.punches.to_dict("records")}
    rejected = {r.line_no: r for r in fast.rejected}
    assert len(punches) == len(fast.punches) and len(rejected) == len(fast.rejected)
    assert not punches.keys() & rejected.keys()

    bodies = [line.body for line in lines]
    if enc == "utf-8-sig":
        bodies[0] = bodies[0][3:]
    content = [i + 1 for i, b in enumerate(bodies) if b.strip(BLANK_BYTES)]
    silent: list[int] = []
    for line_no, (line, body) in enumerate(zip(lines, bodies, strict=True), start=1):
        if not body.strip(BLANK_BYTES):
            assert line_no not in punches and line_no not in rejected  # blank: not read
            continue
        if line.expected is not None:
            pin, when, status, verify, work = line.expected
            got = punches[line_no]
            assert got["user_id"] == pin
            assert got["device_time"] == pd.Timestamp(when)
            assert got["status"] == status
            assert (None if pd.isna(got["verify"]) else got["verify"]) == verify
            assert got["work_code"] == work
        elif line_no in rejected:
            assert rejected[line_no].reason
            assert rejected[line_no].raw == decoded(body, enc)
        elif line_no not in punches:
            silent.append(line_no)  # skipped as a serial-number or checksum line
    assert len(silent) == fast.skipped <= 2
    assert not silent or set(silent) <= {content[0], content[-1]}
    assert len(content) == len(fast.punches) + len(fast.rejected) + fast.skipped


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="0123456789-: x\u0663", min_size=8, max_size=10),
            st.builds(
                lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
                st.integers(0, 9999),
                st.integers(0, 99),
                st.integers(0, 99),
            ),
            st.builds(
                lambda h, m, s: f"{h:02d}:{m:02d}:{s:02d}",
                st.integers(0, 99),
                st.integers(0, 99),
                st.integers(0, 99),
            ),
        ),
        max_size=40,
    )
)
def test_vectorised_date_time_checks_match_the_per_line_ones(values: list[str]) -> None:
    arr = np.array(values, dtype=object)
    bad = np.iinfo(np.int64).min
    want_dates = [bad if (v := zk_date_seconds(s)) is None else v for s in values]
    want_times = [bad if (v := zk_time_seconds(s)) is None else v for s in values]
    assert zk_dates_vec(arr).tolist() == want_dates
    assert zk_times_vec(arr).tolist() == want_times


@st.composite
def csv_rows(draw: st.DrawFn) -> Line:
    pin = draw(st.from_regex(r"0{0,2}[0-9]{1,6}", fullmatch=True))
    when = draw(times)
    name = draw(names)
    fields = [pin, name, when.strftime("%d/%m/%Y"), when.strftime("%H:%M:%S")]
    if draw(st.booleans()):
        fields[1] = f'"{name}, NV"'  # a quoted value holding the delimiter
    return Line(",".join(fields).encode("utf-8"), (pin, when, 0, None, None))


@SETTINGS
@given(
    rows=st.lists(
        st.one_of(csv_rows(), csv_rows(), garbage_text, garbage_bytes), min_size=1, max_size=25
    ),
    chunk_lines=st.sampled_from([3, 1000]),
)
# Found by CI: a lone quote is empty once unquoted, yet it is a line with content.
@example(rows=[Line(b"0,A,01/01/2000,00:00:00", ("0", datetime(2000, 1, 1), 0, None, None)), Line(b'"')],
         chunk_lines=3)
def test_csv_garbage_never_costs_a_good_row(rows: list[Line], chunk_lines: int) -> None:
    header = Line("Mã chấm công,Họ tên,Ngày,Giờ".encode())
    proof = Line(b"1,An,13/01/2026,07:00:00", ("1", datetime(2026, 1, 13, 7), 0, None, None))
    lines = [header, proof, *rows]
    pf = open_punch_bytes(build(lines, True), "fuzz.csv", chunk_lines=chunk_lines)
    assert isinstance(pf, DelimitedFile) and pf.info.date_order == "dmy"
    res = merge(list(pf.chunks()))
    punches = {int(r["line_no"]): r for r in res.punches.to_dict("records")}
    rejected = {r.line_no: r for r in res.rejected}
    silent = 0
    content = 0
    for line_no, line in enumerate(lines, start=1):
        if not line.body.strip(BLANK_BYTES):
            assert line_no not in punches and line_no not in rejected
            continue
        content += 1
        if line.expected is not None:
            got = punches[line_no]
            assert (got["user_id"], got["device_time"]) == (
                line.expected[0],
                pd.Timestamp(line.expected[1]),
            )
        elif line_no in rejected:
            assert rejected[line_no].reason
        elif line_no not in punches:
            silent += 1  # the header, or a row of nothing but commas
    assert silent == res.skipped
    assert content == len(res.punches) + len(res.rejected) + res.skipped
