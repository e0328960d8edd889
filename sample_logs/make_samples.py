"""Regenerate the sample punch logs of this folder (deterministic: fixed seed).

    python sample_logs/make_samples.py

A fictional commune office (UBND xã) in October 2026: 15 staff punch on the main
terminal TK-01, the one-stop-shop team also on TK-02, the commune military command on an
old black-and-white terminal, the health station on TK-03; Wise Eye exported part of
TK-01 as CSV. See README.md for the PIN table.

Added later (written after the files above, from their own random streams, so the older
files stay byte for byte the same): ZKTime 5 / Att2000 and Ronald Jack exports of TK-01
and TK-02, a MitaPro workbook of TK-03, and the "Original Records" of a Hikvision face
terminal HK-01 at the side gate, as iVMS-4200 CSV and as its HTML ".xls".
"""

from __future__ import annotations

import html
import io
import random
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from openpyxl import Workbook

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

    write_more(out_dir, logs)


# --- ZKTime 5 / Att2000, Hikvision, MitaPro, Ronald Jack ------------------------------------

# HR staff codes of the demo bundle (sample_logs/demo_bundle.yaml), TK-01 PIN -> code
STAFF_CODES = {pin: f"NV{i:03d}" for i, (pin, _n, _h) in enumerate(STAFF + EXTRA_TK01, 1)}
DEPARTMENTS = {"107": "Ban CHQS xã"}  # everyone else on TK-01 works for the UBND
# HK-01 (Hikvision, side gate): Person IDs are the TK-01 PINs zero-padded to 5 digits
HK01_IDS = {pin: f"{int(pin):05d}" for pin, _n, _h in STAFF + EXTRA_TK01}
FIXED_ZIP_TIME = (2026, 11, 2, 8, 0, 0)  # workbooks: fixed timestamps, reproducible bytes


def ampm(when: datetime) -> str:
    """ZKTime's ``MM/DD/YYYY H:MM AM/PM`` (seconds are not exported)."""
    hour = when.hour % 12 or 12
    return f"{when:%m/%d/%Y} {hour}:{when:%M} {'AM' if when.hour < 12 else 'PM'}"


def write_zktime(out_dir: Path, tk01: list[P], names: dict[str, str]) -> None:
    """Att2000 export of TK-01, 1-12 October: every date reads both ways (month first)."""
    rows = [(p.pin, p.when, "C/In" if p.status == 0 else "C/Out") for p in tk01 if p.when.day <= 12]
    # records typed in by the office in Att2000 ("manual log"): two forgotten lunch punches
    # and one typed as 12:00 AM (midnight) where noon was meant
    rows += [
        ("101", datetime(2026, 10, 5, 12, 0), "C/Out"),
        ("00007", datetime(2026, 10, 7, 12, 30), "C/Out"),
        ("114", datetime(2026, 10, 7, 0, 0), "C/Out"),
    ]
    rows.sort(key=lambda r: (int(r[0]), r[0], r[1]))
    lines = ["Department,Name,No.,Date/Time,Status,Location ID"]
    for pin, when, status in rows:
        dept = DEPARTMENTS.get(pin, "UBND xã")
        lines.append(f"{dept},{names[pin]},{pin},{ampm(when)},{status},1")
    # deliberately bad: a user deleted from Att2000 (no number, no name), and a manual
    # record typed as 13:05 PM
    lines.insert(200, "UBND xã,,,10/08/2026 7:12 AM,C/In,1")
    bad = next(
        i for i, ln in enumerate(lines) if ln.startswith("UBND xã,Trịnh Thị Quỳnh,114,10/09")
    )
    lines.insert(bad, "UBND xã,Trịnh Thị Quỳnh,114,10/09/2026 13:05 PM,,1")
    text = "\r\n".join(lines) + "\r\n"
    (out_dir / "zktime_att2000.csv").write_bytes(encode_cp1258(text))


HK_HEADER = [
    "Person ID",
    "Name",
    "Department",
    "Time",
    "Attendance Status",
    "Attendance Check Point",
    "Custom Name",
    "Data Source",
    "Handling Type",
    "Temperature",
    "Abnormal",
]


