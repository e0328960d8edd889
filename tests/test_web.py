"""The minimal web pages: unit tree and a unit's monthly summary."""

from __future__ import annotations

from pathlib import Path

from attendance import create_app
from attendance.bundle import validate_bundle
from attendance.db import transaction
from attendance.ledger import import_file
from attendance.org import load_bundle
from attendance.synth import generate_district


def test_units_and_summary_pages(db_url: str, tmp_path: Path) -> None:
    district = generate_district(units=2, staff_per_unit=3, month="2026-10", seed=5)
    with transaction() as session:
        load_bundle(session, validate_bundle(district.bundle))
    for device, lines in district.attlogs.items():
        path = tmp_path / f"{device}.dat"
        path.write_text("\n".join(lines) + "\n")
        with transaction() as session:
            import_file(session, device, path)
    client = create_app({"DATABASE_URL": db_url, "TESTING": True}).test_client()

    page = client.get("/").get_data(as_text=True)
    assert "Xã Tân 1" in page and "Huyện Tân Kỳ" in page
    assert "month=2026-10" in page  # the month of the newest punch is the default
    assert "Tổng hợp tháng 10/2026" in page and "<td>Huyện</td>" in page
    assert '<td class="num">6</td>' in page  # the district counts the people of its communes

    page = client.get("/units/17830/summary?month=2026-10").get_data(as_text=True)
    assert "Tổng hợp chấm công tháng 10/2026" in page
    assert "từ 01/10/2026 đến 31/10/2026" in page
    for code, want in district.expected.items():
        if code.startswith("NV001"):
            assert f"<td class=\"\">{code}</td>" in page
            assert f">{want['working_days']}</td>" in page
    assert "NV002001" not in page  # another commune

    assert client.get("/units/404/summary").status_code == 404
    assert client.get("/units/17830/summary?month=2026-13").status_code == 400
