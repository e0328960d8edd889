"""The inspectors' offline tablet page: /inspections/tablet, its API token and its service worker.

The page is a small offline application: it loads a unit (staff of the day, checklist
template) through the JSON sync API with a bearer token it asks for here, keeps everything in
the browser's IndexedDB, and queues spot checks until the network is back. Everything it
sends goes through the sync API (``/api/v1/spot-checks/...``); this module only serves the
page, hands out the token and serves the service worker that caches the page and its assets.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Response, abort, jsonify, render_template, request, send_file, url_for

from attendance.accounts import Permission, issue_token, require_permission
from attendance.i18n import _
from attendance.web.auth import PUBLIC_ENDPOINTS, actor, current_account, locale
from attendance.web.session import get_session

from .web import bp

STATIC = Path(__file__).resolve().parent / "static"
#: The page's own files (served by ``tablet_asset``); nothing else of the folder is served.
ASSETS = {"tablet.js": "text/javascript", "tablet-core.js": "text/javascript", "tablet.css": "text/css"}

#: What a tablet may call itself in a token's label: its install id (a UUID), nothing longer.
TABLET_ID = re.compile(r"[A-Za-z0-9-]{1,64}")

def _texts() -> dict[str, str]:
    """The texts the page's script shows, in the request's language, by key (it has no catalogue)."""
    return {
        "online": _("Online"),
        "offline": _("Offline: everything is kept on this tablet"),
        "connected": _("This tablet sends as {username}"),
        "not_connected": _("This tablet is not connected yet: open this page while online and signed in"),
        "sign_in_again": _("The server no longer accepts this tablet's key: sign in again (queued spot checks are kept)"),
        "connect_failed": _("Could not connect this tablet: {reason}"),
        "units_failed": _("Could not read the units: {reason}"),
        "load_failed": _("Could not load the unit: {reason}"),
        "loaded": _("{name}: {count} people on {date}, checklist {template}"),
        "loading": _("Loading…"),
        "no_units_loaded": _("No unit loaded yet: load one before going out."),
        "no_checks": _("No spot check on this tablet yet."),
        "status_local": _("Only on this tablet"),
        "status_queued": _("Waiting for the network"),
        "status_sending": _("Sending…"),
        "status_server_draft": _("On the server (draft)"),
        "status_server_submitted": _("On the server (submitted)"),
        "status_server_locked": _("On the server (approved)"),
        "status_missing": _("Missing photos: {n}"),
        "status_error": _("Refused: {reason}"),
        "status_signin": _("Waiting: sign in again"),
        "present": _("Present"),
        "late": _("Late"),
        "left_early": _("Left early"),
        "absent_excused": _("Excused absence"),
        "absent_unverified": _("Absent, unverified"),
        "absent_unexcused": _("Absent, unexcused"),
        "unmarked": _("Not marked"),
        "pass": _("Pass"),
        "fail": _("Fail"),
        "not_applicable": _("N/A"),
        "not_recorded": "—",  # an empty cell of the checklist grid
        "reference": _("Document reference"),
        "note": _("Note"),
        "arrived_at": _("Arrived at"),
        "left_at": _("Left at"),
        "marked": _("{done} of {total} marked"),
        "unmarked_left": _("{n} people are not marked yet"),
        "reference_missing": _("{name}: an excused absence needs the document reference"),
        "photo_saved": _("Photo {name} kept ({size} kB)"),
        "photo_failed": _("Could not take the photo: {reason}"),
        "camera_failed": _("The camera cannot be opened: {reason}"),
        "gps_failed": _("No position: {reason}"),
        "gps_shown": _("{lat}, {lon} (± {accuracy} m)"),
        "whole_check": _("The whole spot check"),
        "queued_ok": _("Queued: it is sent as soon as the network allows."),
        "confirm_delete": _("Delete this spot check from the tablet? It has not reached the server."),
        "started": _("Started {time}"),
        "people": _("{n} people"),
        "photos": _("{n} photos"),
        "summary_started": _("Started"),
        "summary_headcount": _("Headcount"),
        "summary_findings": _("Checklist results"),
        "summary_photos": _("Photos"),
    }


@bp.get("/tablet")
def tablet() -> str:
    """Kiểm tra trên máy tính bảng: the offline capture page (inspectors; others 403)."""
    account = current_account()
    require_permission(account, Permission.EDIT_SPOT_CHECKS)
    config = {
        "username": account.username,
        "api": url_for("api.units").rsplit("/units", 1)[0],  # the sync API's base, wherever it is mounted
        "token_url": url_for("inspections.tablet_token"),
        "worker_url": url_for("inspections.service_worker"),
        "worker_scope": url_for("inspections.tablet").rsplit("/", 1)[0] + "/",
        "language": locale(),
        "texts": _texts(),
    }
    return render_template("inspections/tablet.html", config=config)


@bp.post("/tablet/token")
def tablet_token() -> Response:
    """A new API token for the signed-in inspector's tablet (CSRF-protected; shown this once)."""
    account = current_account()
    require_permission(account, Permission.EDIT_SPOT_CHECKS)
    tablet_id = (request.form.get("tablet") or "").strip()
    if not TABLET_ID.fullmatch(tablet_id):
        tablet_id = "?"  # the label is only for people reading the token list
    session = get_session()
    label = f"tablet {tablet_id}"
    token = issue_token(session, account.username, label, actor())
    session.commit()
    answer = jsonify({"token": token, "username": account.username, "label": label})
    answer.headers["Cache-Control"] = "no-store"
    return answer


@bp.get("/tablet/assets/<name>")
def tablet_asset(name: str) -> Response:
    """The page's script, its storage and queue script, its stylesheet."""
    if name not in ASSETS:
        abort(404)
    return send_file(STATIC / name, mimetype=ASSETS[name], max_age=0)


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker: caches the tablet page and its assets, sends queued checks (Background Sync)."""
    answer = send_file(STATIC / "tablet-sw.js", mimetype="text/javascript", max_age=0)
    # It sits at /inspections/sw.js so that its scope (/inspections/) covers the page by default;
    # the header says so explicitly, and no-cache makes the browser look for a new version.
    answer.headers["Service-Worker-Allowed"] = url_for("inspections.tablet").rsplit("/", 1)[0] + "/"
    answer.headers["Cache-Control"] = "no-cache"
    return answer


# A browser fetching a service worker (and the scripts it imports) follows no redirect to /login,
# and these files hold no data: they are public, like the site's own static files.
PUBLIC_ENDPOINTS.update({"inspections.service_worker", "inspections.tablet_asset"})