def hikvision_rows(names: dict[str, str]) -> list[list[str]]:
    """HK-01's records for October: the UBND staff pass the side gate now and then."""
    rng = random.Random(SEED + 4)
    punches = [
        p
        for day in month_days()
        for pin, _n, habit in STAFF + EXTRA_TK01
        for p in person_day(rng, pin, habit, day, 15)
        if rng.random() < 0.3
    ]
    punches.sort(key=lambda p: (p.when, p.pin))
    rows = []
    for p in punches:
        status = "Check-in" if p.status == 0 else "Check-out"
        if rng.random() < 0.1:
            status = "None"  # the person did not pick a status on the screen
        temperature = f"{rng.choice([36.2, 36.3, 36.4, 36.5, 36.6, 36.7]):.1f}"
        dept = "UBND xã Tân Kỳ/" + DEPARTMENTS.get(p.pin, "Văn phòng")
        rows.append(
            [
                "'" + HK01_IDS[p.pin],
                names[p.pin],
                dept,
                f"{p.when:%Y-%m-%d %H:%M:%S}",
                status,
                "Cổng phụ_Cửa1",
                "",
                "Device",
                "Normal",
                temperature,
                "No",
            ]
        )
    # deliberately bad: a stranger's face (no Person ID) and an event without a time
    stranger = ["", "", "", "2026-10-14 18:42:07", "None", "Cổng phụ_Cửa1", "", "Device"]
    rows.insert(150, stranger + ["Normal", "36.4", "No"])
    rows.insert(
        280,
        [
            "'00113",
            names["113"],
            "UBND xã Tân Kỳ/Văn phòng",
            "",
            "Check-in",
            "Cổng phụ_Cửa1",
            "",
            "Device",
            "Normal",
            "36.5",
            "No",
        ],
    )
    return rows


