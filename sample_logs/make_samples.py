"""Regenerate the sample punch logs of this folder (deterministic: fixed seed).

    python sample_logs/make_samples.py

A fictional commune office (UBND xã) in October 2026: 15 staff punch on the main
terminal TK-01, the one-stop-shop team also on TK-02, the commune military command on an
old black-and-white terminal, the health station on TK-03; Wise Eye exported part of
TK-01 as CSV. See README.md for the PIN table.
"""

from __future__ import annotations

import random
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261001
YEAR, MONTH = 2026, 10

# (PIN on TK-01, full name, habit) -- habit: "early", "punctual", "late", "early_leaver"
STAFF = [
    ("101", "Nguyễn Văn An", "early"),
    ("102", "Trần Thị Bích", "punctual"),
    ("103", "Lê Văn Cường", "late"),
    ("104", "Phạm Thị Dung", "punctual"),
    ("105", "Hoàng Minh Đức", "early"),
    ("106", "Vũ Thị Hà", "punctual"),
    ("107", "Đặng Văn Hùng", "early_leaver"),
    ("108", "Bùi Thị Lan", "punctual"),
    ("109", "Đỗ Văn Long", "late"),
    ("110", "Ngô Thị Mai", "punctual"),
    ("111", "Dương Văn Nam", "early"),
    ("112", "Lý Thị Ngọc", "punctual"),
    ("113", "Phan Văn Phúc", "early_leaver"),
    ("114", "Trịnh Thị Quỳnh", "punctual"),
    ("115", "Đinh Văn Sơn", "late"),
]
# enrolled on TK-01 with the leading zeros the installer typed: distinct user ids
EXTRA_TK01 = [("0042", "Nguyễn Văn Tài", "early"), ("00007", "Lê Thị Thu", "early")]
# the one-stop-shop team has its own PINs on TK-02 (TK-01 PIN -> TK-02 PIN)
TK02_PINS = {"102": "201", "104": "202", "106": "203", "108": "204", "110": "205", "112": "206"}
# commune military command, old B&W terminal OIN7030067011301
BW_SERIAL = "OIN7030067011301"
BW_STAFF = [
    ("1", "Đặng Văn Hùng", "early"),  # the same person as PIN 107 on TK-01
    ("2", "Trần Văn Quân", "punctual"),
    ("3", "Lê Văn Bình", "late"),
    ("4", "Phạm Văn Hải", "punctual"),
]
# health station, TK-03 keeps a short name column (written in Windows-1258)
TK03_STAFF = [
    ("301", "Thủy", "Nguyễn Thị Thủy", "punctual"),
    ("302", "Dũng", "Trần Văn Dũng", "late"),
    ("303", "Hằng", "Lê Thị Hằng", "early"),
    ("304", "Ngọc Ánh", "Phạm Thị Ngọc Ánh", "punctual"),  # a short name with a space
    ("305", "Đạt", "Hoàng Văn Đạt", "early_leaver"),
    ("306", "Yến", "Vũ Thị Yến", "punctual"),
]
SATURDAY_DUTY = {"101", "105", "109", "111", "1", "303"}  # on duty some Saturday mornings

_HABITS = {  # mean minutes relative to 07:00, 11:30, 13:30, 17:00
    "early": (-12, 2, -8, 6),
    "punctual": (-6, 3, -4, 4),
    "late": (9, 4, 2, 3),
    "early_leaver": (-5, -4, -3, -22),
}
_ANCHORS = ((7, 0), (11, 30), (13, 30), (17, 0))


@dataclass(frozen=True)
class P:
    """One generated punch."""

    pin: str
    when: datetime
    status: int
    verify: int


def month_days() -> list[date]:
    """Every day of the sample month."""
    d = date(YEAR, MONTH, 1)
    out = []
    while d.month == MONTH:
        out.append(d)
        d += timedelta(days=1)
    return out


def person_day(rng: random.Random, pin: str, habit: str, day: date, verify: int) -> list[P]:
    """A person's punches on one day (late/early/missing/double taps included)."""
    if day.weekday() == 6:
        return []
    if day.weekday() == 5:
        if pin not in SATURDAY_DUTY or rng.random() < 0.5:
            return []
        plan = [((7, 30), rng.gauss(-5, 6), 0), ((11, 30), rng.gauss(2, 5), 1)]
    else:
        if rng.random() < 0.03:  # on leave
            return []
        means = _HABITS[habit]
        plan = [(_ANCHORS[i], rng.gauss(means[i], 6), i % 2) for i in range(4)]
    out: list[P] = []
    for (hour, minute), offset, status in plan:
        if rng.random() < 0.05:  # forgot to punch
            continue
        base = datetime(day.year, day.month, day.day, hour, minute)
        when = base + timedelta(minutes=offset, seconds=rng.randint(0, 59))
        when = when.replace(microsecond=0)
        out.append(P(pin, when, status, verify))
        if rng.random() < 0.04:  # double tap, 2-5 s later
            out.append(P(pin, when + timedelta(seconds=rng.randint(2, 5)), status, verify))
    return out


