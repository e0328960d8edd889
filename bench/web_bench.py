"""Benchmark: a unit's month page and its API answer through the WSGI server, beside the month evaluation.

One commune of 100 staff with a month of punches (synthetic, the same generator as the tests).
The floor is that unit's month summary alone (``monthly_summary`` in-process, best of the
runs; since verdicts are stored it sums the stored rows, as the pages do, rather than running
the rules engine); the service is 50 requests each to the month page (signed in with a session
cookie) and to ``GET /api/v1/units/{code}/summary`` (bearer token), sent one after another
to waitress on 127.0.0.1, timed from the client (p50 and p95). Target: p95 <= 2x the floor.

Run alone: ``python bench/web_bench.py [--staff 100] [--requests 50]``; `make bench` runs it too.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))

MONTH = "2026-10"
UNIT = "17830"
PASSWORD = "bench password 1"


def prepare(staff: int) -> tuple[str, str]:
    """A fresh SQLite database with one commune of ``staff`` people and their month; its URL and an API token."""
    from attendance.accounts import add_user, issue_token
    from attendance.bundle import validate_bundle
    from attendance.db import transaction
    from attendance.ledger import import_file
    from attendance.migrate import upgrade
    from attendance.org import load_bundle
    from attendance.synth import generate_district

    path = DATA / "web.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    district = generate_district(units=1, staff_per_unit=staff, month=MONTH, seed=11)
    with transaction(url) as session:
        load_bundle(session, validate_bundle(district.bundle))
        add_user(session, "bench", "admin", [], PASSWORD, actor="bench")
    for device, lines in district.attlogs.items():
        log = DATA / f"web_{device}.dat"
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with transaction(url) as session:
            import_file(session, device, log)
    with transaction(url) as session:
        token = issue_token(session, "bench", "bench", actor="bench")
    print(f"  data: {staff} staff, {district.punch_count():,} punches in {MONTH}")
    return url, token


def floor_seconds(url: str, runs: int) -> float:
    """The month evaluation of the unit alone, in-process (best of ``runs``)."""
    from attendance.db import transaction
    from attendance.services import monthly_summary

    times = []
    with transaction(url) as session:
        for _ in range(runs):
            start = time.perf_counter()
            monthly_summary(session, MONTH, UNIT)
            times.append(time.perf_counter() - start)
    return min(times)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of the measured values."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def timed(opener: urllib.request.OpenerDirector, request: urllib.request.Request | str, count: int) -> list[float]:
    """Seconds of each of ``count`` sequential requests (the body read whole); any non-200 stops the bench."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        with opener.open(request, timeout=120) as reply:
            reply.read()
            assert reply.status == 200, reply.status
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--staff", type=int, default=100)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ATTENDANCE_INSTANCE", str(DATA))
    url, api_token = prepare(args.staff)

    from attendance import create_app
    from attendance.web.server import bound_port, make_server

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "k" * 32, "SESSION_COOKIE_SECURE": False})
    server = make_server(app, "127.0.0.1", 0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{bound_port(server, 0)}"

    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = browser.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    body = urllib.parse.urlencode({"username": "bench", "password": PASSWORD, "csrf_token": token}).encode()
    browser.open(base + "/login", data=body).read()

    routes = {rule.rule for rule in app.url_map.iter_rules()}
    page = f"/units/{UNIT}/month" if "/units/<code>/month" in routes else f"/units/{UNIT}/summary"
    page_url = f"{base}{page}?month={MONTH}"
    assert "csrf_token" in browser.open(page_url).read().decode(), "not signed in"
    plain = urllib.request.build_opener()
    api = urllib.request.Request(f"{base}/api/v1/units/{UNIT}/summary?month={MONTH}",
                                 headers={"Authorization": f"Bearer {api_token}"})
    has_api = "/api/v1/units/<code>/summary" in routes

    floor = floor_seconds(url, 5)
    rows = []
    for name, opener, request in [(f"month page {page}", browser, page_url),
                                  *([("API /api/v1/units/{code}/summary", plain, api)] if has_api else [])]:
        timed(opener, request, 3)  # warm the caches and the compiled statements
        times = timed(opener, request, args.requests)
        rows.append((name, statistics.median(times), percentile(times, 0.95)))
    # The server thread is a daemon: it ends with this process (closing it under run() races waitress).

    print(f"  floor: month summary of {args.staff} staff alone (stored verdicts) {floor * 1000:.0f} ms (best of 5)")
    print(f"{'request (' + str(args.requests) + ' each)':44} {'p50':>8} {'p95':>8} {'p95/floor':>10}  target")
    for name, p50, p95 in rows:
        print(f"{name:44} {p50 * 1000:6.0f}ms {p95 * 1000:6.0f}ms {p95 / floor:9.2f}x  <= 2x")
    if not has_api:
        print("  (no /api/v1/units/{code}/summary route in this build: API not measured)")


if __name__ == "__main__":
    main()