def write_hikvision(out_dir: Path, names: dict[str, str]) -> None:
    """iVMS-4200 "Original Records" of HK-01 as CSV and as the HTML table saved as .xls."""
    rows = hikvision_rows(names)
    lines = [",".join(HK_HEADER)] + [",".join(r) for r in rows]
    data = "\ufeff" + "\r\n".join(lines) + "\r\n"
    (out_dir / "hikvision_original_records.csv").write_bytes(data.encode("utf-8"))

    def cell(value: str, tag: str = "td") -> str:
        return f"<{tag}>{html.escape(value, quote=False) if value else '&nbsp;'}</{tag}>"

    out = [
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"'
        ' xmlns:x="urn:schemas-microsoft-com:office:excel"'
        ' xmlns="http://www.w3.org/TR/REC-html40">',
        '<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>',
        '<style>td{mso-number-format:"\\@";}</style></head>',
        "<body>",
        '<table border="1" cellspacing="0">',
        "<tr>" + "".join(cell(h, "th") for h in HK_HEADER) + "</tr>",
    ]
    out += ["<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows]
    out += ["</table>", "</body>", "</html>"]
    (out_dir / "hikvision_original_records.xls").write_bytes(("\n".join(out) + "\n").encode())


def save_workbook(wb: Workbook, path: Path) -> None:
    """Save with fixed zip and document timestamps so the bytes are reproducible."""
    buf = io.BytesIO()
    wb.save(buf)
    stamp = "2026-11-02T08:00:00Z"
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                text = data.decode()
                text = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rf"\g<1>{stamp}", text)
                data = text.encode()
            info = zipfile.ZipInfo(item.filename, FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    path.write_bytes(out.getvalue())


def write_mitapro(out_dir: Path, tk03: list[P]) -> None:
    """MitaPro workbook of TK-03: a summary sheet first, then the details with a title."""
    full = {pin: name for pin, _s, name, _h in TK03_STAFF}
    wb = Workbook()
    summary = wb.active
    summary.title = "Tổng hợp"
    summary.append(["BẢNG TỔNG HỢP LƯỢT CHẤM CÔNG THÁNG 10/2026"])
    summary.append(["Mã chấm công", "Họ và tên", "Số lượt"])
    for pin, _s, name, _h in TK03_STAFF:
        summary.append([pin, name, sum(p.pin == pin for p in tk03)])
    detail = wb.create_sheet("Chi tiết")
    detail.append(["BÁO CÁO DỮ LIỆU CHẤM CÔNG CHI TIẾT"])
    detail.merge_cells("A1:G1")
    detail.append(["Từ ngày 01/10/2026 đến ngày 31/10/2026 - Trạm y tế xã"])
    detail.append([])
    detail.append(["STT", "Mã chấm công", "Họ và tên", "Phòng ban", "Ngày", "Giờ", "Máy chấm công"])
    rows: list[list[object]] = [
        [p.pin, full[p.pin], "Trạm y tế", datetime.combine(p.when.date(), time()), p.when.time()]
        for p in tk03
    ]
    # deliberately bad: a record whose time was lost, and a hand-typed date that is no date
    rows.insert(120, ["302", full["302"], "Trạm y tế", datetime(2026, 10, 20), None])
    rows.insert(400, ["305", full["305"], "Trạm y tế", "31/09/2026", time(7, 2, 41)])
    for i, row in enumerate(rows, 1):
        detail.append([i, *row, "TK-03"])
        r = detail.max_row
        if isinstance(row[3], datetime):
            detail.cell(r, 5).number_format = "dd/mm/yyyy"
        detail.cell(r, 6).number_format = "hh:mm:ss"
    save_workbook(wb, out_dir / "mitapro_export.xlsx")


def write_ronaldjack(out_dir: Path, tk02: list[P]) -> None:
    """Ronald Jack workbook of TK-02: text dates dd/mm/yyyy and text times, numeric PINs."""
    tk02_to_tk01 = {v: k for k, v in TK02_PINS.items()}
    names = {pin: name for pin, name, _h in STAFF}
    wb = Workbook()
    ws = wb.active
    ws.title = "DuLieuChamCong"
    ws.append(["DỮ LIỆU CHẤM CÔNG - BỘ PHẬN MỘT CỬA (máy TK-02)"])
    ws.append(["Mã NV", "Mã chấm công", "Tên nhân viên", "Ngày", "Giờ", "Trạng thái"])
    rows: list[list[object]] = []
    for p in tk02:
        tk01_pin = tk02_to_tk01[p.pin]
        rows.append(
            [
                STAFF_CODES[tk01_pin],
                int(p.pin),
                names[tk01_pin],
                f"{p.when:%d/%m/%Y}",
                f"{p.when:%H:%M:%S}",
                "Vào",
            ]
        )
    # deliberately bad: a guest card with no code, and a time typed with a letter O
    rows.insert(100, ["", None, "Khách", "09/10/2026", "09:15:22", "Vào"])
    rows.insert(300, ["NV006", 203, names["106"], "23/10/2026", "7:3O", "Vào"])
    for row in rows:
        ws.append(row)
    save_workbook(wb, out_dir / "ronaldjack_export.xlsx")


def write_more(out_dir: Path, logs: dict[str, list[P]]) -> None:
    """The ZKTime, Hikvision, MitaPro and Ronald Jack samples."""
    names = {pin: name for pin, name, _h in STAFF + EXTRA_TK01}
    write_zktime(out_dir, logs["tk01"], names)
    write_hikvision(out_dir, names)
    write_mitapro(out_dir, logs["tk03"])
    write_ronaldjack(out_dir, logs["tk02"])
    write_report_shapes(out_dir, logs["tk01"], names)


# --- Report shapes: iVMS "Original Records Report" tables, Wise Eye "Chi tiết chấm công" ---


def hik_report_html(rows: list[list[str]]) -> str:
    """HK-01's records as an iVMS-4200 "Original Records Report": the title, the header and
    the data in separate tables; merged cells for the title (colspan + rowspan) and for runs
    of one department / check point (rowspan); a page break repeats the header."""

    def cell(value: str, tag: str = "td", span: str = "") -> str:
        text = html.escape(value, quote=False) if value else "&nbsp;"
        return f"<{tag}{span}>{text}</{tag}>"

    def data_table(part: list[list[str]]) -> list[str]:
        out = ['<table border="1" cellspacing="0" width="100%">']
        for i, r in enumerate(part):
            cells = []
            for col, value in enumerate(r):
                if col in (2, 5):  # Department, Attendance Check Point: merged down a run
                    if i and part[i - 1][col] == value:
                        continue  # covered by the rowspan above
                    run = 1
                    while i + run < len(part) and part[i + run][col] == value:
                        run += 1
                    cells.append(cell(value, span=f' rowspan="{run}"' if run > 1 else ""))
                else:
                    cells.append(cell(value))
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</table>")
        return out

    header = ["<table border=\"1\" cellspacing=\"0\" width=\"100%\">"]
    header += ["<tr>" + "".join(cell(h, "th") for h in HK_HEADER) + "</tr>", "</table>"]
    out = [
        '<html xmlns:x="urn:schemas-microsoft-com:office:excel">',
        '<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"/></head>',
        "<body>",
        '<table width="100%">',
        '<tr><td colspan="11" rowspan="2" align="center"><b>Original Records Report</b></td></tr>',
        "<tr></tr>",
        '<tr><td colspan="4">Start Time: 2026-10-01 00:00:00</td>'
        '<td colspan="4">End Time: 2026-10-31 23:59:59</td>'
        '<td colspan="3">Export Time: 2026-11-02 08:00:00</td></tr>',
        "</table>",
        *header,
        *data_table(rows[:250]),
        "<br/>",
        *header,  # page 2
        *data_table(rows[250:]),
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"


WISE_EYE_HEADER = ["STT", "Mã N.Viên", "Tên nhân viên", "Ngày", "Thứ"]
WISE_EYE_SLOTS = ["Vào 1", "Ra 1", "Vào 2", "Ra 2"]
_WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]


def wise_eye_days(tk01: list[P], names: dict[str, str]) -> list[list[object]]:
    """Wise Eye "Chi tiết chấm công" of TK-01, 1-16 October: one row per person and day
    (Mon-Fri, and Saturdays with punches), the first tap of each slot in Vào 1 / Ra 1 /
    Vào 2 / Ra 2 as HH:MM (Wise Eye drops the seconds), empty cells for missing punches."""
    by_key: dict[tuple[str, date], list[P]] = {}
    for p in tk01:
        if p.when.day <= 16:
            by_key.setdefault((p.pin, p.when.date()), []).append(p)
    rows: list[list[object]] = []
    for pin, name, _h in STAFF + EXTRA_TK01:
        for day in month_days():
            if day.day > 16:
                break
            punches = by_key.get((pin, day), [])
            if day.weekday() == 6 or (day.weekday() == 5 and not punches):
                continue
            slots: list[time | None] = [None] * 4
            for p in punches:
                # nearest anchor (07:00, 11:30, 13:30, 17:00); a double tap keeps the first
                minutes = p.when.hour * 60 + p.when.minute
                slot = min(range(4), key=lambda i: abs(minutes - (_ANCHORS[i][0] * 60 + _ANCHORS[i][1])))
                if slots[slot] is None:
                    slots[slot] = p.when.time().replace(second=0)
            rows.append([pin, name, day, _WEEKDAYS[day.weekday()], *slots])
    return rows


def write_report_shapes(out_dir: Path, tk01: list[P], names: dict[str, str]) -> None:
    """hikvision_report_tables.xls, wiseeye_chitiet.csv and wiseeye_chitiet.xlsx."""
    rows = hikvision_rows(names)
    (out_dir / "hikvision_report_tables.xls").write_bytes(hik_report_html(rows).encode())

    days = wise_eye_days(tk01, names)
    # deliberately bad: an out time typed with a letter O (its row's other cells still count)
    bad = next(
        i for i, r in enumerate(days) if r[0] == "109" and r[5] is not None and r[2].day >= 9
    )
    days[bad][5] = "11:3O"
    title = ["BẢNG CHI TIẾT CHẤM CÔNG", "Từ ngày 01/10/2026 đến ngày 16/10/2026"]

    def hhmm(value: object) -> str:
        return value.strftime("%H:%M") if isinstance(value, time) else (value or "")

    lines = [title[0] + ",,,,,,,,", title[1] + ",,,,,,,,", ",,,,,,,,"]
    lines.append(",".join(WISE_EYE_HEADER + WISE_EYE_SLOTS))
    for i, (pin, name, day, weekday, *slots) in enumerate(days, 1):
        cells = [str(i), pin, name, f"{day:%d/%m/%Y}", weekday, *(hhmm(v) for v in slots)]
        lines.append(",".join(cells))
    data = "\ufeff" + "\r\n".join(lines) + "\r\n"
    (out_dir / "wiseeye_chitiet.csv").write_bytes(data.encode("utf-8"))

    wb = Workbook()
    ws = wb.active
    ws.title = "ChiTietChamCong"
    ws.append([title[0]])
    ws.merge_cells("A1:I1")
    ws.append([title[1]])
    ws.merge_cells("A2:I2")
    ws.append([])
    ws.append(WISE_EYE_HEADER + WISE_EYE_SLOTS)
    for i, (pin, name, day, weekday, *slots) in enumerate(days, 1):
        ws.append([i, pin, name, datetime.combine(day, time()), weekday, *slots])
        r = ws.max_row
        ws.cell(r, 4).number_format = "dd/mm/yyyy"
        for c in range(6, 10):
            ws.cell(r, c).number_format = "hh:mm"
    save_workbook(wb, out_dir / "wiseeye_chitiet.xlsx")


if __name__ == "__main__":
    write_all()