def encode_cp1258(text: str) -> bytes:
    """Encode Vietnamese text the way Windows-1258 spells it (tone marks as combining)."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        out += base.encode("cp1258") + "".join(c for c in parts if c in tones).encode("cp1258")
    return bytes(out)


def zk_time(p: P) -> str:
    """ZK attlog time text."""
    return p.when.strftime("%Y-%m-%d %H:%M:%S")


def build() -> dict[str, list[P]]:
    """Generate every terminal's punches for the month."""
    rng = random.Random(SEED)
    tk01: list[P] = []
    tk02: list[P] = []
    for day in month_days():
        for pin, _name, habit in STAFF + EXTRA_TK01:
            for p in person_day(rng, pin, habit, day, verify=15):  # TK-01 is a face terminal
                if pin in TK02_PINS and rng.random() < 0.9:
                    # one-stop-shop staff mostly punch at their own counter terminal
                    verify = 4 if rng.random() < 0.1 else 1  # card or fingerprint
                    tk02.append(P(TK02_PINS[pin], p.when, 0, verify))
                else:
                    tk01.append(p)
    bw = [
        p
        for day in month_days()
        for pin, _n, h in BW_STAFF
        for p in person_day(rng, pin, h, day, 1)
    ]
    tk03 = [
        p
        for pin, _s, _n, h in TK03_STAFF
        for day in month_days()
        for p in person_day(rng, pin, h, day, 1)
    ]
    # device logs are in time order; TK-03's firmware writes them grouped by user
    tk01.sort(key=lambda p: (p.when, p.pin))
    tk02.sort(key=lambda p: (p.when, p.pin))
    bw.sort(key=lambda p: (p.when, p.pin))
    return {"tk01": tk01, "tk02": tk02, "bw": bw, "tk03": tk03}


def write_all(out_dir: Path = HERE) -> None:
    """Write every sample file into ``out_dir``."""
    logs = build()

    # TK-01: 6 columns, LF, PIN right-aligned in 9 characters
    lines = [f"{p.pin:>9}\t{zk_time(p)}\t1\t{p.status}\t{p.verify}\t0\n" for p in logs["tk01"]]
    (out_dir / "tk01_attlog.dat").write_bytes("".join(lines).encode("ascii"))

    # TK-02 (machine number 1, hence 1_attlog.dat): 5 columns, CRLF; the USB stick was
    # pulled while the last record was being written
    lines = [f"{p.pin}\t{zk_time(p)}\t1\t{p.status}\t{p.verify}\r\n" for p in logs["tk02"]]
    last = logs["tk02"][-1]
    lines.append(f"{last.pin}\t{zk_time(last)[:9]}")
    (out_dir / "tk02_1_attlog.dat").write_bytes("".join(lines).encode("ascii"))

    # old B&W: serial number line, 6 columns with padded PINs, CRC-32 footer, CRLF
    body = "".join(
        f"{p.pin:>6}\t{zk_time(p)}\t1\t{p.status}\t{p.verify}\t0\r\n" for p in logs["bw"]
    )
    checksum = f"{zlib.crc32(body.encode('ascii')):08X}"
    text = f"{BW_SERIAL}\r\n{body}{checksum}\r\n"
    (out_dir / f"{BW_SERIAL}_attlog.dat").write_bytes(text.encode("ascii"))

    # TK-03: PIN, short name, time, device id, status; Windows-1258; LF
    short = {pin: s for pin, s, _n, _h in TK03_STAFF}
    out = bytearray()
    for p in logs["tk03"]:
        out += encode_cp1258(f"{p.pin}\t{short[p.pin]}\t{zk_time(p)}\t3\t{p.status}\n")
    (out_dir / "tk03_named_attlog.dat").write_bytes(bytes(out))

    # Wise Eye CSV export of TK-01, 1-16 Oct, sorted by person then time; UTF-8 with BOM
    names = {pin: name for pin, name, _h in STAFF + EXTRA_TK01}
    rows = sorted(
        (p for p in logs["tk01"] if p.when.day <= 16), key=lambda p: (int(p.pin), p.pin, p.when)
    )
    csv_lines = ["Mã chấm công,Họ tên,Ngày,Giờ"]
    csv_lines += [f"{p.pin},{names[p.pin]},{p.when:%d/%m/%Y},{p.when:%H:%M:%S}" for p in rows]
    data = "\ufeff" + "\r\n".join(csv_lines) + "\r\n"
    (out_dir / "wiseeye_export.csv").write_bytes(data.encode("utf-8"))


if __name__ == "__main__":
    write_all()
